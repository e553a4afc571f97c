package chat

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// errRaised is the error of raise_exception: the template rejected its input.
type errRaised struct{ msg string }

func (e *errRaised) Error() string { return "template error: " + e.msg }

// control-flow signals of break and continue.
var (
	errBreak    = errors.New("break outside a loop")
	errContinue = errors.New("continue outside a loop")
)

// renderer holds the state of one render. Everything it builds is charged
// to its budget before it is built (see Limits).
type renderer struct {
	ctx       context.Context
	out       *strings.Builder
	capturing int // > 0 while rendering into a string (macro, block set)
	b         *budget
	steps     int
	depth     int // nested macro and caller calls
	scopes    []map[string]any
	root      map[string]any // template-level variables (visible in macros)
	opt       Options
}

func newRenderer(ctx context.Context, out *strings.Builder, b *budget, root map[string]any, opt Options) *renderer {
	return &renderer{ctx: ctx, out: out, b: b, scopes: []map[string]any{root}, root: root, opt: opt}
}

// step charges an evaluated node or loop iteration, and notices a
// cancelled context.
func (r *renderer) step() error {
	*r.b.work -= stepCost
	if *r.b.work < 0 {
		return r.b.over("work")
	}
	r.steps++
	if r.steps&255 == 0 && r.ctx != nil {
		if err := r.ctx.Err(); err != nil {
			return fmt.Errorf("rendering stopped: %w", err)
		}
	}
	return nil
}

// touch charges work units.
func (r *renderer) touch(work int64) error {
	*r.b.work -= work
	if *r.b.work < 0 {
		return r.b.over("work")
	}
	return nil
}

// use charges mem bytes of values built and work units.
func (r *renderer) use(mem, work int64) error {
	*r.b.mem -= mem
	if *r.b.mem < 0 {
		return r.b.over("memory")
	}
	return r.touch(work)
}

// scan charges a loop decoding the characters of s.
func (r *renderer) scan(s string) error { return r.touch(runeCost * int64(len(s))) }

// useStr charges a string of n bytes about to be built.
func (r *renderer) useStr(n int64) error { return r.use(n, n) }

// useList charges a list of n elements about to be built.
func (r *renderer) useList(n int64) error {
	if !fits(n, wordSize, *r.b.mem) {
		return r.b.over("memory")
	}
	return r.use(n*wordSize, n)
}

func (r *renderer) write(s string) error {
	if r.capturing > 0 {
		if err := r.useStr(int64(len(s))); err != nil {
			return err
		}
	} else {
		r.b.out -= int64(len(s))
		if r.b.out < 0 {
			return r.b.over("output")
		}
		if err := r.touch(int64(len(s))); err != nil {
			return err
		}
	}
	r.out.WriteString(s)
	return nil
}

func (r *renderer) lookup(name string) any {
	for i := len(r.scopes) - 1; i >= 0; i-- {
		if v, ok := r.scopes[i][name]; ok {
			return v
		}
	}
	if g, ok := globals[name]; ok {
		return g
	}
	return undefined{name}
}

func (r *renderer) set(name string, v any) { r.scopes[len(r.scopes)-1][name] = v }

// exec runs a list of nodes.
func (r *renderer) exec(nodes []node) error {
	for _, n := range nodes {
		if err := r.step(); err != nil {
			return err
		}
		if err := r.execNode(n); err != nil {
			return err
		}
	}
	return nil
}

func (r *renderer) execNode(n node) error {
	switch n := n.(type) {
	case *textNode:
		return r.write(n.s)
	case *outNode:
		v, err := r.eval(n.e)
		if err != nil {
			return err
		}
		s, err := r.str(v)
		if err != nil {
			return err
		}
		return r.write(s)
	case *ifNode:
		for i, c := range n.conds {
			v, err := r.eval(c)
			if err != nil {
				return err
			}
			if truth(v) {
				return r.exec(n.bodies[i])
			}
		}
		return r.exec(n.els)
	case *forNode:
		return r.execFor(n)
	case *setNode:
		var v any
		if n.e != nil {
			var err error
			if v, err = r.eval(n.e); err != nil {
				return err
			}
		} else {
			s, err := r.capture(n.body)
			if err != nil {
				return err
			}
			v = s
		}
		if n.obj != "" {
			ns, ok := r.lookup(n.obj).(*namespace)
			if !ok {
				return fmt.Errorf("cannot set attribute %s of %s (not a namespace)", n.names[0], n.obj)
			}
			if _, ok := ns.d.m[n.names[0]]; !ok {
				if err := r.use(dictCost, 0); err != nil {
					return err
				}
			}
			ns.d.set(n.names[0], v)
			return nil
		}
		if len(n.names) == 1 {
			r.set(n.names[0], v)
			return nil
		}
		items, err := r.iterate(v)
		if err != nil {
			return err
		}
		if len(items) != len(n.names) {
			return fmt.Errorf("cannot unpack %d values into %d names", len(items), len(n.names))
		}
		for i, name := range n.names {
			r.set(name, items[i])
		}
		return nil
	case *macroNode:
		r.set(n.name, &macroValue{n})
		return nil
	case *callBlockNode:
		fn, err := r.eval(n.call.fn)
		if err != nil {
			return err
		}
		args, kw, err := r.evalArgs(n.call)
		if err != nil {
			return err
		}
		body := n.body
		scopes := slices.Clip(r.scopes) // the caller's body sees the scopes of the call
		kw.set("caller", &builtin{"caller", func(r *renderer, _ []any, _ *dict) (any, error) {
			if r.depth >= r.b.lim.Depth {
				return nil, r.b.over("depth")
			}
			saved := r.scopes
			r.scopes = append(scopes, map[string]any{})
			r.depth++
			s, err := r.capture(body)
			r.depth--
			r.scopes = saved
			return s, err
		}})
		v, err := r.call(fn, args, kw)
		if err != nil {
			return err
		}
		s, err := r.str(v)
		if err != nil {
			return err
		}
		return r.write(s)
	case *filterBlockNode:
		s, err := r.capture(n.body)
		if err != nil {
			return err
		}
		args, kw, err := r.evalArgs(&n.f.call)
		if err != nil {
			return err
		}
		v, err := r.applyFilter(n.f.name, s, args, kw)
		if err != nil {
			return err
		}
		if s, err = r.str(v); err != nil {
			return err
		}
		return r.write(s)
	case *breakNode:
		return errBreak
	case *continueNode:
		return errContinue
	}
	return fmt.Errorf("internal: unknown node %T", n)
}

// capture renders nodes into a string (block set, macro bodies, caller),
// charged to the memory budget.
func (r *renderer) capture(nodes []node) (string, error) {
	saved := r.out
	var b strings.Builder
	r.out = &b
	r.capturing++
	err := r.exec(nodes)
	r.capturing--
	r.out = saved
	return b.String(), err
}

func (r *renderer) execFor(n *forNode) error {
	seq, err := r.eval(n.iter)
	if err != nil {
		return err
	}
	items, err := r.iterate(seq)
	if err != nil {
		return err
	}
	r.scopes = append(r.scopes, map[string]any{})
	defer func() { r.scopes = r.scopes[:len(r.scopes)-1] }()
	bind := func(item any) error {
		if len(n.vars) == 1 {
			r.set(n.vars[0], item)
			return nil
		}
		parts, err := r.iterate(item)
		if err != nil {
			return err
		}
		if len(parts) != len(n.vars) {
			return fmt.Errorf("cannot unpack %d values into %d loop variables", len(parts), len(n.vars))
		}
		for i, v := range n.vars {
			r.set(v, parts[i])
		}
		return nil
	}
	if n.cond != nil { // "for x in y if cond" filters before loop.* counts
		var kept []any
		for _, item := range items {
			if err := r.step(); err != nil {
				return err
			}
			if err := bind(item); err != nil {
				return err
			}
			c, err := r.eval(n.cond)
			if err != nil {
				return err
			}
			if truth(c) {
				if err := r.useList(1); err != nil {
					return err
				}
				kept = append(kept, item)
			}
		}
		items = kept
	}
	if len(items) == 0 {
		return r.exec(n.els)
	}
	for i, item := range items {
		if err := r.step(); err != nil {
			return err
		}
		if err := bind(item); err != nil {
			return err
		}
		loop := &loopInfo{i: i, items: items}
		r.set("loop", loop)
		err := r.exec(n.body)
		if err == errBreak {
			break
		}
		if err != nil && err != errContinue {
			return err
		}
	}
	return nil
}

// iterate returns the elements of an iterable value: list items, dict keys,
// string characters; undefined iterates as empty (none is an error, as in
// Python).
func (r *renderer) iterate(v any) ([]any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case *dict:
		if err := r.useList(int64(len(x.keys))); err != nil {
			return nil, err
		}
		out := make([]any, len(x.keys))
		for i, k := range x.keys {
			out[i] = k
		}
		return out, nil
	case string:
		if err := r.scan(x); err != nil {
			return nil, err
		}
		n := runeLen(x)
		if err := r.useList(2 * int64(n)); err != nil { // an element and its string header
			return nil, err
		}
		out := make([]any, 0, n)
		for _, c := range x {
			out = append(out, string(c))
		}
		return out, nil
	case undefined:
		return nil, nil
	}
	return nil, fmt.Errorf("%s is not iterable", typeName(v))
}

func (r *renderer) eval(e expr) (any, error) {
	if err := r.step(); err != nil {
		return nil, err
	}
	switch e := e.(type) {
	case *litExpr:
		return e.v, nil
	case *nameExpr:
		return r.lookup(e.name), nil
	case *attrExpr:
		obj, err := r.eval(e.obj)
		if err != nil {
			return nil, err
		}
		return getAttr(obj, e.name)
	case *indexExpr:
		obj, err := r.eval(e.obj)
		if err != nil {
			return nil, err
		}
		idx, err := r.eval(e.idx)
		if err != nil {
			return nil, err
		}
		return r.getItem(obj, idx)
	case *sliceExpr:
		return r.evalSlice(e)
	case *callExpr:
		fn, err := r.eval(e.fn)
		if err != nil {
			return nil, err
		}
		args, kw, err := r.evalArgs(e)
		if err != nil {
			return nil, err
		}
		return r.call(fn, args, kw)
	case *filterExpr:
		v, err := r.eval(e.e)
		if err != nil {
			return nil, err
		}
		args, kw, err := r.evalArgs(&e.call)
		if err != nil {
			return nil, err
		}
		return r.applyFilter(e.name, v, args, kw)
	case *testExpr:
		v, err := r.eval(e.e)
		if err != nil {
			return nil, err
		}
		args := make([]any, len(e.args))
		for i, a := range e.args {
			if args[i], err = r.eval(a); err != nil {
				return nil, err
			}
		}
		ok, err := r.applyTest(e.name, v, args)
		if err != nil {
			return nil, err
		}
		return ok != e.neg, nil
	case *binExpr:
		return r.evalBin(e)
	case *unaryExpr:
		v, err := r.eval(e.e)
		if err != nil {
			return nil, err
		}
		if e.op == "not" {
			return !truth(v), nil
		}
		switch x := v.(type) {
		case int:
			return -x, nil
		case float64:
			return -x, nil
		case bool:
			return -btoi(x), nil
		}
		return nil, fmt.Errorf("cannot negate a %s", typeName(v))
	case *condExpr:
		c, err := r.eval(e.cond)
		if err != nil {
			return nil, err
		}
		if truth(c) {
			return r.eval(e.a)
		}
		if e.b == nil {
			return undefined{"else branch"}, nil
		}
		return r.eval(e.b)
	case *listExpr:
		if err := r.useList(int64(len(e.items))); err != nil {
			return nil, err
		}
		out := make([]any, len(e.items))
		for i, it := range e.items {
			v, err := r.eval(it)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case *dictExpr:
		d := newDict()
		for i := range e.keys {
			k, err := r.eval(e.keys[i])
			if err != nil {
				return nil, err
			}
			v, err := r.eval(e.vals[i])
			if err != nil {
				return nil, err
			}
			ks, ok := k.(string)
			if !ok {
				if ks, err = r.str(k); err != nil {
					return nil, err
				}
			}
			if err := r.use(dictCost, 0); err != nil {
				return nil, err
			}
			d.set(ks, v)
		}
		return d, nil
	}
	return nil, fmt.Errorf("internal: unknown expression %T", e)
}

func (r *renderer) evalArgs(c *callExpr) ([]any, *dict, error) {
	args := make([]any, 0, len(c.args))
	for _, a := range c.args {
		if sp, ok := a.(*splatExpr); ok {
			v, err := r.eval(sp.e)
			if err != nil {
				return nil, nil, err
			}
			items, err := r.iterate(v)
			if err != nil {
				return nil, nil, err
			}
			if err := r.useList(int64(len(items))); err != nil {
				return nil, nil, err
			}
			args = append(args, items...)
			continue
		}
		v, err := r.eval(a)
		if err != nil {
			return nil, nil, err
		}
		args = append(args, v)
	}
	kw := newDict()
	for i, name := range c.kwName {
		v, err := r.eval(c.kwVal[i])
		if err != nil {
			return nil, nil, err
		}
		kw.set(name, v)
	}
	return args, kw, nil
}

func (r *renderer) call(fn any, args []any, kw *dict) (any, error) {
	if err := r.touch(callCost); err != nil {
		return nil, err
	}
	switch f := fn.(type) {
	case *builtin:
		return f.fn(r, args, kw)
	case *macroValue:
		return r.callMacro(f.n, args, kw)
	case undefined:
		return nil, fmt.Errorf("%s is undefined (not a known function)", f.name)
	}
	return nil, fmt.Errorf("a %s is not callable", typeName(fn))
}

func (r *renderer) callMacro(m *macroNode, args []any, kw *dict) (any, error) {
	if r.depth >= r.b.lim.Depth {
		return nil, r.b.over("depth")
	}
	if len(args) > len(m.params) {
		return nil, fmt.Errorf("macro %s takes %d arguments, got %d", m.name, len(m.params), len(args))
	}
	scope := map[string]any{}
	for i, p := range m.params {
		switch v, ok := kw.get(p); {
		case i < len(args):
			scope[p] = args[i]
		case ok:
			scope[p] = v
		case m.defaults[i] != nil:
			d, err := r.eval(m.defaults[i])
			if err != nil {
				return nil, err
			}
			scope[p] = d
		default:
			scope[p] = undefined{p}
		}
	}
	if c, ok := kw.get("caller"); ok {
		scope["caller"] = c
	}
	saved := r.scopes
	r.scopes = []map[string]any{r.root, scope}
	r.depth++
	s, err := r.capture(m.body)
	r.depth--
	r.scopes = saved
	return s, err
}

// sliceCount is the number of indices of a Python slice lo:hi:step whose
// bounds are already normalised, computed without overflow.
func sliceCount(lo, hi, step int) int {
	if step > 0 {
		if hi <= lo {
			return 0
		}
		return (hi-lo-1)/step + 1
	}
	if lo <= hi {
		return 0
	}
	if step == math.MinInt {
		return 1
	}
	return (lo-hi-1)/(-step) + 1
}

func (r *renderer) evalSlice(e *sliceExpr) (any, error) {
	obj, err := r.eval(e.obj)
	if err != nil {
		return nil, err
	}
	bound := func(x expr) (int, bool, error) {
		if x == nil {
			return 0, false, nil
		}
		v, err := r.eval(x)
		if err != nil {
			return 0, false, err
		}
		if v == nil {
			return 0, false, nil
		}
		n, ok := v.(int)
		if !ok {
			return 0, false, fmt.Errorf("slice index must be an integer, not %s", typeName(v))
		}
		return n, true, nil
	}
	lo, hasLo, err := bound(e.lo)
	if err != nil {
		return nil, err
	}
	hi, hasHi, err := bound(e.hi)
	if err != nil {
		return nil, err
	}
	step, hasStep, err := bound(e.step)
	if err != nil {
		return nil, err
	}
	if !hasStep {
		step = 1
	}
	if step == 0 {
		return nil, errors.New("slice step cannot be zero")
	}
	var items []any
	var runes []rune
	isStr := false
	switch x := obj.(type) {
	case []any:
		items = x
	case string:
		if err := r.use(4*int64(len(x)), runeCost*int64(len(x))); err != nil {
			return nil, err
		}
		runes, isStr = []rune(x), true
	case undefined:
		return nil, fmt.Errorf("cannot slice %s: undefined", x.name)
	default:
		return nil, fmt.Errorf("cannot slice a %s", typeName(obj))
	}
	n := len(items)
	if isStr {
		n = len(runes)
	}
	// Python's slice index normalisation.
	norm := func(i int, has bool, def int) int {
		if !has {
			return def
		}
		if i < 0 {
			i += n
			if i < 0 {
				if step < 0 {
					return -1
				}
				return 0
			}
		}
		if i >= n {
			if step < 0 {
				return n - 1
			}
			return n
		}
		return i
	}
	var start, stop int
	if step > 0 {
		start, stop = norm(lo, hasLo, 0), norm(hi, hasHi, n)
	} else {
		start, stop = norm(lo, hasLo, n-1), norm(hi, hasHi, -1)
	}
	count := sliceCount(start, stop, step)
	if isStr {
		if err := r.use(4*int64(count), int64(count)); err != nil {
			return nil, err
		}
		out := make([]rune, count)
		for j := range out {
			out[j] = runes[start+j*step]
		}
		return string(out), nil
	}
	if err := r.useList(int64(count)); err != nil {
		return nil, err
	}
	out := make([]any, count)
	for j := range out {
		out[j] = items[start+j*step]
	}
	return out, nil
}

func (r *renderer) evalBin(e *binExpr) (any, error) {
	l, err := r.eval(e.l)
	if err != nil {
		return nil, err
	}
	switch e.op { // short circuit: Python returns the deciding operand
	case "and":
		if !truth(l) {
			return l, nil
		}
		return r.eval(e.r)
	case "or":
		if truth(l) {
			return l, nil
		}
		return r.eval(e.r)
	}
	rv, err := r.eval(e.r)
	if err != nil {
		return nil, err
	}
	switch e.op {
	case "==", "!=":
		eq, err := r.equal(l, rv, 0)
		return eq == (e.op == "=="), err
	case "<", ">", "<=", ">=":
		c, err := r.compare(l, rv, 0)
		if err != nil {
			return nil, err
		}
		switch e.op {
		case "<":
			return c < 0, nil
		case ">":
			return c > 0, nil
		case "<=":
			return c <= 0, nil
		}
		return c >= 0, nil
	case "in", "not in":
		in, err := r.contains(rv, l)
		if err != nil {
			return nil, err
		}
		return in == (e.op == "in"), nil
	case "~":
		a, err := r.str(l)
		if err != nil {
			return nil, err
		}
		b, err := r.str(rv)
		if err != nil {
			return nil, err
		}
		if err := r.useStr(int64(len(a)) + int64(len(b))); err != nil {
			return nil, err
		}
		return a + b, nil
	}
	if u, ok := l.(undefined); ok {
		return nil, fmt.Errorf("%s is undefined", u.name)
	}
	if u, ok := rv.(undefined); ok {
		return nil, fmt.Errorf("%s is undefined", u.name)
	}
	if e.op == "+" {
		switch x := l.(type) {
		case string:
			y, ok := rv.(string)
			if !ok {
				return nil, fmt.Errorf("cannot add a %s to a string", typeName(rv))
			}
			if err := r.useStr(int64(len(x)) + int64(len(y))); err != nil {
				return nil, err
			}
			return x + y, nil
		case []any:
			y, ok := rv.([]any)
			if !ok {
				return nil, fmt.Errorf("cannot add a %s to a list", typeName(rv))
			}
			if err := r.useList(int64(len(x)) + int64(len(y))); err != nil {
				return nil, err
			}
			return append(append(make([]any, 0, len(x)+len(y)), x...), y...), nil
		}
	}
	if e.op == "*" {
		s, isStr := l.(string)
		lst, isList := l.([]any)
		n, isInt := rv.(int)
		if !isStr && !isList {
			s, isStr = rv.(string)
			lst, isList = rv.([]any)
			n, isInt = l.(int)
		}
		if (isStr || isList) && isInt {
			n = max(n, 0)
			if isStr {
				if !fits(int64(n), int64(len(s)), *r.b.mem) {
					return nil, r.b.over("memory")
				}
				if err := r.useStr(int64(n) * int64(len(s))); err != nil {
					return nil, err
				}
				return strings.Repeat(s, n), nil
			}
			if !fits(int64(n), int64(len(lst)), *r.b.mem/wordSize) {
				return nil, r.b.over("memory")
			}
			if err := r.useList(int64(n) * int64(len(lst))); err != nil {
				return nil, err
			}
			out := make([]any, 0, n*len(lst))
			for range n {
				out = append(out, lst...)
			}
			return out, nil
		}
	}
	a, aInt, ok1 := number(l)
	b, bInt, ok2 := number(rv)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("unsupported operand types for %s: %s and %s", e.op, typeName(l), typeName(rv))
	}
	ints := aInt && bInt
	ai, bi := intOf(l), intOf(rv)
	switch e.op {
	case "+":
		if ints {
			return ai + bi, nil
		}
		return a + b, nil
	case "-":
		if ints {
			return ai - bi, nil
		}
		return a - b, nil
	case "*":
		if ints {
			return ai * bi, nil
		}
		return a * b, nil
	case "/":
		if b == 0 {
			return nil, errors.New("division by zero")
		}
		return a / b, nil
	case "//", "%":
		if b == 0 {
			return nil, errors.New("division by zero")
		}
		if ints {
			q := ai / bi
			if (ai%bi != 0) && ((ai < 0) != (bi < 0)) {
				q--
			}
			if e.op == "//" {
				return q, nil
			}
			return ai - q*bi, nil
		}
		q := math.Floor(a / b)
		if e.op == "//" {
			return q, nil
		}
		return a - q*b, nil
	case "**":
		if ints && bi >= 0 && bi < 64 {
			p := 1
			for range bi {
				p *= ai
			}
			return p, nil
		}
		return math.Pow(a, b), nil
	}
	return nil, fmt.Errorf("internal: unknown operator %s", e.op)
}

// intOf is an int or bool's integer value (0 for others).
func intOf(v any) int {
	switch x := v.(type) {
	case int:
		return x
	case bool:
		return btoi(x)
	}
	return 0
}

// contains is Python's "needle in haystack".
func (r *renderer) contains(hay, needle any) (bool, error) {
	switch h := hay.(type) {
	case string:
		n, ok := needle.(string)
		if !ok {
			return false, fmt.Errorf("'in <string>' needs a string, not %s", typeName(needle))
		}
		if err := r.touch(int64(len(h)) + int64(len(n))); err != nil {
			return false, err
		}
		return strings.Contains(h, n), nil
	case []any:
		for _, e := range h {
			if eq, err := r.equal(e, needle, 0); err != nil || eq {
				return eq, err
			}
		}
		return false, nil
	case *dict:
		n, ok := needle.(string)
		if !ok {
			return false, nil
		}
		_, in := h.m[n]
		return in, nil
	case *namespace:
		n, ok := needle.(string)
		if !ok {
			return false, nil
		}
		_, in := h.d.m[n]
		return in, nil
	case undefined:
		return false, nil // Jinja's Undefined iterates as empty
	}
	return false, fmt.Errorf("a %s is not a container", typeName(hay))
}

// loopInfo is the "loop" variable of a for loop.
type loopInfo struct {
	i     int
	items []any
}

func (l *loopInfo) attr(name string) any {
	n := len(l.items)
	switch name {
	case "index":
		return l.i + 1
	case "index0":
		return l.i
	case "revindex":
		return n - l.i
	case "revindex0":
		return n - l.i - 1
	case "first":
		return l.i == 0
	case "last":
		return l.i == n-1
	case "length":
		return n
	case "previtem":
		if l.i > 0 {
			return l.items[l.i-1]
		}
	case "nextitem":
		if l.i+1 < n {
			return l.items[l.i+1]
		}
	case "cycle":
		return &builtin{"loop.cycle", func(_ *renderer, args []any, _ *dict) (any, error) {
			if len(args) == 0 {
				return nil, errors.New("loop.cycle needs arguments")
			}
			return args[l.i%len(args)], nil
		}}
	}
	return undefined{"loop." + name}
}

// getAttr is Jinja's obj.name: a dict key or method, a string method,
// a namespace attribute; undefined when missing (an error on undefined).
func getAttr(obj any, name string) (any, error) {
	switch x := obj.(type) {
	case undefined:
		return nil, fmt.Errorf("%s is undefined (reading .%s)", x.name, name)
	case *dict:
		if v, ok := x.m[name]; ok {
			return v, nil
		}
		if m := dictMethod(x, name); m != nil {
			return m, nil
		}
	case *namespace:
		if v, ok := x.d.m[name]; ok {
			return v, nil
		}
	case *loopInfo:
		return x.attr(name), nil
	case string:
		if m := stringMethod(x, name); m != nil {
			return m, nil
		}
	}
	return undefined{name}, nil
}

// getItem is Jinja's obj[key].
func (r *renderer) getItem(obj, key any) (any, error) {
	switch x := obj.(type) {
	case undefined:
		return nil, fmt.Errorf("%s is undefined (reading [%s])", x.name, describeKey(key))
	case []any:
		if i, ok := key.(int); ok {
			if i < 0 {
				i += len(x)
			}
			if i >= 0 && i < len(x) {
				return x[i], nil
			}
			return undefined{fmt.Sprintf("item %d", i)}, nil
		}
	case string:
		if i, ok := key.(int); ok {
			if err := r.scan(x); err != nil {
				return nil, err
			}
			if i < 0 {
				i += runeLen(x)
			}
			if i >= 0 {
				for _, c := range x {
					if i == 0 {
						return string(c), nil
					}
					i--
				}
			}
			return undefined{fmt.Sprintf("item %d", i)}, nil
		}
	case *dict:
		if k, ok := key.(string); ok {
			if v, ok := x.m[k]; ok {
				return v, nil
			}
		}
	}
	if k, ok := key.(string); ok {
		return getAttr(obj, k)
	}
	return undefined{describeKey(key)}, nil
}

// describeKey names a subscript in messages, briefly.
func describeKey(key any) string {
	switch k := key.(type) {
	case string:
		if len(k) > 40 {
			k = k[:40] + "..."
		}
		if !utf8.ValidString(k) {
			k = strings.ToValidUTF8(k, "?")
		}
		return pyStrRepr(k)
	case int:
		return fmt.Sprint(k)
	}
	return "a " + typeName(key)
}
