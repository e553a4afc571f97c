package onnx

import (
	"container/heap"
	"fmt"
)

// SortNodes puts the node list of every graph of the model (nested graphs
// too) in topological order where it is not: ONNX Runtime accepts graphs
// whose nodes are listed out of order (the ONNX checker does not), so
// Decode calls it. A graph with a cycle is left as it is (Validate then
// reports the cycle); the error names a node on it.
func (m *Model) SortNodes() error {
	var first error
	var graph func(g *Graph)
	graph = func(g *Graph) {
		nodes, err := topoSort(g.Nodes)
		if err != nil {
			if first == nil {
				first = err
			}
		} else {
			g.Nodes = nodes
		}
		for _, n := range g.Nodes {
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
	return first
}

// topoSort returns the nodes of a graph in an order where every node comes
// after the nodes computing its inputs (those of its nested graphs
// included), as ONNX Runtime accepts graphs whose node list is out of order
// (the ONNX checker does not). Nodes already in order keep it: among the
// nodes ready to go, the earliest in the list goes first. A cycle is an
// error naming a node on it.
func topoSort(nodes []*Node) ([]*Node, error) {
	producer := make(map[string]int, len(nodes))
	for i, n := range nodes {
		for _, o := range n.Outputs {
			if o != "" {
				if _, dup := producer[o]; !dup {
					producer[o] = i
				}
			}
		}
	}
	deps := make([][]int, len(nodes))
	sorted := true
	for i, n := range nodes {
		for _, name := range nodeReads(n) {
			if j, ok := producer[name]; ok && j != i {
				deps[i] = append(deps[i], j)
				if j > i {
					sorted = false
				}
			} else if ok && j == i {
				return nil, fmt.Errorf("%w: %s node %q reads its own output %q", ErrFormat, n.OpType, n.Name, name)
			}
		}
	}
	if sorted {
		return nodes, nil
	}
	indeg := make([]int, len(nodes))
	users := make([][]int, len(nodes))
	for i, d := range deps {
		indeg[i] = len(d)
		for _, j := range d {
			users[j] = append(users[j], i)
		}
	}
	ready := &intHeap{}
	for i, d := range indeg {
		if d == 0 {
			heap.Push(ready, i)
		}
	}
	out := make([]*Node, 0, len(nodes))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		out = append(out, nodes[i])
		for _, u := range users[i] {
			if indeg[u]--; indeg[u] == 0 {
				heap.Push(ready, u)
			}
		}
	}
	if len(out) < len(nodes) {
		for i, d := range indeg {
			if d > 0 {
				n := nodes[i]
				return nil, fmt.Errorf("%w: the graph has a cycle through %s node %q", ErrFormat, n.OpType, n.Name)
			}
		}
	}
	return out, nil
}

// nodeReads lists the value names a node reads: its inputs, and the names
// its nested graphs read (a superset: names they define themselves are
// listed too, which cannot name an outer node's output in a valid model).
func nodeReads(n *Node) []string {
	names := append([]string(nil), n.Inputs...)
	var graph func(g *Graph)
	graph = func(g *Graph) {
		for _, m := range g.Nodes {
			names = append(names, m.Inputs...)
			for _, a := range m.Attributes {
				if a.G != nil {
					graph(a.G)
				}
				for _, sg := range a.Graphs {
					graph(sg)
				}
			}
		}
		for _, o := range g.Outputs {
			names = append(names, o.Name)
		}
	}
	for _, a := range n.Attributes {
		if a.G != nil {
			graph(a.G)
		}
		for _, sg := range a.Graphs {
			graph(sg)
		}
	}
	return names
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
