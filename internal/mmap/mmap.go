// Package mmap maps files read-only into memory, so that model weights are
// paged in by the kernel on demand instead of being read and copied up front.
//
// On unix systems Open uses mmap(2). Elsewhere (windows, wasm, plan9) it falls
// back to reading the whole file into memory; the API is the same.
package mmap

import (
	"fmt"
	"math"
	"sync"

	"github.com/edgeai-go/edgeai/internal/safeopen"
)

// Mapping is a read-only view of a whole file (Open), or a block of
// writable anonymous memory (Anon).
//
// The slice returned by Bytes of a file Mapping is read-only: writing to it
// faults on unix. It
// stays valid only until Close; touching it afterwards crashes the process
// (SIGSEGV), so callers must not keep views past Close. If the file is
// truncated by another process while mapped, reading past its new end raises
// SIGBUS on unix: map only files that are not being rewritten.
type Mapping struct {
	mu     sync.Mutex
	data   []byte
	region []byte // what to unmap (data or a larger region holding it); nil if not mapped
	mapped bool   // data is a view of the file's pages (not a copy)
	closed bool
}

// Open maps the file at path. A zero-length file gives an empty mapping.
func Open(path string) (*Mapping, error) {
	f, err := safeopen.Open(path) // a FIFO or device is an error, never a blocked open
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size < 0 || uint64(size) > uint64(math.MaxInt) {
		return nil, fmt.Errorf("mmap: %s: %d bytes do not fit in this platform's address space", path, size)
	}
	if size == 0 {
		return &Mapping{data: []byte{}}, nil
	}
	data, mapped, err := mapFile(f, int(size))
	if err != nil {
		return nil, fmt.Errorf("mmap: %s: %w", path, err)
	}
	m := &Mapping{data: data, mapped: mapped}
	if mapped {
		m.region = data
	}
	return m, nil
}

// Bytes returns the file's contents. It returns nil after Close.
func (m *Mapping) Bytes() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	return m.data
}

// Len returns the size of the file in bytes.
func (m *Mapping) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.data)
}

// Mapped reports whether the contents are memory-mapped (true) or were read
// into memory (false, the fallback on platforms without mmap).
func (m *Mapping) Mapped() bool { return m.mapped }

// Close releases the mapping. Every slice obtained from Bytes becomes invalid.
// Closing twice is not an error.
func (m *Mapping) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	region := m.region
	m.data, m.region = nil, nil
	if len(region) > 0 {
		return unmap(region)
	}
	return nil
}
