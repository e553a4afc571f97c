package kernels

// AttnDotCols sets out[c] = AttnDot(x, column c of m) for every c <
// len(out), bit-identical to AttnDot: m holds len(x) rows of stride values,
// column c of row i at m[i*stride+c]. It scores one query against many keys
// laid out as columns (the keys transposed) or weighs many value columns by
// one row of probabilities, sixteen columns per instruction on AVX-512
// (eight on AVX2) instead of one dot product at a time: ggml's dot product
// of a head (32 values) is a chain of fused multiply-adds whose latency,
// not their number, sets the speed of an encoder's attention. x must not
// be empty; m must hold the rows.
func AttnDotCols(out, x, m []float32, stride int) {
	if len(out) == 0 {
		return
	}
	if len(x) == 0 || stride < len(out) || len(m) < (len(x)-1)*stride+len(out) {
		panic("kernels: AttnDotCols: " + itoa(len(x)) + " rows of stride " + itoa(stride) + " do not fit in " + itoa(len(m)) + " values for " + itoa(len(out)) + " columns")
	}
	done := attnDotColsArch(out, x, m, stride)
	if done < len(out) {
		attnDotColsGeneric(out[done:], x, m[done:], stride)
	}
}

// attnDotColsGeneric is AttnDotCols column by column through attnDot.
func attnDotColsGeneric(out, x, m []float32, stride int) {
	var buf [256]float32
	col := buf[:0]
	if len(x) > len(buf) {
		col = make([]float32, 0, len(x))
	}
	col = col[:len(x)]
	for c := range out {
		for i := range x {
			col[i] = m[i*stride+c]
		}
		out[c] = cur.attnDot(x, col)
	}
}

// AttnDotRows sets out[j] = AttnDot(x, k[j*stride:j*stride+len(x)]) for
// every j < len(out), bit-identical to AttnDot: one query against many keys
// stored row after row (a KV cache), sixteen keys per instruction on
// AVX-512 (eight on AVX2), each key's elements gathered across the rows.
// x must not be empty; k must hold the rows.
func AttnDotRows(out, x, k []float32, stride int) {
	if len(out) == 0 {
		return
	}
	if len(x) == 0 || stride < len(x) || len(k) < (len(out)-1)*stride+len(x) || (len(out)-1)*stride > 1<<30 {
		panic("kernels: AttnDotRows: " + itoa(len(out)) + " rows of stride " + itoa(stride) + " do not fit in " + itoa(len(k)) + " values for " + itoa(len(x)) + " columns")
	}
	done := attnDotRowsArch(out, x, k, stride)
	for j := done; j < len(out); j++ {
		out[j] = cur.attnDot(x, k[j*stride:j*stride+len(x)])
	}
}
