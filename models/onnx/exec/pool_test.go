package exec

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/edgeai-go/edgeai/models/onnx"
)

// TestMaxPoolPaths compares the float32 max-pooling path (one output) with
// the general one (asked for indices too) over random geometries, padding
// as wide as the window included (the fuzzer found the fast path slicing
// out of range when a tap's left padding was wider than the output).
func TestMaxPoolPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 400 {
		h, w := 1+r.IntN(5), 1+r.IntN(9)
		kh, kw := 1+r.IntN(4), 1+r.IntN(30)
		pads := []int64{int64(r.IntN(kh)), int64(r.IntN(kw)), int64(r.IntN(kh)), int64(r.IntN(kw))}
		strides := []int64{int64(1 + r.IntN(3)), int64(1 + r.IntN(3))}
		if i%4 == 0 {
			// A 2-wide window of stride 2 without padding along the width
			// (its own path), the right padding sometimes wider.
			kw, pads[1], pads[3], strides[1] = 2, 0, int64(r.IntN(2)), 2
			if i%8 == 0 {
				w = 16 + r.IntN(60) // the SIMD pass of kernels.MaxPairs
			}
			if i%16 == 4 {
				// 2×2 or 1×2 windows of their own stride, no padding
				// (maxPool2), rows of any width and height.
				kh = 1 + r.IntN(2)
				pads, strides = []int64{0, 0, 0, 0}, []int64{int64(kh), 2}
				h, w = kh+r.IntN(6), 2+r.IntN(40)
			}
		}
		if int64(h)+pads[0]+pads[2] < int64(kh) || int64(w)+pads[1]+pads[3] < int64(kw) {
			continue
		}
		x := make([]float32, h*w)
		for j := range x {
			x[j] = float32(r.IntN(100))
		}
		attrs := []*onnx.Attribute{aInts("kernel_shape", int64(kh), int64(kw)), aInts("pads", pads...), aInts("strides", strides...)}
		what := fmt.Sprintf("case %d: %dx%d, kernel %dx%d, pads %v, strides %v", i, h, w, kh, kw, pads, strides)
		fast, err := runOp(t, 12, "MaxPool", attrs, 1, f32s([]int{1, 1, h, w}, x...))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		slow, err := runOp(t, 12, "MaxPool", attrs, 2, f32s([]int{1, 1, h, w}, x...))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		// Outputs come in the node's order: slow[0] is Y, slow[1] the indices.
		if !slices.Equal(fast[0].Shape, slow[0].Shape) || !slices.Equal(fast[0].Data.([]float32), slow[0].Data.([]float32)) {
			t.Fatalf("%s: fast path %v %v, general %v %v", what, fast[0].Shape, fast[0].Data, slow[0].Shape, slow[0].Data)
		}
	}
}

// TestPoolConvReference compares AveragePool (with and without
// count_include_pad) and Conv (every path: depthwise, pointwise, direct,
// im2col) with direct loops over random 2-D geometries whose padding may be
// wider than the window or the output.
func TestPoolConvReference(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for i := range 1500 {
		h, w := 1+r.IntN(6), 1+r.IntN(9)
		if i%3 == 2 {
			// Rows as wide as the GEMM's tiles and wider (the row-tile
			// paths of Conv, strided ones through phase planes).
			h, w = 1+r.IntN(3), 20+r.IntN(120)
		}
		kh, kw := 1+r.IntN(4), 1+r.IntN(12)
		str := [2]int{1 + r.IntN(3), 1 + r.IntN(3)}
		dil := [2]int{1 + r.IntN(2), 1 + r.IntN(2)}
		// Pooling padding is smaller than the window; Conv's may be wider.
		extra := 0
		if i%2 == 1 {
			extra = 4
		}
		pads := [4]int{r.IntN(kh + extra), r.IntN(kw + extra), r.IntN(kh + extra), r.IntN(kw + extra)}
		if i%7 == 0 {
			pads = [4]int{} // Conv reads its input in place
		}
		eh, ew := (kh-1)*dil[0]+1, (kw-1)*dil[1]+1
		if h+pads[0]+pads[2] < eh || w+pads[1]+pads[3] < ew {
			continue
		}
		oh, ow := (h+pads[0]+pads[2]-eh)/str[0]+1, (w+pads[1]+pads[3]-ew)/str[1]+1
		i64 := func(v ...int) []int64 {
			o := make([]int64, len(v))
			for j, x := range v {
				o[j] = int64(x)
			}
			return o
		}
		group := []int{1, 2, 4}[r.IntN(3)]
		c := group * (1 + r.IntN(2))
		m := group * (1 + r.IntN(2))
		x := make([]float32, c*h*w)
		for j := range x {
			x[j] = float32(r.IntN(17) - 8)
		}
		what := fmt.Sprintf("case %d: %dx%dx%d, kernel %dx%d, pads %v, strides %v, dilations %v, %d->%d channels in %d groups", i, c, h, w, kh, kw, pads, str, dil, c, m, group)
		// at returns input (ch, y, x) or ok false in the padding.
		at := func(ch, y, xx int) (float32, bool) {
			if y < 0 || y >= h || xx < 0 || xx >= w {
				return 0, false
			}
			return x[(ch*h+y)*w+xx], true
		}
		for _, countPad := range []int64{0, 1} {
			if extra > 0 {
				break
			}
			attrs := []*onnx.Attribute{aInts("kernel_shape", int64(kh), int64(kw)), aInts("pads", i64(pads[:]...)...),
				aInts("strides", i64(str[:]...)...), aInts("dilations", i64(dil[:]...)...), aInt("count_include_pad", countPad)}
			got, err := runOp(t, 19, "AveragePool", attrs, 1, f32s([]int{1, c, h, w}, x...))
			if err != nil {
				t.Fatalf("%s: AveragePool: %v", what, err)
			}
			want := make([]float64, 0, c*oh*ow)
			for ch := range c {
				for oy := range oh {
					for ox := range ow {
						var sum float64
						n := 0
						for ky := range kh {
							for kx := range kw {
								y, xx := oy*str[0]-pads[0]+ky*dil[0], ox*str[1]-pads[1]+kx*dil[1]
								v, ok := at(ch, y, xx)
								if ok || countPad == 1 && y >= -pads[0] && y < h+pads[2] && xx >= -pads[1] && xx < w+pads[3] {
									n++
								}
								sum += float64(v)
							}
						}
						want = append(want, sum/float64(max(n, 1)))
					}
				}
			}
			checkClose(t, what+fmt.Sprintf(" AveragePool count_include_pad %d", countPad), got[0], want, 1e-5)
		}
		wt := make([]float32, m*(c/group)*kh*kw)
		for j := range wt {
			wt[j] = float32(r.IntN(9) - 4)
		}
		attrs := []*onnx.Attribute{aInts("pads", i64(pads[:]...)...), aInts("strides", i64(str[:]...)...),
			aInts("dilations", i64(dil[:]...)...), aInt("group", int64(group))}
		got, err := runOp(t, 13, "Conv", attrs, 1, f32s([]int{1, c, h, w}, x...), f32s([]int{m, c / group, kh, kw}, wt...))
		if err != nil {
			t.Fatalf("%s: Conv: %v", what, err)
		}
		want := make([]float64, 0, m*oh*ow)
		cg, mg := c/group, m/group
		for oc := range m {
			for oy := range oh {
				for ox := range ow {
					var sum float64
					for ci := range cg {
						for ky := range kh {
							for kx := range kw {
								v, _ := at(oc/mg*cg+ci, oy*str[0]-pads[0]+ky*dil[0], ox*str[1]-pads[1]+kx*dil[1])
								sum += float64(v) * float64(wt[((oc*cg+ci)*kh+ky)*kw+kx])
							}
						}
					}
					want = append(want, sum)
				}
			}
		}
		checkClose(t, what+" Conv", got[0], want, 1e-5)
	}
}

// TestWindowAttrRank gives every windowed operator kernel_shape, strides,
// pads, dilations or output_padding of the wrong length for the input's
// rank (or none): each must be a result or an ordinary error. (The fuzzer
// found MaxUnpool indexing a kernel_shape shorter than the rank.)
func TestWindowAttrRank(t *testing.T) {
	x := f32s([]int{1, 1, 2, 2}, 1, 2, 3, 4)
	w := f32s([]int{1, 1, 1, 1}, 1)
	x8 := &Tensor{Type: onnx.Uint8, Shape: []int{1, 1, 2, 2}, Data: []uint8{1, 2, 3, 4}}
	w8 := &Tensor{Type: onnx.Uint8, Shape: []int{1, 1, 1, 1}, Data: []uint8{1}}
	idx := &Tensor{Type: onnx.Int64, Shape: []int{1, 1, 2, 2}, Data: []int64{0, 1, 2, 3}}
	ops := []struct {
		op string
		in []*Tensor
	}{
		{"MaxPool", []*Tensor{x}}, {"AveragePool", []*Tensor{x}}, {"Conv", []*Tensor{x, w}},
		{"ConvTranspose", []*Tensor{x, w}}, {"ConvInteger", []*Tensor{x8, w8}}, {"MaxUnpool", []*Tensor{x, idx}},
	}
	for _, o := range ops {
		for _, name := range []string{"kernel_shape", "strides", "pads", "dilations", "output_padding", "output_shape"} {
			for _, v := range [][]int64{nil, {1}, {1, 1, 1}, {1, 1, 1, 1, 1}} {
				attrs := []*onnx.Attribute{}
				if name != "kernel_shape" && o.op != "Conv" && o.op != "ConvTranspose" && o.op != "ConvInteger" {
					attrs = append(attrs, aInts("kernel_shape", 1, 1))
				}
				if v != nil {
					attrs = append(attrs, aInts(name, v...))
				}
				_, err := runOp(t, 19, o.op, attrs, 1, o.in...)
				if internalError(err) {
					t.Errorf("%s %s %v: %v", o.op, name, v, err)
				}
			}
		}
	}
}
