//go:build !purego

package kernels

// NEON versions of ggml's float routines (ggml_arm64.s), bit-identical to
// the generic ones: the same fused multiply-adds, in the same order, and
// ggml's vector expf (Expf) four lanes at a time.

// attnDotNEON is attnDotGeneric; len(k) >= len(q).
//
//go:noescape
func attnDotNEON(q, k []float32) float32

// attnValuesNEON computes 4·chunks values of attnValuesGeneric: out[d]
// for d < 4·chunks, rows of v at v + t·stride, t < len(p).
//
//go:noescape
func attnValuesNEON(out *float32, p []float32, v *float32, stride, chunks int)

// swigluNEON computes dst[i] for i < 4·n4 as swigluGeneric does for the
// values it passes to Expf.
//
//go:noescape
func swigluNEON(dst, gate, up *float32, n4 int)

// softmaxExpNEON is softmaxExpGeneric on x[:n16] (n16 a multiple of 16).
//
//go:noescape
func softmaxExpNEON(x *float32, n16 int, mx float32) float64

// attnValuesNEONGo is attnValuesGeneric: the first multiple of 4 output
// values in assembly, the rest in Go, all with the same arithmetic.
func attnValuesNEONGo(out, p, v []float32, stride int) {
	if len(p) == 0 {
		clear(out)
		return
	}
	c := len(out) / 4
	if c > 0 {
		attnValuesNEON(&out[0], p, &v[0], stride, c)
	}
	if rest := out[4*c:]; len(rest) > 0 {
		attnValuesGeneric(rest, p, v[4*c:], stride)
	}
}

// swigluNEONGo is swigluGeneric: whole groups of 16 in assembly (ggml's
// vector expf), the last len%16 values in Go with the C library's expf.
func swigluNEONGo(dst, gate, up []float32) {
	n16 := len(dst) &^ 15
	if n16 > 0 {
		gate, up = gate[:len(dst)], up[:len(dst)]
		swigluNEON(&dst[0], &gate[0], &up[0], n16/4)
	}
	for i := n16; i < len(dst); i++ {
		g := gate[i]
		dst[i] = g / (1 + expf(-g)) * up[i]
	}
}

// softmaxExpNEONGo is softmaxExpGeneric: len(x) is a multiple of 16.
func softmaxExpNEONGo(x []float32, mx float32) float64 {
	if len(x) == 0 {
		return 0
	}
	return softmaxExpNEON(&x[0], len(x), mx)
}
