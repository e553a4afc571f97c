package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"google.golang.org/protobuf/encoding/protowire"
)

// DataType is the TensorProto.DataType enum (the element type of a tensor).
// Its values are also ONNX Runtime's ONNXTensorElementDataType.
type DataType int32

// The element types of onnx.proto.
const (
	Undefined      DataType = 0
	Float          DataType = 1 // float32
	Uint8          DataType = 2
	Int8           DataType = 3
	Uint16         DataType = 4
	Int16          DataType = 5
	Int32          DataType = 6
	Int64          DataType = 7
	String         DataType = 8
	Bool           DataType = 9
	Float16        DataType = 10
	Double         DataType = 11 // float64
	Uint32         DataType = 12
	Uint64         DataType = 13
	Complex64      DataType = 14
	Complex128     DataType = 15
	BFloat16       DataType = 16
	Float8E4M3FN   DataType = 17
	Float8E4M3FNUZ DataType = 18
	Float8E5M2     DataType = 19
	Float8E5M2FNUZ DataType = 20
	Uint4          DataType = 21
	Int4           DataType = 22
	Float4E2M1     DataType = 23
	Float8E8M0     DataType = 24
)

type dataTypeInfo struct {
	name string
	bits int // bits per element; 0 for strings
}

var dataTypes = map[DataType]dataTypeInfo{
	Float: {"float32", 32}, Uint8: {"uint8", 8}, Int8: {"int8", 8}, Uint16: {"uint16", 16},
	Int16: {"int16", 16}, Int32: {"int32", 32}, Int64: {"int64", 64}, String: {"string", 0},
	Bool: {"bool", 8}, Float16: {"float16", 16}, Double: {"float64", 64}, Uint32: {"uint32", 32},
	Uint64: {"uint64", 64}, Complex64: {"complex64", 64}, Complex128: {"complex128", 128},
	BFloat16: {"bfloat16", 16}, Float8E4M3FN: {"float8e4m3fn", 8}, Float8E4M3FNUZ: {"float8e4m3fnuz", 8},
	Float8E5M2: {"float8e5m2", 8}, Float8E5M2FNUZ: {"float8e5m2fnuz", 8}, Uint4: {"uint4", 4},
	Int4: {"int4", 4}, Float4E2M1: {"float4e2m1", 4}, Float8E8M0: {"float8e8m0", 8},
}

// String returns the type's lower-case name ("float32", "int64", "bfloat16"...).
func (t DataType) String() string {
	if i, ok := dataTypes[t]; ok {
		return i.name
	}
	if t == Undefined {
		return "undefined"
	}
	return fmt.Sprintf("DataType(%d)", int32(t))
}

// Known reports whether t is one of the element types of onnx.proto.
func (t DataType) Known() bool { _, ok := dataTypes[t]; return ok }

// ParseDataType returns the DataType named s (as printed by String).
func ParseDataType(s string) (DataType, error) {
	for t, i := range dataTypes {
		if i.name == s {
			return t, nil
		}
	}
	return Undefined, fmt.Errorf("onnx: unknown data type %q", s)
}

// Bits returns the size of one element in bits (4 for the packed 4-bit
// types), or 0 for strings and unknown types.
func (t DataType) Bits() int { return dataTypes[t].bits }

// ByteSize returns the number of bytes n elements of t take in raw
// (little-endian, packed) form, or an error if t has no fixed size or the
// size overflows.
func (t DataType) ByteSize(n int64) (int64, error) {
	b := t.Bits()
	if b == 0 {
		return 0, fmt.Errorf("%w: element type %v has no fixed size", ErrUnsupported, t)
	}
	if n < 0 {
		return 0, fmt.Errorf("%w: negative element count %d", ErrFormat, n)
	}
	hi, lo := bits.Mul64(uint64(n), uint64(b))
	if hi != 0 || lo > math.MaxInt64-7 {
		return 0, fmt.Errorf("%w: %d elements of %v overflow", ErrFormat, n, t)
	}
	return int64((lo + 7) / 8), nil
}

// NumElements returns the product of dims, or an error if a dimension is
// negative or the product overflows int64.
func NumElements(dims []int64) (int64, error) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("%w: negative dimension %d in %v", ErrFormat, d, dims)
		}
		if d == 0 {
			n = 0
			continue
		}
		hi, lo := bits.Mul64(uint64(n), uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return 0, fmt.Errorf("%w: dimensions %v overflow", ErrFormat, dims)
		}
		n = int64(lo)
	}
	return n, nil
}

// Tensor is a decoded TensorProto. Whatever field of the file holds the
// values, Raw holds them in ONNX's raw_data layout: little-endian, packed,
// row-major (two 4-bit values per byte, low nibble first). String tensors
// use Strings instead. A tensor whose data lives in a side file has
// External set and Raw nil until Model.LoadExternal (or ReadFile) reads it.
type Tensor struct {
	Name      string
	Type      DataType
	Dims      []int64
	Raw       []byte
	Strings   [][]byte
	External  *ExternalRef
	DocString string
}

// ExternalRef is where an external tensor's bytes live: a file relative to
// the model's directory, an offset and a length (-1: to the end of the file).
type ExternalRef struct {
	Location string
	Offset   int64
	Length   int64
	Checksum string // SHA-1, informational; not checked
}

// NumElements returns the number of elements of t (1 for a scalar).
func (t *Tensor) NumElements() int64 {
	n, err := NumElements(t.Dims)
	if err != nil {
		return 0 // unreachable for decoded tensors: Decode checks the dims
	}
	return n
}

// typeError reports an accessor called on a tensor of another type.
func (t *Tensor) typeError(want DataType) error {
	return fmt.Errorf("onnx: tensor %q is %v, not %v", t.Name, t.Type, want)
}

func (t *Tensor) checkRaw(want DataType) error {
	if t.Type != want {
		return t.typeError(want)
	}
	if t.Raw == nil && t.External != nil {
		return fmt.Errorf("%w: tensor %q: external data %q not loaded", ErrExternalData, t.Name, t.External.Location)
	}
	return nil
}

// Float32s returns the values of a float32 tensor (a copy).
func (t *Tensor) Float32s() ([]float32, error) {
	if err := t.checkRaw(Float); err != nil {
		return nil, err
	}
	out := make([]float32, len(t.Raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Raw[4*i:]))
	}
	return out, nil
}

// Float64s returns the values of a float64 tensor (a copy).
func (t *Tensor) Float64s() ([]float64, error) {
	if err := t.checkRaw(Double); err != nil {
		return nil, err
	}
	out := make([]float64, len(t.Raw)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.Raw[8*i:]))
	}
	return out, nil
}

// Int64s returns the values of an int64 tensor (a copy).
func (t *Tensor) Int64s() ([]int64, error) {
	if err := t.checkRaw(Int64); err != nil {
		return nil, err
	}
	out := make([]int64, len(t.Raw)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(t.Raw[8*i:]))
	}
	return out, nil
}

// Int32s returns the values of an int32 tensor (a copy).
func (t *Tensor) Int32s() ([]int32, error) {
	if err := t.checkRaw(Int32); err != nil {
		return nil, err
	}
	out := make([]int32, len(t.Raw)/4)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(t.Raw[4*i:]))
	}
	return out, nil
}

// DecodeTensor decodes a serialized TensorProto, such as the input_N.pb and
// output_N.pb files of ONNX's test data. The tensor's Raw may alias data.
// A tensor with external data is returned unresolved.
func DecodeTensor(data []byte) (*Tensor, error) {
	d := decoder{}
	t, err := d.tensor(data)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// ReadTensorFile reads and decodes a serialized TensorProto file. External
// data, if any, is resolved against the file's directory with the same rules
// as for models.
func ReadTensorFile(path string) (*Tensor, error) {
	data, err := ReadRegularFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	t, err := DecodeTensor(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if t.External != nil {
		r, err := openRoot(dirOf(path))
		if err != nil {
			return nil, err
		}
		defer r.close()
		if err := r.load(t); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return t, nil
}

// Value is a decoded test-data value that may be more than a tensor: ONNX's
// test data stores sequences as SequenceProto and optionals as
// OptionalProto. Kind is KindTensor (Tensor set), KindSequence (Elems) or
// KindOptional (Elems holds the value, or nothing for an empty optional).
type Value struct {
	Name   string
	Kind   TypeKind
	Tensor *Tensor
	Elems  []*Value
}

// DecodeValue decodes a serialized TensorProto, SequenceProto or
// OptionalProto, as the declared type of the value says.
func DecodeValue(data []byte, typ *TypeInfo) (*Value, error) {
	var d decoder
	return d.value(data, typ)
}

func (d *decoder) value(data []byte, typ *TypeInfo) (*Value, error) {
	if typ == nil {
		return nil, fmt.Errorf("%w: value of unknown type", ErrUnsupported)
	}
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.leave()
	switch typ.Kind {
	case KindTensor:
		t, err := d.tensor(data)
		if err != nil {
			return nil, err
		}
		return &Value{Name: t.Name, Kind: KindTensor, Tensor: t}, nil
	case KindSequence, KindOptional:
	default:
		return nil, fmt.Errorf("%w: %v values", ErrUnsupported, typ.Kind)
	}
	v := &Value{Kind: typ.Kind, Elems: []*Value{}}
	// SequenceProto and OptionalProto share their field numbers: 1 name,
	// 2 elem_type, 3 tensors, 5 sequences, 7 optionals (4 sparse tensors and
	// 6 maps are not supported).
	err := eachField(data, func(f field) error {
		var err error
		switch f.num {
		case 1:
			v.Name, err = f.string()
		case 2:
			_, err = f.int32()
		case 3, 5, 7:
			want := map[protowire.Number]TypeKind{3: KindTensor, 5: KindSequence, 7: KindOptional}[f.num]
			if typ.Inner == nil || typ.Inner.Kind != want {
				return fmt.Errorf("%w: %v holds a %v", ErrFormat, typ, want)
			}
			var b []byte
			if b, err = f.bytes(); err != nil {
				return err
			}
			var e *Value
			if e, err = d.value(b, typ.Inner); err == nil {
				v.Elems = append(v.Elems, e)
			}
		case 4, 6:
			err = fmt.Errorf("%w: sparse tensors and maps in test data", ErrUnsupported)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if v.Kind == KindOptional && len(v.Elems) > 1 {
		return nil, fmt.Errorf("%w: optional with %d values", ErrFormat, len(v.Elems))
	}
	return v, nil
}
