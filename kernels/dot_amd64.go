//go:build !purego

package kernels

// The AVX2 dot products (dot_amd64.s). Each computes exactly what its
// generic counterpart does (dot.go) except for the order of the float32
// additions: a block's integer sum is split over eight int32 lanes, each
// lane is multiplied by the block scale and accumulated (fused multiply-add)
// in its own float32 lane, and the eight lanes are added at the end, as
// ggml's AVX2 code does.

// dotQ8_0AVX2 is dotQ8_0: Σ_blocks f16(d_w)·f16(d_a) · Σ q_w·q_a. The int8
// products are widened to int16 first (VPMOVSXBW, VPMADDWD), so -128 is
// exact too.
//
//go:noescape
func dotQ8_0AVX2(n int, w, a []byte) float32

// dotQ4_0AVX2 is dotQ4_0: Σ_blocks f16(d_w)·f16(d_a) · Σ (q_w-8)·q_a, with
// Σ (q-8)·a = Σ q·a - Σ 8·a computed by two VPMADDUBSW (unsigned nibbles
// and unsigned 8s times signed activations, exact in int16).
//
//go:noescape
func dotQ4_0AVX2(n int, w, a []byte) float32
