package kernels

import "os"

// The 8-bit integer matrix product of the ONNX executor's quantized
// operators (ConvInteger, MatMulInteger, QLinearConv, QLinearMatMul, and the
// graphs of dynamic quantization): an MR×NR tile of int32 sums
//
//	C[i][j] = Σ_p A[i][p]·B[p][j]
//
// where A holds signed bytes (int8) and B unsigned ones (uint8), as the x86
// VPDPBUSD instruction multiplies them. Callers turn other signednesses
// into this one by flipping the top bit while packing (XOR 0x80: uint8 v
// becomes the int8 v-128, int8 v the uint8 v+128) and fold the shift into
// the zero points, which they apply to the int32 sums with the row and
// column sums the packers return:
//
//	Σ_p (a-za)(b-zb) = Σ a·b - zb·Σ_p a - za·Σ_p b + K·za·zb
//
// Layout (QK = 4 values of k side by side, so that one 32-bit word of A
// meets one of B): A is packed in panels of MR rows, for each group of four
// values of k the four bytes of row 0, then of row 1, ...; B in panels of NR
// columns, for each group the four bytes of column 0, of column 1, ...
// Rows and columns past the matrix, and k past K, are zero (a zero of A
// makes any padding of B harmless).

// QK is the number of k values packed side by side.
const QK = 4

const (
	qgemmKindGeneric = iota
	qgemmKindVNNI512
	qgemmKindAVX2
)

// QGemm is one implementation of the int8 tile product. Its methods do not
// allocate and may be called concurrently.
type QGemm struct {
	name      string
	mr, nr    int
	kind      int
	available bool
}

// Name returns the implementation's name: "generic", "avx2", "avx512".
func (g *QGemm) Name() string { return g.name }

// MR returns the rows of an A panel (and of a tile).
func (g *QGemm) MR() int { return g.mr }

// NR returns the columns of a B panel (and of a tile).
func (g *QGemm) NR() int { return g.nr }

var qgemmGeneric = &QGemm{name: "generic", mr: 4, nr: 8, kind: qgemmKindGeneric, available: true}

var qgemms = append([]*QGemm{qgemmGeneric}, qgemmArch()...)

// QGemmImpls returns the implementations this CPU can run, generic first.
func QGemmImpls() []*QGemm {
	var out []*QGemm
	for _, g := range qgemms {
		if g.available {
			out = append(out, g)
		}
	}
	return out
}

// CurrentQGemm returns the implementation for the kernel path in use, as
// CurrentSgemm does.
func CurrentQGemm() *QGemm {
	if cur.name == "generic" {
		return qgemmGeneric
	}
	best := qgemmGeneric
	for _, g := range qgemms {
		if g.available {
			best = g
		}
	}
	want := os.Getenv("EDGEAI_KERNELS")
	for _, g := range qgemms {
		if g.available && g.name == want {
			return g
		}
	}
	return best
}

// QK4 returns k rounded up to a multiple of QK.
func QK4(k int) int { return (k + QK - 1) / QK * QK }

// PackedASize returns the bytes of A packed for m rows of depth k.
func (g *QGemm) PackedASize(m, k int) int { return roundUp(m, g.mr) * QK4(k) }

// PackedBSize returns the bytes of B packed for depth k and n columns.
func (g *QGemm) PackedBSize(k, n int) int { return roundUp(n, g.nr) * QK4(k) }

// PackA packs the m×k byte matrix a (row stride lda), each byte XORed with
// flip (0, or 0x80 to read uint8 data as int8 minus 128), into dst
// (PackedASize(m, k) bytes). If sums is not nil, sums[i] receives the sum of
// row i as packed (signed, after the flip).
func (g *QGemm) PackA(dst, a []byte, lda, m, k int, flip byte, sums []int32) {
	mr := g.mr
	k4 := QK4(k)
	dst = dst[:g.PackedASize(m, k)]
	for p0 := 0; p0 < m; p0 += mr {
		panel := dst[p0*k4 : (p0+mr)*k4]
		clear(panel)
		for i := range min(mr, m-p0) {
			row := a[(p0+i)*lda : (p0+i)*lda+k]
			var s int32
			for q, v := range row {
				v ^= flip
				panel[(q/QK)*mr*QK+i*QK+q%QK] = v
				s += int32(int8(v))
			}
			if sums != nil {
				sums[p0+i] = s
			}
		}
	}
}

// PackB packs columns [c0, c0+n) of the k-row byte matrix b (row stride
// ldb), each byte XORed with flip (0x80 reads int8 data as uint8 plus 128),
// into panels of NR columns in dst (PackedBSize(k, n) bytes). If sums is not
// nil, sums[j] receives the sum of column c0+j as packed (unsigned).
func (g *QGemm) PackB(dst, b []byte, ldb, k, c0, n int, flip byte, sums []int32) {
	nr := g.nr
	k4 := QK4(k)
	dst = dst[:g.PackedBSize(k, n)]
	if sums != nil {
		clear(sums[:n])
	}
	for j0 := 0; j0 < n; j0 += nr {
		panel := dst[j0*k4 : (j0+nr)*k4]
		cols := min(nr, n-j0)
		p := 0
		for ; p+QK <= k; p += QK {
			seg := panel[(p/QK)*nr*QK : (p/QK+1)*nr*QK]
			r0 := b[p*ldb+c0+j0 : p*ldb+c0+j0+cols]
			r1 := b[(p+1)*ldb+c0+j0 : (p+1)*ldb+c0+j0+cols]
			r2 := b[(p+2)*ldb+c0+j0 : (p+2)*ldb+c0+j0+cols]
			r3 := b[(p+3)*ldb+c0+j0 : (p+3)*ldb+c0+j0+cols]
			interleave4(seg[:cols*QK], r0, r1, r2, r3, flip)
			clear(seg[cols*QK:])
		}
		if p < k { // the last, partial group: zeros past k
			seg := panel[(p/QK)*nr*QK : (p/QK+1)*nr*QK]
			clear(seg)
			for t := 0; p+t < k; t++ {
				row := b[(p+t)*ldb+c0+j0 : (p+t)*ldb+c0+j0+cols]
				for j, v := range row {
					seg[j*QK+t] = v ^ flip
				}
			}
		}
		if sums != nil {
			s := sums[j0 : j0+cols]
			for q := 0; q < k4/QK; q++ {
				seg := panel[q*nr*QK : q*nr*QK+cols*QK]
				for j := range s {
					w := seg[j*QK : j*QK+QK : j*QK+QK]
					s[j] += int32(w[0]) + int32(w[1]) + int32(w[2]) + int32(w[3])
				}
			}
		}
	}
}

// PackBT packs B given transposed: the n×k byte matrix bt (row stride ldb)
// holds column j of B in row j (a MatMul's activation rows, read as the B
// of the transposed product). Arguments as PackB, rows [r0, r0+n) of bt.
func (g *QGemm) PackBT(dst, bt []byte, ldb, k, r0, n int, flip byte, sums []int32) {
	nr := g.nr
	k4 := QK4(k)
	dst = dst[:g.PackedBSize(k, n)]
	for j0 := 0; j0 < n; j0 += nr {
		panel := dst[j0*k4 : (j0+nr)*k4]
		clear(panel)
		for j := range min(nr, n-j0) {
			row := bt[(r0+j0+j)*ldb : (r0+j0+j)*ldb+k]
			var s int32
			for q, v := range row {
				v ^= flip
				panel[(q/QK)*nr*QK+j*QK+q%QK] = v
				s += int32(v)
			}
			if sums != nil {
				sums[j0+j] = s
			}
		}
	}
}

// interleave4Generic writes dst[4j+t] = rt[j] ^ flip for the four rows.
func interleave4Generic(dst, r0, r1, r2, r3 []byte, flip byte) {
	n := len(r0)
	dst = dst[:4*n]
	r1, r2, r3 = r1[:n], r2[:n], r3[:n]
	for j := range n {
		d := dst[4*j : 4*j+4 : 4*j+4]
		d[0], d[1], d[2], d[3] = r0[j]^flip, r1[j]^flip, r2[j]^flip, r3[j]^flip
	}
}

// Tile computes the MR×NR tile c (row-major, NR values a row) of the
// product of the A panel a and the B panel b, of depth k (a multiple of
// QK; both panels are k·MR and k·NR bytes).
func (g *QGemm) Tile(k int, a, b []byte, c []int32) {
	mr, nr := g.mr, g.nr
	if k%QK != 0 || len(a) < mr*k || len(b) < nr*k || len(c) < mr*nr {
		panic("kernels: QGemm.Tile: bad operands")
	}
	if g.kind == qgemmKindGeneric || k == 0 {
		qtileGeneric(mr, nr, k, a, b, c)
		return
	}
	qtileArch(g.kind, k, a, b, c)
}

// qtileGeneric is the tile product in Go: per group of four k values, the
// B panel's bytes are widened once into four int32 rows, which every row
// of A then meets in a simple loop.
func qtileGeneric(mr, nr, k int, a, b []byte, c []int32) {
	c = c[:mr*nr]
	clear(c)
	var wbuf [4 * 64]int32
	if nr > 64 {
		panic("kernels: qtileGeneric: NR over 64")
	}
	b0, b1, b2, b3 := wbuf[0:nr], wbuf[64:64+nr], wbuf[128:128+nr], wbuf[192:192+nr]
	for q := 0; q < k/QK; q++ {
		ap := a[q*mr*QK : (q+1)*mr*QK]
		bp := b[q*nr*QK : (q+1)*nr*QK]
		for j := range nr {
			w := bp[j*QK : j*QK+QK : j*QK+QK]
			b0[j], b1[j], b2[j], b3[j] = int32(w[0]), int32(w[1]), int32(w[2]), int32(w[3])
		}
		for i := range mr {
			a0, a1, a2, a3 := int32(int8(ap[i*QK])), int32(int8(ap[i*QK+1])), int32(int8(ap[i*QK+2])), int32(int8(ap[i*QK+3]))
			if a0|a1|a2|a3 == 0 {
				continue
			}
			row := c[i*nr : (i+1)*nr]
			for j := range row {
				row[j] += a0*b0[j] + a1*b1[j] + a2*b2[j] + a3*b3[j]
			}
		}
	}
}
