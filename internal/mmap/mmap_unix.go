//go:build unix

package mmap

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

func mapFile(f *os.File, size int) ([]byte, bool, error) {
	data, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err == nil {
		return data, true, nil
	}
	if !errors.Is(err, unix.ENODEV) && !errors.Is(err, unix.EINVAL) {
		return nil, false, err
	}
	// The file system cannot map files: read it instead.
	buf := make([]byte, size)
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, false, err
	}
	return buf, false, nil
}

func unmap(data []byte) error { return unix.Munmap(data) }

// mapAnon maps n bytes of private anonymous memory (zeros, read-write).
func mapAnon(n int) ([]byte, error) {
	return unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
}
