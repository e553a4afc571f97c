package gguf

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"

	"github.com/edgeai-go/edgeai/quant"
)

func newBytesReaderAt(b []byte) io.ReaderAt { return bytes.NewReader(b) }

// decoder reads the header sequentially, tracking its position so that every
// length can be checked against the bytes left before it is allocated.
type decoder struct {
	r    *bufio.Reader
	pos  int64
	size int64
	buf  [8]byte
	what func() string // describes what is being read, for errors
}

// errorf returns an ErrFormat error with the current context.
func (d *decoder) errorf(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if d.what != nil {
		msg = d.what() + ": " + msg
	}
	return fmt.Errorf("%w: %s", ErrFormat, msg)
}

func (d *decoder) left() int64 { return d.size - d.pos }

// read fills p, reporting truncation as a format error.
func (d *decoder) read(p []byte) error {
	if int64(len(p)) > d.left() {
		return d.errorf("truncated at byte %d: need %d bytes, the file has %d left", d.pos, len(p), d.left())
	}
	n, err := io.ReadFull(d.r, p)
	d.pos += int64(n)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return d.errorf("truncated at byte %d", d.pos)
		}
		return fmt.Errorf("gguf: reading at byte %d: %w", d.pos, err)
	}
	return nil
}

func (d *decoder) u8() (uint8, error) {
	err := d.read(d.buf[:1])
	return d.buf[0], err
}

func (d *decoder) u16() (uint16, error) {
	err := d.read(d.buf[:2])
	return binary.LittleEndian.Uint16(d.buf[:2]), err
}

func (d *decoder) u32() (uint32, error) {
	err := d.read(d.buf[:4])
	return binary.LittleEndian.Uint32(d.buf[:4]), err
}

func (d *decoder) u64() (uint64, error) {
	err := d.read(d.buf[:8])
	return binary.LittleEndian.Uint64(d.buf[:8]), err
}

// str reads a length-prefixed string of at most max bytes.
func (d *decoder) str(max int64) (string, error) {
	n, err := d.u64()
	if err != nil {
		return "", err
	}
	if n > uint64(max) {
		return "", d.errorf("string of %d bytes is longer than the limit of %d", n, max)
	}
	if int64(n) > d.left() {
		return "", d.errorf("string of %d bytes at byte %d runs past the end of the file (%d bytes left)", n, d.pos-8, d.left())
	}
	b := make([]byte, n)
	if err := d.read(b); err != nil {
		return "", err
	}
	return string(b), nil
}

// count reads an element count and checks that n elements of at least
// minSize bytes each fit in the rest of the file and under max.
func (d *decoder) count(what string, minSize, max int64) (int64, error) {
	n, err := d.u64()
	if err != nil {
		return 0, err
	}
	if n > uint64(max) {
		return 0, d.errorf("%d %s is more than the limit of %d", n, what, max)
	}
	if need, ok := mulInt64(int64(n), minSize); !ok || need > d.left() {
		return 0, d.errorf("%d %s need at least %d bytes each, but only %d bytes are left", n, what, minSize, d.left())
	}
	return int64(n), nil
}

// value reads a value of type t; depth counts the enclosing arrays.
func (d *decoder) value(t ValueType, depth int) (Value, error) {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		x, err := d.u8()
		if err != nil {
			return Value{}, err
		}
		switch t {
		case TypeInt8:
			return NewInt8(int8(x)), nil
		case TypeBool:
			if x > 1 {
				return Value{}, d.errorf("bool value %d is neither 0 nor 1", x)
			}
			return NewBool(x == 1), nil
		}
		return NewUint8(x), nil
	case TypeUint16:
		x, err := d.u16()
		return NewUint16(x), err
	case TypeInt16:
		x, err := d.u16()
		return NewInt16(int16(x)), err
	case TypeUint32:
		x, err := d.u32()
		return NewUint32(x), err
	case TypeInt32:
		x, err := d.u32()
		return NewInt32(int32(x)), err
	case TypeFloat32:
		x, err := d.u32()
		return NewFloat32(math.Float32frombits(x)), err
	case TypeUint64:
		x, err := d.u64()
		return NewUint64(x), err
	case TypeInt64:
		x, err := d.u64()
		return NewInt64(int64(x)), err
	case TypeFloat64:
		x, err := d.u64()
		return NewFloat64(math.Float64frombits(x)), err
	case TypeString:
		s, err := d.str(MaxStringLen)
		return NewString(s), err
	case TypeArray:
		return d.array(depth + 1)
	}
	return Value{}, d.errorf("unknown value type %d", uint32(t))
}

// array reads an array's element type, count and elements.
func (d *decoder) array(depth int) (Value, error) {
	if depth > MaxArrayDepth {
		return Value{}, d.errorf("arrays nested more than %d deep", MaxArrayDepth)
	}
	et, err := d.u32()
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(et)
	if !elem.valid() {
		return Value{}, d.errorf("array of unknown value type %d", et)
	}
	n, err := d.count("array elements of type "+elem.String(), elem.size(), MaxArrayLen)
	if err != nil {
		return Value{}, err
	}
	switch elem {
	case TypeString:
		s := make([]string, 0, min(n, 1<<16))
		for i := int64(0); i < n; i++ {
			x, err := d.str(MaxStringLen)
			if err != nil {
				return Value{}, err
			}
			s = append(s, x)
		}
		return newTyped(elem, s), nil
	case TypeArray:
		s := make([]Value, 0, min(n, 1<<12))
		for i := int64(0); i < n; i++ {
			x, err := d.array(depth + 1)
			if err != nil {
				return Value{}, err
			}
			s = append(s, x)
		}
		return newTyped(elem, s), nil
	}
	// Fixed-size elements: read them all at once (count checked above).
	raw := make([]byte, n*elem.size())
	if err := d.read(raw); err != nil {
		return Value{}, err
	}
	le := binary.LittleEndian
	var vals any
	switch elem {
	case TypeUint8:
		vals = raw
	case TypeInt8:
		s := make([]int8, n)
		for i := range s {
			s[i] = int8(raw[i])
		}
		vals = s
	case TypeBool:
		s := make([]bool, n)
		for i := range s {
			if raw[i] > 1 {
				return Value{}, d.errorf("bool array element %d has value %d, neither 0 nor 1", i, raw[i])
			}
			s[i] = raw[i] == 1
		}
		vals = s
	case TypeUint16:
		s := make([]uint16, n)
		for i := range s {
			s[i] = le.Uint16(raw[2*i:])
		}
		vals = s
	case TypeInt16:
		s := make([]int16, n)
		for i := range s {
			s[i] = int16(le.Uint16(raw[2*i:]))
		}
		vals = s
	case TypeUint32:
		s := make([]uint32, n)
		for i := range s {
			s[i] = le.Uint32(raw[4*i:])
		}
		vals = s
	case TypeInt32:
		s := make([]int32, n)
		for i := range s {
			s[i] = int32(le.Uint32(raw[4*i:]))
		}
		vals = s
	case TypeFloat32:
		s := make([]float32, n)
		for i := range s {
			s[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
		vals = s
	case TypeUint64:
		s := make([]uint64, n)
		for i := range s {
			s[i] = le.Uint64(raw[8*i:])
		}
		vals = s
	case TypeInt64:
		s := make([]int64, n)
		for i := range s {
			s[i] = int64(le.Uint64(raw[8*i:]))
		}
		vals = s
	case TypeFloat64:
		s := make([]float64, n)
		for i := range s {
			s[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
		vals = s
	}
	return newTyped(elem, vals), nil
}

// parse reads and validates the header of a GGUF file of the given size.
func parse(r io.ReaderAt, size int64) (*File, error) {
	d := &decoder{r: bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 64<<10), size: size}
	var magic [4]byte
	if size < 4 {
		return nil, fmt.Errorf("%w: %d bytes is too short to be a GGUF file", ErrFormat, size)
	}
	if err := d.read(magic[:]); err != nil {
		return nil, err
	}
	if string(magic[:]) != Magic {
		switch string(magic[:]) {
		case "lmgg", "fmgg", "tjgg", "ggml", "ggmf", "ggjt":
			return nil, fmt.Errorf("%w: legacy GGML/GGJT file (magic %q), not GGUF: convert it with llama.cpp", ErrFormat, magic[:])
		}
		return nil, fmt.Errorf("%w: bad magic %q, want %q", ErrFormat, magic[:], Magic)
	}
	version, err := d.u32()
	if err != nil {
		return nil, err
	}
	switch {
	case version == 2 || version == 3:
	case version == 1:
		return nil, fmt.Errorf("%w: GGUF version 1 is not supported (only 2 and 3): re-convert the model with a current llama.cpp", ErrFormat)
	case version&0xffff == 0 && version != 0 && bits.ReverseBytes32(version) <= 3:
		return nil, fmt.Errorf("%w: big-endian GGUF file (version %d byte-swapped); only little-endian files are supported", ErrFormat, bits.ReverseBytes32(version))
	default:
		return nil, fmt.Errorf("%w: unsupported GGUF version %d (only 2 and 3)", ErrFormat, version)
	}
	f := &File{Version: version, size: size, Alignment: DefaultAlignment}

	// Each tensor info takes at least 8 (name length) + 4 (dims) + 4 (type) + 8 (offset) bytes,
	// each key/value at least 8 (key length) + 4 (type) + 1 (value) bytes.
	nTensors, err := d.count("tensors", 24, MaxTensors)
	if err != nil {
		return nil, err
	}
	nKV, err := d.count("metadata entries", 13, MaxKV)
	if err != nil {
		return nil, err
	}
	if nTensors*24+nKV*13 > d.left() {
		return nil, fmt.Errorf("%w: %d tensors and %d metadata entries cannot fit in the %d bytes left", ErrFormat, nTensors, nKV, d.left())
	}

	f.KV = make([]KV, 0, min(nKV, 1024))
	f.kvIdx = make(map[string]int, min(nKV, 1024))
	for i := int64(0); i < nKV; i++ {
		d.what = func() string { return fmt.Sprintf("metadata entry %d", i) }
		key, err := d.str(MaxKeyLen)
		if err != nil {
			return nil, err
		}
		if key == "" {
			return nil, d.errorf("empty key")
		}
		d.what = func() string { return fmt.Sprintf("metadata entry %d (%q)", i, key) }
		if _, dup := f.kvIdx[key]; dup {
			return nil, d.errorf("duplicate key")
		}
		t, err := d.u32()
		if err != nil {
			return nil, err
		}
		v, err := d.value(ValueType(t), 0)
		if err != nil {
			return nil, err
		}
		f.kvIdx[key] = len(f.KV)
		f.KV = append(f.KV, KV{key, v})
	}
	d.what = nil

	if v, ok := f.Lookup(KeyAlignment); ok {
		a, ok := v.Uint()
		if !ok || a == 0 || a&(a-1) != 0 || a > MaxAlignment {
			return nil, fmt.Errorf("%w: %s = %v (%s) is not a power of two between 1 and %d", ErrFormat, KeyAlignment, v, v.Type, MaxAlignment)
		}
		f.Alignment = int64(a)
	}

	f.Tensors = make([]TensorInfo, 0, min(nTensors, 1024))
	f.tensIdx = make(map[string]int, min(nTensors, 1024))
	for i := int64(0); i < nTensors; i++ {
		d.what = func() string { return fmt.Sprintf("tensor %d", i) }
		name, err := d.str(MaxNameLen)
		if err != nil {
			return nil, err
		}
		if name == "" {
			return nil, d.errorf("empty name")
		}
		d.what = func() string { return fmt.Sprintf("tensor %d (%q)", i, name) }
		if _, dup := f.tensIdx[name]; dup {
			return nil, d.errorf("duplicate tensor name")
		}
		nd, err := d.u32()
		if err != nil {
			return nil, err
		}
		if nd > MaxDims {
			return nil, d.errorf("%d dimensions, more than %d", nd, MaxDims)
		}
		shape := make([]int64, nd)
		for j := range shape {
			x, err := d.u64()
			if err != nil {
				return nil, err
			}
			if x > math.MaxInt64 {
				return nil, d.errorf("dimension %d is %d, out of range", j, x)
			}
			shape[j] = int64(x)
		}
		typ, err := d.u32()
		if err != nil {
			return nil, err
		}
		off, err := d.u64()
		if err != nil {
			return nil, err
		}
		tt := quant.Type(typ)
		if !tt.Known() {
			return nil, fmt.Errorf("%w: tensor %q: %w", ErrFormat, name, tt.Check())
		}
		sz, err := tensorSize(tt, shape)
		if err != nil {
			return nil, d.errorf("%v", err)
		}
		if off > math.MaxInt64 {
			return nil, d.errorf("offset %d is out of range", off)
		}
		if int64(off)%f.Alignment != 0 {
			return nil, d.errorf("offset %d is not a multiple of the alignment %d", off, f.Alignment)
		}
		f.tensIdx[name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, TensorInfo{Name: name, Type: tt, Shape: shape, Offset: int64(off), Size: sz})
	}
	d.what = nil

	f.headerEnd = d.pos
	dataOff, ok := alignUp(d.pos, f.Alignment)
	if !ok {
		return nil, fmt.Errorf("%w: data section offset overflows", ErrFormat)
	}
	f.DataOffset = dataOff
	if err := f.checkLayout(); err != nil {
		return nil, err
	}
	return f, nil
}

// checkLayout checks that every tensor lies inside the file's data section and
// that no two tensors overlap.
func (f *File) checkLayout() error {
	order := make([]int, len(f.Tensors))
	for i := range f.Tensors {
		t := &f.Tensors[i]
		start, ok := addInt64(f.DataOffset, t.Offset)
		end, ok2 := addInt64(start, t.Size)
		if !ok || !ok2 || end > f.size {
			return fmt.Errorf("%w: tensor %q: its %d bytes at offset %d of the data section (which starts at byte %d) run past the end of the %d-byte file",
				ErrFormat, t.Name, t.Size, t.Offset, f.DataOffset, f.size)
		}
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool {
		ta, tb := &f.Tensors[order[a]], &f.Tensors[order[b]]
		if ta.Offset != tb.Offset {
			return ta.Offset < tb.Offset
		}
		return ta.Size < tb.Size
	})
	var prev *TensorInfo
	for _, i := range order {
		t := &f.Tensors[i]
		if t.Size == 0 {
			continue
		}
		if prev != nil && prev.Offset+prev.Size > t.Offset {
			return fmt.Errorf("%w: tensors %q [%d, +%d) and %q [%d, +%d) overlap",
				ErrFormat, prev.Name, prev.Offset, prev.Size, t.Name, t.Offset, t.Size)
		}
		prev = t
	}
	return nil
}
