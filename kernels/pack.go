package kernels

import "github.com/edgeai-go/edgeai/quant"

// Packed weights. A matrix-vector product over rows in the file's order
// reads one memory stream per row of its tile and gathers the rows' scales
// one by one; packing interleaves a group of packRows rows block column by
// block column, so that a product reads one stream and converts the
// group's scales with one instruction. On this project's AVX-512 test
// machine that reads Q4_0, Q5_0 and Q8_0 matrices larger than the caches
// 1.2-1.5x faster (BenchmarkPacked); llama.cpp repacks Q4_0 the same way
// on AVX-512.
//
// The packed layout of a matrix of 32-value blocks with an fp16 scale first
// (Q4_0: 18 bytes, 16 of nibbles; Q8_0: 34 bytes, 32 of int8): the rows
// [0, G) with G = rows - rows%packRows form groups of packRows rows; group
// g's block column b is the packRows·B bytes at (g·nb + b)·packRows·B (B
// the block size) holding the fifteen rows' fp16 scales (row r at 2r),
// then their quants, B-2 bytes each, row r in slot s(r) at 30 + (B-2)·s(r).
// Q8_0 keeps the rows in order (s(r) = r: a 64-byte register holds rows
// 2p and 2p+1); Q4_0 puts row r in slot 4·(r%4) + r/4, the order in which
// the kernels' 4x4 transposes leave row r in lane r; Q5_0 is laid out as
// Q4_0 with its fifth bits in between (see q5QH). The rows from G on
// follow as in the file, so every row keeps its offset range and the
// packed matrix has the file's size.

// packRows is the number of rows a packed group interleaves: fifteen, so
// that the sixteenth lane of the prompt kernel's vectors is free for its
// bias row (as in tileQ4_0x15VNNI).
const packRows = 15

// packSlot is the quant slot of row r of a packed group of t.
func packSlot(t quant.Type, r int) int {
	if t == quant.Q4_0 || t == quant.Q5_0 {
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
	if t == quant.Q4_0 || t == quant.Q8_0 || t == quant.Q5_0 {
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
			row := group[r*rb:][:rb]
			for b := range nb {
				packPlace(t, out[b*packRows*bs:][:packRows*bs], r, row[b*bs:][:bs])
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
	packGather(t, w[(r/packRows*nb+b)*packRows*bs:][:packRows*bs], r%packRows, dst[:bs])
}

// Q5_0 (22-byte blocks: fp16 d, 4 bytes of fifth bits qh, 16 bytes of
// nibbles) packs like Q4_0 with the fifth bits between the scales and the
// nibbles: a block column is the scales (30 bytes), then for each nibble
// register j (rows 4L+j, L < 4, 3 for j = 3) the low halves of the rows' qh
// (bits of values 0..15, two bytes per row in lane order), then their high
// halves (values 16..31), 16 bytes per register (12 for the last), so that
// a 64-bit mask load gives the fifth bit of every byte of the register;
// then the nibble slots from 90, as Q4_0's from 30.

// q5QH returns the offsets of the low and high qh halves of row r (of a
// group) in a packed Q5_0 block column.
func q5QH(r int) (lo, hi int) {
	j, l := r%4, r/4
	base := 30 + 16*j
	if j == 3 {
		return base + 2*l, base + 6 + 2*l
	}
	return base + 2*l, base + 8 + 2*l
}

// packPlace writes the file-format block blk of row r into the packed
// block column col of t.
// It moves fixed-size arrays (no copy calls: packing runs over every
// weight at load).
func packPlace(t quant.Type, col []byte, r int, blk []byte) {
	col[2*r], col[2*r+1] = blk[0], blk[1]
	switch t {
	case quant.Q4_0:
		*(*[16]byte)(col[30+16*packSlot(t, r):]) = *(*[16]byte)(blk[2:])
	case quant.Q8_0:
		*(*[32]byte)(col[30+32*packSlot(t, r):]) = *(*[32]byte)(blk[2:])
	case quant.Q5_0:
		lo, hi := q5QH(r)
		col[lo], col[lo+1], col[hi], col[hi+1] = blk[2], blk[3], blk[4], blk[5]
		*(*[16]byte)(col[90+16*packSlot(t, r):]) = *(*[16]byte)(blk[6:])
	}
}

// packGather is packPlace's inverse: block of row r of the packed block
// column col into blk.
func packGather(t quant.Type, col []byte, r int, blk []byte) {
	bs := layouts[t].bb
	blk[0], blk[1] = col[2*r], col[2*r+1]
	if t == quant.Q5_0 {
		lo, hi := q5QH(r)
		copy(blk[2:4], col[lo:lo+2])
		copy(blk[4:6], col[hi:hi+2])
		copy(blk[6:22], col[90+16*packSlot(t, r):])
		return
	}
	copy(blk[2:bs], col[30+(bs-2)*packSlot(t, r):])
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
// (dotQ4_0, dotQ5_0 or dotQ8_0, bit for bit) of the fifteen rows of a
// packed group of t (nb block columns at w) with the activation row a.
func packedGroup(t quant.Type, nb int, w, a []byte, out *[packRows]float32) {
	bs := layouts[t].bb
	var blk [34]byte // row r's block b, gathered
	for r := range packRows {
		var acc float32
		var acc8 lanes8
		for b := range nb {
			packGather(t, w[b*packRows*bs:][:packRows*bs], r, blk[:bs])
			ab := (*[34]byte)(a[b*34:])
			scale := blockScale(u16(blk[0:]), u16(ab[0:]))
			switch t {
			case quant.Q4_0:
				acc = fma32(float32(blockQ4_0((*[18]byte)(blk[:18]), ab)), scale, acc)
			case quant.Q5_0:
				s := blockQ5_0((*[22]byte)(blk[:22]), ab)
				acc8.add(scale, &s)
			default:
				s := blockQ8_0(&blk, ab)
				acc8.add(scale, &s)
			}
		}
		if t != quant.Q4_0 {
			acc = acc8.sum()
		}
		out[r] = acc
	}
}
