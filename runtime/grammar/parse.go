package grammar

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// exprKind is the kind of a grammar expression.
type exprKind uint8

const (
	eSeq    exprKind = iota // subs in order (no subs: the empty string)
	eAlt                    // one of subs
	eLit                    // the UTF-8 bytes of lit
	eClass                  // one code point of ranges
	eRef                    // rule number rule
	eRepeat                 // subs[0] between min and max times (max < 0: no limit)
	eToken                  // one token: tokID, or the token whose text is tokText; neg: any token but that one
)

// expr is a node of a parsed grammar.
type expr struct {
	kind     exprKind
	subs     []*expr
	lit      string
	ranges   []cpRange
	rule     int
	min, max int
	tokID    int
	tokText  string
	neg      bool
}

// parsed is a GBNF source after parsing: rules by number, root included.
type parsed struct {
	names []string       // rule number -> name
	defs  []*expr        // rule number -> definition; nil while undefined
	at    []int          // rule number -> byte offset of its definition (or first use)
	index map[string]int // name -> rule number
}

// Parser limits. Beyond them ParseGBNF fails with a clear error instead of
// using unbounded time or memory.
const (
	// MaxRepetition bounds the counts of {m}, {m,} and {m,n}.
	MaxRepetition = 10000
	// MaxNesting bounds the depth of nested parentheses.
	MaxNesting = 200
	// MaxSource bounds the size of a GBNF source in bytes.
	MaxSource = 4 << 20
)

// parser reads GBNF, llama.cpp's grammar syntax (grammars/README.md there):
//
//	rule   ::= name "::=" alternatives newline
//	alternatives: sequences separated by "|"
//	items: "literal", [class], [^class], ., name, ( alternatives ),
//	       <token>, <[id]>, !<token>, !<[id]>, each maybe followed by
//	       *, +, ?, {m}, {m,}, {m,n}
//
// A rule ends at a newline unless the newline follows "|" or "::=", or sits
// inside parentheses. "#" starts a comment that runs to the end of the line.
type parser struct {
	src   string
	pos   int
	depth int
	p     *parsed
}

// SyntaxError is a GBNF syntax error at a line and column (1-based; the
// column counts bytes).
type SyntaxError struct {
	Line, Col int
	Msg       string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("grammar: line %d col %d: %s", e.Line, e.Col, e.Msg)
}

// Unwrap makes errors.Is(err, ErrGrammar) true.
func (e *SyntaxError) Unwrap() error { return ErrGrammar }

// bailout carries a *SyntaxError up the recursive descent.
type bailout struct{ err *SyntaxError }

func (ps *parser) fail(at int, format string, args ...any) {
	line := lineOf(ps.src, at)
	col := at - strings.LastIndexByte(ps.src[:at], '\n')
	panic(bailout{&SyntaxError{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}})
}

// parse reads src into rules. Every error is a *SyntaxError or names the
// rule at fault.
func parse(src string) (p *parsed, err error) {
	if len(src) > MaxSource {
		return nil, fmt.Errorf("%w: the source has %d bytes, more than %d", ErrGrammar, len(src), MaxSource)
	}
	if !utf8.ValidString(src) {
		i := 0
		for i < len(src) {
			r, n := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
		}
		ps := parser{src: src}
		defer func() {
			if r := recover(); r != nil {
				err = r.(bailout).err
			}
		}()
		ps.fail(i, "invalid UTF-8")
	}
	ps := &parser{src: src, p: &parsed{index: map[string]int{}}}
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bailout)
			if !ok {
				panic(r)
			}
			p, err = nil, b.err
		}
	}()
	ps.space(true)
	for ps.pos < len(ps.src) {
		ps.rule()
	}
	for i, d := range ps.p.defs {
		if d == nil {
			return nil, fmt.Errorf("%w: line %d: rule %q is used but never defined", ErrGrammar, lineOf(src, ps.p.at[i]), ps.p.names[i])
		}
	}
	return ps.p, nil
}

// lineOf returns the 1-based line of byte offset at (computed only for
// errors: counting on every rule would make parsing quadratic).
func lineOf(src string, at int) int { return 1 + strings.Count(src[:at], "\n") }

func (ps *parser) peek() byte {
	if ps.pos < len(ps.src) {
		return ps.src[ps.pos]
	}
	return 0
}

func (ps *parser) at(off int) byte {
	if ps.pos+off < len(ps.src) {
		return ps.src[ps.pos+off]
	}
	return 0
}

// space skips blanks and comments, and newlines when newlineOK.
func (ps *parser) space(newlineOK bool) {
	for ps.pos < len(ps.src) {
		switch c := ps.src[ps.pos]; {
		case c == ' ' || c == '\t':
			ps.pos++
		case c == '#':
			for ps.pos < len(ps.src) && ps.src[ps.pos] != '\n' && ps.src[ps.pos] != '\r' {
				ps.pos++
			}
		case newlineOK && (c == '\n' || c == '\r'):
			ps.pos++
		default:
			return
		}
	}
}

func isWordChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

func (ps *parser) name() string {
	start := ps.pos
	for ps.pos < len(ps.src) && isWordChar(ps.src[ps.pos]) {
		ps.pos++
	}
	if ps.pos == start {
		ps.fail(start, "expecting a rule name (letters, digits, -)")
	}
	return ps.src[start:ps.pos]
}

// ruleNum returns the number of the named rule, adding it if new.
func (ps *parser) ruleNum(name string, at int) int {
	if i, ok := ps.p.index[name]; ok {
		return i
	}
	i := len(ps.p.names)
	ps.p.index[name] = i
	ps.p.names = append(ps.p.names, name)
	ps.p.defs = append(ps.p.defs, nil)
	ps.p.at = append(ps.p.at, at)
	return i
}

func (ps *parser) rule() {
	start := ps.pos
	name := ps.name()
	ps.space(false)
	if !strings.HasPrefix(ps.src[ps.pos:], "::=") {
		ps.fail(ps.pos, "expecting ::= after the rule name %q", name)
	}
	ps.pos += 3
	ps.space(true)
	n := ps.ruleNum(name, start)
	if ps.p.defs[n] != nil {
		ps.fail(start, "rule %q is defined twice", name)
	}
	ps.p.at[n] = start
	ps.p.defs[n] = &expr{kind: eSeq} // placeholder: a use inside its own body is not "undefined"
	ps.p.defs[n] = ps.alternatives(false)
	switch ps.peek() {
	case '\r':
		ps.pos++
		if ps.peek() == '\n' {
			ps.pos++
		}
	case '\n':
		ps.pos++
	case 0:
		if ps.pos < len(ps.src) {
			ps.fail(ps.pos, "unexpected NUL byte")
		}
	default:
		ps.fail(ps.pos, "expecting a newline or the end after rule %q, found %q", name, ps.peek())
	}
	ps.space(true)
}

func (ps *parser) alternatives(nested bool) *expr {
	alts := []*expr{ps.sequence(nested)}
	for ps.peek() == '|' {
		ps.pos++
		ps.space(true)
		alts = append(alts, ps.sequence(nested))
	}
	if len(alts) == 1 {
		return alts[0]
	}
	return &expr{kind: eAlt, subs: alts}
}

func (ps *parser) sequence(nested bool) *expr {
	seq := &expr{kind: eSeq}
	for ps.pos < len(ps.src) {
		start := ps.pos
		var item *expr
		switch c := ps.peek(); {
		case c == '"':
			ps.pos++
			var b []byte
			for ps.peek() != '"' {
				if ps.pos >= len(ps.src) {
					ps.fail(start, "unterminated string literal")
				}
				b = utf8.AppendRune(b, ps.char())
			}
			ps.pos++
			item = &expr{kind: eLit, lit: string(b)}
		case c == '[':
			item = ps.class()
		case c == '<' || c == '!':
			item = ps.token()
		case isWordChar(c):
			name := ps.name()
			item = &expr{kind: eRef, rule: ps.ruleNum(name, start)}
		case c == '(':
			ps.depth++
			if ps.depth > MaxNesting {
				ps.fail(start, "parentheses nested deeper than %d", MaxNesting)
			}
			ps.pos++
			ps.space(true)
			item = ps.alternatives(true)
			if ps.peek() != ')' {
				ps.fail(ps.pos, "expecting ) to close the group at line %d", lineOf(ps.src, start))
			}
			ps.pos++
			ps.depth--
		case c == '.':
			ps.pos++
			item = &expr{kind: eClass, ranges: allRunes()}
		case c == '*' || c == '+' || c == '?' || c == '{':
			if len(seq.subs) == 0 {
				ps.fail(start, "%q has no item before it to repeat", c)
			}
			last := &seq.subs[len(seq.subs)-1]
			lo, hi := ps.repetition()
			*last = &expr{kind: eRepeat, subs: []*expr{*last}, min: lo, max: hi}
			ps.space(nested)
			continue
		default:
			return seq.simplify()
		}
		ps.space(nested)
		seq.subs = append(seq.subs, item)
	}
	return seq.simplify()
}

// simplify returns a one-item sequence as that item.
func (e *expr) simplify() *expr {
	if e.kind == eSeq && len(e.subs) == 1 {
		return e.subs[0]
	}
	return e
}

// repetition reads *, +, ? or {m}, {m,}, {m,n} and returns the bounds.
func (ps *parser) repetition() (int, int) {
	start := ps.pos
	switch ps.peek() {
	case '*':
		ps.pos++
		return 0, -1
	case '+':
		ps.pos++
		return 1, -1
	case '?':
		ps.pos++
		return 0, 1
	}
	ps.pos++ // {
	ps.space(false)
	lo := ps.count(start)
	hi := lo
	ps.space(false)
	if ps.peek() == ',' {
		ps.pos++
		ps.space(false)
		hi = -1
		if c := ps.peek(); c >= '0' && c <= '9' {
			hi = ps.count(start)
			ps.space(false)
		}
	}
	if ps.peek() != '}' {
		ps.fail(ps.pos, "expecting } to close the repetition")
	}
	ps.pos++
	if hi >= 0 && hi < lo {
		ps.fail(start, "repetition {%d,%d}: the maximum is below the minimum", lo, hi)
	}
	return lo, hi
}

func (ps *parser) count(start int) int {
	d := ps.pos
	for ps.pos < len(ps.src) && ps.src[ps.pos] >= '0' && ps.src[ps.pos] <= '9' {
		ps.pos++
	}
	if d == ps.pos {
		ps.fail(d, "expecting a number in the repetition")
	}
	v, err := strconv.Atoi(ps.src[d:ps.pos])
	if err != nil || v > MaxRepetition {
		ps.fail(start, "repetition count %s is above the limit of %d", ps.src[d:ps.pos], MaxRepetition)
	}
	return v
}

// char reads one character of a literal or class: an escape or a UTF-8
// character.
func (ps *parser) char() rune {
	start := ps.pos
	if ps.peek() != '\\' {
		r, n := utf8.DecodeRuneInString(ps.src[ps.pos:])
		ps.pos += n
		return r
	}
	ps.pos++
	c := ps.peek()
	ps.pos++
	switch c {
	case 'x':
		return ps.hex(start, 2)
	case 'u':
		return ps.hex(start, 4)
	case 'U':
		return ps.hex(start, 8)
	case 't':
		return '\t'
	case 'r':
		return '\r'
	case 'n':
		return '\n'
	case '\\', '"', '[', ']':
		return rune(c)
	case 0:
		ps.fail(start, "unexpected end after \\")
	}
	ps.fail(start, "unknown escape \\%c (want \\x \\u \\U \\t \\r \\n \\\\ \\\" \\[ \\])", c)
	return 0
}

func (ps *parser) hex(start, n int) rune {
	if ps.pos+n > len(ps.src) {
		ps.fail(start, "expecting %d hex digits", n)
	}
	v, err := strconv.ParseUint(ps.src[ps.pos:ps.pos+n], 16, 32)
	if err != nil {
		ps.fail(start, "expecting %d hex digits", n)
	}
	ps.pos += n
	if v > utf8.MaxRune || v >= 0xD800 && v <= 0xDFFF {
		ps.fail(start, "U+%X is not a Unicode scalar value", v)
	}
	return rune(v)
}

func (ps *parser) class() *expr {
	start := ps.pos
	ps.pos++ // [
	neg := false
	if ps.peek() == '^' {
		neg = true
		ps.pos++
	}
	var rs []cpRange
	for ps.peek() != ']' {
		if ps.pos >= len(ps.src) {
			ps.fail(start, "unterminated character class")
		}
		lo := ps.char()
		hi := lo
		if ps.peek() == '-' && ps.at(1) != ']' && ps.pos+1 < len(ps.src) {
			at := ps.pos
			ps.pos++
			hi = ps.char()
			if hi < lo {
				ps.fail(at, "range %q-%q is backwards", lo, hi)
			}
		}
		rs = append(rs, cpRange{lo, hi})
	}
	ps.pos++
	rs = normalize(rs)
	if neg {
		rs = complement(rs)
	}
	return &expr{kind: eClass, ranges: rs}
}

func (ps *parser) token() *expr {
	start := ps.pos
	e := &expr{kind: eToken, tokID: -1}
	if ps.peek() == '!' {
		e.neg = true
		ps.pos++
	}
	if ps.peek() != '<' {
		ps.fail(ps.pos, "expecting < after !")
	}
	if ps.at(1) == '[' {
		ps.pos += 2
		d := ps.pos
		for ps.pos < len(ps.src) && ps.src[ps.pos] >= '0' && ps.src[ps.pos] <= '9' {
			ps.pos++
		}
		id, err := strconv.Atoi(ps.src[d:ps.pos])
		if err != nil || id > 1<<24 {
			ps.fail(d, "expecting a token id in <[...]>")
		}
		if ps.peek() != ']' || ps.at(1) != '>' {
			ps.fail(ps.pos, "expecting ]> to close the token id")
		}
		ps.pos += 2
		e.tokID = id
		return e
	}
	end := strings.IndexByte(ps.src[ps.pos:], '>')
	if end < 0 {
		ps.fail(start, "unterminated token <...>")
	}
	e.tokText = ps.src[ps.pos : ps.pos+end+1]
	ps.pos += end + 1
	return e
}
