package kernels

import "github.com/edgeai-go/edgeai/quant"

// MatMul takes the tileRows kernels for at least minTileRowsActs activation
// rows and minTileRows weight rows (measured: below that, transposing the
// weights costs more than the 4-row tiles' reductions).
const (
	minTileRowsActs = 8
	minTileRows     = 8
)

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
	if tr := cur.tileRows[t]; tr != nil && n >= minTileRowsActs {
		// Prompting: up to 15 weight rows at a time, each block's weights
		// loaded and transposed once for all n activation rows; a last
		// group of fewer than minTileRows rows goes to the 4-row tiles
		// below. The kernels read rowsPerTile rows (those past rows are
		// discarded), so a group must not reach past the end of w.
		r := rowLo
		for ; r+minTileRows <= rowHi && r+rowsPerTile <= len(w)/rb; r += rowsPerTile {
			rows := min(rowsPerTile, rowHi-r)
			for j := range n {
				clear(out[j*ldo+r : j*ldo+r+rows])
			}
			tr(cols/layouts[t].bs, &w[r*rb], rb, &a[0], ab, n, &out[r], ldo, rows)
		}
		rowLo = min(r, rowHi)
		if rowLo == rowHi {
			return
		}
	}
	if tf := cur.tile[t]; tf != nil {
		matMulTiled(tf, cur.tile4x4[t], f, cols/layouts[t].bs, cols, rb, ab, w, rowLo, rowHi, a, n, out, ldo)
		return
	}
	if pt := cur.packTile[t]; pt != nil && n >= minTileRowsActs && PackGroup(t)*rb <= packScratch && rowHi-rowLo >= PackGroup(t) {
		// A prompt over weights in the file's layout (mapped): each group
		// of rows is packed into a scratch and multiplied by the packed
		// tile, the packing paid once for all n activation rows.
		rowLo = matMulPackOnTheFly(t, pt, w, cols, rb, ab, rowLo, rowHi, a, n, out, ldo)
		if rowLo == rowHi {
			return
		}
	}
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

// matMulTiled is MatMul with a tile kernel (nb blocks per row of rb weight
// bytes and ab activation bytes), the shapes already checked. Decoding (n =
// 1) takes eight weight rows per call; prompting takes four weight rows by
// two activation rows, a tile of weight rows (about weightTileBytes) being
// multiplied by every activation row before the next (four at a time with
// t4 if there is one). Rows left over (fewer than four) go through f, the
// matching dot product.
func matMulTiled(tf tileFunc, t4 tile4x4Func, f vecDotFunc, nb, cols, rb, ab int, w []byte, rowLo, rowHi int, a []byte, n int, out []float32, ldo int) {
	if n == 1 {
		r := rowLo
		for ; r+8 <= rowHi; r += 8 {
			tf(nb, &w[r*rb], &w[(r+4)*rb], rb, &a[0], &a[0], &out[r], &out[r+4])
		}
		if r+4 <= rowHi {
			tf(nb, &w[r*rb], &w[r*rb], rb, &a[0], &a[0], &out[r], &out[r])
			r += 4
		}
		for ; r < rowHi; r++ {
			out[r] = f(cols, w[r*rb:(r+1)*rb], a[:ab])
		}
		return
	}
	rowTile := max(4, weightTileBytes/rb&^3)
	for r0 := rowLo; r0 < rowHi; r0 += rowTile {
		r1 := min(r0+rowTile, rowHi)
		r4 := r0 + (r1-r0)&^3
		j := 0
		if t4 != nil {
			for ; j+4 <= n; j += 4 {
				for r := r0; r < r4; r += 4 {
					t4(nb, &w[r*rb], rb, &a[j*ab], ab, &out[j*ldo+r], ldo)
				}
				for r := r4; r < r1; r++ {
					wr := w[r*rb : (r+1)*rb]
					for jj := j; jj < j+4; jj++ {
						out[jj*ldo+r] = f(cols, wr, a[jj*ab:(jj+1)*ab])
					}
				}
			}
		}
		for ; j < n; j += 2 {
			j1 := min(j+1, n-1)
			for r := r0; r < r4; r += 4 {
				tf(nb, &w[r*rb], &w[r*rb], rb, &a[j*ab], &a[j1*ab], &out[j*ldo+r], &out[j1*ldo+r])
			}
			for r := r4; r < r1; r++ {
				wr := w[r*rb : (r+1)*rb]
				out[j*ldo+r] = f(cols, wr, a[j*ab:(j+1)*ab])
				out[j1*ldo+r] = f(cols, wr, a[j1*ab:(j1+1)*ab])
			}
		}
	}
}
