//go:build !purego

package kernels

// archImpls returns the amd64 assembly implementations, least capable first
// (avx2, avx512), each marked available if this CPU can run it. None is
// written yet.
func archImpls() []*impl { return nil }

// cpuFeatures lists the CPU features the amd64 kernels look at.
func cpuFeatures() string { return "" }
