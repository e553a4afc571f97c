package exec

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeai-go/edgeai/models/onnx"
)

// The operators beyond those of the issue that the node tests in ../shared
// do not cover are checked here against their ONNX definitions, on
// single-node models built in memory.

// runOp builds a one-node model of the default domain at opset and runs it.
func runOp(t *testing.T, opset int64, op string, attrs []*onnx.Attribute, nout int, in ...*Tensor) ([]*Tensor, error) {
	t.Helper()
	e, err := New(oneNodeModel(opset, op, attrs, nout, in), Options{Threads: 1})
	if err != nil {
		return nil, err
	}
	defer e.Close()
	return e.Run(context.Background(), in)
}

// oneNodeModel builds a model of one node of the default domain at opset,
// whose graph inputs have the shapes and types of in.
func oneNodeModel(opset int64, op string, attrs []*onnx.Attribute, nout int, in []*Tensor) *onnx.Model {
	g := &onnx.Graph{}
	node := &onnx.Node{OpType: op, Attributes: attrs}
	for i, x := range in {
		name := string(rune('a' + i))
		dims := make([]onnx.Dim, len(x.Shape))
		for j, d := range x.Shape {
			dims[j] = onnx.Dim{Value: int64(d), Known: true}
		}
		g.Inputs = append(g.Inputs, &onnx.ValueInfo{Name: name, Type: &onnx.TypeInfo{Kind: onnx.KindTensor, Elem: x.Type, Shape: dims, HasShape: true}})
		node.Inputs = append(node.Inputs, name)
	}
	for i := range nout {
		name := string(rune('y' - i))
		node.Outputs = append(node.Outputs, name)
		g.Outputs = append(g.Outputs, &onnx.ValueInfo{Name: name})
	}
	g.Nodes = []*onnx.Node{node}
	return &onnx.Model{IRVersion: 8, OpsetImports: []onnx.OpsetID{{Domain: "", Version: opset}}, Graph: g}
}

func f32s(shape []int, v ...float32) *Tensor {
	return &Tensor{Type: onnx.Float, Shape: shape, Data: v}
}

func aInt(name string, v int64) *onnx.Attribute {
	return &onnx.Attribute{Name: name, Type: onnx.AttrInt, I: v}
}

func aInts(name string, v ...int64) *onnx.Attribute {
	return &onnx.Attribute{Name: name, Type: onnx.AttrInts, Ints: v}
}

func aFloat(name string, v float32) *onnx.Attribute {
	return &onnx.Attribute{Name: name, Type: onnx.AttrFloat, F: v}
}

func aStr(name, v string) *onnx.Attribute {
	return &onnx.Attribute{Name: name, Type: onnx.AttrString, S: []byte(v)}
}

// checkClose compares float32 results with float64 expectations.
func checkClose(t *testing.T, what string, got *Tensor, want []float64, tol float64) {
	t.Helper()
	g, ok := got.Data.([]float32)
	if !ok || len(g) != len(want) {
		t.Fatalf("%s: got %v %T (%d values), want %d float32", what, got, got.Data, got.Len(), len(want))
	}
	for i := range want {
		if math.IsNaN(want[i]) && g[i] != g[i] {
			continue
		}
		if d := math.Abs(float64(g[i]) - want[i]); !(d <= tol*(1+math.Abs(want[i]))) {
			t.Fatalf("%s: [%d] = %v, want %v", what, i, g[i], want[i])
		}
	}
}

func TestUnaryOps(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	x := make([]float32, 50)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 2)
	}
	x[0], x[1], x[2], x[3] = 0.5, -0.5, 1.5, 2.5 // rounding ties
	unit := make([]float32, len(x))              // in (-1, 1) for asin, acos, atanh
	for i, v := range x {
		unit[i] = float32(math.Tanh(float64(v)))
	}
	big := make([]float32, len(x)) // >= 1 for acosh
	for i, v := range x {
		big[i] = 1 + float32(math.Abs(float64(v)))
	}
	sp := func(v float64) float64 { return math.Log1p(math.Exp(v)) }
	cases := []struct {
		op    string
		attrs []*onnx.Attribute
		in    []float32
		f     func(float64) float64
	}{
		{"Sin", nil, x, math.Sin}, {"Cos", nil, x, math.Cos}, {"Tan", nil, x, math.Tan},
		{"Asin", nil, unit, math.Asin}, {"Acos", nil, unit, math.Acos}, {"Atan", nil, x, math.Atan},
		{"Sinh", nil, x, math.Sinh}, {"Cosh", nil, x, math.Cosh}, {"Asinh", nil, x, math.Asinh},
		{"Acosh", nil, big, math.Acosh}, {"Atanh", nil, unit, math.Atanh},
		{"Softsign", nil, x, func(v float64) float64 { return v / (1 + math.Abs(v)) }},
		{"Softplus", nil, x, sp},
		{"Mish", nil, x, func(v float64) float64 { return v * math.Tanh(sp(v)) }},
		{"HardSwish", nil, x, func(v float64) float64 { return v * math.Max(0, math.Min(1, v/6+0.5)) }},
		{"Elu", []*onnx.Attribute{aFloat("alpha", 0.7)}, x, func(v float64) float64 {
			if v < 0 {
				return 0.7 * (math.Exp(v) - 1)
			}
			return v
		}},
		{"Selu", nil, x, func(v float64) float64 {
			const a, g = 1.67326319217681884765625, 1.05070102214813232421875
			if v <= 0 {
				return g * a * (math.Exp(v) - 1)
			}
			return g * v
		}},
		{"ThresholdedRelu", []*onnx.Attribute{aFloat("alpha", 0.5)}, x, func(v float64) float64 {
			if v > 0.5 {
				return v
			}
			return 0
		}},
		{"Celu", []*onnx.Attribute{aFloat("alpha", 2)}, x, func(v float64) float64 { return math.Max(0, v) + math.Min(0, 2*(math.Exp(v/2)-1)) }},
		{"Sign", nil, x, func(v float64) float64 {
			switch {
			case v > 0:
				return 1
			case v < 0:
				return -1
			}
			return 0
		}},
		{"Floor", nil, x, math.Floor}, {"Ceil", nil, x, math.Ceil}, {"Round", nil, x, math.RoundToEven},
		{"Abs", nil, x, math.Abs}, {"Neg", nil, x, func(v float64) float64 { return -v }},
	}
	for _, c := range cases {
		out, err := runOp(t, 18, c.op, c.attrs, 1, f32s([]int{5, 10}, c.in...))
		if err != nil {
			t.Fatalf("%s: %v", c.op, err)
		}
		want := make([]float64, len(c.in))
		for i, v := range c.in {
			want[i] = c.f(float64(float32(v)))
		}
		checkClose(t, c.op, out[0], want, 1e-5)
	}
	// Gelu (opset 20), exact and tanh.
	for _, approx := range []string{"none", "tanh"} {
		out, err := runOp(t, 20, "Gelu", []*onnx.Attribute{aStr("approximate", approx)}, 1, f32s([]int{50}, x...))
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float64, len(x))
		for i, v := range x {
			f := float64(v)
			if approx == "tanh" {
				want[i] = 0.5 * f * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(f+0.044715*f*f*f)))
			} else {
				want[i] = 0.5 * f * (1 + math.Erf(f/math.Sqrt2))
			}
		}
		checkClose(t, "Gelu "+approx, out[0], want, 1e-5)
	}
	// Integer Abs, Neg, Sign; IsNaN.
	ints := &Tensor{Type: onnx.Int32, Shape: []int{4}, Data: []int32{-3, 0, 5, -2147483647}}
	for op, want := range map[string][]int32{"Abs": {3, 0, 5, 2147483647}, "Neg": {3, 0, -5, 2147483647}, "Sign": {-1, 0, 1, -1}} {
		out, err := runOp(t, 18, op, nil, 1, ints)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range out[0].Data.([]int32) {
			if v != want[i] {
				t.Errorf("%s int32: %v, want %v", op, out[0].Data, want)
				break
			}
		}
	}
	out, err := runOp(t, 18, "IsNaN", nil, 1, f32s([]int{3}, 1, float32(math.NaN()), float32(math.Inf(1))))
	if err != nil || out[0].Data.([]bool)[0] || !out[0].Data.([]bool)[1] || out[0].Data.([]bool)[2] {
		t.Errorf("IsNaN: %v %v", out, err)
	}
}

func TestBinaryOps(t *testing.T) {
	i32 := func(v ...int32) *Tensor { return &Tensor{Type: onnx.Int32, Shape: []int{len(v)}, Data: v} }
	u8 := func(v ...uint8) *Tensor { return &Tensor{Type: onnx.Uint8, Shape: []int{len(v)}, Data: v} }
	for _, c := range []struct {
		op    string
		attrs []*onnx.Attribute
		a, b  *Tensor
		want  any
	}{
		{"Mod", nil, i32(7, -7, 7, -7, 0), i32(3, 3, -3, -3, 5), []int32{1, 2, -2, -1, 0}},
		{"Mod", []*onnx.Attribute{aInt("fmod", 1)}, i32(7, -7, 7, -7), i32(3, 3, -3, -3), []int32{1, -1, 1, -1}},
		{"Mod", []*onnx.Attribute{aInt("fmod", 1)}, f32s([]int{3}, 5.5, -5.5, 1), f32s([]int{3}, 2, 2, 0.75), []float32{1.5, -1.5, 0.25}},
		{"BitShift", []*onnx.Attribute{aStr("direction", "LEFT")}, u8(1, 3, 255), u8(1, 2, 1), []uint8{2, 12, 254}},
		{"BitShift", []*onnx.Attribute{aStr("direction", "RIGHT")}, u8(16, 3, 255), u8(1, 1, 4), []uint8{8, 1, 15}},
		{"BitwiseAnd", nil, u8(0xf0, 0x3c), u8(0x3c, 0xff), []uint8{0x30, 0x3c}},
		{"BitwiseOr", nil, u8(0xf0, 0x3c), u8(0x0f, 0x00), []uint8{0xff, 0x3c}},
		{"BitwiseXor", nil, u8(0xf0, 0x3c), u8(0xff, 0x3c), []uint8{0x0f, 0}},
		{"Xor", nil, &Tensor{Type: onnx.Bool, Shape: []int{4}, Data: []bool{true, true, false, false}},
			&Tensor{Type: onnx.Bool, Shape: []int{4}, Data: []bool{true, false, true, false}}, []bool{false, true, true, false}},
		{"Mean", nil, f32s([]int{3}, 1, 2, 3), f32s([]int{1}, 4), []float32{2.5, 3, 3.5}},
		{"Sum", nil, i32(1, 2), i32(10, 20), []int32{11, 22}},
	} {
		opset := int64(18)
		out, err := runOp(t, opset, c.op, c.attrs, 1, c.a, c.b)
		if err != nil {
			t.Fatalf("%s: %v", c.op, err)
		}
		got := out[0]
		switch w := c.want.(type) {
		case []int32:
			for i := range w {
				if got.Data.([]int32)[i] != w[i] {
					t.Errorf("%s %v: %v, want %v", c.op, c.attrs, got.Data, w)
					break
				}
			}
		case []uint8:
			for i := range w {
				if got.Data.([]uint8)[i] != w[i] {
					t.Errorf("%s: %v, want %v", c.op, got.Data, w)
					break
				}
			}
		case []bool:
			for i := range w {
				if got.Data.([]bool)[i] != w[i] {
					t.Errorf("%s: %v, want %v", c.op, got.Data, w)
					break
				}
			}
		case []float32:
			want := make([]float64, len(w))
			for i, v := range w {
				want[i] = float64(v)
			}
			checkClose(t, c.op, got, want, 1e-6)
		}
	}
	if _, err := runOp(t, 18, "Mod", nil, 1, i32(1), i32(0)); err == nil {
		t.Error("integer Mod by zero accepted")
	}
	if _, err := runOp(t, 18, "Div", nil, 1, i32(1), i32(0)); err == nil {
		t.Error("integer Div by zero accepted")
	}
}

func TestReduceAndMoreOps(t *testing.T) {
	x := f32s([]int{2, 3, 2}, 1, -2, 3, 0.5, -1, 4, 2, 2, -3, 1, 0.25, -0.5)
	d := x.Data.([]float32)
	// Reductions over axis 1, keepdims 0 (opset 13: axes attribute).
	red := func(f func(v []float64) float64) []float64 {
		var out []float64
		for a := range 2 {
			for c := range 2 {
				var v []float64
				for b := range 3 {
					v = append(v, float64(d[(a*3+b)*2+c]))
				}
				out = append(out, f(v))
			}
		}
		return out
	}
	sum := func(v []float64, g func(float64) float64) float64 {
		s := 0.0
		for _, e := range v {
			s += g(e)
		}
		return s
	}
	id := func(e float64) float64 { return e }
	for op, f := range map[string]func(v []float64) float64{
		"ReduceMin":       func(v []float64) float64 { return math.Min(v[0], math.Min(v[1], v[2])) },
		"ReduceProd":      func(v []float64) float64 { return v[0] * v[1] * v[2] },
		"ReduceL1":        func(v []float64) float64 { return sum(v, math.Abs) },
		"ReduceL2":        func(v []float64) float64 { return math.Sqrt(sum(v, func(e float64) float64 { return e * e })) },
		"ReduceLogSumExp": func(v []float64) float64 { return math.Log(sum(v, math.Exp)) },
		"ReduceSum":       func(v []float64) float64 { return sum(v, id) },
	} {
		attrs := []*onnx.Attribute{aInt("keepdims", 0)}
		var in []*Tensor
		if op == "ReduceSum" {
			in = []*Tensor{x, {Type: onnx.Int64, Shape: []int{1}, Data: []int64{1}}}
		} else {
			attrs = append(attrs, aInts("axes", 1))
			in = []*Tensor{x}
		}
		out, err := runOp(t, 13, op, attrs, 1, in...)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		checkClose(t, op, out[0], red(f), 1e-6)
	}
	pos := f32s([]int{2, 3, 2}, 1, 2, 3, 0.5, 1, 4, 2, 2, 3, 1, 0.25, 0.5)
	out, err := runOp(t, 13, "ReduceLogSum", []*onnx.Attribute{aInt("keepdims", 0), aInts("axes", 1)}, 1, pos)
	if err != nil {
		t.Fatal(err)
	}
	pd := pos.Data.([]float32)
	want := []float64{}
	for a := range 2 {
		for c := range 2 {
			s := 0.0
			for b := range 3 {
				s += float64(pd[(a*3+b)*2+c])
			}
			want = append(want, math.Log(s))
		}
	}
	checkClose(t, "ReduceLogSum", out[0], want, 1e-6)

	// ArgMin, keepdims, last index.
	out, err = runOp(t, 13, "ArgMin", []*onnx.Attribute{aInt("axis", 1), aInt("keepdims", 0)}, 1, f32s([]int{2, 3}, 3, 1, 1, 0, 5, -1))
	if err != nil || out[0].Data.([]int64)[0] != 1 || out[0].Data.([]int64)[1] != 2 {
		t.Errorf("ArgMin: %v %v", out, err)
	}
	out, err = runOp(t, 13, "ArgMin", []*onnx.Attribute{aInt("axis", 1), aInt("select_last_index", 1)}, 1, f32s([]int{1, 3}, 3, 1, 1))
	if err != nil || out[0].Data.([]int64)[0] != 2 || len(out[0].Shape) != 2 {
		t.Errorf("ArgMin last: %v %v", out, err)
	}
	// Tile.
	out, err = runOp(t, 13, "Tile", nil, 1, f32s([]int{2, 2}, 1, 2, 3, 4), &Tensor{Type: onnx.Int64, Shape: []int{2}, Data: []int64{2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	tw := []float64{1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4, 1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4}
	checkClose(t, "Tile", out[0], tw, 0)
	// GlobalMaxPool.
	out, err = runOp(t, 13, "GlobalMaxPool", nil, 1, f32s([]int{1, 2, 2, 2}, 1, 5, 2, 3, -1, -4, -2, -3))
	if err != nil {
		t.Fatal(err)
	}
	checkClose(t, "GlobalMaxPool", out[0], []float64{5, -1}, 0)
	// InstanceNormalization: per image and channel.
	xin := f32s([]int{1, 2, 3}, 1, 2, 3, 2, 4, 9)
	out, err = runOp(t, 13, "InstanceNormalization", []*onnx.Attribute{aFloat("epsilon", 0.01)}, 1, xin, f32s([]int{2}, 2, 1), f32s([]int{2}, 0.5, -1))
	if err != nil {
		t.Fatal(err)
	}
	var inw []float64
	xd := xin.Data.([]float32)
	for c, sc := range []float64{2, 1} {
		row := xd[c*3 : c*3+3]
		m := (float64(row[0]) + float64(row[1]) + float64(row[2])) / 3
		v := 0.0
		for _, e := range row {
			v += (float64(e) - m) * (float64(e) - m)
		}
		v /= 3
		for _, e := range row {
			inw = append(inw, (float64(e)-m)/math.Sqrt(v+0.01)*sc+[]float64{0.5, -1}[c])
		}
	}
	checkClose(t, "InstanceNormalization", out[0], inw, 1e-5)
	// CastLike, Dropout (inference), Identity, Upsample (opset 9).
	out, err = runOp(t, 15, "CastLike", nil, 1, f32s([]int{3}, 1.7, -2.5, 3), &Tensor{Type: onnx.Int32, Shape: []int{1}, Data: []int32{0}})
	if err != nil || out[0].Type != onnx.Int32 || out[0].Data.([]int32)[0] != 1 || out[0].Data.([]int32)[1] != -2 {
		t.Errorf("CastLike: %v %v", out, err)
	}
	out, err = runOp(t, 13, "Dropout", nil, 2, f32s([]int{3}, 1, 2, 3))
	if err != nil || out[0].Data.([]float32)[2] != 3 || !out[1].Data.([]bool)[0] {
		t.Errorf("Dropout: %v %v", out, err)
	}
	out, err = runOp(t, 9, "Upsample", []*onnx.Attribute{aStr("mode", "nearest")}, 1, f32s([]int{1, 1, 2, 2}, 1, 2, 3, 4), f32s([]int{4}, 1, 1, 2, 3))
	if err != nil {
		t.Fatal(err)
	}
	checkClose(t, "Upsample", out[0], []float64{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}, 0)
}

// TestResizeModes checks Resize on small cases worked out by hand.
func TestResizeModes(t *testing.T) {
	x := f32s([]int{1, 1, 1, 4}, 0, 10, 20, 30)
	empty := &Tensor{Type: onnx.Float, Shape: []int{0}, Data: []float32{}}
	sizes := func(n int64) *Tensor { return &Tensor{Type: onnx.Int64, Shape: []int{4}, Data: []int64{1, 1, 1, n}} }
	scales := func(s float32) *Tensor { return f32s([]int{4}, 1, 1, 1, s) }
	for _, c := range []struct {
		name  string
		attrs []*onnx.Attribute
		in    []*Tensor
		want  []float64
	}{
		// align_corners, 4 -> 7: x_orig = i·3/6, exact halves.
		{"linear align_corners", []*onnx.Attribute{aStr("mode", "linear"), aStr("coordinate_transformation_mode", "align_corners")},
			[]*Tensor{x, empty, empty, sizes(7)}, []float64{0, 5, 10, 15, 20, 25, 30}},
		// half_pixel, 4 -> 2 (scale 0.5): x_orig = (i+0.5)·2 - 0.5 = 0.5, 2.5.
		{"linear half_pixel down", []*onnx.Attribute{aStr("mode", "linear")}, []*Tensor{x, empty, scales(0.5)}, []float64{5, 25}},
		// asymmetric floor, 4 -> 8: x_orig = i/2.
		{"nearest asymmetric floor", []*onnx.Attribute{aStr("mode", "nearest"), aStr("coordinate_transformation_mode", "asymmetric"), aStr("nearest_mode", "floor")},
			[]*Tensor{x, empty, scales(2)}, []float64{0, 0, 10, 10, 20, 20, 30, 30}},
		// half_pixel, 4 -> 8, round_prefer_ceil: x_orig = (i+0.5)/2 - 0.5 = -0.25, 0.25, 0.75, ...
		{"nearest round_prefer_ceil", []*onnx.Attribute{aStr("mode", "nearest"), aStr("nearest_mode", "round_prefer_ceil")},
			[]*Tensor{x, empty, scales(2)}, []float64{0, 0, 10, 10, 20, 20, 30, 30}},
		// tf_crop_and_resize on roi [0.25, 0.75] of the last axis, 3 outputs:
		// x_orig = 0.75, 1.5, 2.25.
		{"linear tf_crop_and_resize", []*onnx.Attribute{aStr("mode", "linear"), aStr("coordinate_transformation_mode", "tf_crop_and_resize")},
			[]*Tensor{x, f32s([]int{8}, 0, 0, 0, 0.25, 1, 1, 1, 0.75), empty, sizes(3)}, []float64{7.5, 15, 22.5}},
	} {
		out, err := runOp(t, 13, "Resize", c.attrs, 1, c.in...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		checkClose(t, c.name, out[0], c.want, 1e-6)
	}
	// Cubic (a = -0.75), asymmetric, 4 -> 8: at whole positions the input
	// itself, and inside a linear ramp the ramp (cubic convolution
	// reproduces linear functions where no tap is clamped at an edge).
	out, err := runOp(t, 13, "Resize", []*onnx.Attribute{aStr("mode", "cubic"), aStr("coordinate_transformation_mode", "asymmetric")},
		1, x, empty, scales(2))
	if err != nil {
		t.Fatal(err)
	}
	g := out[0].Data.([]float32)
	for i, want := range map[int]float64{0: 0, 2: 10, 3: 15, 4: 20, 6: 30} {
		if math.Abs(float64(g[i])-want) > 1e-4 {
			t.Errorf("cubic: [%d] = %v, want %v", i, g[i], want)
		}
	}
}

// TestReduceMeanIntegers: integer means are summed and divided in 64 bits
// (the fuzzer found uint8's 256-value mean dividing by uint8(256) = 0), and
// the mean of an empty set is an error.
func TestReduceMeanIntegers(t *testing.T) {
	u := make([]uint8, 256)
	for i := range u {
		u[i] = 200
	}
	got, err := runOp(t, 13, "ReduceMean", []*onnx.Attribute{aInt("keepdims", 0)}, 1, &Tensor{Type: onnx.Uint8, Shape: []int{256}, Data: u})
	if err != nil {
		t.Fatal(err)
	}
	if v := got[0].Data.([]uint8); len(v) != 1 || v[0] != 200 {
		t.Errorf("uint8 mean of 256 x 200 = %v, want [200]", v)
	}
	got, err = runOp(t, 13, "ReduceMean", []*onnx.Attribute{aInt("keepdims", 0)}, 1, &Tensor{Type: onnx.Int8, Shape: []int{3}, Data: []int8{-100, -100, -99}})
	if err != nil {
		t.Fatal(err)
	}
	if v := got[0].Data.([]int8); len(v) != 1 || v[0] != -99 {
		t.Errorf("int8 mean of -100, -100, -99 = %v, want [-99] (truncated toward zero)", v)
	}
	if _, err := runOp(t, 13, "ReduceMean", nil, 1, &Tensor{Type: onnx.Int32, Shape: []int{0, 2}, Data: []int32{}}); err == nil || internalError(err) {
		t.Errorf("mean over an empty axis: %v, want an ordinary error", err)
	}
}
