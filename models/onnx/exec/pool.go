package exec

import (
	"fmt"
	"math"
	"slices"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/onnx"
)

func init() {
	register("MaxPool", 1, 1, 2, func(nc *nodeCtx) (kernel, error) { return newPool(nc, true) })
	register("AveragePool", 1, 1, 1, func(nc *nodeCtx) (kernel, error) { return newPool(nc, false) })
	register("GlobalAveragePool", 1, 1, 1, func(nc *nodeCtx) (kernel, error) { return &globalPool{}, nil })
	register("GlobalMaxPool", 1, 1, 1, func(nc *nodeCtx) (kernel, error) { return &globalPool{isMax: true}, nil })
	register("MaxUnpool", 2, 3, 1, newMaxUnpool)
}

// pool is MaxPool and AveragePool in 1 to 3 spatial dimensions.
type pool struct {
	win          window
	isMax        bool
	ceil         bool
	countPad     bool // AveragePool count_include_pad
	storageOrder int  // MaxPool Indices: 0 row-major, 1 column-major
}

func newPool(nc *nodeCtx, isMax bool) (kernel, error) {
	w, err := readWindow(nc.a)
	if err != nil {
		return nil, err
	}
	if w.kernel == nil {
		return nil, fmt.Errorf("%w: pooling without kernel_shape", onnx.ErrFormat)
	}
	k := &pool{win: w, isMax: isMax, ceil: nc.a.intIn("ceil_mode", 0, 0, 1) == 1}
	if isMax {
		k.storageOrder = nc.a.intIn("storage_order", 0, 0, 1)
	} else {
		k.countPad = nc.a.intIn("count_include_pad", 0, 0, 1) == 1
		if w.dilations != nil {
			for _, d := range w.dilations {
				if d != 1 && nc.opset < 19 {
					return nil, fmt.Errorf("%w: AveragePool dilations before opset 19", onnx.ErrFormat)
				}
			}
		}
	}
	return k, nil
}

func (k *pool) infer(in, out []vinfo) error {
	for i := range out {
		out[i].typ = in[0].typ
	}
	if len(out) > 1 {
		out[1].typ = onnx.Int64
	}
	x := in[0]
	if x.rank >= 0 && (x.rank < 3 || x.rank > 5) {
		return fmt.Errorf("%w: pooling with %d spatial dimensions", ErrUnsupported, x.rank-2)
	}
	if x.rank < 0 {
		return nil
	}
	s := make([]int, x.rank)
	for i := range s {
		s[i] = -1
	}
	copy(s, x.shape[:2])
	if x.known() {
		g, err := k.win.resolve(x.shape[2:], k.win.kernel, k.ceil)
		if err != nil {
			return err
		}
		s = append([]int{x.shape[0], x.shape[1]}, g.out...)
	}
	for i := range out {
		out[i].rank, out[i].shape = len(s), s
	}
	return nil
}

// pad3 pads a spatial vector to three dimensions with v in front.
func pad3(s []int, v int) [3]int {
	var o [3]int
	off := 3 - len(s)
	for i := range o {
		if i < off {
			o[i] = v
		} else {
			o[i] = s[i-off]
		}
	}
	return o
}

func (k *pool) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	r := len(x.Shape)
	if r < 3 || r > 5 {
		return fmt.Errorf("%w: pooling of %v", ErrUnsupported, x.Shape)
	}
	geo, err := k.win.resolve(x.Shape[2:], k.win.kernel, k.ceil)
	if err != nil {
		return err
	}
	n, c := x.Shape[0], x.Shape[1]
	shape := append([]int{n, c}, geo.out...)
	o, err := rc.alloc(x.Type, shape)
	if err != nil {
		return err
	}
	out[0] = o
	var idx []int64
	if len(out) > 1 {
		it, err := rc.alloc(onnx.Int64, shape)
		if err != nil {
			return err
		}
		out[1] = it
		idx = it.Data.([]int64)
	}
	in3, out3 := pad3(geo.in, 1), pad3(geo.out, 1)
	ker, str, dil := pad3(geo.kernel, 1), pad3(geo.stride, 1), pad3(geo.dilation, 1)
	pb, pe := pad3(geo.padBegin, 0), pad3(geo.padEnd, 0)
	isz, osz := in3[0]*in3[1]*in3[2], out3[0]*out3[1]*out3[2]
	var src []float64
	switch d := x.Data.(type) {
	case []float32:
		if !k.isMax || idx != nil {
			break
		}
		od := o.Data.([]float32)
		// 2×2 and 1×2 windows of stride 2 without padding: planes at a
		// time, without the general path's set-up per output row.
		if kh := ker[1]; ker[0] == 1 && (kh == 1 || kh == 2) && ker[2] == 2 && str == [3]int{1, kh, 2} &&
			dil == [3]int{1, 1, 1} && pb == [3]int{} && pe == [3]int{} && 2*out3[2] <= in3[2] && kh*out3[1] <= in3[1] {
			rc.parWork(n*c, n*c*isz, func(lo, hi int) {
				maxPool2(od[lo*osz:hi*osz], d[lo*isz:hi*isz], hi-lo, in3[1], in3[2], out3[1], out3[2], kh)
			})
			return nil
		}
		// The common case: float32 max pooling without indices.
		rc.parWork(n*c, n*c*osz*ker[0]*ker[1]*ker[2], func(lo, hi int) {
			for u := lo; u < hi; u++ {
				maxPoolF32(od[u*osz:(u+1)*osz], d[u*isz:(u+1)*isz], in3, out3, ker, str, dil, pb, rc.stopped)
			}
		})
		return nil
	}
	// float32 planes are widened in the parallel loop, each by the
	// goroutine that pools it.
	// (Each goroutine widens its planes into a buffer of one plane, and
	// a float32 output is written directly: the same values as widening
	// the whole input and narrowing the whole output, without the
	// per-run buffers of both.)
	x32, _ := x.Data.([]float32)
	if x32 == nil {
		if src, err = floatsOf(x); err != nil {
			return fmt.Errorf("%w: pooling of %v", ErrUnsupported, x.Type)
		}
	}
	o32, _ := o.Data.([]float32)
	var res []float64
	if o32 == nil {
		res = make([]float64, numel(shape))
	}
	put := func(i int, v float64) {
		if o32 != nil {
			o32[i] = float32(v)
		} else {
			res[i] = v
		}
	}
	// Planes split across the pool (each output is computed by one
	// goroutine, in the same order: the results do not depend on it).
	taps := ker[0] * ker[1] * ker[2]
	rc.parWork(n*c, n*c*osz*(2*taps+16), func(ulo, uhi int) {
		var buf []float64
		for u := ulo; u < uhi; u++ {
			var plane []float64
			if x32 != nil {
				if buf == nil {
					buf = make([]float64, isz)
				}
				plane = buf
				for i, v := range x32[u*isz : (u+1)*isz] {
					plane[i] = float64(v)
				}
			} else {
				plane = src[u*isz : (u+1)*isz]
			}
			for oz := range out3[0] {
				for oy := range out3[1] {
					if rc.stopped() {
						return // a window can be as large as the image
					}
					for ox := range out3[2] {
						best, bi := math.Inf(-1), -1
						var sum float64
						// Only the taps inside the image are visited (a window
						// may be mostly padding); padding counts for the average
						// only with count_include_pad, and only inside the
						// explicit padding.
						z0, z1 := windowTaps(oz*str[0]-pb[0], dil[0], ker[0], 0, in3[0])
						y0, y1 := windowTaps(oy*str[1]-pb[1], dil[1], ker[1], 0, in3[1])
						x0, x1 := windowTaps(ox*str[2]-pb[2], dil[2], ker[2], 0, in3[2])
						cnt := (z1 - z0) * (y1 - y0) * (x1 - x0)
						if k.countPad {
							cnt = 1
							for d, o := range [3]int{oz, oy, ox} {
								lo, hi := windowTaps(o*str[d]-pb[d], dil[d], ker[d], -pb[d], in3[d]+pe[d])
								cnt *= hi - lo
							}
						}
						for kz := z0; kz < z1; kz++ {
							z := oz*str[0] - pb[0] + kz*dil[0]
							for ky := y0; ky < y1; ky++ {
								y := oy*str[1] - pb[1] + ky*dil[1]
								for kx := x0; kx < x1; kx++ {
									xx := ox*str[2] - pb[2] + kx*dil[2]
									p := (z*in3[1]+y)*in3[2] + xx
									v := plane[p]
									if v > best || bi < 0 {
										best, bi = v, p
									}
									sum += v
								}
							}
						}
						op := (oz*out3[1]+oy)*out3[2] + ox
						if k.isMax {
							put(u*osz+op, best)
							if idx != nil {
								flat := int64(u*isz + bi)
								if k.storageOrder == 1 {
									// Column-major index within the image.
									zz, yy, xx := bi/(in3[1]*in3[2]), bi/in3[2]%in3[1], bi%in3[2]
									flat = int64(u*isz + (xx*in3[1]+yy)*in3[0] + zz)
								}
								idx[u*osz+op] = flat
							}
						} else {
							put(u*osz+op, sum/float64(max(cnt, 1)))
						}
					}
				}
			}
		}
	})
	if rc.stopped() {
		return rc.ctx.Err()
	}
	if o32 == nil {
		storeFloats(o, res)
	}
	return nil
}

// storeFloats writes float64 values into a numeric tensor of any type.
func storeFloats(o *Tensor, v []float64) {
	switch d := o.Data.(type) {
	case []float32:
		for i, x := range v {
			d[i] = float32(x)
		}
	case []float64:
		copy(d, v)
	case []uint8:
		for i, x := range v {
			d[i] = uint8(x)
		}
	case []int8:
		for i, x := range v {
			d[i] = int8(x)
		}
	case []int32:
		for i, x := range v {
			d[i] = int32(x)
		}
	case []int64:
		for i, x := range v {
			d[i] = int64(x)
		}
	case []uint16:
		for i, x := range v {
			d[i] = uint16(x)
		}
	}
}

// maxPoolF32 max-pools one float32 image (3-D view): per output row, a
// pass per kernel tap over the output columns that tap reaches (computed
// once per image).
func maxPoolF32(dst, src []float32, in, out, ker, str, dil, pb [3]int, stop func() bool) {
	ninf := float32(math.Inf(-1))
	// For each column tap kx: the output columns [lo, hi) it reaches and
	// its offset in the input row.
	var loB, hiB, offB [8]int
	lo, hi, off := loB[:0], hiB[:0], offB[:0]
	if ker[2] > len(loB) {
		lo, hi, off = make([]int, 0, ker[2]), make([]int, 0, ker[2]), make([]int, 0, ker[2])
	}
	for kx := range ker[2] {
		o := kx*dil[2] - pb[2]
		l := 0
		if o < 0 {
			l = (-o + str[2] - 1) / str[2]
		}
		h := 0
		if last := in[2] - 1 - o; last >= 0 {
			h = min(out[2], last/str[2]+1)
		}
		if h <= l {
			continue // a tap in the padding for every column (it can be wider than the output)
		}
		lo, hi, off = append(lo, l), append(hi, h), append(off, o)
	}
	// A window two wide with a stride of two along the width and no
	// padding there (2×2 and 1×2 pooling): both taps in one pass per input
	// row, and two input rows (a 2×2 window) in one pass.
	pair := ker[2] == 2 && str[2] == 2 && dil[2] == 1 && pb[2] == 0 && 2*out[2] <= in[2]
	// Maxima are branchless and NaN-propagating (the builtin max,
	// kernels.MaxPairs): a window with a NaN gives NaN; branches on random
	// data would mispredict about half the time.
	var rowBuf [8][]float32
	rows := rowBuf[:0]
	if ker[0]*ker[1] > len(rowBuf) {
		rows = make([][]float32, 0, ker[0]*ker[1])
	}
	for oz := range out[0] {
		for oy := range out[1] {
			if stop() {
				return // a window can be as large as the image
			}
			drow := dst[(oz*out[1]+oy)*out[2] : (oz*out[1]+oy+1)*out[2]]
			rows = rows[:0]
			for kz := range ker[0] {
				z := oz*str[0] - pb[0] + kz*dil[0]
				if z < 0 || z >= in[0] {
					continue
				}
				for ky := range ker[1] {
					y := oy*str[1] - pb[1] + ky*dil[1]
					if y < 0 || y >= in[1] {
						continue
					}
					rows = append(rows, src[(z*in[1]+y)*in[2]:(z*in[1]+y+1)*in[2]])
				}
			}
			switch {
			case len(rows) == 0:
				for i := range drow {
					drow[i] = ninf
				}
				continue
			case pair && len(rows) == 1:
				kernels.MaxPairs(drow, rows[0], rows[0], false)
				continue
			case pair:
				kernels.MaxPairs(drow, rows[0], rows[1], false)
				for j := 2; j < len(rows); j += 2 {
					kernels.MaxPairs(drow, rows[j], rows[min(j+1, len(rows)-1)], true)
				}
				continue
			}
			for i := range drow {
				drow[i] = ninf
			}
			for _, row := range rows {
				for t := range lo {
					d := drow[lo[t]:hi[t]]
					if str[2] == 1 {
						r := row[lo[t]+off[t] : hi[t]+off[t]]
						for i, v := range r[:len(d)] {
							d[i] = max(d[i], v)
						}
						continue
					}
					x := lo[t]*str[2] + off[t]
					for i := range d {
						d[i] = max(d[i], row[x])
						x += str[2]
					}
				}
			}
		}
	}
}

// maxPool2 max-pools planes of h×w into planes of oh×ow with windows of kh
// (1 or 2) rows × 2 columns and strides kh × 2, without padding (2·ow ≤ w,
// kh·oh ≤ h). A 1×2 window over rows of exactly 2·ow is one pass over all
// the planes as one row; otherwise each output row is a pass of
// kernels.MaxPairs, or for rows of a few outputs a loop here (no call).
func maxPool2(dst, src []float32, planes, h, w, oh, ow, kh int) {
	if kh == 1 && w == 2*ow && h == oh {
		kernels.MaxPairs(dst[:planes*oh*ow], src, src, false)
		return
	}
	for u := range planes {
		for oy := range oh {
			d := dst[(u*oh+oy)*ow : (u*oh+oy+1)*ow]
			a := src[(u*h+oy*kh)*w : (u*h+oy*kh)*w+2*ow]
			b := a
			if kh == 2 {
				b = src[(u*h+oy*kh+1)*w : (u*h+oy*kh+1)*w+2*ow]
			}
			if ow >= 8 {
				kernels.MaxPairs(d, a, b, false)
				continue
			}
			for i := range d {
				d[i] = max(a[2*i], a[2*i+1], b[2*i], b[2*i+1])
			}
		}
	}
}

// globalPool is GlobalAveragePool and GlobalMaxPool.
type globalPool struct{ isMax bool }

func (k *globalPool) infer(in, out []vinfo) error {
	out[0].typ = in[0].typ
	if in[0].rank >= 2 {
		s := make([]int, in[0].rank)
		copy(s, in[0].shape[:2])
		for i := 2; i < len(s); i++ {
			s[i] = 1
		}
		out[0].rank, out[0].shape = len(s), s
	}
	return nil
}

func (k *globalPool) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	if len(x.Shape) < 2 {
		return fmt.Errorf("global pooling of rank %d", len(x.Shape))
	}
	shape := make([]int, len(x.Shape))
	copy(shape, x.Shape[:2])
	for i := 2; i < len(shape); i++ {
		shape[i] = 1
	}
	o, err := rc.alloc(x.Type, shape)
	if err != nil {
		return err
	}
	out[0] = o
	units, hw := x.Shape[0]*x.Shape[1], numel(x.Shape[2:])
	switch d := x.Data.(type) {
	case []float32:
		od := o.Data.([]float32)
		rc.parWork(units, units*hw, func(lo, hi int) {
			for u := lo; u < hi; u++ {
				plane := d[u*hw : (u+1)*hw]
				if k.isMax {
					m := float32(math.Inf(-1))
					for _, v := range plane {
						m = max(m, v)
					}
					od[u] = m
					continue
				}
				od[u] = float32(sumF32(plane) / float64(hw))
			}
		})
	case []float64:
		od := o.Data.([]float64)
		for u := range units {
			var s float64
			m := math.Inf(-1)
			for _, v := range d[u*hw : (u+1)*hw] {
				s += v
				m = max(m, v)
			}
			if k.isMax {
				od[u] = m
			} else {
				od[u] = s / float64(hw)
			}
		}
	default:
		return fmt.Errorf("%w: global pooling of %v", ErrUnsupported, x.Type)
	}
	return nil
}

// maxUnpool is MaxUnpool: scatter the values to the positions MaxPool's
// indices recorded, zero elsewhere.
type maxUnpool struct{ win window }

func newMaxUnpool(nc *nodeCtx) (kernel, error) {
	w, err := readWindow(nc.a)
	if err != nil {
		return nil, err
	}
	if w.kernel == nil {
		return nil, fmt.Errorf("%w: MaxUnpool without kernel_shape", onnx.ErrFormat)
	}
	if w.autoPad != "NOTSET" {
		return nil, fmt.Errorf("%w: MaxUnpool auto_pad", ErrUnsupported)
	}
	return &maxUnpool{win: w}, nil
}

func (k *maxUnpool) run(rc *runCtx, in, out []*Tensor) error {
	x, ix := in[0], in[1]
	if len(x.Shape) < 3 {
		return fmt.Errorf("MaxUnpool of rank %d", len(x.Shape))
	}
	idx, err := intsOf(ix)
	if err != nil || len(idx) != x.Len() {
		return fmt.Errorf("MaxUnpool indices %v for %v", ix, x)
	}
	r := len(x.Shape) - 2
	if len(k.win.kernel) != r || k.win.strides != nil && len(k.win.strides) != r || k.win.pads != nil && len(k.win.pads) != 2*r {
		return fmt.Errorf("%w: MaxUnpool kernel_shape %v, strides %v, pads %v for %d spatial dimensions", onnx.ErrFormat, k.win.kernel, k.win.strides, k.win.pads, r)
	}
	shape := append([]int{}, x.Shape[:2]...)
	for i := range r {
		s, p := 1, 0
		if k.win.strides != nil {
			s = k.win.strides[i]
		}
		if k.win.pads != nil {
			p = k.win.pads[i] + k.win.pads[r+i]
		}
		d := (x.Shape[2+i]-1)*s + k.win.kernel[i] - p
		if d < 0 || d > maxDim {
			return fmt.Errorf("MaxUnpool of %v with kernel_shape %v, strides %v, pads %v: dimension %d", x.Shape, k.win.kernel, k.win.strides, k.win.pads, d)
		}
		shape = append(shape, d)
	}
	natural := slices.Clone(shape)
	if len(in) > 2 && in[2] != nil {
		os, err := intsOf(in[2])
		if err != nil || len(os) != len(shape) {
			return fmt.Errorf("MaxUnpool output_shape %v", in[2])
		}
		for i, d := range os {
			if d < 0 || d > math.MaxInt32 {
				return fmt.Errorf("MaxUnpool output_shape %v", os)
			}
			shape[i] = int(d)
		}
	}
	o, err := rc.allocZero(x.Type, shape)
	if err != nil {
		return err
	}
	out[0] = o
	// The indices are positions in the tensor MaxPool saw, of the natural
	// unpooled shape; with another output_shape they keep their
	// coordinates (as ONNX's reference does).
	total := int64(numel(natural))
	nstr, ostr := stridesOf(natural), stridesOf(shape)
	for i, p := range idx {
		if p < 0 || p >= total {
			return fmt.Errorf("MaxUnpool index %d out of range", p)
		}
		q, rem := 0, int(p)
		for d := range natural {
			c := rem / nstr[d]
			rem %= nstr[d]
			if c >= shape[d] {
				return fmt.Errorf("MaxUnpool index %d outside output_shape %v", p, shape)
			}
			q += c * ostr[d]
		}
		copyData(sliceData(o.Data, q, q+1), sliceData(x.Data, i, i+1))
	}
	return nil
}

// sumF32 adds x: blocks of sumBlock values in float32 (kernels.Dot with
// ones: SIMD, and the same sums on every path), the blocks' sums in
// float64, so that long planes lose no more than a block's rounding.
func sumF32(x []float32) float64 {
	var s float64
	for len(x) >= sumBlock {
		s += float64(kernels.Dot(x[:sumBlock], sumOnes[:]))
		x = x[sumBlock:]
	}
	if len(x) > 0 {
		s += float64(kernels.Dot(x, sumOnes[:len(x)]))
	}
	return s
}

// sumBlock is the length of sumF32's float32 partial sums.
const sumBlock = 256

var sumOnes = func() (o [sumBlock]float32) {
	for i := range o {
		o[i] = 1
	}
	return o
}()

// windowTaps returns the taps [lo, hi) of one window dimension (k in [0, ker))
// whose positions base + k*dil fall in [from, to).
func windowTaps(base, dil, ker, from, to int) (lo, hi int) {
	if base < from {
		lo = (from - base + dil - 1) / dil
	}
	if to-1 >= base {
		hi = min(ker, (to-1-base)/dil+1)
	}
	lo = min(lo, ker)
	return lo, max(hi, lo)
}
