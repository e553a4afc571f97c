package main

import "fmt"

// Lane tiles for the eight-lane 32-value types (Q8_0, Q5_0, IQ4_NL) on
// avx2 and avxvnni. dotQ8_0's arithmetic needs, per row, activation row and
// block, eight exact quad sums and eight fused multiply-adds; here a vector
// holds one quad of eight weight rows (a half of a packed group), so the
// quad k of an activation row, broadcast, meets the quads k of eight rows
// at once and the eight float32 lane vectors of an activation row are the
// lanes k of its eight rows. The weights of a run of block columns are
// first transposed (and unpacked, for Q5_0 and IQ4_NL) into a scratch,
// with what every activation row then needs: avxvnni: the signed weight
// quads and minus 128 times their sums (the activations are made unsigned
// by XOR 0x80, VPDPBUSD from that correction gives the exact sums); avx2:
// the signed quads and their absolute values (VPMADDUBSW of |w| and
// a·sign(w), then VPMADDWD); both: the eight rows' fp16 scales.

// A half block column of the scratch: eight weight vectors, eight
// correction (or |w|) vectors, the scales.
const (
	lhW    = 0
	lhC    = 256
	lhD    = 512
	lhSize = 544
)

// q0Scratch writes lanes<typ>P<v>: the scratch of nb block columns of a
// packed group.
func q0Scratch(g *G, v variant, typ string) {
	name := "lanes" + typ + "P" + v.suffix
	bb := map[string]int{"Q8_0": 510, "Q5_0": 330, "IQ4_NL": 270}[typ]
	g.Doc(fmt.Sprintf(`
func %s(nb int, w, s *byte)

Writes to s, for each of the nb block columns b of the packed %s group w
and each half h (rows 8h..8h+7; row 15 is zeros), at s + (2b+h)·%d: the
eight vectors k of the rows' signed quads k (lane i = quad k of row 8h+i:
%s), then %s, then the rows' eight fp16 scales as float32.`, name, typ, lhSize,
		map[string]string{"Q8_0": "the int8 quants", "Q5_0": "q-16, q the 5-bit value", "IQ4_NL": "the levels"}[typ],
		map[bool]string{true: "minus 128 times each lane's quad sum (int32)", false: "their absolute values"}[v.vnni]))
	g.Raw(fmt.Sprintf("TEXT ·%s(SB), NOSPLIT, $0-24\n", name))
	g.I("MOVQ nb+0(FP), CX")
	g.I("MOVQ w+8(FP), SI")
	g.I("MOVQ s+16(FP), DI")
	g.I("TESTQ CX, CX")
	g.I("JZ done")
	g.L("loop")
	for h := range 2 {
		base := lhSize * h
		// rows 8h+i, i < 8, in Y0..Y7 (row 15 zero), values in order
		for i := range 8 {
			r := 8*h + i
			dst := Y(i)
			if r == 15 {
				g.I("VPXOR %v, %v, %v", dst, dst, dst)
				continue
			}
			switch typ {
			case "Q8_0":
				g.I("VMOVDQU %d(SI), %v", 30+32*r, dst)
			default:
				slot := 4*(r%4) + r/4
				nib := 30
				if typ == "Q5_0" {
					nib = 90
				}
				g.I("VMOVDQU %d(SI), X%d", nib+16*slot, dst.N)
				g.I("VPSRLW $4, X%d, X8", dst.N)
				g.I("VINSERTI128 $1, X8, %v, %v", dst, dst)
				g.I("VPAND x0f<>(SB), %v, %v", dst, dst)
				if typ == "IQ4_NL" {
					g.I("VMOVDQU xiqS<>(SB), Y8")
					g.I("VPSHUFB %v, Y8, %v", dst, dst)
				} else {
					// fifth bits: the row's qh halves (q5QH)
					j, l := r%4, r/4
					lo := 30 + 16*j + 2*l
					hi := 30 + 16*j + 8 + 2*l
					if j == 3 {
						hi = 30 + 16*j + 6 + 2*l
					}
					g.I("MOVWLZX %d(SI), AX", lo)
					g.I("MOVWLZX %d(SI), BX", hi)
					g.I("SHLL $16, BX")
					g.I("ORL BX, AX")
					g.I("VMOVD AX, X8")
					g.I("VPBROADCASTD X8, Y8")
					g.I("VPSHUFB xqh4<>(SB), Y8, Y8")
					g.I("VPOR xbitsel<>(SB), Y8, Y8")
					g.I("VPCMPEQB Y9, Y9, Y9")
					g.I("VPCMPEQB Y9, Y8, Y8")
					g.I("VPAND x10<>(SB), Y8, Y8")
					g.I("VPOR Y8, %v, %v", dst, dst)
					g.I("VPSUBB x10<>(SB), %v, %v", dst, dst)
				}
			}
		}
		// 8x8 dword transpose: Y0..Y7 rows -> Y(k) = dword k of every row
		g.C("transpose: vector k = quad k of the eight rows")
		g.I("VPUNPCKLDQ Y1, Y0, Y8")
		g.I("VPUNPCKHDQ Y1, Y0, Y9")
		g.I("VPUNPCKLDQ Y3, Y2, Y10")
		g.I("VPUNPCKHDQ Y3, Y2, Y11")
		g.I("VPUNPCKLDQ Y5, Y4, Y12")
		g.I("VPUNPCKHDQ Y5, Y4, Y13")
		g.I("VPUNPCKLDQ Y7, Y6, Y14")
		g.I("VPUNPCKHDQ Y7, Y6, Y15")
		// per 128-bit lane: Y8 = [r0d0 r1d0 r0d1 r1d1], Y10 = [r2d0 r3d0 ..]
		g.I("VPUNPCKLQDQ Y10, Y8, Y0")  // r0..3 d0 (lane L: dwords 4L..)
		g.I("VPUNPCKHQDQ Y10, Y8, Y1")  // d1
		g.I("VPUNPCKLQDQ Y11, Y9, Y2")  // d2
		g.I("VPUNPCKHQDQ Y11, Y9, Y3")  // d3
		g.I("VPUNPCKLQDQ Y14, Y12, Y4") // r4..7 d0
		g.I("VPUNPCKHQDQ Y14, Y12, Y5")
		g.I("VPUNPCKLQDQ Y15, Y13, Y6")
		g.I("VPUNPCKHQDQ Y15, Y13, Y7")
		// Y0 = [r0..3 d0 | r0..3 d4], Y4 = [r4..7 d0 | r4..7 d4]
		for k := range 4 {
			a, b := Y(k), Y(4+k)
			g.I("VPERM2I128 $0x20, %v, %v, Y8", b, a) // low lanes: d_k
			g.I("VPERM2I128 $0x31, %v, %v, Y9", b, a) // high lanes: d_(k+4)
			g.I("VMOVDQU Y8, %d(DI)", base+lhW+32*k)
			g.I("VMOVDQU Y9, %d(DI)", base+lhW+32*(k+4))
			for i, wv := range []Reg{Y(8), Y(9)} {
				kk := k + 4*i
				if v.vnni {
					g.I("VPXOR Y10, Y10, Y10")
					g.I("VMOVDQU x80<>(SB), Y11")
					g.DPBUSD(wv, Y(11), Y(10))
					g.I("VPXOR Y11, Y11, Y11")
					g.I("VPSUBD Y10, Y11, Y11")
					g.I("VMOVDQU Y11, %d(DI)", base+lhC+32*kk)
				} else {
					g.I("VPABSB %v, Y10", wv)
					g.I("VMOVDQU Y10, %d(DI)", base+lhC+32*kk)
				}
			}
		}
		g.I("VCVTPH2PS %d(SI), Y8", 16*h)
		g.I("VMOVUPS Y8, %d(DI)", base+lhD)
	}
	g.I("ADDQ $%d, SI", bb)
	g.I("ADDQ $%d, DI", 2*lhSize)
	g.I("DECQ CX")
	g.I("JNZ loop")
	g.L("done")
	g.I("VZEROUPPER")
	g.I("RET")
	g.Raw("\n")
}

// Frame of the lane tiles: two activation slots (the quants of block b
// at 32b, the products d_w·d_a of half h at 1024+64b+32h), the first
// four lanes of each row while the last four are summed, the pointers of
// the second activation row's results and lanes, the rows left.
const (
	ltSlot  = 3072
	ltScale = 1024
	ltT     = 2 * ltSlot
	ltOut1  = ltT + 256
	ltAcc1  = ltOut1 + 8
	ltLeft  = ltAcc1 + 8
	ltFrame = ltLeft + 8
)

// q0LaneTile writes tileLanesP<v>: the scratch of nb block columns times n
// activation rows, into their lane accumulators or, on the last run of
// block columns, straight to the results.
func q0LaneTile(g *G, v variant) {
	name := "tileLanesP" + v.suffix
	g.Doc(fmt.Sprintf(`
func %s(nb int, s, a *byte, ab, n int, acc, out *float32, ldo, mode int)

For the scratch s of nb (at most 32) block columns written by lanes*P%s
and the activation rows j < n at a + j·ab (Q8_0 blocks), accumulates the
float32 lane k of dotQ8_0's arithmetic for row 8h+i (h < 2, i < 8): per
block, lanes = fma(d_w·d_a, float32(quad sums), lanes). The lanes start
at zero, or with mode&1 at acc[64(2j+h) + 8k + i]; without mode&2 they
are stored back there, with it ggml's lane sum of row r goes to
out[j·ldo + r] (r < 15), eight rows per vector addition.

Two activation rows at a time (the last one twice when n is odd), four
lanes k per pass over the blocks: the weight vectors of a quad (and %s)
are loaded once for both rows, which keeps the loads (two a cycle on
Zen 5, where they bounded the one-row tile) below the arithmetic. Each
pair's quants are first copied, %s, to the stack, with the products of
the scales for both halves.`, name, v.suffix,
		map[bool]string{true: "their corrections", false: "their absolute values"}[v.vnni],
		map[bool]string{true: "XOR 0x80 (a+128, unsigned)", false: "as they are"}[v.vnni]))
	g.Raw(fmt.Sprintf("TEXT ·%s(SB), $%d-72\n", name, ltFrame))
	g.I("MOVQ s+8(FP), R12")
	g.I("MOVQ a+16(FP), R8")
	g.I("MOVQ ab+24(FP), R9")
	g.I("MOVQ n+32(FP), BX")
	g.I("MOVQ acc+40(FP), R11")
	g.I("MOVQ out+48(FP), R10")
	g.I("MOVQ ldo+56(FP), R13")
	g.I("SHLQ $2, R13")
	g.I("TESTQ BX, BX")
	g.I("JZ done")
	g.I("MOVQ BX, %d(SP)", ltLeft)
	g.L("pair")
	g.C("the second row of the pair: the next one, or the same again")
	g.I("MOVQ R8, DI")
	g.I("MOVQ R10, AX")
	g.I("MOVQ R11, BX")
	g.I("CMPQ %d(SP), $2", ltLeft)
	g.I("JLT single")
	g.I("ADDQ R9, DI")
	g.I("ADDQ R13, AX")
	g.I("ADDQ $512, BX")
	g.L("single")
	g.I("MOVQ AX, %d(SP)", ltOut1)
	g.I("MOVQ BX, %d(SP)", ltAcc1)
	if v.vnni {
		g.I("VMOVDQU x80<>(SB), Y15")
	}
	for q, p := range []string{"R8", "DI"} {
		g.C("copy row %d of the pair: quants, and d_w·d_a of both halves", q)
		lbl := fmt.Sprintf("copy%d", q)
		g.I("MOVQ nb+0(FP), CX")
		g.I("MOVQ %s, SI", p)
		g.I("MOVQ R12, BX")
		g.I("XORQ DX, DX")
		g.L(lbl)
		g.I("VMOVDQU 2(SI), Y0")
		if v.vnni {
			g.I("VPXOR Y15, Y0, Y0")
		}
		g.I("VMOVDQU Y0, %d(SP)(DX*4)", ltSlot*q)
		g.I("MOVWLZX (SI), AX")
		g.I("VMOVD AX, X1")
		g.I("VCVTPH2PS X1, X1")
		g.I("VBROADCASTSS X1, Y1")
		g.I("VMULPS %d(BX), Y1, Y2", lhD)
		g.I("VMULPS %d(BX), Y1, Y3", lhSize+lhD)
		g.I("VMOVUPS Y2, %d(SP)(DX*8)", ltSlot*q+ltScale)
		g.I("VMOVUPS Y3, %d(SP)(DX*8)", ltSlot*q+ltScale+32)
		g.I("ADDQ $34, SI")
		g.I("ADDQ $%d, BX", 2*lhSize)
		g.I("ADDQ $8, DX")
		g.I("DECQ CX")
		g.I("JNZ %s", lbl)
	}
	if !v.vnni {
		g.I("VMOVDQU xones16<>(SB), Y15")
	}
	for h := range 2 {
		base := lhSize * h
		for p := range 2 {
			id := fmt.Sprintf("%d%d", h, p)
			g.C("half %d (rows %d..%d), lanes %d..%d of both rows", h, 8*h, 8*h+7, 4*p, 4*p+3)
			g.I("MOVQ mode+64(FP), AX")
			g.I("TESTQ $1, AX")
			g.I("JNZ load%s", id)
			for k := range 8 {
				g.I("VXORPS Y%d, Y%d, Y%d", k, k, k)
			}
			g.I("JMP start%s", id)
			g.L("load" + id)
			g.I("MOVQ %d(SP), AX", ltAcc1)
			for q := range 4 {
				g.I("VMOVUPS %d(R11), Y%d", 256*h+32*(4*p+q), q)
				g.I("VMOVUPS %d(AX), Y%d", 256*h+32*(4*p+q), 4+q)
			}
			g.L("start" + id)
			g.I("MOVQ nb+0(FP), CX")
			g.I("MOVQ R12, SI")
			g.I("XORQ DX, DX")
			g.L("blk" + id)
			g.I("VMOVUPS %d(SP)(DX*8), Y8", ltScale+32*h)
			g.I("VMOVUPS %d(SP)(DX*8), Y9", ltSlot+ltScale+32*h)
			if v.vnni {
				g.I("VBROADCASTI128 %d(SP)(DX*4), Y10", 16*p)
				g.I("VBROADCASTI128 %d(SP)(DX*4), Y11", ltSlot+16*p)
			}
			for q := range 4 {
				k := 4*p + q
				if v.vnni {
					g.I("VMOVDQU %d(SI), Y14", base+lhW+32*k)
					g.I("VMOVDQU %d(SI), Y15", base+lhC+32*k)
					for r := range 2 {
						g.I("VPSHUFD $0x%02x, Y%d, Y12", 0x55*q, 10+r)
						g.I("VMOVDQA Y15, Y13")
						g.DPBUSD(Y(14), Y(12), Y(13))
						g.I("VCVTDQ2PS Y13, Y13")
						g.I("VFMADD231PS Y%d, Y13, Y%d", 8+r, 4*r+q)
					}
				} else {
					g.I("VMOVDQU %d(SI), Y10", base+lhW+32*k)
					g.I("VMOVDQU %d(SI), Y14", base+lhC+32*k)
					for r := range 2 {
						b := Y(12 + r)
						g.I("VPBROADCASTD %d(SP)(DX*4), %v", ltSlot*r+4*k, b)
						g.I("VPSIGNB Y10, %v, %v", b, b)
						g.I("VPMADDUBSW %v, Y14, %v", b, b)
						g.I("VPMADDWD Y15, %v, %v", b, b)
						g.I("VCVTDQ2PS %v, %v", b, b)
						g.I("VFMADD231PS Y%d, %v, Y%d", 8+r, b, 4*r+q)
					}
				}
			}
			g.I("ADDQ $%d, SI", 2*lhSize)
			g.I("ADDQ $8, DX")
			g.I("DECQ CX")
			g.I("JNZ blk" + id)
			g.I("MOVQ mode+64(FP), AX")
			g.I("TESTQ $2, AX")
			g.I("JNZ sum%s", id)
			g.I("MOVQ %d(SP), AX", ltAcc1)
			for q := range 4 {
				g.I("VMOVUPS Y%d, %d(R11)", q, 256*h+32*(4*p+q))
				g.I("VMOVUPS Y%d, %d(AX)", 4+q, 256*h+32*(4*p+q))
			}
			g.I("JMP next%s", id)
			g.L("sum" + id)
			if p == 0 {
				g.C("keep lanes 0..3 for the sums")
				for k := range 8 {
					g.I("VMOVUPS Y%d, %d(SP)", k, ltT+32*k)
				}
			} else {
				g.C("ggml's lane sum ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7)), lane i = row %d+i", 8*h)
				g.I("MOVQ %d(SP), AX", ltOut1)
				for r := range 2 {
					y := func(q int) int { return 4*r + q }
					t := func(q int) int { return ltT + 32*(4*r+q) }
					g.I("VADDPS %d(SP), Y%d, Y%d", t(0), y(0), y(0))
					g.I("VADDPS %d(SP), Y%d, Y%d", t(2), y(2), y(2))
					g.I("VADDPS Y%d, Y%d, Y%d", y(2), y(0), y(0))
					g.I("VADDPS %d(SP), Y%d, Y%d", t(1), y(1), y(1))
					g.I("VADDPS %d(SP), Y%d, Y%d", t(3), y(3), y(3))
					g.I("VADDPS Y%d, Y%d, Y%d", y(3), y(1), y(1))
					g.I("VADDPS Y%d, Y%d, Y%d", y(1), y(0), y(0))
				}
				// row 1 first: when n is odd both rows are the same
				for _, r := range []int{1, 0} {
					o := map[int]string{0: "R10", 1: "AX"}[r]
					y := 4 * r
					if h == 0 {
						g.I("VMOVUPS Y%d, (%s)", y, o)
					} else {
						g.I("VMOVUPS X%d, 32(%s)", y, o)
						g.I("VEXTRACTF128 $1, Y%d, X%d", y, y)
						g.I("VMOVQ X%d, 48(%s)", y, o)
						g.I("VEXTRACTPS $2, X%d, 56(%s)", y, o)
					}
				}
			}
			g.L("next" + id)
		}
	}
	g.I("LEAQ (R8)(R9*2), R8")
	g.I("LEAQ (R10)(R13*2), R10")
	g.I("ADDQ $1024, R11")
	g.I("SUBQ $2, %d(SP)", ltLeft)
	g.I("JG pair")
	g.L("done")
	g.I("VZEROUPPER")
	g.I("RET")
	g.Raw("\n")
}
