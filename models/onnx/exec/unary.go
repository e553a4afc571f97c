package exec

import (
	"fmt"
	"math"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/onnx"
	"github.com/edgeai-go/edgeai/quant"
)

// unary is an elementwise operator of one float input (and, for a few, of
// integers too): f computes it in float64 and the result is rounded to the
// tensor's type; f32, if set, is a faster float32 version.
type unary struct {
	name        string
	f           func(x float64) float64
	f32         func(dst, src []float32)
	ints        bool    // also defined on signed integers (through f)
	alpha, beta float32 // LeakyRelu's and HardSigmoid's attributes
}

func unaryOp(name string, ints bool, f func(float64) float64, f32 func(dst, src []float32)) {
	register(name, 1, 1, 1, func(nc *nodeCtx) (kernel, error) {
		nc.a.ignore("consumed_inputs")
		return &unary{name: name, f: f, f32: f32, ints: ints}, nil
	})
}

// unaryParam registers an activation with float attributes.
func unaryParam(name string, mk func(a *attrs) (func(float64) float64, func(dst, src []float32))) {
	register(name, 1, 1, 1, func(nc *nodeCtx) (kernel, error) {
		nc.a.ignore("consumed_inputs")
		f, f32 := mk(nc.a)
		k := &unary{name: name, f: f, f32: f32}
		switch name {
		case "LeakyRelu":
			k.alpha = nc.a.float("alpha", 0.01)
		case "HardSigmoid":
			k.alpha, k.beta = nc.a.float("alpha", 0.2), nc.a.float("beta", 0.5)
		}
		return k, nil
	})
}

func init() {
	unaryOp("Abs", true, math.Abs, nil)
	unaryOp("Neg", true, func(x float64) float64 { return -x }, nil)
	unaryOp("Sign", true, func(x float64) float64 {
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return x
	}, nil)
	unaryOp("Relu", true, func(x float64) float64 { return max(x, 0) }, reluF32)
	unaryOp("Sqrt", false, math.Sqrt, nil)
	unaryOp("Exp", false, math.Exp, nil)
	unaryOp("Log", false, math.Log, nil)
	unaryOp("Erf", false, math.Erf, nil)
	unaryOp("Tanh", false, math.Tanh, nil)
	unaryOp("Sigmoid", false, sigmoid, sigmoidF32)
	unaryOp("Reciprocal", false, func(x float64) float64 { return 1 / x }, nil)
	unaryOp("Ceil", false, math.Ceil, nil)
	unaryOp("Floor", false, math.Floor, nil)
	unaryOp("Round", false, math.RoundToEven, nil)
	unaryOp("Sin", false, math.Sin, nil)
	unaryOp("Cos", false, math.Cos, nil)
	unaryOp("Tan", false, math.Tan, nil)
	unaryOp("Asin", false, math.Asin, nil)
	unaryOp("Acos", false, math.Acos, nil)
	unaryOp("Atan", false, math.Atan, nil)
	unaryOp("Sinh", false, math.Sinh, nil)
	unaryOp("Cosh", false, math.Cosh, nil)
	unaryOp("Asinh", false, math.Asinh, nil)
	unaryOp("Acosh", false, math.Acosh, nil)
	unaryOp("Atanh", false, math.Atanh, nil)
	unaryOp("Softsign", false, func(x float64) float64 { return x / (1 + math.Abs(x)) }, nil)
	unaryOp("Softplus", false, func(x float64) float64 {
		if x > 30 {
			return x
		}
		return math.Log1p(math.Exp(x))
	}, nil)
	unaryOp("Mish", false, func(x float64) float64 { return x * math.Tanh(math.Log1p(math.Exp(x))) }, nil)
	unaryOp("HardSwish", false, func(x float64) float64 { return x * max(0, min(1, x/6+0.5)) }, nil)
	unaryParam("LeakyRelu", func(a *attrs) (func(float64) float64, func(dst, src []float32)) {
		alpha := a.float("alpha", 0.01)
		return func(x float64) float64 {
				if x < 0 {
					return float64(alpha) * x
				}
				return x
			}, func(dst, src []float32) {
				for i, x := range src[:len(dst)] {
					if x < 0 {
						x *= alpha
					}
					dst[i] = x
				}
			}
	})
	unaryParam("HardSigmoid", func(a *attrs) (func(float64) float64, func(dst, src []float32)) {
		alpha, beta := a.float("alpha", 0.2), a.float("beta", 0.5)
		return func(x float64) float64 {
				return max(0, min(1, float64(alpha)*x+float64(beta)))
			}, func(dst, src []float32) {
				for i, x := range src[:len(dst)] {
					dst[i] = max(0, min(1, alpha*x+beta))
				}
			}
	})
	unaryParam("Elu", func(a *attrs) (func(float64) float64, func(dst, src []float32)) {
		alpha := float64(a.float("alpha", 1))
		return func(x float64) float64 {
			if x < 0 {
				return alpha * (math.Exp(x) - 1)
			}
			return x
		}, nil
	})
	unaryParam("Selu", func(a *attrs) (func(float64) float64, func(dst, src []float32)) {
		alpha := float64(a.float("alpha", 1.67326319217681884765625))
		gamma := float64(a.float("gamma", 1.05070102214813232421875))
		return func(x float64) float64 {
			if x <= 0 {
				return gamma * alpha * (math.Exp(x) - 1)
			}
			return gamma * x
		}, nil
	})
	unaryParam("ThresholdedRelu", func(a *attrs) (func(float64) float64, func(dst, src []float32)) {
		alpha := float64(a.float("alpha", 1))
		return func(x float64) float64 {
			if x > alpha {
				return x
			}
			return 0
		}, nil
	})
	unaryParam("Celu", func(a *attrs) (func(float64) float64, func(dst, src []float32)) {
		alpha := float64(a.float("alpha", 1))
		return func(x float64) float64 { return max(0, x) + min(0, alpha*(math.Exp(x/alpha)-1)) }, nil
	})
	unaryParam("Gelu", func(a *attrs) (func(float64) float64, func(dst, src []float32)) {
		if a.str("approximate", "none") == "tanh" {
			return func(x float64) float64 {
				return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
			}, nil
		}
		return func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }, nil
	})
	register("Not", 1, 1, 1, func(nc *nodeCtx) (kernel, error) { return notOp{}, nil })
	register("Identity", 1, 1, 1, func(nc *nodeCtx) (kernel, error) { return identity{}, nil })
	register("Clip", 1, 3, 1, newClip)
	register("Cast", 1, 1, 1, newCast)
	register("CastLike", 2, 2, 1, func(nc *nodeCtx) (kernel, error) {
		nc.a.int("saturate", 1)
		return &cast{like: true}, nil
	})
	register("Where", 3, 3, 1, func(nc *nodeCtx) (kernel, error) { return where{}, nil })
	register("IsNaN", 1, 1, 1, func(nc *nodeCtx) (kernel, error) { return isNaN{}, nil })
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func reluF32(dst, src []float32) {
	for i, x := range src[:len(dst)] {
		dst[i] = max(x, 0)
	}
}

// sigmoidF32 is the logistic function with kernels.Exp (within a few ulp).
func sigmoidF32(dst, src []float32) {
	copy(dst, src[:len(dst)])
	kernels.EpiApply(dst, kernels.EpiSigmoid, 0, 0)
}

func (k *unary) infer(in, out []vinfo) error {
	if err := k.checkType(in[0].typ); err != nil {
		return err
	}
	out[0] = vinfo{typ: in[0].typ, rank: in[0].rank, shape: in[0].shape}
	return nil
}

func (k *unary) checkType(t onnx.DataType) error {
	switch {
	case t == onnx.Undefined || isFloat(t):
		return nil
	case k.ints && isInteger(t):
		return nil
	}
	return fmt.Errorf("%w: %s of %v", ErrUnsupported, k.name, t)
}

func (k *unary) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	if err := k.checkType(x.Type); err != nil {
		return err
	}
	if isHalf(x.Type) {
		f := halfToF32(rc, x)
		defer rc.release(f)
		y, err := rc.alloc(onnx.Float, x.Shape)
		if err != nil {
			return err
		}
		defer rc.release(y)
		k.float32(rc, y.Data.([]float32), f.Data.([]float32))
		o, err := f32ToHalf(rc, y, x.Type)
		out[0] = o
		return err
	}
	o, err := rc.alloc(x.Type, x.Shape)
	if err != nil {
		return err
	}
	out[0] = o
	switch s := x.Data.(type) {
	case []float32:
		k.float32(rc, o.Data.([]float32), s)
	case []float64:
		mapSlice(o.Data.([]float64), s, k.f)
	case []int8:
		mapSlice(o.Data.([]int8), s, k.f)
	case []int16:
		mapSlice(o.Data.([]int16), s, k.f)
	case []int32:
		mapSlice(o.Data.([]int32), s, k.f)
	case []int64:
		mapSlice(o.Data.([]int64), s, k.f)
	case []uint8:
		mapSlice(o.Data.([]uint8), s, k.f)
	case []uint16:
		mapSlice(o.Data.([]uint16), s, k.f)
	case []uint32:
		mapSlice(o.Data.([]uint32), s, k.f)
	case []uint64:
		mapSlice(o.Data.([]uint64), s, k.f)
	}
	return nil
}

// float32 applies the operator to float32 data, in parallel when large.
func (k *unary) float32(rc *runCtx, dst, src []float32) {
	f32 := k.f32
	if f32 == nil {
		f := k.f
		f32 = func(dst, src []float32) {
			for i, x := range src[:len(dst)] {
				dst[i] = float32(f(float64(x)))
			}
		}
	}
	if len(dst) < parallelGrain {
		f32(dst, src)
		return
	}
	rc.par(len(dst), parallelGrain/4, func(lo, hi int) { f32(dst[lo:hi], src[lo:hi]) })
}

func mapSlice[T number](dst, src []T, f func(float64) float64) {
	for i, x := range src[:len(dst)] {
		dst[i] = T(f(float64(x)))
	}
}

type notOp struct{}

func (notOp) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: onnx.Bool, rank: in[0].rank, shape: in[0].shape}
	return nil
}

func (notOp) run(rc *runCtx, in, out []*Tensor) error {
	x, ok := in[0].Data.([]bool)
	if !ok {
		return fmt.Errorf("%w: Not of %v", ErrUnsupported, in[0].Type)
	}
	o, err := rc.alloc(onnx.Bool, in[0].Shape)
	if err != nil {
		return err
	}
	for i, v := range x {
		o.Data.([]bool)[i] = !v
	}
	out[0] = o
	return nil
}

type isNaN struct{}

func (isNaN) run(rc *runCtx, in, out []*Tensor) error {
	o, err := rc.alloc(onnx.Bool, in[0].Shape)
	if err != nil {
		return err
	}
	out[0] = o
	b := o.Data.([]bool)
	switch x := in[0].Data.(type) {
	case []float32:
		for i, v := range x {
			b[i] = v != v
		}
	case []float64:
		for i, v := range x {
			b[i] = v != v
		}
	default:
		rc.release(o)
		out[0] = nil
		return fmt.Errorf("%w: IsNaN of %v", ErrUnsupported, in[0].Type)
	}
	return nil
}

type identity struct{}

func (identity) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: in[0].typ, rank: in[0].rank, shape: in[0].shape}
	return nil
}

func (identity) run(rc *runCtx, in, out []*Tensor) error {
	out[0] = rc.alias(in[0], in[0].Shape)
	return nil
}

// clip is Clip: attributes min and max before opset 11, optional inputs
// from 11 on (absent: no bound).
type clip struct {
	lo, hi float32
	attr   bool
}

func newClip(nc *nodeCtx) (kernel, error) {
	if nc.opset < 11 {
		return &clip{attr: true, lo: nc.a.float("min", -math.MaxFloat32), hi: nc.a.float("max", math.MaxFloat32)}, nil
	}
	return &clip{}, nil
}

func (k *clip) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: in[0].typ, rank: in[0].rank, shape: in[0].shape}
	return nil
}

func (k *clip) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	bound := func(i int) (*Tensor, error) {
		if i >= len(in) || in[i] == nil {
			return nil, nil
		}
		b := in[i]
		if b.Type != x.Type {
			return nil, fmt.Errorf("%w: Clip bound of type %v for %v input", onnx.ErrFormat, b.Type, x.Type)
		}
		if b.Len() != 1 {
			return nil, fmt.Errorf("%w: Clip bound with %d values", onnx.ErrFormat, b.Len())
		}
		return b, nil
	}
	lo, err := bound(1)
	if err != nil {
		return err
	}
	hi, err := bound(2)
	if err != nil {
		return err
	}
	o, err := rc.alloc(x.Type, x.Shape)
	if err != nil {
		return err
	}
	out[0] = o
	switch s := x.Data.(type) {
	case []float32:
		l, h := k.lo, k.hi
		if !k.attr {
			l, h = float32(math.Inf(-1)), float32(math.Inf(1))
			if lo != nil {
				l = lo.Data.([]float32)[0]
			}
			if hi != nil {
				h = hi.Data.([]float32)[0]
			}
		}
		dst := o.Data.([]float32)
		f := func(lo, hi int) {
			for i, v := range s[lo:hi] {
				dst[lo+i] = min(max(v, l), h)
			}
		}
		if len(s) < parallelGrain {
			f(0, len(s))
		} else {
			rc.par(len(s), parallelGrain/4, f)
		}
		return nil
	case []float64:
		clipT(o.Data.([]float64), s, lo, hi, math.Inf(-1), math.Inf(1))
	case []int8:
		clipT(o.Data.([]int8), s, lo, hi, math.MinInt8, math.MaxInt8)
	case []uint8:
		clipT(o.Data.([]uint8), s, lo, hi, 0, math.MaxUint8)
	case []int16:
		clipT(o.Data.([]int16), s, lo, hi, math.MinInt16, math.MaxInt16)
	case []int32:
		clipT(o.Data.([]int32), s, lo, hi, math.MinInt32, math.MaxInt32)
	case []int64:
		clipT(o.Data.([]int64), s, lo, hi, math.MinInt64, math.MaxInt64)
	case []uint32:
		clipT(o.Data.([]uint32), s, lo, hi, 0, math.MaxUint32)
	case []uint64:
		clipT(o.Data.([]uint64), s, lo, hi, 0, math.MaxUint64)
	default:
		rc.release(o)
		out[0] = nil
		return fmt.Errorf("%w: Clip of %v", ErrUnsupported, x.Type)
	}
	return nil
}

func clipT[T number](dst, src []T, lo, hi *Tensor, l, h T) {
	if lo != nil {
		l = lo.Data.([]T)[0]
	}
	if hi != nil {
		h = hi.Data.([]T)[0]
	}
	for i, v := range src {
		dst[i] = min(max(v, l), h)
	}
}

// where is Where(cond, x, y) with broadcasting.
type where struct{}

func (where) infer(in, out []vinfo) error {
	out[0].typ = in[1].typ
	out[0].rank, out[0].shape = broadcastInfo(in...)
	return nil
}

func (where) run(rc *runCtx, in, out []*Tensor) error {
	c, x, y := in[0], in[1], in[2]
	cond, ok := c.Data.([]bool)
	if !ok {
		return fmt.Errorf("%w: Where condition of type %v", onnx.ErrFormat, c.Type)
	}
	if x.Type != y.Type {
		return fmt.Errorf("%w: Where of %v and %v", onnx.ErrFormat, x.Type, y.Type)
	}
	shape, err := broadcastShape(c.Shape, x.Shape, y.Shape)
	if err != nil {
		return err
	}
	o, err := rc.alloc(x.Type, shape)
	if err != nil {
		return err
	}
	out[0] = o
	it := newIter(shape, c.Shape, x.Shape, y.Shape)
	switch xs := words(x.Data).(type) {
	case []uint8:
		whereT(rc, it, cond, xs, words(y.Data).([]uint8), words(o.Data).([]uint8))
	case []uint16:
		whereT(rc, it, cond, xs, words(y.Data).([]uint16), words(o.Data).([]uint16))
	case []uint32:
		whereT(rc, it, cond, xs, words(y.Data).([]uint32), words(o.Data).([]uint32))
	case []uint64:
		whereT(rc, it, cond, xs, words(y.Data).([]uint64), words(o.Data).([]uint64))
	case []string:
		whereT(rc, it, cond, xs, y.Data.([]string), o.Data.([]string))
	}
	return nil
}

func whereT[T any](rc *runCtx, it *iter, c []bool, x, y, o []T) {
	forEach(rc, it, func(oo int, off *[maxOperands]int, n int) {
		co, xo, yo := off[0], off[1], off[2]
		sc, sx, sy := it.step[0], it.step[1], it.step[2]
		for i := range n {
			if c[co+i*sc] {
				o[oo+i] = x[xo+i*sx]
			} else {
				o[oo+i] = y[yo+i*sy]
			}
		}
	})
}

// isHalf reports whether t is a 16-bit float type.
func isHalf(t onnx.DataType) bool { return t == onnx.Float16 || t == onnx.BFloat16 }

func halfToFloat(t onnx.DataType, v uint16) float64 {
	if t == onnx.BFloat16 {
		return float64(quant.BF16ToF32(v))
	}
	if t == onnx.Float16 {
		return float64(quant.F16ToF32(v))
	}
	return float64(v)
}

// halfToF32 converts a float16 or bfloat16 tensor to a float32 one.
func halfToF32(rc *runCtx, t *Tensor) *Tensor {
	o, _ := rc.alloc(onnx.Float, t.Shape) // t exists, so its size is within the limit
	dst := o.Data.([]float32)
	for i, v := range t.Data.([]uint16) {
		dst[i] = float32(halfToFloat(t.Type, v))
	}
	return o
}

// f32ToHalf rounds a float32 tensor to float16 or bfloat16.
func f32ToHalf(rc *runCtx, t *Tensor, typ onnx.DataType) (*Tensor, error) {
	o, err := rc.alloc(typ, t.Shape)
	if err != nil {
		return nil, err
	}
	dst := o.Data.([]uint16)
	for i, v := range t.Data.([]float32) {
		if typ == onnx.BFloat16 {
			dst[i] = quant.F32ToBF16(v)
		} else {
			dst[i] = quant.F32ToF16(v)
		}
	}
	return o, nil
}
