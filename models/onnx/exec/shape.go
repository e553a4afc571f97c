package exec

import (
	"fmt"
	"math"
	"slices"

	"github.com/edgeai-go/edgeai/models/onnx"
)

func init() {
	register("Reshape", 1, 2, 1, newReshape)
	register("Flatten", 1, 1, 1, func(nc *nodeCtx) (kernel, error) {
		return &flatten{axis: nc.a.int("axis", 1)}, nil
	})
	register("Squeeze", 1, 2, 1, func(nc *nodeCtx) (kernel, error) { return newSqueeze(nc, false) })
	register("Unsqueeze", 1, 2, 1, func(nc *nodeCtx) (kernel, error) { return newSqueeze(nc, true) })
	register("Transpose", 1, 1, 1, func(nc *nodeCtx) (kernel, error) {
		perm, ok := nc.a.smallInts("perm", 0, 64)
		return &transpose{perm: perm, given: ok}, nil
	})
	register("Concat", 1, -1, 1, func(nc *nodeCtx) (kernel, error) {
		if !nc.a.has("axis") && nc.opset >= 4 {
			return nil, fmt.Errorf("%w: Concat without axis", onnx.ErrFormat)
		}
		return &concat{axis: nc.a.int("axis", 1)}, nil
	})
	register("Split", 1, 2, -1, newSplit)
	register("Slice", 1, 5, 1, newSlice)
	register("Gather", 2, 2, 1, func(nc *nodeCtx) (kernel, error) {
		return &gather{axis: nc.a.int("axis", 0)}, nil
	})
	register("GatherElements", 2, 2, 1, func(nc *nodeCtx) (kernel, error) {
		return &gatherElements{axis: nc.a.int("axis", 0)}, nil
	})
	register("Expand", 2, 2, 1, func(nc *nodeCtx) (kernel, error) { return expand{}, nil })
	register("Tile", 2, 2, 1, func(nc *nodeCtx) (kernel, error) { return tile{}, nil })
	register("Shape", 1, 1, 1, func(nc *nodeCtx) (kernel, error) {
		k := &shapeOp{start: nc.a.int("start", 0), end: math.MaxInt64}
		if nc.a.has("end") {
			k.end = nc.a.int("end", 0)
		}
		return k, nil
	})
	register("Size", 1, 1, 1, func(nc *nodeCtx) (kernel, error) { return sizeOp{}, nil })
	register("ConstantOfShape", 1, 1, 1, newConstantOfShape)
	register("Constant", 0, 0, 1, newConstant)
	register("Range", 3, 3, 1, func(nc *nodeCtx) (kernel, error) { return rangeOp{}, nil })
}

// ---- Reshape, Flatten, Squeeze, Unsqueeze: new shapes over the same data.

type reshape struct {
	shape     []int64 // the attribute of opset < 5
	allowZero bool
}

func newReshape(nc *nodeCtx) (kernel, error) {
	k := &reshape{}
	if nc.opset < 5 {
		k.shape, _ = nc.a.ints("shape")
		nc.a.ignore("consumed_inputs")
		return k, nil
	}
	if len(nc.n.Inputs) != 2 {
		return nil, fmt.Errorf("%w: Reshape needs a shape input", onnx.ErrFormat)
	}
	if nc.opset >= 14 {
		k.allowZero = nc.a.intIn("allowzero", 0, 0, 1) == 1
	}
	return k, nil
}

// reshapeTo resolves a Reshape target (0: copy the input's dimension unless
// allowZero, -1: infer) for an input of the given shape.
func reshapeTo(in []int, target []int64, allowZero bool) ([]int, error) {
	out := make([]int, len(target))
	infer := -1
	known := 1
	for i, d := range target {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("Reshape target %v has two -1", target)
			}
			infer = i
			continue
		case d == 0 && !allowZero:
			if i >= len(in) {
				return nil, fmt.Errorf("Reshape target %v copies dimension %d of %v", target, i, in)
			}
			out[i] = in[i]
		case d < 0:
			return nil, fmt.Errorf("Reshape target %v has a negative dimension", target)
		case d > maxDim:
			return nil, fmt.Errorf("%w: Reshape target %v", ErrLimit, target)
		default:
			out[i] = int(d)
		}
		if out[i] != 0 {
			if known > math.MaxInt/out[i] {
				return nil, fmt.Errorf("%w: Reshape target %v", ErrLimit, target)
			}
		}
		known *= out[i]
	}
	n := numel(in)
	if infer >= 0 {
		if known == 0 {
			if n != 0 {
				return nil, fmt.Errorf("cannot reshape %v to %v", in, target)
			}
			out[infer] = 0
		} else {
			if n%known != 0 {
				return nil, fmt.Errorf("cannot reshape %v to %v", in, target)
			}
			out[infer] = n / known
		}
	} else if known != n {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", in, n, target)
	}
	return out, nil
}

func (k *reshape) target(in []*Tensor) ([]int64, error) {
	if k.shape != nil || len(in) < 2 {
		return k.shape, nil
	}
	return intsOf(in[1])
}

func (k *reshape) infer(in, out []vinfo) error {
	out[0].typ = in[0].typ
	var target []int64
	switch {
	case k.shape != nil:
		target = k.shape
	case len(in) > 1 && in[1].val != nil:
		t, err := intsOf(in[1].val)
		if err != nil {
			return err
		}
		target = t
	case len(in) > 1 && in[1].known() && in[1].rank == 1:
		out[0].rank = in[1].shape[0]
		out[0].shape = make([]int, out[0].rank)
		for i := range out[0].shape {
			out[0].shape[i] = -1
		}
		return nil
	default:
		return nil
	}
	if in[0].known() {
		s, err := reshapeTo(in[0].shape, target, k.allowZero)
		if err != nil {
			return err
		}
		out[0].rank, out[0].shape = len(s), s
		return nil
	}
	out[0].rank = len(target)
	out[0].shape = make([]int, len(target))
	for i, d := range target {
		out[0].shape[i] = -1
		if d > 0 {
			out[0].shape[i] = int(min(d, math.MaxInt32))
		} else if d == 0 && !k.allowZero && in[0].rank > i {
			out[0].shape[i] = in[0].shape[i]
		}
	}
	return nil
}

func (k *reshape) run(rc *runCtx, in, out []*Tensor) error {
	target, err := k.target(in)
	if err != nil {
		return err
	}
	s, err := reshapeTo(in[0].Shape, target, k.allowZero)
	if err != nil {
		return err
	}
	out[0] = rc.alias(in[0], s)
	return nil
}

type flatten struct{ axis int64 }

func (k *flatten) shape(in []int) ([]int, error) {
	axis := k.axis
	if axis < 0 {
		axis += int64(len(in))
	}
	if axis < 0 || axis > int64(len(in)) {
		return nil, fmt.Errorf("Flatten axis %d out of range for rank %d", k.axis, len(in))
	}
	a, b := 1, 1
	for i, d := range in {
		if int64(i) < axis {
			a *= d
		} else {
			b *= d
		}
	}
	return []int{a, b}, nil
}

func (k *flatten) infer(in, out []vinfo) error {
	out[0].typ = in[0].typ
	out[0].rank = 2
	out[0].shape = []int{-1, -1}
	if in[0].known() {
		s, err := k.shape(in[0].shape)
		if err != nil {
			return err
		}
		out[0].shape = s
	}
	return nil
}

func (k *flatten) run(rc *runCtx, in, out []*Tensor) error {
	s, err := k.shape(in[0].Shape)
	if err != nil {
		return err
	}
	out[0] = rc.alias(in[0], s)
	return nil
}

type squeeze struct {
	axes      []int64
	haveAxes  bool
	unsqueeze bool
}

func newSqueeze(nc *nodeCtx, unsqueeze bool) (kernel, error) {
	k := &squeeze{unsqueeze: unsqueeze}
	if nc.opset < 13 {
		k.axes, k.haveAxes = nc.a.ints("axes")
		if unsqueeze && !k.haveAxes {
			return nil, fmt.Errorf("%w: Unsqueeze without axes", onnx.ErrFormat)
		}
	} else if unsqueeze && !nc.hasIn(1) {
		return nil, fmt.Errorf("%w: Unsqueeze without axes", onnx.ErrFormat)
	}
	return k, nil
}

func (k *squeeze) shape(in []int, axes []int64, have bool) ([]int, error) {
	if k.unsqueeze {
		r := len(in) + len(axes)
		ins := make([]bool, r)
		for _, a := range axes {
			ax, err := normAxis(a, r)
			if err != nil {
				return nil, err
			}
			if ins[ax] {
				return nil, fmt.Errorf("Unsqueeze axis %d repeated", a)
			}
			ins[ax] = true
		}
		out := make([]int, 0, r)
		j := 0
		for i := range r {
			if ins[i] {
				out = append(out, 1)
			} else {
				out = append(out, in[j])
				j++
			}
		}
		return out, nil
	}
	drop := make([]bool, len(in))
	if !have {
		for i, d := range in {
			drop[i] = d == 1
		}
	}
	for _, a := range axes {
		ax, err := normAxis(a, len(in))
		if err != nil {
			return nil, err
		}
		if in[ax] != 1 {
			return nil, fmt.Errorf("Squeeze axis %d has size %d", a, in[ax])
		}
		drop[ax] = true
	}
	out := make([]int, 0, len(in))
	for i, d := range in {
		if !drop[i] {
			out = append(out, d)
		}
	}
	return out, nil
}

func (k *squeeze) axesOf(in []*Tensor) ([]int64, bool, error) {
	if k.haveAxes || len(in) < 2 || in[1] == nil {
		return k.axes, k.haveAxes, nil
	}
	a, err := intsOf(in[1])
	return a, true, err
}

func (k *squeeze) infer(in, out []vinfo) error {
	out[0].typ = in[0].typ
	axes, have := k.axes, k.haveAxes
	if !have && len(in) > 1 && in[1].val != nil {
		a, err := intsOf(in[1].val)
		if err != nil {
			return err
		}
		axes, have = a, true
	}
	if in[0].rank < 0 || (!have && (len(in) > 1 && !in[1].absent || !in[0].known())) {
		return nil
	}
	// Unknown dimensions are fine for Unsqueeze and for Squeeze with axes.
	sh := slices.Clone(in[0].shape)
	if !k.unsqueeze {
		for _, a := range axes {
			if ax, err := normAxis(a, len(sh)); err == nil && sh[ax] < 0 {
				sh[ax] = 1
			}
		}
	}
	s, err := k.shape(sh, axes, have)
	if err != nil {
		return err
	}
	out[0].rank, out[0].shape = len(s), s
	return nil
}

func (k *squeeze) run(rc *runCtx, in, out []*Tensor) error {
	axes, have, err := k.axesOf(in)
	if err != nil {
		return err
	}
	s, err := k.shape(in[0].Shape, axes, have)
	if err != nil {
		return err
	}
	out[0] = rc.alias(in[0], s)
	return nil
}

// ---- Transpose

type transpose struct {
	perm  []int
	given bool
}

func (k *transpose) permFor(rank int) ([]int, error) {
	if !k.given {
		p := make([]int, rank)
		for i := range p {
			p[i] = rank - 1 - i
		}
		return p, nil
	}
	if len(k.perm) != rank {
		return nil, fmt.Errorf("Transpose perm %v for rank %d", k.perm, rank)
	}
	seen := make([]bool, rank)
	for _, p := range k.perm {
		if p >= rank || seen[p] {
			return nil, fmt.Errorf("Transpose perm %v is not a permutation", k.perm)
		}
		seen[p] = true
	}
	return k.perm, nil
}

func (k *transpose) infer(in, out []vinfo) error {
	out[0].typ = in[0].typ
	if in[0].rank < 0 {
		return nil
	}
	p, err := k.permFor(in[0].rank)
	if err != nil {
		return err
	}
	out[0].rank = len(p)
	out[0].shape = make([]int, len(p))
	for i, a := range p {
		out[0].shape[i] = in[0].shape[a]
	}
	return nil
}

func (k *transpose) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	p, err := k.permFor(len(x.Shape))
	if err != nil {
		return err
	}
	shape := make([]int, len(p))
	strides := make([]int, len(p))
	st := stridesOf(x.Shape)
	for i, a := range p {
		shape[i] = x.Shape[a]
		strides[i] = st[a]
	}
	o, err := rc.alloc(x.Type, shape)
	if err != nil {
		return err
	}
	stridedCopy(rc, o.Data, x.Data, shape, strides, 0)
	out[0] = o
	return nil
}

// stridesOf returns the row-major strides of shape.
func stridesOf(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// stridedCopy fills dst (contiguous, of the given shape) with
// src[base + Σ idx[i]*strides[i]].
func stridedCopy(rc *runCtx, dst, src any, shape, strides []int, base int) {
	// Merge dimensions that are contiguous in src, drop dimensions of 1.
	var dims, strd []int
	for i, d := range shape {
		if d == 1 {
			continue
		}
		if n := len(dims); n > 0 && strd[n-1] == strides[i]*d {
			dims[n-1] *= d
			strd[n-1] = strides[i]
			continue
		}
		dims = append(dims, d)
		strd = append(strd, strides[i])
	}
	switch d := words(dst).(type) {
	case []uint8:
		stridedT(rc, d, words(src).([]uint8), dims, strd, base)
	case []uint16:
		stridedT(rc, d, words(src).([]uint16), dims, strd, base)
	case []uint32:
		stridedT(rc, d, words(src).([]uint32), dims, strd, base)
	case []uint64:
		stridedT(rc, d, words(src).([]uint64), dims, strd, base)
	case []string:
		stridedT(rc, d, src.([]string), dims, strd, base)
	}
}

func stridedT[T any](rc *runCtx, dst, src []T, dims, strd []int, base int) {
	if len(dst) == 0 {
		return
	}
	if len(dims) == 0 {
		dst[0] = src[base]
		return
	}
	nd := len(dims)
	inner, is := dims[nd-1], strd[nd-1]
	rows := len(dst) / inner
	body := func(lo, hi int) {
		idx := make([]int, nd-1)
		off := base
		rem := lo
		for d := nd - 2; d >= 0; d-- {
			idx[d] = rem % dims[d]
			rem /= dims[d]
			off += idx[d] * strd[d]
		}
		for r := lo; r < hi; r++ {
			row := dst[r*inner : (r+1)*inner]
			if is == 1 {
				copy(row, src[off:off+inner])
			} else {
				o := off
				for i := range row {
					row[i] = src[o]
					o += is
				}
			}
			for d := nd - 2; d >= 0; d-- {
				idx[d]++
				off += strd[d]
				if idx[d] < dims[d] {
					break
				}
				off -= dims[d] * strd[d]
				idx[d] = 0
			}
		}
	}
	if len(dst) < parallelGrain || rows == 1 {
		body(0, rows)
		return
	}
	rc.par(rows, max(1, parallelGrain/4/inner), body)
}

// ---- Concat, Split

type concat struct{ axis int64 }

func (k *concat) infer(in, out []vinfo) error {
	out[0].typ = in[0].typ
	r := -1
	for _, v := range in {
		if v.rank >= 0 {
			r = v.rank
		}
	}
	if r < 0 {
		return nil
	}
	ax, err := normAxis(k.axis, r)
	if err != nil {
		return err
	}
	shape := make([]int, r)
	for i := range shape {
		shape[i] = -1
	}
	sum := 0
	for _, v := range in {
		if v.rank < 0 {
			sum = -1
			continue
		}
		if v.rank != r {
			return fmt.Errorf("Concat of ranks %d and %d", r, v.rank)
		}
		for i, d := range v.shape {
			if i == ax {
				if d < 0 || sum < 0 {
					sum = -1
				} else {
					sum += d
				}
			} else if d >= 0 {
				shape[i] = d
			}
		}
	}
	shape[ax] = sum
	out[0].rank, out[0].shape = r, shape
	return nil
}

func (k *concat) run(rc *runCtx, in, out []*Tensor) error {
	x0 := in[0]
	r := len(x0.Shape)
	ax, err := normAxis(k.axis, r)
	if err != nil {
		return err
	}
	shape := slices.Clone(x0.Shape)
	shape[ax] = 0
	for _, t := range in {
		if t == nil {
			return fmt.Errorf("%w: omitted input", onnx.ErrFormat)
		}
		if t.Type != x0.Type || len(t.Shape) != r {
			return fmt.Errorf("Concat of %v and %v", x0, t)
		}
		for i, d := range t.Shape {
			if i != ax && d != x0.Shape[i] {
				return fmt.Errorf("Concat of %v and %v along axis %d", x0, t, ax)
			}
		}
		shape[ax] += t.Shape[ax]
	}
	o, err := rc.alloc(x0.Type, shape)
	if err != nil {
		return err
	}
	outer := numel(shape[:ax])
	oi := numel(shape[ax:])
	off := 0
	for _, t := range in {
		ti := numel(t.Shape[ax:])
		copyBlocks(o.Data, t.Data, outer, ti, oi, off)
		off += ti
	}
	out[0] = o
	return nil
}

// copyBlocks copies outer blocks of n elements from src (back to back) to
// dst at off + i*stride.
func copyBlocks(dst, src any, outer, n, stride, off int) {
	switch d := words(dst).(type) {
	case []uint8:
		copyBlocksT(d, words(src).([]uint8), outer, n, stride, off)
	case []uint16:
		copyBlocksT(d, words(src).([]uint16), outer, n, stride, off)
	case []uint32:
		copyBlocksT(d, words(src).([]uint32), outer, n, stride, off)
	case []uint64:
		copyBlocksT(d, words(src).([]uint64), outer, n, stride, off)
	case []string:
		copyBlocksT(d, src.([]string), outer, n, stride, off)
	}
}

func copyBlocksT[T any](dst, src []T, outer, n, stride, off int) {
	if n == 0 {
		return
	}
	for i := range outer {
		copy(dst[off+i*stride:off+i*stride+n], src[i*n:(i+1)*n])
	}
}

type split struct {
	axis    int64
	split   []int64 // the attribute (opset < 13)
	nOut    int
	numOuts int64 // opset 18 num_outputs
}

func newSplit(nc *nodeCtx) (kernel, error) {
	k := &split{axis: nc.a.int("axis", 0), nOut: len(nc.n.Outputs)}
	if nc.opset < 13 {
		k.split, _ = nc.a.ints("split")
	}
	if nc.opset >= 18 {
		k.numOuts = nc.a.int("num_outputs", 0)
	}
	return k, nil
}

func (k *split) sizes(in []*Tensor, dim int) ([]int, error) {
	sp := k.split
	if len(in) > 1 && in[1] != nil {
		s, err := intsOf(in[1])
		if err != nil {
			return nil, err
		}
		sp = s
	}
	out := make([]int, k.nOut)
	if sp != nil {
		if len(sp) != k.nOut {
			return nil, fmt.Errorf("Split into %d parts for %d outputs", len(sp), k.nOut)
		}
		sum := 0
		for i, s := range sp {
			if s < 0 || s > int64(dim) {
				return nil, fmt.Errorf("Split sizes %v for a dimension of %d", sp, dim)
			}
			out[i] = int(s)
			sum += int(s)
		}
		if sum != dim {
			return nil, fmt.Errorf("Split sizes %v for a dimension of %d", sp, dim)
		}
		return out, nil
	}
	n := k.nOut
	if k.numOuts > 0 {
		if int(k.numOuts) != n {
			return nil, fmt.Errorf("Split num_outputs %d for %d outputs", k.numOuts, n)
		}
		// Opset 18: ceil-sized parts, the last smaller.
		per := (dim + n - 1) / n
		rem := dim
		for i := range out {
			out[i] = min(per, rem)
			rem -= out[i]
		}
		return out, nil
	}
	if dim%n != 0 {
		return nil, fmt.Errorf("cannot split %d into %d equal parts", dim, n)
	}
	for i := range out {
		out[i] = dim / n
	}
	return out, nil
}

func (k *split) infer(in, out []vinfo) error {
	for i := range out {
		out[i].typ = in[0].typ
	}
	return nil
}

func (k *split) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	ax, err := normAxis(k.axis, len(x.Shape))
	if err != nil {
		return err
	}
	sizes, err := k.sizes(in, x.Shape[ax])
	if err != nil {
		return err
	}
	outer := numel(x.Shape[:ax])
	xi := numel(x.Shape[ax:])
	inner := xi / max(x.Shape[ax], 1)
	off := 0
	for i, s := range sizes {
		shape := slices.Clone(x.Shape)
		shape[ax] = s
		o, err := rc.alloc(x.Type, shape)
		if err != nil {
			return err
		}
		out[i] = o
		n := s * inner
		switch d := words(o.Data).(type) {
		case []uint8:
			splitT(d, words(x.Data).([]uint8), outer, n, xi, off)
		case []uint16:
			splitT(d, words(x.Data).([]uint16), outer, n, xi, off)
		case []uint32:
			splitT(d, words(x.Data).([]uint32), outer, n, xi, off)
		case []uint64:
			splitT(d, words(x.Data).([]uint64), outer, n, xi, off)
		case []string:
			splitT(d, x.Data.([]string), outer, n, xi, off)
		}
		off += n
	}
	return nil
}

func splitT[T any](dst, src []T, outer, n, stride, off int) {
	if n == 0 {
		return
	}
	for i := range outer {
		copy(dst[i*n:(i+1)*n], src[off+i*stride:off+i*stride+n])
	}
}

// ---- Slice

type slice struct {
	starts, ends, axes []int64 // attributes (opset < 10)
	attr               bool
}

func newSlice(nc *nodeCtx) (kernel, error) {
	if nc.opset < 10 {
		k := &slice{attr: true}
		var ok bool
		if k.starts, ok = nc.a.ints("starts"); !ok {
			return nil, fmt.Errorf("%w: Slice without starts", onnx.ErrFormat)
		}
		if k.ends, ok = nc.a.ints("ends"); !ok {
			return nil, fmt.Errorf("%w: Slice without ends", onnx.ErrFormat)
		}
		k.axes, _ = nc.a.ints("axes")
		return k, nil
	}
	if !nc.hasIn(1) || !nc.hasIn(2) {
		return nil, fmt.Errorf("%w: Slice needs starts and ends", onnx.ErrFormat)
	}
	return &slice{}, nil
}

// plan returns the output shape, the start offset in the input and the
// input strides of each output dimension.
func (k *slice) plan(shape []int, in []*Tensor) (out []int, base int, strides []int, err error) {
	starts, ends, axes := k.starts, k.ends, k.axes
	var steps []int64
	if !k.attr {
		if starts, err = intsOf(in[1]); err != nil {
			return
		}
		if ends, err = intsOf(in[2]); err != nil {
			return
		}
		if len(in) > 3 && in[3] != nil {
			if axes, err = intsOf(in[3]); err != nil {
				return
			}
		}
		if len(in) > 4 && in[4] != nil {
			if steps, err = intsOf(in[4]); err != nil {
				return
			}
		}
	}
	return slicePlan(shape, starts, ends, axes, steps)
}

func slicePlan(shape []int, starts, ends, axes, steps []int64) (out []int, base int, strides []int, err error) {
	r := len(shape)
	if len(starts) != len(ends) || (axes != nil && len(axes) != len(starts)) || (steps != nil && len(steps) != len(starts)) {
		return nil, 0, nil, fmt.Errorf("Slice with %d starts, %d ends, %d axes, %d steps", len(starts), len(ends), len(axes), len(steps))
	}
	out = slices.Clone(shape)
	st := stridesOf(shape)
	strides = slices.Clone(st)
	seen := make([]bool, r)
	for i := range starts {
		ax := int64(i)
		if axes != nil {
			ax = axes[i]
		}
		a, err := normAxis(ax, r)
		if err != nil {
			return nil, 0, nil, err
		}
		if seen[a] {
			return nil, 0, nil, fmt.Errorf("Slice axis %d repeated", ax)
		}
		seen[a] = true
		step := int64(1)
		if steps != nil {
			step = steps[i]
		}
		if step == 0 {
			return nil, 0, nil, fmt.Errorf("Slice step 0")
		}
		dim := int64(shape[a])
		// A step longer than the dimension takes one element: clamp it,
		// so the counts and strides below cannot overflow.
		step = min(max(step, -max(dim, 1)), max(dim, 1))
		s, e := starts[i], ends[i]
		if s < 0 {
			s += dim
		}
		if e < 0 {
			e += dim
		}
		var n int64
		if step > 0 {
			s = min(max(s, 0), dim)
			e = min(max(e, 0), dim)
			if e > s {
				n = (e - s + step - 1) / step
			}
		} else {
			s = min(max(s, -1), dim-1)
			e = min(max(e, -1), dim-1)
			if s > e {
				n = (s - e - step - 1) / -step
			}
		}
		out[a] = int(n)
		if n > 0 {
			base += int(s) * st[a]
		}
		strides[a] = st[a] * int(step)
	}
	return out, base, strides, nil
}

func (k *slice) infer(in, out []vinfo) error {
	out[0].typ = in[0].typ
	if !in[0].known() {
		if in[0].rank >= 0 {
			out[0].rank = in[0].rank
			out[0].shape = make([]int, in[0].rank)
			for i := range out[0].shape {
				out[0].shape[i] = -1
			}
		}
		return nil
	}
	ts := make([]*Tensor, len(in))
	for i := 1; i < len(in); i++ {
		if in[i].absent {
			continue
		}
		if in[i].val == nil {
			return nil
		}
		ts[i] = in[i].val
	}
	s, _, _, err := k.plan(in[0].shape, ts)
	if err != nil {
		return err
	}
	out[0].rank, out[0].shape = len(s), s
	return nil
}

func (k *slice) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	shape, base, strides, err := k.plan(x.Shape, in)
	if err != nil {
		return err
	}
	o, err := rc.alloc(x.Type, shape)
	if err != nil {
		return err
	}
	stridedCopy(rc, o.Data, x.Data, shape, strides, base)
	out[0] = o
	return nil
}

// ---- Gather, GatherElements

type gather struct{ axis int64 }

func (k *gather) infer(in, out []vinfo) error {
	out[0].typ = in[0].typ
	if in[0].rank < 0 || in[1].rank < 0 {
		return nil
	}
	ax, err := normAxis(k.axis, in[0].rank)
	if err != nil {
		return err
	}
	s := append(append(slices.Clone(in[0].shape[:ax]), in[1].shape...), in[0].shape[ax+1:]...)
	out[0].rank, out[0].shape = len(s), s
	return nil
}

func (k *gather) run(rc *runCtx, in, out []*Tensor) error {
	x, ix := in[0], in[1]
	ax, err := normAxis(k.axis, len(x.Shape))
	if err != nil {
		return err
	}
	idx, err := intsOf(ix)
	if err != nil {
		return fmt.Errorf("Gather indices: %w", err)
	}
	dim := int64(x.Shape[ax])
	shape := append(append(slices.Clone(x.Shape[:ax]), ix.Shape...), x.Shape[ax+1:]...)
	o, err := rc.alloc(x.Type, shape)
	if err != nil {
		return err
	}
	for _, i := range idx {
		if i < -dim || i >= dim {
			rc.release(o)
			return fmt.Errorf("Gather index %d out of range for a dimension of %d", i, dim)
		}
	}
	outer := numel(x.Shape[:ax])
	inner := numel(x.Shape[ax+1:])
	switch d := words(o.Data).(type) {
	case []uint8:
		gatherT(d, words(x.Data).([]uint8), idx, outer, int(dim), inner)
	case []uint16:
		gatherT(d, words(x.Data).([]uint16), idx, outer, int(dim), inner)
	case []uint32:
		gatherT(d, words(x.Data).([]uint32), idx, outer, int(dim), inner)
	case []uint64:
		gatherT(d, words(x.Data).([]uint64), idx, outer, int(dim), inner)
	case []string:
		gatherT(d, x.Data.([]string), idx, outer, int(dim), inner)
	}
	out[0] = o
	return nil
}

func gatherT[T any](dst, src []T, idx []int64, outer, dim, inner int) {
	p := 0
	for o := range outer {
		for _, i := range idx {
			if i < 0 {
				i += int64(dim)
			}
			s := (o*dim + int(i)) * inner
			copy(dst[p:p+inner], src[s:s+inner])
			p += inner
		}
	}
}

type gatherElements struct{ axis int64 }

func (k *gatherElements) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: in[0].typ, rank: in[1].rank, shape: in[1].shape}
	return nil
}

func (k *gatherElements) run(rc *runCtx, in, out []*Tensor) error {
	x, ix := in[0], in[1]
	r := len(x.Shape)
	if len(ix.Shape) != r {
		return fmt.Errorf("GatherElements indices of rank %d for data of rank %d", len(ix.Shape), r)
	}
	ax, err := normAxis(k.axis, r)
	if err != nil {
		return err
	}
	idx, err := intsOf(ix)
	if err != nil {
		return err
	}
	for i, d := range ix.Shape {
		if i != ax && d > x.Shape[i] {
			return fmt.Errorf("GatherElements indices %v for data %v", ix.Shape, x.Shape)
		}
	}
	o, err := rc.alloc(x.Type, ix.Shape)
	if err != nil {
		return err
	}
	xs := stridesOf(x.Shape)
	// The source offset of each output element.
	src := make([]int, len(idx))
	pos := make([]int, r)
	dim := int64(x.Shape[ax])
	for n, i := range idx {
		if i < -dim || i >= dim {
			rc.release(o)
			return fmt.Errorf("GatherElements index %d out of range for a dimension of %d", i, dim)
		}
		if i < 0 {
			i += dim
		}
		off := 0
		for d := range r {
			p := pos[d]
			if d == ax {
				p = int(i)
			}
			off += p * xs[d]
		}
		src[n] = off
		for d := r - 1; d >= 0; d-- {
			pos[d]++
			if pos[d] < ix.Shape[d] {
				break
			}
			pos[d] = 0
		}
	}
	switch d := words(o.Data).(type) {
	case []uint8:
		pick(d, words(x.Data).([]uint8), src)
	case []uint16:
		pick(d, words(x.Data).([]uint16), src)
	case []uint32:
		pick(d, words(x.Data).([]uint32), src)
	case []uint64:
		pick(d, words(x.Data).([]uint64), src)
	case []string:
		pick(d, x.Data.([]string), src)
	}
	out[0] = o
	return nil
}

func pick[T any](dst, src []T, at []int) {
	for i, a := range at {
		dst[i] = src[a]
	}
}

// ---- Expand, Tile

type expand struct{}

func (expand) infer(in, out []vinfo) error {
	out[0].typ = in[0].typ
	if in[1].val != nil && in[0].rank >= 0 {
		s, err := intsOf(in[1].val)
		if err != nil {
			return err
		}
		t := vinfo{rank: len(s), shape: make([]int, len(s))}
		for i, d := range s {
			t.shape[i] = clampInt(d)
		}
		out[0].rank, out[0].shape = broadcastInfo(in[0], t)
	}
	return nil
}

func (expand) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	s, err := intsOf(in[1])
	if err != nil {
		return err
	}
	target := make([]int, len(s))
	for i, d := range s {
		if d < 0 || d > maxDim {
			return fmt.Errorf("Expand to shape %v", s)
		}
		target[i] = int(d)
	}
	shape, err := broadcastShape(x.Shape, target)
	if err != nil {
		return err
	}
	o, err := rc.alloc(x.Type, shape)
	if err != nil {
		return err
	}
	broadcastCopy(rc, o, x)
	out[0] = o
	return nil
}

// broadcastCopy fills o with x broadcast to o's shape.
func broadcastCopy(rc *runCtx, o, x *Tensor) {
	// Pad x's shape to o's rank and use stride 0 on broadcast dimensions.
	r := len(o.Shape)
	xs := stridesOf(x.Shape)
	strides := make([]int, r)
	for i := range r {
		j := i - (r - len(x.Shape))
		if j >= 0 && x.Shape[j] != 1 {
			strides[i] = xs[j]
		}
	}
	stridedCopy(rc, o.Data, x.Data, o.Shape, strides, 0)
}

type tile struct{}

func (tile) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	reps, err := intsOf(in[1])
	if err != nil {
		return err
	}
	if len(reps) != len(x.Shape) {
		return fmt.Errorf("Tile repeats %v for rank %d", reps, len(x.Shape))
	}
	// Tile as a strided copy over a shape of 2r dimensions (rep, dim).
	shape := make([]int, 0, 2*len(reps))
	strides := make([]int, 0, 2*len(reps))
	oshape := make([]int, len(reps))
	xs := stridesOf(x.Shape)
	for i, r := range reps {
		if r < 0 || r > math.MaxInt32 {
			return fmt.Errorf("Tile repeats %v", reps)
		}
		shape = append(shape, int(r), x.Shape[i])
		strides = append(strides, 0, xs[i])
		oshape[i] = int(r) * x.Shape[i]
	}
	if _, err := shapeSize(oshape, int(rc.e.limit)); err != nil {
		return err
	}
	o, err := rc.alloc(x.Type, oshape)
	if err != nil {
		return err
	}
	// The 2r-dimensional order (rep0, dim0, rep1, dim1...) is not the
	// output's order (rep0*dim0, ...) unless each rep is outer to its dim,
	// which it is: index (r_i, d_i) maps to r_i*dim_i + d_i.
	stridedCopy(rc, o.Data, x.Data, shape, strides, 0)
	out[0] = o
	return nil
}

// ---- Shape, Size, ConstantOfShape, Constant, Range

type shapeOp struct{ start, end int64 }

func (k *shapeOp) bounds(r int) (int, int) {
	clampAx := func(a int64) int {
		if a < 0 {
			a += int64(r)
		}
		return int(min(max(a, 0), int64(r)))
	}
	s, e := clampAx(k.start), clampAx(k.end)
	if e < s {
		e = s
	}
	return s, e
}

func (k *shapeOp) infer(in, out []vinfo) error {
	out[0].typ = onnx.Int64
	out[0].rank = 1
	if in[0].rank < 0 {
		out[0].shape = []int{-1}
		return nil
	}
	s, e := k.bounds(in[0].rank)
	out[0].shape = []int{e - s}
	return nil
}

func (k *shapeOp) run(rc *runCtx, in, out []*Tensor) error {
	s, e := k.bounds(len(in[0].Shape))
	o, err := rc.alloc(onnx.Int64, []int{e - s})
	if err != nil {
		return err
	}
	for i, d := range in[0].Shape[s:e] {
		o.Data.([]int64)[i] = int64(d)
	}
	out[0] = o
	return nil
}

type sizeOp struct{}

func (sizeOp) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: onnx.Int64, rank: 0, shape: []int{}}
	return nil
}

func (sizeOp) run(rc *runCtx, in, out []*Tensor) error {
	o, err := rc.alloc(onnx.Int64, nil)
	if err != nil {
		return err
	}
	o.Data.([]int64)[0] = int64(in[0].Len())
	out[0] = o
	return nil
}

type constantOfShape struct{ value *Tensor }

func newConstantOfShape(nc *nodeCtx) (kernel, error) {
	k := &constantOfShape{value: &Tensor{Type: onnx.Float, Shape: []int{1}, Data: []float32{0}}}
	if p := nc.a.tensor("value"); p != nil {
		v, err := fromProto(p, 1<<20)
		if err != nil {
			return nil, err
		}
		if v.Len() != 1 {
			return nil, fmt.Errorf("%w: ConstantOfShape value has %d elements", onnx.ErrFormat, v.Len())
		}
		k.value = v
	}
	return k, nil
}

func (k *constantOfShape) infer(in, out []vinfo) error {
	out[0].typ = k.value.Type
	if in[0].rank == 1 && in[0].shape[0] >= 0 {
		out[0].rank = in[0].shape[0]
		out[0].shape = make([]int, out[0].rank)
		for i := range out[0].shape {
			out[0].shape[i] = -1
		}
	}
	return nil
}

func (k *constantOfShape) run(rc *runCtx, in, out []*Tensor) error {
	s, err := intsOf(in[0])
	if err != nil {
		return err
	}
	shape := make([]int, len(s))
	for i, d := range s {
		if d < 0 || d > maxDim {
			return fmt.Errorf("ConstantOfShape of shape %v", s)
		}
		shape[i] = int(d)
	}
	o, err := rc.alloc(k.value.Type, shape)
	if err != nil {
		return err
	}
	fill(o.Data, k.value.Data)
	out[0] = o
	return nil
}

// fill sets every element of dst to the single element of v.
func fill(dst, v any) {
	switch d := words(dst).(type) {
	case []uint8:
		fillT(d, words(v).([]uint8)[0])
	case []uint16:
		fillT(d, words(v).([]uint16)[0])
	case []uint32:
		fillT(d, words(v).([]uint32)[0])
	case []uint64:
		fillT(d, words(v).([]uint64)[0])
	case []string:
		fillT(d, v.([]string)[0])
	}
}

func fillT[T any](d []T, v T) {
	for i := range d {
		d[i] = v
	}
}

type constant struct{ value *Tensor }

func newConstant(nc *nodeCtx) (kernel, error) {
	var v *Tensor
	set := 0
	lim := nc.b.elemLimit()
	if p := nc.a.tensor("value"); p != nil {
		t, err := fromProto(p, lim)
		if err != nil {
			return nil, err
		}
		v = t
		set++
	}
	if f := nc.a.find("value_float", onnx.AttrFloat); f != nil {
		v = &Tensor{Type: onnx.Float, Shape: []int{}, Data: []float32{f.F}}
		set++
	}
	if f, ok := nc.a.floats("value_floats"); ok {
		v = &Tensor{Type: onnx.Float, Shape: []int{len(f)}, Data: slices.Clone(f)}
		set++
	}
	if i := nc.a.find("value_int", onnx.AttrInt); i != nil {
		v = &Tensor{Type: onnx.Int64, Shape: []int{}, Data: []int64{i.I}}
		set++
	}
	if i, ok := nc.a.ints("value_ints"); ok {
		v = &Tensor{Type: onnx.Int64, Shape: []int{len(i)}, Data: slices.Clone(i)}
		set++
	}
	if s := nc.a.find("value_string", onnx.AttrString); s != nil {
		v = &Tensor{Type: onnx.String, Shape: []int{}, Data: []string{string(s.S)}}
		set++
	}
	if s, ok := nc.a.strs("value_strings"); ok {
		v = &Tensor{Type: onnx.String, Shape: []int{len(s)}, Data: s}
		set++
	}
	if nc.a.has("sparse_value") {
		return nil, fmt.Errorf("%w: Constant sparse_value", ErrUnsupported)
	}
	if set != 1 || v == nil {
		return nil, fmt.Errorf("%w: Constant with %d values", onnx.ErrFormat, set)
	}
	return &constant{value: v}, nil
}

func (k *constant) infer(in, out []vinfo) error {
	out[0] = infoOf(k.value)
	return nil
}

func (k *constant) run(rc *runCtx, in, out []*Tensor) error {
	out[0] = rc.alias(k.value, k.value.Shape)
	return nil
}

type rangeOp struct{}

func (rangeOp) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: in[0].typ, rank: 1, shape: []int{-1}}
	return nil
}

func (rangeOp) run(rc *runCtx, in, out []*Tensor) error {
	s, l, d := in[0], in[1], in[2]
	if s.Type != l.Type || s.Type != d.Type || s.Len() != 1 || l.Len() != 1 || d.Len() != 1 {
		return fmt.Errorf("%w: Range of %v, %v, %v", onnx.ErrFormat, s, l, d)
	}
	fs, _ := floatsOf(s)
	fl, _ := floatsOf(l)
	fd, err := floatsOf(d)
	if err != nil {
		return err
	}
	if fd[0] == 0 {
		return fmt.Errorf("Range with delta 0")
	}
	nf := math.Ceil((fl[0] - fs[0]) / fd[0])
	if !(nf < float64(rc.e.limit)) {
		return fmt.Errorf("%w: Range of %g elements", ErrLimit, nf)
	}
	n := int(max(nf, 0))
	o, err := rc.alloc(s.Type, []int{n})
	if err != nil {
		return err
	}
	switch v := o.Data.(type) {
	case []float32:
		x, dx := s.Data.([]float32)[0], d.Data.([]float32)[0]
		for i := range v {
			v[i] = x + float32(i)*dx
		}
	case []float64:
		x, dx := s.Data.([]float64)[0], d.Data.([]float64)[0]
		for i := range v {
			v[i] = x + float64(i)*dx
		}
	case []int16:
		rangeInt(v, s.Data.([]int16)[0], d.Data.([]int16)[0])
	case []int32:
		rangeInt(v, s.Data.([]int32)[0], d.Data.([]int32)[0])
	case []int64:
		rangeInt(v, s.Data.([]int64)[0], d.Data.([]int64)[0])
	default:
		rc.release(o)
		return fmt.Errorf("%w: Range of %v", ErrUnsupported, s.Type)
	}
	out[0] = o
	return nil
}

func rangeInt[T int16 | int32 | int64](v []T, x, dx T) {
	for i := range v {
		v[i] = x
		x += dx
	}
}
