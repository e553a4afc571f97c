package exec

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/edgeai-go/edgeai/models/onnx"
)

// cast is Cast (to a type named by an attribute) and CastLike (to the type
// of the second input). Conversions follow C: floats truncate toward zero
// into integers, integers wrap, half-precision rounds to nearest even.
type cast struct {
	to   onnx.DataType
	like bool
}

func newCast(nc *nodeCtx) (kernel, error) {
	to := onnx.DataType(nc.a.int("to", 0))
	if nc.opset >= 19 {
		nc.a.int("saturate", 1)
	}
	if !supportedType(to) {
		return nil, fmt.Errorf("%w: Cast to %v", ErrUnsupported, to)
	}
	return &cast{to: to}, nil
}

func (k *cast) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: k.to, rank: in[0].rank, shape: in[0].shape}
	if k.like {
		out[0].typ = in[1].typ
	}
	return nil
}

func (k *cast) run(rc *runCtx, in, out []*Tensor) error {
	to := k.to
	if k.like {
		to = in[1].Type
	}
	o, err := castTensor(rc, in[0], to)
	out[0] = o
	return err
}

// castTensor converts x to type to (a new tensor, even for the same type).
func castTensor(rc *runCtx, x *Tensor, to onnx.DataType) (*Tensor, error) {
	o, err := rc.alloc(to, x.Shape)
	if err != nil {
		return nil, err
	}
	if err := castData(rc, o, x); err != nil {
		rc.release(o)
		return nil, err
	}
	return o, nil
}

func castData(rc *runCtx, o, x *Tensor) error {
	if o.Type == x.Type {
		copyData(o.Data, x.Data)
		return nil
	}
	// Half precision goes through float32.
	if isHalf(x.Type) {
		f := halfToF32(rc, x)
		defer rc.release(f)
		return castData(rc, o, f)
	}
	if isHalf(o.Type) {
		f, err := rc.alloc(onnx.Float, x.Shape)
		if err != nil {
			return err
		}
		defer rc.release(f)
		if err := castData(rc, f, x); err != nil {
			return err
		}
		dst := o.Data.([]uint16)
		h, err := f32ToHalf(rc, f, o.Type)
		if err != nil {
			return err
		}
		copy(dst, h.Data.([]uint16))
		rc.release(h)
		return nil
	}
	switch s := x.Data.(type) {
	case []bool:
		u := make([]uint8, len(s))
		for i, v := range s {
			if v {
				u[i] = 1
			}
		}
		return castFrom(o, u)
	case []string:
		if o.Type == onnx.Bool {
			return fmt.Errorf("%w: Cast from string to bool", ErrUnsupported)
		}
		f := make([]float64, len(s))
		for i, v := range s {
			p, err := parseONNXFloat(v)
			if err != nil {
				return fmt.Errorf("Cast: %q is not a number", v)
			}
			f[i] = p
		}
		return castFrom(o, f)
	case []float32:
		return castFrom(o, s)
	case []float64:
		return castFrom(o, s)
	case []int8:
		return castFrom(o, s)
	case []uint8:
		return castFrom(o, s)
	case []int16:
		return castFrom(o, s)
	case []uint16:
		return castFrom(o, s)
	case []int32:
		return castFrom(o, s)
	case []uint32:
		return castFrom(o, s)
	case []int64:
		return castFrom(o, s)
	case []uint64:
		return castFrom(o, s)
	}
	return fmt.Errorf("%w: Cast from %v", ErrUnsupported, x.Type)
}

func parseONNXFloat(s string) (float64, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "inf", "+inf", "infinity":
		return math.Inf(1), nil
	case "-inf", "-infinity":
		return math.Inf(-1), nil
	case "nan":
		return math.NaN(), nil
	}
	return strconv.ParseFloat(strings.TrimSpace(s), 64)
}

func castFrom[S number](o *Tensor, src []S) error {
	switch d := o.Data.(type) {
	case []float32:
		castSlice(d, src)
	case []float64:
		castSlice(d, src)
	case []int8:
		castSlice(d, src)
	case []uint8:
		castSlice(d, src)
	case []int16:
		castSlice(d, src)
	case []uint16:
		castSlice(d, src)
	case []int32:
		castSlice(d, src)
	case []uint32:
		castSlice(d, src)
	case []int64:
		castSlice(d, src)
	case []uint64:
		castSlice(d, src)
	case []bool:
		for i, v := range src {
			d[i] = v != 0
		}
	case []string:
		for i, v := range src {
			d[i] = formatNumber(v)
		}
	default:
		return fmt.Errorf("%w: Cast to %v", ErrUnsupported, o.Type)
	}
	return nil
}

func castSlice[D, S number](dst []D, src []S) {
	var zs S
	var zd D
	_, srcFloat := any(zs).(float32)
	if _, ok := any(zs).(float64); ok {
		srcFloat = true
	}
	dstInt := isIntegerType(zd)
	if srcFloat && dstInt {
		// Go leaves out-of-range float-to-integer conversions unspecified
		// (and NaN); clamp them instead of producing arbitrary values.
		lo, hi := intRange(zd)
		for i, v := range src[:len(dst)] {
			f := float64(v)
			switch {
			case f != f:
				dst[i] = 0
			case f <= lo:
				dst[i] = D(lo)
			case f >= hi:
				dst[i] = maxInt[D]()
			default:
				dst[i] = D(v)
			}
		}
		return
	}
	for i, v := range src[:len(dst)] {
		dst[i] = D(v)
	}
}

// intRange returns an integer type's bounds as float64.
func intRange(v any) (float64, float64) {
	switch v.(type) {
	case int8:
		return math.MinInt8, math.MaxInt8
	case uint8:
		return 0, math.MaxUint8
	case int16:
		return math.MinInt16, math.MaxInt16
	case uint16:
		return 0, math.MaxUint16
	case int32:
		return math.MinInt32, math.MaxInt32
	case uint32:
		return 0, math.MaxUint32
	case int64:
		return math.MinInt64, math.MaxInt64 // float64 rounds the top to 2^63
	}
	return 0, math.MaxUint64
}

func formatNumber[S number](v S) string {
	switch x := any(v).(type) {
	case float32:
		return formatFloat(float64(x), 32)
	case float64:
		return formatFloat(x, 64)
	}
	return fmt.Sprint(v)
}

func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "INF"
	case math.IsInf(f, -1):
		return "-INF"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// maxInt returns the largest value of an integer type.
func maxInt[D number]() D {
	var z D
	switch any(z).(type) {
	case int64:
		return any(int64(math.MaxInt64)).(D)
	case uint64:
		return any(uint64(math.MaxUint64)).(D)
	}
	_, hi := intRange(z)
	return D(hi)
}
