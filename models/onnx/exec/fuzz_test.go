package exec

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeai-go/edgeai/models/onnx"
)

// fuzzLimit bounds every tensor of a fuzzed model: memory stays bounded
// whatever the model asks for.
const fuzzLimit = 1 << 22

// internalError reports an error that stands for a recovered panic (a bug:
// bad input must be an ordinary error).
func internalError(err error) bool {
	return err != nil && strings.Contains(err.Error(), "internal error")
}

// zeroInputs makes inputs of the declared types, dynamic dimensions 1.
func zeroInputs(e *Executor) []*Tensor {
	in := make([]*Tensor, len(e.Inputs()))
	for i, io := range e.Inputs() {
		shape := []int{}
		if io.HasShape {
			shape = make([]int, len(io.Shape))
			for j, d := range io.Shape {
				shape[j] = min(max(d, 1), 64)
			}
		}
		in[i] = &Tensor{Type: io.Type, Shape: shape, Data: zeroSlice(io.Type, numel(shape))}
	}
	return in
}

// exercise prepares and runs a model as a fuzzer would, failing on panics;
// it says how far the model got: "load error", "run error" or "ran".
func exercise(t testing.TB, m *onnx.Model, inputs func(*Executor) []*Tensor) string {
	e, err := New(m, Options{Threads: 1, MaxTensorBytes: fuzzLimit, FoldTime: time.Second})
	if internalError(err) {
		t.Fatalf("New: %v", err)
	}
	if err != nil {
		return "load error"
	}
	defer e.Close()
	in := inputs(e)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = e.Run(ctx, in)
	if internalError(err) {
		t.Fatalf("Run: %v", err)
	}
	if err != nil {
		return "run error"
	}
	return "ran"
}

// FuzzExecutor decodes, prepares and runs arbitrary model bytes: errors are
// fine, panics (even recovered ones) and unbounded memory are not.
func FuzzExecutor(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join(testdata, "node", "test_*", "model.onnx"))
	for i, p := range paths {
		if i%5 != 0 {
			continue
		}
		if data, err := os.ReadFile(p); err == nil && len(data) < 1<<16 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(8 * time.Second):
				panic("fuzz input took more than 8s")
			}
		}()
		m, err := onnx.Decode(data)
		if err != nil {
			return
		}
		exercise(t, m, zeroInputs)
	})
}

// TestMutatedModels changes the real models in small, structured ways (an
// attribute's value, a node's input, its operator, an initializer's
// shape, a graph input's type) and runs each mutant on the golden inputs:
// every outcome must be a result or an ordinary error.
func TestMutatedModels(t *testing.T) {
	needData(t)
	mutants := 60
	if testing.Short() {
		mutants = 12
	}
	r := rand.New(rand.NewPCG(31, 32))
	seen := map[string]bool{}
	outcomes := map[string]int{}
	defer func() { t.Logf("outcomes: %v", outcomes) }()
	for _, c := range readGolden(t) {
		if seen[c.model] || strings.Contains(c.model, "det_infer") || strings.Contains(c.model, "rec_infer") && testing.Short() {
			continue // the two largest models cost most; the others cover their operators
		}
		seen[c.model] = true
		raw, err := os.ReadFile(c.model)
		if err != nil {
			t.Fatal(err)
		}
		inputs := func(e *Executor) []*Tensor {
			in := make([]*Tensor, len(e.Inputs()))
			for i, io := range e.Inputs() {
				if in[i] = c.inputs[io.Name]; in[i] == nil || in[i].Type != io.Type {
					in[i] = zeroInputs(e)[i]
				}
			}
			return in
		}
		for i := range mutants {
			m, err := onnx.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			what := mutate(r, m)
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("%s mutant %d (%s): panic %v", filepath.Base(c.model), i, what, p)
					}
				}()
				outcomes[exercise(t, m, inputs)]++
			}()
		}
	}
}

// mutate changes one thing in m and says what.
func mutate(r *rand.Rand, m *onnx.Model) string {
	var nodes []*onnx.Node
	var graphs []*onnx.Graph
	var walk func(g *onnx.Graph)
	walk = func(g *onnx.Graph) {
		graphs = append(graphs, g)
		for _, n := range g.Nodes {
			nodes = append(nodes, n)
			for _, a := range n.Attributes {
				if a.G != nil {
					walk(a.G)
				}
			}
		}
	}
	walk(m.Graph)
	n := nodes[r.IntN(len(nodes))]
	extremes := []int64{0, -1, 1, 2, -7, 3, 1 << 20, 1 << 40, -1 << 40}
	switch r.IntN(6) {
	case 0: // an attribute's value
		if len(n.Attributes) == 0 {
			break
		}
		a := n.Attributes[r.IntN(len(n.Attributes))]
		switch a.Type {
		case onnx.AttrInt:
			a.I = extremes[r.IntN(len(extremes))]
		case onnx.AttrInts:
			if len(a.Ints) > 0 {
				a.Ints = slices.Clone(a.Ints)
				a.Ints[r.IntN(len(a.Ints))] = extremes[r.IntN(len(extremes))]
			}
			if r.IntN(3) == 0 {
				a.Ints = a.Ints[:r.IntN(len(a.Ints)+1)]
			}
		case onnx.AttrFloat:
			a.F = []float32{0, -1, 1e30, -1e-30}[r.IntN(4)]
		case onnx.AttrString:
			a.S = []byte("bogus")
		}
		return n.OpType + " attribute " + a.Name
	case 1: // a node's input
		if len(n.Inputs) == 0 {
			break
		}
		other := nodes[r.IntN(len(nodes))]
		if len(other.Outputs) > 0 {
			n.Inputs = slices.Clone(n.Inputs)
			n.Inputs[r.IntN(len(n.Inputs))] = other.Outputs[0]
		}
		return n.OpType + " input"
	case 2: // the operator
		ops := []string{"Conv", "MatMul", "Reshape", "Gather", "Slice", "Concat", "Transpose", "LSTM", "Resize", "Pad", "Softmax", "Expand", "Tile", "Range", "ConstantOfShape", "If", "Split", "Einsum"}
		n.OpType = ops[r.IntN(len(ops))]
		return "operator " + n.OpType
	case 3: // an initializer's or constant's shape
		g := graphs[r.IntN(len(graphs))]
		if len(g.Initializers) > 0 {
			init := g.Initializers[r.IntN(len(g.Initializers))]
			init.Dims = slices.Clone(init.Dims)
			if len(init.Dims) > 0 && r.IntN(2) == 0 {
				init.Dims[r.IntN(len(init.Dims))] = extremes[r.IntN(len(extremes))]
			} else {
				init.Dims = append(init.Dims, 1)
			}
			return "initializer " + init.Name
		}
		for _, a := range n.Attributes {
			if a.T != nil && len(a.T.Dims) > 0 {
				a.T.Dims = slices.Clone(a.T.Dims)
				a.T.Dims[0] = 0
				return n.OpType + " tensor attribute"
			}
		}
	case 4: // a graph input's type
		if len(m.Graph.Inputs) > 0 {
			in := m.Graph.Inputs[r.IntN(len(m.Graph.Inputs))]
			if in.Type != nil {
				in.Type.Elem = []onnx.DataType{onnx.Int8, onnx.Int64, onnx.Bool, onnx.Double}[r.IntN(4)]
			}
			return "input type"
		}
	case 5: // drop an input or an output
		if len(n.Inputs) > 0 && r.IntN(2) == 0 {
			n.Inputs = n.Inputs[:len(n.Inputs)-1]
			return n.OpType + " last input dropped"
		}
		if len(n.Outputs) > 1 {
			n.Outputs = n.Outputs[:1]
			return n.OpType + " outputs dropped"
		}
	}
	return "nothing"
}
