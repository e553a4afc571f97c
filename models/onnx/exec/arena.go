package exec

import "github.com/edgeai-go/edgeai/models/onnx"

// block is a buffer of the arena: a typed slice at full capacity, shared by
// the tensors that alias it (refs counts them).
type block struct {
	data  any
	kind  int
	refs  int
	epoch uint32 // the call that last took the block
}

// numKinds is the number of Go element types the arena keeps apart.
const numKinds = 11

// kindOf maps an element type to its Go slice type's index, -1 for types
// the arena does not hold (strings).
func kindOf(t onnx.DataType) int {
	switch t {
	case onnx.Float:
		return 0
	case onnx.Double:
		return 1
	case onnx.Int8:
		return 2
	case onnx.Uint8:
		return 3
	case onnx.Int16:
		return 4
	case onnx.Uint16, onnx.Float16, onnx.BFloat16:
		return 5
	case onnx.Int32:
		return 6
	case onnx.Uint32:
		return 7
	case onnx.Int64:
		return 8
	case onnx.Uint64:
		return 9
	case onnx.Bool:
		return 10
	}
	return -1
}

// arena keeps the buffers of one run state from one call to the next. A
// tensor's buffer returns to it when the last value using it dies (the plan
// of New says when); the next request for a buffer of that type takes the
// smallest free one that is large enough and at most twice too large. Each
// call ends with endRun, which drops the buffers that neither this call nor
// the previous one used, so the memory kept follows what the model needs
// for the shapes it currently sees.
type arena struct {
	free  [numKinds][]*block
	epoch uint32
}

// get returns a slice of n elements of type t and the block holding it.
func (a *arena) get(t onnx.DataType, n int) (any, *block) {
	k := kindOf(t)
	if k < 0 {
		return zeroSlice(t, n), nil
	}
	list := a.free[k]
	best := -1
	for i, b := range list {
		c := capData(b.data)
		if c >= n && c <= 2*n+64 && (best < 0 || c < capData(list[best].data)) {
			best = i
		}
	}
	var b *block
	if best >= 0 {
		b = list[best]
		list[best] = list[len(list)-1]
		list[len(list)-1] = nil
		a.free[k] = list[:len(list)-1]
	} else {
		b = &block{data: zeroSlice(t, n), kind: k}
	}
	b.refs = 1
	b.epoch = a.epoch
	return sliceData(b.data, 0, n), b
}

// release drops one reference to t's buffer; the last one returns the
// buffer to the arena. Tensors the arena does not own are left alone.
func (a *arena) release(t *Tensor) {
	if t == nil || t.blk == nil {
		return
	}
	b := t.blk
	t.blk = nil
	b.refs--
	if b.refs == 0 {
		a.free[b.kind] = append(a.free[b.kind], b)
	}
}

// endRun ends a call: buffers unused for two calls are dropped.
func (a *arena) endRun() {
	for k, list := range a.free {
		j := 0
		for _, b := range list {
			if a.epoch-b.epoch < 2 {
				list[j] = b
				j++
			}
		}
		clear(list[j:])
		a.free[k] = list[:j]
	}
	a.epoch++
}
