package chat

import (
	"fmt"
	"math"
	"slices"
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

// str converts a value to text as Jinja prints it (Python's str()).
func (r *renderer) str(v any) (string, error) {
	switch x := v.(type) {
	case undefined:
		return "", nil
	case string:
		return x, nil
	}
	return r.repr(v)
}

// repr is Python's repr() of a value.
func (r *renderer) repr(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "None", nil
	case undefined:
		return "", nil
	case bool:
		if x {
			return "True", nil
		}
		return "False", nil
	case int:
		return strconv.Itoa(x), nil
	case float64:
		return pyFloat(x), nil
	}
	var b strings.Builder
	err := r.writeRepr(&b, v, 0)
	return b.String(), err
}

// emit writes s to b, charging it to the memory budget.
func (r *renderer) emit(b *strings.Builder, s string) error {
	if err := r.use(int64(len(s)), int64(len(s))); err != nil {
		return err
	}
	b.WriteString(s)
	return nil
}

func (r *renderer) enter(depth int) error {
	if depth > r.b.lim.Depth {
		return r.b.over("depth")
	}
	return r.touch(nodeCost)
}

// writeRepr writes Python's repr of v.
func (r *renderer) writeRepr(b *strings.Builder, v any, depth int) error {
	if err := r.enter(depth); err != nil {
		return err
	}
	switch x := v.(type) {
	case string:
		if err := r.scan(x); err != nil {
			return err
		}
		return r.emit(b, pyStrRepr(x))
	case []any:
		if err := r.emit(b, "["); err != nil {
			return err
		}
		for i, e := range x {
			if i > 0 {
				if err := r.emit(b, ", "); err != nil {
					return err
				}
			}
			if err := r.writeRepr(b, e, depth+1); err != nil {
				return err
			}
		}
		return r.emit(b, "]")
	case *dict:
		if err := r.emit(b, "{"); err != nil {
			return err
		}
		for i, k := range x.keys {
			sep := ""
			if i > 0 {
				sep = ", "
			}
			if err := r.emit(b, sep+pyStrRepr(k)+": "); err != nil {
				return err
			}
			if err := r.writeRepr(b, x.m[k], depth+1); err != nil {
				return err
			}
		}
		return r.emit(b, "}")
	case *namespace:
		return r.emit(b, "<Namespace>")
	case nil, undefined, bool, int, float64:
		s, _ := r.repr(x)
		return r.emit(b, s)
	}
	return r.emit(b, fmt.Sprintf("<%s>", typeName(v)))
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
	b.Grow(len(s) + 2)
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
	indent          string // pretty-printed when pretty: a newline and indent per level
	pretty          bool
	itemSep, keySep string
	sortKeys        bool
}

// writeJSON encodes a value as Python's json.dumps with ensure_ascii=False
// (Hugging Face's tojson filter; the default separators are ", " and ": "
// without indent, "," and ": " with it).
func (r *renderer) writeJSON(b *strings.Builder, v any, f jsonFormat, level int) error {
	if err := r.enter(level); err != nil {
		return err
	}
	nl := func(l int) error {
		if !f.pretty {
			return nil
		}
		if !fits(int64(l), int64(len(f.indent)), *r.b.mem) {
			return r.b.over("memory")
		}
		return r.emit(b, "\n"+strings.Repeat(f.indent, l))
	}
	switch x := v.(type) {
	case nil:
		return r.emit(b, "null")
	case bool:
		return r.emit(b, strconv.FormatBool(x))
	case int:
		return r.emit(b, strconv.Itoa(x))
	case float64:
		switch {
		case math.IsInf(x, 1):
			return r.emit(b, "Infinity")
		case math.IsInf(x, -1):
			return r.emit(b, "-Infinity")
		case x != x:
			return r.emit(b, "NaN")
		}
		return r.emit(b, pyFloat(x))
	case string:
		if err := r.scan(x); err != nil {
			return err
		}
		return r.emit(b, jsonString(x))
	case []any:
		if len(x) == 0 {
			return r.emit(b, "[]")
		}
		if err := r.emit(b, "["); err != nil {
			return err
		}
		for i, e := range x {
			if i > 0 {
				if err := r.emit(b, f.itemSep); err != nil {
					return err
				}
			}
			if err := nl(level + 1); err != nil {
				return err
			}
			if err := r.writeJSON(b, e, f, level+1); err != nil {
				return err
			}
		}
		if err := nl(level); err != nil {
			return err
		}
		return r.emit(b, "]")
	case *dict:
		if len(x.keys) == 0 {
			return r.emit(b, "{}")
		}
		keys := x.keys
		if f.sortKeys {
			if err := r.use(int64(len(keys))*wordSize, int64(len(keys))*int64(bitLen(len(keys)))*wordSize); err != nil {
				return err
			}
			keys = append([]string(nil), keys...)
			sortStrings(keys)
		}
		if err := r.emit(b, "{"); err != nil {
			return err
		}
		for i, k := range keys {
			if i > 0 {
				if err := r.emit(b, f.itemSep); err != nil {
					return err
				}
			}
			if err := nl(level + 1); err != nil {
				return err
			}
			if err := r.emit(b, jsonString(k)+f.keySep); err != nil {
				return err
			}
			if err := r.writeJSON(b, x.m[k], f, level+1); err != nil {
				return err
			}
		}
		if err := nl(level); err != nil {
			return err
		}
		return r.emit(b, "}")
	case *namespace:
		return r.writeJSON(b, x.d, f, level)
	case undefined:
		return fmt.Errorf("tojson: %s is undefined", x.name)
	}
	return fmt.Errorf("tojson: cannot encode a %s", typeName(v))
}

// bitLen is the number of bits of n (a log2 for sort costs).
func bitLen(n int) int {
	l := 0
	for ; n > 0; n >>= 1 {
		l++
	}
	return l
}

func sortStrings(s []string) {
	slices.Sort(s)
}

// jsonString quotes a JSON string as Python's json module (ensure_ascii
// off) does.
func jsonString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
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
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// equal is Python's ==.
func (r *renderer) equal(a, b any, depth int) (bool, error) {
	if err := r.enter(depth); err != nil {
		return false, err
	}
	switch x := a.(type) {
	case nil:
		return b == nil, nil
	case undefined:
		_, ok := b.(undefined)
		return ok, nil
	case bool, int, float64:
		fa, _, _ := number(x)
		fb, _, ok := number(b)
		return ok && fa == fb, nil
	case string:
		y, ok := b.(string)
		if ok {
			if err := r.touch(int64(min(len(x), len(y)))); err != nil {
				return false, err
			}
		}
		return ok && x == y, nil
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false, nil
		}
		for i := range x {
			if eq, err := r.equal(x[i], y[i], depth+1); err != nil || !eq {
				return false, err
			}
		}
		return true, nil
	case *dict:
		y, ok := b.(*dict)
		if !ok || len(x.keys) != len(y.keys) {
			return false, nil
		}
		for _, k := range x.keys {
			w, ok := y.m[k]
			if !ok {
				return false, nil
			}
			if eq, err := r.equal(x.m[k], w, depth+1); err != nil || !eq {
				return false, err
			}
		}
		return true, nil
	}
	return a == b, nil
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
func (r *renderer) compare(a, b any, depth int) (int, error) {
	if err := r.enter(depth); err != nil {
		return 0, err
	}
	if ia, ok := a.(int); ok {
		if ib, ok := b.(int); ok {
			return cmpInt(ia, ib), nil
		}
	}
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
			if err := r.touch(int64(min(len(sa), len(sb)))); err != nil {
				return 0, err
			}
			return strings.Compare(sa, sb), nil
		}
	}
	if la, ok := a.([]any); ok {
		if lb, ok := b.([]any); ok {
			for i := 0; i < len(la) && i < len(lb); i++ {
				if c, err := r.compare(la[i], lb[i], depth+1); err != nil || c != 0 {
					return c, err
				}
			}
			return cmpInt(len(la), len(lb)), nil
		}
	}
	return 0, fmt.Errorf("cannot compare %s with %s", typeName(a), typeName(b))
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// runeLen is a string's length in code points (Python's len).
func runeLen(s string) int { return utf8.RuneCountInString(s) }
