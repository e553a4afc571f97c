//go:build !purego

package kernels

// AVX-512 versions of ggml's float routines (ggml_amd64.s), bit-identical
// to the generic ones: the same fused multiply-adds, in the same order.

// attnDotAVX512 is attnDotGeneric; len(k) >= len(q).
//
//go:noescape
func attnDotAVX512(q, k []float32) float32

// attnValuesAVX512 computes 16·chunks values of attnValuesGeneric: out[d]
// for d < 16·chunks, rows of v at v + t·stride, t < len(p).
//
//go:noescape
func attnValuesAVX512(out *float32, p []float32, v *float32, stride, chunks int)

// swigluAVX512 computes dst[i] for i < n16 (a multiple of 16) as
// swigluGeneric does.
//
//go:noescape
func swigluAVX512(dst, gate, up *float32, n16 int)

// attnValuesAVX512Go is attnValuesGeneric: the first multiple of 16 output
// values in assembly, the rest in Go, all with the same arithmetic.
func attnValuesAVX512Go(out, p, v []float32, stride int) {
	if len(p) == 0 {
		clear(out)
		return
	}
	c := len(out) / 16
	if c > 0 {
		attnValuesAVX512(&out[0], p, &v[0], stride, c)
	}
	if rest := out[16*c:]; len(rest) > 0 {
		attnValuesGeneric(rest, p, v[16*c:], stride)
	}
}

// swigluAVX512Go is swigluGeneric: whole groups of 16 in assembly (ggml's
// vector expf), the last len%16 values in Go with the C library's expf.
func swigluAVX512Go(dst, gate, up []float32) {
	n16 := len(dst) &^ 15
	if n16 > 0 {
		gate, up = gate[:len(dst)], up[:len(dst)]
		swigluAVX512(&dst[0], &gate[0], &up[0], n16)
	}
	for i := n16; i < len(dst); i++ {
		g := gate[i]
		dst[i] = g / (1 + expf(-g)) * up[i]
	}
}

// softmaxExpAVX512 is softmaxExpGeneric on x[:n16] (n16 a multiple of 16).
//
//go:noescape
func softmaxExpAVX512(x *float32, n16 int, mx float32) float64

// softmaxExpAVX512Go is softmaxExpGeneric: len(x) is a multiple of 16.
func softmaxExpAVX512Go(x []float32, mx float32) float64 {
	if len(x) == 0 {
		return 0
	}
	return softmaxExpAVX512(&x[0], len(x), mx)
}

// attnDotAVX2 is attnDotGeneric; len(k) >= len(q).
//
//go:noescape
func attnDotAVX2(q, k []float32) float32

// attnValuesAVX2 computes 8·chunks values of attnValuesGeneric.
//
//go:noescape
func attnValuesAVX2(out *float32, p []float32, v *float32, stride, chunks int)

// attnValuesAVX2Go is attnValuesGeneric: the first multiple of 8 output
// values in assembly, the rest in Go, all with the same arithmetic.
func attnValuesAVX2Go(out, p, v []float32, stride int) {
	if len(p) == 0 {
		clear(out)
		return
	}
	c := len(out) / 8
	if c > 0 {
		attnValuesAVX2(&out[0], p, &v[0], stride, c)
	}
	if rest := out[8*c:]; len(rest) > 0 {
		attnValuesGeneric(rest, p, v[8*c:], stride)
	}
}

// swigluAVX2 computes dst[i] for i < n8 (a multiple of 8) as swigluGeneric
// does for its first multiple of 16 (expf_avx2_amd64.s).
//
//go:noescape
func swigluAVX2(dst, gate, up *float32, n8 int)

// swigluAVX2Go is swigluGeneric: the first multiple of 16 in assembly
// (ggml's vector expf), the rest in Go with the C library's expf.
func swigluAVX2Go(dst, gate, up []float32) {
	n16 := len(dst) &^ 15
	if n16 > 0 {
		gate, up = gate[:len(dst)], up[:len(dst)]
		swigluAVX2(&dst[0], &gate[0], &up[0], n16)
	}
	for i := n16; i < len(dst); i++ {
		g := gate[i]
		dst[i] = g / (1 + expf(-g)) * up[i]
	}
}

// softmaxExpAVX2 is softmaxExpGeneric on x[:n16] (n16 a multiple of 16).
//
//go:noescape
func softmaxExpAVX2(x *float32, n16 int, mx float32) float64

// softmaxExpAVX2Go is softmaxExpGeneric: len(x) is a multiple of 16.
func softmaxExpAVX2Go(x []float32, mx float32) float64 {
	if len(x) == 0 {
		return 0
	}
	return softmaxExpAVX2(&x[0], len(x), mx)
}

// attnDotF16AVX2 is attnDotF16Generic (attnDotAVX2 with k converted from
// float16 by VCVTPH2PS, which is exact); len(k) >= len(q).
//
//go:noescape
func attnDotF16AVX2(q []float32, k []uint16) float32
