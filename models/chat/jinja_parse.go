package chat

import (
	"fmt"
	"strconv"
)

// Template syntax tree.
type (
	node interface{}

	textNode struct{ s string }
	outNode  struct{ e expr }
	ifNode   struct {
		conds  []expr
		bodies [][]node
		els    []node
	}
	forNode struct {
		vars      []string
		iter      expr
		cond      expr // the "for x in y if cond" filter, or nil
		body, els []node
	}
	setNode struct {
		names []string // one name, or several for tuple unpacking
		obj   string   // set obj.attr = e (namespace attribute) when not ""
		e     expr     // nil for a block set
		body  []node   // {% set x %}...{% endset %}
	}
	macroNode struct {
		name     string
		params   []string
		defaults []expr // nil entries: no default
		body     []node
	}
	callBlockNode struct { // {% call macro(args) %}body{% endcall %}
		call *callExpr
		body []node
	}
	filterBlockNode struct { // {% filter name %}body{% endfilter %}
		f    *filterExpr
		body []node
	}
	breakNode    struct{}
	continueNode struct{}
)

// Expressions.
type (
	expr interface{}

	litExpr  struct{ v any }
	nameExpr struct {
		name string
		pos  int
	}
	attrExpr struct {
		obj  expr
		name string
	}
	indexExpr struct{ obj, idx expr }
	sliceExpr struct{ obj, lo, hi, step expr }
	callExpr  struct {
		fn     expr
		args   []expr
		kwName []string
		kwVal  []expr
	}
	filterExpr struct {
		e    expr // nil inside a filter block
		name string
		call callExpr // arguments after the value
		pos  int
	}
	testExpr struct {
		e    expr
		name string
		args []expr
		neg  bool
		pos  int
	}
	binExpr struct {
		op   string
		l, r expr
	}
	unaryExpr struct {
		op string
		e  expr
	}
	condExpr  struct{ cond, a, b expr } // a if cond else b (b may be nil)
	splatExpr struct{ e expr }          // *list in a call's arguments
	listExpr  struct{ items []expr }
	dictExpr  struct{ keys, vals []expr }
)

// Parser bounds: a template's size and the nesting of its blocks and
// expressions (deeper nesting would only exhaust the stack).
const (
	maxSource = 1 << 20
	maxNest   = 100
)

// parser builds the syntax tree from lexed segments.
type parser struct {
	segs  []segment
	i     int
	depth int // nested blocks
}

// parseTemplate lexes and parses a template.
func parseTemplate(src string) ([]node, error) {
	if len(src) > maxSource {
		return nil, fmt.Errorf("template of %d bytes is larger than %d", len(src), maxSource)
	}
	segs, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{segs: segs}
	body, end, err := p.parseBody()
	if err != nil {
		return nil, err
	}
	if end != "" {
		return nil, fmt.Errorf("unexpected {%% %s %%}", end)
	}
	return body, nil
}

// parseBody parses nodes up to an end-type block tag ("endif", "else", ...)
// or the end of input, and returns that tag's keyword ("" at the end). The
// position is left at the tag so the caller can read its expression.
func (p *parser) parseBody() ([]node, string, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxNest {
		return nil, "", fmt.Errorf("blocks nested deeper than %d", maxNest)
	}
	var body []node
	for p.i < len(p.segs) {
		s := p.segs[p.i]
		switch s.kind {
		case segText:
			body = append(body, &textNode{s.text})
			p.i++
		case segComment:
			p.i++
		case segVar:
			e, err := p.fullExpr(s.toks, s.pos)
			if err != nil {
				return nil, "", err
			}
			body = append(body, &outNode{e})
			p.i++
		case segBlock:
			if len(s.toks) == 0 || s.toks[0].kind != tokName {
				return nil, "", fmt.Errorf("offset %d: empty or malformed block tag", s.pos)
			}
			kw := s.toks[0].s
			switch kw {
			case "endif", "elif", "else", "endfor", "endset", "endmacro", "endcall", "endfilter", "endgeneration":
				return body, kw, nil
			}
			n, err := p.parseStatement(kw, s)
			if err != nil {
				return nil, "", err
			}
			if n != nil {
				body = append(body, n)
			}
		}
	}
	return body, "", nil
}

// expect parses a body and requires it to end with one of the keywords.
func (p *parser) expect(open string, pos int, kws ...string) ([]node, string, error) {
	body, end, err := p.parseBody()
	if err != nil {
		return nil, "", err
	}
	for _, k := range kws {
		if end == k {
			return body, end, nil
		}
	}
	if end == "" {
		return nil, "", fmt.Errorf("offset %d: {%% %s %%} is not closed", pos, open)
	}
	return nil, "", fmt.Errorf("offset %d: unexpected {%% %s %%} inside {%% %s %%}", p.segs[p.i].pos, end, open)
}

func (p *parser) parseStatement(kw string, s segment) (node, error) {
	te := &tokExpr{toks: s.toks[1:], pos: s.pos}
	p.i++
	switch kw {
	case "if":
		n := &ifNode{}
		cond, err := te.all()
		if err != nil {
			return nil, err
		}
		for {
			body, end, err := p.expect("if", s.pos, "elif", "else", "endif")
			if err != nil {
				return nil, err
			}
			n.conds = append(n.conds, cond)
			n.bodies = append(n.bodies, body)
			tag := p.segs[p.i]
			p.i++
			switch end {
			case "elif":
				if cond, err = (&tokExpr{toks: tag.toks[1:], pos: tag.pos}).all(); err != nil {
					return nil, err
				}
				continue
			case "else":
				if n.els, _, err = p.expect("if", s.pos, "endif"); err != nil {
					return nil, err
				}
				p.i++
			}
			return n, nil
		}
	case "for":
		n := &forNode{}
		for {
			t := te.next()
			if t == nil || t.kind != tokName {
				return nil, fmt.Errorf("offset %d: bad for loop variable", s.pos)
			}
			n.vars = append(n.vars, t.s)
			if !te.accept(",") {
				break
			}
		}
		if !te.acceptName("in") {
			return nil, fmt.Errorf("offset %d: for without in", s.pos)
		}
		var err error
		if n.iter, err = te.orExpr(); err != nil { // no ternary: "if" filters
			return nil, err
		}
		if te.acceptName("if") {
			if n.cond, err = te.expr(); err != nil {
				return nil, err
			}
		}
		if te.acceptName("recursive") {
			return nil, fmt.Errorf("offset %d: recursive loops are not supported", s.pos)
		}
		if err := te.done(); err != nil {
			return nil, err
		}
		body, end, err := p.expect("for", s.pos, "else", "endfor")
		if err != nil {
			return nil, err
		}
		n.body = body
		p.i++
		if end == "else" {
			if n.els, _, err = p.expect("for", s.pos, "endfor"); err != nil {
				return nil, err
			}
			p.i++
		}
		return n, nil
	case "set":
		n := &setNode{}
		t := te.next()
		if t == nil || t.kind != tokName {
			return nil, fmt.Errorf("offset %d: bad set target", s.pos)
		}
		if te.accept(".") {
			a := te.next()
			if a == nil || a.kind != tokName {
				return nil, fmt.Errorf("offset %d: bad set target", s.pos)
			}
			n.obj, n.names = t.s, []string{a.s}
		} else {
			n.names = []string{t.s}
			for te.accept(",") {
				a := te.next()
				if a == nil || a.kind != tokName {
					return nil, fmt.Errorf("offset %d: bad set target", s.pos)
				}
				n.names = append(n.names, a.s)
			}
		}
		if te.accept("=") {
			e, err := te.all()
			if err != nil {
				return nil, err
			}
			n.e = e
			return n, nil
		}
		if err := te.done(); err != nil {
			return nil, err
		}
		body, _, err := p.expect("set", s.pos, "endset")
		if err != nil {
			return nil, err
		}
		p.i++
		n.body = body
		return n, nil
	case "macro":
		n := &macroNode{}
		t := te.next()
		if t == nil || t.kind != tokName || !te.accept("(") {
			return nil, fmt.Errorf("offset %d: bad macro definition", s.pos)
		}
		n.name = t.s
		for !te.accept(")") {
			a := te.next()
			if a == nil || a.kind != tokName {
				return nil, fmt.Errorf("offset %d: bad macro parameter", s.pos)
			}
			n.params = append(n.params, a.s)
			var def expr
			if te.accept("=") {
				var err error
				if def, err = te.expr(); err != nil {
					return nil, err
				}
			}
			n.defaults = append(n.defaults, def)
			if !te.accept(",") {
				if !te.accept(")") {
					return nil, fmt.Errorf("offset %d: bad macro parameters", s.pos)
				}
				break
			}
		}
		if err := te.done(); err != nil {
			return nil, err
		}
		body, _, err := p.expect("macro", s.pos, "endmacro")
		if err != nil {
			return nil, err
		}
		p.i++
		n.body = body
		return n, nil
	case "call":
		e, err := te.all()
		if err != nil {
			return nil, err
		}
		c, ok := e.(*callExpr)
		if !ok {
			return nil, fmt.Errorf("offset %d: {%% call %%} needs a macro call", s.pos)
		}
		body, _, err := p.expect("call", s.pos, "endcall")
		if err != nil {
			return nil, err
		}
		p.i++
		return &callBlockNode{c, body}, nil
	case "filter":
		t := te.next()
		if t == nil || t.kind != tokName {
			return nil, fmt.Errorf("offset %d: bad filter block", s.pos)
		}
		f := &filterExpr{name: t.s, pos: s.pos}
		if te.accept("(") {
			if err := te.callArgs(&f.call); err != nil {
				return nil, err
			}
		}
		if err := te.done(); err != nil {
			return nil, err
		}
		body, _, err := p.expect("filter", s.pos, "endfilter")
		if err != nil {
			return nil, err
		}
		p.i++
		return &filterBlockNode{f, body}, nil
	case "generation":
		// Hugging Face's marker of assistant text: renders its body.
		body, _, err := p.expect("generation", s.pos, "endgeneration")
		if err != nil {
			return nil, err
		}
		p.i++
		return &ifNode{conds: []expr{&litExpr{true}}, bodies: [][]node{body}}, nil
	case "break":
		return &breakNode{}, te.done()
	case "continue":
		return &continueNode{}, te.done()
	case "do":
		e, err := te.all()
		if err != nil {
			return nil, err
		}
		return &setNode{names: []string{"_"}, e: e}, nil
	}
	return nil, fmt.Errorf("offset %d: unsupported statement {%% %s %%}", s.pos, kw)
}

// fullExpr parses a whole token list as one expression.
func (p *parser) fullExpr(toks []token, pos int) (expr, error) {
	return (&tokExpr{toks: toks, pos: pos}).all()
}

// tokExpr is an expression parser over a tag's tokens.
type tokExpr struct {
	toks  []token
	i     int
	pos   int
	depth int // nested sub-expressions
}

func (t *tokExpr) peek() *token {
	if t.i < len(t.toks) {
		return &t.toks[t.i]
	}
	return nil
}

func (t *tokExpr) next() *token {
	k := t.peek()
	if k != nil {
		t.i++
	}
	return k
}

func (t *tokExpr) accept(op string) bool {
	if k := t.peek(); k != nil && k.kind == tokOp && k.s == op {
		t.i++
		return true
	}
	return false
}

func (t *tokExpr) acceptName(name string) bool {
	if k := t.peek(); k != nil && k.kind == tokName && k.s == name {
		t.i++
		return true
	}
	return false
}

func (t *tokExpr) errf(format string, args ...any) error {
	pos := t.pos
	if k := t.peek(); k != nil {
		pos = k.pos
	}
	return fmt.Errorf("offset %d: "+format, append([]any{pos}, args...)...)
}

func (t *tokExpr) done() error {
	if k := t.peek(); k != nil {
		return t.errf("unexpected %q", k.s)
	}
	return nil
}

// all parses one expression (a bare tuple "a, b" becomes a list) and
// requires the tokens to end.
func (t *tokExpr) all() (expr, error) {
	e, err := t.expr()
	if err != nil {
		return nil, err
	}
	if t.accept(",") {
		items := []expr{e}
		for t.peek() != nil {
			e, err := t.expr()
			if err != nil {
				return nil, err
			}
			items = append(items, e)
			if !t.accept(",") {
				break
			}
		}
		e = &listExpr{items}
	}
	return e, t.done()
}

// expr parses a conditional expression: or_expr [if or_expr [else expr]].
func (t *tokExpr) expr() (expr, error) {
	t.depth++
	defer func() { t.depth-- }()
	if t.depth > maxNest {
		return nil, t.errf("expression nested deeper than %d", maxNest)
	}
	a, err := t.orExpr()
	if err != nil {
		return nil, err
	}
	if t.acceptName("if") {
		cond, err := t.orExpr()
		if err != nil {
			return nil, err
		}
		var b expr
		if t.acceptName("else") {
			if b, err = t.expr(); err != nil {
				return nil, err
			}
		}
		return &condExpr{cond, a, b}, nil
	}
	return a, nil
}

func (t *tokExpr) orExpr() (expr, error) {
	l, err := t.andExpr()
	for err == nil && t.acceptName("or") {
		var r expr
		if r, err = t.andExpr(); err == nil {
			l = &binExpr{"or", l, r}
		}
	}
	return l, err
}

func (t *tokExpr) andExpr() (expr, error) {
	l, err := t.notExpr()
	for err == nil && t.acceptName("and") {
		var r expr
		if r, err = t.notExpr(); err == nil {
			l = &binExpr{"and", l, r}
		}
	}
	return l, err
}

func (t *tokExpr) notExpr() (expr, error) {
	if t.depth > maxNest {
		return nil, t.errf("expression nested deeper than %d", maxNest)
	}
	if t.acceptName("not") {
		t.depth++
		defer func() { t.depth-- }()
		e, err := t.notExpr()
		return &unaryExpr{"not", e}, err
	}
	return t.compare()
}

func (t *tokExpr) compare() (expr, error) {
	l, err := t.math1()
	if err != nil {
		return nil, err
	}
	for {
		var op string
		switch k := t.peek(); {
		case k == nil:
			return l, nil
		case k.kind == tokOp && (k.s == "==" || k.s == "!=" || k.s == "<" || k.s == ">" || k.s == "<=" || k.s == ">="):
			op = k.s
			t.i++
		case k.kind == tokName && k.s == "in":
			op = "in"
			t.i++
		case k.kind == tokName && k.s == "not" && t.i+1 < len(t.toks) && t.toks[t.i+1].kind == tokName && t.toks[t.i+1].s == "in":
			op = "not in"
			t.i += 2
		default:
			return l, nil
		}
		r, err := t.math1()
		if err != nil {
			return nil, err
		}
		l = &binExpr{op, l, r}
	}
}

func (t *tokExpr) math1() (expr, error) {
	l, err := t.concat()
	for err == nil {
		var op string
		switch {
		case t.accept("+"):
			op = "+"
		case t.accept("-"):
			op = "-"
		default:
			return l, nil
		}
		var r expr
		if r, err = t.concat(); err == nil {
			l = &binExpr{op, l, r}
		}
	}
	return nil, err
}

func (t *tokExpr) concat() (expr, error) {
	l, err := t.math2()
	for err == nil && t.accept("~") {
		var r expr
		if r, err = t.math2(); err == nil {
			l = &binExpr{"~", l, r}
		}
	}
	return l, err
}

func (t *tokExpr) math2() (expr, error) {
	l, err := t.pow()
	for err == nil {
		var op string
		for _, o := range []string{"*", "/", "//", "%"} {
			if t.accept(o) {
				op = o
				break
			}
		}
		if op == "" {
			return l, nil
		}
		var r expr
		if r, err = t.pow(); err == nil {
			l = &binExpr{op, l, r}
		}
	}
	return nil, err
}

func (t *tokExpr) pow() (expr, error) {
	l, err := t.unary()
	for err == nil && t.accept("**") {
		var r expr
		if r, err = t.unary(); err == nil {
			l = &binExpr{"**", l, r}
		}
	}
	return l, err
}

func (t *tokExpr) unary() (expr, error) { return t.unaryF(true) }

// unaryF parses a unary expression; as in Jinja2, a sign binds tighter than
// filters and tests ("-3 | abs" is 3).
func (t *tokExpr) unaryF(withFilter bool) (expr, error) {
	var e expr
	var err error
	if t.depth > maxNest {
		return nil, t.errf("expression nested deeper than %d", maxNest)
	}
	t.depth++
	defer func() { t.depth-- }()
	switch {
	case t.accept("-"):
		var x expr
		if x, err = t.unaryF(false); err != nil {
			return nil, err
		}
		e = &unaryExpr{"-", x}
	case t.accept("+"):
		if e, err = t.unaryF(false); err != nil {
			return nil, err
		}
	default:
		if e, err = t.postfix(); err != nil {
			return nil, err
		}
	}
	if !withFilter {
		return e, nil
	}
	return t.filters(e)
}

// filters parses "| filter(args)" and "is [not] test(args)" after a value.
func (t *tokExpr) filters(e expr) (expr, error) {
	for {
		switch {
		case t.accept("|"):
			k := t.next()
			if k == nil || k.kind != tokName {
				return nil, t.errf("filter name expected")
			}
			f := &filterExpr{e: e, name: k.s, pos: k.pos}
			if t.accept("(") {
				if err := t.callArgs(&f.call); err != nil {
					return nil, err
				}
			}
			e = f
		case t.acceptName("is"):
			neg := t.acceptName("not")
			k := t.next()
			if k == nil || (k.kind != tokName && !(k.kind == tokOp && (k.s == "==" || k.s == "!=" || k.s == "<" || k.s == ">" || k.s == "<=" || k.s == ">="))) {
				return nil, t.errf("test name expected")
			}
			te := &testExpr{e: e, name: k.s, neg: neg, pos: k.pos}
			if t.accept("(") {
				var c callExpr
				if err := t.callArgs(&c); err != nil {
					return nil, err
				}
				te.args = c.args
			} else if nk := t.peek(); nk != nil && (nk.kind == tokString || nk.kind == tokInt || nk.kind == tokFloat || nk.kind == tokName && nk.s != "and" && nk.s != "or" && nk.s != "if" && nk.s != "else" && nk.s != "is" && nk.s != "in" && nk.s != "not") {
				// A test with one argument and no parentheses: "x is equalto 3".
				a, err := t.postfix()
				if err != nil {
					return nil, err
				}
				te.args = []expr{a}
			}
			e = te
		default:
			return e, nil
		}
	}
}

// postfix parses a primary followed by attribute, subscript and call suffixes.
func (t *tokExpr) postfix() (expr, error) {
	e, err := t.primary()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case t.accept("."):
			k := t.next()
			if k == nil || (k.kind != tokName && k.kind != tokInt) {
				return nil, t.errf("attribute name expected")
			}
			if k.kind == tokInt {
				n, _ := strconv.Atoi(k.s)
				e = &indexExpr{e, &litExpr{n}}
			} else {
				e = &attrExpr{e, k.s}
			}
		case t.accept("["):
			var parts [3]expr
			slice := false
			for i := 0; i < 3; i++ {
				if k := t.peek(); k != nil && !(k.kind == tokOp && (k.s == ":" || k.s == "]")) {
					if parts[i], err = t.expr(); err != nil {
						return nil, err
					}
				}
				if !t.accept(":") {
					break
				}
				slice = true
			}
			if !t.accept("]") {
				return nil, t.errf("] expected")
			}
			if slice {
				e = &sliceExpr{e, parts[0], parts[1], parts[2]}
			} else {
				if parts[0] == nil {
					return nil, t.errf("empty subscript")
				}
				e = &indexExpr{e, parts[0]}
			}
		case t.accept("("):
			c := &callExpr{fn: e}
			if err := t.callArgs(c); err != nil {
				return nil, err
			}
			e = c
		default:
			return e, nil
		}
	}
}

// callArgs parses arguments after "(" up to and including ")".
func (t *tokExpr) callArgs(c *callExpr) error {
	for !t.accept(")") {
		if k := t.peek(); k != nil && k.kind == tokName && t.i+1 < len(t.toks) && t.toks[t.i+1].kind == tokOp && t.toks[t.i+1].s == "=" {
			t.i += 2
			v, err := t.expr()
			if err != nil {
				return err
			}
			c.kwName = append(c.kwName, k.s)
			c.kwVal = append(c.kwVal, v)
		} else {
			splat := t.accept("*")
			v, err := t.expr()
			if err != nil {
				return err
			}
			if splat {
				v = &splatExpr{v}
			}
			if len(c.kwName) > 0 {
				return t.errf("positional argument after keyword argument")
			}
			c.args = append(c.args, v)
		}
		if !t.accept(",") {
			if !t.accept(")") {
				return t.errf(", or ) expected")
			}
			break
		}
	}
	return nil
}

func (t *tokExpr) primary() (expr, error) {
	k := t.next()
	if k == nil {
		return nil, t.errf("unexpected end of expression")
	}
	switch k.kind {
	case tokString:
		s := k.s
		for { // adjacent literals concatenate
			n := t.peek()
			if n == nil || n.kind != tokString {
				break
			}
			s += n.s
			t.i++
		}
		return &litExpr{s}, nil
	case tokInt:
		n, err := strconv.ParseInt(k.s, 10, 64)
		if err != nil {
			return nil, t.errf("bad integer %s", k.s)
		}
		return &litExpr{int(n)}, nil
	case tokFloat:
		f, err := strconv.ParseFloat(k.s, 64)
		if err != nil {
			return nil, t.errf("bad number %s", k.s)
		}
		return &litExpr{f}, nil
	case tokName:
		switch k.s {
		case "true", "True":
			return &litExpr{true}, nil
		case "false", "False":
			return &litExpr{false}, nil
		case "none", "None":
			return &litExpr{nil}, nil
		}
		return &nameExpr{k.s, k.pos}, nil
	}
	switch k.s {
	case "(":
		if t.accept(")") {
			return &listExpr{}, nil
		}
		e, err := t.expr()
		if err != nil {
			return nil, err
		}
		if t.accept(",") { // a tuple
			items := []expr{e}
			for !t.accept(")") {
				e, err := t.expr()
				if err != nil {
					return nil, err
				}
				items = append(items, e)
				if !t.accept(",") {
					if !t.accept(")") {
						return nil, t.errf(") expected")
					}
					break
				}
			}
			return &listExpr{items}, nil
		}
		if !t.accept(")") {
			return nil, t.errf(") expected")
		}
		return e, nil
	case "[":
		l := &listExpr{}
		for !t.accept("]") {
			e, err := t.expr()
			if err != nil {
				return nil, err
			}
			l.items = append(l.items, e)
			if !t.accept(",") {
				if !t.accept("]") {
					return nil, t.errf("] expected")
				}
				break
			}
		}
		return l, nil
	case "{":
		d := &dictExpr{}
		for !t.accept("}") {
			k, err := t.expr()
			if err != nil {
				return nil, err
			}
			if !t.accept(":") {
				return nil, t.errf(": expected in dict")
			}
			v, err := t.expr()
			if err != nil {
				return nil, err
			}
			d.keys = append(d.keys, k)
			d.vals = append(d.vals, v)
			if !t.accept(",") {
				if !t.accept("}") {
					return nil, t.errf("} expected")
				}
				break
			}
		}
		return d, nil
	}
	return nil, fmt.Errorf("offset %d: unexpected %q", k.pos, k.s)
}
