package exec

import (
	"fmt"
	"math"

	"github.com/edgeai-go/edgeai/models/onnx"
)

type redOp int

const (
	redSum redOp = iota
	redMean
	redMax
	redMin
	redProd
	redSumSquare
	redL1
	redL2
	redLogSum
	redLogSumExp
)

// reduce is the Reduce* family: axes from an attribute (before the opset
// in which they became an input: 13 for ReduceSum, 18 for the others) or
// from the optional second input.
type reduce struct {
	op        redOp
	axes      []int64
	axesAttr  bool
	keepDims  bool
	noopEmpty bool
}

func init() {
	for name, op := range map[string]redOp{
		"ReduceSum": redSum, "ReduceMean": redMean, "ReduceMax": redMax, "ReduceMin": redMin,
		"ReduceProd": redProd, "ReduceSumSquare": redSumSquare, "ReduceL1": redL1, "ReduceL2": redL2,
		"ReduceLogSum": redLogSum, "ReduceLogSumExp": redLogSumExp,
	} {
		inputFrom := int64(18)
		if op == redSum {
			inputFrom = 13
		}
		register(name, 1, 2, 1, func(nc *nodeCtx) (kernel, error) {
			k := &reduce{op: op, keepDims: nc.a.intIn("keepdims", 1, 0, 1) == 1}
			if nc.opset < inputFrom {
				k.axes, k.axesAttr = nc.a.ints("axes")
				if len(nc.n.Inputs) > 1 {
					return nil, fmt.Errorf("%w: %s takes axes as an attribute at opset %d", onnx.ErrFormat, name, nc.opset)
				}
			} else {
				k.noopEmpty = nc.a.intIn("noop_with_empty_axes", 0, 0, 1) == 1
			}
			return k, nil
		})
	}
	register("ArgMax", 1, 1, 1, func(nc *nodeCtx) (kernel, error) { return newArg(nc, true) })
	register("ArgMin", 1, 1, 1, func(nc *nodeCtx) (kernel, error) { return newArg(nc, false) })
	register("CumSum", 2, 2, 1, func(nc *nodeCtx) (kernel, error) {
		return &cumsum{exclusive: nc.a.intIn("exclusive", 0, 0, 1) == 1, reverse: nc.a.intIn("reverse", 0, 0, 1) == 1}, nil
	})
}

// reducedAxes returns which axes of a rank-r input are reduced, or nil for
// none (the identity of noop_with_empty_axes).
func (k *reduce) reducedAxes(r int, axes []int64, have bool) ([]bool, error) {
	red := make([]bool, r)
	if !have || len(axes) == 0 {
		if k.noopEmpty {
			return nil, nil
		}
		for i := range red {
			red[i] = true
		}
		return red, nil
	}
	for _, a := range axes {
		ax, err := normAxis(a, r)
		if err != nil {
			return nil, err
		}
		red[ax] = true
	}
	return red, nil
}

func (k *reduce) axesOf(in []*Tensor) ([]int64, bool, error) {
	if k.axesAttr || len(in) < 2 || in[1] == nil {
		return k.axes, k.axesAttr, nil
	}
	a, err := intsOf(in[1])
	return a, true, err
}

func (k *reduce) infer(in, out []vinfo) error {
	out[0].typ = in[0].typ
	if in[0].rank < 0 {
		return nil
	}
	axes, have := k.axes, k.axesAttr
	if len(in) > 1 && !in[1].absent {
		if in[1].val == nil {
			return nil
		}
		a, err := intsOf(in[1].val)
		if err != nil {
			return err
		}
		axes, have = a, true
	}
	red, err := k.reducedAxes(in[0].rank, axes, have)
	if err != nil {
		return err
	}
	out[0].rank, out[0].shape = reducedShape(in[0].shape, red, k.keepDims)
	return nil
}

func reducedShape(shape []int, red []bool, keep bool) (int, []int) {
	if red == nil {
		return len(shape), shape
	}
	var s []int
	for i, d := range shape {
		switch {
		case !red[i]:
			s = append(s, d)
		case keep:
			s = append(s, 1)
		}
	}
	if s == nil {
		s = []int{}
	}
	return len(s), s
}

func (k *reduce) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	axes, have, err := k.axesOf(in)
	if err != nil {
		return err
	}
	red, err := k.reducedAxes(len(x.Shape), axes, have)
	if err != nil {
		return err
	}
	if red == nil {
		out[0] = rc.alias(x, x.Shape)
		return nil
	}
	_, shape := reducedShape(x.Shape, red, k.keepDims)
	o, err := rc.alloc(x.Type, shape)
	if err != nil {
		return err
	}
	out[0] = o
	// Strides of the output in the input's dimensions (0 where reduced).
	r := len(x.Shape)
	ostr := make([]int, r)
	acc := 1
	for i := r - 1; i >= 0; i-- {
		if !red[i] {
			ostr[i] = acc
			acc *= x.Shape[i]
		}
	}
	count := 1
	for i, d := range x.Shape {
		if red[i] {
			count *= d
		}
	}
	switch s := x.Data.(type) {
	case []float32:
		if count == 0 && (k.op == redMax || k.op == redMin) {
			return fmt.Errorf("%s of an empty set", [...]string{redMax: "ReduceMax", redMin: "ReduceMin"}[k.op])
		}
		acc := make([]float64, len(o.Data.([]float32)))
		reduceFloat(k.op, acc, s, x.Shape, ostr, count)
		for i, v := range acc {
			o.Data.([]float32)[i] = float32(v)
		}
	case []float64:
		acc := make([]float64, len(o.Data.([]float64)))
		reduceFloat(k.op, acc, s, x.Shape, ostr, count)
		copy(o.Data.([]float64), acc)
	case []int32:
		return reduceInt(k.op, o.Data.([]int32), s, x.Shape, ostr, count)
	case []int64:
		return reduceInt(k.op, o.Data.([]int64), s, x.Shape, ostr, count)
	case []uint8:
		return reduceInt(k.op, o.Data.([]uint8), s, x.Shape, ostr, count)
	case []int8:
		return reduceInt(k.op, o.Data.([]int8), s, x.Shape, ostr, count)
	case []uint32:
		return reduceInt(k.op, o.Data.([]uint32), s, x.Shape, ostr, count)
	case []uint64:
		return reduceInt(k.op, o.Data.([]uint64), s, x.Shape, ostr, count)
	default:
		return fmt.Errorf("%w: reduction of %v", ErrUnsupported, x.Type)
	}
	return nil
}

// walk calls fn(i, o) for every input element i with the offset o of the
// output element it reduces into.
func walk(shape, ostr []int, fn func(i, o int)) {
	n := numel(shape)
	if n == 0 {
		return
	}
	r := len(shape)
	idx := make([]int, r)
	o := 0
	inner := 1
	is := 0
	if r > 0 {
		inner, is = shape[r-1], ostr[r-1]
	}
	for i := 0; i < n; i += inner {
		for j := range inner {
			fn(i+j, o+j*is)
		}
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			o += ostr[d]
			if idx[d] < shape[d] {
				break
			}
			o -= shape[d] * ostr[d]
			idx[d] = 0
		}
	}
}

func reduceFloat[T float32 | float64](op redOp, acc []float64, x []T, shape, ostr []int, count int) {
	switch op {
	case redMax:
		for i := range acc {
			acc[i] = math.Inf(-1)
		}
		walk(shape, ostr, func(i, o int) {
			v := float64(x[i])
			if v > acc[o] || v != v {
				acc[o] = v
			}
		})
		return
	case redMin:
		for i := range acc {
			acc[i] = math.Inf(1)
		}
		walk(shape, ostr, func(i, o int) {
			v := float64(x[i])
			if v < acc[o] || v != v {
				acc[o] = v
			}
		})
		return
	case redProd:
		for i := range acc {
			acc[i] = 1
		}
		walk(shape, ostr, func(i, o int) { acc[o] *= float64(x[i]) })
		return
	case redLogSumExp:
		mx := make([]float64, len(acc))
		for i := range mx {
			mx[i] = math.Inf(-1)
		}
		walk(shape, ostr, func(i, o int) { mx[o] = max(mx[o], float64(x[i])) })
		walk(shape, ostr, func(i, o int) { acc[o] += math.Exp(float64(x[i]) - mx[o]) })
		for i := range acc {
			acc[i] = math.Log(acc[i]) + mx[i]
		}
		return
	}
	switch op {
	case redSumSquare, redL2:
		walk(shape, ostr, func(i, o int) { v := float64(x[i]); acc[o] += v * v })
	case redL1:
		walk(shape, ostr, func(i, o int) { acc[o] += math.Abs(float64(x[i])) })
	default:
		walk(shape, ostr, func(i, o int) { acc[o] += float64(x[i]) })
	}
	for i := range acc {
		switch op {
		case redMean:
			acc[i] /= float64(count)
		case redL2:
			acc[i] = math.Sqrt(acc[i])
		case redLogSum:
			acc[i] = math.Log(acc[i])
		}
	}
}

func reduceInt[T number](op redOp, out, x []T, shape, ostr []int, count int) error {
	switch op {
	case redMax, redMin:
		if count == 0 {
			return fmt.Errorf("reduction of an empty set")
		}
		seen := make([]bool, len(out))
		walk(shape, ostr, func(i, o int) {
			if !seen[o] || (op == redMax && x[i] > out[o]) || (op == redMin && x[i] < out[o]) {
				out[o] = x[i]
				seen[o] = true
			}
		})
	case redMean:
		// Summed and divided in 64 bits: T(count) can wrap to 0 or below
		// for 8-bit types (256 values of a uint8 tensor), and the sum of
		// narrow values overflow T.
		if count == 0 {
			return fmt.Errorf("mean of an empty set")
		}
		if u, ok := any(out).([]uint64); ok {
			xu := any(x).([]uint64)
			clear(u)
			walk(shape, ostr, func(i, o int) { u[o] += xu[i] })
			for i := range u {
				u[i] /= uint64(count)
			}
			break
		}
		acc := make([]int64, len(out))
		walk(shape, ostr, func(i, o int) { acc[o] += int64(x[i]) })
		for i := range out {
			out[i] = T(acc[i] / int64(count))
		}
	case redSum, redSumSquare, redL1:
		clear(out)
		walk(shape, ostr, func(i, o int) {
			v := x[i]
			switch op {
			case redSumSquare:
				v *= v
			case redL1:
				if v < 0 {
					v = -v
				}
			}
			out[o] += v
		})
	case redProd:
		for i := range out {
			out[i] = 1
		}
		walk(shape, ostr, func(i, o int) { out[o] *= x[i] })
	default:
		return fmt.Errorf("%w: this reduction of integers", ErrUnsupported)
	}
	return nil
}

// arg is ArgMax and ArgMin.
type arg struct {
	isMax    bool
	axis     int64
	keepDims bool
	last     bool
}

func newArg(nc *nodeCtx, isMax bool) (kernel, error) {
	return &arg{
		isMax:    isMax,
		axis:     nc.a.int("axis", 0),
		keepDims: nc.a.intIn("keepdims", 1, 0, 1) == 1,
		last:     nc.a.intIn("select_last_index", 0, 0, 1) == 1,
	}, nil
}

func (k *arg) infer(in, out []vinfo) error {
	out[0].typ = onnx.Int64
	if in[0].rank >= 0 {
		ax, err := normAxis(k.axis, in[0].rank)
		if err != nil {
			return err
		}
		red := make([]bool, in[0].rank)
		red[ax] = true
		out[0].rank, out[0].shape = reducedShape(in[0].shape, red, k.keepDims)
	}
	return nil
}

func (k *arg) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	ax, err := normAxis(k.axis, len(x.Shape))
	if err != nil {
		return err
	}
	if x.Shape[ax] == 0 {
		return fmt.Errorf("ArgMax/ArgMin over an empty axis")
	}
	red := make([]bool, len(x.Shape))
	red[ax] = true
	_, shape := reducedShape(x.Shape, red, k.keepDims)
	o, err := rc.alloc(onnx.Int64, shape)
	if err != nil {
		return err
	}
	out[0] = o
	outer, n, inner := numel(x.Shape[:ax]), x.Shape[ax], numel(x.Shape[ax+1:])
	switch s := x.Data.(type) {
	case []float32:
		argT(o.Data.([]int64), s, outer, n, inner, k.isMax, k.last)
	case []float64:
		argT(o.Data.([]int64), s, outer, n, inner, k.isMax, k.last)
	case []int32:
		argT(o.Data.([]int64), s, outer, n, inner, k.isMax, k.last)
	case []int64:
		argT(o.Data.([]int64), s, outer, n, inner, k.isMax, k.last)
	case []uint8:
		argT(o.Data.([]int64), s, outer, n, inner, k.isMax, k.last)
	case []int8:
		argT(o.Data.([]int64), s, outer, n, inner, k.isMax, k.last)
	default:
		return fmt.Errorf("%w: ArgMax/ArgMin of %v", ErrUnsupported, x.Type)
	}
	return nil
}

func argT[T number](out []int64, x []T, outer, n, inner int, isMax, last bool) {
	for o := range outer {
		for i := range inner {
			base := o*n*inner + i
			best, bi := x[base], 0
			for j := 1; j < n; j++ {
				v := x[base+j*inner]
				better := v > best
				if !isMax {
					better = v < best
				}
				if better || (last && v == best) {
					best, bi = v, j
				}
			}
			out[o*inner+i] = int64(bi)
		}
	}
}

type cumsum struct{ exclusive, reverse bool }

func (k *cumsum) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: in[0].typ, rank: in[0].rank, shape: in[0].shape}
	return nil
}

func (k *cumsum) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	a, err := intsOf(in[1])
	if err != nil || len(a) != 1 {
		return fmt.Errorf("%w: CumSum axis must be one integer", onnx.ErrFormat)
	}
	ax, err := normAxis(a[0], len(x.Shape))
	if err != nil {
		return err
	}
	o, err := rc.alloc(x.Type, x.Shape)
	if err != nil {
		return err
	}
	out[0] = o
	outer, n, inner := numel(x.Shape[:ax]), x.Shape[ax], numel(x.Shape[ax+1:])
	switch s := x.Data.(type) {
	case []float32:
		cumsumT(o.Data.([]float32), s, outer, n, inner, k.exclusive, k.reverse)
	case []float64:
		cumsumT(o.Data.([]float64), s, outer, n, inner, k.exclusive, k.reverse)
	case []int32:
		cumsumT(o.Data.([]int32), s, outer, n, inner, k.exclusive, k.reverse)
	case []int64:
		cumsumT(o.Data.([]int64), s, outer, n, inner, k.exclusive, k.reverse)
	case []uint32:
		cumsumT(o.Data.([]uint32), s, outer, n, inner, k.exclusive, k.reverse)
	case []uint64:
		cumsumT(o.Data.([]uint64), s, outer, n, inner, k.exclusive, k.reverse)
	default:
		return fmt.Errorf("%w: CumSum of %v", ErrUnsupported, x.Type)
	}
	return nil
}

func cumsumT[T number](dst, x []T, outer, n, inner int, exclusive, reverse bool) {
	for o := range outer {
		for i := range inner {
			var acc T
			for jj := range n {
				j := jj
				if reverse {
					j = n - 1 - jj
				}
				p := (o*n+j)*inner + i
				if exclusive {
					dst[p] = acc
					acc += x[p]
				} else {
					acc += x[p]
					dst[p] = acc
				}
			}
		}
	}
}
