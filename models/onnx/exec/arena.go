package exec

import (
	"fmt"

	"github.com/edgeai-go/edgeai/models/onnx"
)

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
//
// The arena also keeps the run's memory budget: held counts the bytes of
// every block it has made and not dropped (those in use and those free),
// and a new block that would take held past limit is refused, after the
// free blocks have been dropped, with an error wrapping ErrLimit, before
// anything is allocated.
type arena struct {
	free  [numKinds][]*block
	epoch uint32
	held  int64 // bytes of the blocks made and not dropped
	peak  int64 // the largest held seen
	limit int64 // the budget of held; 0: none
}

// blockBytes is the size in memory of a block.
func blockBytes(b *block) int64 {
	return int64(capData(b.data)) * int64(kindBytes[b.kind])
}

// kindBytes is the element size of each kind.
var kindBytes = [numKinds]int{4, 8, 1, 1, 2, 2, 4, 4, 8, 8, 1}

// reserve accounts for a new block of the given size, or fails.
func (a *arena) reserve(bytes int64) error {
	if a.limit > 0 && a.held+bytes > a.limit {
		a.dropFree()
		if a.held+bytes > a.limit {
			return fmt.Errorf("%w: the run would hold more than %d bytes of tensors at once (%d held, %d more asked; the limit is Options.MaxRunBytes)",
				ErrLimit, a.limit, a.held, bytes)
		}
	}
	a.held += bytes
	a.peak = max(a.peak, a.held)
	return nil
}

// dropFree lets go of every free block.
func (a *arena) dropFree() {
	for k, list := range a.free {
		for _, b := range list {
			a.held -= blockBytes(b)
		}
		clear(list)
		a.free[k] = list[:0]
	}
}

// get returns a slice of n elements of type t and the block holding it.
func (a *arena) get(t onnx.DataType, n int) (any, *block, error) {
	k := kindOf(t)
	if k < 0 {
		if err := a.reserve(int64(n) * int64(elemSize(t))); err != nil {
			return nil, nil, err
		}
		a.held -= int64(n) * int64(elemSize(t)) // strings are not kept
		return zeroSlice(t, n), nil, nil
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
		if err := a.reserve(int64(n) * int64(kindBytes[k])); err != nil {
			return nil, nil, err
		}
		b = &block{data: zeroSlice(t, n), kind: k}
	}
	b.refs = 1
	b.epoch = a.epoch
	return sliceData(b.data, 0, n), b, nil
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
			} else {
				a.held -= blockBytes(b)
			}
		}
		clear(list[j:])
		a.free[k] = list[:j]
	}
	a.epoch++
}
