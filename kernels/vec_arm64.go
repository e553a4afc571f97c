//go:build !purego

package kernels

// The NEON float32 vector kernels (vec_arm64.s), used by both arm64 paths.
// Callers pass slices of equal length (checked by the exported functions).

// dotF32NEON is Dot, bit for bit as dotGeneric (four partial sums in one
// vector, FMUL then FADD, no fused multiply-add).
//
//go:noescape
func dotF32NEON(a, b []float32) float32

// axpyF32NEON is Axpy: dst[i] += alpha*x[i], the product rounded before the
// addition, bit for bit as axpyGeneric.
//
//go:noescape
func axpyF32NEON(dst []float32, alpha float32, x []float32)

// scaleF32NEON is Scale: x[i] *= s, bit for bit as scaleGeneric.
//
//go:noescape
func scaleF32NEON(x []float32, s float32)
