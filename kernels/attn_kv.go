package kernels

import "github.com/edgeai-go/edgeai/quant"

// Attention over KV caches stored in F16, Q8_0 or Q4_0 (llama.cpp's
// --cache-type-k/-v f16, q8_0, q4_0). The F16 cache follows ggml's
// arithmetic without flash attention: the query (and the attention
// probabilities) are rounded to F16 as ggml converts them to the cache's
// type, then multiplied in float32 in AttnDot's and AttnValues's order. The
// quantized K cache takes the query quantized to Q8_0 and ggml's Q8_0/Q4_0
// dot products (VecDot); the quantized V cache is read block by block.

// kvImpl holds the KV-cache attention routines of one kernel path; a path
// without its own (kvPath) uses kvGeneric. All are bit-identical to the
// generic ones (tested).
type kvImpl struct {
	roundF16   func(x []float32)
	dotF16Rows func(sc, q []float32, k []uint16, stride int)
	valuesF16  func(out, p []float32, v []uint16, stride int)
	valuesQ    [2]func(out, p []float32, v []byte, rowBytes, first int) // Q8_0, Q4_0
	dotQ8Rows  func(sc []float32, n int, q, k []byte, stride int)
}

var kvGeneric = kvImpl{roundF16: roundF16Generic, dotF16Rows: attnDotF16RowsGeneric,
	valuesF16: attnValuesF16Generic, dotQ8Rows: attnDotQ8_0RowsGeneric,
	valuesQ: [2]func(out, p []float32, v []byte, rowBytes, first int){
		func(out, p []float32, v []byte, rowBytes, first int) {
			attnValuesQGeneric(quant.Q8_0, out, p, v, rowBytes, first)
		},
		func(out, p []float32, v []byte, rowBytes, first int) {
			attnValuesQGeneric(quant.Q4_0, out, p, v, rowBytes, first)
		}}}

// RoundF16 rounds every value of x to the nearest float16 (in place), as
// ggml converts float32 activations to F16.
func RoundF16(x []float32) { kvPath().roundF16(x) }

func roundF16Generic(x []float32) {
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

// AttnDotF16Rows sets sc[t] = AttnDotF16(q, k[t·stride:t·stride+len(q)])·scale
// for every t < len(sc): the scores of q against len(sc) cached keys whose
// rows start stride values apart.
func AttnDotF16Rows(sc, q []float32, k []uint16, stride int, scale float32) {
	if len(sc) == 0 {
		return
	}
	if stride < len(q) || len(k) < (len(sc)-1)*stride+len(q) {
		panic("kernels: AttnDotF16Rows: k holds " + itoa(len(k)) + " values, too few for " + itoa(len(sc)) + " rows of stride " + itoa(stride))
	}
	kvPath().dotF16Rows(sc, q, k, stride)
	for t := range sc {
		sc[t] *= scale
	}
}

func attnDotF16RowsGeneric(sc, q []float32, k []uint16, stride int) {
	for t := range sc {
		sc[t] = AttnDotF16(q, k[t*stride:t*stride+len(q)])
	}
}

// AttnDotQRows sets sc[t] = VecDot(t, n, k[r·stride:], q)·scale for every
// r < len(sc): the scores of the query q (n values quantized to Q8_0 by
// QuantizeActivation) against len(sc) cached keys of type kt (Q8_0 or
// Q4_0) whose rows start stride bytes apart. The Q8_0 rows run in one call
// of the path's kernel (the query's blocks kept at hand, no per-row call);
// Q4_0 rows take one VecDot each.
func AttnDotQRows(kt quant.Type, sc []float32, n int, q, k []byte, stride int, scale float32) {
	if kt != quant.Q8_0 && kt != quant.Q4_0 {
		panic("kernels: AttnDotQRows: cache type " + kt.String())
	}
	if len(sc) == 0 {
		return
	}
	rb := rowBytes("AttnDotQRows", kt, n)
	qb := rowBytes("AttnDotQRows", quant.Q8_0, n)
	if len(q) < qb || stride < rb || len(k) < (len(sc)-1)*stride+rb {
		panic("kernels: AttnDotQRows: k holds " + itoa(len(k)) + " bytes, too few for " + itoa(len(sc)) + " rows of stride " + itoa(stride) + " (or q " + itoa(len(q)) + " of " + itoa(qb) + ")")
	}
	if kt == quant.Q8_0 {
		kvPath().dotQ8Rows(sc, n, q[:qb], k, stride)
	} else {
		for r := range sc {
			sc[r] = VecDot(kt, n, k[r*stride:r*stride+rb], q)
		}
	}
	for r := range sc {
		sc[r] *= scale
	}
}

func attnDotQ8_0RowsGeneric(sc []float32, n int, q, k []byte, stride int) {
	rb := n / 32 * 34
	for r := range sc {
		sc[r] = dotQ8_0(n, k[r*stride:r*stride+rb], q[:rb])
	}
}

// AttnValuesF16 is AttnValues with v stored as float16 rows of stride
// values (p already rounded to float16 values).
func AttnValuesF16(out, p []float32, v []uint16, stride int) {
	if len(p) > 0 && (stride < len(out) || len(v) < (len(p)-1)*stride+len(out)) {
		panic("kernels: AttnValuesF16: v holds " + itoa(len(v)) + " values, too few for " + itoa(len(p)) + " rows of stride " + itoa(stride))
	}
	kvPath().valuesF16(out, p, v, stride)
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
	if t != quant.Q8_0 && t != quant.Q4_0 {
		panic("kernels: AttnValuesQ: cache type " + t.String())
	}
	bs := 34
	if t == quant.Q4_0 {
		bs = 18
	}
	if first%32 != 0 || len(out)%32 != 0 || first < 0 || (first+len(out))/32*bs > rowBytes ||
		(len(p) > 0 && len(v) < (len(p)-1)*rowBytes+(first+len(out))/32*bs) {
		panic("kernels: AttnValuesQ: v holds " + itoa(len(v)) + " bytes, too few for " + itoa(len(p)) + " rows of " + itoa(rowBytes) + " bytes from value " + itoa(first) + " on")
	}
	if t == quant.Q8_0 {
		kvPath().valuesQ[0](out, p, v, rowBytes, first)
	} else {
		kvPath().valuesQ[1](out, p, v, rowBytes, first)
	}
}

func attnValuesQGeneric(t quant.Type, out, p []float32, v []byte, rowBytes, first int) {
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
