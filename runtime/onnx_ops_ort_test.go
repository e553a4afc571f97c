package runtime_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgeai-go/edgeai/models/onnx"
	"github.com/edgeai-go/edgeai/runtime"
)

// opCase is a one-node model: its inputs (fed at run time) and
// initializers (constant inputs), by position.
type opCase struct {
	name   string
	op     string
	opset  int64
	attrs  []*onnx.Attribute
	inputs []*runtime.Tensor // nil entries are initializers
	consts []*runtime.Tensor
	nout   int
	// outTypes are the outputs' types (float32 where not given).
	outTypes []onnx.DataType
	// outShapes declare the outputs' shapes where not nil (ONNX Runtime's
	// Go binding needs a scalar output declared).
	outShapes [][]int64
	// rtol and atol bound the difference (1e-5, 1e-6 where zero).
	rtol, atol float64
}

func (c *opCase) model() *onnx.Model {
	g := &onnx.Graph{Name: c.name}
	n := &onnx.Node{OpType: c.op, Attributes: c.attrs}
	for i, t := range c.inputs {
		name := fmt.Sprintf("in%d", i)
		if t == nil && (i >= len(c.consts) || c.consts[i] == nil) {
			n.Inputs = append(n.Inputs, "") // omitted
			continue
		}
		n.Inputs = append(n.Inputs, name)
		if t == nil {
			k := c.consts[i]
			raw, _ := k.Raw()
			g.Initializers = append(g.Initializers, &onnx.Tensor{Name: name, Type: onnx.DataType(k.Type), Dims: k.Shape, Raw: raw})
			continue
		}
		dims := make([]onnx.Dim, len(t.Shape))
		for j, d := range t.Shape {
			dims[j] = onnx.Dim{Value: d, Known: true}
		}
		g.Inputs = append(g.Inputs, &onnx.ValueInfo{Name: name, Type: &onnx.TypeInfo{Kind: onnx.KindTensor, Elem: onnx.DataType(t.Type), Shape: dims, HasShape: true}})
	}
	for i := range c.nout {
		name := fmt.Sprintf("out%d", i)
		n.Outputs = append(n.Outputs, name)
		typ := onnx.Float
		if c.op == "TopK" && i == 1 {
			typ = onnx.Int64
		}
		if i < len(c.outTypes) {
			typ = c.outTypes[i]
		}
		ti := &onnx.TypeInfo{Kind: onnx.KindTensor, Elem: typ}
		if i < len(c.outShapes) && c.outShapes[i] != nil {
			ti.HasShape = true
			for _, d := range c.outShapes[i] {
				ti.Shape = append(ti.Shape, onnx.Dim{Value: d, Known: true})
			}
		}
		g.Outputs = append(g.Outputs, &onnx.ValueInfo{Name: name, Type: ti})
	}
	g.Nodes = []*onnx.Node{n}
	return &onnx.Model{IRVersion: 8, OpsetImports: []onnx.OpsetID{{Version: c.opset}}, Graph: g}
}

func randF32(r *rand.Rand, shape ...int64) *runtime.Tensor {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	t, _ := runtime.NewTensor(shape, v)
	return t
}

func i64T(shape []int64, v ...int64) *runtime.Tensor {
	t, _ := runtime.NewTensor(shape, v)
	return t
}

func aI(name string, v int64) *onnx.Attribute {
	return &onnx.Attribute{Name: name, Type: onnx.AttrInt, I: v}
}

func aS(name, v string) *onnx.Attribute {
	return &onnx.Attribute{Name: name, Type: onnx.AttrString, S: []byte(v)}
}

// TestOperatorsAgainstORT runs the operators added for real models
// (PRelu, ScatterND, ScatterElements, GatherND, TopK, GRU) as one-node
// models on both backends and compares (exact for integers and data
// movement, rtol 1e-5 for arithmetic).
func TestOperatorsAgainstORT(t *testing.T) {
	needORT(t)
	r := rand.New(rand.NewPCG(11, 12))
	slope := randF32(r, 4, 1, 1)
	cases := []opCase{
		{name: "prelu_channel", op: "PRelu", opset: 16, inputs: []*runtime.Tensor{randF32(r, 2, 4, 5, 3), nil}, consts: []*runtime.Tensor{nil, slope}, nout: 1},
		{name: "prelu_input_slope", op: "PRelu", opset: 9, inputs: []*runtime.Tensor{randF32(r, 3, 7), randF32(r, 7)}, nout: 1},
		{name: "scatternd", op: "ScatterND", opset: 13, inputs: []*runtime.Tensor{randF32(r, 4, 3, 2), nil, randF32(r, 2, 3, 2)},
			consts: []*runtime.Tensor{nil, i64T([]int64{2, 1}, 3, -4)}, nout: 1},
		{name: "scatternd_add", op: "ScatterND", opset: 16, attrs: []*onnx.Attribute{aS("reduction", "add")},
			inputs: []*runtime.Tensor{randF32(r, 4, 3), nil, randF32(r, 3)}, consts: []*runtime.Tensor{nil, i64T([]int64{3, 2}, 0, 1, 0, 1, 3, 2)}, nout: 1},
		{name: "scatterelements_axis1", op: "ScatterElements", opset: 13, attrs: []*onnx.Attribute{aI("axis", 1)},
			inputs: []*runtime.Tensor{randF32(r, 3, 5), nil, randF32(r, 3, 2)}, consts: []*runtime.Tensor{nil, i64T([]int64{3, 2}, 0, 4, -1, 2, 3, 1)}, nout: 1},
		{name: "scatterelements_mul", op: "ScatterElements", opset: 18, attrs: []*onnx.Attribute{aS("reduction", "mul")},
			inputs: []*runtime.Tensor{randF32(r, 3, 2), nil, randF32(r, 2, 2)}, consts: []*runtime.Tensor{nil, i64T([]int64{2, 2}, 1, 0, 1, 2)}, nout: 1},
		{name: "gathernd", op: "GatherND", opset: 13, inputs: []*runtime.Tensor{randF32(r, 3, 4, 2), nil},
			consts: []*runtime.Tensor{nil, i64T([]int64{2, 2}, 2, 3, 0, -1)}, nout: 1},
		{name: "gathernd_batch", op: "GatherND", opset: 13, attrs: []*onnx.Attribute{aI("batch_dims", 1)},
			inputs: []*runtime.Tensor{randF32(r, 2, 4, 3), nil}, consts: []*runtime.Tensor{nil, i64T([]int64{2, 2, 1}, 1, 3, 0, 2)}, nout: 1},
		{name: "topk_largest", op: "TopK", opset: 11, attrs: []*onnx.Attribute{aI("axis", 1)},
			inputs: []*runtime.Tensor{randF32(r, 3, 9, 2), nil}, consts: []*runtime.Tensor{nil, i64T([]int64{1}, 4)}, nout: 2},
		{name: "topk_smallest", op: "TopK", opset: 11, attrs: []*onnx.Attribute{aI("largest", 0)},
			inputs: []*runtime.Tensor{randF32(r, 5, 6), nil}, consts: []*runtime.Tensor{nil, i64T([]int64{1}, 3)}, nout: 2},
	}
	cases = append(cases, gruCases(r)...)
	runOpCases(t, cases)
}

// runOpCases runs one-node models on both backends and compares their
// outputs.
func runOpCases(t *testing.T, cases []opCase) {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := onnx.Encode(c.model())
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, c.name+".onnx")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			in := map[string]*runtime.Tensor{}
			for i, x := range c.inputs {
				if x != nil {
					in[fmt.Sprintf("in%d", i)] = x
				}
			}
			var res [2]map[string]*runtime.Tensor
			for i, backend := range []string{"ort", "go"} {
				s, err := runtime.LoadONNX(ctx, path, runtime.ONNXOptions{Backend: backend, Threads: 1})
				if err != nil {
					t.Fatalf("%s: %v", backend, err)
				}
				res[i], err = s.Run(ctx, in)
				s.Close()
				if err != nil {
					t.Fatalf("%s: %v", backend, err)
				}
			}
			rtol, atol := c.rtol, c.atol
			if rtol == 0 {
				rtol = 1e-5
			}
			if atol == 0 {
				atol = 1e-6
			}
			for k, want := range res[0] {
				if err := runtime.CompareTensors(res[1][k], want, rtol, atol); err != nil {
					t.Errorf("%s: %v", k, err)
				}
			}
		})
	}
}

var _ = binary.LittleEndian
var _ = math.Pi

// gruCases are GRU models: forward, reverse and bidirectional, both
// linear_before_reset values, with biases, an initial state and sequence
// lengths.
func gruCases(r *rand.Rand) []opCase {
	var cs []opCase
	for _, dir := range []string{"forward", "reverse", "bidirectional"} {
		for _, lbr := range []int64{0, 1} {
			nd := int64(1)
			if dir == "bidirectional" {
				nd = 2
			}
			const seq, batch, in, hid = 5, 3, 4, 6
			cs = append(cs, opCase{
				name: fmt.Sprintf("gru_%s_lbr%d", dir, lbr), op: "GRU", opset: 14,
				attrs:  []*onnx.Attribute{aS("direction", dir), aI("hidden_size", hid), aI("linear_before_reset", lbr)},
				inputs: []*runtime.Tensor{randF32(r, seq, batch, in), nil, nil, nil, nil, randF32(r, nd, batch, hid)},
				consts: []*runtime.Tensor{nil, randF32(r, nd, 3*hid, in), randF32(r, nd, 3*hid, hid), randF32(r, nd, 6*hid),
					func() *runtime.Tensor { t, _ := runtime.NewTensor([]int64{batch}, []int32{5, 3, 4}); return t }()},
				nout: 2,
			})
		}
	}
	return cs
}
