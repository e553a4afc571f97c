package chat

import (
	"fmt"
	"strings"
)

// This file and the other jinja_*.go files hold a small interpreter for the
// subset of Jinja2 that chat templates use, with the settings Hugging Face
// transformers renders them with (trim_blocks, lstrip_blocks, the loop
// controls extension, no autoescape). It is sandboxed: it has no access to
// files, the network, the clock (strftime_now prints Options.Date) or Go
// values other than the messages, and every render is bounded in steps,
// output size, recursion depth and collection sizes.

// maxTagTokens bounds the tokens of one tag (real templates use a few
// dozen), which bounds the depth of an expression's syntax tree.
const maxTagTokens = 4096

// segKind is the kind of a lexed template segment.
type segKind int

const (
	segText    segKind = iota
	segVar             // {{ ... }}
	segBlock           // {% ... %}
	segComment         // {# ... #}
)

// segment is a piece of template source: text, or a tag's inner tokens.
type segment struct {
	kind segKind
	text string  // segText: the text after whitespace control
	toks []token // segVar, segBlock: the tag's expression tokens
	pos  int     // byte offset in the source, for errors
}

// tokKind is the kind of an expression token.
type tokKind int

const (
	tokName tokKind = iota
	tokString
	tokInt
	tokFloat
	tokOp
)

// token is an expression token inside a tag.
type token struct {
	kind tokKind
	s    string // name, operator or the decoded string literal
	pos  int
}

// lex splits a template into segments applying Jinja's whitespace control:
// "-" in a tag strips the whitespace on that side, trim_blocks removes the
// first newline after a block or comment tag, lstrip_blocks removes the
// spaces and tabs before a block or comment tag that starts a line, and a
// single trailing newline of the template is dropped.
func lex(src string) ([]segment, error) {
	src = strings.ReplaceAll(src, "\r\n", "\n")
	src = strings.ReplaceAll(src, "\r", "\n")
	src = strings.TrimSuffix(src, "\n")

	var segs []segment
	pos := 0
	stripNext := false // the previous tag ended with "-"
	trimNL := false    // the previous tag was a block or comment (trim_blocks)
	for pos <= len(src) {
		next := indexTagStart(src, pos)
		end := len(src)
		if next >= 0 {
			end = next
		}
		text := src[pos:end]
		textStart := pos
		if stripNext {
			text = strings.TrimLeft(text, " \t\n\f\v")
			stripNext = false
		} else if trimNL && strings.HasPrefix(text, "\n") {
			text = text[1:]
			textStart++
		}
		trimNL = false
		if next < 0 {
			if text != "" {
				segs = append(segs, segment{kind: segText, text: text, pos: textStart})
			}
			break
		}
		kind := map[byte]segKind{'{': segVar, '%': segBlock, '#': segComment}[src[next+1]]
		p := next + 2
		minus, plus := false, false
		if p < len(src) && src[p] == '-' {
			minus = true
			p++
		} else if p < len(src) && src[p] == '+' {
			plus = true
			p++
		}
		switch {
		case minus:
			text = strings.TrimRight(text, " \t\n\f\v")
		case kind != segVar && !plus:
			// lstrip_blocks: only spaces/tabs between the line start and the tag.
			ls := strings.LastIndexByte(text, '\n') + 1
			lineStart := ls > 0 || textStart == 0 || (textStart > 0 && src[textStart-1] == '\n')
			if lineStart && strings.Trim(text[ls:], " \t") == "" {
				text = text[:ls]
			}
		}
		if text != "" {
			segs = append(segs, segment{kind: segText, text: text, pos: textStart})
		}
		if kind == segComment {
			c := strings.Index(src[p:], "#}")
			if c < 0 {
				return nil, fmt.Errorf("offset %d: unclosed comment", next)
			}
			stripNext = c > 0 && src[p+c-1] == '-'
			pos = p + c + 2
			trimNL = !stripNext
			continue
		}
		closer := "}}"
		if kind == segBlock {
			closer = "%}"
		}
		toks, after, rstrip, err := lexTag(src, p, closer)
		if err != nil {
			return nil, err
		}
		if kind == segBlock && len(toks) > 0 && toks[0].kind == tokName && toks[0].s == "raw" {
			return nil, fmt.Errorf("offset %d: {%% raw %%} is not supported", next)
		}
		segs = append(segs, segment{kind: kind, toks: toks, pos: next})
		pos = after
		stripNext = rstrip
		trimNL = kind == segBlock && !rstrip
	}
	return segs, nil
}

// indexTagStart returns the offset of the next "{{", "{%" or "{#" at or
// after pos, or -1.
func indexTagStart(src string, pos int) int {
	for i := pos; i+1 < len(src); i++ {
		if src[i] == '{' {
			if c := src[i+1]; c == '{' || c == '%' || c == '#' {
				return i
			}
		}
	}
	return -1
}

// lexTag tokenizes a tag's content from p up to closer ("}}" or "%}"),
// returning the tokens, the offset after the closer, and whether the closer
// had a "-".
func lexTag(src string, p int, closer string) ([]token, int, bool, error) {
	start := p
	var toks []token
	for {
		for p < len(src) && strings.IndexByte(" \t\n\r\f\v", src[p]) >= 0 {
			p++
		}
		if p >= len(src) {
			return nil, 0, false, fmt.Errorf("offset %d: unclosed tag (missing %q)", start, closer)
		}
		if len(toks) > maxTagTokens {
			return nil, 0, false, fmt.Errorf("offset %d: tag longer than %d tokens", start, maxTagTokens)
		}
		if strings.HasPrefix(src[p:], "-"+closer) {
			return toks, p + 3, true, nil
		}
		if strings.HasPrefix(src[p:], closer) {
			return toks, p + 2, false, nil
		}
		c := src[p]
		switch {
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			q := p
			for q < len(src) && (src[q] == '_' || src[q] >= 'a' && src[q] <= 'z' || src[q] >= 'A' && src[q] <= 'Z' || src[q] >= '0' && src[q] <= '9') {
				q++
			}
			toks = append(toks, token{tokName, src[p:q], p})
			p = q
		case c >= '0' && c <= '9':
			q := p
			for q < len(src) && (src[q] >= '0' && src[q] <= '9' || src[q] == '_') {
				q++
			}
			kind := tokInt
			if q+1 < len(src) && src[q] == '.' && src[q+1] >= '0' && src[q+1] <= '9' {
				kind = tokFloat
				q++
				for q < len(src) && src[q] >= '0' && src[q] <= '9' {
					q++
				}
			}
			toks = append(toks, token{kind, strings.ReplaceAll(src[p:q], "_", ""), p})
			p = q
		case c == '\'' || c == '"':
			s, q, err := lexString(src, p)
			if err != nil {
				return nil, 0, false, err
			}
			toks = append(toks, token{tokString, s, p})
			p = q
		default:
			op := ""
			for _, o := range []string{"**", "//", "==", "!=", "<=", ">="} {
				if strings.HasPrefix(src[p:], o) {
					op = o
					break
				}
			}
			if op == "" {
				if strings.IndexByte("+-*/%~|.,:=<>()[]{}", c) < 0 {
					return nil, 0, false, fmt.Errorf("offset %d: unexpected character %q in tag", p, c)
				}
				op = string(c)
			}
			toks = append(toks, token{tokOp, op, p})
			p += len(op)
		}
	}
}

// lexString decodes a quoted string literal at p (Python escapes).
func lexString(src string, p int) (string, int, error) {
	quote := src[p]
	var b strings.Builder
	for q := p + 1; q < len(src); q++ {
		c := src[q]
		switch {
		case c == quote:
			return b.String(), q + 1, nil
		case c == '\\' && q+1 < len(src):
			q++
			switch e := src[q]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '\\', '\'', '"':
				b.WriteByte(e)
			case '\n': // line continuation
			case 'u', 'x':
				n := 4
				if e == 'x' {
					n = 2
				}
				var r rune
				if q+n >= len(src) {
					return "", 0, fmt.Errorf("offset %d: bad \\%c escape", q, e)
				}
				for _, h := range src[q+1 : q+1+n] {
					d := strings.IndexRune("0123456789abcdef", h|0x20)
					if d < 0 {
						return "", 0, fmt.Errorf("offset %d: bad \\%c escape", q, e)
					}
					r = r*16 + rune(d)
				}
				b.WriteRune(r)
				q += n
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("offset %d: unterminated string", p)
}
