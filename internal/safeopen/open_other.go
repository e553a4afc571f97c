//go:build !unix

package safeopen

import "os"

// openNonBlocking checks the path before opening it: the systems without
// O_NONBLOCK here (Windows, Plan 9, wasm) have no FIFOs that block an open.
func openNonBlocking(path string) (*os.File, error) {
	if err := Check(path); err != nil {
		return nil, err
	}
	return os.Open(path)
}

func setBlocking(*os.File) error { return nil }
