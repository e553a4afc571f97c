//go:build !unix

package mmap

import (
	"io"
	"os"
)

// mapFile reads the whole file: this platform has no mmap support here.
func mapFile(f *os.File, size int) ([]byte, bool, error) {
	buf := make([]byte, size)
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, false, err
	}
	return buf, false, nil
}

func unmap([]byte) error { return nil }

// mapAnon returns nil: Anon falls back to AllocHuge.
func mapAnon(int) ([]byte, error) { return nil, nil }
