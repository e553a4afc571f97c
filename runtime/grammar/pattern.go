package grammar

import (
	"errors"
	"fmt"
	"regexp/syntax"
	"strings"
	"unicode"
)

// pattern converts a JSON Schema pattern to the GBNF of the contents of a
// JSON string whose decoded value matches it. The pattern is read with Go's
// regexp syntax (RE2, which is what Go validators use; ECMA-262 features
// RE2 lacks, such as lookaround and backreferences, are errors). As in JSON
// Schema the pattern is not anchored: without ^ (or $) any text may come
// before (or after) a match. Characters JSON must escape are written as
// escapes.
func (c *converter) pattern(p string) (string, error) {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return "", err
	}
	re = re.Simplify()
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	begin, end := false, false
	if len(subs) > 0 && (subs[0].Op == syntax.OpBeginText || subs[0].Op == syntax.OpBeginLine) {
		begin = true
		subs = subs[1:]
	}
	if n := len(subs); n > 0 && (subs[n-1].Op == syntax.OpEndText || subs[n-1].Op == syntax.OpEndLine) {
		end = true
		subs = subs[:n-1]
	}
	if re.Op == syntax.OpBeginText || re.Op == syntax.OpEndText {
		begin, end, subs = re.Op == syntax.OpBeginText || begin, re.Op == syntax.OpEndText || end, nil
	}
	var parts []string
	if !begin {
		parts = append(parts, c.prim("json-char")+"*")
	}
	for _, s := range subs {
		g, err := c.regex(s, 0)
		if err != nil {
			return "", err
		}
		parts = append(parts, g)
	}
	if !end {
		parts = append(parts, c.prim("json-char")+"*")
	}
	if len(parts) == 0 {
		return `""`, nil
	}
	return strings.Join(parts, " "), nil
}

// regex writes one regular expression node as a GBNF item.
func (c *converter) regex(re *syntax.Regexp, depth int) (string, error) {
	if depth > MaxNesting {
		return "", errors.New("nested too deeply")
	}
	sub := func(i int) (string, error) { return c.regex(re.Sub[i], depth+1) }
	switch re.Op {
	case syntax.OpNoMatch:
		return "[]", nil
	case syntax.OpEmptyMatch:
		return `""`, nil
	case syntax.OpLiteral:
		var items []string
		for _, r := range re.Rune {
			rs := []cpRange{{r, r}}
			if re.Flags&syntax.FoldCase != 0 {
				for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
					rs = append(rs, cpRange{f, f})
				}
			}
			items = append(items, jsonChars(normalize(rs)))
		}
		return "( " + strings.Join(items, " ") + " )", nil
	case syntax.OpCharClass:
		var rs []cpRange
		for i := 0; i+1 < len(re.Rune); i += 2 {
			rs = append(rs, cpRange{re.Rune[i], re.Rune[i+1]})
		}
		return jsonChars(normalize(rs)), nil
	case syntax.OpAnyCharNotNL:
		return jsonChars(subtract(allRunes(), []cpRange{{'\n', '\n'}})), nil
	case syntax.OpAnyChar:
		return jsonChars(allRunes()), nil
	case syntax.OpCapture:
		return sub(0)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		s, err := sub(0)
		if err != nil {
			return "", err
		}
		op := map[syntax.Op]string{syntax.OpStar: "*", syntax.OpPlus: "+", syntax.OpQuest: "?"}[re.Op]
		return "( " + s + " )" + op, nil
	case syntax.OpRepeat:
		if re.Min > MaxRepetition || re.Max > MaxRepetition {
			return "", fmt.Errorf("repetition above %d", MaxRepetition)
		}
		s, err := sub(0)
		if err != nil {
			return "", err
		}
		return repeat("( "+s+" )", re.Min, re.Max), nil
	case syntax.OpConcat, syntax.OpAlternate:
		var items []string
		for i := range re.Sub {
			s, err := sub(i)
			if err != nil {
				return "", err
			}
			items = append(items, s)
		}
		sep := " "
		if re.Op == syntax.OpAlternate {
			sep = " | "
		}
		return "( " + strings.Join(items, sep) + " )", nil
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText:
		return "", errors.New("anchors (^ $) are supported only at the start and the end")
	case syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return "", errors.New(`word boundaries (\b \B) are not supported`)
	}
	return "", fmt.Errorf("unsupported regular expression %v", re)
}

// jsonUnsafe are the characters a JSON string must escape (and DEL, which
// the grammar escapes too).
var jsonUnsafe = []cpRange{{0, 0x1F}, {'"', '"'}, {'\\', '\\'}, {0x7F, 0x7F}}

// jsonChars writes one JSON string character whose decoded value is in rs:
// the safe ones as a class, the others as escapes.
func jsonChars(rs []cpRange) string {
	var alts []string
	if safe := subtract(rs, jsonUnsafe); len(safe) > 0 {
		alts = append(alts, classGBNF(safe))
	}
	for _, u := range intersect(rs, jsonUnsafe) {
		for r := u.lo; r <= u.hi; r++ {
			var esc string
			switch r {
			case '"':
				esc = `\"`
			case '\\':
				esc = `\\`
			case '\n':
				esc = `\n`
			case '\r':
				esc = `\r`
			case '\t':
				esc = `\t`
			default:
				esc = fmt.Sprintf(`\u%04x`, r)
			}
			alts = append(alts, gbnfLiteral(esc))
		}
	}
	if len(alts) == 0 {
		return "[]"
	}
	if len(alts) == 1 {
		return alts[0]
	}
	return "( " + strings.Join(alts, " | ") + " )"
}
