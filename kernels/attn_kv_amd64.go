//go:build !purego

package kernels

// AVX2 (F16C) and AVX-512 versions of the KV-cache attention routines
// (attn_kv_amd64.s), bit-identical to the generic ones: VCVTPH2PS and
// VCVTPS2PH convert exactly as f16 and f32ToF16, and the fused
// multiply-adds run in the generic order.

var (
	kvAVX2 = kvImpl{roundF16: roundF16AVX2Go, dotF16Rows: attnDotF16RowsAVX2Go, valuesF16: attnValuesF16AVX2Go,
		dotQ8Rows: attnDotQ8_0RowsAVX2Go,
		valuesQ:   [2]func(out, p []float32, v []byte, rowBytes, first int){attnValuesQ8_0AVX2Go, attnValuesQ4_0AVX2Go}}
	kvAVX512 = kvImpl{roundF16: roundF16AVX2Go, dotF16Rows: attnDotF16RowsAVX512Go, valuesF16: attnValuesF16AVX512Go,
		dotQ8Rows: attnDotQ8_0RowsAVX512Go,
		valuesQ:   [2]func(out, p []float32, v []byte, rowBytes, first int){attnValuesQ8_0AVX2Go, attnValuesQ4_0AVX2Go}}
)

// kvPath returns the KV-cache attention routines of the current path.
func kvPath() *kvImpl {
	switch cur.name {
	case "avx512":
		return &kvAVX512
	case "avx2", "avxvnni": // AVX-VNNI machines have AVX2 and F16C
		return &kvAVX2
	}
	return &kvGeneric
}

// roundF16AVX2 rounds x[:n8] (n8 a multiple of 8) to float16 values.
//
//go:noescape
func roundF16AVX2(x *float32, n8 int)

func roundF16AVX2Go(x []float32) {
	n8 := len(x) &^ 7
	if n8 > 0 {
		roundF16AVX2(&x[0], n8)
	}
	roundF16Generic(x[n8:])
}

// attnDotF16RowsAVX2 and attnDotF16RowsAVX512 are attnDotF16RowsGeneric
// (len(sc) >= 1, k holding the rows).
//
//go:noescape
func attnDotF16RowsAVX2(sc, q []float32, k *uint16, stride int)

//go:noescape
func attnDotF16RowsAVX512(sc, q []float32, k *uint16, stride int)

func attnDotF16RowsAVX2Go(sc, q []float32, k []uint16, stride int) {
	attnDotF16RowsAVX2(sc, q, &k[0], stride)
}

func attnDotF16RowsAVX512Go(sc, q []float32, k []uint16, stride int) {
	attnDotF16RowsAVX512(sc, q, &k[0], stride)
}

// attnValuesF16AVX2 computes 8·chunks values of attnValuesF16Generic,
// attnValuesF16AVX512 16·chunks: out[d], rows of v at v + t·stride values,
// t < len(p).
//
//go:noescape
func attnValuesF16AVX2(out *float32, p []float32, v *uint16, stride, chunks int)

//go:noescape
func attnValuesF16AVX512(out *float32, p []float32, v *uint16, stride, chunks int)

func attnValuesF16AVX2Go(out, p []float32, v []uint16, stride int) {
	if len(p) == 0 {
		clear(out)
		return
	}
	c := len(out) / 8
	if c > 0 {
		attnValuesF16AVX2(&out[0], p, &v[0], stride, c)
	}
	if rest := out[8*c:]; len(rest) > 0 {
		attnValuesF16Generic(rest, p, v[8*c:], stride)
	}
}

func attnValuesF16AVX512Go(out, p []float32, v []uint16, stride int) {
	if len(p) == 0 {
		clear(out)
		return
	}
	c := len(out) / 16
	if c > 0 {
		attnValuesF16AVX512(&out[0], p, &v[0], stride, c)
	}
	if rest := out[16*c:]; len(rest) > 0 {
		attnValuesF16Generic(rest, p, v[16*c:], stride)
	}
}

// attnValuesQ8_0AVX2 and attnValuesQ4_0AVX2 are attnValuesQGeneric for
// Q8_0 and Q4_0 with v already advanced to the first block: blocks
// output blocks of 32 values, len(p) rows of rowBytes bytes.
//
//go:noescape
func attnValuesQ8_0AVX2(out *float32, p []float32, v *byte, rowBytes, blocks int)

//go:noescape
func attnValuesQ4_0AVX2(out *float32, p []float32, v *byte, rowBytes, blocks int)

func attnValuesQ8_0AVX2Go(out, p []float32, v []byte, rowBytes, first int) {
	if len(p) == 0 || len(out) == 0 {
		clear(out)
		return
	}
	attnValuesQ8_0AVX2(&out[0], p, &v[first/32*34], rowBytes, len(out)/32)
}

func attnValuesQ4_0AVX2Go(out, p []float32, v []byte, rowBytes, first int) {
	if len(p) == 0 || len(out) == 0 {
		clear(out)
		return
	}
	attnValuesQ4_0AVX2(&out[0], p, &v[first/32*18], rowBytes, len(out)/32)
}

// attnDotQ8_0RowsAVX2 and attnDotQ8_0RowsAVX512 are attnDotQ8_0RowsGeneric
// for blocks Q8_0 blocks (len(sc) >= 1, k holding the rows); the AVX-512
// one also takes ncorr[b][j] = -128·Σ of the query's bytes 4j..4j+3 of
// block b (blocks <= 8).
//
//go:noescape
func attnDotQ8_0RowsAVX2(sc []float32, blocks int, q, k *byte, stride int)

//go:noescape
func attnDotQ8_0RowsAVX512(sc []float32, blocks int, q, k *byte, stride int, ncorr *[8][8]int32)

func attnDotQ8_0RowsAVX2Go(sc []float32, n int, q, k []byte, stride int) {
	if n == 0 {
		clear(sc)
		return
	}
	attnDotQ8_0RowsAVX2(sc, n/32, &q[0], &k[0], stride)
}

func attnDotQ8_0RowsAVX512Go(sc []float32, n int, q, k []byte, stride int) {
	blocks := n / 32
	if blocks == 0 || blocks > 8 { // heads of more than 256 values: the AVX2 kernel
		attnDotQ8_0RowsAVX2Go(sc, n, q, k, stride)
		return
	}
	var ncorr [8][8]int32
	for b := range blocks {
		for j := range 8 {
			s := int32(0)
			for _, v := range q[b*34+2+4*j : b*34+6+4*j] {
				s += int32(int8(v))
			}
			ncorr[b][j] = -128 * s
		}
	}
	attnDotQ8_0RowsAVX512(sc, blocks, &q[0], &k[0], stride, &ncorr)
}
