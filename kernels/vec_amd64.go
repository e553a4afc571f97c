//go:build !purego

package kernels

// The AVX2 float32 vector kernels (vec_amd64.s). Callers pass slices of equal
// length (checked by the exported functions).

// dotF32AVX2 is Dot, bit for bit as dotGeneric (four partial sums in one
// XMM register, no fused multiply-add).
//
//go:noescape
func dotF32AVX2(a, b []float32) float32

// axpyF32AVX2 is Axpy: dst[i] += alpha*x[i], with the product rounded before
// the addition (no fused multiply-add), so it equals axpyGeneric bit for bit.
//
//go:noescape
func axpyF32AVX2(dst []float32, alpha float32, x []float32)

// scaleF32AVX2 is Scale: x[i] *= s, bit for bit as scaleGeneric.
//
//go:noescape
func scaleF32AVX2(x []float32, s float32)
