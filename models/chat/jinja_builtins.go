package chat

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// globals are the functions every template sees.
var globals map[string]any

func init() {
	globals = map[string]any{
		"range": &builtin{"range", func(r *renderer, args []any, _ *dict) (any, error) {
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
			n := rangeLen(lo, hi, step)
			// Charged before anything is built; an int in an interface
			// may take a word more.
			if !fits(n, 2*wordSize, *r.b.mem) {
				return nil, r.b.over("memory")
			}
			if err := r.use(n*2*wordSize, n); err != nil {
				return nil, err
			}
			out := make([]any, n)
			for i := range out {
				out[i] = lo + i*step
			}
			return out, nil
		}},
		"namespace": &builtin{"namespace", func(r *renderer, args []any, kw *dict) (any, error) {
			d, err := r.dictOf(args, kw)
			return &namespace{d}, err
		}},
		"dict": &builtin{"dict", func(r *renderer, args []any, kw *dict) (any, error) {
			return r.dictOf(args, kw)
		}},
		"raise_exception": &builtin{"raise_exception", func(r *renderer, args []any, _ *dict) (any, error) {
			msg := "raise_exception called"
			if len(args) > 0 {
				var err error
				if msg, err = r.str(args[0]); err != nil {
					return nil, err
				}
				if len(msg) > 1000 {
					msg = msg[:1000] + "..."
				}
			}
			return nil, &errRaised{msg}
		}},
		"strftime_now": &builtin{"strftime_now", func(r *renderer, args []any, _ *dict) (any, error) {
			if len(args) != 1 {
				return nil, errors.New("strftime_now takes a format")
			}
			f, _ := args[0].(string)
			if err := r.useStr(16 * int64(len(f))); err != nil {
				return nil, err
			}
			return strftime(r.opt.date(), f)
		}},
	}
}

// rangeLen is the length of Python's range(lo, hi, step), step != 0,
// computed without overflow (at most math.MaxInt64).
func rangeLen(lo, hi, step int) int64 {
	var span, by uint64
	switch {
	case step > 0 && hi > lo:
		span, by = uint64(hi)-uint64(lo), uint64(step)
	case step < 0 && lo > hi:
		span, by = uint64(lo)-uint64(hi), uint64(-(step+1))+1
	default:
		return 0
	}
	n := (span-1)/by + 1
	if n > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(n)
}

// dictOf builds dict(args..., **kw): mappings given positionally, then the
// keyword arguments.
func (r *renderer) dictOf(args []any, kw *dict) (*dict, error) {
	d := newDict()
	for _, a := range args {
		if m, ok := a.(*dict); ok {
			if err := r.use(int64(len(m.keys))*dictCost, int64(len(m.keys))); err != nil {
				return nil, err
			}
			for _, k := range m.keys {
				d.set(k, m.m[k])
			}
		}
	}
	if err := r.use(int64(len(kw.keys))*dictCost, int64(len(kw.keys))); err != nil {
		return nil, err
	}
	for _, k := range kw.keys {
		d.set(k, kw.m[k])
	}
	return d, nil
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

// strResult charges a string a filter built from in (the bytes read) and
// returns it.
func (r *renderer) strResult(s string, in int) (any, error) {
	if err := r.use(int64(len(s)), int64(in)); err != nil {
		return nil, err
	}
	return s, nil
}

// applyFilter runs "value | name(args)".
func (r *renderer) applyFilter(name string, v any, args []any, kw *dict) (any, error) {
	if err := r.touch(callCost); err != nil {
		return nil, err
	}
	switch name {
	case "trim", "upper", "lower", "title", "capitalize", "string":
		s, err := r.str(v)
		if err != nil {
			return nil, err
		}
		if err := r.scan(s); err != nil {
			return nil, err
		}
		switch name {
		case "trim":
			if chars, ok := argOr(args, kw, 0, "chars", nil).(string); ok {
				return strings.Trim(s, chars), nil
			}
			return pyStrip(s), nil
		case "upper":
			return r.strResult(strings.ToUpper(s), len(s))
		case "lower":
			return r.strResult(strings.ToLower(s), len(s))
		case "title":
			return r.strResult(pyTitle(s), len(s))
		case "capitalize":
			return r.strResult(pyCapitalize(s), len(s))
		}
		return s, nil
	case "safe", "e", "escape", "forceescape":
		if name != "safe" {
			return nil, fmt.Errorf("filter %s is not supported", name)
		}
		return v, nil
	case "length", "count":
		switch x := v.(type) {
		case string:
			if err := r.touch(int64(len(x))); err != nil {
				return nil, err
			}
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
		if s, ok := v.(string); ok {
			if s == "" {
				return undefined{name}, nil
			}
			var c rune
			if name == "first" {
				c, _ = utf8.DecodeRuneInString(s)
			} else {
				c, _ = utf8.DecodeLastRuneInString(s)
			}
			return string(c), nil
		}
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
		if err := r.useList(int64(len(items))); err != nil {
			return nil, err
		}
		return append([]any{}, items...), nil
	case "reverse":
		if s, ok := v.(string); ok {
			if err := r.use(4*int64(len(s)), runeCost*int64(len(s))); err != nil {
				return nil, err
			}
			rs := []rune(s)
			slices.Reverse(rs)
			return string(rs), nil
		}
		items, err := r.iterate(v)
		if err != nil {
			return nil, err
		}
		if err := r.useList(int64(len(items))); err != nil {
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
		sep, err := r.str(argOr(args, kw, 0, "d", ""))
		if err != nil {
			return nil, err
		}
		attr, hasAttr := argOr(args, kw, 1, "attribute", nil).(string)
		parts := make([]string, len(items))
		if err := r.useList(int64(len(items))); err != nil {
			return nil, err
		}
		total := int64(0)
		for i, it := range items {
			if hasAttr {
				if it, err = getAttr(it, attr); err != nil {
					return nil, err
				}
			}
			if parts[i], err = r.str(it); err != nil {
				return nil, err
			}
			total += int64(len(parts[i]))
			if total > *r.b.mem {
				return nil, r.b.over("memory")
			}
		}
		if len(items) > 1 && !fits(int64(len(items)-1), int64(len(sep)), *r.b.mem-total) {
			return nil, r.b.over("memory")
		}
		if len(items) > 1 {
			total += int64(len(items)-1) * int64(len(sep))
		}
		if err := r.useStr(total); err != nil {
			return nil, err
		}
		return strings.Join(parts, sep), nil
	case "default", "d":
		def := argOr(args, kw, 0, "default_value", "")
		boolean := truth(argOr(args, kw, 1, "boolean", false))
		if _, ok := v.(undefined); ok || (boolean && !truth(v)) {
			return def, nil
		}
		return v, nil
	case "items", "dictsort":
		d, ok := v.(*dict)
		if !ok {
			if _, u := v.(undefined); u {
				return []any{}, nil
			}
			return nil, fmt.Errorf("filter %s: a %s is not a mapping", name, typeName(v))
		}
		items, err := r.dictItems(d)
		if err != nil || name == "items" {
			return items, err
		}
		by := 0
		if b, _ := argOr(args, kw, 1, "by", "key").(string); b == "value" {
			by = 1
		}
		return r.sortList(items, truth(argOr(args, kw, 2, "reverse", false)), truth(argOr(args, kw, 0, "case_sensitive", false)), "", by)
	case "tojson":
		f := jsonFormat{itemSep: ", ", keySep: ": ", sortKeys: truth(argOr(nil, kw, 0, "sort_keys", false))}
		switch ind := argOr(args, kw, 0, "indent", nil).(type) {
		case int: // json.dumps: 0 or less only inserts newlines
			if !fits(int64(max(ind, 0)), 1, *r.b.mem) {
				return nil, r.b.over("memory")
			}
			f.pretty, f.indent, f.itemSep = true, strings.Repeat(" ", max(ind, 0)), ","
		case string:
			f.pretty, f.indent, f.itemSep = true, ind, ","
		}
		if sp, ok := argOr(nil, kw, 0, "separators", nil).([]any); ok && len(sp) == 2 {
			a, err := r.str(sp[0])
			if err != nil {
				return nil, err
			}
			b, err := r.str(sp[1])
			if err != nil {
				return nil, err
			}
			f.itemSep, f.keySep = a, b
		}
		var b strings.Builder
		if err := r.writeJSON(&b, v, f, 0); err != nil {
			return nil, err
		}
		return b.String(), nil
	case "pprint":
		s, err := r.repr(v)
		if err != nil {
			return nil, err
		}
		if runeLen(s) > 80 { // pprint breaks longer values over lines
			return nil, errors.New("filter pprint of a value longer than 80 characters is not supported")
		}
		return s, nil
	case "replace":
		s, err := r.str(v)
		if err != nil {
			return nil, err
		}
		old, err := r.str(argOr(args, kw, 0, "old", ""))
		if err != nil {
			return nil, err
		}
		nw, err := r.str(argOr(args, kw, 1, "new", ""))
		if err != nil {
			return nil, err
		}
		n := -1
		if c, ok := argOr(args, kw, 2, "count", nil).(int); ok {
			n = c
		}
		return r.replace(s, old, nw, n)
	case "int":
		switch x := v.(type) {
		case int:
			return x, nil
		case float64:
			if x != x || math.IsInf(x, 0) || math.Abs(x) >= 1<<63 {
				return nil, fmt.Errorf("filter int: %v is out of range", x)
			}
			return int(x), nil
		case bool:
			return btoi(x), nil
		case string:
			if len(x) > 400 {
				break
			}
			if n, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
				return n, nil
			}
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil && math.Abs(f) < 1<<63 {
				return int(f), nil
			}
		}
		return argOr(args, kw, 0, "default", 0), nil
	case "float":
		if f, _, ok := number(v); ok {
			return f, nil
		}
		if s, ok := v.(string); ok && len(s) < 400 {
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
		s, err := r.str(v)
		if err != nil {
			return nil, err
		}
		var pad string
		switch w := argOr(args, kw, 0, "width", 4).(type) {
		case string:
			pad = w
		case int:
			if !fits(int64(max(w, 0)), 1, *r.b.mem) {
				return nil, r.b.over("memory")
			}
			pad = strings.Repeat(" ", max(w, 0))
		default:
			return nil, fmt.Errorf("filter indent: the width must be an integer or a string, not %s", typeName(w))
		}
		return r.indent(s, pad, truth(argOr(args, kw, 1, "first", false)), truth(argOr(args, kw, 2, "blank", false)))
	case "center":
		s, err := r.str(v)
		if err != nil {
			return nil, err
		}
		w, ok := argOr(args, kw, 0, "width", 80).(int)
		if !ok {
			return nil, errors.New("filter center: the width must be an integer")
		}
		return r.pad(s, w, " ", "center")
	case "truncate":
		s, err := r.str(v)
		if err != nil {
			return nil, err
		}
		return r.truncate(s, args, kw)
	case "format":
		s, err := r.str(v)
		if err != nil {
			return nil, err
		}
		return r.percentFormat(s, args)
	case "wordcount":
		s, err := r.str(v)
		if err != nil {
			return nil, err
		}
		if err := r.touch(int64(len(s))); err != nil {
			return nil, err
		}
		return len(strings.FieldsFunc(s, func(c rune) bool { return !unicode.IsLetter(c) && !unicode.IsDigit(c) && c != '_' })), nil
	case "attr":
		a, err := r.str(argOr(args, kw, 0, "name", ""))
		if err != nil {
			return nil, err
		}
		return getAttr(v, a)
	case "sum", "min", "max":
		items, err := r.iterate(v)
		if err != nil {
			return nil, err
		}
		attr, _ := kw.get("attribute")
		return r.aggregate(name, items, attr, argOr(args, kw, 1, "start", 0))
	case "batch":
		items, err := r.iterate(v)
		if err != nil {
			return nil, err
		}
		n, ok := argOr(args, kw, 0, "linecount", nil).(int)
		if !ok || n <= 0 {
			return nil, errors.New("filter batch needs a positive size")
		}
		if err := r.useList(int64(len(items)) + int64(len(items))/int64(n) + 1); err != nil {
			return nil, err
		}
		var out []any
		for i := 0; i < len(items); i += n {
			out = append(out, slices.Clone(items[i:min(i+n, len(items))]))
		}
		if fill, ok := kw.get("fill_with"); ok || len(args) > 1 {
			if !ok {
				fill = args[1]
			}
			if last := len(out) - 1; last >= 0 {
				l := out[last].([]any)
				for len(l) < n {
					l = append(l, fill)
				}
				out[last] = l
			}
		}
		return out, nil
	case "unique":
		items, err := r.iterate(v)
		if err != nil {
			return nil, err
		}
		cs := truth(argOr(args, kw, 0, "case_sensitive", false))
		attr, _ := argOr(args, kw, 1, "attribute", nil).(string)
		var out, keys []any
		for _, it := range items {
			k, err := r.sortKey(it, cs, attr)
			if err != nil {
				return nil, err
			}
			seen := false
			for _, o := range keys {
				if seen, err = r.equal(o, k, 0); err != nil {
					return nil, err
				}
				if seen {
					break
				}
			}
			if !seen {
				if err := r.useList(2); err != nil {
					return nil, err
				}
				out, keys = append(out, it), append(keys, k)
			}
		}
		return out, nil
	case "sort":
		items, err := r.iterate(v)
		if err != nil {
			return nil, err
		}
		attr, _ := argOr(args, kw, 2, "attribute", nil).(string)
		return r.sortList(items, truth(argOr(args, kw, 0, "reverse", false)), truth(argOr(args, kw, 1, "case_sensitive", false)), attr, -1)
	case "map":
		items, err := r.iterate(v)
		if err != nil {
			return nil, err
		}
		if err := r.useList(int64(len(items))); err != nil {
			return nil, err
		}
		out := make([]any, len(items))
		if attr, ok := kw.get("attribute"); ok {
			a, err := r.str(attr)
			if err != nil {
				return nil, err
			}
			def, hasDef := kw.get("default")
			for i, it := range items {
				if out[i], err = getAttr(it, a); err != nil {
					return nil, err
				}
				if _, u := out[i].(undefined); u && hasDef {
					out[i] = def
				}
			}
			return out, nil
		}
		if len(args) == 0 {
			return nil, errors.New("filter map needs a filter name or attribute=")
		}
		fname, err := r.str(args[0])
		if err != nil {
			return nil, err
		}
		if fname == "map" {
			return nil, errors.New("filter map cannot apply map")
		}
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
			if attr, err = r.str(args[0]); err != nil {
				return nil, err
			}
			rest = args[1:]
		}
		test := ""
		if len(rest) > 0 {
			if test, err = r.str(rest[0]); err != nil {
				return nil, err
			}
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
			if test != "" {
				if ok, err = r.applyTest(test, val, rest[1:]); err != nil {
					return nil, err
				}
			}
			if ok == want {
				if err := r.useList(1); err != nil {
					return nil, err
				}
				out = append(out, it)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("filter %q is not supported", name)
}

func (r *renderer) dictItems(d *dict) ([]any, error) {
	if err := r.useList(3 * int64(len(d.keys))); err != nil {
		return nil, err
	}
	out := make([]any, len(d.keys))
	for i, k := range d.keys {
		out[i] = []any{k, d.m[k]}
	}
	return out, nil
}

// sortKey is the value sort and unique compare: an attribute of the item,
// strings lower-cased unless case-sensitive.
func (r *renderer) sortKey(v any, caseSensitive bool, attr string) (any, error) {
	if attr != "" {
		var err error
		if v, err = getAttr(v, attr); err != nil {
			return nil, err
		}
	}
	if s, ok := v.(string); ok && !caseSensitive {
		if err := r.useStr(int64(len(s))); err != nil {
			return nil, err
		}
		return strings.ToLower(s), nil
	}
	return v, nil
}

// sortList sorts items stably by their sort keys (by element index of each
// item when index >= 0, for dictsort's pairs).
func (r *renderer) sortList(items []any, reverse, caseSensitive bool, attr string, index int) ([]any, error) {
	n := int64(len(items))
	if err := r.useList(3 * n); err != nil {
		return nil, err
	}
	if err := r.touch(n * int64(bitLen(len(items))) * stepCost); err != nil {
		return nil, err
	}
	type keyed struct{ k, v any }
	ks := make([]keyed, len(items))
	for i, it := range items {
		k := it
		if index >= 0 {
			k = it.([]any)[index]
		}
		k, err := r.sortKey(k, caseSensitive, attr)
		if err != nil {
			return nil, err
		}
		ks[i] = keyed{k, it}
	}
	var cerr error
	slices.SortStableFunc(ks, func(a, b keyed) int {
		if cerr != nil {
			return 0
		}
		c, err := r.compare(a.k, b.k, 0)
		if err != nil {
			cerr = err
		}
		if reverse {
			return -c
		}
		return c
	})
	out := make([]any, len(ks))
	for i, k := range ks {
		out[i] = k.v
	}
	return out, cerr
}

// aggregate is the sum, min and max filters.
func (r *renderer) aggregate(name string, items []any, attr, start any) (any, error) {
	vals := items
	if attr != nil {
		a, err := r.str(attr)
		if err != nil {
			return nil, err
		}
		if err := r.useList(int64(len(items))); err != nil {
			return nil, err
		}
		vals = make([]any, len(items))
		for i, it := range items {
			if vals[i], err = getAttr(it, a); err != nil {
				return nil, err
			}
		}
	}
	if name == "sum" {
		acc := start
		for _, v := range vals {
			a, aInt, ok1 := number(acc)
			b, bInt, ok2 := number(v)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("filter sum: cannot add a %s", typeName(v))
			}
			if aInt && bInt {
				acc = intOf(acc) + intOf(v)
			} else {
				acc = a + b
			}
		}
		return acc, nil
	}
	if len(vals) == 0 {
		return undefined{name}, nil
	}
	best := vals[0]
	for _, v := range vals[1:] {
		c, err := r.compare(v, best, 0)
		if err != nil {
			return nil, err
		}
		if (name == "min" && c < 0) || (name == "max" && c > 0) {
			best = v
		}
	}
	return best, nil
}

// replace is Python's str.replace, its result sized and charged before it
// is built.
func (r *renderer) replace(s, old, nw string, n int) (any, error) {
	if err := r.touch(int64(len(s))); err != nil {
		return nil, err
	}
	count := int64(0)
	if old == "" {
		count = int64(runeLen(s)) + 1
	} else {
		count = int64(strings.Count(s, old))
	}
	if n >= 0 && int64(n) < count {
		count = int64(n)
	}
	if count == 0 {
		return s, nil
	}
	if !fits(count, int64(len(nw)), *r.b.mem) {
		return nil, r.b.over("memory")
	}
	size := int64(len(s)) + count*int64(len(nw)) - count*int64(len(old))
	if err := r.useStr(size); err != nil {
		return nil, err
	}
	return strings.Replace(s, old, nw, int(count)), nil
}

// pySplitlines is Python's str.splitlines() (without keepends).
func pySplitlines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		switch c {
		case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
			out = append(out, s[start:i])
			if c == '\r' && i+1 < len(s) && s[i+1] == '\n' {
				size++
			}
			start = i + size
		}
		i += size
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// indent is Jinja's indent filter.
func (r *renderer) indent(s, pad string, first, blank bool) (any, error) {
	if err := r.touch(int64(len(s))); err != nil {
		return nil, err
	}
	lines := pySplitlines(s + "\n")
	if err := r.useList(int64(len(lines))); err != nil {
		return nil, err
	}
	if !fits(int64(len(lines)), int64(len(pad))+1, *r.b.mem-int64(len(s))) {
		return nil, r.b.over("memory")
	}
	if err := r.useStr(int64(len(s)) + int64(len(lines))*(int64(len(pad))+1)); err != nil {
		return nil, err
	}
	var b strings.Builder
	if first {
		b.WriteString(pad)
	}
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
			if blank || l != "" {
				b.WriteString(pad)
			}
		}
		b.WriteString(l)
	}
	return b.String(), nil
}

// pad centres or justifies s in width characters (Python's str.center,
// ljust, rjust, zfill); the padding is charged before it is built.
func (r *renderer) pad(s string, width int, fill, how string) (any, error) {
	n := runeLen(s)
	if width <= n {
		return s, nil
	}
	if utf8.RuneCountInString(fill) != 1 {
		return nil, errors.New("the fill character must be exactly one character long")
	}
	if !fits(int64(width-n), int64(len(fill)), *r.b.mem-int64(len(s))) {
		return nil, r.b.over("memory")
	}
	if err := r.useStr(int64(len(s)) + int64(width-n)*int64(len(fill))); err != nil {
		return nil, err
	}
	total := width - n
	left := 0
	switch how {
	case "center": // CPython: the extra character goes left when the width is odd
		left = total/2 + (total & width & 1)
	case "rjust", "zfill":
		left = total
	}
	if how == "zfill" && s != "" && (s[0] == '+' || s[0] == '-') {
		return s[:1] + strings.Repeat("0", left) + s[1:], nil
	}
	return strings.Repeat(fill, left) + s + strings.Repeat(fill, total-left), nil
}

// truncate is Jinja's truncate filter.
func (r *renderer) truncate(s string, args []any, kw *dict) (any, error) {
	length, ok := argOr(args, kw, 0, "length", 255).(int)
	if !ok {
		return nil, errors.New("filter truncate: the length must be an integer")
	}
	killwords := truth(argOr(args, kw, 1, "killwords", false))
	end, err := r.str(argOr(args, kw, 2, "end", "..."))
	if err != nil {
		return nil, err
	}
	leeway, ok := argOr(args, kw, 3, "leeway", 5).(int)
	if !ok {
		leeway = 5
	}
	n := runeLen(s)
	if length < runeLen(end) {
		return nil, errors.New("filter truncate: the length is shorter than the end text")
	}
	if leeway < 0 {
		return nil, errors.New("filter truncate: the leeway must be positive")
	}
	if n <= length || n-length <= leeway {
		return s, nil
	}
	if err := r.useStr(int64(len(s)) + int64(len(end))); err != nil {
		return nil, err
	}
	rs := []rune(s)[:length-runeLen(end)]
	cut := string(rs)
	if !killwords {
		if i := strings.LastIndex(cut, " "); i >= 0 {
			cut = cut[:i]
		}
	}
	return cut + end, nil
}

// percentFormat is Python's printf-style "%" formatting for %s, %r, %d,
// %i and %%, with an optional width (the format filter).
func (r *renderer) percentFormat(f string, args []any) (any, error) {
	var b strings.Builder
	next := 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		i++
		if i == len(f) {
			return nil, errors.New("format: incomplete format")
		}
		if f[i] == '%' {
			b.WriteByte('%')
			continue
		}
		left := false
		if f[i] == '-' {
			left = true
			i++
		}
		width := 0
		for i < len(f) && f[i] >= '0' && f[i] <= '9' {
			if width > 1<<20 {
				return nil, r.b.over("memory")
			}
			width = width*10 + int(f[i]-'0')
			i++
		}
		if i == len(f) {
			return nil, errors.New("format: incomplete format")
		}
		if next >= len(args) {
			return nil, errors.New("format: not enough arguments for format string")
		}
		a := args[next]
		next++
		var s string
		var err error
		switch f[i] {
		case 's':
			s, err = r.str(a)
		case 'r':
			s, err = r.repr(a)
		case 'd', 'i':
			x, isInt, ok := number(a)
			if !ok {
				return nil, fmt.Errorf("format: %%%c needs a number, not %s", f[i], typeName(a))
			}
			if isInt {
				s = strconv.Itoa(intOf(a))
			} else {
				s = strconv.FormatFloat(math.Trunc(x), 'f', 0, 64)
			}
		default:
			return nil, fmt.Errorf("format: unsupported format character %q", f[i])
		}
		if err != nil {
			return nil, err
		}
		how := "rjust"
		if left {
			how = "ljust"
		}
		p, err := r.pad(s, width, " ", how)
		if err != nil {
			return nil, err
		}
		s = p.(string)
		if err := r.useStr(int64(len(s))); err != nil {
			return nil, err
		}
		b.WriteString(s)
	}
	if next < len(args) {
		return nil, errors.New("format: not all arguments converted during string formatting")
	}
	return r.strResult(b.String(), len(f))
}

// applyTest runs "value is name(args)".
func (r *renderer) applyTest(name string, v any, args []any) (bool, error) {
	if err := r.touch(callCost); err != nil {
		return false, err
	}
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
		if err != nil {
			return false, err
		}
		return r.equal(v, a, 0)
	case "ne", "!=":
		a, err := arg()
		if err != nil {
			return false, err
		}
		eq, err := r.equal(v, a, 0)
		return !eq, err
	case "lt", "<", "gt", ">", "le", "<=", "ge", ">=", "lessthan", "greaterthan":
		a, err := arg()
		if err != nil {
			return false, err
		}
		c, err := r.compare(v, a, 0)
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
		return r.contains(a, v)
	case "lower", "upper":
		s, ok := v.(string)
		if !ok {
			return false, nil
		}
		if err := r.use(int64(len(s)), int64(len(s))); err != nil {
			return false, err
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
		return &builtin{name, func(r *renderer, _ []any, _ *dict) (any, error) { return r.dictItems(d) }}
	case "keys", "values":
		return &builtin{name, func(r *renderer, _ []any, _ *dict) (any, error) {
			if err := r.useList(int64(len(d.keys))); err != nil {
				return nil, err
			}
			out := make([]any, len(d.keys))
			for i, k := range d.keys {
				if name == "keys" {
					out[i] = k
				} else {
					out[i] = d.m[k]
				}
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
	// m binds a method; every call reads s once.
	m := func(fn func(r *renderer, args []any, kw *dict) (any, error)) *builtin {
		return &builtin{name, func(r *renderer, args []any, kw *dict) (any, error) {
			if err := r.scan(s); err != nil {
				return nil, err
			}
			return fn(r, args, kw)
		}}
	}
	switch name {
	case "strip", "lstrip", "rstrip":
		return m(func(_ *renderer, args []any, _ *dict) (any, error) {
			c, has := chars(args)
			if has {
				switch name {
				case "strip":
					return strings.Trim(s, c), nil
				case "lstrip":
					return strings.TrimLeft(s, c), nil
				}
				return strings.TrimRight(s, c), nil
			}
			switch name {
			case "strip":
				return pyStrip(s), nil
			case "lstrip":
				return strings.TrimLeftFunc(s, pyIsSpace), nil
			}
			return strings.TrimRightFunc(s, pyIsSpace), nil
		})
	case "upper":
		return m(func(r *renderer, _ []any, _ *dict) (any, error) { return r.strResult(strings.ToUpper(s), 0) })
	case "lower":
		return m(func(r *renderer, _ []any, _ *dict) (any, error) { return r.strResult(strings.ToLower(s), 0) })
	case "title":
		return m(func(r *renderer, _ []any, _ *dict) (any, error) { return r.strResult(pyTitle(s), 0) })
	case "capitalize":
		return m(func(r *renderer, _ []any, _ *dict) (any, error) { return r.strResult(pyCapitalize(s), 0) })
	case "startswith", "endswith":
		return m(func(_ *renderer, args []any, _ *dict) (any, error) {
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
		return m(func(r *renderer, args []any, kw *dict) (any, error) {
			sep, hasSep := argOr(args, kw, 0, "sep", nil).(string)
			limit := -1
			if n, ok := argOr(args, kw, 1, "maxsplit", -1).(int); ok {
				limit = n
			}
			var parts []string
			switch {
			case !hasSep:
				if err := r.useList(int64(len(s))/2 + 1); err != nil {
					return nil, err
				}
				parts = strings.FieldsFunc(s, pyIsSpace)
				if limit >= 0 && len(parts) > limit+1 {
					return nil, errors.New("split without a separator and with maxsplit is not supported")
				}
			case sep == "":
				return nil, errors.New("empty separator")
			default:
				n := int64(strings.Count(s, sep)) + 1
				if limit >= 0 && int64(limit)+1 < n {
					n = int64(limit) + 1
				}
				if err := r.useList(2 * n); err != nil { // a string header and an element each
					return nil, err
				}
				if name == "rsplit" && limit >= 0 {
					all := strings.Split(s, sep)
					if len(all) > limit+1 {
						head := strings.Join(all[:len(all)-limit], sep)
						parts = append([]string{head}, all[len(all)-limit:]...)
					} else {
						parts = all
					}
				} else {
					parts = strings.SplitN(s, sep, int(n))
				}
			}
			out := make([]any, len(parts))
			for i, p := range parts {
				out[i] = p
			}
			return out, nil
		})
	case "splitlines":
		return m(func(r *renderer, _ []any, _ *dict) (any, error) {
			if err := r.useList(2 * (int64(len(s)) + 1)); err != nil {
				return nil, err
			}
			parts := pySplitlines(s)
			out := make([]any, len(parts))
			for i, p := range parts {
				out[i] = p
			}
			return out, nil
		})
	case "replace":
		return m(func(r *renderer, args []any, _ *dict) (any, error) {
			if len(args) < 2 {
				return nil, errors.New("replace needs two arguments")
			}
			o, ok1 := args[0].(string)
			n, ok2 := args[1].(string)
			if !ok1 || !ok2 {
				return nil, errors.New("replace needs strings")
			}
			c := -1
			if len(args) > 2 {
				if c, ok1 = args[2].(int); !ok1 {
					return nil, errors.New("replace: the count must be an integer")
				}
			}
			return r.replace(s, o, n, c)
		})
	case "find", "index", "rfind", "count":
		return m(func(_ *renderer, args []any, _ *dict) (any, error) {
			sub, ok := chars(args)
			if !ok {
				return nil, fmt.Errorf("%s needs a string", name)
			}
			switch name {
			case "count":
				if sub == "" {
					return runeLen(s) + 1, nil
				}
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
		return m(func(r *renderer, args []any, _ *dict) (any, error) {
			if len(args) == 0 {
				return nil, errors.New("join needs a list")
			}
			l, ok := args[0].([]any)
			if !ok {
				return nil, errors.New("join needs a list")
			}
			return r.applyFilter("join", l, []any{s}, newDict())
		})
	case "center", "ljust", "rjust", "zfill":
		return m(func(r *renderer, args []any, _ *dict) (any, error) {
			if len(args) == 0 {
				return nil, fmt.Errorf("%s needs a width", name)
			}
			w, ok := args[0].(int)
			if !ok {
				return nil, fmt.Errorf("%s: the width must be an integer", name)
			}
			fill := " "
			if name == "zfill" {
				fill = "0"
			} else if len(args) > 1 {
				if fill, ok = args[1].(string); !ok {
					return nil, fmt.Errorf("%s: the fill character must be a string", name)
				}
			}
			return r.pad(s, w, fill, name)
		})
	case "format":
		return m(func(r *renderer, args []any, kw *dict) (any, error) { return r.braceFormat(s, args, kw) })
	case "isdigit", "isalpha", "isspace", "isupper", "islower", "isalnum":
		return m(func(_ *renderer, _ []any, _ *dict) (any, error) {
			if s == "" {
				return false, nil
			}
			cased := false
			for _, c := range s {
				var ok bool
				switch name {
				case "isdigit":
					ok = unicode.IsDigit(c)
				case "isalpha":
					ok = unicode.IsLetter(c)
				case "isalnum":
					ok = unicode.IsLetter(c) || unicode.IsDigit(c)
				case "isspace":
					ok = pyIsSpace(c)
				case "isupper":
					ok = !unicode.IsLower(c)
					cased = cased || unicode.IsUpper(c)
				case "islower":
					ok = !unicode.IsUpper(c)
					cased = cased || unicode.IsLower(c)
				}
				if !ok {
					return false, nil
				}
			}
			if name == "isupper" || name == "islower" {
				return cased, nil
			}
			return true, nil
		})
	}
	return nil
}

// braceFormat is Python's str.format for "{}", "{0}" and "{name}" fields
// without conversions or format specs, and "{{" / "}}".
func (r *renderer) braceFormat(f string, args []any, kw *dict) (any, error) {
	var b strings.Builder
	auto := 0
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c == '}' {
			if i+1 < len(f) && f[i+1] == '}' {
				b.WriteByte('}')
				i++
				continue
			}
			return nil, errors.New("format: single '}' encountered in format string")
		}
		if c != '{' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(f) && f[i+1] == '{' {
			b.WriteByte('{')
			i++
			continue
		}
		j := strings.IndexByte(f[i:], '}')
		if j < 0 {
			return nil, errors.New("format: single '{' encountered in format string")
		}
		field := f[i+1 : i+j]
		i += j
		var v any
		switch n, err := strconv.Atoi(field); {
		case field == "":
			if auto >= len(args) {
				return nil, errors.New("format: not enough arguments")
			}
			v = args[auto]
			auto++
		case err == nil:
			if n < 0 || n >= len(args) {
				return nil, errors.New("format: argument index out of range")
			}
			v = args[n]
		default:
			var ok bool
			if v, ok = kw.get(field); !ok {
				return nil, fmt.Errorf("format: unsupported or missing field %q", field)
			}
		}
		s, err := r.str(v)
		if err != nil {
			return nil, err
		}
		if err := r.useStr(int64(len(s))); err != nil {
			return nil, err
		}
		b.WriteString(s)
	}
	return r.strResult(b.String(), len(f))
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
