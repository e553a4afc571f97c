package kernels

import "math"

// This file holds float32 routines whose rounding follows ggml's CPU backend
// as built for x86 with AVX-512 (the build llama.cpp's reference outputs in
// ../shared come from), operation for operation, so that a model's
// activations round the same way as llama.cpp's and its quantized
// activations (which amplify any one-ulp difference) stay identical.

// Expf is ggml's vector expf (ggml_v_expf, after ARM's optimized routines):
// e^x with a maximum error of about 1.5 ulp, computed with fused
// multiply-adds and a scaling by 2^n. It saturates to 0 and +Inf for |x|
// beyond about 133.
func Expf(x float32) float32 {
	const r = 0x1.8p23
	z := fma32(x, 0x1.715476p+0, r)
	n := z - r
	b := fma32(-n, 0x1.7f7d1cp-20, fma32(-n, 0x1.62e4p-1, x))
	if n > 192 || n < -192 || n != n {
		if n <= 0 {
			return 0
		}
		return float32(math.Inf(1))
	}
	u := float32(b * b)
	j := fma32(fma32(fma32(0x1.0e4020p-7, b, 0x1.573e2ep-5), u, fma32(0x1.555e66p-3, b, 0x1.fffdb6p-2)), u,
		fma32(0x1.ffffecp-1, b, 1))
	return float32(math.Ldexp(float64(j), int(n))) // _mm512_scalef_ps: exact scaling, one rounding
}

// reduce16 sums sixteen lanes in the order of _mm512_reduce_add_ps: halves,
// quarters, then pairs.
func reduce16(v *[16]float32) float32 {
	var t [8]float32
	for i := range t {
		t[i] = v[i] + v[i+8]
	}
	a0, a1, a2, a3 := t[0]+t[4], t[1]+t[5], t[2]+t[6], t[3]+t[7]
	return (a0 + a2) + (a1 + a3)
}

// AttnDot returns Σ q[i]·k[i] as ggml_vec_dot_f32 computes it (the
// attention scores KQ): sixteen-lane fused multiply-add accumulators, four of
// them, over the largest multiple of 64 values, reduced pairwise and across
// lanes, then the remaining values added one fused multiply-add at a time.
// The lengths must match.
func AttnDot(q, k []float32) float32 {
	sameLen("AttnDot", len(q), len(k))
	return cur.attnDot(q, k)
}

func attnDotGeneric(q, k []float32) float32 {
	k = k[:len(q)]
	n := len(q)
	np := n &^ 63
	var s float32
	if np > 0 {
		var acc [4][16]float32
		for i := 0; i < np; i += 64 {
			for j := range 4 {
				qj, kj := q[i+16*j:i+16*j+16], k[i+16*j:i+16*j+16]
				for l := range 16 {
					acc[j][l] = fma32(qj[l], kj[l], acc[j][l])
				}
			}
		}
		for l := range 16 {
			acc[0][l] += acc[2][l]
			acc[1][l] += acc[3][l]
		}
		for l := range 16 {
			acc[0][l] += acc[1][l]
		}
		s = reduce16(&acc[0])
	}
	for i := np; i < n; i++ {
		s = fma32(q[i], k[i], s)
	}
	return s
}

// AttnValues sets out[d] = Σ_t p[t]·v[t*stride+d] for every d < len(out) and
// t < len(p), as llamafile's tinyBLAS computes the attention output KQV in
// float32: for each d, sixteen lanes (lane t mod 16) accumulate with fused
// multiply-adds, then the lanes are summed as _mm512_reduce_add_ps does.
// v must hold len(p) rows of stride values.
func AttnValues(out, p, v []float32, stride int) {
	if len(p) > 0 && (stride < len(out) || len(v) < (len(p)-1)*stride+len(out)) {
		panic("kernels: AttnValues: v holds " + itoa(len(v)) + " values, too few for " + itoa(len(p)) + " rows of stride " + itoa(stride))
	}
	cur.attnValues(out, p, v, stride)
}

func attnValuesGeneric(out, p, v []float32, stride int) {
	for d := range out {
		var acc [16]float32
		for t, pt := range p {
			acc[t&15] = fma32(pt, v[t*stride+d], acc[t&15])
		}
		out[d] = reduce16(&acc)
	}
}
