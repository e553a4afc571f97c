package exec

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeai-go/edgeai/internal/testutil"
	"github.com/edgeai-go/edgeai/models/onnx"
)

// i64Init is an int64 initializer.
func i64Init(name string, v ...int64) *onnx.Tensor {
	raw := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(x))
	}
	return &onnx.Tensor{Name: name, Type: onnx.Int64, Dims: []int64{int64(len(v))}, Raw: raw}
}

// constOfShape is a ConstantOfShape node making a float32 tensor of ones.
func constOfShape(shape, out string) *onnx.Node {
	return &onnx.Node{OpType: "ConstantOfShape", Inputs: []string{shape}, Outputs: []string{out},
		Attributes: []*onnx.Attribute{{Name: "value", Type: onnx.AttrTensor, T: &onnx.Tensor{Type: onnx.Float, Dims: []int64{1}, Raw: []byte{0, 0, 0x80, 0x3f}}}}}
}

// slowModels are tiny models whose work is huge for their tensor sizes.
func slowModels() map[string]*onnx.Model {
	fin := func(name string, dims ...int64) *onnx.ValueInfo {
		d := make([]onnx.Dim, len(dims))
		for i, v := range dims {
			d[i] = onnx.Dim{Value: v, Known: true}
		}
		return &onnx.ValueInfo{Name: name, Type: &onnx.TypeInfo{Kind: onnx.KindTensor, Elem: onnx.Float, Shape: d, HasShape: true}}
	}
	model := func(g *onnx.Graph) *onnx.Model {
		g.Outputs = []*onnx.ValueInfo{{Name: "y"}}
		return &onnx.Model{IRVersion: 8, OpsetImports: []onnx.OpsetID{{Version: 17}}, Graph: g}
	}
	conv := &onnx.Node{OpType: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"y"},
		Attributes: []*onnx.Attribute{aInts("pads", 1000, 1000, 1000, 1000)}}
	pool := &onnx.Node{OpType: "AveragePool", Inputs: []string{"x"}, Outputs: []string{"y"},
		Attributes: []*onnx.Attribute{aInts("kernel_shape", 1000, 1000), aInts("pads", 999, 999, 999, 999)}}
	lstm := &onnx.Node{OpType: "LSTM", Inputs: []string{"x", "w", "r"}, Outputs: []string{"y"},
		Attributes: []*onnx.Attribute{aInt("hidden_size", 500)}}
	bigPool := &onnx.Node{OpType: "MaxPool", Inputs: []string{"x"}, Outputs: []string{"y"},
		Attributes: []*onnx.Attribute{aInts("kernel_shape", 300, 300), aInts("pads", 299, 299, 299, 299)}}
	dw := &onnx.Node{OpType: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"y"},
		Attributes: []*onnx.Attribute{aInts("pads", 699, 699, 699, 699), aInt("group", 2)}}
	wide := &onnx.Node{OpType: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"y"},
		Attributes: []*onnx.Attribute{aInts("pads", 499, 499, 499, 499)}}
	convInt := []*onnx.Node{constOfShape("ws", "wf"),
		{OpType: "Cast", Inputs: []string{"wf"}, Outputs: []string{"w"}, Attributes: []*onnx.Attribute{aInt("to", int64(onnx.Uint8))}},
		{OpType: "ConvInteger", Inputs: []string{"x", "w"}, Outputs: []string{"y"}, Attributes: []*onnx.Attribute{aInts("pads", 999, 999, 999, 999)}}}
	x8 := fin("x", 1, 1, 1, 1)
	x8.Type.Elem = onnx.Uint8
	loopBody := &onnx.Graph{Inputs: []*onnx.ValueInfo{{Name: "i"}, {Name: "c"}, {Name: "v"}},
		Nodes:   []*onnx.Node{{OpType: "Identity", Inputs: []string{"c"}, Outputs: []string{"c2"}}, {OpType: "Add", Inputs: []string{"v", "v"}, Outputs: []string{"v2"}}},
		Outputs: []*onnx.ValueInfo{{Name: "c2"}, {Name: "v2"}}}
	return map[string]*onnx.Model{
		"loop run": model(&onnx.Graph{Inputs: []*onnx.ValueInfo{fin("x", 64)},
			Initializers: []*onnx.Tensor{i64Init("trips", 1<<40)},
			Nodes: []*onnx.Node{{OpType: "Loop", Inputs: []string{"trips", "", "x"}, Outputs: []string{"y"},
				Attributes: []*onnx.Attribute{{Name: "body", Type: onnx.AttrGraph, G: loopBody}}}}}),
		"convinteger run": model(&onnx.Graph{Inputs: []*onnx.ValueInfo{x8},
			Initializers: []*onnx.Tensor{i64Init("ws", 1, 1, 1000, 1000)}, Nodes: convInt}),
		"depthwise run": model(&onnx.Graph{Inputs: []*onnx.ValueInfo{fin("x", 1, 2, 1, 1)},
			Initializers: []*onnx.Tensor{i64Init("ws", 2, 1, 700, 700)},
			Nodes:        []*onnx.Node{constOfShape("ws", "w"), dw}}),
		"conv big kernel run": model(&onnx.Graph{Inputs: []*onnx.ValueInfo{fin("x", 1, 1, 64, 64)},
			Initializers: []*onnx.Tensor{i64Init("ws", 1, 1, 500, 500)},
			Nodes:        []*onnx.Node{constOfShape("ws", "w"), wide}}),
		"conv big kernel fold": model(&onnx.Graph{
			Initializers: []*onnx.Tensor{i64Init("ws", 1, 1, 500, 500), i64Init("xs", 1, 1, 500, 500)},
			Nodes:        []*onnx.Node{constOfShape("ws", "w"), constOfShape("xs", "x"), wide}}),
		"maxpool fold": model(&onnx.Graph{Initializers: []*onnx.Tensor{i64Init("xs", 1, 1, 700, 700)},
			Nodes: []*onnx.Node{constOfShape("xs", "x"), bigPool}}),
		"conv run": model(&onnx.Graph{Inputs: []*onnx.ValueInfo{fin("x", 1, 1, 1, 1)},
			Initializers: []*onnx.Tensor{i64Init("ws", 1, 1, 1000, 1000)},
			Nodes:        []*onnx.Node{constOfShape("ws", "w"), conv}}),
		"conv fold": model(&onnx.Graph{
			Initializers: []*onnx.Tensor{i64Init("ws", 1, 1, 1000, 1000), i64Init("xs", 1, 1, 1, 1)},
			Nodes:        []*onnx.Node{constOfShape("ws", "w"), constOfShape("xs", "x"), conv}}),
		"lstm run": model(&onnx.Graph{Inputs: []*onnx.ValueInfo{fin("x", 64, 1, 1)},
			Initializers: []*onnx.Tensor{i64Init("ws", 1, 2000, 1), i64Init("rs", 1, 2000, 500)},
			Nodes:        []*onnx.Node{constOfShape("ws", "w"), constOfShape("rs", "r"), lstm}}),
		"lstm fold": model(&onnx.Graph{
			Initializers: []*onnx.Tensor{i64Init("xs", 2000, 1, 1), i64Init("ws", 1, 2000, 1), i64Init("rs", 1, 2000, 500)},
			Nodes:        []*onnx.Node{constOfShape("xs", "x"), constOfShape("ws", "w"), constOfShape("rs", "r"), lstm}}),
		"avgpool run": model(&onnx.Graph{Inputs: []*onnx.ValueInfo{fin("x", 1, 1, 1, 1)}, Nodes: []*onnx.Node{pool}}),
		"avgpool fold": model(&onnx.Graph{Initializers: []*onnx.Tensor{i64Init("xs", 1, 1, 1, 1)},
			Nodes: []*onnx.Node{constOfShape("xs", "x"), pool}}),
	}
}

// spent is the time since start, wall or CPU time whichever is less: work
// that does not stop grows both, while a loaded machine only stretches the
// wall time.
func spent(start time.Time, cpu time.Duration) time.Duration {
	return min(time.Since(start), testutil.CPUTime()-cpu)
}

// TestSlowInputs runs tiny models that ask for a huge amount of work within
// the tensor size limit: New must stop folding once its budget is spent,
// and Run must stop soon after its context ends.
func TestSlowInputs(t *testing.T) {
	const foldTime, runTime, slack = 300 * time.Millisecond, 300 * time.Millisecond, 700 * time.Millisecond
	for name, m := range slowModels() {
		threads := 1 + len(name)%2 // the worker pool's path too
		t.Run(name, func(t *testing.T) {
			start, cpu := time.Now(), testutil.CPUTime()
			e, err := New(m, Options{Threads: threads, MaxTensorBytes: fuzzLimit, FoldTime: foldTime})
			if d := spent(start, cpu); d > foldTime+slack {
				t.Errorf("New took %v (error %v), the folding budget is %v", d, err, foldTime)
			}
			if err != nil {
				t.Logf("New: %v", err)
				return
			}
			defer e.Close()
			ctx, cancel := context.WithTimeout(context.Background(), runTime)
			defer cancel()
			start, cpu = time.Now(), testutil.CPUTime()
			_, err = e.Run(ctx, zeroInputs(e))
			if d := spent(start, cpu); d > runTime+slack {
				t.Errorf("Run took %v (error %v), the context ends after %v", d, err, runTime)
			}
			if internalError(err) {
				t.Fatal(err)
			}
			t.Logf("Run: %v after %v", err, time.Since(start))
		})
	}
}

// TestEinsumLabelOverflow gives Einsum eight operands of 2^20 elements with
// distinct labels: the 2^160 combinations must be an ErrLimit error, not an
// overflowed count that silently sums nothing.
func TestEinsumLabelOverflow(t *testing.T) {
	var in []*Tensor
	var terms []string
	for i := range 8 {
		in = append(in, &Tensor{Type: onnx.Float, Shape: []int{1024, 1024}, Data: make([]float32, 1<<20)})
		terms = append(terms, string(rune('a'+2*i))+string(rune('b'+2*i)))
	}
	eq := strings.Join(terms, ",") + "->"
	_, err := runOp(t, 13, "Einsum", []*onnx.Attribute{aStr("equation", eq)}, 1, in...)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("Einsum %q: got %v, want ErrLimit", eq, err)
	}
}

// TestLoopScanLimit runs a Loop whose scan output is a new 1 MiB tensor per
// iteration for 2^20 iterations: the stacked result would exceed the size
// limit, so the Loop must fail with ErrLimit after a few iterations instead
// of keeping every iteration's tensor until the end. (Its condition input
// is omitted, as ONNX allows.)
func TestLoopScanLimit(t *testing.T) {
	body := &onnx.Graph{
		Inputs: []*onnx.ValueInfo{{Name: "i"}, {Name: "c"}},
		Nodes: []*onnx.Node{
			{OpType: "Identity", Inputs: []string{"c"}, Outputs: []string{"c2"}},
			{OpType: "Add", Inputs: []string{"big", "big"}, Outputs: []string{"s"}},
		},
		Outputs: []*onnx.ValueInfo{{Name: "c2"}, {Name: "s"}},
	}
	g := &onnx.Graph{
		Inputs:       []*onnx.ValueInfo{{Name: "x", Type: &onnx.TypeInfo{Kind: onnx.KindTensor, Elem: onnx.Float, Shape: []onnx.Dim{{Value: 1, Known: true}}, HasShape: true}}},
		Initializers: []*onnx.Tensor{i64Init("shape", 1<<18), i64Init("trips", 1<<20)},
		Nodes: []*onnx.Node{
			constOfShape("shape", "c1"),
			{OpType: "Add", Inputs: []string{"c1", "x"}, Outputs: []string{"big"}}, // not a constant
			{OpType: "Loop", Inputs: []string{"trips", ""}, Outputs: []string{"y"},
				Attributes: []*onnx.Attribute{{Name: "body", Type: onnx.AttrGraph, G: body}}},
		},
		Outputs: []*onnx.ValueInfo{{Name: "y"}},
	}
	m := &onnx.Model{IRVersion: 8, OpsetImports: []onnx.OpsetID{{Version: 17}}, Graph: g}
	e, err := New(m, Options{Threads: 1, MaxTensorBytes: fuzzLimit})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err = e.Run(ctx, zeroInputs(e))
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("got %v after %v, want ErrLimit", err, time.Since(start))
	}
	t.Logf("%v after %v", err, time.Since(start))
}

// TestResizeHugeSizes asks Resize for outputs whose size is over the limit
// or zero while another dimension is huge: an error or an empty result,
// before any per-dimension table as long as the huge dimension is built.
func TestResizeHugeSizes(t *testing.T) {
	x := f32s([]int{1, 1, 1, 2}, 1, 2)
	empty := f32s([]int{0})
	for _, c := range []struct {
		sizes  []int64
		policy string
		want   []int // nil: an ErrLimit error
	}{
		{[]int64{1, 1, 1, 1<<31 - 1}, "stretch", nil},
		{[]int64{1, 0, 1, 1<<31 - 1}, "stretch", []int{1, 0, 1, 1<<31 - 1}},
		{[]int64{1, 1, 1, 1<<31 - 1}, "not_smaller", nil},
	} {
		for _, mode := range []string{"nearest", "linear"} {
			sizes := &Tensor{Type: onnx.Int64, Shape: []int{4}, Data: c.sizes}
			attrs := []*onnx.Attribute{aStr("mode", mode), aStr("keep_aspect_ratio_policy", c.policy)}
			out, err := runOp(t, 18, "Resize", attrs, 1, x, empty, empty, sizes)
			switch {
			case c.want == nil && !errors.Is(err, ErrLimit):
				t.Errorf("%s %v %s: got %v, want ErrLimit", mode, c.sizes, c.policy, err)
			case c.want != nil && (err != nil || !slices.Equal(out[0].Shape, c.want)):
				t.Errorf("%s %v %s: got %v, %v, want shape %v", mode, c.sizes, c.policy, out, err, c.want)
			}
		}
	}
}

// TestIntMatMulLimit multiplies a column by a row of 2^20 uint8 values: the
// 2^40-element int32 product must be an ErrLimit error before anything of
// that size is allocated (MatMulInteger and QLinearMatMul share the code).
func TestIntMatMulLimit(t *testing.T) {
	a := &Tensor{Type: onnx.Uint8, Shape: []int{1 << 20, 1}, Data: make([]uint8, 1<<20)}
	b := &Tensor{Type: onnx.Uint8, Shape: []int{1, 1 << 20}, Data: make([]uint8, 1<<20)}
	_, err := runOp(t, 13, "MatMulInteger", nil, 1, a, b)
	if !errors.Is(err, ErrLimit) {
		t.Errorf("MatMulInteger: got %v, want ErrLimit", err)
	}
	one := f32s([]int{}, 1)
	zp := &Tensor{Type: onnx.Uint8, Shape: []int{}, Data: []uint8{0}}
	_, err = runOp(t, 13, "QLinearMatMul", nil, 1, a, one, zp, b, one, zp, one, zp)
	if !errors.Is(err, ErrLimit) {
		t.Errorf("QLinearMatMul: got %v, want ErrLimit", err)
	}
}

// TestFoldBudgetSameResults prepares the real models with no folding
// budget at all (every constant subgraph then runs with the model) and
// checks that they compute the same outputs as when folded at load.
func TestFoldBudgetSameResults(t *testing.T) {
	needData(t)
	seen := map[string]bool{}
	unfolded := 0
	for _, c := range readGolden(t) {
		if seen[c.model] || strings.Contains(c.model, "det_infer") || strings.Contains(c.model, "rec_infer") {
			continue // the two largest models cost most; the others cover their operators
		}
		seen[c.model] = true
		m, err := onnx.ReadFile(c.model)
		if err != nil {
			t.Fatal(err)
		}
		var res [2][]*Tensor
		var nodes [2]int
		for i, fold := range []time.Duration{0, time.Nanosecond} {
			e, err := New(m, Options{Threads: 1, FoldTime: fold})
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			nodes[i] = e.nnodes
			in := make([]*Tensor, len(e.Inputs()))
			for j, io := range e.Inputs() {
				in[j] = c.inputs[io.Name]
			}
			res[i], err = e.Run(context.Background(), in)
			e.Close()
			if err != nil {
				t.Fatalf("%s (folding budget %v): %v", c.name, fold, err)
			}
		}
		for j := range res[0] {
			a, b := res[0][j], res[1][j]
			if !slices.Equal(a.Shape, b.Shape) || a.Type != b.Type {
				t.Fatalf("%s output %d: %v folded, %v unfolded", c.name, j, a, b)
			}
			fa, _ := floatsOf(a)
			fb, _ := floatsOf(b)
			for k := range fa {
				if d := math.Abs(fa[k] - fb[k]); d > 1e-5*(1+math.Abs(fa[k])) {
					t.Fatalf("%s output %d [%d]: %g folded, %g unfolded", c.name, j, k, fa[k], fb[k])
				}
			}
		}
		t.Logf("%s: %d outputs agree; %d nodes run folded, %d unfolded", c.name, len(res[0]), nodes[0], nodes[1])
		if nodes[1] > nodes[0] {
			unfolded++
		}
	}
	if unfolded == 0 {
		t.Errorf("no model had more nodes to run without folding: the budget did not apply")
	}
}

// TestPadEmptyHuge pads an empty tensor by 2^30-1 along its other
// dimension (a size that fits int on 32-bit platforms too): the result is
// empty, and must come back at once, without per-dimension index maps as
// long as the huge dimension.
func TestPadEmptyHuge(t *testing.T) {
	for _, mode := range []string{"constant", "edge", "reflect"} {
		x := f32s([]int{0, 1})
		pads := &Tensor{Type: onnx.Int64, Shape: []int{4}, Data: []int64{0, 0, 0, 1<<30 - 1}}
		out, err := runOp(t, 13, "Pad", []*onnx.Attribute{aStr("mode", mode)}, 1, x, pads)
		if err != nil || !slices.Equal(out[0].Shape, []int{0, 1 << 30}) {
			t.Errorf("%s: got %v, %v; want an empty [0 %d]", mode, out, err, 1<<30)
		}
	}
}

// TestSliceHugeSteps slices with steps at the ends of int64: one element,
// not a count that overflowed.
func TestSliceHugeSteps(t *testing.T) {
	x := f32s([]int{5}, 1, 2, 3, 4, 5)
	i64 := func(v int64) *Tensor { return &Tensor{Type: onnx.Int64, Shape: []int{1}, Data: []int64{v}} }
	for _, c := range []struct {
		start, end, step int64
		want             float64
	}{
		{0, 5, math.MaxInt64, 1},
		{4, -6, math.MinInt64, 5},
		{-1, math.MinInt64, math.MinInt64, 5},
		{1, math.MaxInt64, math.MaxInt64 - 1, 2},
	} {
		out, err := runOp(t, 13, "Slice", nil, 1, x, i64(c.start), i64(c.end), i64(0), i64(c.step))
		if err != nil {
			t.Fatalf("Slice %d:%d:%d: %v", c.start, c.end, c.step, err)
		}
		checkClose(t, fmt.Sprintf("Slice %d:%d:%d", c.start, c.end, c.step), out[0], []float64{c.want}, 0)
	}
}
