//go:build !purego

package kernels

// NEON versions of the KV-cache attention routines (attn_kv_arm64.s),
// bit-identical to the generic ones: FCVTL and FCVTN convert exactly as f16
// and f32ToF16 (round to nearest even, subnormals kept: Go leaves FPCR at
// its defaults), and the fused multiply-adds run in the generic order.

var (
	kvNEON = kvImpl{roundF16: roundF16NEONGo, dotF16Rows: attnDotF16RowsNEONGo, valuesF16: attnValuesF16NEONGo,
		dotQ8Rows: attnDotQ8_0RowsNEONGo,
		valuesQ:   [2]func(out, p []float32, v []byte, rowBytes, first int){attnValuesQ8_0NEONGo, attnValuesQ4_0NEONGo}}
	kvSDOT = kvImpl{roundF16: roundF16NEONGo, dotF16Rows: attnDotF16RowsNEONGo, valuesF16: attnValuesF16NEONGo,
		dotQ8Rows: attnDotQ8_0RowsSDOTGo,
		valuesQ:   [2]func(out, p []float32, v []byte, rowBytes, first int){attnValuesQ8_0NEONGo, attnValuesQ4_0NEONGo}}
)

// kvPath returns the KV-cache attention routines of the current path: every
// arm64 path (neon, dotprod, i8mm) shares the NEON ones, the Q8_0 key
// scores with SDOT where the path has it.
func kvPath() *kvImpl {
	switch cur.name {
	case "generic":
		return &kvGeneric
	case "neon":
		return &kvNEON
	}
	return &kvSDOT
}

// roundF16NEON rounds x[:4·n4] to float16 values.
//
//go:noescape
func roundF16NEON(x *float32, n4 int)

func roundF16NEONGo(x []float32) {
	n4 := len(x) / 4
	if n4 > 0 {
		roundF16NEON(&x[0], n4)
	}
	roundF16Generic(x[4*n4:])
}

// attnDotF16RowsNEON is attnDotF16RowsGeneric (len(sc) >= 1, k holding
// the rows).
//
//go:noescape
func attnDotF16RowsNEON(sc, q []float32, k *uint16, stride int)

func attnDotF16RowsNEONGo(sc, q []float32, k []uint16, stride int) {
	attnDotF16RowsNEON(sc, q, &k[0], stride)
}

// attnValuesF16NEON computes 4·chunks values of attnValuesF16Generic:
// out[d], rows of v at v + t·stride values, t < len(p).
//
//go:noescape
func attnValuesF16NEON(out *float32, p []float32, v *uint16, stride, chunks int)

func attnValuesF16NEONGo(out, p []float32, v []uint16, stride int) {
	if len(p) == 0 {
		clear(out)
		return
	}
	c := len(out) / 4
	if c > 0 {
		attnValuesF16NEON(&out[0], p, &v[0], stride, c)
	}
	if rest := out[4*c:]; len(rest) > 0 {
		attnValuesF16Generic(rest, p, v[4*c:], stride)
	}
}

// attnValuesQ8_0NEON and attnValuesQ4_0NEON are attnValuesQGeneric for
// Q8_0 and Q4_0 with v already advanced to the first block: blocks output
// blocks of 32 values, len(p) >= 1 rows of rowBytes bytes.
//
//go:noescape
func attnValuesQ8_0NEON(out *float32, p []float32, v *byte, rowBytes, blocks int)

//go:noescape
func attnValuesQ4_0NEON(out *float32, p []float32, v *byte, rowBytes, blocks int)

func attnValuesQ8_0NEONGo(out, p []float32, v []byte, rowBytes, first int) {
	if len(p) == 0 || len(out) == 0 {
		clear(out)
		return
	}
	attnValuesQ8_0NEON(&out[0], p, &v[first/32*34], rowBytes, len(out)/32)
}

func attnValuesQ4_0NEONGo(out, p []float32, v []byte, rowBytes, first int) {
	if len(p) == 0 || len(out) == 0 {
		clear(out)
		return
	}
	attnValuesQ4_0NEON(&out[0], p, &v[first/32*18], rowBytes, len(out)/32)
}

// attnDotQ8_0RowsNEON and attnDotQ8_0RowsSDOT are attnDotQ8_0RowsGeneric
// for blocks Q8_0 blocks (len(sc) >= 1, k holding the rows), without and
// with SDOT (attnq_arm64.h).
//
//go:noescape
func attnDotQ8_0RowsNEON(sc []float32, blocks int, q, k *byte, stride int)

//go:noescape
func attnDotQ8_0RowsSDOT(sc []float32, blocks int, q, k *byte, stride int)

func attnDotQ8_0RowsNEONGo(sc []float32, n int, q, k []byte, stride int) {
	if n == 0 {
		clear(sc)
		return
	}
	attnDotQ8_0RowsNEON(sc, n/32, &q[0], &k[0], stride)
}

func attnDotQ8_0RowsSDOTGo(sc []float32, n int, q, k []byte, stride int) {
	if n == 0 {
		clear(sc)
		return
	}
	attnDotQ8_0RowsSDOT(sc, n/32, &q[0], &k[0], stride)
}
