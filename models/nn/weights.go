package nn

import (
	"context"
	"os"

	"github.com/edgeai-go/edgeai/internal/mmap"
	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/gguf"
)

// Weights are a model's weight matrices and where they live: views into
// the file's memory map when loaded, or, after Copy, one block of the
// process's own memory (huge pages where Linux allows) in the kernels'
// packed layout where that is faster. The small tensors (norm weights,
// biases) always stay in the map: the architectures keep float views of
// them. A model owns its Weights; Close returns the copy's memory.
type Weights struct {
	file    *gguf.File
	mats    []*Tensor
	product map[*Tensor]bool // used by weight products (may be packed)
	arena   *mmap.Mapping    // the copy, nil while mapped
}

// NewWeights returns an empty weight set of the model in f.
func NewWeights(f *gguf.File) *Weights {
	return &Weights{file: f, product: map[*Tensor]bool{}}
}

// Add registers matrices of the model. A product matrix is multiplied by
// Linear and may be packed when copied; the others (an untied token
// embedding, read one row at a time) are copied as they are. A tensor
// added twice counts once, as a product if either time says so.
func (w *Weights) Add(product bool, ts ...*Tensor) {
	for _, t := range ts {
		if t == nil {
			continue
		}
		if _, seen := w.product[t]; !seen {
			w.mats = append(w.mats, t)
		}
		w.product[t] = w.product[t] || product
	}
}

// Matrices returns the registered matrices, in the order they were added.
func (w *Weights) Matrices() []*Tensor { return w.mats }

// Bytes returns the size of the registered matrices.
func (w *Weights) Bytes() int64 {
	var n int64
	for _, t := range w.mats {
		n += int64(len(t.Data))
	}
	return n
}

// Copied reports whether the matrices were copied into memory (Copy).
func (w *Weights) Copied() bool { return w.arena != nil }

// Copy moves the matrices from the file's mapping into one anonymous
// mapping of the process's own memory, 64-byte aligned, backed by huge pages
// where the kernel allows, packing the product matrices whose types the
// kernels in use multiply faster packed (kernels.PackPays); the file's
// pages are then dropped from the resident set. The bytes are read with
// pread from path (the model file) where possible, which spares faulting in
// the mapping page by page, and packed while read, a few groups at a time.
// It reports false, leaving everything mapped, if the memory cannot be had.
// It stops between tensors when ctx is done and returns ctx's error; the
// weights are then half copied and must be closed, not run.
func (w *Weights) Copy(ctx context.Context, path string) (bool, error) {
	if w.arena != nil {
		return true, nil
	}
	total := 0
	for _, t := range w.mats {
		total += (len(t.Data) + 63) &^ 63
	}
	arena, err := mmap.Anon(total)
	if err != nil {
		return false, nil
	}
	w.arena = arena
	file, _ := os.Open(path) // nil: copy through the mapping
	if file != nil {
		defer file.Close()
	}
	buf := arena.Bytes()
	off := 0
	var scratch []byte // a few packed groups read from the file
	for _, t := range w.mats {
		if err := ctx.Err(); err != nil {
			return true, err
		}
		n := len(t.Data)
		dst := buf[off : off+n : off+n]
		off += (n + 63) &^ 63
		if w.product[t] && t.PackPays() {
			if scratch == nil {
				scratch = make([]byte, packChunk)
			}
			if w.readPacked(file, t, dst, scratch) {
				mmap.DontNeed(t.Data)
				t.Data, t.Packed = dst, true
				continue
			}
			copy(dst, t.Data)
			mmap.DontNeed(t.Data)
			t.Data = dst
			t.Pack()
			continue
		}
		if !w.readTensor(file, t, dst) {
			copy(dst, t.Data)
		}
		mmap.DontNeed(t.Data)
		t.Data = dst
	}
	// The matrices are out of the mapping; the metadata (parsed already)
	// and the pages faulted in around the small tensors that stay there
	// (fault-around reads 64 KiB at a time) would otherwise stay resident,
	// about 10 MiB on SmolLM2-135M: drop them; the small tensors are
	// copied at bind (Tensor.Floats) and are not read here again.
	if w.file != nil {
		w.file.DropResident()
	}
	return true, nil
}

// Close returns the memory of a copy made by Copy. The model must not run
// afterwards.
func (w *Weights) Close() {
	if w.arena != nil {
		w.arena.Close()
		w.arena = nil
	}
}

// packChunk is the most bytes readPacked reads at a time.
const packChunk = 1 << 20

// readPacked reads t from the model file a few packed groups at a time
// (whole groups of kernels.PackGroup rows, at most packChunk bytes unless
// one group is larger) and packs them into dst, so the packing costs no
// extra pass over memory. It reports false (dst may then hold anything) as
// readTensor does.
func (w *Weights) readPacked(file *os.File, t *Tensor, dst, scratch []byte) bool {
	off, ok := w.fileOffset(file, t)
	if !ok {
		return false
	}
	rows, cols, rb, g := t.Rows(), t.Cols(), t.RowBytes(), kernels.PackGroup(t.Type)
	step := max(g, packChunk/rb/g*g)
	for r0 := 0; r0 < rows; {
		r1 := min(r0+step, rows)
		if rows-r1 < g { // the rows past the last group go with it
			r1 = rows
		}
		src := scratch
		if (r1-r0)*rb > len(src) {
			src = make([]byte, (r1-r0)*rb)
		}
		src = src[:(r1-r0)*rb]
		if _, err := file.ReadAt(src, off+int64(r0*rb)); err != nil {
			return false
		}
		kernels.Pack(t.Type, dst[r0*rb:r1*rb], src, r1-r0, cols)
		r0 = r1
	}
	return true
}

// readTensor reads the bytes of t from the model file into dst with pread.
// It reports false (dst may then hold anything) unless t is still the
// file's view of a tensor of that name and the read succeeded.
func (w *Weights) readTensor(file *os.File, t *Tensor, dst []byte) bool {
	off, ok := w.fileOffset(file, t)
	if !ok {
		return false
	}
	_, err := file.ReadAt(dst, off)
	return err == nil
}

// fileOffset returns where t's bytes start in the model file, if t is still
// the file's view of the tensor of that name and the file is open.
func (w *Weights) fileOffset(file *os.File, t *Tensor) (int64, bool) {
	if file == nil || len(t.Data) == 0 {
		return 0, false
	}
	ti, ok := w.file.Tensor(t.Name)
	if !ok {
		return 0, false
	}
	view, err := w.file.TensorData(ti)
	if err != nil || len(view) != len(t.Data) || &view[0] != &t.Data[0] {
		return 0, false
	}
	return w.file.DataOffset + ti.Offset, true
}

// IsProduct reports whether t was added as a product matrix (one Linear
// multiplies, which may be packed).
func (w *Weights) IsProduct(t *Tensor) bool { return w.product[t] }
