package kernels

import "github.com/edgeai-go/edgeai/quant"

// Tile sizes of MatMul: a tile of weight rows stays in the L2 cache while
// every activation row passes by it, in groups that stay in the L1 cache.
const (
	weightTileBytes = 64 << 10
	actTileBytes    = 16 << 10
)

// MatMul computes, for the weight rows r in [rowLo, rowHi) of the row-major
// matrix w (type t, cols values per row) and the n activation rows in a
// (each ActivationType(t).RowBytes(cols) bytes, back to back, as written by
// QuantizeActivation):
//
//	out[j*ldo + r] = VecDot(t, cols, row r of w, activation row j)   for j in [0, n)
//
// Each result is bit-identical to that VecDot call. The loops are tiled so
// that every weight row is read from memory once per call: a tile of rows
// (about 64 KiB) is multiplied by all activation rows, taken in groups of
// about 16 KiB, before the next tile is loaded. Workers call MatMul on
// disjoint row ranges of the same out.
//
// Slices too short for the given shape, rows of out that overlap (ldo <
// rowHi with n > 1), a cols that is not a whole number of
// blocks or an unsupported t are programmer errors and panic. MatMul does
// not allocate.
func MatMul(t quant.Type, w []byte, cols, rowLo, rowHi int, a []byte, n int, out []float32, ldo int) {
	if !Supported(t) {
		panic("kernels: MatMul: no dot product for " + t.String() + " weights (see kernels.Check)")
	}
	rb := rowBytes("MatMul", t, cols)
	ab := rowBytes("MatMul", layouts[t].act, cols)
	switch {
	case rowLo < 0 || rowHi < rowLo || n < 0 || ldo < 0 || (n > 1 && ldo < rowHi):
		panic("kernels: MatMul: bad range rows [" + itoa(rowLo) + "," + itoa(rowHi) + "), n " + itoa(n) + ", ldo " + itoa(ldo))
	case rowHi == rowLo || n == 0:
		return
	case cols == 0: // empty rows: every dot product is 0
		if (len(out)-rowHi)/max(ldo, 1) < n-1 || len(out) < rowHi {
			panic("kernels: MatMul: out has " + itoa(len(out)) + " values, need " + itoa((n-1)*ldo+rowHi))
		}
		for j := range n {
			clear(out[j*ldo+rowLo : j*ldo+rowHi])
		}
		return
	case len(w)/rb < rowHi: // division: rowHi*rb could overflow
		panic("kernels: MatMul: weights hold " + itoa(len(w)/rb) + " rows, need " + itoa(rowHi))
	case len(a)/ab < n:
		panic("kernels: MatMul: activations hold " + itoa(len(a)/ab) + " rows, need " + itoa(n))
	case (len(out)-rowHi)/max(ldo, 1) < n-1 || len(out) < rowHi:
		panic("kernels: MatMul: out has " + itoa(len(out)) + " values, need " + itoa((n-1)*ldo+rowHi))
	}
	f := cur.vecDot[t]
	if n == 1 {
		a = a[:ab]
		for r := rowLo; r < rowHi; r++ {
			out[r] = f(cols, w[r*rb:(r+1)*rb], a)
		}
		return
	}
	rowTile := max(1, weightTileBytes/rb)
	actTile := max(1, actTileBytes/ab)
	for r0 := rowLo; r0 < rowHi; r0 += rowTile {
		r1 := min(r0+rowTile, rowHi)
		for j0 := 0; j0 < n; j0 += actTile {
			j1 := min(j0+actTile, n)
			for r := r0; r < r1; r++ {
				wr := w[r*rb : (r+1)*rb]
				for j := j0; j < j1; j++ {
					out[j*ldo+r] = f(cols, wr, a[j*ab:(j+1)*ab])
				}
			}
		}
	}
}
