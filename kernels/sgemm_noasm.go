//go:build purego || !(amd64 || arm64)

package kernels

// sgemmArch returns the assembly SGEMM implementations: none in a purego
// build or on other architectures.
func sgemmArch() []*Sgemm { return nil }

func microArch(kind, k int, a, b, c []float32, ldc int, load bool) {
	panic("kernels: no assembly SGEMM in this build")
}

func microOffsArch(kind, k int, a, b []float32, offs []int, c []float32, ldc int, load bool) {
	panic("kernels: no assembly SGEMM of kind " + itoa(kind))
}
