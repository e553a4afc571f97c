package kernels

import (
	"cmp"
	"unsafe"

	"github.com/edgeai-go/edgeai/quant"
)

// Packed weights. A matrix-vector product over rows in the file's order
// reads one memory stream per row of its tile and gathers the rows' scales
// one by one; packing interleaves a group of rows block column by block
// column, so that a product reads one stream, converts the group's scales
// with one instruction and, for the K-quants, unpacks their 6-bit scales
// for all rows of the group at once. On this project's AVX-512 test
// machine that reads Q4_0, Q5_0 and Q8_0 matrices larger than the caches
// 1.2-1.5x faster (BenchmarkPacked); llama.cpp repacks Q4_0 and Q4_K the
// same way.
//
// In every layout the rows [0, G) with G = rows - rows%P (P =
// PackGroup(t)) form groups of P rows; group g's block column b is the
// P·B bytes at (g·nb + b)·P·B (B the block size, nb the blocks of a row);
// the rows from G on follow as in the file, so every row keeps its offset
// range and the packed matrix has the file's size.
//
// 32-value blocks (P = 15): a block column holds the fifteen rows' fp16
// scales (row r at 2r), then their quants, B-2 bytes each, row r in slot
// s(r) at 30 + (B-2)·s(r). Q8_0 keeps the rows in order (s(r) = r: a
// 64-byte register holds rows 2p and 2p+1); Q4_0 and IQ4_NL put row r in
// slot 4·(r%4) + r/4, the order in which the kernels' 4x4 transposes
// leave row r in lane r; Q5_0 is laid out as Q4_0 with its fifth bits in
// between (see q5QH).
//
// K-quants (P = 16: sixteen rows fill a 512-bit register with one dword
// each, two 256-bit registers with eight): a block column holds the rows'
// fp16 scales d (row r at 2r), then (Q4_K, Q5_K) their fp16 dmin at
// 32+2r and their sixteen 6-bit scales and minimums rearranged into three
// dwords per row (see kScales) at 64+4r, 128+4r, 192+4r (Q6_K: its
// sixteen int8 scales, scale j of row r at 32+16j+r); then the quants as
// "dword lines" of 64 bytes, line k holding dword k of the rows'
// quants, row r at 4r, so that one load gives the same four bytes of every
// row: Q4_K's 128 bytes of nibbles are lines 0..31 from 256; Q5_K's 32
// bytes of high bits lines 0..7 from 256, then its nibbles as Q4_K's from
// 768; Q6_K's 128 bytes of ql lines 0..31 from 288, its 64 bytes of qh
// lines 0..15 from 2336.

// packRows is the number of rows a packed group of 32-value blocks
// interleaves: fifteen, so that the sixteenth lane of the AVX-512 prompt
// kernel's vectors is free for its bias row (as in tileQ4_0x15VNNI).
const packRows = 15

// packRowsK is the number of rows a packed K-quant group interleaves.
const packRowsK = 16

// packSlot is the quant slot of row r of a packed group of t.
func packSlot(t quant.Type, r int) int {
	if t == quant.Q4_0 || t == quant.Q5_0 || t == quant.IQ4_NL {
		return 4*(r%4) + r/4
	}
	return r
}

// packGemvFunc writes to out[r] (r < PackGroup(t)) the dot products of the nb
// block columns of a packed group at w with the activation row at a.
type packGemvFunc func(nb int, w, a *byte, out *float32)

// packTileFunc adds to out[j·ldo + r] (r < PackGroup(t), j < n) the dot
// products of the nb block columns of a packed group at w with the n
// activation rows at a + j·ab; out starts at zero.
type packTileFunc func(nb int, w, a *byte, ab, n int, out *float32, ldo int)

// PackGroup returns the number of rows the packed layout of t weights
// interleaves, 0 if t has no packed layout.
func PackGroup(t quant.Type) int {
	switch t {
	case quant.Q4_0, quant.Q8_0, quant.Q5_0, quant.IQ4_NL:
		return packRows
	case quant.Q4_K, quant.Q5_K, quant.Q6_K:
		return packRowsK
	}
	return 0
}

// PackPays reports whether the kernels in use multiply packed t weights
// faster than the file's layout (elsewhere MatMulPacked works, on the
// generic code): on every amd64 path for the types with a packed layout
// (on avx512 but IQ4_NL, whose file-layout tiles it keeps).
func PackPays(t quant.Type) bool { return int(t) < numTypes && cur.packGemv[t] != nil }

// Pack writes the t matrix src (rows rows of cols values) to dst, of the
// same size, in the packed layout (see the package's pack.go): groups of
// PackGroup(t) rows interleaved block by block, the rows past the last
// whole group as in src. dst may be src itself (packing in place, group by
// group through a copy of one group); other overlaps are not allowed. A
// type without a packed layout, a cols that is not a whole number of
// blocks or slices of the wrong size are programmer errors and panic.
func Pack(t quant.Type, dst, src []byte, rows, cols int) {
	P := PackGroup(t)
	if P == 0 {
		panic("kernels: Pack: no packed layout for " + t.String())
	}
	rb := rowBytes("Pack", t, cols)
	if rows < 0 || len(src)/max(rb, 1) < rows || len(dst) != len(src) || (rb > 0 && len(src) != rows*rb) {
		panic("kernels: Pack: " + itoa(rows) + " rows of " + itoa(rb) + " bytes, src " + itoa(len(src)) + ", dst " + itoa(len(dst)))
	}
	nb, bs := cols/layouts[t].bs, layouts[t].bb
	g := rows - rows%P
	inPlace := len(src) > 0 && &dst[0] == &src[0]
	var group []byte // the rows of the group being packed
	if inPlace {
		group = make([]byte, P*rb)
	}
	for grp := range g / P {
		if inPlace {
			copy(group, src[grp*P*rb:])
		} else {
			group = src[grp*P*rb:][:P*rb]
		}
		out := dst[grp*nb*P*bs:][:nb*P*bs]
		for r := range P {
			row := group[r*rb:][:rb]
			for b := range nb {
				packPlace(t, out[b*P*bs:][:P*bs], r, row[b*bs:][:bs])
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
	P := PackGroup(t)
	if P == 0 {
		panic("kernels: PackedBlock: no packed layout for " + t.String())
	}
	bs, rb := layouts[t].bb, rowBytes("PackedBlock", t, cols)
	nb := cols / layouts[t].bs
	if r < 0 || r >= rows || b < 0 || b >= nb || len(dst) < bs || len(w) < rows*rb {
		panic("kernels: PackedBlock: block " + itoa(b) + " of row " + itoa(r) + " out of range")
	}
	if r >= rows-rows%P {
		copy(dst[:bs], w[r*rb+b*bs:])
		return
	}
	packGather(t, w[(r/P*nb+b)*P*bs:][:P*bs], r%P, dst[:bs])
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
	switch t {
	case quant.Q4_0, quant.IQ4_NL:
		col[2*r], col[2*r+1] = blk[0], blk[1]
		*(*[16]byte)(col[30+16*packSlot(t, r):]) = *(*[16]byte)(blk[2:])
	case quant.Q8_0:
		col[2*r], col[2*r+1] = blk[0], blk[1]
		*(*[32]byte)(col[30+32*packSlot(t, r):]) = *(*[32]byte)(blk[2:])
	case quant.Q5_0:
		col[2*r], col[2*r+1] = blk[0], blk[1]
		lo, hi := q5QH(r)
		col[lo], col[lo+1], col[hi], col[hi+1] = blk[2], blk[3], blk[4], blk[5]
		*(*[16]byte)(col[90+16*packSlot(t, r):]) = *(*[16]byte)(blk[6:])
	case quant.Q4_K, quant.Q5_K:
		col[2*r], col[2*r+1], col[32+2*r], col[33+2*r] = blk[0], blk[1], blk[2], blk[3]
		d := kScales((*[12]byte)(blk[4:]))
		*(*[4]byte)(col[64+4*r:]), *(*[4]byte)(col[128+4*r:]), *(*[4]byte)(col[192+4*r:]) = d[0], d[1], d[2]
		if t == quant.Q5_K {
			toLines(col, 256+4*r, blk, 16, 8)
			toLines(col, 768+4*r, blk, 48, 32)
		} else {
			toLines(col, 256+4*r, blk, 16, 32)
		}
	case quant.Q6_K:
		col[2*r], col[2*r+1] = blk[208], blk[209]
		for j := range 16 {
			col[32+16*j+r] = blk[192+j]
		}
		toLines(col, 288+4*r, blk, 0, 48)
	}
}

// toLines moves the n dwords of a block from blk[off:] to the dword lines
// of a packed block column, dword k to col[at+64k:].
func toLines(col []byte, at int, blk []byte, off, n int) {
	if at < 0 || off < 0 || at+64*(n-1)+4 > len(col) || off+4*n > len(blk) {
		panic("kernels: packing: dword lines out of range")
	}
	d, s := unsafe.Pointer(&col[at]), unsafe.Pointer(&blk[off])
	for k := range n {
		*(*[4]byte)(unsafe.Add(d, 64*k)) = *(*[4]byte)(unsafe.Add(s, 4*k))
	}
}

// fromLines is toLines's inverse.
func fromLines(blk []byte, off int, col []byte, at, n int) {
	if at < 0 || off < 0 || at+64*(n-1)+4 > len(col) || off+4*n > len(blk) {
		panic("kernels: packing: dword lines out of range")
	}
	d, s := unsafe.Pointer(&blk[off]), unsafe.Pointer(&col[at])
	for k := range n {
		*(*[4]byte)(unsafe.Add(d, 4*k)) = *(*[4]byte)(unsafe.Add(s, 64*k))
	}
}

// packGather is packPlace's inverse: block of row r of the packed block
// column col into blk.
func packGather(t quant.Type, col []byte, r int, blk []byte) {
	switch t {
	case quant.Q4_0, quant.IQ4_NL:
		blk[0], blk[1] = col[2*r], col[2*r+1]
		*(*[16]byte)(blk[2:]) = *(*[16]byte)(col[30+16*packSlot(t, r):])
	case quant.Q8_0:
		blk[0], blk[1] = col[2*r], col[2*r+1]
		*(*[32]byte)(blk[2:]) = *(*[32]byte)(col[30+32*packSlot(t, r):])
	case quant.Q5_0:
		blk[0], blk[1] = col[2*r], col[2*r+1]
		lo, hi := q5QH(r)
		blk[2], blk[3], blk[4], blk[5] = col[lo], col[lo+1], col[hi], col[hi+1]
		*(*[16]byte)(blk[6:]) = *(*[16]byte)(col[90+16*packSlot(t, r):])
	case quant.Q4_K, quant.Q5_K:
		blk[0], blk[1], blk[2], blk[3] = col[2*r], col[2*r+1], col[32+2*r], col[33+2*r]
		*(*[12]byte)(blk[4:]) = kScalesInv([3][4]byte{*(*[4]byte)(col[64+4*r:]), *(*[4]byte)(col[128+4*r:]), *(*[4]byte)(col[192+4*r:])})
		if t == quant.Q5_K {
			fromLines(blk, 16, col, 256+4*r, 8)
			fromLines(blk, 48, col, 768+4*r, 32)
		} else {
			fromLines(blk, 16, col, 256+4*r, 32)
		}
	case quant.Q6_K:
		blk[208], blk[209] = col[2*r], col[2*r+1]
		for j := range 16 {
			blk[192+j] = col[32+16*j+r]
		}
		fromLines(blk, 0, col, 288+4*r, 48)
	}
}

// kScales rearranges the twelve bytes of a Q4_K/Q5_K block's 6-bit scales
// sc_j and minimums m_j (ggml's packing, see scaleMinK4) into the three
// dwords of the packed layout, whose byte i (i < 4) is
//
//	dword 0: sc_i   | (m_{4+i} & 3) << 6
//	dword 1: sc_4+i | (m_{4+i} >> 2 & 3) << 6
//	dword 2: m_i    | (m_{4+i} >> 4) << 6
//
// so that a byte shuffle and a mask give any sc_j or m_j (j < 4) of every
// row of a group, and three shifts and masks the m_{4+i}. It is a
// bijection of the 96 bits.
func kScales(s *[12]byte) (d [3][4]byte) {
	for i := range 4 {
		sc0, m0 := scaleMinK4(s, i)
		sc1, m1 := scaleMinK4(s, 4+i)
		d[0][i] = byte(sc0) | byte(m1&3)<<6
		d[1][i] = byte(sc1) | byte(m1>>2&3)<<6
		d[2][i] = byte(m0) | byte(m1>>4)<<6
	}
	return d
}

// kScalesInv is kScales's inverse.
func kScalesInv(d [3][4]byte) (s [12]byte) {
	for i := range 4 {
		sc0, sc1, m0 := d[0][i]&63, d[1][i]&63, d[2][i]&63
		m1 := d[0][i]>>6 | (d[1][i]>>6)<<2 | (d[2][i]>>6)<<4
		s[i] = sc0 | (sc1>>4)<<6
		s[4+i] = m0 | (m1>>4)<<6
		s[8+i] = sc1&15 | (m1&15)<<4
	}
	return s
}

// MatMulPacked is MatMul over a matrix of rows rows that Pack laid out:
// out[j·ldo + r] = VecDot of row r and activation row j, bit-identical to
// MatMul on the file's layout, for r in [rowLo, rowHi), given activation
// rows as QuantizeActivation writes them (int8 quants in [-127, 127]: the
// avx2 Q8_0 and IQ4_NL kernels multiply |w| by a·sign(w)). rowLo must be a
// multiple of PackGroup(t) and so must rowHi unless it is rows; other
// ranges, like MatMul's shape errors, are programmer errors and panic.
// MatMulPacked does not allocate.
func MatMulPacked(t quant.Type, w []byte, rows, cols, rowLo, rowHi int, a []byte, n int, out []float32, ldo int) {
	P := PackGroup(t)
	if P == 0 {
		panic("kernels: MatMulPacked: no packed layout for " + t.String())
	}
	g := rows - rows%P
	if rowLo < 0 || rowHi > rows || rowLo > rowHi || rowLo%P != 0 || (rowHi%P != 0 && rowHi != rows) {
		panic("kernels: MatMulPacked: rows [" + itoa(rowLo) + "," + itoa(rowHi) + ") of " + itoa(rows) + " are not whole groups of " + itoa(P))
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
	nb := cols / layouts[t].bs
	switch {
	case len(w) < rows*rb:
		panic("kernels: MatMulPacked: weights hold " + itoa(len(w)) + " bytes, need " + itoa(rows*rb))
	case len(a)/ab < n:
		panic("kernels: MatMulPacked: activations hold " + itoa(len(a)/ab) + " rows, need " + itoa(n))
	case n > 1 && ldo < rows, (len(out)-hi)/max(ldo, 1) < n-1:
		panic("kernels: MatMulPacked: out has " + itoa(len(out)) + " values, need " + itoa((n-1)*ldo+hi))
	}
	gb := P * rb // bytes of a group
	gemv, tile := cur.packGemv[t], cur.packTile[t]
	for r := rowLo; r < hi; r += P {
		wg := w[r/P*gb:][:gb]
		switch {
		case tile != nil && n >= cmp.Or(cur.packTileMin[t], minTileRowsActs):
			for j := range n {
				clear(out[j*ldo+r : j*ldo+r+P])
			}
			tile(nb, &wg[0], &a[0], ab, n, &out[r], ldo)
		case gemv != nil:
			for j := range n {
				gemv(nb, &wg[0], &a[j*ab], &out[j*ldo+r])
			}
		default:
			for j := range n {
				packedGroup(t, nb, wg, a[j*ab:(j+1)*ab], out[j*ldo+r:][:P])
			}
		}
	}
}

// packedGroup is the generic path of MatMulPacked: the dot products of
// the len(out) rows of a packed group of t (nb block columns at w) with the
// activation row a, bit for bit those of t's dot product (its one-block
// steps on the rows' blocks, gathered).
func packedGroup(t quant.Type, nb int, w, a []byte, out []float32) {
	P, bs := len(out), layouts[t].bb
	var blk [210]byte // row r's block b, gathered
	for r := range P {
		var acc float32
		var acc8 lanes8
		var accm [4]float32
		for b := range nb {
			packGather(t, w[b*P*bs:][:P*bs], r, blk[:bs])
			if t == quant.Q4_K || t == quant.Q5_K || t == quant.Q6_K {
				ab := (*[292]byte)(a[b*292:])
				switch t {
				case quant.Q4_K:
					stepQ4_K((*[144]byte)(blk[:]), ab, &acc8, &accm)
				case quant.Q5_K:
					stepQ5_K((*[176]byte)(blk[:]), ab, &acc8, &acc)
				default:
					stepQ6_K((*[210]byte)(blk[:]), ab, &acc8)
				}
				continue
			}
			ab := (*[34]byte)(a[b*34:])
			scale := blockScale(u16(blk[0:]), u16(ab[0:]))
			switch t {
			case quant.Q4_0:
				acc = fma32(float32(blockQ4_0((*[18]byte)(blk[:18]), ab)), scale, acc)
			case quant.Q5_0:
				s := blockQ5_0((*[22]byte)(blk[:22]), ab)
				acc8.add(scale, &s)
			case quant.IQ4_NL:
				s := blockIQ4_NL((*[18]byte)(blk[:18]), ab)
				acc8.add(scale, &s)
			default:
				s := blockQ8_0((*[34]byte)(blk[:34]), ab)
				acc8.add(scale, &s)
			}
		}
		switch t {
		case quant.Q4_0:
		case quant.Q4_K:
			acc = acc8.sum() + ((accm[0] + accm[2]) + (accm[1] + accm[3]))
		case quant.Q5_K:
			acc = acc8.sum() + acc
		default:
			acc = acc8.sum()
		}
		out[r] = acc
	}
}
