package exec

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/onnx"
)

// randQ returns a random int8 or uint8 tensor.
func randQ(r *rand.Rand, typ onnx.DataType, shape ...int) *Tensor {
	n := numel(shape)
	if typ == onnx.Int8 {
		d := make([]int8, n)
		for i := range d {
			d[i] = int8(r.Uint32())
		}
		return &Tensor{Type: typ, Shape: shape, Data: d}
	}
	d := make([]uint8, n)
	for i := range d {
		d[i] = uint8(r.Uint32())
	}
	return &Tensor{Type: typ, Shape: shape, Data: d}
}

func qval(t *Tensor, i int) int64 {
	switch d := t.Data.(type) {
	case []int8:
		return int64(d[i])
	case []uint8:
		return int64(d[i])
	}
	panic("qval")
}

// refConvInteger is ConvInteger by its definition (2-D), in int64.
func refConvInteger(x, w *Tensor, xzp int64, wzp []int64, group, stride, pad, dil int) ([]int64, []int) {
	n, c, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	m, kh, kw := w.Shape[0], w.Shape[2], w.Shape[3]
	oh := (h+2*pad-(kh-1)*dil-1)/stride + 1
	ow := (wd+2*pad-(kw-1)*dil-1)/stride + 1
	cg, mg := c/group, m/group
	out := make([]int64, n*m*oh*ow)
	for b := range n {
		for oc := range m {
			gi := oc / mg
			zw := wzp[min(oc, len(wzp)-1)]
			for oy := range oh {
				for ox := range ow {
					var s int64
					for ci := range cg {
						for ky := range kh {
							for kx := range kw {
								y, xx := oy*stride-pad+ky*dil, ox*stride-pad+kx*dil
								v := xzp
								if y >= 0 && y < h && xx >= 0 && xx < wd {
									v = qval(x, ((b*c+gi*cg+ci)*h+y)*wd+xx)
								}
								s += (v - xzp) * (qval(w, ((oc*cg+ci)*kh+ky)*kw+kx) - zw)
							}
						}
					}
					out[((b*m+oc)*oh+oy)*ow+ox] = s
				}
			}
		}
	}
	return out, []int{n, m, oh, ow}
}

func scalarQ(typ onnx.DataType, v int64) *Tensor {
	if typ == onnx.Int8 {
		return &Tensor{Type: typ, Shape: []int{}, Data: []int8{int8(v)}}
	}
	return &Tensor{Type: typ, Shape: []int{}, Data: []uint8{uint8(v)}}
}

// withQGemm runs fn with every int8 tile implementation forced into the
// executor's integer kernels.
func forceQGemm(e *Executor, g *kernels.QGemm) {
	for _, n := range e.main.nodes {
		switch k := n.k.(type) {
		case *convInteger:
			k.g = g
		case *qmatmul:
			k.g = g
		}
	}
}

// TestConvIntegerRandom checks ConvInteger against its definition on
// random shapes, groups, strides, paddings, dilations, signednesses and
// zero points (scalar and per filter), on every tile implementation, at 1
// and 2 threads.
func TestConvIntegerRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	cases := []struct{ n, c, h, w, m, k, group, stride, pad, dil int }{
		{1, 3, 9, 11, 8, 3, 1, 1, 1, 1},
		{2, 4, 7, 5, 6, 3, 2, 2, 1, 1},
		{1, 8, 6, 6, 8, 3, 8, 1, 1, 1},   // depthwise
		{1, 5, 10, 9, 33, 1, 1, 1, 0, 1}, // pointwise
		{1, 3, 12, 12, 4, 3, 1, 1, 2, 2},
		{1, 2, 5, 40, 3, 5, 1, 3, 2, 1},
		{1, 16, 20, 20, 40, 3, 1, 1, 1, 1},
	}
	for ci, cs := range cases {
		for _, types := range [][2]onnx.DataType{{onnx.Uint8, onnx.Uint8}, {onnx.Uint8, onnx.Int8}, {onnx.Int8, onnx.Int8}, {onnx.Int8, onnx.Uint8}} {
			x := randQ(r, types[0], cs.n, cs.c, cs.h, cs.w)
			w := randQ(r, types[1], cs.m, cs.c/cs.group, cs.k, cs.k)
			xzp := int64(r.IntN(256))
			if types[0] == onnx.Int8 {
				xzp -= 128
			}
			wz := make([]int64, cs.m)
			for i := range wz {
				wz[i] = int64(r.IntN(256))
				if types[1] == onnx.Int8 {
					wz[i] -= 128
				}
			}
			for _, perChannel := range []bool{false, true} {
				zps := wz[:1]
				wzpT := scalarQ(types[1], wz[0])
				if perChannel {
					zps = wz
					wzpT = randQ(r, types[1], cs.m)
					for i, v := range wz {
						switch d := wzpT.Data.(type) {
						case []int8:
							d[i] = int8(v)
						case []uint8:
							d[i] = uint8(v)
						}
					}
				}
				want, shape := refConvInteger(x, w, xzp, zps, cs.group, cs.stride, cs.pad, cs.dil)
				attrs := []*onnx.Attribute{aInt("group", int64(cs.group)), aInts("strides", int64(cs.stride), int64(cs.stride)),
					aInts("pads", int64(cs.pad), int64(cs.pad), int64(cs.pad), int64(cs.pad)), aInts("dilations", int64(cs.dil), int64(cs.dil))}
				in := []*Tensor{x, w, scalarQ(types[0], xzp), wzpT}
				for _, g := range kernels.QGemmImpls() {
					for _, threads := range []int{1, 2} {
						name := fmt.Sprintf("case%d/%v%v/perch%v/%s/t%d", ci, types[0], types[1], perChannel, g.Name(), threads)
						e, err := New(oneNodeModel(10, "ConvInteger", attrs, 1, in), Options{Threads: threads})
						if err != nil {
							t.Fatalf("%s: %v", name, err)
						}
						forceQGemm(e, g)
						out, err := e.Run(context.Background(), in)
						e.Close()
						if err != nil {
							t.Fatalf("%s: %v", name, err)
						}
						got := out[0].Data.([]int32)
						if fmt.Sprint(out[0].Shape) != fmt.Sprint(shape) {
							t.Fatalf("%s: shape %v, want %v", name, out[0].Shape, shape)
						}
						for i := range want {
							if int64(got[i]) != want[i] {
								t.Fatalf("%s: [%d] = %d, want %d", name, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestQLinearConvRandom checks QLinearConv against the float definition:
// requantize(Σ(x-zx)(w-zw) + bias) with the scale x_s·w_s/y_s in float32,
// rounded half to even, saturated.
func TestQLinearConvRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, types := range [][3]onnx.DataType{{onnx.Uint8, onnx.Int8, onnx.Uint8}, {onnx.Int8, onnx.Int8, onnx.Int8}, {onnx.Uint8, onnx.Uint8, onnx.Uint8}} {
		x := randQ(r, types[0], 1, 6, 9, 8)
		w := randQ(r, types[1], 10, 3, 3, 3)
		xzp := scalarQ(types[0], 3)
		wzp := scalarQ(types[1], 0)
		if types[1] == onnx.Uint8 {
			wzp = scalarQ(types[1], 128)
		}
		ws := make([]float32, 10)
		bias := make([]int32, 10)
		for i := range ws {
			ws[i] = 0.001 + r.Float32()*0.01
			bias[i] = int32(r.IntN(2000) - 1000)
		}
		f1 := func(v float32) *Tensor { return &Tensor{Type: onnx.Float, Shape: []int{}, Data: []float32{v}} }
		yzp := scalarQ(types[2], 5)
		in := []*Tensor{x, f1(0.02), xzp, w, {Type: onnx.Float, Shape: []int{10}, Data: ws}, wzp, f1(0.05), yzp, {Type: onnx.Int32, Shape: []int{10}, Data: bias}}
		attrs := []*onnx.Attribute{aInt("group", 2), aInts("pads", 1, 1, 1, 1)}
		zw := qval(wzp, 0)
		acc, shape := refConvInteger(x, w, qval(xzp, 0), []int64{zw}, 2, 1, 1, 1)
		lo, hi := 0.0, 255.0
		if types[2] == onnx.Int8 {
			lo, hi = -128, 127
		}
		for _, g := range kernels.QGemmImpls() {
			e, err := New(oneNodeModel(10, "QLinearConv", attrs, 1, in), Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			forceQGemm(e, g)
			out, err := e.Run(context.Background(), in)
			e.Close()
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(out[0].Shape) != fmt.Sprint(shape) || out[0].Type != types[2] {
				t.Fatalf("output %v", out[0])
			}
			ohw := shape[2] * shape[3]
			for i, a := range acc {
				ch := (i / ohw) % 10
				scale := float32(0.02) * ws[ch] / float32(0.05)
				v := math.RoundToEven(float64(float32(a+int64(bias[ch]))*scale)) + 5
				v = min(max(v, lo), hi)
				if got := qval(out[0], i); got != int64(v) {
					t.Fatalf("%v %s: [%d] = %d, want %v", types, g.Name(), i, got, v)
				}
			}
		}
	}
}
