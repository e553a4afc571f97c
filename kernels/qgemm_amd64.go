//go:build !purego

package kernels

// qgemmArch returns the amd64 int8 tile products, least capable first.
func qgemmArch() []*QGemm {
	return []*QGemm{
		{name: "avx2", mr: 4, nr: 8, kind: qgemmKindAVX2, available: hasAVX2},
		{name: "avx512", mr: 8, nr: 32, kind: qgemmKindVNNI512, available: hasAVX512},
	}
}

func qtileArch(kind, k int, a, b []byte, c []int32) {
	switch kind {
	case qgemmKindVNNI512:
		qtileVNNI512(k/QK, &a[0], &b[0], &c[0])
	case qgemmKindAVX2:
		qtileAVX2(k/QK, &a[0], &b[0], &c[0])
	default:
		panic("kernels: no int8 tile kernel of kind " + itoa(kind))
	}
}

// interleave4 writes dst[4j+t] = rt[j] ^ flip for the four rows r0..r3 of
// equal length (the packing of B panels), sixteen columns an iteration in
// SSE registers where AVX2 is there, the rest in Go.
func interleave4(dst, r0, r1, r2, r3 []byte, flip byte) {
	n := len(r0)
	if n == 0 {
		return
	}
	_, _, _, _ = dst[4*n-1], r1[n-1], r2[n-1], r3[n-1]
	bulk := 0
	if hasAVX2 && cur.name != "generic" {
		bulk = n &^ 15
		if bulk > 0 {
			interleave4AVX2(bulk, &dst[0], &r0[0], &r1[0], &r2[0], &r3[0], flip)
		}
	}
	if bulk < n {
		interleave4Generic(dst[4*bulk:], r0[bulk:], r1[bulk:], r2[bulk:], r3[bulk:], flip)
	}
}

// qtileVNNI512 is the 8×32 tile product (see qtileGeneric): for each of the
// k4 groups, two vectors of B (32 columns × 4 bytes) and eight broadcast
// words of A, sixteen VPDPBUSD into Z16-Z31.
//
//go:noescape
func qtileVNNI512(k4 int, a, b *byte, c *int32)

// qtileAVX2 is the 4×8 tile product with AVX2 only (VPMADDWD on bytes
// widened to int16: exact).
//
//go:noescape
func qtileAVX2(k4 int, a, b *byte, c *int32)

// interleave4AVX2 is interleave4Generic for n a multiple of 16.
//
//go:noescape
func interleave4AVX2(n int, dst, r0, r1, r2, r3 *byte, flip byte)

// hasQuantAsm selects the AVX2 DynamicQuantizeLinear steps.
var hasQuantAsm = hasAVX2

// minMaxF32AVX2 is minMaxF32Generic for len(x) a multiple of 32.
//
//go:noescape
func minMaxF32AVX2(x []float32) (lo, hi float32)

// quantizeU8AVX2 is QuantizeU8 for len(x) a multiple of 16.
//
//go:noescape
func quantizeU8AVX2(dst []uint8, x []float32, scale, zp float32)
