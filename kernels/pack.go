package kernels

import "github.com/edgeai-go/edgeai/quant"

// Packed weights. A matrix-vector product over rows in the file's order
// reads one memory stream per row of its tile and gathers the rows' scales
// one by one; packing interleaves a group of packRows rows block column by
// block column, so that a product reads one stream and converts the
// group's scales with one instruction. On this project's AVX-512 test
// machine that reads a Q4_0 matrix larger than the caches 1.3x faster
// (BenchmarkPackedQ4_0); llama.cpp repacks Q4_0 the same way on AVX-512.
//
// The packed layout of a matrix of 32-value blocks with an fp16 scale first
// (Q4_0: 18 bytes, 16 of nibbles; Q8_0: 34 bytes, 32 of int8): the rows
// [0, G) with G = rows - rows%packRows form groups of packRows rows; group
// g's block column b is the packRows·B bytes at (g·nb + b)·packRows·B (B
// the block size) holding the fifteen rows' fp16 scales (row r at 2r),
// then their quants, B-2 bytes each, row r in slot s(r) at 30 + (B-2)·s(r).
// Q8_0 keeps the rows in order (s(r) = r: a 64-byte register holds rows
// 2p and 2p+1); Q4_0 puts row r in slot 4·(r%4) + r/4, the order in which
// the kernels' 4x4 transposes leave row r in lane r. The rows from G on
// follow as in the file, so every row keeps its offset range and the
// packed matrix has the file's size.

// packRows is the number of rows a packed group interleaves: fifteen, so
// that the sixteenth lane of the prompt kernel's vectors is free for its
// bias row (as in tileQ4_0x15VNNI).
const packRows = 15

// packSlot is the quant slot of row r of a packed group of t.
func packSlot(t quant.Type, r int) int {
	if t == quant.Q4_0 {
		return 4*(r%4) + r/4
	}
	return r
}

// packGemvFunc writes to out[r] (r < packRows) the dot products of the nb
// block columns of a packed group at w with the activation row at a.
type packGemvFunc func(nb int, w, a *byte, out *float32)

// packTileFunc adds to out[j·ldo + r] (r < packRows, j < n) the dot
// products of the nb block columns of a packed group at w with the n
// activation rows at a + j·ab; out starts at zero.
type packTileFunc func(nb int, w, a *byte, ab, n int, out *float32, ldo int)

// PackGroup returns the number of rows the packed layout of t weights
// interleaves, 0 if t has no packed layout.
func PackGroup(t quant.Type) int {
	if t == quant.Q4_0 || t == quant.Q8_0 {
		return packRows
	}
	return 0
}

// PackPays reports whether the kernels in use multiply packed t weights
// faster than the file's layout (elsewhere MatMulPacked works, on the
// generic code).
func PackPays(t quant.Type) bool { return int(t) < numTypes && cur.packGemv[t] != nil }

// Pack writes the t matrix src (rows rows of cols values) to dst, of the
// same size, in the packed layout (see the package's pack.go): groups of
// PackGroup(t) rows interleaved block by block, the rows past the last
// whole group as in src. dst may be src itself (packing in place, group by
// group through a copy of one group); other overlaps are not allowed. A
// type without a packed layout, a cols that is not a whole number of
// blocks or slices of the wrong size are programmer errors and panic.
func Pack(t quant.Type, dst, src []byte, rows, cols int) {
	if PackGroup(t) == 0 {
		panic("kernels: Pack: no packed layout for " + t.String())
	}
	rb := rowBytes("Pack", t, cols)
	if rows < 0 || len(src)/max(rb, 1) < rows || len(dst) != len(src) || (rb > 0 && len(src) != rows*rb) {
		panic("kernels: Pack: " + itoa(rows) + " rows of " + itoa(rb) + " bytes, src " + itoa(len(src)) + ", dst " + itoa(len(dst)))
	}
	nb, bs := cols/32, layouts[t].bb
	g := rows - rows%packRows
	inPlace := len(src) > 0 && &dst[0] == &src[0]
	var group []byte // the rows of the group being packed
	if inPlace {
		group = make([]byte, packRows*rb)
	}
	for grp := range g / packRows {
		if inPlace {
			copy(group, src[grp*packRows*rb:])
		} else {
			group = src[grp*packRows*rb:][:packRows*rb]
		}
		out := dst[grp*nb*packRows*bs:][:nb*packRows*bs]
		for r := range packRows {
			row, slot := group[r*rb:][:rb], 30+(bs-2)*packSlot(t, r)
			for b := range nb { // fixed-size moves: no copy calls
				col, blk := out[b*packRows*bs:][:packRows*bs], row[b*bs:][:bs]
				col[2*r], col[2*r+1] = blk[0], blk[1]
				if bs == 18 {
					*(*[16]byte)(col[slot:]) = *(*[16]byte)(blk[2:])
				} else {
					*(*[32]byte)(col[slot:]) = *(*[32]byte)(blk[2:])
				}
			}
		}
	}
	if !inPlace {
		copy(dst[g*rb:], src[g*rb:])
	}
}

// PackedBlock copies block b of row r of a t matrix of rows rows and cols
// values laid out by Pack into dst (one block's bytes, in the file's
// format), so that single rows of a packed matrix can still be read (a
// token embedding that is also the LM head). Out-of-range arguments are
// programmer errors and panic.
func PackedBlock(t quant.Type, w []byte, rows, cols, r, b int, dst []byte) {
	if PackGroup(t) == 0 {
		panic("kernels: PackedBlock: no packed layout for " + t.String())
	}
	bs, rb, nb := layouts[t].bb, rowBytes("PackedBlock", t, cols), cols/32
	if r < 0 || r >= rows || b < 0 || b >= nb || len(dst) < bs || len(w) < rows*rb {
		panic("kernels: PackedBlock: block " + itoa(b) + " of row " + itoa(r) + " out of range")
	}
	if r >= rows-rows%packRows {
		copy(dst[:bs], w[r*rb+b*bs:])
		return
	}
	col := w[(r/packRows*nb+b)*packRows*bs:][:packRows*bs]
	copy(dst[:2], col[2*(r%packRows):])
	copy(dst[2:bs], col[30+(bs-2)*packSlot(t, r%packRows):])
}

// MatMulPacked is MatMul over a matrix of rows rows that Pack laid out:
// out[j·ldo + r] = VecDot of row r and activation row j, bit-identical to
// MatMul on the file's layout, for r in [rowLo, rowHi). rowLo must be a
// multiple of packRows (PackedRows of a packed type) and so must rowHi
// unless it is rows; other ranges, like MatMul's shape errors, are
// programmer errors and panic. MatMulPacked does not allocate.
func MatMulPacked(t quant.Type, w []byte, rows, cols, rowLo, rowHi int, a []byte, n int, out []float32, ldo int) {
	if PackGroup(t) == 0 {
		panic("kernels: MatMulPacked: no packed layout for " + t.String())
	}
	g := rows - rows%packRows
	if rowLo < 0 || rowHi > rows || rowLo > rowHi || rowLo%packRows != 0 || (rowHi%packRows != 0 && rowHi != rows) {
		panic("kernels: MatMulPacked: rows [" + itoa(rowLo) + "," + itoa(rowHi) + ") of " + itoa(rows) + " are not whole groups of " + itoa(packRows))
	}
	// The rows past the groups are in the file's layout: MatMul checks
	// every shape on the way.
	MatMul(t, w, cols, max(rowLo, g), max(rowHi, g), a, n, out, ldo)
	hi := min(rowHi, g)
	if rowLo >= hi || n == 0 || cols == 0 {
		return
	}
	rb := rowBytes("MatMulPacked", t, cols)
	ab := rowBytes("MatMulPacked", layouts[t].act, cols)
	nb := cols / 32
	switch {
	case len(w) < rows*rb:
		panic("kernels: MatMulPacked: weights hold " + itoa(len(w)) + " bytes, need " + itoa(rows*rb))
	case len(a)/ab < n:
		panic("kernels: MatMulPacked: activations hold " + itoa(len(a)/ab) + " rows, need " + itoa(n))
	case n > 1 && ldo < rows, (len(out)-hi)/max(ldo, 1) < n-1:
		panic("kernels: MatMulPacked: out has " + itoa(len(out)) + " values, need " + itoa((n-1)*ldo+hi))
	}
	gb := packRows * rb // bytes of a group
	gemv, tile := cur.packGemv[t], cur.packTile[t]
	for r := rowLo; r < hi; r += packRows {
		wg := w[r/packRows*gb:][:gb]
		switch {
		case tile != nil && n >= minTileRowsActs:
			for j := range n {
				clear(out[j*ldo+r : j*ldo+r+packRows])
			}
			tile(nb, &wg[0], &a[0], ab, n, &out[r], ldo)
		case gemv != nil:
			for j := range n {
				gemv(nb, &wg[0], &a[j*ab], &out[j*ldo+r])
			}
		default:
			for j := range n {
				packedGroup(t, nb, wg, a[j*ab:(j+1)*ab], (*[packRows]float32)(out[j*ldo+r:]))
			}
		}
	}
}

// packedGroup is the generic path of MatMulPacked: the dot products
// (dotQ4_0 or dotQ8_0, bit for bit) of the fifteen rows of a packed group of
// t (nb block columns at w) with the activation row a.
func packedGroup(t quant.Type, nb int, w, a []byte, out *[packRows]float32) {
	bs := layouts[t].bb
	var blk [34]byte // row r's block b, gathered
	for r := range packRows {
		var acc float32
		var acc8 lanes8
		for b := range nb {
			col := w[b*packRows*bs:]
			copy(blk[:2], col[2*r:])
			copy(blk[2:bs], col[30+(bs-2)*packSlot(t, r):][:bs-2])
			ab := a[b*34 : (b+1)*34]
			if t == quant.Q4_0 {
				// dotQ4_0's one-block step
				var s int32
				for j := range 16 {
					q := blk[2+j]
					s += (int32(q&15)-8)*int32(int8(ab[2+j])) + (int32(q>>4)-8)*int32(int8(ab[18+j]))
				}
				acc = fma32(float32(s), blockScale(u16(blk[0:]), u16(ab[0:])), acc)
				continue
			}
			// dotQ8_0's one-block step
			var s [8]int32
			for k := range 8 {
				j := 2 + 4*k
				s[k] = int32(int8(blk[j]))*int32(int8(ab[j])) + int32(int8(blk[j+1]))*int32(int8(ab[j+1])) +
					int32(int8(blk[j+2]))*int32(int8(ab[j+2])) + int32(int8(blk[j+3]))*int32(int8(ab[j+3]))
			}
			acc8.add(blockScale(u16(blk[0:]), u16(ab[0:])), &s)
		}
		if t == quant.Q8_0 {
			acc = acc8.sum()
		}
		out[r] = acc
	}
}
