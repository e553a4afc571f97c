package runtime

import (
	"context"
	"fmt"

	"github.com/edgeai-go/edgeai/internal/mmap"
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
	// (Linux with transparent_hugepage "madvise" or "always"). An untied
	// token embedding is read from the file a row at a time on first use,
	// so the file stays open until the model is closed.
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
// matrices (nn.Weights) and records the choice in m.opts.Mmap: with MmapOff
// they are copied into the process's own memory, packed where the kernels
// multiply that layout faster, and Close returns that memory. MmapDefault
// copies when the weights take at most half the memory the system has
// available, and maps otherwise; if the copy cannot be made the weights stay
// mapped. A copy stops with ctx's error when ctx is done (SIGINT while
// loading).
func (m *Model) placeWeights(ctx context.Context) error {
	w := m.dec.Weights()
	if m.opts.Mmap == MmapDefault {
		m.opts.Mmap = MmapOff
		if avail, ok := mmap.Available(); ok && w.Bytes() > avail/2 {
			m.opts.Mmap = MmapOn
		}
	}
	if m.opts.Mmap == MmapOff {
		copied, err := w.Copy(ctx, m.info.Path)
		if err != nil {
			return fmt.Errorf("runtime: loading %s: %w", m.info.Path, err)
		}
		if !copied {
			m.opts.Mmap = MmapOn
		}
	}
	return nil
}

// WeightsMapped reports whether the model's weight matrices are read in
// place from the memory-mapped file (true) or were copied into memory at load
// (false); see WithMmap.
func (m *Model) WeightsMapped() bool { return m.opts.Mmap != MmapOff }
