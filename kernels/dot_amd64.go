//go:build !purego

package kernels

// The AVX2 dot products (dot_amd64.s). Those marked exact in archImpls give
// the same bits as their generic counterparts (dot.go), whose float32
// arithmetic is ggml's on x86; the others differ from them only in the order
// of the float32 additions.

// dotQ8_0AVX2 is dotQ8_0, bit for bit: eight lanes of quads of int8
// products, fused multiply-adds by the block scale, ggml's lane sum. The
// int8 values are widened to int16 first (VPMOVSXBW, VPMADDWD), so -128 is
// exact too.
//
//go:noescape
func dotQ8_0AVX2(n int, w, a []byte) float32

// dotQ4_0AVX2 is dotQ4_0, bit for bit: per block the exact Σ (q_w-8)·q_a
// (two VPMADDUBSW: unsigned nibbles and unsigned 8s times signed
// activations, exact in int16), then one scalar fused multiply-add.
//
//go:noescape
func dotQ4_0AVX2(n int, w, a []byte) float32

// dotQ4_KAVX2 is dotQ4_K, bit for bit, entirely in assembly: the same
// integer lanes and minimum products, the same fused multiply-adds.
//
//go:noescape
func dotQ4_KAVX2(n int, w, a []byte) float32

// dotQ6_KAVX2 is dotQ6_K, bit for bit, entirely in assembly.
//
//go:noescape
func dotQ6_KAVX2(n int, w, a []byte) float32

// dotF16AVX2 is dotF16 with the halves converted by VCVTPH2PS and summed in
// two 8-lane float32 accumulators (as ggml's F16 dot on AVX2).
//
//go:noescape
func dotF16AVX2(n int, w, a []byte) float32

// dotQ5_0AVX2 is dotQ5_0, bit for bit.
//
//go:noescape
func dotQ5_0AVX2(n int, w, a []byte) float32

// dotIQ4_NLAVX2 is dotIQ4_NL, bit for bit.
//
//go:noescape
func dotIQ4_NLAVX2(n int, w, a []byte) float32

// dotQ5_KAVX2 is dotQ5_K, bit for bit, entirely in assembly.
//
//go:noescape
func dotQ5_KAVX2(n int, w, a []byte) float32

// dotQ6_KAVX512 is dotQ6_K, bit for bit, with AVX-512 BW: two 32-value
// sub-blocks per instruction (dotk_avx512_amd64.s).
//
//go:noescape
func dotQ6_KAVX512(n int, w, a []byte) float32

// dotQ4_KAVX512 is dotQ4_K, bit for bit, with AVX-512 BW: two 32-value
// sub-blocks per instruction (dotk_avx512_amd64.s).
//
//go:noescape
func dotQ4_KAVX512(n int, w, a []byte) float32
