//go:build !purego

package kernels

// The arm64 MatMul tiles (tile_arm64.s, bodies in tileq_arm64.h): eight
// dot products per call (see tileFunc), each bit-identical to the matching
// dot product of dot_arm64.s and so to the generic one. Interleaving them
// reads each activation block once for four weight rows (and, when
// prompting, each weight block once for two activation rows) and gives
// the processor sixteen independent accumulator chains instead of two.

// tileQ8_0SDOT and tileQ8_0NEON are tiles of dotQ8_0.
//
//go:noescape
func tileQ8_0SDOT(nb int, w0, w1 *byte, rb int, a0, a1 *byte, out0, out1 *float32)

//go:noescape
func tileQ8_0NEON(nb int, w0, w1 *byte, rb int, a0, a1 *byte, out0, out1 *float32)

// tileQ4_0SDOT and tileQ4_0NEON are tiles of dotQ4_0.
//
//go:noescape
func tileQ4_0SDOT(nb int, w0, w1 *byte, rb int, a0, a1 *byte, out0, out1 *float32)

//go:noescape
func tileQ4_0NEON(nb int, w0, w1 *byte, rb int, a0, a1 *byte, out0, out1 *float32)

// tileQ5_0SDOT and tileQ5_0NEON are tiles of dotQ5_0.
//
//go:noescape
func tileQ5_0SDOT(nb int, w0, w1 *byte, rb int, a0, a1 *byte, out0, out1 *float32)

//go:noescape
func tileQ5_0NEON(nb int, w0, w1 *byte, rb int, a0, a1 *byte, out0, out1 *float32)

// tileIQ4_NLSDOT and tileIQ4_NLNEON are tiles of dotIQ4_NL.
//
//go:noescape
func tileIQ4_NLSDOT(nb int, w0, w1 *byte, rb int, a0, a1 *byte, out0, out1 *float32)

//go:noescape
func tileIQ4_NLNEON(nb int, w0, w1 *byte, rb int, a0, a1 *byte, out0, out1 *float32)
