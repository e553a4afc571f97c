package onnx

import (
	"fmt"
	"os"

	"github.com/edgeai-go/edgeai/internal/safeopen"
)

// ErrNotRegular reports a path that names something other than a regular
// file (a FIFO, a device, a directory, a socket): reading one could block
// forever or never end, so it is refused before anything is read. It is
// safeopen.ErrNotRegular, the error of every file edgeai opens.
var ErrNotRegular = safeopen.ErrNotRegular

// OpenRegular opens path for reading if it is a regular file (see package
// internal/safeopen: the open does not block on a FIFO).
func OpenRegular(path string) (*os.File, error) { return safeopen.Open(path) }

// ReadRegularFile reads a regular file whole (at most 2 GiB, protobuf's
// limit).
func ReadRegularFile(path string) ([]byte, error) { return safeopen.ReadFile(path, maxFileBytes) }

// maxFileBytes bounds a file read whole (a protobuf message is at most 2
// GiB).
const maxFileBytes = 2 << 30

// checkRegular fails unless f, opened non-blocking (nonBlock) through an
// os.Root, is a regular file, and then makes its reads blocking again.
func checkRegular(f *os.File, name string) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: %w (mode %s)", name, ErrNotRegular, st.Mode().Type())
	}
	return clearNonBlock(f)
}
