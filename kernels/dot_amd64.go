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

// dotQ4_KAVX2 is dotQ4_K with the integer lanes of each block in assembly;
// the scales, the minimums and the float32 arithmetic are the generic code's,
// so the result is bit-identical to dotQ4_K.
func dotQ4_KAVX2(n int, w, a []byte) float32 {
	var acc lanes8
	var accm [4]float32
	var sc [8]int16
	var lanes [8]int32
	for i := range n / 256 {
		wb := (*[144]byte)(w[i*144:])
		ab := (*[292]byte)(a[i*292:])
		scales := (*[12]byte)(wb[4:])
		da := q8K(ab)
		d := da * f16(u16(wb[0:]))
		dmin := -da * f16(u16(wb[2:]))
		mp := minProds(scales, ab)
		for t := range 4 {
			accm[t] = fma32(dmin, float32(mp[t]), accm[t])
		}
		for j := range 8 {
			s, _ := scaleMinK4(scales, j)
			sc[j] = int16(s)
		}
		q4KLanesAVX2(&wb[16], &ab[4], &sc, &lanes)
		acc.add(d, &lanes)
	}
	return acc.sum() + ((accm[0] + accm[2]) + (accm[1] + accm[3]))
}

// q4KLanesAVX2 stores in lanes the eight int32 lanes of one Q4_K block:
// lane t = Σ_j sc[j]·Σ_{v=4t..4t+3} q·a over the 32-value sub-blocks j. qs
// are the block's 128 bytes of nibbles, q8 the 256 int8 of the Q8_K block.
//
//go:noescape
func q4KLanesAVX2(qs, q8 *byte, sc *[8]int16, lanes *[8]int32)

// dotQ6_KAVX2 is dotQ6_K with the integer lanes of each block in assembly;
// bit-identical to dotQ6_K.
func dotQ6_KAVX2(n int, w, a []byte) float32 {
	var acc lanes8
	var lanes [8]int32
	for i := range n / 256 {
		wb := (*[210]byte)(w[i*210:])
		ab := (*[292]byte)(a[i*292:])
		q6KLanesAVX2(&wb[0], &ab[4], &lanes)
		acc.add(q8K(ab)*f16(u16(wb[208:])), &lanes)
	}
	return acc.sum()
}

// q6KLanesAVX2 stores in lanes the eight int32 lanes of the Q6_K block wb:
// lane t = Σ over the 32-value sub-blocks of scale·Σ_{v=4t..4t+3} (q-32)·a,
// the scale being that of the value's 16-value group; q8 are the 256 int8
// of the Q8_K block.
//
//go:noescape
func q6KLanesAVX2(wb, q8 *byte, lanes *[8]int32)

// dotF16AVX2 is dotF16 with the halves converted by VCVTPH2PS and summed in
// two 8-lane float32 accumulators (as ggml's F16 dot on AVX2).
//
//go:noescape
func dotF16AVX2(n int, w, a []byte) float32
