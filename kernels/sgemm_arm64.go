//go:build !purego

package kernels

// sgemmArch returns the arm64 SGEMM implementations (none yet).
func sgemmArch() []*Sgemm { return nil }

func microArch(kind, k int, a, b, c []float32, ldc int, load bool) {
	panic("kernels: no assembly SGEMM of kind " + itoa(kind))
}

func microOffsArch(kind, k int, a, b []float32, offs []int, c []float32, ldc int, load bool) {
	panic("kernels: no assembly SGEMM of kind " + itoa(kind))
}
