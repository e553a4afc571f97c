//go:build !purego

package kernels

// The arm64 kernels over packed groups (pack_arm64.s, bodies in
// packq_arm64.h), each a packGemvFunc bit-identical to the generic dot
// product of its type: *SDOT for the dotprod path, *NEON for plain Advanced
// SIMD.

// gemvQ4_0x15PSDOT and gemvQ4_0x15PNEON multiply a packed Q4_0 group by
// one Q8_0 activation row (dotQ4_0 per row).
//
//go:noescape
func gemvQ4_0x15PSDOT(nb int, w, a *byte, out *float32)

//go:noescape
func gemvQ4_0x15PNEON(nb int, w, a *byte, out *float32)

// gemvQ8_0x15PSDOT and gemvQ8_0x15PNEON multiply a packed Q8_0 group by
// one Q8_0 activation row (dotQ8_0 per row).
//
//go:noescape
func gemvQ8_0x15PSDOT(nb int, w, a *byte, out *float32)

//go:noescape
func gemvQ8_0x15PNEON(nb int, w, a *byte, out *float32)

// tileQ4_0x15PI8MM multiplies a packed Q4_0 group by n Q8_0 activation
// rows with SMMLA (a packTileFunc, dotQ4_0 per product; i8mm CPUs).
//
//go:noescape
func tileQ4_0x15PI8MM(nb int, w, a *byte, ab, n int, out *float32, ldo int)
