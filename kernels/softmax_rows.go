package kernels

// SoftmaxExp16 replaces the values of x in its whole groups of sixteen (the
// first len(x)&^15) by Expf(x-mx) and returns their sum as ggml's soft_max
// accumulates it on an AVX-512 build: each group summed in the order of
// _mm512_reduce_add_ps, the group sums added in float64. The values past the
// last whole group are left as they are: ggml takes those one at a time
// with the C library's expf, which a caller reproducing a row of ggml's
// encoder attention (rows whose length is the text's, not padded) then
// does. An x of -Inf gives 0, as a masked score does in ggml.
func SoftmaxExp16(x []float32, mx float32) float64 {
	n16 := len(x) &^ 15
	if n16 == 0 {
		return 0
	}
	return cur.softmaxExp(x[:n16], mx)
}
