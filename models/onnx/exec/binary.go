package exec

import (
	"fmt"
	"math"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/onnx"
)

// number is the set of numeric element types arithmetic is defined on.
type number interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

type integer interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

type binOp int

const (
	opAdd binOp = iota
	opSub
	opMul
	opDiv
	opPow
	opMax
	opMin
	opMod
	opFmod
	opEqual
	opLess
	opGreater
	opLessEq
	opGreaterEq
	opAnd
	opOr
	opXor
	opShl
	opShr
	opBitAnd
	opBitOr
	opBitXor
)

func (op binOp) compare() bool { return op >= opEqual && op <= opGreaterEq }
func (op binOp) logical() bool { return op >= opAnd && op <= opXor }
func (op binOp) bitwise() bool { return op >= opShl }

// parallelGrain is the number of elements below which an elementwise loop
// runs on one goroutine.
const parallelGrain = minParWork

// elemBinary is an elementwise operator of two inputs with numpy broadcasting.
type elemBinary struct {
	op binOp
}

func init() {
	for name, op := range map[string]binOp{
		"Add": opAdd, "Sub": opSub, "Mul": opMul, "Div": opDiv, "Pow": opPow,
		"Equal": opEqual, "Less": opLess, "Greater": opGreater,
		"LessOrEqual": opLessEq, "GreaterOrEqual": opGreaterEq,
		"And": opAnd, "Or": opOr, "Xor": opXor,
		"BitwiseAnd": opBitAnd, "BitwiseOr": opBitOr, "BitwiseXor": opBitXor,
	} {
		register(name, 2, 2, 1, func(nc *nodeCtx) (kernel, error) {
			if nc.opset < 7 && nc.a.has("broadcast") {
				// Opset 1-6 broadcasting is explicit and axis-based.
				b := nc.a.int("broadcast", 0)
				if b != 0 || nc.a.has("axis") {
					return nil, fmt.Errorf("%w: legacy broadcast attributes", ErrUnsupported)
				}
			}
			nc.a.ignore("consumed_inputs")
			return &elemBinary{op: op}, nil
		})
	}
	register("Mod", 2, 2, 1, func(nc *nodeCtx) (kernel, error) {
		if nc.a.intIn("fmod", 0, 0, 1) == 1 {
			return &elemBinary{op: opFmod}, nil
		}
		return &elemBinary{op: opMod}, nil
	})
	register("BitShift", 2, 2, 1, func(nc *nodeCtx) (kernel, error) {
		switch d := nc.a.str("direction", ""); d {
		case "LEFT":
			return &elemBinary{op: opShl}, nil
		case "RIGHT":
			return &elemBinary{op: opShr}, nil
		default:
			return nil, fmt.Errorf("%w: BitShift direction %q", onnx.ErrFormat, d)
		}
	})
	for name, op := range map[string]binOp{"Max": opMax, "Min": opMin, "Sum": opAdd, "Mean": opAdd} {
		mean := name == "Mean"
		register(name, 1, -1, 1, func(nc *nodeCtx) (kernel, error) {
			nc.a.ignore("consumed_inputs")
			return &variadic{op: op, mean: mean}, nil
		})
	}
}

func (k *elemBinary) outType(a onnx.DataType) onnx.DataType {
	if k.op.compare() {
		return onnx.Bool
	}
	return a
}

func (k *elemBinary) infer(in, out []vinfo) error {
	a, b := in[0], in[1]
	if a.typ != onnx.Undefined && b.typ != onnx.Undefined && a.typ != b.typ && k.op != opPow {
		return fmt.Errorf("%w: inputs of types %v and %v", onnx.ErrFormat, a.typ, b.typ)
	}
	if err := k.checkType(a.typ); err != nil {
		return err
	}
	out[0].typ = k.outType(a.typ)
	out[0].rank, out[0].shape = broadcastInfo(a, b)
	return nil
}

func (k *elemBinary) checkType(t onnx.DataType) error {
	if t == onnx.Undefined {
		return nil
	}
	ok := true
	switch {
	case k.op.logical():
		ok = t == onnx.Bool
	case k.op.bitwise():
		ok = isInteger(t)
	case k.op == opEqual:
		ok = t != onnx.String || true
	case t == onnx.Bool || t == onnx.String:
		ok = false
	}
	if !ok {
		return fmt.Errorf("%w: element type %v", ErrUnsupported, t)
	}
	return nil
}

func isInteger(t onnx.DataType) bool {
	switch t {
	case onnx.Int8, onnx.Uint8, onnx.Int16, onnx.Uint16, onnx.Int32, onnx.Uint32, onnx.Int64, onnx.Uint64:
		return true
	}
	return false
}

func isFloat(t onnx.DataType) bool {
	return t == onnx.Float || t == onnx.Double || t == onnx.Float16 || t == onnx.BFloat16
}

func (k *elemBinary) run(rc *runCtx, in, out []*Tensor) error {
	a, b := in[0], in[1]
	if a.Type != b.Type && k.op != opPow {
		return fmt.Errorf("%w: inputs of types %v and %v", onnx.ErrFormat, a.Type, b.Type)
	}
	if err := k.checkType(a.Type); err != nil {
		return err
	}
	o, err := elementwise2(rc, k.op, a, b)
	if err != nil {
		return err
	}
	out[0] = o
	return nil
}

// elementwise2 applies op to a and b with broadcasting into a new tensor.
func elementwise2(rc *runCtx, op binOp, a, b *Tensor) (*Tensor, error) {
	shape, err := broadcastShape(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	if isHalf(a.Type) {
		// Half-precision arithmetic in float32, rounded back.
		fa, fb := halfToF32(rc, a), b
		defer rc.release(fa)
		if isHalf(b.Type) {
			fb = halfToF32(rc, b)
			defer rc.release(fb)
		}
		r, err := elementwise2(rc, op, fa, fb)
		if err != nil || r.Type != onnx.Float {
			return r, err
		}
		defer rc.release(r)
		return f32ToHalf(rc, r, a.Type)
	}
	otype := a.Type
	if op.compare() {
		otype = onnx.Bool
	}
	o, err := rc.alloc(otype, shape)
	if err != nil {
		return nil, err
	}
	it := newIter(shape, a.Shape, b.Shape)
	if op == opPow {
		err = powLoop(rc, it, a, b, o)
	} else {
		err = binLoop(rc, it, op, a.Data, b.Data, o.Data)
	}
	if err != nil {
		rc.release(o)
		return nil, err
	}
	return o, nil
}

// forEach runs fn over the iterator's rows, in parallel when the output is
// large.
func forEach(rc *runCtx, it *iter, fn func(o int, off *[maxOperands]int, n int)) {
	if it.total() < minParWork || rc.e.pool.Threads() == 1 {
		it.units(it.inner + 1)
		it.each(0, it.rows, fn)
		return
	}
	units := it.units(minChunkWork)
	rc.parWork(units, it.total(), func(lo, hi int) { it.each(lo, hi, fn) })
}

func binLoop(rc *runCtx, it *iter, op binOp, a, b, o any) error {
	switch a := a.(type) {
	case []float32:
		return binF32(rc, it, op, a, b.([]float32), o)
	case []float64:
		return binNum(rc, it, op, a, b.([]float64), o)
	case []int8:
		return binNum(rc, it, op, a, b.([]int8), o)
	case []uint8:
		return binNum(rc, it, op, a, b.([]uint8), o)
	case []int16:
		return binNum(rc, it, op, a, b.([]int16), o)
	case []uint16:
		return binNum(rc, it, op, a, b.([]uint16), o)
	case []int32:
		return binNum(rc, it, op, a, b.([]int32), o)
	case []uint32:
		return binNum(rc, it, op, a, b.([]uint32), o)
	case []int64:
		return binNum(rc, it, op, a, b.([]int64), o)
	case []uint64:
		return binNum(rc, it, op, a, b.([]uint64), o)
	case []bool:
		return binBool(rc, it, op, a, b.([]bool), o)
	case []string:
		if op == opEqual {
			loop2(rc, it, a, b.([]string), o.([]bool), func(x, y string) bool { return x == y })
			return nil
		}
	}
	return fmt.Errorf("%w: %T operands", ErrUnsupported, a)
}

// loop2 is the generic broadcast loop: o = f(a, b).
func loop2[A, B, O any](rc *runCtx, it *iter, a []A, b []B, o []O, f func(A, B) O) {
	forEach(rc, it, func(oo int, off *[maxOperands]int, n int) {
		ao, bo := off[0], off[1]
		sa, sb := it.step[0], it.step[1]
		oo0 := o[oo : oo+n]
		switch {
		case sa == 1 && sb == 1:
			a, b := a[ao:ao+n], b[bo:bo+n]
			for i := range oo0 {
				oo0[i] = f(a[i], b[i])
			}
		case sa == 1:
			a, y := a[ao:ao+n], b[bo]
			for i := range oo0 {
				oo0[i] = f(a[i], y)
			}
		case sb == 1:
			x, b := a[ao], b[bo:bo+n]
			for i := range oo0 {
				oo0[i] = f(x, b[i])
			}
		default:
			v := f(a[ao], b[bo])
			for i := range oo0 {
				oo0[i] = v
			}
		}
	})
}

func binNum[T number](rc *runCtx, it *iter, op binOp, a, b []T, o any) error {
	var f func(x, y T) T
	switch op {
	case opAdd:
		f = func(x, y T) T { return x + y }
	case opSub:
		f = func(x, y T) T { return x - y }
	case opMul:
		f = func(x, y T) T { return x * y }
	case opDiv:
		var zero T
		if isIntegerType(zero) {
			// Integer division by zero is an error rather than a panic.
			for _, y := range b {
				if y == 0 {
					return fmt.Errorf("integer division by zero")
				}
			}
		}
		f = func(x, y T) T { return x / y }
	case opMax:
		f = func(x, y T) T {
			if x != x || y != y { // NaN propagates
				return x + y
			}
			return max(x, y)
		}
	case opMin:
		f = func(x, y T) T {
			if x != x || y != y {
				return x + y
			}
			return min(x, y)
		}
	case opMod, opFmod:
		var zero T
		if isIntegerType(zero) {
			for _, y := range b {
				if y == 0 {
					return fmt.Errorf("integer modulo by zero")
				}
			}
			return bitLoop(rc, it, op, a, b, o.([]T))
		} else {
			if op == opMod {
				return fmt.Errorf("%w: Mod with fmod=0 on floating-point inputs", onnx.ErrFormat)
			}
			f = func(x, y T) T { return T(math.Mod(float64(x), float64(y))) }
		}
	case opEqual, opLess, opGreater, opLessEq, opGreaterEq:
		var g func(x, y T) bool
		switch op {
		case opEqual:
			g = func(x, y T) bool { return x == y }
		case opLess:
			g = func(x, y T) bool { return x < y }
		case opGreater:
			g = func(x, y T) bool { return x > y }
		case opLessEq:
			g = func(x, y T) bool { return x <= y }
		default:
			g = func(x, y T) bool { return x >= y }
		}
		loop2(rc, it, a, b, o.([]bool), g)
		return nil
	case opShl, opShr, opBitAnd, opBitOr, opBitXor:
		return bitLoop(rc, it, op, a, b, o.([]T))
	default:
		return fmt.Errorf("%w: operator on %T", ErrUnsupported, a)
	}
	loop2(rc, it, a, b, o.([]T), f)
	return nil
}

func isIntegerType(v any) bool {
	switch v.(type) {
	case float32, float64:
		return false
	}
	return true
}

func bitLoop[T number](rc *runCtx, it *iter, op binOp, a, b, o []T) error {
	switch any(a).(type) {
	case []uint8:
		bitLoopT(rc, it, op, any(a).([]uint8), any(b).([]uint8), any(o).([]uint8))
	case []uint16:
		bitLoopT(rc, it, op, any(a).([]uint16), any(b).([]uint16), any(o).([]uint16))
	case []uint32:
		bitLoopT(rc, it, op, any(a).([]uint32), any(b).([]uint32), any(o).([]uint32))
	case []uint64:
		bitLoopT(rc, it, op, any(a).([]uint64), any(b).([]uint64), any(o).([]uint64))
	case []int8:
		bitLoopT(rc, it, op, any(a).([]int8), any(b).([]int8), any(o).([]int8))
	case []int16:
		bitLoopT(rc, it, op, any(a).([]int16), any(b).([]int16), any(o).([]int16))
	case []int32:
		bitLoopT(rc, it, op, any(a).([]int32), any(b).([]int32), any(o).([]int32))
	case []int64:
		bitLoopT(rc, it, op, any(a).([]int64), any(b).([]int64), any(o).([]int64))
	default:
		return fmt.Errorf("%w: bit operation on %T", ErrUnsupported, a)
	}
	return nil
}

func bitLoopT[T integer](rc *runCtx, it *iter, op binOp, a, b, o []T) {
	var f func(x, y T) T
	switch op {
	case opFmod:
		f = func(x, y T) T { return x % y }
	case opMod:
		f = func(x, y T) T {
			r := x % y
			if r != 0 && (r < 0) != (y < 0) {
				r += y
			}
			return r
		}
	case opShl:
		f = func(x, y T) T { return x << uint64(y) }
	case opShr:
		f = func(x, y T) T { return x >> uint64(y) }
	case opBitAnd:
		f = func(x, y T) T { return x & y }
	case opBitOr:
		f = func(x, y T) T { return x | y }
	default:
		f = func(x, y T) T { return x ^ y }
	}
	loop2(rc, it, a, b, o, f)
}

func binBool(rc *runCtx, it *iter, op binOp, a, b []bool, o any) error {
	var f func(x, y bool) bool
	switch op {
	case opAnd:
		f = func(x, y bool) bool { return x && y }
	case opOr:
		f = func(x, y bool) bool { return x || y }
	case opXor, opGreater:
		f = func(x, y bool) bool { return x != y && (op == opXor || x) }
	case opEqual:
		f = func(x, y bool) bool { return x == y }
	case opLess:
		f = func(x, y bool) bool { return !x && y }
	case opLessEq:
		f = func(x, y bool) bool { return !x || y }
	case opGreaterEq:
		f = func(x, y bool) bool { return x || !y }
	default:
		return fmt.Errorf("%w: operator on booleans", ErrUnsupported)
	}
	loop2(rc, it, a, b, o.([]bool), f)
	return nil
}

// binF32 is binNum for float32 with hand-written loops for the four
// arithmetic operators.
func binF32(rc *runCtx, it *iter, op binOp, a, b []float32, o any) error {
	switch op {
	case opAdd, opSub, opMul, opDiv:
	default:
		return binNum(rc, it, op, a, b, o)
	}
	out := o.([]float32)
	forEach(rc, it, func(oo int, off *[maxOperands]int, n int) {
		dst := out[oo : oo+n]
		ao, bo := off[0], off[1]
		switch sa, sb := it.step[0], it.step[1]; {
		case sa == 1 && sb == 1:
			arithVV(op, dst, a[ao:ao+n], b[bo:bo+n])
		case sa == 1:
			arithVS(op, dst, a[ao:ao+n], b[bo])
		case sb == 1:
			arithSV(op, dst, a[ao], b[bo:bo+n])
		default:
			var one [1]float32
			arithVV(op, one[:], a[ao:ao+1], b[bo:bo+1])
			v := one[0]
			for i := range dst {
				dst[i] = v
			}
		}
	})
	return nil
}

func arithVV(op binOp, dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	switch op {
	case opAdd:
		for i := range dst {
			dst[i] = a[i] + b[i]
		}
	case opSub:
		for i := range dst {
			dst[i] = a[i] - b[i]
		}
	case opMul:
		for i := range dst {
			dst[i] = a[i] * b[i]
		}
	case opDiv:
		for i := range dst {
			dst[i] = a[i] / b[i]
		}
	}
}

// epiOfBinOp maps the arithmetic operators to the kernels' steps that do
// the same with a scalar right operand.
var epiOfBinOp = map[binOp]kernels.EpiKind{opAdd: kernels.EpiAdd, opSub: kernels.EpiSub, opMul: kernels.EpiMul, opDiv: kernels.EpiDiv}

func arithVS(op binOp, dst, a []float32, y float32) {
	a = a[:len(dst)]
	if len(dst) >= 16 {
		// The SIMD epilogue steps, in place on a copy (the same float32
		// operation per element: a per-channel scale such as a
		// squeeze-and-excitation Mul is a row per channel).
		if kind, ok := epiOfBinOp[op]; ok {
			copy(dst, a)
			kernels.EpiApply(dst, kind, y, 0)
			return
		}
	}
	switch op {
	case opAdd:
		for i := range dst {
			dst[i] = a[i] + y
		}
	case opSub:
		for i := range dst {
			dst[i] = a[i] - y
		}
	case opMul:
		for i := range dst {
			dst[i] = a[i] * y
		}
	case opDiv:
		for i := range dst {
			dst[i] = a[i] / y
		}
	}
}

func arithSV(op binOp, dst []float32, x float32, b []float32) {
	b = b[:len(dst)]
	switch op {
	case opAdd:
		for i := range dst {
			dst[i] = x + b[i]
		}
	case opSub:
		for i := range dst {
			dst[i] = x - b[i]
		}
	case opMul:
		for i := range dst {
			dst[i] = x * b[i]
		}
	case opDiv:
		for i := range dst {
			dst[i] = x / b[i]
		}
	}
}

// powLoop computes Pow(a, b) for any numeric base and exponent types: the
// result has a's type.
func powLoop(rc *runCtx, it *iter, a, b, o *Tensor) error {
	if a.Type == onnx.Float && b.Type == onnx.Float {
		out := o.Data.([]float32)
		x, y := a.Data.([]float32), b.Data.([]float32)
		loop2(rc, it, x, y, out, func(x, y float32) float32 {
			if y == 2 {
				return x * x
			}
			if y == 0.5 {
				return float32(math.Sqrt(float64(x)))
			}
			return float32(math.Pow(float64(x), float64(y)))
		})
		return nil
	}
	ex, err := floatsOf(b)
	if err != nil {
		return fmt.Errorf("Pow exponent: %w", err)
	}
	switch x := a.Data.(type) {
	case []float32:
		loop2(rc, it, x, ex, o.Data.([]float32), func(x float32, y float64) float32 { return float32(math.Pow(float64(x), y)) })
	case []float64:
		loop2(rc, it, x, ex, o.Data.([]float64), math.Pow)
	case []int32:
		loop2(rc, it, x, ex, o.Data.([]int32), func(x int32, y float64) int32 { return int32(ipow(int64(x), y)) })
	case []int64:
		loop2(rc, it, x, ex, o.Data.([]int64), func(x int64, y float64) int64 { return ipow(x, y) })
	default:
		return fmt.Errorf("%w: Pow of %v", ErrUnsupported, a.Type)
	}
	return nil
}

// ipow raises an integer to a power: exactly for whole non-negative
// exponents, through float64 (truncated) otherwise.
func ipow(x int64, y float64) int64 {
	if y >= 0 && y == math.Trunc(y) && y < 64 {
		r := int64(1)
		for range int(y) {
			r *= x
		}
		return r
	}
	return int64(math.Pow(float64(x), y))
}

// variadic is Max, Min, Sum and Mean: a fold of the inputs with
// broadcasting.
type variadic struct {
	op   binOp
	mean bool
}

func (k *variadic) infer(in, out []vinfo) error {
	t := in[0].typ
	for _, v := range in {
		if v.typ != onnx.Undefined && t != onnx.Undefined && v.typ != t {
			return fmt.Errorf("%w: inputs of types %v and %v", onnx.ErrFormat, t, v.typ)
		}
	}
	out[0].typ = t
	out[0].rank, out[0].shape = broadcastInfo(in...)
	return nil
}

func (k *variadic) run(rc *runCtx, in, out []*Tensor) error {
	for _, t := range in {
		if t == nil {
			return fmt.Errorf("%w: omitted input", onnx.ErrFormat)
		}
		if t.Type != in[0].Type {
			return fmt.Errorf("%w: inputs of types %v and %v", onnx.ErrFormat, in[0].Type, t.Type)
		}
		if t.Type == onnx.Bool || t.Type == onnx.String {
			return fmt.Errorf("%w: element type %v", ErrUnsupported, t.Type)
		}
	}
	if k.mean && !isFloat(in[0].Type) {
		return fmt.Errorf("%w: Mean of %v", ErrUnsupported, in[0].Type)
	}
	acc := rc.alias(in[0], in[0].Shape)
	if len(in) == 1 {
		// One input: a copy (the broadcast of nothing).
		c, err := rc.alloc(acc.Type, acc.Shape)
		if err != nil {
			rc.release(acc)
			return err
		}
		copyData(c.Data, acc.Data)
		rc.release(acc)
		out[0] = c
		return nil
	}
	for _, t := range in[1:] {
		next, err := elementwise2(rc, k.op, acc, t)
		rc.release(acc)
		if err != nil {
			return err
		}
		acc = next
	}
	if k.mean {
		n := float64(len(in))
		switch d := acc.Data.(type) {
		case []float32:
			for i := range d {
				d[i] = float32(float64(d[i]) / n)
			}
		case []float64:
			for i := range d {
				d[i] /= n
			}
		default:
			rc.release(acc)
			return fmt.Errorf("%w: Mean of %v", ErrUnsupported, acc.Type)
		}
	}
	out[0] = acc
	return nil
}
