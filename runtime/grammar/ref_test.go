package grammar

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// refMatch is an independent reference for the matcher: a backtracking
// recognizer over the parsed rules (not the compiled automaton), on bytes.
// With prefix set, running out of input where more is needed succeeds.
type refMatch struct {
	p      *parsed
	s      string
	prefix bool
	steps  int
}

// long runs the random sweeps at their full size (go test -long).
var long = flag.Bool("long", false, "run the random sweeps at full size")

var errRefBudget = fmt.Errorf("reference recognizer: budget exceeded")

func (r *refMatch) match(e *expr, i int, k func(int) bool) bool {
	if r.steps++; r.steps > 100_000 {
		panic(errRefBudget)
	}
	switch e.kind {
	case eLit:
		for j := 0; j < len(e.lit); j++ {
			if i+j == len(r.s) {
				return r.prefix
			}
			if r.s[i+j] != e.lit[j] {
				return false
			}
		}
		return k(i + len(e.lit))
	case eClass:
		if i == len(r.s) {
			return r.prefix
		}
		c, n := utf8.DecodeRuneInString(r.s[i:])
		if c == utf8.RuneError && n <= 1 {
			// an incomplete character at the end of the input?
			if r.prefix && !utf8.FullRuneInString(r.s[i:]) {
				for _, rg := range e.ranges {
					for cp := rg.lo; cp <= rg.hi && cp-rg.lo < 1<<17; cp++ {
						if enc := string(cp); strings.HasPrefix(enc, r.s[i:]) {
							return true
						}
					}
				}
			}
			return false
		}
		if !contains(e.ranges, c) {
			return false
		}
		return k(i + n)
	case eRef:
		return r.match(r.p.defs[e.rule], i, k)
	case eSeq:
		return r.seq(e.subs, i, k)
	case eAlt:
		for _, s := range e.subs {
			if r.match(s, i, k) {
				return true
			}
		}
		return false
	case eRepeat:
		var rep func(n, i int) bool
		rep = func(n, i int) bool {
			if n >= e.min && k(i) {
				return true
			}
			if e.max >= 0 && n >= e.max {
				return false
			}
			return r.match(e.subs[0], i, func(j int) bool {
				if j == i && n >= e.min {
					return false // no progress
				}
				return rep(n+1, j)
			})
		}
		return rep(0, i)
	}
	return false
}

func (r *refMatch) seq(subs []*expr, i int, k func(int) bool) bool {
	if len(subs) == 0 {
		return k(i)
	}
	return r.match(subs[0], i, func(j int) bool { return r.seq(subs[1:], j, k) })
}

// refResult returns whether s is complete and whether it is a prefix, per
// the reference recognizer; ok is false if it ran out of budget.
func refResult(p *parsed, s string) (complete, prefix, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if r != errRefBudget {
				panic(r)
			}
			ok = false
		}
	}()
	root := p.defs[p.index["root"]]
	r := &refMatch{p: p, s: s}
	complete = r.match(root, 0, func(j int) bool { return j == len(s) })
	r = &refMatch{p: p, s: s, prefix: true}
	prefix = r.match(root, 0, func(j int) bool { return j == len(s) })
	return complete, prefix, true
}

// TestMatcherAgainstReference compares the matcher with the reference
// recognizer on random grammars and random strings.
func TestMatcherAgainstReference(t *testing.T) {
	n := 60
	if *long {
		n = 3000
	}
	rng := rand.New(rand.NewPCG(1, 2))
	checked, limited := 0, 0
	for c := 0; c < n; c++ {
		src := genGrammar(rng)
		g, err := ParseGBNF(src)
		if err != nil {
			continue // e.g. root can never end
		}
		productive := true
		for _, st := range g.prog.start {
			productive = productive && g.prog.dist[st] < inf
		}
		if !productive {
			// the matcher drops the prefixes that can never complete; the
			// reference does not know which those are
			continue
		}
		p, _ := parse(src)
		for range 40 {
			s := genString(rng, g)
			complete, prefix, ok := refResult(p, s)
			if !ok {
				continue
			}
			m, err := NewMatcher(g, nil, Options{})
			if errors.Is(err, ErrLimit) {
				limited++
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			gotC, gotP := false, false
			switch err := m.AcceptString(s); {
			case err == nil:
				gotC, gotP = m.Complete(), true
			case errors.Is(err, ErrLimit):
				limited++
				continue // too ambiguous for MaxStacks: a clear error is the right answer
			case !errors.Is(err, ErrRejected):
				t.Fatalf("grammar:\n%s\nstring %q: %v", src, s, err)
			}
			if gotC != complete || gotP != prefix {
				t.Fatalf("grammar:\n%s\nstring %q: matcher complete %v prefix %v, reference %v %v", src, s, gotC, gotP, complete, prefix)
			}
			checked++
		}
	}
	if checked < n*10 {
		t.Fatalf("only %d strings checked (%d hit the matcher's limits)", checked, limited)
	}
	t.Logf("%d strings checked, %d hit the matcher's limits", checked, limited)
}

// genGrammar writes a random grammar: rule i refers to rules after it at the
// start of a sequence, and to any rule after a literal (so no left
// recursion, but right and middle recursion).
func genGrammar(rng *rand.Rand) string {
	nr := 1 + rng.IntN(4)
	name := func(i int) string {
		if i == 0 {
			return "root"
		}
		return fmt.Sprintf("r%d", i)
	}
	atoms := []string{`"a"`, `"b"`, `"ab"`, `"é"`, `"😀"`, `[a-c]`, `[^a]`, `[é-ë]`, `.`, `""`, `[\x00-\x7F]`, `[😀-😂]`, `[\u00e9\U0001F600]`}
	var alternatives func(rule, depth int) string
	sequence := func(rule, depth int) string {
		var items []string
		lit := false
		for range 1 + rng.IntN(3) {
			var s string
			switch x := rng.IntN(10); {
			case x < 5 || depth > 1:
				s = atoms[rng.IntN(len(atoms))]
				if s != `""` && s != `.` && !strings.HasPrefix(s, "[^") {
					lit = true
				}
			case x < 7:
				lo := rule + 1
				if lit {
					lo = 0
				}
				if lo < nr {
					s = name(lo + rng.IntN(nr-lo))
				} else {
					s = atoms[rng.IntN(len(atoms))]
				}
			default:
				s = "(" + alternatives(rule, depth+1) + ")"
			}
			switch rng.IntN(14) {
			case 0:
				s += "*"
			case 1:
				s += "+"
			case 2:
				s += "?"
			case 3:
				a := rng.IntN(3)
				s += fmt.Sprintf("{%d,%d}", a, a+rng.IntN(3))
			case 4:
				s += fmt.Sprintf("{%d}", rng.IntN(3))
			case 5:
				// counted by the matcher (above countFrom)
				a := rng.IntN(countFrom + 3)
				if rng.IntN(2) == 0 {
					s += fmt.Sprintf("{%d,}", countFrom+1+rng.IntN(3))
				} else {
					s += fmt.Sprintf("{%d,%d}", a, max(a, countFrom+1)+rng.IntN(3))
				}
			}
			items = append(items, s)
		}
		return strings.Join(items, " ")
	}
	alternatives = func(rule, depth int) string {
		var as []string
		for range 1 + rng.IntN(3) {
			as = append(as, sequence(rule, depth))
		}
		return strings.Join(as, " | ")
	}
	var b strings.Builder
	for i := range nr {
		fmt.Fprintf(&b, "%s ::= %s\n", name(i), alternatives(i, 0))
	}
	return b.String()
}

// genString returns a string of g (a random walk through the matcher),
// often cut or mutated.
func genString(rng *rand.Rand, g *Grammar) string {
	pieces := []string{"a", "b", "c", "é", "ê", "😀", "😁", "x", "\x00", "\xc3", "\xa9", "\xf0\x9f", "\x98\x80"}
	var b []byte
	m, err := NewMatcher(g, nil, Options{})
	if err != nil {
		return ""
	}
	for range rng.IntN(8) {
		// prefer pieces the grammar accepts
		for range 6 {
			p := pieces[rng.IntN(len(pieces))]
			if m.AcceptString(p) == nil {
				b = append(b, p...)
				break
			}
		}
	}
	switch rng.IntN(4) {
	case 0:
		if len(b) > 0 {
			b = b[:rng.IntN(len(b))]
		}
	case 1:
		b = append(b, pieces[rng.IntN(len(pieces))]...)
	case 2:
		if len(b) > 0 {
			b[rng.IntN(len(b))] = "abc\xc3\xa9\x80"[rng.IntN(6)]
		}
	}
	return string(b)
}
