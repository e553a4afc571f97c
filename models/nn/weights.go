package nn

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/edgeai-go/edgeai/internal/mmap"
	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/gguf"
)

// Weights are a model's weight matrices and where they live: views into
// the file's memory map when loaded, or, after Copy, one block of the
// process's own memory (huge pages where Linux allows) in the kernels'
// packed layout where that is faster, and the row-read matrices (an untied
// token embedding) in memory of their own, each row read from the file on
// its first use. The small tensors (norm weights, biases) are copied at
// bind (Tensor.Floats). A model owns its Weights; Close returns the copy's
// memory.
type Weights struct {
	file    *gguf.File
	mats    []*Tensor
	product map[*Tensor]bool // used by weight products (may be packed)
	arena   *mmap.Mapping    // the copy, nil while mapped
	sparse  *mmap.Mapping    // the row-read matrices of the copy, loaded a row at a time
	rowFile *os.File         // the model file they are read from
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
// The row-read matrices go to a second anonymous mapping of 4 KiB pages,
// filled a row at a time as Tensor.Row first reads each row (with pread,
// from the file kept open until Close): a prompt touches a few hundred of
// an embedding's tens of thousands of rows, and only those pages become
// resident (without this, TinyLlama's 35 MiB Q4_0 embedding was all
// resident, where the mapped mode held only the rows read).
// It reports false, leaving everything mapped, if the memory cannot be had.
// It stops between tensors when ctx is done and returns ctx's error; the
// weights are then half copied and must be closed, not run.
func (w *Weights) Copy(ctx context.Context, path string) (bool, error) {
	if w.arena != nil {
		return true, nil
	}
	file, _ := os.Open(path) // nil: copy through the mapping
	keep := false            // the file stays open for the row-read matrices
	defer func() {
		if file != nil && !keep {
			file.Close()
		}
	}()
	// The row-read matrices (an untied token embedding) are not copied
	// now but read a row at a time on first use (see above); they must
	// still be the file's views, or they are copied as the others.
	total, sparse := 0, 0
	lazy := map[*Tensor]int64{} // file offsets
	for _, t := range w.mats {
		if !w.product[t] && len(t.Shape) == 2 && !t.Packed && len(t.Data) > 0 {
			if off, ok := w.fileOffset(file, t); ok {
				lazy[t] = off
				sparse += (len(t.Data) + 4095) &^ 4095
				continue
			}
		}
		total += (len(t.Data) + 63) &^ 63
	}
	arena, err := mmap.Anon(total)
	if err != nil {
		return false, nil
	}
	var rows *mmap.Mapping
	if sparse > 0 {
		if rows, err = mmap.AnonSparse(sparse); err != nil {
			arena.Close()
			return false, nil
		}
	}
	w.arena, w.sparse = arena, rows
	if rows != nil {
		keep, w.rowFile = true, file
		sbuf, soff := rows.Bytes(), 0
		for _, t := range w.mats {
			fo, ok := lazy[t]
			if !ok {
				continue
			}
			n := len(t.Data)
			mmap.DontNeed(t.Data)
			t.Data = sbuf[soff : soff+n : soff+n]
			t.rows = newLazyRows(file, fo, t.Rows(), t.RowBytes())
			soff += (n + 4095) &^ 4095
		}
	}
	buf := arena.Bytes()
	off := 0
	var scratch []byte // a few packed groups read from the file
	for _, t := range w.mats {
		if err := ctx.Err(); err != nil {
			return true, err
		}
		if _, ok := lazy[t]; ok {
			continue
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
	if w.sparse != nil {
		w.sparse.Close()
		w.sparse = nil
	}
	if w.rowFile != nil {
		w.rowFile.Close()
		w.rowFile = nil
	}
}

// lazyRows loads the rows of a copied row-read matrix from the model file
// on their first use. Loaded rows are never written again, so readers
// that find a row's bit set read its bytes without the lock.
type lazyRows struct {
	file   *os.File
	off    int64 // where the matrix starts in the file
	rb     int   // bytes per row
	mu     sync.Mutex
	loaded []atomic.Uint32 // a bit per row
}

func newLazyRows(f *os.File, off int64, rows, rb int) *lazyRows {
	return &lazyRows{file: f, off: off, rb: rb, loaded: make([]atomic.Uint32, (rows+31)/32)}
}

// load makes sure row i is in dst (its place in the copy), reading it from
// the file if it is not yet.
func (l *lazyRows) load(i int, dst []byte) error {
	word, bit := &l.loaded[i/32], uint32(1)<<(i%32)
	if word.Load()&bit != 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if word.Load()&bit != 0 {
		return nil
	}
	if _, err := l.file.ReadAt(dst, l.off+int64(i)*int64(l.rb)); err != nil {
		return fmt.Errorf("reading row %d from the model file: %w", i, err)
	}
	word.Or(bit)
	return nil
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
