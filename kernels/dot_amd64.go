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

// dotQ4_KAVX2 is dotQ4_K with the integer sum of each block in assembly; the
// scales, the minimums' sum and the float32 arithmetic are the generic
// code's, so the result is bit-identical to dotQ4_K.
func dotQ4_KAVX2(n int, w, a []byte) float32 {
	var sum float32
	var sc [8]int16
	for i := range n / 256 {
		wb := (*[144]byte)(w[i*144:])
		ab := (*[292]byte)(a[i*292:])
		scales := (*[12]byte)(wb[4:])
		var msum int32
		for c := range 4 {
			sc0, m0 := scaleMinK4(scales, 2*c)
			sc1, m1 := scaleMinK4(scales, 2*c+1)
			sc[2*c], sc[2*c+1] = int16(sc0), int16(sc1)
			msum += m0*(bsum(ab, 4*c)+bsum(ab, 4*c+1)) + m1*(bsum(ab, 4*c+2)+bsum(ab, 4*c+3))
		}
		isum := q4KBlockAVX2(&wb[16], &ab[4], &sc)
		da := q8K(ab)
		d := f16(u16(wb[0:])) * da
		dmin := f16(u16(wb[2:])) * da
		sum += float32(d*float32(isum)) - float32(dmin*float32(msum))
	}
	return sum
}

// q4KBlockAVX2 returns Σ_j sc[j]·Σ(q·a) over the 8 sub-blocks of 32 values
// of one Q4_K block: qs are its 128 bytes of nibbles, q8 the 256 int8 of the
// Q8_K block.
//
//go:noescape
func q4KBlockAVX2(qs, q8 *byte, sc *[8]int16) int32

// dotQ6_KAVX2 is dotQ6_K with the integer sum of each block in assembly;
// bit-identical to dotQ6_K.
func dotQ6_KAVX2(n int, w, a []byte) float32 {
	var sum float32
	for i := range n / 256 {
		wb := (*[210]byte)(w[i*210:])
		ab := (*[292]byte)(a[i*292:])
		isum := q6KBlockAVX2(&wb[0], &ab[4])
		d := f16(u16(wb[208:])) * q8K(ab)
		sum += float32(d * float32(isum))
	}
	return sum
}

// q6KBlockAVX2 returns Σ_g scale_g·Σ (q-32)·a over the 16 groups of 16
// values of the Q6_K block wb, q8 being the 256 int8 of the Q8_K block.
//
//go:noescape
func q6KBlockAVX2(wb, q8 *byte) int32

// dotF16AVX2 is dotF16 with the halves converted by VCVTPH2PS and summed in
// two 8-lane float32 accumulators (as ggml's F16 dot on AVX2).
//
//go:noescape
func dotF16AVX2(n int, w, a []byte) float32
