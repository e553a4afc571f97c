package exec

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/onnx"
)

// testCtx returns a run context for calling kernels directly.
func testCtx(t testing.TB, threads int) *runCtx {
	e := &Executor{limit: DefaultMaxTensorBytes, pool: parallel.New(threads)}
	t.Cleanup(e.pool.Close)
	return &runCtx{runState: &runState{}, e: e, ctx: context.Background()}
}

func randTensor(r *rand.Rand, shape ...int) *Tensor {
	d := make([]float32, numel(shape))
	for i := range d {
		d[i] = float32(r.NormFloat64())
	}
	return &Tensor{Type: onnx.Float, Shape: shape, Data: d}
}

// refConv is a direct evaluation of the definition of Conv (2-D, NCHW).
func refConv(x, w *Tensor, bias []float32, group int, g *geometry) []float64 {
	n, c, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	m, kh, kw := w.Shape[0], w.Shape[2], w.Shape[3]
	oh, ow := g.out[0], g.out[1]
	cg, mg := c/group, m/group
	xd, wdat := x.Data.([]float32), w.Data.([]float32)
	out := make([]float64, n*m*oh*ow)
	for b := range n {
		for oc := range m {
			gi := oc / mg
			for oy := range oh {
				for ox := range ow {
					s := 0.0
					if bias != nil {
						s = float64(bias[oc])
					}
					for ci := range cg {
						for ky := range kh {
							y := oy*g.stride[0] - g.padBegin[0] + ky*g.dilation[0]
							if y < 0 || y >= h {
								continue
							}
							for kx := range kw {
								xx := ox*g.stride[1] - g.padBegin[1] + kx*g.dilation[1]
								if xx < 0 || xx >= wd {
									continue
								}
								s += float64(wdat[((oc*cg+ci)*kh+ky)*kw+kx]) * float64(xd[((b*c+gi*cg+ci)*h+y)*wd+xx])
							}
						}
					}
					out[((b*m+oc)*oh+oy)*ow+ox] = s
				}
			}
		}
	}
	return out
}

// TestConvPaths checks Conv against the definition on shapes that take
// each of its paths (pointwise GEMM, depthwise, in-place row tiles, wide
// rows, im2col), with groups, dilations, padding and strides, with the
// weights packed at load or at run, on 1 and 2 threads, for every SGEMM
// implementation.
func TestConvPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	type tc struct {
		n, c, h, w, m, kh, kw, group int
		strides, dil, pads           []int
	}
	cases := []tc{
		{1, 8, 5, 70, 16, 1, 1, 1, nil, nil, nil},                              // pointwise
		{2, 6, 9, 40, 6, 3, 3, 6, nil, nil, []int{1, 1, 1, 1}},                 // depthwise
		{1, 4, 6, 19, 4, 5, 5, 4, []int{2, 1}, nil, []int{2, 2, 2, 2}},         // depthwise, stride 2
		{1, 5, 7, 70, 11, 3, 3, 1, nil, nil, []int{1, 1, 1, 1}},                // row tiles (wide for NR 32)
		{1, 3, 5, 64, 10, 3, 3, 1, nil, nil, []int{1, 1, 1, 1}},                // row tiles
		{1, 3, 8, 66, 9, 3, 3, 1, []int{2, 1}, []int{1, 2}, []int{1, 2, 0, 2}}, // row tiles, row stride 2
		{1, 6, 9, 8, 12, 3, 1, 1, nil, nil, []int{1, 0, 1, 0}},                 // wide
		{2, 4, 5, 10, 8, 1, 3, 2, nil, nil, []int{0, 1, 0, 1}},                 // wide, groups
		{1, 4, 9, 11, 7, 3, 3, 1, []int{2, 2}, nil, []int{1, 1, 1, 1}},         // im2col
		{1, 6, 7, 9, 6, 3, 2, 3, []int{1, 2}, []int{2, 1}, []int{0, 1, 2, 0}},  // im2col, groups
	}
	for _, g := range kernels.SgemmImpls() {
		for _, threads := range []int{1, 2} {
			rc := testCtx(t, threads)
			for ci, c := range cases {
				x := randTensor(r, c.n, c.c, c.h, c.w)
				w := randTensor(r, c.m, c.c/c.group, c.kh, c.kw)
				bias := randTensor(r, c.m)
				win := window{strides: c.strides, dilations: c.dil, pads: c.pads, autoPad: "NOTSET"}
				geo, err := win.resolve(x.Shape[2:], w.Shape[2:], false)
				if err != nil {
					t.Fatal(err)
				}
				want := refConv(x, w, bias.Data.([]float32), c.group, geo)
				for _, packed := range []bool{false, true} {
					k := &conv{win: win, group: c.group, g: g}
					if packed && !(c.c/c.group == 1 && c.m/c.group == 1 && c.group > 1) {
						mg, kk := c.m/c.group, numel(w.Shape[1:])
						for gi := range c.group {
							k.pw = append(k.pw, packA(g, w.Data.([]float32)[gi*mg*kk:(gi+1)*mg*kk], kk, false, mg, kk, 1))
						}
					}
					out := make([]*Tensor, 1)
					if err := k.run(rc, []*Tensor{x, w, bias}, out); err != nil {
						t.Fatal(err)
					}
					got := out[0].Data.([]float32)
					for i, v := range want {
						if d := math.Abs(float64(got[i]) - v); d > 1e-4*(1+math.Abs(v)) {
							t.Fatalf("%s, %d threads, case %d (packed %v): [%d] = %g, want %g", g.Name(), threads, ci, packed, i, got[i], v)
						}
					}
					rc.release(out[0])
				}
			}
		}
	}
}

// TestConvEpilogue checks that a fused epilogue computes what the nodes it
// replaces compute, step by step.
func TestConvEpilogue(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	rc := testCtx(t, 1)
	x := randTensor(r, 1, 4, 6, 40)
	w := randTensor(r, 5, 4, 3, 3)
	win := window{pads: []int{1, 1, 1, 1}, autoPad: "NOTSET"}
	plain := &conv{win: win, group: 1, g: kernels.CurrentSgemm()}
	out := make([]*Tensor, 1)
	if err := plain.run(rc, []*Tensor{x, w}, out); err != nil {
		t.Fatal(err)
	}
	ref := append([]float32{}, out[0].Data.([]float32)...)
	vec := []float32{0.5, -1, 2, 0.25, 3}
	bnW := []float32{1, 2, 3, 4, 5}
	steps := epilogue{
		{kind: epiMul, v: vec}, {kind: epiAdd, v: vec}, {kind: epiHardSwish, alpha: 3, beta: 6},
		{kind: epiBN, v: vec, w: bnW}, {kind: epiClip, lo: -1, hi: 4}, {kind: epiLeakyRelu, alpha: 0.2},
		{kind: epiSubFrom, v: vec}, {kind: epiMax, v: vec}, {kind: epiSigmoid},
	}
	fused := &conv{win: win, group: 1, g: kernels.CurrentSgemm(), epi: steps}
	if err := fused.run(rc, []*Tensor{x, w}, out); err != nil {
		t.Fatal(err)
	}
	got := out[0].Data.([]float32)
	hw := 6 * 40
	for i, v := range ref {
		ch := i / hw
		e := v
		for _, st := range steps {
			switch st.kind {
			case epiMul:
				e *= st.v[ch]
			case epiAdd:
				e += st.v[ch]
			case epiHardSwish:
				e = float32(e*min(max(e+3, 0), 6)) / 6
			case epiBN:
				e = float32(e*st.v[ch]) + st.w[ch]
			case epiClip:
				e = min(max(e, st.lo), st.hi)
			case epiLeakyRelu:
				if e < 0 {
					e *= st.alpha
				}
			case epiSubFrom:
				e = st.v[ch] - e
			case epiMax:
				e = max(e, st.v[ch])
			case epiSigmoid:
				e = 1 / (1 + kernels.Exp(-e))
			}
		}
		if got[i] != e {
			t.Fatalf("[%d] = %v, step by step %v", i, got[i], e)
		}
	}
}

// TestConvTranspose checks ConvTranspose against its definition (every
// input pixel scatters its weighted kernel into the output), with groups,
// strides, dilations, padding and output padding, 1-D and 2-D.
func TestConvTranspose(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	type tc struct {
		n, c, h, w, mg, kh, kw, group int
		strides, dil, pads, outPad    []int
	}
	for ci, c := range []tc{
		{1, 4, 5, 6, 3, 2, 2, 1, []int{2, 2}, nil, nil, nil},
		{2, 6, 4, 7, 2, 3, 3, 3, []int{2, 1}, []int{1, 2}, []int{1, 0, 0, 1}, []int{1, 0}},
		{1, 2, 1, 9, 4, 1, 4, 1, []int{1, 3}, nil, []int{0, 2, 0, 1}, nil},
	} {
		x := randTensor(r, c.n, c.c, c.h, c.w)
		w := randTensor(r, c.c, c.mg, c.kh, c.kw)
		m := c.mg * c.group
		bias := randTensor(r, m)
		k := &convTranspose{win: window{strides: c.strides, dilations: c.dil, pads: c.pads, autoPad: "NOTSET"},
			group: c.group, outPad: c.outPad, g: kernels.CurrentSgemm()}
		rc := testCtx(t, 2)
		out := make([]*Tensor, 1)
		if err := k.run(rc, []*Tensor{x, w, bias}, out); err != nil {
			t.Fatal(err)
		}
		at := func(s []int, i, def int) int {
			if s == nil {
				return def
			}
			return s[i]
		}
		oh := at(c.strides, 0, 1)*(c.h-1) + at(c.outPad, 0, 0) + (c.kh-1)*at(c.dil, 0, 1) + 1 - at(c.pads, 0, 0) - at(c.pads, 2, 0)
		ow := at(c.strides, 1, 1)*(c.w-1) + at(c.outPad, 1, 0) + (c.kw-1)*at(c.dil, 1, 1) + 1 - at(c.pads, 1, 0) - at(c.pads, 3, 0)
		if got := out[0].Shape; got[2] != oh || got[3] != ow || got[1] != m {
			t.Fatalf("case %d: shape %v, want [%d %d %d %d]", ci, got, c.n, m, oh, ow)
		}
		want := make([]float64, c.n*m*oh*ow)
		for b := range c.n {
			for o := range m {
				for i := range oh * ow {
					want[(b*m+o)*oh*ow+i] = float64(bias.Data.([]float32)[o])
				}
			}
			for ch := range c.c {
				gi := ch / (c.c / c.group)
				for j := range c.mg {
					o := gi*c.mg + j
					for iy := range c.h {
						for ix := range c.w {
							xv := float64(x.Data.([]float32)[((b*c.c+ch)*c.h+iy)*c.w+ix])
							for ky := range c.kh {
								for kx := range c.kw {
									oy := iy*at(c.strides, 0, 1) - at(c.pads, 0, 0) + ky*at(c.dil, 0, 1)
									ox := ix*at(c.strides, 1, 1) - at(c.pads, 1, 0) + kx*at(c.dil, 1, 1)
									if oy < 0 || oy >= oh || ox < 0 || ox >= ow {
										continue
									}
									want[((b*m+o)*oh+oy)*ow+ox] += xv * float64(w.Data.([]float32)[((ch*c.mg+j)*c.kh+ky)*c.kw+kx])
								}
							}
						}
					}
				}
			}
		}
		got := out[0].Data.([]float32)
		for i, v := range want {
			if d := math.Abs(float64(got[i]) - v); d > 1e-4*(1+math.Abs(v)) {
				t.Fatalf("case %d: [%d] = %g, want %g", ci, i, got[i], v)
			}
		}
	}
}
