package quantize

import (
	"fmt"

	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/quant"
)

// Source is a model to convert: its metadata and tensors, whose values are
// produced a few rows at a time so that no converter holds a whole model.
// A gguf file is one (FileSource); models/synth's random models are another.
// ReadRows may be called concurrently for different rows and tensors.
type Source interface {
	// Metadata returns the key/values to write, in order.
	Metadata() []gguf.KV
	// Tensors returns the tensors, in the source's order.
	Tensors() []Tensor
	// ReadRows decodes rows [first, first+n) of tensor i (a row is Shape[0]
	// values) into dst, which holds exactly n rows.
	ReadRows(i int, first, n int64, dst []float32) error
}

// RawSource is a Source that can also hand out a tensor's stored bytes.
// Convert copies those bytes unchanged for a tensor that keeps its type, as
// llama.cpp does, instead of decoding and re-encoding it (which would change
// quantized data).
type RawSource interface {
	Source
	// RawRows returns the stored bytes of rows [first, first+n) of tensor i.
	// The slice is only read, and only until Convert returns.
	RawRows(i int, first, n int64) ([]byte, error)
}

// fileSource serves a parsed gguf file.
type fileSource struct {
	f       *gguf.File
	tensors []Tensor
}

// FileSource returns a Source reading f's tensors (views of its memory
// mapping when f was opened with gguf.Open). f must stay open while the
// Source is used. Every tensor must be of a type edgeai can decode.
func FileSource(f *gguf.File) (RawSource, error) {
	s := &fileSource{f: f, tensors: make([]Tensor, len(f.Tensors))}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if err := t.Type.Check(); err != nil {
			return nil, fmt.Errorf("quantize: tensor %q: %w", t.Name, err)
		}
		s.tensors[i] = Tensor{Name: t.Name, Type: t.Type, Shape: append([]int64(nil), t.Shape...)}
	}
	return s, nil
}

func (s *fileSource) Metadata() []gguf.KV { return s.f.KV }

func (s *fileSource) Tensors() []Tensor { return s.tensors }

func (s *fileSource) RawRows(i int, first, n int64) ([]byte, error) {
	if i < 0 || i >= len(s.tensors) {
		return nil, fmt.Errorf("quantize: tensor index %d out of range", i)
	}
	t := &s.tensors[i]
	rb, err := t.Type.RowBytes(int(rowLen(t)))
	if err != nil {
		return nil, fmt.Errorf("quantize: tensor %q: %w", t.Name, err)
	}
	data, err := s.f.TensorData(&s.f.Tensors[i])
	if err != nil {
		return nil, err
	}
	lo, hi := first*int64(rb), (first+n)*int64(rb)
	if first < 0 || n < 0 || hi > int64(len(data)) {
		return nil, fmt.Errorf("quantize: tensor %q: rows [%d, %d) out of range", t.Name, first, first+n)
	}
	return data[lo:hi:hi], nil
}

func (s *fileSource) ReadRows(i int, first, n int64, dst []float32) error {
	raw, err := s.RawRows(i, first, n)
	if err != nil {
		return err
	}
	t := &s.tensors[i]
	if err := quant.Dequantize(t.Type, raw, dst); err != nil {
		return fmt.Errorf("quantize: tensor %q: %w", t.Name, err)
	}
	return nil
}
