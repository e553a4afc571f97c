package runtime

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"github.com/edgeai-go/edgeai/quant"
)

// TensorType is the element type of a Tensor. Its values are ONNX's
// TensorProto.DataType numbers.
type TensorType int32

// The element types an ONNX session moves in and out.
const (
	TensorFloat32  TensorType = 1
	TensorUint8    TensorType = 2
	TensorInt8     TensorType = 3
	TensorUint16   TensorType = 4
	TensorInt16    TensorType = 5
	TensorInt32    TensorType = 6
	TensorInt64    TensorType = 7
	TensorString   TensorType = 8
	TensorBool     TensorType = 9
	TensorFloat16  TensorType = 10
	TensorFloat64  TensorType = 11
	TensorUint32   TensorType = 12
	TensorUint64   TensorType = 13
	TensorBFloat16 TensorType = 16
)

type tensorTypeInfo struct {
	name   string
	size   int    // bytes per element; 0 for strings
	goType string // the type of Tensor.Data
}

var tensorTypes = map[TensorType]tensorTypeInfo{
	TensorFloat32: {"float32", 4, "[]float32"}, TensorUint8: {"uint8", 1, "[]uint8"},
	TensorInt8: {"int8", 1, "[]int8"}, TensorUint16: {"uint16", 2, "[]uint16"},
	TensorInt16: {"int16", 2, "[]int16"}, TensorInt32: {"int32", 4, "[]int32"},
	TensorInt64: {"int64", 8, "[]int64"}, TensorString: {"string", 0, "[]string"},
	TensorBool: {"bool", 1, "[]bool"}, TensorFloat16: {"float16", 2, "[]uint16"},
	TensorFloat64: {"float64", 8, "[]float64"}, TensorUint32: {"uint32", 4, "[]uint32"},
	TensorUint64: {"uint64", 8, "[]uint64"}, TensorBFloat16: {"bfloat16", 2, "[]uint16"},
}

// String returns the type's name: "float32", "int64", "float16", ...
func (t TensorType) String() string {
	if i, ok := tensorTypes[t]; ok {
		return i.name
	}
	return fmt.Sprintf("TensorType(%d)", int32(t))
}

// Size returns the bytes one element takes in raw form (0 for strings and
// unknown types).
func (t TensorType) Size() int { return tensorTypes[t].size }

// ParseTensorType returns the type called name (as printed by String).
func ParseTensorType(name string) (TensorType, error) {
	for t, i := range tensorTypes {
		if i.name == name {
			return t, nil
		}
	}
	return 0, fmt.Errorf("runtime: unknown tensor type %q", name)
}

// Tensor is a dense, row-major tensor passed to and returned by an ONNX
// session. Data holds the elements as a typed slice: []float32, []float64,
// []int8, []uint8, []int16, []uint16, []int32, []uint32, []int64, []uint64,
// []bool or []string; float16 and bfloat16 tensors hold their bit patterns
// in a []uint16. An empty Shape is a scalar (one element).
type Tensor struct {
	Type  TensorType
	Shape []int64
	Data  any
}

// TensorElement is the set of Go element types NewTensor and TensorValues
// take (float16 and bfloat16 travel as uint16 bits; see Tensor).
type TensorElement interface {
	float32 | float64 | int8 | uint8 | int16 | uint16 | int32 | uint32 | int64 | uint64 | bool | string
}

// NewTensor returns a tensor of the given shape holding data (not copied);
// the element type follows from T (uint16 means TensorUint16).
func NewTensor[T TensorElement](shape []int64, data []T) (*Tensor, error) {
	var typ TensorType
	switch any(data).(type) {
	case []float32:
		typ = TensorFloat32
	case []float64:
		typ = TensorFloat64
	case []int8:
		typ = TensorInt8
	case []uint8:
		typ = TensorUint8
	case []int16:
		typ = TensorInt16
	case []uint16:
		typ = TensorUint16
	case []int32:
		typ = TensorInt32
	case []uint32:
		typ = TensorUint32
	case []int64:
		typ = TensorInt64
	case []uint64:
		typ = TensorUint64
	case []bool:
		typ = TensorBool
	case []string:
		typ = TensorString
	}
	t := &Tensor{Type: typ, Shape: append([]int64{}, shape...), Data: data}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// TensorValues returns t's elements as a []T (not a copy), or an error if
// t's data is not a []T.
func TensorValues[T TensorElement](t *Tensor) ([]T, error) {
	d, ok := t.Data.([]T)
	if !ok {
		var zero T
		return nil, fmt.Errorf("runtime: tensor of %v holds %T, not []%T", t.Type, t.Data, zero)
	}
	return d, nil
}

// NumElements returns the product of the shape (1 for a scalar), or an
// error if a dimension is negative or the product overflows.
func (t *Tensor) NumElements() (int, error) {
	return numElements(t.Shape)
}

func numElements(shape []int64) (int, error) {
	n := uint64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("runtime: negative dimension in shape %v", shape)
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt32*uint64(1<<16) {
			return 0, fmt.Errorf("runtime: shape %v is too large", shape)
		}
		n = lo
	}
	return int(n), nil
}

func dataLen(data any) int {
	switch d := data.(type) {
	case []float32:
		return len(d)
	case []float64:
		return len(d)
	case []int8:
		return len(d)
	case []uint8:
		return len(d)
	case []int16:
		return len(d)
	case []uint16:
		return len(d)
	case []int32:
		return len(d)
	case []uint32:
		return len(d)
	case []int64:
		return len(d)
	case []uint64:
		return len(d)
	case []bool:
		return len(d)
	case []string:
		return len(d)
	}
	return -1
}

// Validate checks that Type is known, that Data has the Go type Type calls
// for, and that it holds exactly as many elements as Shape.
func (t *Tensor) Validate() error {
	info, ok := tensorTypes[t.Type]
	if !ok {
		return fmt.Errorf("runtime: tensor type %v is not supported", t.Type)
	}
	if got := fmt.Sprintf("%T", t.Data); got != info.goType {
		return fmt.Errorf("runtime: %v tensor holds %s, want %s", t.Type, got, info.goType)
	}
	n, err := t.NumElements()
	if err != nil {
		return err
	}
	if l := dataLen(t.Data); l != n {
		return fmt.Errorf("runtime: tensor of shape %v needs %d elements, has %d", t.Shape, n, l)
	}
	return nil
}

// TensorFromRaw decodes a tensor from raw little-endian, row-major bytes
// (ONNX's raw_data layout and the body of a .npy file). Booleans are one
// byte each (non-zero is true).
func TensorFromRaw(typ TensorType, shape []int64, raw []byte) (*Tensor, error) {
	info, ok := tensorTypes[typ]
	if !ok || info.size == 0 {
		return nil, fmt.Errorf("runtime: no raw form for %v tensors", typ)
	}
	n, err := numElements(shape)
	if err != nil {
		return nil, err
	}
	if len(raw) != n*info.size {
		return nil, fmt.Errorf("runtime: %v%v needs %d bytes, have %d", typ, shape, n*info.size, len(raw))
	}
	le := binary.LittleEndian
	var data any
	switch typ {
	case TensorFloat32:
		d := make([]float32, n)
		for i := range d {
			d[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
		data = d
	case TensorFloat64:
		d := make([]float64, n)
		for i := range d {
			d[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
		data = d
	case TensorInt8:
		d := make([]int8, n)
		for i := range d {
			d[i] = int8(raw[i])
		}
		data = d
	case TensorUint8:
		data = append([]uint8{}, raw...)
	case TensorBool:
		d := make([]bool, n)
		for i := range d {
			d[i] = raw[i] != 0
		}
		data = d
	case TensorInt16:
		d := make([]int16, n)
		for i := range d {
			d[i] = int16(le.Uint16(raw[2*i:]))
		}
		data = d
	case TensorUint16, TensorFloat16, TensorBFloat16:
		d := make([]uint16, n)
		for i := range d {
			d[i] = le.Uint16(raw[2*i:])
		}
		data = d
	case TensorInt32:
		d := make([]int32, n)
		for i := range d {
			d[i] = int32(le.Uint32(raw[4*i:]))
		}
		data = d
	case TensorUint32:
		d := make([]uint32, n)
		for i := range d {
			d[i] = le.Uint32(raw[4*i:])
		}
		data = d
	case TensorInt64:
		d := make([]int64, n)
		for i := range d {
			d[i] = int64(le.Uint64(raw[8*i:]))
		}
		data = d
	case TensorUint64:
		d := make([]uint64, n)
		for i := range d {
			d[i] = le.Uint64(raw[8*i:])
		}
		data = d
	}
	return &Tensor{Type: typ, Shape: append([]int64{}, shape...), Data: data}, nil
}

// Raw returns the tensor's elements as little-endian, row-major bytes (the
// inverse of TensorFromRaw). String tensors have no raw form.
func (t *Tensor) Raw() ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	var out []byte
	switch d := t.Data.(type) {
	case []float32:
		out = make([]byte, 0, 4*len(d))
		for _, v := range d {
			out = le.AppendUint32(out, math.Float32bits(v))
		}
	case []float64:
		out = make([]byte, 0, 8*len(d))
		for _, v := range d {
			out = le.AppendUint64(out, math.Float64bits(v))
		}
	case []int8:
		out = make([]byte, len(d))
		for i, v := range d {
			out[i] = byte(v)
		}
	case []uint8:
		out = append([]byte{}, d...)
	case []bool:
		out = make([]byte, len(d))
		for i, v := range d {
			if v {
				out[i] = 1
			}
		}
	case []int16:
		for _, v := range d {
			out = le.AppendUint16(out, uint16(v))
		}
	case []uint16:
		for _, v := range d {
			out = le.AppendUint16(out, v)
		}
	case []int32:
		for _, v := range d {
			out = le.AppendUint32(out, uint32(v))
		}
	case []uint32:
		for _, v := range d {
			out = le.AppendUint32(out, v)
		}
	case []int64:
		for _, v := range d {
			out = le.AppendUint64(out, uint64(v))
		}
	case []uint64:
		for _, v := range d {
			out = le.AppendUint64(out, v)
		}
	default:
		return nil, fmt.Errorf("runtime: no raw form for %v tensors", t.Type)
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}

// Float64s returns the elements of a numeric or boolean tensor converted to
// float64 (float16 and bfloat16 decoded), for printing and comparing.
func (t *Tensor) Float64s() ([]float64, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	n := dataLen(t.Data)
	out := make([]float64, n)
	switch d := t.Data.(type) {
	case []float32:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []float64:
		copy(out, d)
	case []int8:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []uint8:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []bool:
		for i, v := range d {
			if v {
				out[i] = 1
			}
		}
	case []int16:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []uint16:
		for i, v := range d {
			switch t.Type {
			case TensorFloat16:
				out[i] = float64(quant.F16ToF32(v))
			case TensorBFloat16:
				out[i] = float64(quant.BF16ToF32(v))
			default:
				out[i] = float64(v)
			}
		}
	case []int32:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []uint32:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []int64:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []uint64:
		for i, v := range d {
			out[i] = float64(v)
		}
	default:
		return nil, fmt.Errorf("runtime: %v tensors are not numeric", t.Type)
	}
	return out, nil
}
