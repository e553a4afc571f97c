package exec

import (
	"fmt"
	"math"
	"slices"

	"github.com/edgeai-go/edgeai/models/onnx"
)

func init() {
	register("Resize", 1, 4, 1, newResize)
	register("Upsample", 1, 2, 1, newUpsample)
}

// resize is Resize (and the older Upsample): nearest, linear and cubic
// interpolation, separable, one dimension at a time.
type resize struct {
	mode        string // nearest, linear, cubic
	coord       string // coordinate_transformation_mode
	nearest     string // nearest_mode
	cubicA      float64
	exclude     bool
	extrapolate float64
	axes        []int
	policy      string // keep_aspect_ratio_policy
	opset10     bool   // inputs X, scales
	scales      []float32
}

func newResize(nc *nodeCtx) (kernel, error) {
	k := &resize{
		mode:        nc.a.str("mode", "nearest"),
		coord:       "half_pixel",
		nearest:     "round_prefer_floor",
		cubicA:      -0.75,
		extrapolate: 0,
		policy:      "stretch",
	}
	if nc.opset < 11 {
		k.opset10 = true
		k.coord, k.nearest = "asymmetric", "floor"
	} else {
		k.coord = nc.a.str("coordinate_transformation_mode", "half_pixel")
		k.nearest = nc.a.str("nearest_mode", "round_prefer_floor")
		k.cubicA = float64(nc.a.float("cubic_coeff_a", -0.75))
		k.exclude = nc.a.intIn("exclude_outside", 0, 0, 1) == 1
		k.extrapolate = float64(nc.a.float("extrapolation_value", 0))
	}
	if nc.opset >= 18 {
		if nc.a.intIn("antialias", 0, 0, 1) == 1 {
			return nil, fmt.Errorf("%w: Resize antialias", ErrUnsupported)
		}
		k.axes, _ = nc.a.smallInts("axes", -64, 64)
		k.policy = nc.a.str("keep_aspect_ratio_policy", "stretch")
	}
	return k, k.check()
}

func newUpsample(nc *nodeCtx) (kernel, error) {
	k := &resize{mode: nc.a.str("mode", "nearest"), coord: "asymmetric", nearest: "floor", policy: "stretch", opset10: true}
	if nc.opset < 9 {
		s, ok := nc.a.floats("scales")
		if !ok {
			return nil, fmt.Errorf("%w: Upsample without scales", onnx.ErrFormat)
		}
		k.scales = s
	}
	if k.mode == "bilinear" {
		k.mode = "linear"
	}
	return k, k.check()
}

func (k *resize) check() error {
	switch k.mode {
	case "nearest", "linear", "cubic":
	default:
		return fmt.Errorf("%w: Resize mode %q", ErrUnsupported, k.mode)
	}
	switch k.coord {
	case "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nearest",
		"tf_crop_and_resize", "half_pixel_symmetric":
	default:
		return fmt.Errorf("%w: Resize coordinate_transformation_mode %q", ErrUnsupported, k.coord)
	}
	switch k.nearest {
	case "round_prefer_floor", "round_prefer_ceil", "floor", "ceil":
	default:
		return fmt.Errorf("%w: Resize nearest_mode %q", ErrUnsupported, k.nearest)
	}
	switch k.policy {
	case "stretch", "not_larger", "not_smaller":
	default:
		return fmt.Errorf("%w: Resize keep_aspect_ratio_policy %q", ErrUnsupported, k.policy)
	}
	return nil
}

func (k *resize) infer(in, out []vinfo) error {
	out[0].typ = in[0].typ
	if in[0].rank >= 0 {
		out[0].rank = in[0].rank
		out[0].shape = make([]int, in[0].rank)
		for i := range out[0].shape {
			out[0].shape[i] = -1
		}
	}
	return nil
}

// plan returns the output shape, the scale and the roi of each dimension.
func (k *resize) plan(in []*Tensor) (shape []int, scales []float64, roi []float64, err error) {
	x := in[0]
	r := len(x.Shape)
	axes := make([]int, r)
	for i := range axes {
		axes[i] = i
	}
	if k.axes != nil {
		axes = axes[:0]
		for _, a := range k.axes {
			ax, err := normAxis(int64(a), r)
			if err != nil {
				return nil, nil, nil, err
			}
			axes = append(axes, ax)
		}
	}
	scales = make([]float64, r)
	for i := range scales {
		scales[i] = 1
	}
	roi = make([]float64, 2*r)
	for i := range r {
		roi[r+i] = 1
	}
	shape = slices.Clone(x.Shape)
	var sc []float64
	var sz []int64
	switch {
	case k.scales != nil:
		for _, v := range k.scales {
			sc = append(sc, float64(v))
		}
	case k.opset10:
		if len(in) < 2 || in[1] == nil {
			return nil, nil, nil, fmt.Errorf("%w: Upsample without scales", onnx.ErrFormat)
		}
		if sc, err = floatsOf(in[1]); err != nil {
			return nil, nil, nil, err
		}
	default:
		if len(in) > 1 && in[1] != nil && in[1].Len() > 0 {
			rv, err := floatsOf(in[1])
			if err != nil {
				return nil, nil, nil, err
			}
			if len(rv) != 2*len(axes) {
				return nil, nil, nil, fmt.Errorf("Resize roi of %d values for %d axes", len(rv), len(axes))
			}
			for i, ax := range axes {
				roi[ax], roi[r+ax] = rv[i], rv[len(axes)+i]
			}
		}
		if len(in) > 2 && in[2] != nil && in[2].Len() > 0 {
			if sc, err = floatsOf(in[2]); err != nil {
				return nil, nil, nil, err
			}
		}
		if len(in) > 3 && in[3] != nil && in[3].Len() > 0 {
			if sc != nil {
				return nil, nil, nil, fmt.Errorf("%w: Resize with both scales and sizes", onnx.ErrFormat)
			}
			if sz, err = intsOf(in[3]); err != nil {
				return nil, nil, nil, err
			}
		}
	}
	switch {
	case sc != nil:
		if len(sc) != len(axes) {
			return nil, nil, nil, fmt.Errorf("Resize scales %v for %d axes", sc, len(axes))
		}
		for i, ax := range axes {
			s := sc[i]
			if !(s > 0) || math.IsInf(s, 0) {
				return nil, nil, nil, fmt.Errorf("Resize scale %g", s)
			}
			scales[ax] = s
			n := float64(x.Shape[ax]) * s
			if k.coord == "tf_crop_and_resize" {
				n *= roi[r+ax] - roi[ax]
			}
			if !(n < math.MaxInt32) {
				return nil, nil, nil, fmt.Errorf("%w: Resize to %g", ErrLimit, n)
			}
			shape[ax] = int(math.Floor(n))
		}
	case sz != nil:
		if len(sz) != len(axes) {
			return nil, nil, nil, fmt.Errorf("Resize sizes %v for %d axes", sz, len(axes))
		}
		for _, s := range sz {
			if s < 0 || s > math.MaxInt32 {
				return nil, nil, nil, fmt.Errorf("Resize sizes %v", sz)
			}
		}
		if k.policy != "stretch" {
			// One scale for all the axes, then sizes from it.
			best := math.Inf(1)
			if k.policy == "not_smaller" {
				best = math.Inf(-1)
			}
			for i, ax := range axes {
				s := float64(sz[i]) / float64(x.Shape[ax])
				if k.policy == "not_larger" {
					best = min(best, s)
				} else {
					best = max(best, s)
				}
			}
			for _, ax := range axes {
				scales[ax] = best
				n := math.Round(float64(x.Shape[ax]) * best)
				if !(n >= 0 && n <= maxDim) { // NaN and ±Inf from empty inputs included
					return nil, nil, nil, fmt.Errorf("%w: Resize of %v to %g", ErrLimit, x.Shape, n)
				}
				shape[ax] = int(n)
			}
		} else {
			for i, ax := range axes {
				shape[ax] = int(sz[i])
				scales[ax] = float64(sz[i]) / float64(x.Shape[ax])
			}
		}
	default:
		return nil, nil, nil, fmt.Errorf("%w: Resize needs scales or sizes", onnx.ErrFormat)
	}
	return shape, scales, roi, nil
}

// taps are the input indices and weights that make one output coordinate.
type taps struct {
	idx []int
	w   []float64
	n   int    // taps per output coordinate
	out []bool // extrapolated (tf_crop_and_resize outside the image)
}

// axisTaps computes the taps of one dimension: input length in, output
// length out, scale s, roi [r0, r1].
func (k *resize) axisTaps(in, out int, s, r0, r1 float64) taps {
	n := 1
	switch k.mode {
	case "linear":
		n = 2
	case "cubic":
		n = 4
	}
	t := taps{idx: make([]int, out*n), w: make([]float64, out*n), n: n, out: make([]bool, out)}
	for o := range out {
		xo := float64(o)
		var x float64
		switch k.coord {
		case "half_pixel":
			x = (xo+0.5)/s - 0.5
		case "half_pixel_symmetric":
			adj := float64(out) / (s * float64(in))
			center := float64(in) / 2
			x = center*(1-adj) + (xo+0.5)/s - 0.5
		case "pytorch_half_pixel":
			if out > 1 {
				x = (xo+0.5)/s - 0.5
			}
		case "align_corners":
			if out > 1 {
				x = xo * float64(in-1) / float64(out-1)
			}
		case "asymmetric":
			x = xo / s
		case "tf_half_pixel_for_nearest":
			x = (xo + 0.5) / s
		case "tf_crop_and_resize":
			if out > 1 {
				x = r0*float64(in-1) + xo*(r1-r0)*float64(in-1)/float64(out-1)
			} else {
				x = 0.5 * (r0 + r1) * float64(in-1)
			}
			if x < 0 || x > float64(in-1) {
				t.out[o] = true
			}
		}
		base := o * n
		switch k.mode {
		case "nearest":
			var i float64
			switch k.nearest {
			case "round_prefer_floor":
				if x-math.Floor(x) == 0.5 {
					i = math.Floor(x)
				} else {
					i = math.Round(x)
				}
			case "round_prefer_ceil":
				if x-math.Floor(x) == 0.5 {
					i = math.Ceil(x)
				} else {
					i = math.Round(x)
				}
			case "floor":
				i = math.Floor(x)
			case "ceil":
				i = math.Ceil(x)
			}
			t.idx[base] = int(min(max(i, 0), float64(in-1)))
			t.w[base] = 1
		case "linear":
			x = min(max(x, 0), float64(in-1))
			i0 := int(math.Floor(x))
			i1 := min(i0+1, in-1)
			f := x - float64(i0)
			t.idx[base], t.idx[base+1] = i0, i1
			t.w[base], t.w[base+1] = 1-f, f
		case "cubic":
			i0 := math.Floor(x)
			f := x - i0
			a := k.cubicA
			coef := [4]float64{
				((a*(f+1)-5*a)*(f+1)+8*a)*(f+1) - 4*a,
				((a+2)*f-(a+3))*f*f + 1,
				((a+2)*(1-f)-(a+3))*(1-f)*(1-f) + 1,
				((a*(2-f)-5*a)*(2-f)+8*a)*(2-f) - 4*a,
			}
			sum := 0.0
			for j := range 4 {
				p := int(i0) - 1 + j
				if k.exclude && (p < 0 || p >= in) {
					coef[j] = 0
				}
				sum += coef[j]
				t.idx[base+j] = min(max(p, 0), in-1)
			}
			for j := range 4 {
				if k.exclude && sum != 0 {
					coef[j] /= sum
				}
				t.w[base+j] = coef[j]
			}
		}
	}
	return t
}

func (k *resize) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	shape, scales, roi, err := k.plan(in)
	if err != nil {
		return err
	}
	r := len(x.Shape)
	for i, d := range shape {
		if x.Shape[i] == 0 && d > 0 {
			return fmt.Errorf("Resize of an empty dimension")
		}
	}
	// The output's size first: the per-dimension taps below are as long
	// as the output's dimensions, which may be huge when another is 0.
	n, err := shapeSize(shape, int(min(rc.e.limit/int64(max(elemSize(x.Type), 1)), maxDim)))
	if err != nil {
		return fmt.Errorf("Resize: %w", err)
	}
	if n == 0 {
		o, err := rc.alloc(x.Type, shape)
		if err != nil {
			return err
		}
		out[0] = o
		return nil
	}
	if _, ok := x.Data.([]float32); !ok && k.mode != "nearest" {
		return fmt.Errorf("%w: Resize %s of %v", ErrUnsupported, k.mode, x.Type)
	}
	// Nearest of any type: one gather with per-dimension index maps.
	if k.mode == "nearest" && k.coord != "tf_crop_and_resize" {
		maps := make([][]int, r)
		for d := range r {
			if shape[d] == x.Shape[d] && scales[d] == 1 {
				maps[d] = identityMap(shape[d])
				continue
			}
			maps[d] = k.axisTaps(x.Shape[d], shape[d], scales[d], roi[d], roi[r+d]).idx
		}
		o, err := rc.alloc(x.Type, shape)
		if err != nil {
			return err
		}
		out[0] = o
		gatherMaps(rc, o, x, maps)
		return nil
	}
	// Interpolation: one pass per resized dimension, in float64.
	cur := x
	owned := false
	for d := range r {
		if shape[d] == cur.Shape[d] && scales[d] == 1 && k.coord != "tf_crop_and_resize" {
			continue
		}
		t := k.axisTaps(cur.Shape[d], shape[d], scales[d], roi[d], roi[r+d])
		ns := slices.Clone(cur.Shape)
		ns[d] = shape[d]
		next, err := rc.alloc(onnx.Float, ns)
		if err != nil {
			return err
		}
		interpAxis(next.Data.([]float32), cur.Data.([]float32), cur.Shape, d, shape[d], t, k.extrapolate)
		if owned {
			rc.release(cur)
		}
		cur, owned = next, true
	}
	if !owned {
		cur = rc.alias(x, x.Shape)
	}
	out[0] = cur
	return nil
}

func identityMap(n int) []int {
	m := make([]int, n)
	for i := range m {
		m[i] = i
	}
	return m
}

// gatherMaps fills o with x[maps[0][i0], maps[1][i1], ...].
func gatherMaps(rc *runCtx, o, x *Tensor, maps [][]int) {
	r := len(o.Shape)
	if o.Len() == 0 {
		return
	}
	xs := stridesOf(x.Shape)
	// Rows of the last dimension: the source row offset per output row
	// (computed on the pool, each goroutine its range of rows).
	inner := o.Shape[r-1]
	rows := o.Len() / inner
	offs := make([]int, rows)
	rc.parWork(rows, rows*(8*r+8), func(lo, hi int) {
		idx := make([]int, r-1)
		rem := lo
		for d := r - 2; d >= 0; d-- {
			idx[d] = rem % o.Shape[d]
			rem /= o.Shape[d]
		}
		for row := lo; row < hi; row++ {
			off := 0
			for d := range r - 1 {
				off += maps[d][idx[d]] * xs[d]
			}
			offs[row] = off
			for d := r - 2; d >= 0; d-- {
				idx[d]++
				if idx[d] < o.Shape[d] {
					break
				}
				idx[d] = 0
			}
		}
	})
	last := maps[r-1]
	switch d := words(o.Data).(type) {
	case []uint8:
		gatherRowsPar(rc, d, words(x.Data).([]uint8), offs, last)
	case []uint16:
		gatherRowsPar(rc, d, words(x.Data).([]uint16), offs, last)
	case []uint32:
		gatherRowsPar(rc, d, words(x.Data).([]uint32), offs, last)
	case []uint64:
		gatherRowsPar(rc, d, words(x.Data).([]uint64), offs, last)
	case []string:
		gatherRows(d, x.Data.([]string), offs, last)
	}
}

// gatherRowsPar is gatherRows with the rows split across the pool.
func gatherRowsPar[T any](rc *runCtx, dst, src []T, offs, last []int) {
	n := len(last)
	rc.parWork(len(offs), 2*len(offs)*n, func(lo, hi int) {
		gatherRows(dst[lo*n:hi*n], src, offs[lo:hi], last)
	})
}

func gatherRows[T any](dst, src []T, offs, last []int) {
	n := len(last)
	for r, off := range offs {
		row := dst[r*n : (r+1)*n]
		for i, s := range last {
			row[i] = src[off+s]
		}
	}
}

// interpAxis resizes dimension d of x (shape) to n with the taps t.
func interpAxis(dst, x []float32, shape []int, d, n int, t taps, extrapolate float64) {
	outer := numel(shape[:d])
	in := shape[d]
	inner := numel(shape[d+1:])
	for o := range outer {
		src := x[o*in*inner : (o+1)*in*inner]
		out := dst[o*n*inner : (o+1)*n*inner]
		for j := range n {
			row := out[j*inner : (j+1)*inner]
			if t.out[j] {
				for i := range row {
					row[i] = float32(extrapolate)
				}
				continue
			}
			if t.n == 1 {
				copy(row, src[t.idx[j]*inner:(t.idx[j]+1)*inner])
				continue
			}
			for i := range row {
				var s float64
				for q := range t.n {
					s += t.w[j*t.n+q] * float64(src[t.idx[j*t.n+q]*inner+i])
				}
				row[i] = float32(s)
			}
		}
	}
}
