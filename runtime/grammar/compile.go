package grammar

import (
	"container/heap"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// ErrGrammar is wrapped by every error about a grammar: syntax (a
// *SyntaxError), undefined or left-recursive rules, limits.
var ErrGrammar = errors.New("grammar: bad grammar")

// MaxStates bounds the size of a compiled grammar: the byte-level automaton
// states after repetitions are expanded.
const MaxStates = 1 << 20

// nodeKind is the kind of a state of the compiled automaton.
type nodeKind uint8

const (
	nByte     nodeKind = iota // reads one byte: edges [a, b) of program.edges
	nSplit                    // goes on to every one of eps [a, b) without reading
	nCall                     // runs rule a, then goes on at node b
	nEnd                      // the end of a rule: returns to the caller
	nToken                    // reads one whole token: program.toks[a]; then node b
	nCount                    // counted loop of repetition a: its body again, or the end of its rule
	nCountInc                 // end of one iteration of repetition a: back to its nCount, count+1
)

// node is one state of a rule's automaton.
type node struct {
	kind nodeKind
	a, b int32
}

// edge is a byte transition: bytes lo..hi go to next. The edges of a node
// are disjoint and sorted, so at most one matches a byte.
type edge struct {
	lo, hi byte
	next   int32
}

// tokRef is a token element: a token by id, or by its text (resolved
// against the vocabulary when a Matcher starts); neg matches every other
// token.
type tokRef struct {
	id   int
	text string
	neg  bool
}

// counted is a repetition x{min,max} with a large count, run as a hidden
// rule whose frame counts the iterations instead of one automaton state per
// iteration (so the positions far from both bounds look alike to the mask
// cache, and the automaton stays small).
type counted struct {
	min, max int32 // max < 0: no limit
	loop     int32 // the nCount node (the hidden rule's start)
	body     int32 // the start of x, which ends at an nCountInc
	minBody  int32 // fewest bytes of one iteration
}

// countFrom is the smallest count that is run by a counter rather than
// expanded (repetitions up to it become copies of the item).
const countFrom = shortLen

// program is a grammar compiled to one automaton per rule over bytes: the
// grammar's character classes become the UTF-8 byte sequences of their code
// points, so tokens that end inside a character need no special case.
type program struct {
	nodes []node
	edges []edge
	eps   []int32
	toks  []tokRef
	start []int32  // rule -> start node
	names []string // rule -> name
	root  int32    // the root rule
	dist  []int32  // node -> fewest bytes (tokens for token nodes) to its rule's end; inf if it cannot end
	reps  []counted
	repOf []int32 // node -> its counted repetition (nodes of the body, nCount, nCountInc), or -1
}

// inf is the distance of states that can never complete.
const inf = math.MaxInt32 / 4

// Grammar is a compiled grammar. It is immutable and safe for concurrent
// use; each generation runs its own Matcher over it.
type Grammar struct {
	src  string
	prog *program
}

// String returns the grammar's GBNF source.
func (g *Grammar) String() string { return g.src }

// ParseGBNF compiles a grammar written in llama.cpp's GBNF syntax; the rule
// named root is the start. Errors wrap ErrGrammar: syntax errors are a
// *SyntaxError with the line and column; undefined rules, left recursion
// (a rule that can reach itself before reading a byte), rules that can never
// end, repetition counts above MaxRepetition and grammars larger than
// MaxStates are reported by name.
func ParseGBNF(src string) (*Grammar, error) {
	p, err := parse(src)
	if err != nil {
		return nil, err
	}
	root, ok := p.index["root"]
	if !ok {
		return nil, fmt.Errorf("%w: no rule named root (the start of the grammar)", ErrGrammar)
	}
	prog, err := compile(p, root)
	if err != nil {
		return nil, err
	}
	return &Grammar{src: src, prog: prog}, nil
}

// compiler turns parsed rules into a program.
type compiler struct {
	p        *program
	nullable func(rule int) bool
	classes  map[string]int32 // (ranges, next) -> compiled class
	tails    map[string]int32 // per class: (continuation bytes, tail ranges) -> node
}

func compile(ps *parsed, root int) (*program, error) {
	var total int64
	for i, d := range ps.defs {
		total += estimate(d)
		if total > MaxStates {
			return nil, fmt.Errorf("%w: rule %q: more than %d states after expanding repetitions", ErrGrammar, ps.names[i], MaxStates)
		}
	}
	c := &compiler{p: &program{names: slices.Clone(ps.names), root: int32(root)}, classes: map[string]int32{}}
	c.nullable = ruleNullability(ps)
	c.p.start = make([]int32, len(ps.defs))
	for i, d := range ps.defs {
		end := c.add(node{kind: nEnd})
		c.p.start[i] = c.expr(d, end)
	}
	for len(c.p.repOf) < len(c.p.nodes) {
		c.p.repOf = append(c.p.repOf, -1)
	}
	if len(c.p.nodes) > MaxStates {
		return nil, fmt.Errorf("%w: more than %d states", ErrGrammar, MaxStates)
	}
	c.p.computeDist()
	if err := c.p.checkLeftRecursion(); err != nil {
		return nil, err
	}
	if c.p.dist[c.p.start[root]] >= inf {
		return nil, fmt.Errorf("%w: rule root can never end (every alternative recurses forever)", ErrGrammar)
	}
	return c.p, nil
}

// ruleNullability returns which rules can match the empty string (a fixed
// point over the parsed rules).
func ruleNullability(ps *parsed) func(int) bool {
	null := make([]bool, len(ps.defs))
	for changed := true; changed; {
		changed = false
		for i, d := range ps.defs {
			if !null[i] && nullable(d, func(r int) bool { return null[r] }) {
				null[i] = true
				changed = true
			}
		}
	}
	return func(r int) bool { return null[r] }
}

// estimate bounds the number of states e compiles to, saturating above
// MaxStates.
func estimate(e *expr) int64 {
	const limit = MaxStates + 1
	switch e.kind {
	case eLit:
		return int64(len(e.lit))
	case eClass:
		return 8*int64(len(e.ranges)) + 8
	case eRef, eToken:
		return 1
	case eSeq, eAlt:
		var n int64 = 1
		for _, s := range e.subs {
			n += estimate(s)
			if n > limit {
				return limit
			}
		}
		return n
	case eRepeat:
		copies := int64(e.min)
		if e.max < 0 {
			copies++
		} else {
			copies = int64(e.max)
		}
		if countable(e) {
			return estimate(e.subs[0]) + 4
		}
		s := estimate(e.subs[0]) + 1
		if copies > 0 && s > limit/copies {
			return limit
		}
		return s*copies + 1
	}
	return 1
}

func (c *compiler) add(n node) int32 {
	c.p.nodes = append(c.p.nodes, n)
	return int32(len(c.p.nodes) - 1)
}

func (c *compiler) split(targets ...int32) int32 {
	a := int32(len(c.p.eps))
	c.p.eps = append(c.p.eps, targets...)
	return c.add(node{kind: nSplit, a: a, b: int32(len(c.p.eps))})
}

func (c *compiler) byteNode(edges []edge) int32 {
	a := int32(len(c.p.edges))
	c.p.edges = append(c.p.edges, edges...)
	return c.add(node{kind: nByte, a: a, b: int32(len(c.p.edges))})
}

// expr compiles e so that it continues at next and returns its start.
func (c *compiler) expr(e *expr, next int32) int32 {
	switch e.kind {
	case eLit:
		for i := len(e.lit) - 1; i >= 0; i-- {
			next = c.byteNode([]edge{{e.lit[i], e.lit[i], next}})
		}
		return next
	case eClass:
		return c.class(e.ranges, next)
	case eRef:
		return c.add(node{kind: nCall, a: int32(e.rule), b: next})
	case eToken:
		c.p.toks = append(c.p.toks, tokRef{id: e.tokID, text: e.tokText, neg: e.neg})
		return c.add(node{kind: nToken, a: int32(len(c.p.toks) - 1), b: next})
	case eSeq:
		for i := len(e.subs) - 1; i >= 0; i-- {
			next = c.expr(e.subs[i], next)
		}
		return next
	case eAlt:
		targets := make([]int32, len(e.subs))
		for i, s := range e.subs {
			targets[i] = c.expr(s, next)
		}
		return c.split(targets...)
	case eRepeat:
		sub := e.subs[0]
		if countable(e) && !nullable(sub, c.nullable) {
			return c.counted(e, next)
		}
		cur := next
		if e.max < 0 {
			// loop: body back to the loop, or on to next
			loop := c.add(node{kind: nSplit})
			body := c.expr(sub, loop)
			a := int32(len(c.p.eps))
			c.p.eps = append(c.p.eps, body, next)
			c.p.nodes[loop] = node{kind: nSplit, a: a, b: a + 2}
			cur = loop
		} else {
			for range e.max - e.min {
				cur = c.split(c.expr(sub, cur), next)
			}
		}
		for range e.min {
			cur = c.expr(sub, cur)
		}
		return cur
	}
	panic("grammar: unknown expression kind")
}

// countable reports whether repetition e is large enough to be run by a
// counter.
func countable(e *expr) bool {
	return e.max > countFrom || e.max < 0 && e.min > countFrom
}

// nullable reports whether e can match the empty string; ruleNullable
// answers for rule references (conservatively true while unknown).
func nullable(e *expr, ruleNullable func(int) bool) bool {
	switch e.kind {
	case eLit:
		return e.lit == ""
	case eClass, eToken:
		return false
	case eRef:
		return ruleNullable(e.rule)
	case eSeq:
		for _, s := range e.subs {
			if !nullable(s, ruleNullable) {
				return false
			}
		}
		return true
	case eAlt:
		for _, s := range e.subs {
			if nullable(s, ruleNullable) {
				return true
			}
		}
		return false
	case eRepeat:
		return e.min == 0 || nullable(e.subs[0], ruleNullable)
	}
	return true
}

// counted compiles repetition e as a call of a hidden rule that counts its
// iterations.
func (c *compiler) counted(e *expr, next int32) int32 {
	ri := int32(len(c.p.reps))
	c.p.reps = append(c.p.reps, counted{}) // reserved: the body may add repetitions
	loop := c.add(node{kind: nCount, a: ri})
	first := int32(len(c.p.nodes))
	inc := c.add(node{kind: nCountInc, a: ri, b: loop})
	body := c.expr(e.subs[0], inc)
	c.p.reps[ri] = counted{min: int32(e.min), max: int32(e.max), loop: loop, body: body}
	for len(c.p.repOf) < len(c.p.nodes) {
		c.p.repOf = append(c.p.repOf, -1)
	}
	c.p.repOf[loop] = ri
	for n := first; n < int32(len(c.p.nodes)); n++ {
		if c.p.repOf[n] < 0 {
			c.p.repOf[n] = ri
		}
	}
	rule := int32(len(c.p.start))
	c.p.start = append(c.p.start, loop)
	c.p.names = append(c.p.names, fmt.Sprintf("%s{%d,%d}", "repetition", e.min, e.max))
	return c.add(node{kind: nCall, a: rule, b: next})
}

// class compiles a set of code points to the byte automaton of their UTF-8
// encodings: deterministic (one lead byte leads to one state; states of equal
// remaining byte sets are shared).
func (c *compiler) class(rs []cpRange, next int32) int32 {
	key := fmt.Sprint(next, rs)
	if n, ok := c.classes[key]; ok {
		return n
	}
	c.tails = map[string]int32{}
	var edges []edge
	for b := range 256 {
		r, cont, ok := leadRange(b)
		if !ok {
			continue
		}
		sub := intersect(rs, []cpRange{r})
		if len(sub) == 0 {
			continue
		}
		target := next
		if cont > 0 {
			base := r.lo &^ (1<<(6*cont) - 1)
			target = c.tail(cont, shift(sub, -base), next)
		}
		edges = addEdge(edges, byte(b), target)
	}
	n := c.byteNode(edges)
	c.classes[key] = n
	return n
}

// tail builds the state that reads k continuation bytes whose 6-bit payloads
// form a value in tails, then continues at next.
func (c *compiler) tail(k int, tails []cpRange, next int32) int32 {
	key := fmt.Sprint(k, tails)
	if n, ok := c.tails[key]; ok {
		return n
	}
	unit := rune(1) << (6 * (k - 1))
	var edges []edge
	for v := range rune(64) {
		sub := intersect(tails, []cpRange{{v * unit, (v+1)*unit - 1}})
		if len(sub) == 0 {
			continue
		}
		target := next
		if k > 1 {
			target = c.tail(k-1, shift(sub, -v*unit), next)
		}
		edges = addEdge(edges, byte(0x80+v), target)
	}
	n := c.byteNode(edges)
	c.tails[key] = n
	return n
}

func shift(rs []cpRange, d rune) []cpRange {
	out := make([]cpRange, len(rs))
	for i, r := range rs {
		out[i] = cpRange{r.lo + d, r.hi + d}
	}
	return out
}

// addEdge appends byte b -> target, merging it into the last edge when that
// one ends at b-1 with the same target.
func addEdge(edges []edge, b byte, target int32) []edge {
	if n := len(edges); n > 0 && edges[n-1].next == target && edges[n-1].hi == b-1 {
		edges[n-1].hi = b
		return edges
	}
	return append(edges, edge{b, b, target})
}

// computeDist sets p.dist: the fewest bytes from each node to the end of its
// rule, where a call costs the fewest bytes of the called rule (Knuth's
// generalization of Dijkstra's algorithm to grammars: a call's distance is
// known once both the callee's start and the return node are final).
func (p *program) computeDist() {
	n := len(p.nodes)
	dist := make([]int32, n)
	for i := range dist {
		dist[i] = inf
	}
	type arc struct{ from, w int32 }
	rev := make([][]arc, n)
	byNext := make([][]int32, n)            // return node -> calls
	byRule := make([][]int32, len(p.start)) // rule -> calls
	ruleAt := make(map[int32][]int32)       // start node -> rules
	for r, s := range p.start {
		ruleAt[s] = append(ruleAt[s], int32(r))
	}
	bodyOf := make(map[int32][]int32) // body start -> counted repetitions
	for i, r := range p.reps {
		bodyOf[r.body] = append(bodyOf[r.body], int32(i))
	}
	h := &distHeap{}
	for i, nd := range p.nodes {
		u := int32(i)
		switch nd.kind {
		case nByte:
			for _, e := range p.edges[nd.a:nd.b] {
				rev[e.next] = append(rev[e.next], arc{u, 1})
			}
		case nSplit:
			for _, t := range p.eps[nd.a:nd.b] {
				rev[t] = append(rev[t], arc{u, 0})
			}
		case nToken:
			rev[nd.b] = append(rev[nd.b], arc{u, 1})
		case nCall:
			byNext[nd.b] = append(byNext[nd.b], u)
			byRule[nd.a] = append(byRule[nd.a], u)
		case nEnd, nCountInc:
			dist[u] = 0
			heap.Push(h, distItem{0, u})
		case nCount:
			if p.reps[nd.a].min == 0 {
				dist[u] = 0
				heap.Push(h, distItem{0, u})
			}
		}
	}
	final := make([]bool, n)
	relax := func(u, d int32) {
		if d < dist[u] {
			dist[u] = d
			heap.Push(h, distItem{d, u})
		}
	}
	for h.Len() > 0 {
		it := heap.Pop(h).(distItem)
		v := it.node
		if final[v] || it.d != dist[v] {
			continue
		}
		final[v] = true
		for _, a := range rev[v] {
			relax(a.from, dist[v]+a.w)
		}
		for _, u := range byNext[v] {
			if s := p.start[p.nodes[u].a]; final[s] {
				relax(u, min(dist[v]+dist[s], inf))
			}
		}
		for _, r := range ruleAt[v] {
			for _, u := range byRule[r] {
				if nx := p.nodes[u].b; final[nx] {
					relax(u, min(dist[v]+dist[nx], inf))
				}
			}
		}
		for _, ri := range bodyOf[v] {
			if m := int64(p.reps[ri].min); m > 0 {
				relax(p.reps[ri].loop, int32(min(m*int64(dist[v]), inf)))
			}
		}
	}
	p.dist = dist
	for i := range p.reps {
		p.reps[i].minBody = dist[p.reps[i].body]
	}
}

type distItem struct{ d, node int32 }
type distHeap []distItem

func (h distHeap) Len() int           { return len(h) }
func (h distHeap) Less(i, j int) bool { return h[i].d < h[j].d }
func (h distHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *distHeap) Push(x any)        { *h = append(*h, x.(distItem)) }
func (h *distHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// checkLeftRecursion fails if a rule can call itself, directly or through
// other rules, before reading anything: the matcher would recurse forever.
func (p *program) checkLeftRecursion() error {
	nr := len(p.start)
	// first[r]: the rules r can call before reading a byte
	first := make([][]int32, nr)
	seen := make([]int32, len(p.nodes))
	for i := range seen {
		seen[i] = -1
	}
	var stack []int32
	for r := range nr {
		stack = append(stack[:0], p.start[r])
		seen[p.start[r]] = int32(r)
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			nd := p.nodes[u]
			push := func(v int32) {
				if seen[v] != int32(r) {
					seen[v] = int32(r)
					stack = append(stack, v)
				}
			}
			switch nd.kind {
			case nSplit:
				for _, t := range p.eps[nd.a:nd.b] {
					push(t)
				}
			case nCall:
				first[r] = append(first[r], nd.a)
				if p.dist[p.start[nd.a]] == 0 { // the callee can be empty
					push(nd.b)
				}
			case nCount:
				push(p.reps[nd.a].body)
			case nCountInc:
				push(nd.b)
			}
		}
	}
	// find a cycle in first
	const (
		white = iota
		grey
		black
	)
	color := make([]uint8, nr)
	var path []int32
	var cycle []int32
	var visit func(r int32) bool
	visit = func(r int32) bool {
		color[r] = grey
		path = append(path, r)
		for _, s := range first[r] {
			switch color[s] {
			case grey:
				for i, x := range path {
					if x == s {
						cycle = append(append([]int32(nil), path[i:]...), s)
					}
				}
				return true
			case white:
				if visit(s) {
					return true
				}
			}
		}
		path = path[:len(path)-1]
		color[r] = black
		return false
	}
	for r := range nr {
		if color[r] == white && visit(int32(r)) {
			names := make([]string, len(cycle))
			for i, x := range cycle {
				names[i] = p.names[x]
			}
			return fmt.Errorf("%w: left recursion: %s (a rule reaches itself before reading anything)", ErrGrammar, strings.Join(names, " -> "))
		}
	}
	return nil
}
