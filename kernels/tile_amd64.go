//go:build !purego

package kernels

// The AVX-512 VNNI tile kernels (tile_amd64.s), each with the tileFunc
// contract: four weight rows of nb blocks at wh + r*rb (r < 4) times the
// activation row ah, for the halves h = 0, 1, results to outh[r]. All are
// bit-identical to the generic dot product of their type.

// tileQ8_0VNNI multiplies Q8_0 weights by Q8_0 activations.
//
//go:noescape
func tileQ8_0VNNI(nb int, w0, w1 *byte, rb int, a0, a1 *byte, out0, out1 *float32)

// tileQ4_0VNNI multiplies Q4_0 weights by Q8_0 activations.
//
//go:noescape
func tileQ4_0VNNI(nb int, w0, w1 *byte, rb int, a0, a1 *byte, out0, out1 *float32)

// tileQ5_0VNNI multiplies Q5_0 weights by Q8_0 activations.
//
//go:noescape
func tileQ5_0VNNI(nb int, w0, w1 *byte, rb int, a0, a1 *byte, out0, out1 *float32)

// tileIQ4_NLVNNI multiplies IQ4_NL weights by Q8_0 activations.
//
//go:noescape
func tileIQ4_NLVNNI(nb int, w0, w1 *byte, rb int, a0, a1 *byte, out0, out1 *float32)

// tileQ4_0x15VNNI adds the products of rows <= 15 Q4_0 weight rows (w + r·rb) and
// n Q8_0 activation rows (a + j·ab) of nb blocks to out[j·ldo + r], block by
// block with the float32 arithmetic of dotQ4_0 (out must start at zero).
//
//go:noescape
func tileQ4_0x15VNNI(nb int, w *byte, rb int, a *byte, ab, n int, out *float32, ldo, rows int)

// tileQ8_0x4VNNI multiplies four Q8_0 weight rows (w + r·rb) by four Q8_0
// activation rows (a + j·ab) of nb blocks, results to out[j·ldo + r],
// bit-identical to dotQ8_0.
//
//go:noescape
func tileQ8_0x4VNNI(nb int, w *byte, rb int, a *byte, ab int, out *float32, ldo int)

// tileQ5_0x4VNNI is tileQ8_0x4VNNI for Q5_0 weights, bit-identical to
// dotQ5_0.
//
//go:noescape
func tileQ5_0x4VNNI(nb int, w *byte, rb int, a *byte, ab int, out *float32, ldo int)

// tileIQ4_NLx4VNNI is tileQ8_0x4VNNI for IQ4_NL weights, bit-identical to
// dotIQ4_NL.
//
//go:noescape
func tileIQ4_NLx4VNNI(nb int, w *byte, rb int, a *byte, ab int, out *float32, ldo int)
