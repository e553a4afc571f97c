package main

import "fmt"

// The avx2 and avxvnni kernels over packed groups of 32-value blocks
// (kernels/pack.go): fifteen rows per block column, their fp16 scales at
// 0..29, then their quants; Q4_0 and IQ4_NL row 4L+j in nibble slot 4j+L
// (sixteen bytes at 30+16·slot), Q8_0 row r at 30+32r.

// q4Gemv writes gemvQ4_0x15P<v>: a packed Q4_0 (or IQ4_NL, iq) group
// times one Q8_0 activation row.
func q4Gemv(g *G, v variant) {
	name := "gemvQ4_0x15P" + v.suffix
	g.Doc(fmt.Sprintf(`
func %s(nb int, w, a *byte, out *float32)

out[r] = dotQ4_0 of row r of the packed Q4_0 group w and the activation row
a (r < 15), bit for bit. Per block the 32-byte loads at 30+32k hold the
nibbles of rows (8(k%%2)+k/2, 8(k%%2)+4+k/2) in their 128-bit lanes; each
gives four dword partial sums of Σ (q-8)·a per row (%s), and an
unpack-and-add transpose of the loads k = 0, 2, 4, 6 (1, 3, 5, 7) leaves
the exact isum of rows 0..7 (8..14) in order; then, as dotQ4_0, acc =
fma(float32(isum), d_w·d_a, acc), eight rows per instruction.`, name,
		map[bool]string{true: "VPDPBUSD of the unsigned nibbles and the activations from minus 8 times their quad sums",
			false: "VPMADDUBSW of the unsigned nibbles and the activations minus 8 times their pair sums, exact in int16, then VPMADDWD"}[v.vnni]))
	g.Raw(fmt.Sprintf("TEXT ·%s(SB), NOSPLIT, $0-32\n", name))
	g.I("MOVQ nb+0(FP), CX")
	g.I("MOVQ w+8(FP), SI")
	g.I("MOVQ a+16(FP), DI")
	g.I("MOVQ out+24(FP), R11")
	g.I("VMOVDQU x0f<>(SB), Y15")
	g.I("VMOVDQU x08<>(SB), Y14")
	if !v.vnni {
		g.I("VMOVDQU xones16<>(SB), Y13")
	}
	g.I("VXORPS Y12, Y12, Y12")
	g.I("VXORPS Y11, Y11, Y11")
	g.I("TESTQ CX, CX")
	g.I("JZ done")
	g.L("loop")
	g.I("VBROADCASTI128 2(DI), Y2")
	g.I("VBROADCASTI128 18(DI), Y3")
	if v.vnni {
		g.C("Y4 = -8·(quad sums of a), per dword of each 128-bit lane")
		g.I("VPXOR Y4, Y4, Y4")
		g.DPBUSD(Y(2), Y(14), Y(4))
		g.DPBUSD(Y(3), Y(14), Y(4))
		g.I("VPXOR Y5, Y5, Y5")
		g.I("VPSUBD Y4, Y5, Y4")
	} else {
		g.C("Y4 = 8·(pair sums of a), int16")
		g.I("VPMADDUBSW Y2, Y14, Y4")
		g.I("VPMADDUBSW Y3, Y14, Y5")
		g.I("VPADDW Y5, Y4, Y4")
	}
	g.f16bcast(M(0, "DI"), X(9), Y(9))
	for half := range 2 {
		for idx := range 4 {
			k := 2*idx + half
			r := Y(5 + idx)
			if k == 7 {
				g.I("VMOVDQU %d(SI), X0", 30+32*k)
			} else {
				g.I("VMOVDQU %d(SI), Y0", 30+32*k)
			}
			g.I("VPSRLW $4, Y0, Y1")
			g.I("VPAND Y15, Y0, Y0")
			g.I("VPAND Y15, Y1, Y1")
			if v.vnni {
				g.I("VMOVDQA Y4, %v", r)
				g.DPBUSD(Y(2), Y(0), r)
				g.DPBUSD(Y(3), Y(1), r)
			} else {
				g.I("VPMADDUBSW Y2, Y0, %v", r)
				g.I("VPMADDUBSW Y3, Y1, Y1")
				g.I("VPADDW Y1, %v, %v", r, r)
				g.I("VPSUBW Y4, %v, %v", r, r)
				g.I("VPMADDWD Y13, %v, %v", r, r)
			}
		}
		g.C("transpose-add: rows %d..%d", 8*half, 8*half+7)
		g.I("VPUNPCKLDQ Y6, Y5, Y0")
		g.I("VPUNPCKHDQ Y6, Y5, Y1")
		g.I("VPADDD Y1, Y0, Y0")
		g.I("VPUNPCKLDQ Y8, Y7, Y1")
		g.I("VPUNPCKHDQ Y8, Y7, Y5")
		g.I("VPADDD Y5, Y1, Y1")
		g.I("VPUNPCKLQDQ Y1, Y0, Y5")
		g.I("VPUNPCKHQDQ Y1, Y0, Y6")
		g.I("VPADDD Y6, Y5, Y5")
		g.I("VCVTDQ2PS Y5, Y5")
		g.I("VCVTPH2PS %d(SI), Y10", 16*half)
		g.I("VMULPS Y9, Y10, Y10")
		g.I("VFMADD231PS Y10, Y5, %v", Y(12-half))
	}
	g.I("ADDQ $270, SI")
	g.I("ADDQ $34, DI")
	g.I("DECQ CX")
	g.I("JNZ loop")
	g.L("done")
	g.I("VMOVUPS Y12, (R11)")
	g.I("VMOVUPS X11, 32(R11)")
	g.I("VEXTRACTF128 $1, Y11, X0")
	g.I("VMOVQ X0, 48(R11)")
	g.I("VEXTRACTPS $2, X0, 56(R11)")
	g.I("VZEROUPPER")
	g.I("RET")
	g.Raw("\n")
}

// Frame of the lane tiles: the transposed weights (16 vectors), their
// corrections (2), the activation block (1).
const (
	lwOff    = 0
	lcorrOff = 512
	laOff    = 576
	lFrame   = 608
)

// q4Tile writes tileQ4_0x15P<v>Acc: a packed Q4_0 group times n activation
// rows, into acc (16 floats per activation row).
func q4Tile(g *G, v variant) {
	name := "tileQ4_0x15P" + v.suffix + "Acc"
	g.Doc(fmt.Sprintf(`
func %s(nb int, w, a *byte, ab, n int, acc *float32)

acc[16j + r] += the dot product of row r (r < 15; lane 15 is scratch) of
the packed Q4_0 group w and activation row j (a + j·ab), block by block
with the float32 arithmetic of dotQ4_0. Per block column the rows are
transposed once (dword i of row r in lane r of vector i, two halves of
eight rows) and kept as signed q-8, each half's correction 128·Σ(q-8)
computed once; then for every activation row the quads of a+128 (XOR
0x80), broadcast, times the weight vectors (%s) give
Σ (q-8)·(a+128) per row in its lane, minus the correction the exact
Σ (q-8)·a, with no horizontal reduction; acc = fma(float32(isum),
d_w·d_a, acc).`, name, map[bool]string{true: "VPDPBUSD", false: "VPMADDUBSW, eight pair sums per int16 lane at most 32640, then VPMADDWD"}[v.vnni]))
	g.Raw(fmt.Sprintf("TEXT ·%s(SB), $%d-48\n", name, lFrame))
	g.I("MOVQ nb+0(FP), CX")
	g.I("MOVQ w+8(FP), SI")
	g.I("MOVQ a+16(FP), R8")
	g.I("MOVQ ab+24(FP), R9")
	g.I("MOVQ acc+40(FP), R11")
	g.I("VMOVDQU x0f<>(SB), Y15")
	g.I("VMOVDQU x80<>(SB), Y14")
	if !v.vnni {
		g.I("VMOVDQU xones16<>(SB), Y13")
	}
	g.I("VMOVDQU x08<>(SB), Y12")
	g.I("TESTQ CX, CX")
	g.I("JZ done")
	g.L("block")
	for h := range 2 {
		g.C("half %d: rows %d..%d", h, 8*h, 8*h+7)
		for j := range 4 {
			off := 30 + 64*j + 32*h
			if h == 1 && j == 3 {
				g.I("VMOVDQU %d(SI), X%d", off, j)
			} else {
				g.I("VMOVDQU %d(SI), Y%d", off, j)
			}
		}
		g.I("VPUNPCKLDQ Y1, Y0, Y4")
		g.I("VPUNPCKHDQ Y1, Y0, Y5")
		g.I("VPUNPCKLDQ Y3, Y2, Y6")
		g.I("VPUNPCKHDQ Y3, Y2, Y7")
		g.I("VPUNPCKLQDQ Y6, Y4, Y0")
		g.I("VPUNPCKHQDQ Y6, Y4, Y1")
		g.I("VPUNPCKLQDQ Y7, Y5, Y2")
		g.I("VPUNPCKHQDQ Y7, Y5, Y3")
		for i := range 4 {
			t := Y(i)
			g.I("VPSRLW $4, %v, Y4", t)
			g.I("VPAND Y15, %v, %v", t, t)
			g.I("VPAND Y15, Y4, Y4")
			g.I("VPSUBB Y12, %v, %v", t, t)
			g.I("VPSUBB Y12, Y4, Y4")
			g.I("VMOVDQU %v, %d(SP)", t, lwOff+32*(8*h+i))
			g.I("VMOVDQU Y4, %d(SP)", lwOff+32*(8*h+4+i))
		}
		g.C("correction 128·Σ(q-8) of each row")
		if v.vnni {
			g.I("VPXOR Y5, Y5, Y5")
			for q := range 8 {
				g.DPBUSD(M(lwOff+32*(8*h+q), "SP"), Y(14), Y(5))
			}
		} else {
			for q := range 8 {
				if q == 0 {
					g.I("VPMADDUBSW %d(SP), Y14, Y5", lwOff+32*(8*h+q))
				} else {
					g.I("VPMADDUBSW %d(SP), Y14, Y6", lwOff+32*(8*h+q))
					g.I("VPADDW Y6, Y5, Y5")
				}
			}
			g.I("VPMADDWD Y13, Y5, Y5")
		}
		g.I("VMOVDQU Y5, %d(SP)", lcorrOff+32*h)
	}
	g.I("VCVTPH2PS 0(SI), Y10")
	g.I("VCVTPH2PS 16(SI), Y11")
	g.I("MOVQ R8, DI")
	g.I("MOVQ R11, DX")
	g.I("MOVQ n+32(FP), BX")
	g.L("act")
	if v.vnni {
		g.I("VPXOR Y4, Y4, Y4")
		g.I("VPXOR Y5, Y5, Y5")
		for q := range 8 {
			b := Y(1 + q%2)
			g.I("VPBROADCASTD %d(DI), %v", 2+4*q, b)
			g.I("VPXOR Y14, %v, %v", b, b)
			g.DPBUSD(M(lwOff+32*q, "SP"), b, Y(4))
			g.DPBUSD(M(lwOff+32*(8+q), "SP"), b, Y(5))
		}
	} else {
		for q := range 8 {
			g.I("VPBROADCASTD %d(DI), Y1", 2+4*q)
			g.I("VPXOR Y14, Y1, Y1")
			if q == 0 {
				g.I("VPMADDUBSW %d(SP), Y1, Y4", lwOff+32*q)
				g.I("VPMADDUBSW %d(SP), Y1, Y5", lwOff+32*(8+q))
				continue
			}
			g.I("VPMADDUBSW %d(SP), Y1, Y2", lwOff+32*q)
			g.I("VPMADDUBSW %d(SP), Y1, Y3", lwOff+32*(8+q))
			g.I("VPADDW Y2, Y4, Y4")
			g.I("VPADDW Y3, Y5, Y5")
		}
		g.I("VPMADDWD Y13, Y4, Y4")
		g.I("VPMADDWD Y13, Y5, Y5")
	}
	g.I("VPSUBD %d(SP), Y4, Y4", lcorrOff)
	g.I("VPSUBD %d(SP), Y5, Y5", lcorrOff+32)
	g.I("VCVTDQ2PS Y4, Y4")
	g.I("VCVTDQ2PS Y5, Y5")
	g.f16bcast(M(0, "DI"), X(6), Y(6))
	g.I("VMULPS Y10, Y6, Y7")
	g.I("VMULPS Y11, Y6, Y6")
	g.I("VMOVUPS (DX), Y8")
	g.I("VFMADD231PS Y7, Y4, Y8")
	g.I("VMOVUPS Y8, (DX)")
	g.I("VMOVUPS 32(DX), Y9")
	g.I("VFMADD231PS Y6, Y5, Y9")
	g.I("VMOVUPS Y9, 32(DX)")
	g.I("ADDQ R9, DI")
	g.I("ADDQ $64, DX")
	g.I("DECQ BX")
	g.I("JNZ act")
	g.I("ADDQ $270, SI")
	g.I("ADDQ $34, R8")
	g.I("DECQ CX")
	g.I("JNZ block")
	g.L("done")
	g.I("VZEROUPPER")
	g.I("RET")
	g.Raw("\n")
}

// q8Gemv writes gemvQ8_0x15P<v>Lanes: a packed Q8_0 group times one Q8_0
// activation row, the eight float32 lanes of each row.
func q8Gemv(g *G, v variant) {
	name := "gemvQ8_0x15P" + v.suffix + "Lanes"
	var how string
	if v.vnni {
		how = "the weights biased to unsigned (XOR 0x80), VPDPBUSD from minus 128 times the activations' quad sums"
	} else {
		how = "VPMADDUBSW of |w| and a·sign(w) (exact: the activations are in [-127, 127]), then VPMADDWD"
	}
	g.Doc(fmt.Sprintf(`
func %s(nb int, w, a *byte, lanes *float32)

lanes[8r..8r+7] += the eight float32 lanes of dotQ8_0 of row r (r < 15)
of the packed Q8_0 group w and the activation row a, before ggml's final
lane sum: per block and row the exact quad sums (%s), then lanes =
fma(d_w·d_a, float32(quads), lanes).`, name, how))
	g.Raw(fmt.Sprintf("TEXT ·%s(SB), NOSPLIT, $64-32\n", name))
	g.I("MOVQ nb+0(FP), CX")
	g.I("MOVQ w+8(FP), SI")
	g.I("MOVQ a+16(FP), DI")
	g.I("MOVQ lanes+24(FP), R11")
	if v.vnni {
		g.I("VMOVDQU x80<>(SB), Y14")
	} else {
		g.I("VMOVDQU xones16<>(SB), Y13")
	}
	g.I("TESTQ CX, CX")
	g.I("JZ done")
	g.L("loop")
	g.I("VMOVDQU 2(DI), Y2")
	if v.vnni {
		g.I("VPXOR Y4, Y4, Y4")
		g.DPBUSD(Y(2), Y(14), Y(4))
		g.I("VPXOR Y3, Y3, Y3")
		g.I("VPSUBD Y4, Y3, Y3")
	}
	g.f16bcast(M(0, "DI"), X(9), Y(9))
	g.I("VCVTPH2PS 0(SI), Y10")
	g.I("VMULPS Y9, Y10, Y10")
	g.I("VMOVUPS Y10, 0(SP)")
	g.I("VCVTPH2PS 16(SI), Y10")
	g.I("VMULPS Y9, Y10, Y10")
	g.I("VMOVUPS Y10, 32(SP)")
	for r := range 15 {
		q, t, s, l := Y(0), Y(1), Y(5), Y(6)
		if r%2 == 1 {
			q, t, s, l = Y(7), Y(8), Y(11), Y(12)
		}
		wm := M(30+32*r, "SI")
		if v.vnni {
			g.I("VPXOR %v, Y14, %v", wm, q)
			g.I("VMOVDQA Y3, %v", t)
			g.DPBUSD(Y(2), q, t)
		} else {
			// one load of the weights for both (the loads bound this loop)
			g.I("VMOVDQU %v, %v", wm, t)
			g.I("VPABSB %v, %v", t, q)
			g.I("VPSIGNB %v, Y2, %v", t, t)
			g.I("VPMADDUBSW %v, %v, %v", t, q, t)
			g.I("VPMADDWD Y13, %v, %v", t, t)
		}
		g.I("VCVTDQ2PS %v, %v", t, t)
		g.I("VBROADCASTSS %d(SP), %v", 4*r, s)
		g.I("VMOVUPS %d(R11), %v", 32*r, l)
		g.I("VFMADD231PS %v, %v, %v", s, t, l)
		g.I("VMOVUPS %v, %d(R11)", l, 32*r)
	}
	g.I("ADDQ $510, SI")
	g.I("ADDQ $34, DI")
	g.I("DECQ CX")
	g.I("JNZ loop")
	g.L("done")
	g.I("VZEROUPPER")
	g.I("RET")
	g.Raw("\n")
}
