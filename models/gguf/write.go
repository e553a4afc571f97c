package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/edgeai-go/edgeai/quant"
)

// WriteTensor is one tensor to write: its data must hold exactly the bytes
// that Type and Shape call for.
type WriteTensor struct {
	Name  string
	Type  quant.Type
	Shape []int64 // ggml "ne" order, up to 4 dims
	Data  []byte
}

// Write writes a GGUF version 3 file: the metadata kv in order, the tensor
// descriptions, then each tensor's data at an offset that is a multiple of
// alignment, zero-padded.
//
// An alignment of 0 means general.alignment from kv if present, else 32.
// Otherwise alignment must be a power of two; if it is not 32 and kv has no
// general.alignment, Write adds one (uint32) so that readers find the data.
// A general.alignment in kv must agree with alignment. Write checks keys and
// tensor names (non-empty, unique, within the reader's limits), values, and
// each Data length against its type and shape before writing anything.
func Write(w io.Writer, kv []KV, tensors []WriteTensor, alignment int64) error {
	align, kv, err := checkAlignment(kv, alignment)
	if err != nil {
		return err
	}
	seen := make(map[string]bool, len(kv))
	for i, e := range kv {
		if e.Key == "" || len(e.Key) > MaxKeyLen {
			return fmt.Errorf("gguf: write: key %d: length %d is not in [1, %d]", i, len(e.Key), MaxKeyLen)
		}
		if seen[e.Key] {
			return fmt.Errorf("gguf: write: duplicate key %q", e.Key)
		}
		seen[e.Key] = true
		if err := checkValue(e.Value, 0); err != nil {
			return fmt.Errorf("gguf: write: key %q: %w", e.Key, err)
		}
	}
	offsets := make([]int64, len(tensors))
	names := make(map[string]bool, len(tensors))
	var off int64
	for i := range tensors {
		t := &tensors[i]
		if t.Name == "" || len(t.Name) > MaxNameLen {
			return fmt.Errorf("gguf: write: tensor %d: name length %d is not in [1, %d]", i, len(t.Name), MaxNameLen)
		}
		if names[t.Name] {
			return fmt.Errorf("gguf: write: duplicate tensor name %q", t.Name)
		}
		names[t.Name] = true
		size, err := tensorSize(t.Type, t.Shape)
		if err != nil {
			return fmt.Errorf("gguf: write: tensor %q: %w", t.Name, err)
		}
		if int64(len(t.Data)) != size {
			return fmt.Errorf("gguf: write: tensor %q: %d bytes of data, but %s %v takes %d", t.Name, len(t.Data), t.Type, t.Shape, size)
		}
		offsets[i] = off
		var ok bool
		if off, ok = addInt64(off, size); ok {
			off, ok = alignUp(off, align)
		}
		if !ok {
			return fmt.Errorf("gguf: write: tensor data exceeds %d bytes", int64(math.MaxInt64))
		}
	}

	e := &encoder{w: bufio.NewWriterSize(w, 64<<10)}
	e.bytes([]byte(Magic))
	e.u32(3)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(len(kv)))
	for _, kv := range kv {
		e.str(kv.Key)
		e.u32(uint32(kv.Value.Type))
		e.value(kv.Value)
	}
	for i := range tensors {
		t := &tensors[i]
		e.str(t.Name)
		e.u32(uint32(len(t.Shape)))
		for _, d := range t.Shape {
			e.u64(uint64(d))
		}
		e.u32(uint32(t.Type))
		e.u64(uint64(offsets[i]))
	}
	e.pad(align)
	for i := range tensors {
		e.bytes(tensors[i].Data)
		e.pad(align)
	}
	if e.err != nil {
		return fmt.Errorf("gguf: write: %w", e.err)
	}
	if err := e.w.Flush(); err != nil {
		return fmt.Errorf("gguf: write: %w", err)
	}
	return nil
}

// checkAlignment resolves the alignment to use and the key/values to write.
func checkAlignment(kv []KV, alignment int64) (int64, []KV, error) {
	var fromKV int64
	found := false
	for _, e := range kv {
		if e.Key != KeyAlignment {
			continue
		}
		a, ok := e.Value.Uint()
		if !ok || a == 0 || a&(a-1) != 0 || a > MaxAlignment {
			return 0, nil, fmt.Errorf("gguf: write: %s = %v is not a power of two between 1 and %d", KeyAlignment, e.Value, MaxAlignment)
		}
		fromKV, found = int64(a), true
	}
	switch {
	case alignment == 0 && found:
		return fromKV, kv, nil
	case alignment == 0:
		return DefaultAlignment, kv, nil
	case alignment < 0 || alignment&(alignment-1) != 0 || alignment > MaxAlignment:
		return 0, nil, fmt.Errorf("gguf: write: alignment %d is not a power of two between 1 and %d", alignment, MaxAlignment)
	case found && fromKV != alignment:
		return 0, nil, fmt.Errorf("gguf: write: alignment %d disagrees with %s = %d", alignment, KeyAlignment, fromKV)
	case !found && alignment != DefaultAlignment:
		kv = append(kv[:len(kv):len(kv)], KV{KeyAlignment, NewUint32(uint32(alignment))})
	}
	return alignment, kv, nil
}

// checkValue checks that v can be written and read back.
func checkValue(v Value, depth int) error {
	if !v.Type.valid() {
		return fmt.Errorf("invalid value type %d", uint32(v.Type))
	}
	switch v.Type {
	case TypeString:
		if len(v.str) > MaxStringLen {
			return fmt.Errorf("string of %d bytes is longer than the limit of %d", len(v.str), MaxStringLen)
		}
	case TypeArray:
		if depth+1 > MaxArrayDepth {
			return fmt.Errorf("arrays nested more than %d deep", MaxArrayDepth)
		}
		if v.arr == nil {
			return nil // an empty array of uint8
		}
		if v.arr.bad != nil {
			return v.arr.bad
		}
		if v.Len() > MaxArrayLen {
			return fmt.Errorf("array of %d elements is longer than the limit of %d", v.Len(), MaxArrayLen)
		}
		switch s := v.arr.vals.(type) {
		case []string:
			for i, x := range s {
				if len(x) > MaxStringLen {
					return fmt.Errorf("element %d: string of %d bytes is longer than the limit of %d", i, len(x), MaxStringLen)
				}
			}
		case []Value:
			for i, x := range s {
				if err := checkValue(x, depth+1); err != nil {
					return fmt.Errorf("element %d: %w", i, err)
				}
			}
		}
	}
	return nil
}

// encoder writes little-endian values, remembering the first error.
type encoder struct {
	w   *bufio.Writer
	n   int64
	err error
	buf [8]byte
}

func (e *encoder) bytes(b []byte) {
	if e.err != nil {
		return
	}
	n, err := e.w.Write(b)
	e.n += int64(n)
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	e.err = err
}

func (e *encoder) u8(x uint8) { e.buf[0] = x; e.bytes(e.buf[:1]) }

func (e *encoder) u16(x uint16) {
	binary.LittleEndian.PutUint16(e.buf[:2], x)
	e.bytes(e.buf[:2])
}

func (e *encoder) u32(x uint32) {
	binary.LittleEndian.PutUint32(e.buf[:4], x)
	e.bytes(e.buf[:4])
}

func (e *encoder) u64(x uint64) {
	binary.LittleEndian.PutUint64(e.buf[:8], x)
	e.bytes(e.buf[:8])
}

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	if e.err == nil {
		n, err := e.w.WriteString(s)
		e.n += int64(n)
		e.err = err
	}
}

var zeros [256]byte

// pad writes zeros up to the next multiple of align.
func (e *encoder) pad(align int64) {
	for n := (align - e.n%align) % align; n > 0 && e.err == nil; {
		k := min(n, int64(len(zeros)))
		e.bytes(zeros[:k])
		n -= k
	}
}

// value writes v's payload (not its type).
func (e *encoder) value(v Value) {
	switch v.Type {
	case TypeUint8, TypeInt8, TypeBool:
		e.u8(uint8(v.num))
	case TypeUint16, TypeInt16:
		e.u16(uint16(v.num))
	case TypeUint32, TypeInt32, TypeFloat32:
		e.u32(uint32(v.num))
	case TypeUint64, TypeInt64, TypeFloat64:
		e.u64(v.num)
	case TypeString:
		e.str(v.str)
	case TypeArray:
		if v.arr == nil {
			e.u32(uint32(TypeUint8))
			e.u64(0)
			return
		}
		e.u32(uint32(v.arr.elem))
		e.u64(uint64(v.Len()))
		switch s := v.arr.vals.(type) {
		case []uint8:
			e.bytes(s)
		case []int8:
			for _, x := range s {
				e.u8(uint8(x))
			}
		case []bool:
			for _, x := range s {
				if x {
					e.u8(1)
				} else {
					e.u8(0)
				}
			}
		case []uint16:
			for _, x := range s {
				e.u16(x)
			}
		case []int16:
			for _, x := range s {
				e.u16(uint16(x))
			}
		case []uint32:
			for _, x := range s {
				e.u32(x)
			}
		case []int32:
			for _, x := range s {
				e.u32(uint32(x))
			}
		case []float32:
			for _, x := range s {
				e.u32(math.Float32bits(x))
			}
		case []uint64:
			for _, x := range s {
				e.u64(x)
			}
		case []int64:
			for _, x := range s {
				e.u64(uint64(x))
			}
		case []float64:
			for _, x := range s {
				e.u64(math.Float64bits(x))
			}
		case []string:
			for _, x := range s {
				e.str(x)
			}
		case []Value:
			for _, x := range s {
				e.value(x)
			}
		default:
			e.err = errors.New("internal error: array of unknown representation")
		}
	}
}

// Rewrite writes a copy of f to w with its metadata replaced by what edit
// returns (edit receives a copy of f.KV and may change, add or drop
// entries); the tensors are copied unchanged, with f's alignment. It is
// gguf-py's gguf_new_metadata in a function: tests use it to make variants
// of a real file.
func Rewrite(w io.Writer, f *File, edit func(kv []KV) []KV) error {
	kv := edit(append([]KV(nil), f.KV...))
	ts := make([]WriteTensor, len(f.Tensors))
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		data, err := f.TensorData(ti)
		if err != nil {
			return fmt.Errorf("gguf: rewrite: %w", err)
		}
		ts[i] = WriteTensor{Name: ti.Name, Type: ti.Type, Shape: ti.Shape, Data: data}
	}
	return Write(w, kv, ts, f.Alignment)
}
