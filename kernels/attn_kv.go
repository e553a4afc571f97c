package kernels

import "github.com/edgeai-go/edgeai/quant"

// Attention over KV caches stored in F16, Q8_0 or Q4_0 (llama.cpp's
// --cache-type-k/-v f16, q8_0, q4_0). The F16 cache follows ggml's
// arithmetic without flash attention: the query (and the attention
// probabilities) are rounded to F16 as ggml converts them to the cache's
// type, then multiplied in float32 in AttnDot's and AttnValues's order. The
// quantized K cache takes the query quantized to Q8_0 and ggml's Q8_0/Q4_0
// dot products (VecDot); the quantized V cache is read block by block.

// RoundF16 rounds every value of x to the nearest float16 (in place), as
// ggml converts float32 activations to F16.
func RoundF16(x []float32) {
	for i, v := range x {
		x[i] = f16(f32ToF16(v))
	}
}

// F16s converts x to float16 into dst (len(x) values).
func F16s(dst []uint16, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = f32ToF16(v)
	}
}

// AttnDotF16 is AttnDot with k stored as float16 (q already rounded to
// float16 values): the same sixteen-lane fused multiply-adds on the exact
// float32 values of both.
func AttnDotF16(q []float32, k []uint16) float32 {
	sameLen("AttnDotF16", len(q), len(k))
	return cur.attnDotF16(q, k)
}

func attnDotF16Generic(q []float32, k []uint16) float32 {
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
					acc[j][l] = fma32(qj[l], f16(kj[l]), acc[j][l])
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
		s = fma32(q[i], f16(k[i]), s)
	}
	return s
}

// AttnValuesF16 is AttnValues with v stored as float16 rows of stride
// values (p already rounded to float16 values).
func AttnValuesF16(out, p []float32, v []uint16, stride int) {
	if len(p) > 0 && (stride < len(out) || len(v) < (len(p)-1)*stride+len(out)) {
		panic("kernels: AttnValuesF16: v holds " + itoa(len(v)) + " values, too few for " + itoa(len(p)) + " rows of stride " + itoa(stride))
	}
	cur.attnValuesF16(out, p, v, stride)
}

func attnValuesF16Generic(out, p []float32, v []uint16, stride int) {
	for d := range out {
		var acc [16]float32
		for t, pt := range p {
			acc[t&15] = fma32(pt, f16(v[t*stride+d]), acc[t&15])
		}
		out[d] = reduce16(&acc)
	}
}

// AttnValuesQ sets out[d] = Σ_t p[t]·v_t[d], where v_t is row t of a cache
// stored in type t (Q8_0 or Q4_0), rowBytes bytes per row, and out covers
// the values [first, first+len(out)) of each row (a whole number of
// blocks). The sums run in float32 over t, block by block.
func AttnValuesQ(t quant.Type, out, p []float32, v []byte, rowBytes, first int) {
	clear(out)
	var blk [32]float32
	bs := 34
	if t == quant.Q4_0 {
		bs = 18
	}
	b0 := first / 32
	for tt, pt := range p {
		row := v[tt*rowBytes:]
		for b := 0; b < len(out)/32; b++ {
			dequantBlock(t, row[(b0+b)*bs:(b0+b+1)*bs], &blk)
			o := out[b*32 : b*32+32]
			for i := range 32 {
				o[i] = fma32(pt, blk[i], o[i])
			}
		}
	}
}

// dequantBlock decodes one Q8_0 or Q4_0 block.
func dequantBlock(t quant.Type, b []byte, dst *[32]float32) {
	d := f16(u16(b))
	if t == quant.Q8_0 {
		for i := range 32 {
			dst[i] = float32(int8(b[2+i])) * d
		}
		return
	}
	for i := range 16 {
		dst[i] = float32(int(b[2+i]&15)-8) * d
		dst[i+16] = float32(int(b[2+i]>>4)-8) * d
	}
}
