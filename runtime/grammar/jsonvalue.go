package grammar

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// jkind is the kind of a JSON value.
type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNum
	jStr
	jArr
	jObj
)

// jval is a JSON value that keeps the order of object members (the order of
// a schema's properties is the order of the generated object's keys).
type jval struct {
	kind jkind
	b    bool
	num  string // the number's text as written
	str  string
	arr  []*jval
	obj  []jmember
}

type jmember struct {
	key string
	val *jval
}

// get returns the member named key, or nil.
func (v *jval) get(key string) *jval {
	if v == nil || v.kind != jObj {
		return nil
	}
	for _, m := range v.obj {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

// has reports whether v is an object with member key.
func (v *jval) has(key string) bool { return v.get(key) != nil }

// Schema input limits.
const (
	// MaxSchemaBytes bounds the size of a JSON Schema.
	MaxSchemaBytes = 1 << 20
	// MaxSchemaDepth bounds the nesting of a JSON Schema's arrays and
	// objects.
	MaxSchemaDepth = 128
)

// parseJSON reads one JSON value, keeping member order; duplicate keys, trailing
// data and nesting deeper than MaxSchemaDepth are errors.
func parseJSON(data []byte) (*jval, error) {
	if len(data) > MaxSchemaBytes {
		return nil, fmt.Errorf("the schema has %d bytes, more than %d", len(data), MaxSchemaBytes)
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	v, err := readJSON(d, 0)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

func readJSON(d *json.Decoder, depth int) (*jval, error) {
	if depth > MaxSchemaDepth {
		return nil, fmt.Errorf("nested deeper than %d", MaxSchemaDepth)
	}
	tok, err := d.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return &jval{kind: jNull}, nil
	case bool:
		return &jval{kind: jBool, b: t}, nil
	case json.Number:
		return &jval{kind: jNum, num: string(t)}, nil
	case string:
		return &jval{kind: jStr, str: t}, nil
	case json.Delim:
		switch t {
		case '[':
			v := &jval{kind: jArr}
			for d.More() {
				e, err := readJSON(d, depth+1)
				if err != nil {
					return nil, err
				}
				v.arr = append(v.arr, e)
			}
			_, err := d.Token()
			return v, err
		case '{':
			v := &jval{kind: jObj}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				if v.has(k) {
					return nil, fmt.Errorf("duplicate key %q", k)
				}
				e, err := readJSON(d, depth+1)
				if err != nil {
					return nil, err
				}
				v.obj = append(v.obj, jmember{k, e})
			}
			_, err := d.Token()
			return v, err
		}
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// compact returns v as compact JSON text (numbers as written, member order
// kept, no HTML escaping).
func (v *jval) compact() string {
	var b strings.Builder
	v.write(&b)
	return b.String()
}

func (v *jval) write(b *strings.Builder) {
	switch v.kind {
	case jNull:
		b.WriteString("null")
	case jBool:
		b.WriteString(strconv.FormatBool(v.b))
	case jNum:
		b.WriteString(v.num)
	case jStr:
		b.WriteString(jsonQuote(v.str))
	case jArr:
		b.WriteByte('[')
		for i, e := range v.arr {
			if i > 0 {
				b.WriteByte(',')
			}
			e.write(b)
		}
		b.WriteByte(']')
	case jObj:
		b.WriteByte('{')
		for i, m := range v.obj {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(jsonQuote(m.key))
			b.WriteByte(':')
			m.val.write(b)
		}
		b.WriteByte('}')
	}
}

// jsonQuote returns s as a JSON string literal, escaping only what JSON
// requires (quote, backslash, control characters) plus DEL.
func jsonQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7F:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// gbnfLiteral returns s as a GBNF string literal.
func gbnfLiteral(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7F:
			b.WriteString(`\x` + hex2(int(r)))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// equal reports whether two JSON values are equal as JSON Schema compares
// them (numbers by value).
func (v *jval) equal(w *jval) bool {
	if v.kind != w.kind {
		return false
	}
	switch v.kind {
	case jNull:
		return true
	case jBool:
		return v.b == w.b
	case jNum:
		a, err1 := strconv.ParseFloat(v.num, 64)
		b, err2 := strconv.ParseFloat(w.num, 64)
		if err1 != nil || err2 != nil {
			return v.num == w.num
		}
		return a == b
	case jStr:
		return v.str == w.str
	case jArr:
		if len(v.arr) != len(w.arr) {
			return false
		}
		for i := range v.arr {
			if !v.arr[i].equal(w.arr[i]) {
				return false
			}
		}
		return true
	case jObj:
		if len(v.obj) != len(w.obj) {
			return false
		}
		for _, m := range v.obj {
			o := w.get(m.key)
			if o == nil || !m.val.equal(o) {
				return false
			}
		}
		return true
	}
	return false
}
