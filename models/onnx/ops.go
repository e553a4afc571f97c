package onnx

import (
	"cmp"
	"fmt"
	"slices"
)

// normDomain maps "ai.onnx" to "", the two spellings of the default domain.
func normDomain(d string) string {
	if d == "ai.onnx" {
		return ""
	}
	return d
}

// OpsetVersion returns the operator-set version the model imports for
// domain ("" and "ai.onnx" both name the default ONNX domain).
func (m *Model) OpsetVersion(domain string) (int64, bool) {
	domain = normDomain(domain)
	for _, o := range m.OpsetImports {
		if normDomain(o.Domain) == domain {
			return o.Version, true
		}
	}
	return 0, false
}

// OpCount is how many nodes of a model apply one operator.
type OpCount struct {
	Domain string // "" for the default ONNX domain
	OpType string
	Count  int
}

// Ops returns the model's operator histogram: every node of the main graph,
// of nested graphs (If, Loop and Scan bodies) and of model-local function
// bodies, most used first, then by domain and name.
func (m *Model) Ops() []OpCount {
	counts := map[[2]string]int{}
	m.forEachNode(func(n *Node) { counts[[2]string{n.Domain, n.OpType}]++ })
	out := make([]OpCount, 0, len(counts))
	for k, c := range counts {
		out = append(out, OpCount{Domain: k[0], OpType: k[1], Count: c})
	}
	slices.SortFunc(out, func(a, b OpCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Domain, b.Domain); c != 0 {
			return c
		}
		return cmp.Compare(a.OpType, b.OpType)
	})
	return out
}

// NumNodes returns the number of nodes counted by Ops.
func (m *Model) NumNodes() int {
	n := 0
	m.forEachNode(func(*Node) { n++ })
	return n
}

func (m *Model) forEachNode(fn func(*Node)) {
	var graph func(g *Graph)
	graph = func(g *Graph) {
		for _, n := range g.Nodes {
			fn(n)
			for _, a := range n.Attributes {
				if a.G != nil {
					graph(a.G)
				}
				for _, sg := range a.Graphs {
					graph(sg)
				}
			}
		}
	}
	if m.Graph != nil {
		graph(m.Graph)
	}
	for _, f := range m.Functions {
		for _, n := range f.Nodes {
			fn(n)
		}
	}
}

// Validate checks the model's structure, as a backend relies on it:
//   - every node's domain is imported (or is a model-local function's domain);
//   - every graph (nested ones too) is in topological order (Decode sorts
//     graphs listed out of order; a cycle is an error): a node input is
//     a graph input, an initializer, an earlier node's output or, in a nested
//     graph, a value of an enclosing graph;
//   - every value is defined once, and every graph output is defined.
//
// A model without opset imports (IR version < 3) uses the default domain.
func (m *Model) Validate() error {
	if m.Graph == nil {
		return fmt.Errorf("%w: no graph", ErrFormat)
	}
	domains := map[string]bool{}
	for _, o := range m.OpsetImports {
		d := normDomain(o.Domain)
		if domains[d] {
			return fmt.Errorf("%w: opset domain %q imported twice", ErrFormat, o.Domain)
		}
		domains[d] = true
	}
	if len(m.OpsetImports) == 0 {
		domains[""] = true
	}
	local := map[[2]string]bool{}
	for _, f := range m.Functions {
		local[[2]string{normDomain(f.Domain), f.Name}] = true
	}
	v := validator{domains: domains, local: local}
	if err := v.graph(m.Graph, nil); err != nil {
		return err
	}
	for _, f := range m.Functions {
		fd := map[string]bool{}
		for _, o := range f.OpsetImports {
			fd[normDomain(o.Domain)] = true
		}
		for _, n := range f.Nodes {
			if !fd[n.Domain] && !domains[n.Domain] && !local[[2]string{n.Domain, n.OpType}] {
				return fmt.Errorf("%w: function %q: node %s uses domain %q, which is not imported", ErrFormat, f.Name, n.OpType, n.Domain)
			}
		}
	}
	return nil
}

type validator struct {
	domains map[string]bool
	local   map[[2]string]bool
}

// scope is the set of names visible in a graph, chained to enclosing graphs.
type scope struct {
	names map[string]bool
	outer *scope
}

func (s *scope) has(name string) bool {
	for ; s != nil; s = s.outer {
		if s.names[name] {
			return true
		}
	}
	return false
}

func (v *validator) graph(g *Graph, outer *scope) error {
	where := func(err error) error {
		if g.Name != "" {
			return fmt.Errorf("graph %q: %w", g.Name, err)
		}
		return err
	}
	s := &scope{names: map[string]bool{}, outer: outer}
	define := func(name, what string) error {
		if name == "" {
			return nil
		}
		if s.names[name] {
			return fmt.Errorf("%w: %s %q defined twice", ErrFormat, what, name)
		}
		s.names[name] = true
		return nil
	}
	for _, in := range g.Inputs {
		if in.Name == "" {
			return where(fmt.Errorf("%w: graph input without a name", ErrFormat))
		}
		if err := define(in.Name, "input"); err != nil {
			return where(err)
		}
	}
	for _, t := range g.Initializers {
		if t.Name == "" {
			return where(fmt.Errorf("%w: initializer without a name", ErrFormat))
		}
		// An initializer may share its name with a graph input (IR < 4
		// style: the input is given a default value).
		s.names[t.Name] = true
	}
	for i, n := range g.Nodes {
		if !v.domains[n.Domain] && !v.local[[2]string{n.Domain, n.OpType}] {
			return where(fmt.Errorf("%w: node %d (%s): domain %q is not imported", ErrFormat, i, n.OpType, n.Domain))
		}
		for _, in := range n.Inputs {
			if in != "" && !s.has(in) {
				if _, err := topoSort(g.Nodes); err != nil {
					return where(err) // a cycle, which SortNodes could not order
				}
				return where(fmt.Errorf("%w: node %d (%s %q): input %q is not defined before it", ErrFormat, i, n.OpType, n.Name, in))
			}
		}
		for _, a := range n.Attributes {
			if a.G != nil {
				if err := v.graph(a.G, s); err != nil {
					return where(fmt.Errorf("node %d (%s) attribute %q: %w", i, n.OpType, a.Name, err))
				}
			}
			for _, sg := range a.Graphs {
				if err := v.graph(sg, s); err != nil {
					return where(fmt.Errorf("node %d (%s) attribute %q: %w", i, n.OpType, a.Name, err))
				}
			}
		}
		for _, out := range n.Outputs {
			if err := define(out, "value"); err != nil {
				return where(fmt.Errorf("node %d (%s): %w", i, n.OpType, err))
			}
		}
	}
	for _, out := range g.Outputs {
		if !s.has(out.Name) {
			return where(fmt.Errorf("%w: output %q is never computed", ErrFormat, out.Name))
		}
	}
	return nil
}
