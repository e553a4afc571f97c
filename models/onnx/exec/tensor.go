package exec

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/edgeai-go/edgeai/models/onnx"
)

// Tensor is a dense, row-major tensor. Data holds the elements as a typed
// slice: []float32, []float64, []int8, []uint8, []int16, []uint16,
// []int32, []uint32, []int64, []uint64, []bool or []string; float16 and
// bfloat16 tensors hold their bit patterns in a []uint16. An empty Shape is
// a scalar.
type Tensor struct {
	Type  onnx.DataType
	Shape []int
	Data  any

	blk *block // the arena block holding Data, nil for data the arena does not own
}

// goType returns the Go slice type a tensor of type t holds, as a zero
// slice, or nil if the executor does not handle t.
func zeroSlice(t onnx.DataType, n int) any {
	switch t {
	case onnx.Float:
		return make([]float32, n)
	case onnx.Double:
		return make([]float64, n)
	case onnx.Int8:
		return make([]int8, n)
	case onnx.Uint8:
		return make([]uint8, n)
	case onnx.Int16:
		return make([]int16, n)
	case onnx.Uint16, onnx.Float16, onnx.BFloat16:
		return make([]uint16, n)
	case onnx.Int32:
		return make([]int32, n)
	case onnx.Uint32:
		return make([]uint32, n)
	case onnx.Int64:
		return make([]int64, n)
	case onnx.Uint64:
		return make([]uint64, n)
	case onnx.Bool:
		return make([]bool, n)
	case onnx.String:
		return make([]string, n)
	}
	return nil
}

// elemSize is the in-memory size of one element of t (strings: a header).
func elemSize(t onnx.DataType) int {
	switch t {
	case onnx.Int8, onnx.Uint8, onnx.Bool:
		return 1
	case onnx.Int16, onnx.Uint16, onnx.Float16, onnx.BFloat16:
		return 2
	case onnx.Float, onnx.Int32, onnx.Uint32:
		return 4
	case onnx.Double, onnx.Int64, onnx.Uint64:
		return 8
	case onnx.String:
		return 16
	}
	return 0
}

// supportedType reports whether tensors of t can flow through the executor.
func supportedType(t onnx.DataType) bool { return elemSize(t) != 0 }

// dataLen returns the number of elements of a typed slice, -1 for other
// values.
func dataLen(d any) int {
	switch d := d.(type) {
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

// sliceData returns d[lo:hi] for a typed slice d.
func sliceData(d any, lo, hi int) any {
	switch d := d.(type) {
	case []float32:
		return d[lo:hi]
	case []float64:
		return d[lo:hi]
	case []int8:
		return d[lo:hi]
	case []uint8:
		return d[lo:hi]
	case []int16:
		return d[lo:hi]
	case []uint16:
		return d[lo:hi]
	case []int32:
		return d[lo:hi]
	case []uint32:
		return d[lo:hi]
	case []int64:
		return d[lo:hi]
	case []uint64:
		return d[lo:hi]
	case []bool:
		return d[lo:hi]
	case []string:
		return d[lo:hi]
	}
	panic(fmt.Sprintf("exec: sliceData of %T", d))
}

// capData returns the capacity of a typed slice.
func capData(d any) int {
	switch d := d.(type) {
	case []float32:
		return cap(d)
	case []float64:
		return cap(d)
	case []int8:
		return cap(d)
	case []uint8:
		return cap(d)
	case []int16:
		return cap(d)
	case []uint16:
		return cap(d)
	case []int32:
		return cap(d)
	case []uint32:
		return cap(d)
	case []int64:
		return cap(d)
	case []uint64:
		return cap(d)
	case []bool:
		return cap(d)
	case []string:
		return cap(d)
	}
	return 0
}

// words views a typed slice as unsigned words of the same size ([]uint8,
// []uint16, []uint32 or []uint64), or returns a []string as is, so that
// data movement (transpose, gather, concat...) is written once per element
// size. The view aliases d.
func words(d any) any {
	switch d := d.(type) {
	case []uint8, []uint16, []uint32, []uint64, []string:
		return d
	case []int8:
		return reinterpret[int8, uint8](d)
	case []bool:
		return reinterpret[bool, uint8](d)
	case []int16:
		return reinterpret[int16, uint16](d)
	case []float32:
		return reinterpret[float32, uint32](d)
	case []int32:
		return reinterpret[int32, uint32](d)
	case []float64:
		return reinterpret[float64, uint64](d)
	case []int64:
		return reinterpret[int64, uint64](d)
	}
	panic(fmt.Sprintf("exec: words of %T", d))
}

// reinterpret views s as a slice of U, an element type of the same size.
func reinterpret[T, U any](s []T) []U {
	if cap(s) == 0 {
		return nil
	}
	return unsafe.Slice((*U)(unsafe.Pointer(unsafe.SliceData(s))), cap(s))[:len(s)]
}

// shapeSize returns the number of elements of shape, or an error if a
// dimension is negative or the count exceeds limit.
func shapeSize(shape []int, limit int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d == 0 {
			return 0, nil
		}
	}
	for _, d := range shape {
		if n > limit/d {
			return 0, fmt.Errorf("%w: shape %v has more than %d elements", ErrLimit, shape, limit)
		}
		n *= d
	}
	return n, nil
}

// numel returns the number of elements of a shape already checked.
func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Len returns the number of elements of t.
func (t *Tensor) Len() int { return dataLen(t.Data) }

// String formats the tensor's type and shape, as "float32[1,3,224,224]".
func (t *Tensor) String() string {
	return fmt.Sprintf("%v%v", t.Type, formatShape(t.Shape))
}

func formatShape(s []int) string {
	b := []byte{'['}
	for i, d := range s {
		if i > 0 {
			b = append(b, ',')
		}
		if d < 0 {
			b = append(b, '?')
		} else {
			b = fmt.Appendf(b, "%d", d)
		}
	}
	return string(append(b, ']'))
}

// Check verifies that the tensor's Data has the Go type its Type calls for
// and as many elements as its Shape.
func (t *Tensor) Check() error {
	z := zeroSlice(t.Type, 0)
	if z == nil {
		return fmt.Errorf("%w: element type %v", ErrUnsupported, t.Type)
	}
	if fmt.Sprintf("%T", z) != fmt.Sprintf("%T", t.Data) {
		return fmt.Errorf("exec: %v tensor holds %T", t.Type, t.Data)
	}
	n, err := shapeSize(t.Shape, math.MaxInt)
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	if l := dataLen(t.Data); l != n {
		return fmt.Errorf("exec: tensor of shape %v holds %d elements", t.Shape, l)
	}
	return nil
}

// fromProto converts a decoded TensorProto (initializer or attribute) into
// a Tensor. The data is copied, so the result does not alias the file.
// FromProto converts a decoded TensorProto (an input_N.pb file, say) to a
// Tensor; its external data, if any, must be loaded.
func FromProto(p *onnx.Tensor) (*Tensor, error) { return fromProto(p, maxDim) }

func fromProto(p *onnx.Tensor, limit int) (*Tensor, error) {
	if !supportedType(p.Type) {
		return nil, fmt.Errorf("%w: tensor %q of element type %v", ErrUnsupported, p.Name, p.Type)
	}
	shape := make([]int, len(p.Dims))
	for i, d := range p.Dims {
		if d < 0 || d > int64(limit) {
			return nil, fmt.Errorf("%w: tensor %q: bad dimension %d", onnx.ErrFormat, p.Name, d)
		}
		shape[i] = int(d)
	}
	n, err := shapeSize(shape, limit)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", p.Name, err)
	}
	t := &Tensor{Type: p.Type, Shape: shape}
	if p.Type == onnx.String {
		if len(p.Strings) != n {
			return nil, fmt.Errorf("%w: tensor %q: %d strings for %d elements", onnx.ErrFormat, p.Name, len(p.Strings), n)
		}
		s := make([]string, n)
		for i, b := range p.Strings {
			s[i] = string(b)
		}
		t.Data = s
		return t, nil
	}
	if p.Raw == nil && p.External != nil {
		return nil, fmt.Errorf("%w: tensor %q: external data %q not loaded", onnx.ErrExternalData, p.Name, p.External.Location)
	}
	size := elemSize(p.Type)
	if len(p.Raw) != n*size {
		return nil, fmt.Errorf("%w: tensor %q: %d bytes for %d elements of %v", onnx.ErrFormat, p.Name, len(p.Raw), n, p.Type)
	}
	raw := p.Raw
	le := binary.LittleEndian
	switch p.Type {
	case onnx.Float:
		d := make([]float32, n)
		for i := range d {
			d[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
		t.Data = d
	case onnx.Double:
		d := make([]float64, n)
		for i := range d {
			d[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
		t.Data = d
	case onnx.Int8:
		d := make([]int8, n)
		for i := range d {
			d[i] = int8(raw[i])
		}
		t.Data = d
	case onnx.Uint8:
		t.Data = append([]uint8{}, raw...)
	case onnx.Bool:
		d := make([]bool, n)
		for i := range d {
			d[i] = raw[i] != 0
		}
		t.Data = d
	case onnx.Int16:
		d := make([]int16, n)
		for i := range d {
			d[i] = int16(le.Uint16(raw[2*i:]))
		}
		t.Data = d
	case onnx.Uint16, onnx.Float16, onnx.BFloat16:
		d := make([]uint16, n)
		for i := range d {
			d[i] = le.Uint16(raw[2*i:])
		}
		t.Data = d
	case onnx.Int32:
		d := make([]int32, n)
		for i := range d {
			d[i] = int32(le.Uint32(raw[4*i:]))
		}
		t.Data = d
	case onnx.Uint32:
		d := make([]uint32, n)
		for i := range d {
			d[i] = le.Uint32(raw[4*i:])
		}
		t.Data = d
	case onnx.Int64:
		d := make([]int64, n)
		for i := range d {
			d[i] = int64(le.Uint64(raw[8*i:]))
		}
		t.Data = d
	case onnx.Uint64:
		d := make([]uint64, n)
		for i := range d {
			d[i] = le.Uint64(raw[8*i:])
		}
		t.Data = d
	}
	return t, nil
}

// intsOf reads an integer tensor (int64, int32, or any integer type) as
// ints, for shapes, axes, indices and the like.
func intsOf(t *Tensor) ([]int64, error) {
	switch d := t.Data.(type) {
	case []int64:
		return d, nil
	case []int32:
		out := make([]int64, len(d))
		for i, v := range d {
			out[i] = int64(v)
		}
		return out, nil
	case []int16:
		out := make([]int64, len(d))
		for i, v := range d {
			out[i] = int64(v)
		}
		return out, nil
	case []int8:
		out := make([]int64, len(d))
		for i, v := range d {
			out[i] = int64(v)
		}
		return out, nil
	case []uint8:
		out := make([]int64, len(d))
		for i, v := range d {
			out[i] = int64(v)
		}
		return out, nil
	case []uint16:
		if t.Type != onnx.Uint16 {
			break
		}
		out := make([]int64, len(d))
		for i, v := range d {
			out[i] = int64(v)
		}
		return out, nil
	case []uint32:
		out := make([]int64, len(d))
		for i, v := range d {
			out[i] = int64(v)
		}
		return out, nil
	case []uint64:
		out := make([]int64, len(d))
		for i, v := range d {
			if v > math.MaxInt64 {
				return nil, fmt.Errorf("value %d out of range", v)
			}
			out[i] = int64(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want an integer tensor, have %v", t.Type)
}

// floatsOf converts a numeric tensor to float64 values (for scalars such as
// Range's bounds and Clip's limits of any type).
func floatsOf(t *Tensor) ([]float64, error) {
	switch d := t.Data.(type) {
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out, nil
	case []float64:
		return d, nil
	case []uint16:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = halfToFloat(t.Type, v)
		}
		return out, nil
	}
	ints, err := intsOf(t)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(ints))
	for i, v := range ints {
		out[i] = float64(v)
	}
	return out, nil
}
