package quantize

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/quant"
)

// outTensor is one tensor of the file being written.
type outTensor struct {
	name  string
	typ   quant.Type
	shape []int64
	size  int64 // bytes of data
}

// sentinelKey marks the end of the metadata in the buffer header encodes
// with gguf.Write; it is never written to a file.
const sentinelKey = "edgeai.quantize.end-of-metadata-sentinel"

// layout is a GGUF file's header and the place of each tensor's data.
type layout struct {
	header  []byte  // everything before the data section, padded
	offsets []int64 // of each tensor, relative to the data section
	align   int64
	total   int64 // bytes of the whole file
}

// makeLayout encodes a GGUF v3 header for kv and tensors, byte for byte what
// gguf.Write (and ggml's gguf writer) produce, so that the tensor data can
// then be streamed after it instead of being held in memory. The metadata is
// encoded by gguf.Write itself (which validates it); the tensor descriptions,
// a fixed layout, are encoded here.
func makeLayout(kv []gguf.KV, tensors []outTensor) (*layout, error) {
	align := int64(gguf.DefaultAlignment)
	for _, e := range kv {
		if e.Key == gguf.KeyAlignment {
			a, ok := e.Value.Uint()
			if !ok || a == 0 || a&(a-1) != 0 || a > gguf.MaxAlignment {
				return nil, fmt.Errorf("quantize: %s = %v is not a power of two", gguf.KeyAlignment, e.Value)
			}
			align = int64(a)
		}
		if e.Key == sentinelKey {
			return nil, fmt.Errorf("quantize: metadata key %q is reserved", sentinelKey)
		}
	}
	var buf bytes.Buffer
	withSentinel := append(kv[:len(kv):len(kv)], gguf.KV{Key: sentinelKey, Value: gguf.NewUint8(1)})
	if err := gguf.Write(&buf, withSentinel, nil, 0); err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	b := buf.Bytes()
	var mark []byte
	mark = binary.LittleEndian.AppendUint64(mark, uint64(len(sentinelKey)))
	mark = append(mark, sentinelKey...)
	end := bytes.LastIndex(b, mark)
	// After the sentinel's key come its type (uint8 = 0), its value (1) and
	// zero padding; anything else means the encoding is not what we think.
	tail := b[max(end, 0):]
	if end < 24 || len(tail) < len(mark)+5 || binary.LittleEndian.Uint32(tail[len(mark):]) != uint32(gguf.TypeUint8) ||
		tail[len(mark)+4] != 1 || bytes.ContainsFunc(tail[len(mark)+5:], func(r rune) bool { return r != 0 }) {
		return nil, errors.New("quantize: internal error: cannot find the end of the encoded metadata")
	}
	h := append([]byte(nil), b[:end]...)
	binary.LittleEndian.PutUint64(h[8:], uint64(len(tensors)))
	binary.LittleEndian.PutUint64(h[16:], uint64(len(kv)))

	l := &layout{align: align, offsets: make([]int64, len(tensors))}
	seen := make(map[string]bool, len(tensors))
	var off int64
	for i, t := range tensors {
		if t.name == "" || len(t.name) > gguf.MaxNameLen {
			return nil, fmt.Errorf("quantize: tensor %d: name length %d is not in [1, %d]", i, len(t.name), gguf.MaxNameLen)
		}
		if seen[t.name] {
			return nil, fmt.Errorf("quantize: duplicate tensor name %q", t.name)
		}
		seen[t.name] = true
		if len(t.shape) > gguf.MaxDims {
			return nil, fmt.Errorf("quantize: tensor %q: %d dimensions", t.name, len(t.shape))
		}
		h = binary.LittleEndian.AppendUint64(h, uint64(len(t.name)))
		h = append(h, t.name...)
		h = binary.LittleEndian.AppendUint32(h, uint32(len(t.shape)))
		for _, d := range t.shape {
			h = binary.LittleEndian.AppendUint64(h, uint64(d))
		}
		h = binary.LittleEndian.AppendUint32(h, uint32(t.typ))
		h = binary.LittleEndian.AppendUint64(h, uint64(off))
		l.offsets[i] = off
		off += pad(t.size, align)
	}
	for int64(len(h))%align != 0 {
		h = append(h, 0)
	}
	l.header = h
	l.total = int64(len(h)) + off
	return l, nil
}

// pad rounds n up to a multiple of align.
func pad(n, align int64) int64 { return (n + align - 1) / align * align }
