//go:build unix

package onnx

import (
	"os"
	"syscall"
)

// nonBlock makes open return at once on a FIFO with no writer.
const nonBlock = syscall.O_NONBLOCK

func clearNonBlock(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.SetNonblock(int(fd), false) }); err != nil {
		return err
	}
	return serr
}
