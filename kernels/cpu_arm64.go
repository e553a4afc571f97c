//go:build !purego

package kernels

// archImpls returns the arm64 assembly implementations, least capable first
// (neon, dotprod), each marked available if this CPU can run it. None is
// written yet.
func archImpls() []*impl { return nil }

// cpuFeatures lists the CPU features the arm64 kernels look at.
func cpuFeatures() string { return "" }
