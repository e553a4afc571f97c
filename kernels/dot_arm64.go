//go:build !purego

package kernels

// The arm64 dot products (dot_arm64.s, bodies in dotq_arm64.h). Each
// quantized kernel comes twice: *SDOT for CPUs with the dot product
// instructions (ARMv8.2 dotprod: Cortex-A76 / Raspberry Pi 5 and later) and
// *NEON for plain Advanced SIMD (Cortex-A72 / Raspberry Pi 4), which forms
// the same exact int32 sums of four products with widening multiplies and
// pairwise additions. The float32 arithmetic is the generic kernel's,
// operation for operation: the eight lanes of ggml's AVX2 accumulators are
// two four-lane vectors, each block scaled in with FMLA (a fused
// multiply-add, as fma32) and the lanes summed in hsum_float_8's order; so
// every one of them is bit-identical to its generic counterpart.

// dotQ8_0SDOT and dotQ8_0NEON are dotQ8_0.
//
//go:noescape
func dotQ8_0SDOT(n int, w, a []byte) float32

//go:noescape
func dotQ8_0NEON(n int, w, a []byte) float32

// dotQ4_0SDOT and dotQ4_0NEON are dotQ4_0.
//
//go:noescape
func dotQ4_0SDOT(n int, w, a []byte) float32

//go:noescape
func dotQ4_0NEON(n int, w, a []byte) float32

// dotQ5_0SDOT and dotQ5_0NEON are dotQ5_0.
//
//go:noescape
func dotQ5_0SDOT(n int, w, a []byte) float32

//go:noescape
func dotQ5_0NEON(n int, w, a []byte) float32

// dotQ4_KSDOT and dotQ4_KNEON are dotQ4_K.
//
//go:noescape
func dotQ4_KSDOT(n int, w, a []byte) float32

//go:noescape
func dotQ4_KNEON(n int, w, a []byte) float32

// dotQ5_KSDOT and dotQ5_KNEON are dotQ5_K.
//
//go:noescape
func dotQ5_KSDOT(n int, w, a []byte) float32

//go:noescape
func dotQ5_KNEON(n int, w, a []byte) float32

// dotQ6_KSDOT and dotQ6_KNEON are dotQ6_K.
//
//go:noescape
func dotQ6_KSDOT(n int, w, a []byte) float32

//go:noescape
func dotQ6_KNEON(n int, w, a []byte) float32

// dotIQ4_NLSDOT and dotIQ4_NLNEON are dotIQ4_NL.
//
//go:noescape
func dotIQ4_NLSDOT(n int, w, a []byte) float32

//go:noescape
func dotIQ4_NLNEON(n int, w, a []byte) float32

// dotQ4_1SDOT and dotQ4_1NEON are dotQ4_1.
//
//go:noescape
func dotQ4_1SDOT(n int, w, a []byte) float32

//go:noescape
func dotQ4_1NEON(n int, w, a []byte) float32

// dotQ5_1SDOT and dotQ5_1NEON are dotQ5_1.
//
//go:noescape
func dotQ5_1SDOT(n int, w, a []byte) float32

//go:noescape
func dotQ5_1NEON(n int, w, a []byte) float32

// dotQ3_KSDOT and dotQ3_KNEON are dotQ3_K.
//
//go:noescape
func dotQ3_KSDOT(n int, w, a []byte) float32

//go:noescape
func dotQ3_KNEON(n int, w, a []byte) float32

// dotQ2_KSDOT and dotQ2_KNEON are dotQ2_K.
//
//go:noescape
func dotQ2_KSDOT(n int, w, a []byte) float32

//go:noescape
func dotQ2_KNEON(n int, w, a []byte) float32

// dotIQ4_XSSDOT and dotIQ4_XSNEON are dotIQ4_XS.
//
//go:noescape
func dotIQ4_XSSDOT(n int, w, a []byte) float32

//go:noescape
func dotIQ4_XSNEON(n int, w, a []byte) float32

// dotF16Lanes adds the products of the first n halves (n a multiple of 8)
// of w and a, even indexes to s[0] and odd ones to s[1], in float64 as
// dotF16 does.
//
//go:noescape
func dotF16Lanes(n int, w, a []byte, s *[2]float64)

// dotF16NEON is dotF16, bit for bit: the multiple of 8 in assembly, the
// rest as dotF16 (both orders of summation are dotF16's).
func dotF16NEON(n int, w, a []byte) float32 {
	var s [2]float64
	m := n &^ 7
	dotF16Lanes(m, w[:2*n], a[:2*n], &s)
	s0, s1 := s[0], s[1]
	i := m
	for ; i+1 < n; i += 2 {
		s0 += float64(f16(u16(w[2*i:])) * f16(u16(a[2*i:])))
		s1 += float64(f16(u16(w[2*i+2:])) * f16(u16(a[2*i+2:])))
	}
	if i < n {
		s0 += float64(f16(u16(w[2*i:])) * f16(u16(a[2*i:])))
	}
	return float32(s0 + s1)
}

// dotBF16Lanes is dotF16Lanes for bfloat16 halves (as dotBF16).
//
//go:noescape
func dotBF16Lanes(n int, w, a []byte, s *[2]float64)

// dotBF16NEON is dotBF16, bit for bit, as dotF16NEON is dotF16.
func dotBF16NEON(n int, w, a []byte) float32 {
	var s [2]float64
	m := n &^ 7
	dotBF16Lanes(m, w[:2*n], a[:2*n], &s)
	s0, s1 := s[0], s[1]
	i := m
	for ; i+1 < n; i += 2 {
		s0 += float64(bf16(u16(w[2*i:])) * bf16(u16(a[2*i:])))
		s1 += float64(bf16(u16(w[2*i+2:])) * bf16(u16(a[2*i+2:])))
	}
	if i < n {
		s0 += float64(bf16(u16(w[2*i:])) * bf16(u16(a[2*i:])))
	}
	return float32(s0 + s1)
}
