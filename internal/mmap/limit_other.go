//go:build !(linux || darwin)

package mmap

// addressLimit: no per-process address-space limit is looked up here.
func addressLimit() (int64, bool) { return 0, false }
