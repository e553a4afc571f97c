package kernels

// The float32 matrix product (SGEMM) of the ONNX executor's MatMul, Gemm
// and Conv (im2col): C = A·B, A of m×k, B of k×n, C of m×n, row-major.
//
// It is organised the way BLIS and GotoBLAS are. A is packed once into
// panels of MR rows (k-major: the MR values of column p are adjacent), B
// into panels of NR columns (the NR values of row p adjacent), and a micro
// kernel multiplies one A panel by one B panel into an MR×NR tile of C held
// in registers. B is either packed ahead (constant weights) or packed on
// the fly, KC rows of one panel at a time into a buffer on the stack, which
// the micro kernel then meets for every A panel while it sits in the L1
// cache. Each implementation has its own tile (MR, NR): the generic Go one
// 4×4, AVX2+FMA 6×16, AVX-512 8×32, NEON 8×8.
//
// Mul computes a block of C (whole A panels × whole B panels), so that
// callers can share one product between threads without the package
// knowing about threads.

// sgemmKC is the depth of the k-blocks B is packed in on the fly.
const sgemmKC = 256

// maxNR bounds NR over all implementations (the on-the-fly buffer).
const maxNR = 32

// maxMR bounds MR over all implementations (edge tiles).
const maxMR = 8

// A micro kernel computes the MR×NR tile c (row stride ldc) = (load ? c :
// 0) + Σ_p a[p·MR+i]·b[p·NR+j] over p in [0, k): a is an A panel, b a B
// panel. They are called directly, never through a func value, so that the
// buffers on Mul's stack do not escape to the heap.
const (
	microKindGeneric = iota
	microKindAVX2
	microKindAVX512
	microKindNEON
)

// Sgemm is one implementation of the float32 matrix product. Its methods
// do not allocate and may be called concurrently.
type Sgemm struct {
	name      string
	mr, nr    int
	kind      int // microKind*
	available bool
}

// Name returns the implementation's name: "generic", "avx2", "avx512",
// "neon".
func (g *Sgemm) Name() string { return g.name }

// MR returns the rows of an A panel (and of a micro tile).
func (g *Sgemm) MR() int { return g.mr }

// NR returns the columns of a B panel (and of a micro tile).
func (g *Sgemm) NR() int { return g.nr }

var sgemmGeneric = &Sgemm{name: "generic", mr: 4, nr: 4, kind: microKindGeneric, available: true}

// sgemms lists the implementations compiled in, generic first, then the
// assembly ones from the least to the most capable (see sgemmArch).
var sgemms = append([]*Sgemm{sgemmGeneric}, sgemmArch()...)

// SgemmImpls returns the implementations this CPU can run, generic first.
func SgemmImpls() []*Sgemm {
	var out []*Sgemm
	for _, g := range sgemms {
		if g.available {
			out = append(out, g)
		}
	}
	return out
}

// CurrentSgemm returns the implementation of the kernel path in use (see
// Path): the one the path names (impl.sgemm: avx2 for the avx2 and
// avxvnni paths, avx512 for avx512), the generic one on the generic path,
// else the most capable one this CPU runs. It follows the path, never the
// CPU alone, so that EDGEAI_KERNELS=avx2 on an AVX-512 machine (or a test
// switching paths) gets the AVX2 product.
func CurrentSgemm() *Sgemm {
	if cur.name == "generic" {
		return sgemmGeneric
	}
	best := sgemmGeneric
	for _, g := range sgemms {
		if g.available {
			if g.name == cur.sgemm {
				return g
			}
			best = g
		}
	}
	return best
}

// PackedASize returns the length of A packed for an m×k product.
func (g *Sgemm) PackedASize(m, k int) int { return roundUp(m, g.mr) * k }

// PackedBSize returns the length of B packed for a k×n product.
func (g *Sgemm) PackedBSize(k, n int) int { return roundUp(n, g.nr) * k }

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// PackA packs alpha·A into dst (PackedASize(m, k) values): A is the m×k
// matrix a with row stride lda, or, when trans is set, the transpose of the
// k×m matrix a with row stride lda. Rows past m are zero.
func (g *Sgemm) PackA(dst, a []float32, lda int, trans bool, m, k int, alpha float32) {
	mr := g.mr
	need := g.PackedASize(m, k)
	if len(dst) < need {
		panic("kernels: PackA: dst has " + itoa(len(dst)) + " values, need " + itoa(need))
	}
	g.packARows(dst, a, lda, trans, m, k, alpha, 0, (m+mr-1)/mr)
}

// PackARows packs the A panels [lo, hi) only (rows lo·MR to hi·MR), so
// callers can pack in parallel.
func (g *Sgemm) PackARows(dst, a []float32, lda int, trans bool, m, k int, alpha float32, lo, hi int) {
	g.packARows(dst, a, lda, trans, m, k, alpha, lo, hi)
}

func (g *Sgemm) packARows(dst, a []float32, lda int, trans bool, m, k int, alpha float32, lo, hi int) {
	mr := g.mr
	for p := lo; p < hi; p++ {
		panel := dst[p*mr*k : (p+1)*mr*k]
		r0 := p * mr
		rows := min(mr, m-r0)
		if rows < mr {
			clear(panel)
		}
		for i := range rows {
			r := r0 + i
			if !trans {
				row := a[r*lda : r*lda+k]
				for q, v := range row {
					panel[q*mr+i] = alpha * v
				}
			} else {
				for q := range k {
					panel[q*mr+i] = alpha * a[q*lda+r]
				}
			}
		}
	}
}

// PackB packs B into dst (PackedBSize(k, n) values): B is the k×n matrix b
// with row stride ldb, or, when trans is set, the transpose of the n×k
// matrix b. Columns past n are zero.
func (g *Sgemm) PackB(dst, b []float32, ldb int, trans bool, k, n int) {
	need := g.PackedBSize(k, n)
	if len(dst) < need {
		panic("kernels: PackB: dst has " + itoa(len(dst)) + " values, need " + itoa(need))
	}
	nr := g.nr
	for q := 0; q*nr < n; q++ {
		g.packBPanel(dst[q*nr*k:(q+1)*nr*k], b, ldb, trans, 0, k, q*nr, min(nr, n-q*nr))
	}
}

// packBPanel packs rows [k0, k0+kc) of columns [c0, c0+cols) of B into
// dst (kc·NR values), zero-padding the columns to NR.
func (g *Sgemm) packBPanel(dst, b []float32, ldb int, trans bool, k0, kc, c0, cols int) {
	nr := g.nr
	dst = dst[:kc*nr]
	if !trans {
		for p := range kc {
			row := b[(k0+p)*ldb+c0 : (k0+p)*ldb+c0+cols]
			d := dst[p*nr : p*nr+nr]
			copy(d, row)
			clear(d[cols:])
		}
		return
	}
	if cols < nr {
		clear(dst)
	}
	for j := range cols {
		col := b[(c0+j)*ldb+k0 : (c0+j)*ldb+k0+kc]
		for p, v := range col {
			dst[p*nr+j] = v
		}
	}
}

// BMatrix is the B operand of Mul: packed by PackB (Packed set), or the
// k×n matrix Data with row stride Stride (the transpose of an n×k one when
// Trans is set), packed by Mul as it goes.
type BMatrix struct {
	Data   []float32
	Stride int
	Trans  bool
	Packed bool
	// Im2col, if set, is B instead of Data: the im2col matrix of a
	// convolution, packed straight from the image.
	Im2col *Im2col
}

// Mul computes the block rows [rowLo, rowHi) × columns [colLo, colHi) of
// C = A·B (acc: C += A·B) into c, row stride ldc. pa is A packed by PackA
// for m×k. rowLo must be a multiple of MR and colLo of NR; rowHi is a
// multiple of MR or m, colHi a multiple of NR or n. Mul does not allocate.
func (g *Sgemm) Mul(m, n, k int, pa []float32, b BMatrix, c []float32, ldc int, rowLo, rowHi, colLo, colHi int, acc bool) {
	mr, nr := g.mr, g.nr
	if rowLo%mr != 0 || colLo%nr != 0 || rowHi > m || colHi > n || (rowHi%mr != 0 && rowHi != m) || (colHi%nr != 0 && colHi != n) {
		panic("kernels: Sgemm.Mul: bad block rows [" + itoa(rowLo) + "," + itoa(rowHi) + ") cols [" + itoa(colLo) + "," + itoa(colHi) + ")")
	}
	if rowLo >= rowHi || colLo >= colHi {
		return
	}
	if len(pa) < g.PackedASize(m, k) || len(c) < (m-1)*ldc+n || ldc < n {
		panic("kernels: Sgemm.Mul: operands too short")
	}
	if k == 0 {
		if !acc {
			for r := rowLo; r < rowHi; r++ {
				clear(c[r*ldc+colLo : r*ldc+colHi])
			}
		}
		return
	}
	var buf [sgemmKC * maxNR]float32
	var tile [maxMR * maxNR]float32
	for k0 := 0; k0 < k; k0 += sgemmKC {
		kc := min(sgemmKC, k-k0)
		load := acc || k0 > 0
		for c0 := colLo; c0 < colHi; c0 += nr {
			cols := min(nr, n-c0)
			var bp []float32
			if b.Packed {
				q := c0 / nr
				bp = b.Data[q*nr*k+k0*nr : q*nr*k+(k0+kc)*nr]
			} else if b.Im2col != nil {
				bp = buf[:kc*nr]
				g.packIm2colPanel(bp, b.Im2col, k0, kc, c0, cols)
			} else {
				bp = buf[:kc*nr]
				g.packBPanel(bp, b.Data, b.Stride, b.Trans, k0, kc, c0, cols)
			}
			for r0 := rowLo; r0 < rowHi; r0 += mr {
				rows := min(mr, m-r0)
				p := r0 / mr
				ap := pa[p*mr*k+k0*mr : p*mr*k+(k0+kc)*mr]
				if rows == mr && cols == nr {
					g.microCall(kc, ap, bp, c[r0*ldc+c0:], ldc, load)
					continue
				}
				// An edge tile: through a full tile on the stack.
				t := tile[:mr*nr]
				if load {
					for i := range rows {
						copy(t[i*nr:i*nr+cols], c[(r0+i)*ldc+c0:])
					}
				}
				g.microCall(kc, ap, bp, t, nr, load)
				for i := range rows {
					copy(c[(r0+i)*ldc+c0:(r0+i)*ldc+c0+cols], t[i*nr:i*nr+cols])
				}
			}
		}
	}
}

func (g *Sgemm) microCall(k int, a, b, c []float32, ldc int, load bool) {
	if g.kind == microKindGeneric {
		microGeneric(k, a, b, c, ldc, load)
		return
	}
	microArch(g.kind, k, a, b, c, ldc, load)
}

// microGeneric is the 4×4 micro kernel in Go.
func microGeneric(k int, a, b, c []float32, ldc int, load bool) {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	a, b = a[:4*k], b[:4*k]
	for p := 0; p < k; p++ {
		ap := a[4*p : 4*p+4 : 4*p+4]
		bp := b[4*p : 4*p+4 : 4*p+4]
		a0, a1, a2, a3 := ap[0], ap[1], ap[2], ap[3]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	r0 := c[0:4:4]
	r1 := c[ldc : ldc+4 : ldc+4]
	r2 := c[2*ldc : 2*ldc+4 : 2*ldc+4]
	r3 := c[3*ldc : 3*ldc+4 : 3*ldc+4]
	if load {
		c00, c01, c02, c03 = c00+r0[0], c01+r0[1], c02+r0[2], c03+r0[3]
		c10, c11, c12, c13 = c10+r1[0], c11+r1[1], c12+r1[2], c13+r1[3]
		c20, c21, c22, c23 = c20+r2[0], c21+r2[1], c22+r2[2], c23+r2[3]
		c30, c31, c32, c33 = c30+r3[0], c31+r3[1], c32+r3[2], c33+r3[3]
	}
	r0[0], r0[1], r0[2], r0[3] = c00, c01, c02, c03
	r1[0], r1[1], r1[2], r1[3] = c10, c11, c12, c13
	r2[0], r2[1], r2[2], r2[3] = c20, c21, c22, c23
	r3[0], r3[1], r3[2], r3[3] = c30, c31, c32, c33
}
