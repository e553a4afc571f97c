package chat

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Template values are Go values: nil (None), undefined, bool, int, float64,
// string, []any (list and tuple), *dict, *namespace, *macroValue and
// builtin (functions and bound methods).

// undefined is a missing variable, attribute or item. It prints as "",
// is false, iterates as empty, and is an error in arithmetic or when its
// attributes are read (Jinja2's default Undefined).
type undefined struct{ name string }

// dict is an insertion-ordered string-keyed mapping (Python dict).
type dict struct {
	keys []string
	m    map[string]any
}

func newDict() *dict { return &dict{m: map[string]any{}} }

func (d *dict) set(k string, v any) {
	if _, ok := d.m[k]; !ok {
		d.keys = append(d.keys, k)
	}
	d.m[k] = v
}

func (d *dict) get(k string) (any, bool) {
	v, ok := d.m[k]
	return v, ok
}

// namespace is the mutable object made by namespace(...).
type namespace struct{ d *dict }

// builtin is a function or a bound method.
type builtin struct {
	name string
	fn   func(r *renderer, args []any, kw *dict) (any, error)
}

// macroValue is a macro defined in the template.
type macroValue struct {
	n *macroNode
}

// truth is Python truthiness.
func truth(v any) bool {
	switch x := v.(type) {
	case nil, undefined:
		return false
	case bool:
		return x
	case int:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case *dict:
		return len(x.keys) > 0
	}
	return true
}

// typeName names a value's type in error messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "none"
	case undefined:
		return "undefined"
	case bool:
		return "boolean"
	case int:
		return "integer"
	case float64:
		return "float"
	case string:
		return "string"
	case []any:
		return "list"
	case *dict:
		return "dict"
	case *namespace:
		return "namespace"
	case *loopInfo:
		return "loop"
	}
	return "function"
}

// toStr converts a value to text as Jinja prints it (Python's str()).
func toStr(v any) string {
	switch x := v.(type) {
	case undefined:
		return ""
	case string:
		return x
	}
	return repr(v)
}

// repr is Python's repr() of a value.
func repr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case undefined:
		return ""
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int:
		return strconv.Itoa(x)
	case float64:
		return pyFloat(x)
	case string:
		return pyStrRepr(x)
	case []any:
		var b strings.Builder
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(repr(e))
		}
		b.WriteByte(']')
		return b.String()
	case *dict:
		var b strings.Builder
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyStrRepr(k))
			b.WriteString(": ")
			b.WriteString(repr(x.m[k]))
		}
		b.WriteByte('}')
		return b.String()
	case *namespace:
		return "<Namespace>"
	}
	return fmt.Sprintf("<%s>", typeName(v))
}

// pyFloat formats a float as Python's repr does.
func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f != f:
		return "nan"
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e16 {
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	a := math.Abs(f)
	if a >= 1e-4 && a < 1e16 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // 1e-05 style like Python
	return s
}

// pyStrRepr quotes a string as Python's repr does.
func pyStrRepr(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// jsonFormat are the options of json.dumps that tojson passes on.
type jsonFormat struct {
	indent          int
	itemSep, keySep string
	sortKeys        bool
}

// toJSON encodes a value as Python's json.dumps with ensure_ascii=False
// (Hugging Face's tojson filter; the default separators are ", " and ": "
// without indent, "," and ": " with it).
func toJSON(b *strings.Builder, v any, f jsonFormat, level int) error {
	indent, sep := f.indent, f.itemSep
	nl := func(l int) {
		if indent > 0 {
			b.WriteByte('\n')
			b.WriteString(strings.Repeat(" ", indent*l))
		}
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case float64:
		switch {
		case math.IsInf(x, 1):
			b.WriteString("Infinity")
		case math.IsInf(x, -1):
			b.WriteString("-Infinity")
		case x != x:
			b.WriteString("NaN")
		default:
			b.WriteString(pyFloat(x))
		}
	case string:
		jsonString(b, x)
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(sep)
			}
			nl(level + 1)
			if err := toJSON(b, e, f, level+1); err != nil {
				return err
			}
		}
		nl(level)
		b.WriteByte(']')
	case *dict:
		if len(x.keys) == 0 {
			b.WriteString("{}")
			return nil
		}
		keys := x.keys
		if f.sortKeys {
			keys = append([]string(nil), keys...)
			sortStrings(keys)
		}
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(sep)
			}
			nl(level + 1)
			jsonString(b, k)
			b.WriteString(f.keySep)
			if err := toJSON(b, x.m[k], f, level+1); err != nil {
				return err
			}
		}
		nl(level)
		b.WriteByte('}')
	case *namespace:
		return toJSON(b, x.d, f, level)
	case undefined:
		return fmt.Errorf("tojson: %s is undefined", x.name)
	default:
		return fmt.Errorf("tojson: cannot encode a %s", typeName(v))
	}
	return nil
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// jsonString writes a JSON string as Python's json module (ensure_ascii
// off) does.
func jsonString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// equal is Python's ==.
func equal(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case undefined:
		_, ok := b.(undefined)
		return ok
	case bool:
		switch y := b.(type) {
		case bool:
			return x == y
		case int:
			return btoi(x) == y
		case float64:
			return float64(btoi(x)) == y
		}
	case int:
		switch y := b.(type) {
		case int:
			return x == y
		case float64:
			return float64(x) == y
		case bool:
			return x == btoi(y)
		}
	case float64:
		switch y := b.(type) {
		case int:
			return x == float64(y)
		case float64:
			return x == y
		case bool:
			return x == float64(btoi(y))
		}
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case *dict:
		y, ok := b.(*dict)
		if !ok || len(x.keys) != len(y.keys) {
			return false
		}
		for _, k := range x.keys {
			w, ok := y.m[k]
			if !ok || !equal(x.m[k], w) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
	return false
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// number returns a numeric value as float64 and whether it is an int.
func number(v any) (f float64, isInt bool, ok bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true, true
	case float64:
		return x, false, true
	case bool:
		return float64(btoi(x)), true, true
	}
	return 0, false, false
}

// compare orders two values (<0, 0, >0) for <, >, sort.
func compare(a, b any) (int, error) {
	if fa, _, ok := number(a); ok {
		if fb, _, ok := number(b); ok {
			switch {
			case fa < fb:
				return -1, nil
			case fa > fb:
				return 1, nil
			}
			return 0, nil
		}
	}
	if sa, ok := a.(string); ok {
		if sb, ok := b.(string); ok {
			return strings.Compare(sa, sb), nil
		}
	}
	if la, ok := a.([]any); ok {
		if lb, ok := b.([]any); ok {
			for i := 0; i < len(la) && i < len(lb); i++ {
				if c, err := compare(la[i], lb[i]); err != nil || c != 0 {
					return c, err
				}
			}
			return len(la) - len(lb), nil
		}
	}
	return 0, fmt.Errorf("cannot compare %s with %s", typeName(a), typeName(b))
}

// runeLen is a string's length in code points (Python's len).
func runeLen(s string) int { return utf8.RuneCountInString(s) }
