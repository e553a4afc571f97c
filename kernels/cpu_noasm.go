//go:build purego || !(amd64 || arm64)

package kernels

// archImpls returns the assembly implementations of this architecture: none
// in a purego build or on other architectures.
func archImpls() []*impl { return nil }

// cpuFeatures lists the CPU features the kernels look at: none here.
func cpuFeatures() string { return "" }
