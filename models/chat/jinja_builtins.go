package chat

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// globals are the functions every template sees.
var globals map[string]any

func init() {
	globals = map[string]any{
		"range": &builtin{"range", func(_ *renderer, args []any, _ *dict) (any, error) {
			var lo, hi, step = 0, 0, 1
			ints := make([]int, len(args))
			for i, a := range args {
				n, ok := a.(int)
				if !ok {
					return nil, fmt.Errorf("range: %s is not an integer", typeName(a))
				}
				ints[i] = n
			}
			switch len(ints) {
			case 1:
				hi = ints[0]
			case 2:
				lo, hi = ints[0], ints[1]
			case 3:
				lo, hi, step = ints[0], ints[1], ints[2]
			default:
				return nil, errors.New("range takes 1 to 3 arguments")
			}
			if step == 0 {
				return nil, errors.New("range step cannot be zero")
			}
			var out []any
			for i := lo; (step > 0 && i < hi) || (step < 0 && i > hi); i += step {
				if len(out) >= maxRange {
					return nil, fmt.Errorf("range longer than %d", maxRange)
				}
				out = append(out, i)
			}
			if out == nil {
				out = []any{}
			}
			return out, nil
		}},
		"namespace": &builtin{"namespace", func(_ *renderer, args []any, kw *dict) (any, error) {
			d := newDict()
			for _, a := range args {
				if m, ok := a.(*dict); ok {
					for _, k := range m.keys {
						d.set(k, m.m[k])
					}
				}
			}
			for _, k := range kw.keys {
				d.set(k, kw.m[k])
			}
			return &namespace{d}, nil
		}},
		"dict": &builtin{"dict", func(_ *renderer, args []any, kw *dict) (any, error) {
			d := newDict()
			for _, a := range args {
				if m, ok := a.(*dict); ok {
					for _, k := range m.keys {
						d.set(k, m.m[k])
					}
				}
			}
			for _, k := range kw.keys {
				d.set(k, kw.m[k])
			}
			return d, nil
		}},
		"raise_exception": &builtin{"raise_exception", func(_ *renderer, args []any, _ *dict) (any, error) {
			msg := "raise_exception called"
			if len(args) > 0 {
				msg = toStr(args[0])
			}
			return nil, &errRaised{msg}
		}},
		"strftime_now": &builtin{"strftime_now", func(r *renderer, args []any, _ *dict) (any, error) {
			if len(args) != 1 {
				return nil, errors.New("strftime_now takes a format")
			}
			f, _ := args[0].(string)
			return strftime(r.opt.date(), f)
		}},
	}
}

func argOr(args []any, kw *dict, i int, name string, def any) any {
	if i < len(args) {
		return args[i]
	}
	if v, ok := kw.get(name); ok {
		return v
	}
	return def
}

// applyFilter runs "value | name(args)".
func (r *renderer) applyFilter(name string, v any, args []any, kw *dict) (any, error) {
	str := func() (string, error) { return toStr(v), nil } // undefined is ""
	switch name {
	case "trim":
		s, err := str()
		if chars, ok := argOr(args, kw, 0, "chars", nil).(string); ok {
			return strings.Trim(s, chars), err
		}
		return strings.TrimSpace(s), err
	case "upper":
		s, err := str()
		return strings.ToUpper(s), err
	case "lower":
		s, err := str()
		return strings.ToLower(s), err
	case "title":
		s, err := str()
		return pyTitle(s), err
	case "capitalize":
		s, err := str()
		return pyCapitalize(s), err
	case "string":
		return toStr(v), nil
	case "safe", "e", "escape", "forceescape":
		if name != "safe" {
			return nil, fmt.Errorf("filter %s is not supported", name)
		}
		return v, nil
	case "length", "count":
		switch x := v.(type) {
		case string:
			return runeLen(x), nil
		case []any:
			return len(x), nil
		case *dict:
			return len(x.keys), nil
		case undefined:
			return 0, nil
		}
		return nil, fmt.Errorf("filter length: a %s has no length", typeName(v))
	case "first", "last":
		items, err := r.iterate(v)
		if err != nil {
			return nil, err
		}
		if len(items) == 0 {
			return undefined{name}, nil
		}
		if name == "first" {
			return items[0], nil
		}
		return items[len(items)-1], nil
	case "list":
		items, err := r.iterate(v)
		if err != nil {
			return nil, err
		}
		return append([]any{}, items...), nil
	case "reverse":
		if s, ok := v.(string); ok {
			rs := []rune(s)
			slices.Reverse(rs)
			return string(rs), nil
		}
		items, err := r.iterate(v)
		if err != nil {
			return nil, err
		}
		out := slices.Clone(items)
		slices.Reverse(out)
		return out, nil
	case "join":
		items, err := r.iterate(v)
		if err != nil {
			return nil, err
		}
		sep, _ := argOr(args, kw, 0, "d", "").(string)
		attr, hasAttr := argOr(args, kw, 1, "attribute", nil).(string)
		parts := make([]string, len(items))
		for i, it := range items {
			if hasAttr {
				if it, err = getAttr(it, attr); err != nil {
					return nil, err
				}
			}
			parts[i] = toStr(it)
		}
		s := strings.Join(parts, sep)
		if len(s) > maxStringLen {
			return nil, errors.New("string too long")
		}
		return s, nil
	case "default", "d":
		def := argOr(args, kw, 0, "default_value", "")
		boolean := truth(argOr(args, kw, 1, "boolean", false))
		if _, ok := v.(undefined); ok || (boolean && !truth(v)) {
			return def, nil
		}
		return v, nil
	case "items":
		d, ok := v.(*dict)
		if !ok {
			if _, u := v.(undefined); u {
				return []any{}, nil
			}
			return nil, fmt.Errorf("filter items: a %s is not a mapping", typeName(v))
		}
		return dictItems(d), nil
	case "tojson":
		f := jsonFormat{itemSep: ", ", keySep: ": ", sortKeys: truth(argOr(nil, kw, 0, "sort_keys", false))}
		if n, ok := argOr(args, kw, 0, "indent", nil).(int); ok && n > 0 {
			f.indent, f.itemSep = n, ","
		}
		if sp, ok := argOr(nil, kw, 0, "separators", nil).([]any); ok && len(sp) == 2 {
			f.itemSep, f.keySep = toStr(sp[0]), toStr(sp[1])
		}
		var b strings.Builder
		if err := toJSON(&b, v, f, 0); err != nil {
			return nil, err
		}
		return b.String(), nil
	case "replace":
		s, err := str()
		if err != nil {
			return nil, err
		}
		old, _ := argOr(args, kw, 0, "old", "").(string)
		nw, _ := argOr(args, kw, 1, "new", "").(string)
		n := -1
		if c, ok := argOr(args, kw, 2, "count", nil).(int); ok {
			n = c
		}
		out := strings.Replace(s, old, nw, n)
		if len(out) > maxStringLen {
			return nil, errors.New("string too long")
		}
		return out, nil
	case "int":
		switch x := v.(type) {
		case int:
			return x, nil
		case float64:
			return int(x), nil
		case bool:
			return btoi(x), nil
		case string:
			if n, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
				return n, nil
			}
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
				return int(f), nil
			}
		}
		return argOr(args, kw, 0, "default", 0), nil
	case "float":
		if f, _, ok := number(v); ok {
			return f, nil
		}
		if s, ok := v.(string); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
				return f, nil
			}
		}
		return argOr(args, kw, 0, "default", 0.0), nil
	case "abs":
		switch x := v.(type) {
		case int:
			if x < 0 {
				return -x, nil
			}
			return x, nil
		case float64:
			return math.Abs(x), nil
		}
		return nil, fmt.Errorf("filter abs: a %s is not a number", typeName(v))
	case "round":
		f, _, ok := number(v)
		if !ok {
			return nil, fmt.Errorf("filter round: a %s is not a number", typeName(v))
		}
		prec, _ := argOr(args, kw, 0, "precision", 0).(int)
		p := math.Pow(10, float64(prec))
		return math.RoundToEven(f*p) / p, nil
	case "indent":
		s, err := str()
		if err != nil {
			return nil, err
		}
		width := argOr(args, kw, 0, "width", 4)
		pad, ok := width.(string)
		if !ok {
			n, _ := width.(int)
			pad = strings.Repeat(" ", max(n, 0))
		}
		first := truth(argOr(args, kw, 1, "first", false))
		blank := truth(argOr(args, kw, 2, "blank", false))
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			if (i == 0 && !first) || (l == "" && !blank) {
				continue
			}
			lines[i] = pad + l
		}
		return strings.Join(lines, "\n"), nil
	case "unique":
		items, err := r.iterate(v)
		if err != nil {
			return nil, err
		}
		var out []any
		for _, it := range items {
			if !slices.ContainsFunc(out, func(o any) bool { return equal(o, it) }) {
				out = append(out, it)
			}
		}
		return out, nil
	case "sort":
		items, err := r.iterate(v)
		if err != nil {
			return nil, err
		}
		out := slices.Clone(items)
		rev := truth(argOr(args, kw, 0, "reverse", false))
		attr, hasAttr := argOr(args, kw, 2, "attribute", nil).(string)
		var cerr error
		slices.SortStableFunc(out, func(a, b any) int {
			if hasAttr {
				a, _ = getAttr(a, attr)
				b, _ = getAttr(b, attr)
			}
			c, err := compare(a, b)
			if err != nil {
				cerr = err
			}
			if rev {
				return -c
			}
			return c
		})
		return out, cerr
	case "map":
		items, err := r.iterate(v)
		if err != nil {
			return nil, err
		}
		out := make([]any, len(items))
		if attr, ok := kw.get("attribute"); ok {
			for i, it := range items {
				if out[i], err = getAttr(it, toStr(attr)); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
		if len(args) == 0 {
			return nil, errors.New("filter map needs a filter name or attribute=")
		}
		fname := toStr(args[0])
		for i, it := range items {
			if out[i], err = r.applyFilter(fname, it, args[1:], newDict()); err != nil {
				return nil, err
			}
		}
		return out, nil
	case "selectattr", "rejectattr", "select", "reject":
		items, err := r.iterate(v)
		if err != nil {
			return nil, err
		}
		byAttr := name == "selectattr" || name == "rejectattr"
		want := name == "selectattr" || name == "select"
		rest := args
		attr := ""
		if byAttr {
			if len(args) == 0 {
				return nil, fmt.Errorf("filter %s needs an attribute", name)
			}
			attr, rest = toStr(args[0]), args[1:]
		}
		out := []any{}
		for _, it := range items {
			val := it
			if byAttr {
				if val, err = getAttr(it, attr); err != nil {
					return nil, err
				}
			}
			ok := truth(val)
			if len(rest) > 0 {
				if ok, err = r.applyTest(toStr(rest[0]), val, rest[1:]); err != nil {
					return nil, err
				}
			}
			if ok == want {
				out = append(out, it)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("filter %q is not supported", name)
}

func dictItems(d *dict) []any {
	out := make([]any, len(d.keys))
	for i, k := range d.keys {
		out[i] = []any{k, d.m[k]}
	}
	return out
}

// applyTest runs "value is name(args)".
func (r *renderer) applyTest(name string, v any, args []any) (bool, error) {
	arg := func() (any, error) {
		if len(args) == 0 {
			return nil, fmt.Errorf("test %s needs an argument", name)
		}
		return args[0], nil
	}
	switch name {
	case "defined":
		_, u := v.(undefined)
		return !u, nil
	case "undefined":
		_, u := v.(undefined)
		return u, nil
	case "none":
		return v == nil, nil
	case "string":
		_, ok := v.(string)
		return ok, nil
	case "number":
		_, _, ok := number(v)
		_, isBool := v.(bool)
		return ok && !isBool, nil
	case "integer":
		_, ok := v.(int)
		return ok, nil
	case "float":
		_, ok := v.(float64)
		return ok, nil
	case "boolean":
		_, ok := v.(bool)
		return ok, nil
	case "true":
		b, ok := v.(bool)
		return ok && b, nil
	case "false":
		b, ok := v.(bool)
		return ok && !b, nil
	case "mapping":
		_, ok := v.(*dict)
		return ok, nil
	case "iterable":
		switch v.(type) {
		case string, []any, *dict:
			return true, nil
		}
		return false, nil
	case "sequence":
		switch v.(type) {
		case string, []any, *dict:
			return true, nil
		}
		return false, nil
	case "callable":
		switch v.(type) {
		case *builtin, *macroValue:
			return true, nil
		}
		return false, nil
	case "odd", "even":
		n, ok := v.(int)
		if !ok {
			return false, fmt.Errorf("test %s: a %s is not an integer", name, typeName(v))
		}
		return (n%2 != 0) == (name == "odd"), nil
	case "divisibleby":
		a, err := arg()
		if err != nil {
			return false, err
		}
		n, ok1 := v.(int)
		d, ok2 := a.(int)
		if !ok1 || !ok2 || d == 0 {
			return false, errors.New("test divisibleby needs nonzero integers")
		}
		return n%d == 0, nil
	case "equalto", "eq", "==", "sameas":
		a, err := arg()
		return err == nil && equal(v, a), err
	case "ne", "!=":
		a, err := arg()
		return err == nil && !equal(v, a), err
	case "lt", "<", "gt", ">", "le", "<=", "ge", ">=", "lessthan", "greaterthan":
		a, err := arg()
		if err != nil {
			return false, err
		}
		c, err := compare(v, a)
		switch name {
		case "lt", "<", "lessthan":
			return c < 0, err
		case "gt", ">", "greaterthan":
			return c > 0, err
		case "le", "<=":
			return c <= 0, err
		}
		return c >= 0, err
	case "in":
		a, err := arg()
		if err != nil {
			return false, err
		}
		return contains(a, v)
	case "lower", "upper":
		s, ok := v.(string)
		if !ok {
			return false, nil
		}
		if name == "lower" {
			return s == strings.ToLower(s), nil
		}
		return s == strings.ToUpper(s), nil
	}
	return false, fmt.Errorf("test %q is not supported", name)
}

// dictMethod returns a bound dict method, or nil.
func dictMethod(d *dict, name string) *builtin {
	switch name {
	case "items":
		return &builtin{name, func(*renderer, []any, *dict) (any, error) { return dictItems(d), nil }}
	case "keys":
		return &builtin{name, func(*renderer, []any, *dict) (any, error) {
			out := make([]any, len(d.keys))
			for i, k := range d.keys {
				out[i] = k
			}
			return out, nil
		}}
	case "values":
		return &builtin{name, func(*renderer, []any, *dict) (any, error) {
			out := make([]any, len(d.keys))
			for i, k := range d.keys {
				out[i] = d.m[k]
			}
			return out, nil
		}}
	case "get":
		return &builtin{name, func(_ *renderer, args []any, _ *dict) (any, error) {
			if len(args) == 0 {
				return nil, errors.New("get needs a key")
			}
			if k, ok := args[0].(string); ok {
				if v, ok := d.m[k]; ok {
					return v, nil
				}
			}
			if len(args) > 1 {
				return args[1], nil
			}
			return nil, nil
		}}
	}
	return nil
}

// stringMethod returns a bound Python string method, or nil.
func stringMethod(s string, name string) *builtin {
	chars := func(args []any) (string, bool) {
		if len(args) > 0 {
			if c, ok := args[0].(string); ok {
				return c, true
			}
		}
		return "", false
	}
	m := func(fn func(args []any, kw *dict) (any, error)) *builtin {
		return &builtin{name, func(_ *renderer, args []any, kw *dict) (any, error) { return fn(args, kw) }}
	}
	switch name {
	case "strip", "lstrip", "rstrip":
		return m(func(args []any, _ *dict) (any, error) {
			c, has := chars(args)
			trim := map[string]func(string, string) string{"strip": strings.Trim, "lstrip": strings.TrimLeft, "rstrip": strings.TrimRight}[name]
			if has {
				return trim(s, c), nil
			}
			f := map[string]func(string) string{
				"strip":  strings.TrimSpace,
				"lstrip": func(x string) string { return strings.TrimLeftFunc(x, unicode.IsSpace) },
				"rstrip": func(x string) string { return strings.TrimRightFunc(x, unicode.IsSpace) },
			}[name]
			return f(s), nil
		})
	case "upper":
		return m(func([]any, *dict) (any, error) { return strings.ToUpper(s), nil })
	case "lower":
		return m(func([]any, *dict) (any, error) { return strings.ToLower(s), nil })
	case "title":
		return m(func([]any, *dict) (any, error) { return pyTitle(s), nil })
	case "capitalize":
		return m(func([]any, *dict) (any, error) { return pyCapitalize(s), nil })
	case "startswith", "endswith":
		return m(func(args []any, _ *dict) (any, error) {
			if len(args) == 0 {
				return nil, fmt.Errorf("%s needs an argument", name)
			}
			cands := []any{args[0]}
			if l, ok := args[0].([]any); ok {
				cands = l
			}
			for _, c := range cands {
				p, ok := c.(string)
				if !ok {
					return nil, fmt.Errorf("%s needs strings", name)
				}
				if (name == "startswith" && strings.HasPrefix(s, p)) || (name == "endswith" && strings.HasSuffix(s, p)) {
					return true, nil
				}
			}
			return false, nil
		})
	case "split", "rsplit":
		return m(func(args []any, kw *dict) (any, error) {
			sep, hasSep := argOr(args, kw, 0, "sep", nil).(string)
			limit := -1
			if n, ok := argOr(args, kw, 1, "maxsplit", -1).(int); ok {
				limit = n
			}
			var parts []string
			switch {
			case !hasSep:
				parts = strings.Fields(s)
				if limit >= 0 && len(parts) > limit+1 {
					return nil, errors.New("split without a separator and with maxsplit is not supported")
				}
			case sep == "":
				return nil, errors.New("empty separator")
			case name == "rsplit" && limit >= 0:
				all := strings.Split(s, sep)
				if len(all) > limit+1 {
					head := strings.Join(all[:len(all)-limit], sep)
					parts = append([]string{head}, all[len(all)-limit:]...)
				} else {
					parts = all
				}
			default:
				n := -1
				if limit >= 0 {
					n = limit + 1
				}
				parts = strings.SplitN(s, sep, n)
			}
			out := make([]any, len(parts))
			for i, p := range parts {
				out[i] = p
			}
			return out, nil
		})
	case "replace":
		return m(func(args []any, _ *dict) (any, error) {
			if len(args) < 2 {
				return nil, errors.New("replace needs two arguments")
			}
			o, _ := args[0].(string)
			n, _ := args[1].(string)
			c := -1
			if len(args) > 2 {
				c, _ = args[2].(int)
			}
			out := strings.Replace(s, o, n, c)
			if len(out) > maxStringLen {
				return nil, errors.New("string too long")
			}
			return out, nil
		})
	case "find", "index", "rfind", "count":
		return m(func(args []any, _ *dict) (any, error) {
			sub, ok := chars(args)
			if !ok {
				return nil, fmt.Errorf("%s needs a string", name)
			}
			switch name {
			case "count":
				return strings.Count(s, sub), nil
			case "rfind":
				i := strings.LastIndex(s, sub)
				if i < 0 {
					return -1, nil
				}
				return runeLen(s[:i]), nil
			}
			i := strings.Index(s, sub)
			if i < 0 {
				if name == "index" {
					return nil, errors.New("substring not found")
				}
				return -1, nil
			}
			return runeLen(s[:i]), nil
		})
	case "join":
		return m(func(args []any, _ *dict) (any, error) {
			if len(args) == 0 {
				return nil, errors.New("join needs a list")
			}
			l, ok := args[0].([]any)
			if !ok {
				return nil, errors.New("join needs a list")
			}
			parts := make([]string, len(l))
			for i, e := range l {
				parts[i] = toStr(e)
			}
			return strings.Join(parts, s), nil
		})
	case "isdigit", "isalpha", "isspace", "isupper", "islower":
		return m(func([]any, *dict) (any, error) {
			if s == "" {
				return false, nil
			}
			for _, c := range s {
				ok := map[string]bool{
					"isdigit": unicode.IsDigit(c), "isalpha": unicode.IsLetter(c), "isspace": unicode.IsSpace(c),
					"isupper": !unicode.IsLower(c), "islower": !unicode.IsUpper(c),
				}[name]
				if !ok {
					return false, nil
				}
			}
			return true, nil
		})
	}
	return nil
}

// pyTitle is Python's str.title: the first letter of every run of letters
// upper case, the rest lower case.
func pyTitle(s string) string {
	var b strings.Builder
	prevLetter := false
	for _, c := range s {
		if unicode.IsLetter(c) {
			if prevLetter {
				b.WriteRune(unicode.ToLower(c))
			} else {
				b.WriteRune(unicode.ToUpper(c))
			}
			prevLetter = true
		} else {
			b.WriteRune(c)
			prevLetter = false
		}
	}
	return b.String()
}

// pyCapitalize is Python's str.capitalize.
func pyCapitalize(s string) string {
	rs := []rune(strings.ToLower(s))
	if len(rs) > 0 {
		rs[0] = unicode.ToUpper(rs[0])
	}
	return string(rs)
}
