package exec

import (
	"github.com/edgeai-go/edgeai/kernels"
)

// gemmMinFlops is the size of product below which one goroutine does it
// (about 16 flops a cycle: minParWork cycles).
const gemmMinFlops = 16 * minParWork

// packedMat is a constant operand packed for a GEMM implementation.
type packedMat struct {
	g    *kernels.Sgemm
	data []float32
}

// packA packs the m×k matrix a (or the transpose of the k×m one) for g.
func packA(g *kernels.Sgemm, a []float32, lda int, trans bool, m, k int, alpha float32) *packedMat {
	p := &packedMat{g: g, data: make([]float32, g.PackedASize(m, k))}
	g.PackA(p.data, a, lda, trans, m, k, alpha)
	return p
}

// packB packs the k×n matrix b (or the transpose of the n×k one) for g.
func packB(g *kernels.Sgemm, b []float32, ldb int, trans bool, k, n int) *packedMat {
	p := &packedMat{g: g, data: make([]float32, g.PackedBSize(k, n))}
	g.PackB(p.data, b, ldb, trans, k, n)
	return p
}

// packATemp packs a at run time into a temporary of the arena; the caller
// releases it.
func (rc *runCtx) packATemp(g *kernels.Sgemm, a []float32, lda int, trans bool, m, k int, alpha float32) (*Tensor, error) {
	t, err := rc.alloc(1, []int{g.PackedASize(m, k)}) // onnx.Float
	if err != nil {
		return nil, err
	}
	d := t.Data.([]float32)
	panels := (m + g.MR() - 1) / g.MR()
	if 2*m*k < gemmMinFlops {
		g.PackARows(d, a, lda, trans, m, k, alpha, 0, panels)
	} else {
		rc.par(panels, 1, func(lo, hi int) { g.PackARows(d, a, lda, trans, m, k, alpha, lo, hi) })
	}
	return t, nil
}

// sgemm computes C (m×n, row stride ldc) = A·B, or C += A·B when acc, with
// A packed for g, on the worker pool.
func (rc *runCtx) sgemm(g *kernels.Sgemm, m, n, k int, pa []float32, b kernels.BMatrix, c []float32, ldc int, acc bool) {
	if m == 0 || n == 0 {
		return
	}
	threads := rc.e.pool.Threads()
	if threads == 1 || 2*m*n*k < gemmMinFlops {
		g.Mul(m, n, k, pa, b, c, ldc, 0, m, 0, n, acc)
		return
	}
	mr, nr := g.MR(), g.NR()
	colPanels := (n + nr - 1) / nr
	rowPanels := (m + mr - 1) / mr
	if colPanels >= 2 || rowPanels < 2 {
		rc.par(colPanels, 1, func(lo, hi int) {
			g.Mul(m, n, k, pa, b, c, ldc, 0, m, lo*nr, min(hi*nr, n), acc)
		})
		return
	}
	rc.par(rowPanels, 1, func(lo, hi int) {
		g.Mul(m, n, k, pa, b, c, ldc, lo*mr, min(hi*mr, m), 0, n, acc)
	})
}

// sgemmEpi is sgemm followed by epi(r0, r1, c0, c1) on each block of C it
// computes, while the block is in cache.
func (rc *runCtx) sgemmEpi(g *kernels.Sgemm, m, n, k int, pa []float32, b kernels.BMatrix, c []float32, ldc int, acc bool, epi func(r0, r1, c0, c1 int)) {
	if epi == nil {
		rc.sgemm(g, m, n, k, pa, b, c, ldc, acc)
		return
	}
	if m == 0 || n == 0 {
		return
	}
	mr, nr := g.MR(), g.NR()
	// Column blocks of about 64 KiB of C, narrower if that gives each
	// thread a few: splitting the columns shares the work of packing B
	// (an im2col matrix, say), splitting the rows would repeat it.
	threads := rc.e.pool.Threads()
	parallel := threads > 1 && 2*m*n*k >= gemmMinFlops
	width := max(nr, (epiBlock(m*n)/max(m, 1))/nr*nr)
	if parallel {
		width = min(width, max(nr, (n/(2*threads))/nr*nr))
	}
	blocks := (n + width - 1) / width
	body := func(lo, hi int) {
		for bi := lo; bi < hi; bi++ {
			c0, c1 := bi*width, min((bi+1)*width, n)
			g.Mul(m, n, k, pa, b, c, ldc, 0, m, c0, c1, acc)
			epi(0, m, c0, c1)
		}
	}
	switch {
	case !parallel:
		body(0, blocks)
	case blocks >= 2:
		rc.par(blocks, 1, body)
	default:
		// One column block: split the rows instead.
		rowPanels := (m + mr - 1) / mr
		rc.par(rowPanels, 1, func(lo, hi int) {
			r0, r1 := lo*mr, min(hi*mr, m)
			g.Mul(m, n, k, pa, b, c, ldc, r0, r1, 0, n, acc)
			epi(r0, r1, 0, n)
		})
	}
}

// epiBlock is how many values of an output of size values a block of a
// product with an epilogue holds: about 64 KiB (the block is still in L1
// or L2 when the epilogue runs over it), or the whole output when it fits
// in 256 KiB: the epilogue's steps are calls per row of a block, which on
// small outputs (a MobileNet's 1×1 convolutions of 200 rows of 192
// pixels) cost more than the misses they save.
func epiBlock(size int) int {
	if size <= 1<<16 {
		return max(size, 16384)
	}
	return 16384
}

// gemv computes y (n) = x (k) · B, or y += x·B when acc, where B is the
// k×n matrix b with row stride ldb, or the transpose of the n×k one when
// trans.
func (rc *runCtx) gemv(x []float32, b []float32, ldb int, trans bool, k, n int, y []float32, acc bool) {
	body := func(lo, hi int) {
		if trans {
			for j := lo; j < hi; j++ {
				d := kernels.Dot(x[:k], b[j*ldb:j*ldb+k])
				if acc {
					y[j] += d
				} else {
					y[j] = d
				}
			}
			return
		}
		if !acc {
			clear(y[lo:hi])
		}
		for p := range k {
			if x[p] != 0 {
				kernels.Axpy(y[lo:hi], x[p], b[p*ldb+lo:p*ldb+hi])
			}
		}
	}
	if rc.e.pool.Threads() == 1 || 2*n*k < gemmMinFlops {
		body(0, n)
		return
	}
	rc.par(n, 64, body)
}
