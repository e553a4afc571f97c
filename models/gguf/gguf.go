// Package gguf reads and writes GGUF files, the container format of ggml and
// llama.cpp: a header of typed key/value metadata and tensor descriptions,
// then the tensors' data, each aligned.
//
// The reader accepts versions 2 and 3 in little-endian byte order. It treats
// every file as hostile: each count, length, dimension and offset is checked
// against the bytes left in the file and against fixed caps, with overflow-
// checked arithmetic, before anything is allocated, and every problem is an
// error wrapping ErrFormat that says what was wrong. Open memory-maps the file
// and TensorData returns views into the mapping, never copies.
package gguf

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"

	"github.com/edgeai-go/edgeai/internal/mmap"
	"github.com/edgeai-go/edgeai/quant"
)

// ErrFormat is the root of every error about malformed input: test with
// errors.Is(err, gguf.ErrFormat).
var ErrFormat = errors.New("gguf: invalid file")

// ErrClosed is returned by TensorData after Close.
var ErrClosed = errors.New("gguf: file is closed")

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the alignment of tensor data when general.alignment is absent.
const DefaultAlignment = 32

// KeyAlignment is the metadata key that overrides the data alignment.
const KeyAlignment = "general.alignment"

// Limits the reader enforces on top of the file size.
const (
	MaxDims       = 4       // dimensions per tensor (GGML_MAX_DIMS)
	MaxNameLen    = 64      // bytes in a tensor name
	MaxKeyLen     = 65535   // bytes in a metadata key
	MaxStringLen  = 1 << 24 // bytes in one metadata string (16 MiB)
	MaxArrayLen   = 1 << 26 // elements in one metadata array
	MaxTensors    = 1 << 20 // tensors in one file
	MaxKV         = 1 << 20 // metadata entries in one file
	MaxArrayDepth = 8       // nesting of arrays within arrays
	MaxAlignment  = 1 << 30 // largest accepted general.alignment
)

// KV is one metadata entry.
type KV struct {
	Key   string
	Value Value
}

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name   string
	Type   quant.Type
	Shape  []int64 // ggml "ne" order: Shape[0] is the row length (contiguous), up to 4 dims
	Offset int64   // byte offset relative to the start of the data section
	Size   int64   // bytes of data
}

// Elements returns the number of values in the tensor (1 for a tensor with no
// dimensions).
func (t *TensorInfo) Elements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// File is a parsed GGUF file. Its fields describe the file and must not be
// modified; use the methods to look up metadata and tensor data.
type File struct {
	Version    uint32
	KV         []KV         // file order
	Tensors    []TensorInfo // file order
	Alignment  int64
	DataOffset int64 // absolute offset of the data section

	size      int64
	headerEnd int64         // end of the tensor descriptions, before padding
	m         *mmap.Mapping // non-nil for Open
	data      []byte        // the mapping's bytes; nil after Close or with NewReader
	r         io.ReaderAt   // for NewReader
	closed    bool
	kvIdx     map[string]int
	tensIdx   map[string]int
}

// Open memory-maps the GGUF file at path and parses its header. The tensor
// data is not read: TensorData returns views into the mapping, which stay
// valid until Close. On platforms without mmap the file is read into memory.
func Open(path string) (*File, error) {
	m, err := mmap.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	data := m.Bytes()
	f, err := parse(newBytesReaderAt(data), int64(len(data)))
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.m = m
	f.data = data
	return f, nil
}

// NewReader parses the GGUF header read from r, whose total size is size.
// TensorData then reads (copies) tensor data from r.
func NewReader(r io.ReaderAt, size int64) (*File, error) {
	if size < 0 {
		return nil, fmt.Errorf("%w: negative size %d", ErrFormat, size)
	}
	f, err := parse(r, size)
	if err != nil {
		return nil, err
	}
	f.r = r
	return f, nil
}

// Close releases the mapping made by Open. Views returned by TensorData must
// not be used afterwards. It does not close the io.ReaderAt given to NewReader.
func (f *File) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	f.data = nil
	f.r = nil
	if f.m != nil {
		return f.m.Close()
	}
	return nil
}

// Size returns the size of the file in bytes.
func (f *File) Size() int64 { return f.size }

// Mapped reports whether tensor data is served from a memory mapping (Open
// on a platform with mmap) rather than read on each TensorData call.
func (f *File) Mapped() bool { return f.m != nil && f.m.Mapped() }

// DropResident tells the kernel that the mapped file will not be read soon
// (mmap.DontNeed): its pages leave the process's resident set and fault back
// in, from the page cache, if read again. Views stay valid. Loaders call it
// once a model's weights have been copied out of the mapping, so that the
// metadata already parsed and the pages around the few tensors still read
// in place no longer count as the process's memory. It does nothing on a
// file that is not mapped.
func (f *File) DropResident() {
	if f.Mapped() && !f.closed {
		mmap.DontNeed(f.m.Bytes())
	}
}

// Forget removes the named keys from f's metadata (KV; Lookup no longer
// finds them), so that the memory of their values can be freed once a
// caller has built what it needs from them: runtime.Load drops the
// tokenizer's arrays (vocabulary, merges, scores, types: MiBs that the
// tokenizer holds its own copies of). Keys absent are ignored.
func (f *File) Forget(keys ...string) {
	drop := map[int]bool{}
	for _, k := range keys {
		if i, ok := f.kvIdx[k]; ok {
			drop[i] = true
		}
	}
	if len(drop) == 0 {
		return
	}
	kv := make([]KV, 0, len(f.KV)-len(drop))
	for i := range f.KV {
		if !drop[i] {
			kv = append(kv, f.KV[i])
		}
	}
	f.KV = kv
	f.kvIdx = make(map[string]int, len(kv))
	for i := range kv {
		f.kvIdx[kv[i].Key] = i
	}
}

// Lookup returns the value of key.
func (f *File) Lookup(key string) (Value, bool) {
	i, ok := f.kvIdx[key]
	if !ok {
		return Value{}, false
	}
	return f.KV[i].Value, true
}

// String returns the value of key if it is a string.
func (f *File) String(key string) (string, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return "", false
	}
	return v.Str()
}

// Uint returns the value of key if it is an integer of any width holding a
// non-negative value.
func (f *File) Uint(key string) (uint64, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return 0, false
	}
	return v.Uint()
}

// Int returns the value of key if it is an integer that fits in an int64.
func (f *File) Int(key string) (int64, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return 0, false
	}
	return v.Int()
}

// Float returns the value of key if it is a float32, float64 or integer.
func (f *File) Float(key string) (float64, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return 0, false
	}
	return v.Float()
}

// Bool returns the value of key if it is a bool.
func (f *File) Bool(key string) (bool, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return false, false
	}
	return v.Bool()
}

// Strings returns (a copy of) the value of key if it is an array of strings.
func (f *File) Strings(key string) ([]string, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return nil, false
	}
	return v.Strings()
}

// Float32s returns the value of key if it is an array of float32 (or of
// float64, rounded to float32).
func (f *File) Float32s(key string) ([]float32, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return nil, false
	}
	return v.Float32s()
}

// Int32s returns the value of key if it is an array of integers that all fit
// in an int32.
func (f *File) Int32s(key string) ([]int32, bool) {
	v, ok := f.Lookup(key)
	if !ok {
		return nil, false
	}
	return v.Int32s()
}

// Arch returns general.architecture, or "" if it is absent.
func (f *File) Arch() string {
	s, _ := f.String("general.architecture")
	return s
}

// ArchKey returns the architecture-specific key Arch()+"."+suffix, e.g.
// ArchKey("context_length") is "llama.context_length" for a llama model.
func (f *File) ArchKey(suffix string) string { return f.Arch() + "." + suffix }

// Tensor returns the description of the tensor called name.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.tensIdx[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// ParamCount returns the number of values in all tensors.
func (f *File) ParamCount() int64 {
	var n int64
	for i := range f.Tensors {
		n += f.Tensors[i].Elements()
	}
	return n
}

// TensorData returns the bytes of tensor t. With Open it is a read-only view
// into the memory mapping (never a copy), valid until Close; writing to it
// faults. With NewReader the bytes are read from the io.ReaderAt into a new
// slice.
func (f *File) TensorData(t *TensorInfo) ([]byte, error) {
	if f.closed {
		return nil, ErrClosed
	}
	if t == nil {
		return nil, errors.New("gguf: TensorData of a nil tensor")
	}
	start, ok := addInt64(f.DataOffset, t.Offset)
	end, ok2 := addInt64(start, t.Size)
	if !ok || !ok2 || t.Offset < 0 || t.Size < 0 || end > f.size {
		return nil, fmt.Errorf("%w: tensor %q: bytes [%d, +%d) of the data section lie outside the %d-byte file",
			ErrFormat, t.Name, t.Offset, t.Size, f.size)
	}
	if uint64(t.Size) > math.MaxInt {
		return nil, fmt.Errorf("gguf: tensor %q: %d bytes do not fit in memory on this platform", t.Name, t.Size)
	}
	if f.data != nil {
		return f.data[start:end:end], nil
	}
	if f.m != nil { // an empty mapping
		return []byte{}, nil
	}
	buf := make([]byte, t.Size)
	if _, err := f.r.ReadAt(buf, start); err != nil {
		if errors.Is(err, io.EOF) && int64(len(buf)) == 0 {
			return buf, nil
		}
		return nil, fmt.Errorf("gguf: tensor %q: %w", t.Name, err)
	}
	return buf, nil
}

// addInt64 returns a+b and whether it did not overflow (both must be >= 0).
func addInt64(a, b int64) (int64, bool) {
	if a < 0 || b < 0 || a > math.MaxInt64-b {
		return 0, false
	}
	return a + b, true
}

// mulInt64 returns a*b and whether it did not overflow (both must be >= 0).
func mulInt64(a, b int64) (int64, bool) {
	if a < 0 || b < 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	return int64(lo), true
}

// alignUp rounds n up to a multiple of align (a power of two), reporting overflow.
func alignUp(n, align int64) (int64, bool) {
	m, ok := addInt64(n, align-1)
	if !ok {
		return 0, false
	}
	return m &^ (align - 1), true
}

// tensorSize returns the byte size of a tensor of type t and shape, or an
// error naming the problem (not wrapped in ErrFormat; callers add context).
func tensorSize(t quant.Type, shape []int64) (int64, error) {
	tr, ok := t.Traits()
	if !ok {
		return 0, fmt.Errorf("%w: %d", quant.ErrUnknownType, uint32(t))
	}
	if len(shape) > MaxDims {
		return 0, fmt.Errorf("%d dimensions, more than %d", len(shape), MaxDims)
	}
	n := int64(1)
	for i, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("dimension %d is negative (%d)", i, d)
		}
		var ok bool
		if n, ok = mulInt64(n, d); !ok {
			return 0, fmt.Errorf("shape %v overflows", shape)
		}
	}
	row := int64(1)
	if len(shape) > 0 {
		row = shape[0]
	}
	if row%int64(tr.BlockSize) != 0 {
		return 0, fmt.Errorf("row length %d is not a multiple of the %s block size %d", row, tr.Name, tr.BlockSize)
	}
	size, ok := mulInt64(n/int64(tr.BlockSize), int64(tr.BlockBytes))
	if !ok {
		return 0, fmt.Errorf("shape %v of %s overflows", shape, tr.Name)
	}
	return size, nil
}
