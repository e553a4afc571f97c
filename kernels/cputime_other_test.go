//go:build !linux

package kernels

// threadCPU is not measured here: 0.
func threadCPU() int64 { return 0 }
