package exec

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeai-go/edgeai/models/onnx"
)

// runForced runs model m on in at the given threads; forced makes every
// splittable loop go through the pool however small (Executor.forcePar).
func runForced(t *testing.T, m *onnx.Model, in []*Tensor, threads int, forced bool) []*Tensor {
	t.Helper()
	e, err := New(m, Options{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.forcePar = forced
	var out []*Tensor
	for range 2 { // the second run reuses the arena's buffers
		if out, err = e.Run(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// sameBits reports the first element where a and b differ bit for bit.
func sameBits(a, b *Tensor) error {
	if fmt.Sprint(a.Shape) != fmt.Sprint(b.Shape) || a.Type != b.Type {
		return fmt.Errorf("%v %v vs %v %v", a.Type, a.Shape, b.Type, b.Shape)
	}
	switch x := a.Data.(type) {
	case []float32:
		y := b.Data.([]float32)
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				return fmt.Errorf("[%d] = %v vs %v", i, x[i], y[i])
			}
		}
	case []int32:
		y := b.Data.([]int32)
		for i := range x {
			if x[i] != y[i] {
				return fmt.Errorf("[%d] = %d vs %d", i, x[i], y[i])
			}
		}
	default:
		if fmt.Sprint(a.Data) != fmt.Sprint(b.Data) {
			return fmt.Errorf("data differ")
		}
	}
	return nil
}

// TestQuantThreadsExact checks that the integer convolutions and products
// give bit-identical results at 1 thread and at 2 and 3 threads with every
// loop split across the pool, on awkward shapes (odd sizes, depthwise with
// strides and dilations, grouped, pointwise, thin products), and that they
// match the definition.
func TestQuantThreadsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	type conv struct{ n, c, h, w, m, kh, kw, group, stride, pad, dil int }
	cases := []conv{
		{1, 7, 13, 17, 7, 5, 5, 7, 1, 2, 1},    // depthwise 5×5
		{2, 5, 9, 11, 5, 3, 3, 5, 2, 1, 1},     // depthwise, stride 2, two images
		{1, 6, 10, 23, 6, 3, 3, 6, 1, 2, 2},    // depthwise, dilated
		{1, 9, 12, 7, 9, 3, 1, 9, 1, 1, 1},     // depthwise, 3×1
		{1, 6, 9, 9, 9, 3, 3, 3, 1, 1, 1},      // grouped, 2 channels a group
		{1, 13, 11, 19, 37, 1, 1, 1, 1, 0, 1},  // pointwise
		{1, 3, 21, 15, 5, 3, 3, 1, 2, 1, 1},    // few filters, strided
		{1, 17, 6, 41, 70, 3, 3, 1, 1, 1, 1},   // more filters than a tile
		{1, 2, 1, 1, 3, 1, 1, 1, 1, 0, 1},      // one pixel
		{1, 48, 4, 4, 48, 17, 17, 48, 1, 8, 1}, // depthwise, a window of 289 taps (the product path)
	}
	for ci, cs := range cases {
		for _, types := range [][2]onnx.DataType{{onnx.Uint8, onnx.Int8}, {onnx.Int8, onnx.Uint8}} {
			x := randQ(r, types[0], cs.n, cs.c, cs.h, cs.w)
			w := randQ(r, types[1], cs.m, cs.c/cs.group, cs.kh, cs.kw)
			xzp := int64(r.IntN(256))
			if types[0] == onnx.Int8 {
				xzp -= 128
			}
			wz := make([]int64, cs.m)
			wzpT := randQ(r, types[1], cs.m)
			for i := range wz {
				wz[i] = qval(wzpT, i)
			}
			want, shape := refConvInteger(x, w, xzp, wz, cs.group, cs.stride, cs.pad, cs.dil)
			attrs := []*onnx.Attribute{aInt("group", int64(cs.group)), aInts("strides", int64(cs.stride), int64(cs.stride)),
				aInts("pads", int64(cs.pad), int64(cs.pad), int64(cs.pad), int64(cs.pad)), aInts("dilations", int64(cs.dil), int64(cs.dil))}
			in := []*Tensor{x, w, scalarQ(types[0], xzp), wzpT}
			m := oneNodeModel(10, "ConvInteger", attrs, 1, in)
			one := runForced(t, m, in, 1, false)[0]
			if fmt.Sprint(one.Shape) != fmt.Sprint(shape) {
				t.Fatalf("case %d: shape %v, want %v", ci, one.Shape, shape)
			}
			for i, v := range one.Data.([]int32) {
				if int64(v) != want[i] {
					t.Fatalf("case %d %v: [%d] = %d, want %d", ci, types, i, v, want[i])
				}
			}
			for _, threads := range []int{2, 3} {
				if err := sameBits(runForced(t, m, in, threads, true)[0], one); err != nil {
					t.Fatalf("case %d %v, %d threads: %v", ci, types, threads, err)
				}
			}
		}
	}
	// MatMulInteger, thin and awkward.
	for _, s := range [][3]int{{1, 37, 5}, {7, 129, 33}, {40, 19, 120}, {3, 300, 1}} {
		a := randQ(r, onnx.Uint8, s[0], s[1])
		b := randQ(r, onnx.Int8, s[1], s[2])
		in := []*Tensor{a, b, scalarQ(onnx.Uint8, 131), scalarQ(onnx.Int8, -3)}
		m := oneNodeModel(10, "MatMulInteger", nil, 1, in)
		one := runForced(t, m, in, 1, false)[0]
		for _, threads := range []int{2, 3} {
			if err := sameBits(runForced(t, m, in, threads, true)[0], one); err != nil {
				t.Fatalf("MatMulInteger %v, %d threads: %v", s, threads, err)
			}
		}
	}
}

// TestFusedConvIntegerThreadsExact builds dynamic quantization's chain
// (DynamicQuantizeLinear → ConvInteger → Cast → Mul by the scales → Relu),
// which the executor fuses into one node with a float epilogue, and checks
// that 2 and 3 threads with every loop split give the bits of 1 thread,
// for depthwise and ordinary convolutions.
func TestFusedConvIntegerThreadsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, cs := range []struct{ c, h, w, m, k, group, stride int }{
		{24, 11, 29, 24, 5, 24, 1},
		{16, 15, 13, 16, 3, 16, 2},
		{12, 9, 31, 20, 3, 1, 1},
		{10, 8, 8, 33, 1, 1, 1},
	} {
		x := &Tensor{Type: onnx.Float, Shape: []int{1, cs.c, cs.h, cs.w}, Data: make([]float32, cs.c*cs.h*cs.w)}
		for i := range x.Data.([]float32) {
			x.Data.([]float32)[i] = r.Float32()*4 - 1.5
		}
		w := randQ(r, onnx.Int8, cs.m, cs.c/cs.group, cs.k, cs.k)
		ws := make([]float32, cs.m)
		for i := range ws {
			ws[i] = 0.001 + r.Float32()*0.01
		}
		wsDims := []int64{int64(cs.m), 1, 1}
		g := &onnx.Graph{
			Inputs:  []*onnx.ValueInfo{{Name: "x", Type: &onnx.TypeInfo{Kind: onnx.KindTensor, Elem: onnx.Float, HasShape: true, Shape: dims(x.Shape)}}},
			Outputs: []*onnx.ValueInfo{{Name: "y"}},
			Initializers: []*onnx.Tensor{
				{Name: "w", Type: onnx.Int8, Dims: []int64{int64(cs.m), int64(cs.c / cs.group), int64(cs.k), int64(cs.k)}, Raw: reinterpret[int8, byte](w.Data.([]int8))},
				{Name: "wz", Type: onnx.Int8, Dims: []int64{}, Raw: []byte{0}},
				{Name: "ws", Type: onnx.Float, Dims: wsDims, Raw: f32Raw(ws)},
			},
			Nodes: []*onnx.Node{
				{OpType: "DynamicQuantizeLinear", Inputs: []string{"x"}, Outputs: []string{"xq", "xs", "xz"}},
				{OpType: "Mul", Inputs: []string{"xs", "ws"}, Outputs: []string{"s"}},
				{OpType: "ConvInteger", Inputs: []string{"xq", "w", "xz", "wz"}, Outputs: []string{"ci"}, Attributes: []*onnx.Attribute{
					aInt("group", int64(cs.group)), aInts("strides", int64(cs.stride), int64(cs.stride)),
					aInts("pads", int64(cs.k/2), int64(cs.k/2), int64(cs.k/2), int64(cs.k/2))}},
				{OpType: "Cast", Inputs: []string{"ci"}, Outputs: []string{"cf"}, Attributes: []*onnx.Attribute{aInt("to", int64(onnx.Float))}},
				{OpType: "Mul", Inputs: []string{"cf", "s"}, Outputs: []string{"y0"}},
				{OpType: "Relu", Inputs: []string{"y0"}, Outputs: []string{"y"}},
			},
		}
		m := &onnx.Model{IRVersion: 8, OpsetImports: []onnx.OpsetID{{Domain: "", Version: 13}}, Graph: g}
		e, err := New(m, Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		fused := false
		for _, n := range e.main.nodes {
			if k, ok := n.k.(*convInteger); ok && k.float && len(k.epi) > 0 {
				fused = true
			}
		}
		e.Close()
		if !fused {
			t.Fatalf("%+v: the chain was not fused into ConvInteger with an epilogue", cs)
		}
		in := []*Tensor{x}
		one := runForced(t, m, in, 1, false)[0]
		// The definition: the quantized input (DynamicQuantizeLinear
		// alone), the integer sums, then float32(sum)·(x_scale·w_scale),
		// each step rounded to float32, and Relu.
		q := runForced(t, oneNodeModel(13, "DynamicQuantizeLinear", nil, 3, in), in, 1, false)
		xq, xs, xz := q[0], q[1].Data.([]float32)[0], qval(q[2], 0)
		acc, _ := refConvInteger(xq, w, xz, []int64{0}, cs.group, cs.stride, cs.k/2, 1)
		ohw := len(acc) / cs.m
		for i, a := range acc {
			v := max(float32(a)*(xs*ws[i/ohw]), 0)
			if got := one.Data.([]float32)[i]; math.Float32bits(got) != math.Float32bits(v) {
				t.Fatalf("%+v: [%d] = %v, want %v", cs, i, got, v)
			}
		}
		for _, threads := range []int{2, 3} {
			if err := sameBits(runForced(t, m, in, threads, true)[0], one); err != nil {
				t.Fatalf("%+v, %d threads: %v", cs, threads, err)
			}
		}
	}
}

func dims(s []int) []onnx.Dim {
	d := make([]onnx.Dim, len(s))
	for i, v := range s {
		d[i] = onnx.Dim{Value: int64(v), Known: true}
	}
	return d
}

func f32Raw(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// TestFloatThreadsExact checks that Conv (blocks of output rows or
// pixels), ConvTranspose (col2im split by output rows), nearest Resize and
// AveragePool give the bits of 1 thread at 2 and
// 3 threads with every loop split.
func TestFloatThreadsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	randF := func(shape ...int) *Tensor {
		d := make([]float32, numel(shape))
		for i := range d {
			d[i] = r.Float32()*2 - 1
		}
		return &Tensor{Type: onnx.Float, Shape: shape, Data: d}
	}
	cases := []struct {
		op    string
		attrs []*onnx.Attribute
		in    []*Tensor
	}{
		{"ConvTranspose", []*onnx.Attribute{aInts("strides", 2, 2), aInts("pads", 1, 1, 1, 1)}, []*Tensor{randF(1, 6, 7, 9), randF(6, 1, 4, 4), randF(1)}},
		{"ConvTranspose", []*onnx.Attribute{aInts("strides", 2, 3)}, []*Tensor{randF(2, 4, 5, 6), randF(4, 3, 3, 3)}},
		{"Conv", []*onnx.Attribute{aInts("pads", 1, 1, 1, 1)}, []*Tensor{randF(1, 5, 19, 23), randF(7, 5, 3, 3), randF(7)}},
		{"Conv", []*onnx.Attribute{aInts("pads", 1, 1, 1, 1), aInts("strides", 2, 2)}, []*Tensor{randF(1, 4, 17, 33), randF(6, 4, 3, 3)}},
		{"Conv", nil, []*Tensor{randF(1, 4, 6, 70), randF(6, 4, 1, 1)}},
		{"AveragePool", []*onnx.Attribute{aInts("kernel_shape", 3, 2), aInts("strides", 3, 2)}, []*Tensor{randF(1, 13, 9, 11)}},
		{"Resize", []*onnx.Attribute{&onnx.Attribute{Name: "mode", Type: onnx.AttrString, S: []byte("nearest")}},
			[]*Tensor{randF(1, 5, 7, 9), {Type: onnx.Float, Shape: []int{0}, Data: []float32{}}, f32s([]int{4}, 1, 1, 2, 2)}},
	}
	for _, c := range cases {
		m := oneNodeModel(13, c.op, c.attrs, 1, c.in)
		one := runForced(t, m, c.in, 1, false)[0]
		for _, threads := range []int{2, 3} {
			if err := sameBits(runForced(t, m, c.in, threads, true)[0], one); err != nil {
				t.Fatalf("%s %v, %d threads: %v", c.op, c.in[0].Shape, threads, err)
			}
		}
	}
}
