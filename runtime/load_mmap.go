package runtime

import (
	"os"
	"sync"

	"github.com/edgeai-go/edgeai/internal/mmap"
	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/nn"
)

// MmapMode says where a model's weight matrices live while it runs.
type MmapMode int8

const (
	// MmapDefault is the mode measured fastest for decoding (see
	// BENCHMARKS.md): MmapOff, unless the weights would take more than half
	// of the memory the system has available (then MmapOn).
	MmapDefault MmapMode = iota
	// MmapOn reads the weights in place from the memory-mapped file: the
	// fastest load, pages shared with the page cache and with other
	// processes mapping the same file, loaded on first use.
	MmapOn
	// MmapOff copies the weight matrices into the process's own memory at
	// load, backed by transparent huge pages where the kernel allows
	// (Linux with transparent_hugepage "madvise" or "always").
	MmapOff
)

// WithMmap chooses whether the weights are read in place from the
// memory-mapped file (true) or copied into memory at load (false). The
// default (MmapDefault) copies them when memory allows: decoding then reads
// them through huge pages, a few percent faster than through the file's 4
// KiB pages (BENCHMARKS.md), at the cost of a copy at load.
func WithMmap(on bool) Option {
	return func(o *Options) {
		o.Mmap = MmapOff
		if on {
			o.Mmap = MmapOn
		}
	}
}

// String returns "mmap" or "no-mmap" ("default" for MmapDefault).
func (m MmapMode) String() string {
	switch m {
	case MmapOn:
		return "mmap"
	case MmapOff:
		return "no-mmap"
	}
	return "default"
}

// placeWeights applies the Options' MmapMode to the decoder's weight
// matrices and records the choice in m.opts.Mmap. With MmapOff it copies
// them, 64-byte aligned, into one anonymous mapping backed by huge pages
// (released by Close through releaseWeights) and drops the file's pages from
// the process's resident set. The small tensors (norm weights, biases) stay
// where they are: the decoder keeps float views of them. MmapDefault copies
// when the weights take at most half the memory the system has available,
// and maps otherwise; if the copy cannot be made the weights stay mapped.
func (m *Model) placeWeights() {
	ts := m.dec.Matrices()
	total := 0
	for _, t := range ts {
		total += (len(t.Data) + 63) &^ 63
	}
	if m.opts.Mmap == MmapDefault {
		m.opts.Mmap = MmapOff
		if avail, ok := mmap.Available(); ok && int64(total) > avail/2 {
			m.opts.Mmap = MmapOn
		}
	}
	if m.opts.Mmap != MmapOff {
		return
	}
	arena, err := mmap.Anon(total)
	if err != nil {
		m.opts.Mmap = MmapOn
		return
	}
	file, _ := os.Open(m.info.Path) // nil: copy through the mapping
	if file != nil {
		defer file.Close()
	}
	buf := arena.Bytes()
	off := 0
	var scratch []byte // a few packed groups read from the file
	for _, t := range ts {
		n := len(t.Data)
		dst := buf[off : off+n : off+n]
		off += (n + 63) &^ 63
		// The products' matrices go to the kernels' packed layout where
		// it is faster (kernels.Pack: Q4_0, Q5_0 and Q8_0 on AVX-512); the
		// token embeddings only when they are also the LM head (their
		// rows stay readable, block by block).
		if (t != &m.dec.W.TokEmbd || m.dec.Output() == t) && t.PackPays() {
			if scratch == nil {
				scratch = make([]byte, packChunk)
			}
			if m.readPacked(file, t, dst, scratch) {
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
		if !m.readTensor(file, t, dst) {
			copy(dst, t.Data)
		}
		mmap.DontNeed(t.Data)
		t.Data = dst
	}
	arenas.Store(m, arena)
}

// packChunk is the most bytes readPacked reads at a time.
const packChunk = 1 << 20

// readPacked reads t from the model file a few packed groups at a time
// (whole groups of kernels.PackGroup rows, at most packChunk bytes unless
// one group is larger) and packs them into dst, so the packing costs no
// extra pass over memory. It reports false (dst may then hold anything) as
// readTensor does.
func (m *Model) readPacked(file *os.File, t *nn.Tensor, dst, scratch []byte) bool {
	off, ok := m.fileOffset(file, t)
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

// readTensor reads the bytes of t from the model file into dst with pread,
// which spares faulting in the file's mapping page by page. It reports false
// (dst may then hold anything) unless t is still the file's view of a tensor
// of that name and the read succeeded.
func (m *Model) readTensor(file *os.File, t *nn.Tensor, dst []byte) bool {
	off, ok := m.fileOffset(file, t)
	if !ok {
		return false
	}
	_, err := file.ReadAt(dst, off)
	return err == nil
}

// fileOffset returns where t's bytes start in the model file, if t is still
// the file's view of the tensor of that name and the file is open.
func (m *Model) fileOffset(file *os.File, t *nn.Tensor) (int64, bool) {
	if file == nil || len(t.Data) == 0 {
		return 0, false
	}
	ti, ok := m.file.Tensor(t.Name)
	if !ok {
		return 0, false
	}
	view, err := m.file.TensorData(ti)
	if err != nil || len(view) != len(t.Data) || &view[0] != &t.Data[0] {
		return 0, false
	}
	return m.file.DataOffset + ti.Offset, true
}

// arenas holds the weight copies of the open Models (*Model ->
// *mmap.Mapping), so Close can return the memory at once.
var arenas sync.Map

// releaseWeights returns the memory of a copy made by placeWeights; Close
// calls it. Sessions must not run afterwards (as with a closed file mapping).
func (m *Model) releaseWeights() {
	if a, ok := arenas.LoadAndDelete(m); ok {
		a.(*mmap.Mapping).Close()
	}
}

// WeightsMapped reports whether the model's weight matrices are read in
// place from the memory-mapped file (true) or were copied into memory at load
// (false); see WithMmap.
func (m *Model) WeightsMapped() bool { return m.opts.Mmap != MmapOff }
