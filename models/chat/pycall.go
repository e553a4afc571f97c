package chat

import (
	"encoding/json"
	"strconv"
	"strings"
)

// parsePythonCalls parses calls written as Python: "[f(a=1, b='x'), g()]"
// or a single "f(a=1)" (LFM2's form, and Llama's built-in tools,
// "brave_search.call(query=...)"). Arguments are keyword arguments whose
// values are Python or JSON literals: strings, numbers, True, False, None,
// lists and dicts; they become a JSON object.
func parsePythonCalls(body string) ([]ToolCall, bool) {
	p := &pyParser{s: strings.TrimSpace(body)}
	list := p.eat('[')
	var calls []ToolCall
	for {
		p.space()
		if list && p.eat(']') {
			break
		}
		c, ok := p.call()
		if !ok {
			return nil, false
		}
		calls = append(calls, c)
		p.space()
		if p.eat(',') {
			continue
		}
		if list {
			if !p.eat(']') {
				return nil, false
			}
		}
		break
	}
	p.space()
	return calls, p.i == len(p.s) && len(calls) > 0
}

// pyParser reads Python call syntax.
type pyParser struct {
	s     string
	i     int
	depth int
}

func (p *pyParser) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *pyParser) eat(c byte) bool {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *pyParser) ident() string {
	p.space()
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '_' || c == '.' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' && p.i > start {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i]
}

func (p *pyParser) call() (ToolCall, bool) {
	name := p.ident()
	if name == "" || !p.eat('(') {
		return ToolCall{}, false
	}
	var b strings.Builder
	b.WriteByte('{')
	for n := 0; ; n++ {
		if p.eat(')') {
			break
		}
		if n > 0 && !p.eat(',') {
			return ToolCall{}, false
		}
		if p.eat(')') { // a trailing comma
			break
		}
		key := p.ident()
		if key == "" || !p.eat('=') {
			return ToolCall{}, false
		}
		if n > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		b.Write(k)
		b.WriteByte(':')
		if !p.value(&b) {
			return ToolCall{}, false
		}
	}
	b.WriteByte('}')
	return ToolCall{Name: name, Arguments: b.String()}, true
}

// value reads a literal and writes it as JSON.
func (p *pyParser) value(b *strings.Builder) bool {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxJSONDepth {
		return false
	}
	p.space()
	if p.i >= len(p.s) {
		return false
	}
	switch c := p.s[p.i]; {
	case c == '"' || c == '\'':
		s, ok := p.str()
		if !ok {
			return false
		}
		j, _ := json.Marshal(s)
		b.Write(j)
		return true
	case c == '[' || c == '(':
		closer := byte(']')
		if c == '(' {
			closer = ')'
		}
		p.i++
		b.WriteByte('[')
		for n := 0; ; n++ {
			if p.eat(closer) {
				break
			}
			if n > 0 {
				if !p.eat(',') {
					return false
				}
				if p.eat(closer) {
					break
				}
				b.WriteByte(',')
			}
			if !p.value(b) {
				return false
			}
		}
		b.WriteByte(']')
		return true
	case c == '{':
		p.i++
		b.WriteByte('{')
		for n := 0; ; n++ {
			if p.eat('}') {
				break
			}
			if n > 0 {
				if !p.eat(',') {
					return false
				}
				if p.eat('}') {
					break
				}
				b.WriteByte(',')
			}
			p.space()
			if p.i >= len(p.s) || (p.s[p.i] != '"' && p.s[p.i] != '\'') {
				return false
			}
			k, ok := p.str()
			if !ok || !p.eat(':') {
				return false
			}
			j, _ := json.Marshal(k)
			b.Write(j)
			b.WriteByte(':')
			if !p.value(b) {
				return false
			}
		}
		b.WriteByte('}')
		return true
	}
	word := p.ident()
	switch word {
	case "True", "true":
		b.WriteString("true")
		return true
	case "False", "false":
		b.WriteString("false")
		return true
	case "None", "null":
		b.WriteString("null")
		return true
	}
	// A number (ident stops at a sign or exponent sign; read on).
	p.i -= len(word)
	start := p.i
	for p.i < len(p.s) && strings.IndexByte("+-0123456789.eE_", p.s[p.i]) >= 0 {
		p.i++
	}
	num := strings.ReplaceAll(p.s[start:p.i], "_", "")
	if num == "" {
		return false
	}
	if json.Valid([]byte(num)) {
		b.WriteString(num)
		return true
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return false
	}
	b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	return true
}

// str reads a quoted string with Python's escapes.
func (p *pyParser) str() (string, bool) {
	q := p.s[p.i]
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch {
		case c == q:
			return b.String(), true
		case c == '\\' && p.i < len(p.s):
			e := p.s[p.i]
			p.i++
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'u':
				if p.i+4 > len(p.s) {
					return "", false
				}
				r, err := strconv.ParseUint(p.s[p.i:p.i+4], 16, 32)
				if err != nil {
					return "", false
				}
				b.WriteRune(rune(r))
				p.i += 4
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}
