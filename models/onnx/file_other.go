//go:build !unix

package onnx

import "os"

// nonBlock is 0 where the system has no such flag (there, special files are
// still refused by the check after opening).
const nonBlock = 0

func clearNonBlock(*os.File) error { return nil }
