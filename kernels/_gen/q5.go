package main

import "fmt"

// Q5_0 and IQ4_NL on the avx2 and avxvnni paths, over their packed groups
// (the nibble slots of Q4_0, row 4L+j in slot 4j+L; Q5_0's fifth bits
// between the scales and the nibbles, see q5QH in pack.go): both have
// dotQ8_0's arithmetic, eight float32 lanes per row and block, lane k the
// quad k of the block.

// q5Consts writes the constants of these kernels.
func q5Consts(g *G) {
	rep := func(name string, b [32]byte) {
		for i := range 4 {
			var q uint64
			for j := 7; j >= 0; j-- {
				q = q<<8 | uint64(b[8*i+j])
			}
			g.Raw(sprintf("DATA %s<>+%d(SB)/8, $0x%016x\n", name, 8*i, q))
		}
		g.Raw(sprintf("GLOBL %s<>(SB), RODATA|NOPTR, $32\n", name))
	}
	var bitsel, qh2, qh4, iqU, iqS, x10 [32]byte
	kv := []int{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}
	for i := range 32 {
		bitsel[i] = ^byte(1 << (i % 8))
		qh2[i] = byte((i / 16 * 2) + (i%16)/8) // lane 0: bytes 0, 1; lane 1: bytes 2, 3
		qh4[i] = byte(i / 8)                   // byte i/8 of the dword
		iqU[i] = byte(kv[i%16] + 128)
		iqS[i] = byte(int8(kv[i%16]))
		x10[i] = 0x10
	}
	rep("xbitsel", bitsel)
	rep("xqh2", qh2)
	rep("xqh4", qh4)
	rep("xiqU", iqU)
	rep("xiqS", iqS)
	rep("x10", x10)
	// VPERMPS indices: [i ×4, i+4 ×4]
	for i := range 4 {
		var b [32]byte
		for l := range 8 {
			v := i
			if l >= 4 {
				v = i + 4
			}
			b[4*l] = byte(v)
		}
		rep(fmt.Sprintf("xperm%d", i), b)
	}
	g.Raw("\n")
}

// q5Gemv writes gemv<typ>x15P<v>Lanes (typ Q5_0 or IQ4_NL): a packed group
// times one Q8_0 activation row, each row's eight float32 lanes.
func q5Gemv(g *G, v variant, typ string) {
	q5 := typ == "Q5_0"
	name := "gemv" + typ + "x15P" + v.suffix + "Lanes"
	nib := 30
	if q5 {
		nib = 90
	}
	var how string
	switch {
	case v.vnni && q5:
		how = "VPDPBUSD of the unsigned 5-bit q from minus 16 times the activations' quad sums"
	case v.vnni:
		how = "VPDPBUSD of the levels plus 128 (VPSHUFB) from minus 128 times the activations' quad sums"
	case q5:
		how = "VPMADDUBSW of the unsigned 5-bit q minus 16 times the activations' pair sums, then VPMADDWD"
	default:
		how = "VPMADDUBSW of |level| and a·sign(level) (the activations are in [-127, 127]), then VPMADDWD"
	}
	g.Doc(fmt.Sprintf(`
func %s(nb int, w, a *byte, lanes *float32)

Adds to lanes the eight float32 lanes of dot%s of the rows of the packed
%s group w and the activation row a, before ggml's final lane sum: the
32-byte load k of a block column holds the nibbles of rows A =
8(k%%2)+k/2 and B = A+4 in its 128-bit lanes; lanes[16k..16k+3] are
row A's lanes 0..3, [16k+4..] row B's, [16k+8..] A's lanes 4..7,
[16k+12..] B's. Per load, the exact quad sums (%s) for the values 0..15
(low nibbles) and 16..31 (high nibbles) of both rows, then lanes =
fma(d_w·d_a, float32(quads), lanes).`, name, typ, typ, how))
	g.Raw(fmt.Sprintf("TEXT ·%s(SB), NOSPLIT, $0-32\n", name))
	g.I("MOVQ nb+0(FP), CX")
	g.I("MOVQ w+8(FP), SI")
	g.I("MOVQ a+16(FP), DI")
	g.I("MOVQ lanes+24(FP), R11")
	g.I("VMOVDQU x0f<>(SB), Y15")
	switch {
	case q5:
		g.I("VMOVDQU x10<>(SB), Y14")
	case v.vnni:
		g.I("VMOVDQU xiqU<>(SB), Y14")
	default:
		g.I("VMOVDQU xiqS<>(SB), Y14")
	}
	if !v.vnni {
		g.I("VMOVDQU xones16<>(SB), Y13")
	}
	g.I("TESTQ CX, CX")
	g.I("JZ done")
	g.L("loop")
	aLo, aHi := Y(2), Y(3)
	cLo, cHi := Y(4), Y(5)
	g.I("VBROADCASTI128 2(DI), %v", aLo)
	g.I("VBROADCASTI128 18(DI), %v", aHi)
	switch {
	case v.vnni:
		bias := "x10"
		if !q5 {
			bias = "x80"
		}
		g.C("minus %s times the quad sums of a", map[bool]string{true: "16", false: "128"}[q5])
		g.I("VMOVDQU %s<>(SB), Y6", bias)
		for _, p := range [][2]Reg{{aLo, cLo}, {aHi, cHi}} {
			g.I("VPXOR Y7, Y7, Y7")
			g.DPBUSD(p[0], Y(6), Y(7))
			g.I("VPXOR %v, %v, %v", p[1], p[1], p[1])
			g.I("VPSUBD Y7, %v, %v", p[1], p[1])
		}
	case q5:
		g.C("16 times the pair sums of a, int16")
		g.I("VPMADDUBSW %v, Y14, %v", aLo, cLo)
		g.I("VPMADDUBSW %v, Y14, %v", aHi, cHi)
	}
	g.C("the scales d_w·d_a of rows 0..7 (Y9) and 8..15 (Y10)")
	g.f16bcast(M(0, "DI"), X(8), Y(8))
	g.I("VCVTPH2PS 0(SI), Y9")
	g.I("VMULPS Y8, Y9, Y9")
	g.I("VCVTPH2PS 16(SI), Y10")
	g.I("VMULPS Y8, Y10, Y10")
	lo, hi, t, s := Y(0), Y(1), Y(6), Y(7)
	for k := range 8 {
		if k == 7 {
			g.I("VMOVDQU %d(SI), X0", nib+32*k)
		} else {
			g.I("VMOVDQU %d(SI), Y0", nib+32*k)
		}
		g.I("VPSRLW $4, Y0, Y1")
		g.I("VPAND Y15, Y0, Y0")
		g.I("VPAND Y15, Y1, Y1")
		if q5 {
			j, L := k/2, 2*(k%2)
			loOff := 30 + 16*j + 2*L
			hiOff := 30 + 16*j + 8 + 2*L
			if j == 3 {
				hiOff = 30 + 48 + 6 + 2*L
			}
			for i, off := range []int{loOff, hiOff} {
				dst := []Reg{lo, hi}[i]
				g.I("VPBROADCASTD %d(SI), %v", off, t)
				g.I("VPSHUFB xqh2<>(SB), %v, %v", t, t)
				g.I("VPOR xbitsel<>(SB), %v, %v", t, t)
				g.I("VPCMPEQB %v, %v, %v", s, s, s)
				g.I("VPCMPEQB %v, %v, %v", s, t, t)
				g.I("VPAND Y14, %v, %v", t, t)
				g.I("VPOR %v, %v, %v", t, dst, dst)
			}
		} else {
			g.I("VPSHUFB Y0, Y14, Y0")
			g.I("VPSHUFB Y1, Y14, Y1")
		}
		// the quads of both halves into lo, hi
		for i, p := range [][3]Reg{{lo, aLo, cLo}, {hi, aHi, cHi}} {
			q, a, c := p[0], p[1], p[2]
			switch {
			case v.vnni:
				g.I("VMOVDQA %v, %v", c, t)
				g.DPBUSD(a, q, t)
				g.I("VMOVDQA %v, %v", t, q)
			case q5:
				g.I("VPMADDUBSW %v, %v, %v", a, q, q)
				g.I("VPSUBW %v, %v, %v", c, q, q)
				g.I("VPMADDWD Y13, %v, %v", q, q)
			default:
				g.I("VPSIGNB %v, %v, %v", q, a, t)
				g.I("VPABSB %v, %v", q, q)
				g.I("VPMADDUBSW %v, %v, %v", t, q, q)
				g.I("VPMADDWD Y13, %v, %v", q, q)
			}
			_ = i
		}
		sv := Y(9 + k%2)
		g.I("VMOVDQU xperm%d<>(SB), %v", k/2, t)
		g.I("VPERMPS %v, %v, %v", sv, t, s)
		for i, q := range []Reg{lo, hi} {
			g.I("VCVTDQ2PS %v, %v", q, q)
			g.I("VMOVUPS %d(R11), %v", 64*k+32*i, t)
			g.I("VFMADD231PS %v, %v, %v", s, q, t)
			g.I("VMOVUPS %v, %d(R11)", t, 64*k+32*i)
		}
	}
	blk := 270
	if q5 {
		blk = 330
	}
	g.I("ADDQ $%d, SI", blk)
	g.I("ADDQ $34, DI")
	g.I("DECQ CX")
	g.I("JNZ loop")
	g.L("done")
	g.I("VZEROUPPER")
	g.I("RET")
	g.Raw("\n")
}

// q5Tile writes tile<typ>x3x2P<v>: three rows of a packed Q5_0 or IQ4_NL
// group times two activation rows.
func q5Tile(g *G, v variant, typ string) {
	q5 := typ == "Q5_0"
	name := "tile" + typ + "x3x2P" + v.suffix
	nib, blk := 30, 270
	if q5 {
		nib, blk = 90, 330
	}
	g.Doc(fmt.Sprintf(`
func %s(nb int, w *byte, i0 int, a0, a1 *byte, out0, out1 *float32)

outj[i] = dot%s of row i0+i (i < 3) of the packed %s group w and the
activation row aj, bit for bit: a 3x2 tile whose eight float32 lanes per
product stay in registers over all nb blocks. Per block each row's 32
values are unpacked in order (low nibbles, then high nibbles%s), then per
pair the exact quad sums, lanes = fma(d_w·d_a, float32(quads), lanes),
and ggml's lane sum at the end.`, name, typ, typ, map[bool]string{true: ", plus 16 where the fifth bit is set", false: ", looked up"}[q5]))
	g.Raw(fmt.Sprintf("TEXT ·%s(SB), NOSPLIT, $160-56\n", name))
	g.I("MOVQ nb+0(FP), CX")
	g.I("MOVQ w+8(FP), SI")
	g.I("MOVQ i0+16(FP), R9")
	g.I("MOVQ a0+24(FP), DI")
	g.I("MOVQ a1+32(FP), R8")
	acc := func(i, j int) Reg { return Y(3*j + i) }
	for j := range 2 {
		for i := range 3 {
			g.I("VXORPS %v, %v, %v", acc(i, j), acc(i, j), acc(i, j))
		}
	}
	g.I("TESTQ CX, CX")
	g.I("JZ done")
	g.L("loop")
	// rows: slot of row r = 4(r%4) + r/4; Q5_0's qh halves by q5QH
	wq := []Reg{Y(6), Y(7), Y(8)}
	t, s := Y(14), Y(15)
	for i := range 3 {
		// R9 = i0: the row's offsets are computed per block column in
		// general registers (the row is i0+i)
		g.I("LEAQ %d(R9), AX", i)
		g.I("MOVQ AX, BX")
		g.I("ANDQ $3, BX")
		g.I("SHLQ $2, BX")
		g.I("MOVQ AX, DX")
		g.I("SHRQ $2, DX")
		g.I("ADDQ DX, BX") // slot
		g.I("SHLQ $4, BX")
		g.I("VMOVDQU %d(SI)(BX*1), X%d", nib, wq[i].N)
		g.I("VPSRLW $4, X%d, X%d", wq[i].N, t.N)
		g.I("VINSERTI128 $1, X%d, %v, %v", t.N, wq[i], wq[i])
		g.I("VPAND x0f<>(SB), %v, %v", wq[i], wq[i])
		if q5 {
			// the fifth bits: the qh halves of row i0+i at q5QH, as a
			// 32-bit mask in DX
			g.I("MOVQ AX, BX")
			g.I("ANDQ $3, BX") // j
			g.I("MOVQ AX, DX")
			g.I("SHRQ $2, DX") // L
			g.I("SHLQ $1, DX")
			g.I("LEAQ 30(DX), DX")
			g.I("SHLQ $4, BX")
			g.I("ADDQ BX, DX") // lo offset 30+16j+2L
			g.I("MOVWLZX (SI)(DX*1), R10")
			// hi: +8, or +6 for j = 3 (BX = 48)
			g.I("MOVQ $8, R12")
			g.I("MOVQ $6, R13")
			g.I("CMPQ BX, $48")
			g.I("CMOVQEQ R13, R12")
			g.I("ADDQ R12, DX")
			g.I("MOVWLZX (SI)(DX*1), R12")
			g.I("SHLL $16, R12")
			g.I("ORL R12, R10")
			g.I("VMOVD R10, X%d", t.N)
			g.I("VPBROADCASTD X%d, %v", t.N, t)
			g.I("VPSHUFB xqh4<>(SB), %v, %v", t, t)
			g.I("VPOR xbitsel<>(SB), %v, %v", t, t)
			g.I("VPCMPEQB %v, %v, %v", s, s, s)
			g.I("VPCMPEQB %v, %v, %v", s, t, t)
			g.I("VPAND x10<>(SB), %v, %v", t, t)
			g.I("VPOR %v, %v, %v", t, wq[i], wq[i])
		} else {
			if v.vnni {
				g.I("VMOVDQU xiqU<>(SB), %v", t)
			} else {
				g.I("VMOVDQU xiqS<>(SB), %v", t)
			}
			g.I("VPSHUFB %v, %v, %v", wq[i], t, wq[i])
			if !v.vnni {
				g.C("signed levels to the stack; |level| kept")
				g.I("VMOVDQU %v, %d(SP)", wq[i], 32*i)
				g.I("VPABSB %v, %v", wq[i], wq[i])
			}
		}
	}
	aregs := []string{"DI", "R8"}
	// per activation row: the correction (vnni), the bias (avx2 Q5_0) or
	// the activations (avx2 IQ4_NL)
	cj := []Reg{Y(9), Y(10)}
	for j := range 2 {
		switch {
		case v.vnni:
			g.I("VMOVDQU %s<>(SB), %v", map[bool]string{true: "x10", false: "x80"}[q5], s)
			g.I("VPXOR %v, %v, %v", t, t, t)
			g.DPBUSD(M(2, aregs[j]), s, t)
			g.I("VPXOR %v, %v, %v", cj[j], cj[j], cj[j])
			g.I("VPSUBD %v, %v, %v", t, cj[j], cj[j])
		case q5:
			g.I("VMOVDQU x10<>(SB), %v", s)
			g.I("VPMADDUBSW 2(%s), %v, %v", aregs[j], s, cj[j])
		default:
			g.I("VMOVDQU 2(%s), %v", aregs[j], cj[j])
		}
	}
	g.C("scale products d_w(i)·d_a(j) at 96+16i+4j(SP)")
	g.I("VCVTPH2PS (SI)(R9*2), X%d", s.N)
	g.I("MOVWLZX (DI), AX")
	g.I("VMOVD AX, X%d", t.N)
	g.I("VPINSRW $1, (R8), X%d, X%d", t.N, t.N)
	g.I("VCVTPH2PS X%d, X%d", t.N, t.N)
	for i := range 3 {
		g.I("VPERMILPS $%d, X%d, X11", 0x55*i, s.N)
		g.I("VMULPS X%d, X11, X11", t.N)
		g.I("VMOVUPS X11, %d(SP)", 96+16*i)
	}
	for j := range 2 {
		for i := range 3 {
			switch {
			case v.vnni:
				g.I("VMOVDQA %v, Y12", cj[j])
				g.DPBUSD(M(2, aregs[j]), wq[i], Y(12))
			case q5:
				g.I("VPMADDUBSW 2(%s), %v, Y12", aregs[j], wq[i])
				g.I("VPSUBW %v, Y12, Y12", cj[j])
				g.I("VPMADDWD xones16<>(SB), Y12, Y12")
			default:
				g.I("VPSIGNB %d(SP), %v, Y12", 32*i, cj[j])
				g.I("VPMADDUBSW Y12, %v, Y12", wq[i])
				g.I("VPMADDWD xones16<>(SB), Y12, Y12")
			}
			g.I("VCVTDQ2PS Y12, Y12")
			g.I("VBROADCASTSS %d(SP), Y13", 96+16*i+4*j)
			g.I("VFMADD231PS Y13, Y12, %v", acc(i, j))
		}
	}
	g.I("ADDQ $%d, SI", blk)
	g.I("ADDQ $34, DI")
	g.I("ADDQ $34, R8")
	g.I("DECQ CX")
	g.I("JNZ loop")
	g.L("done")
	for j := range 2 {
		g.I("MOVQ out%d+%d(FP), R11", j, 40+8*j)
		for i := range 3 {
			a := acc(i, j)
			g.hsum8(a, X(a.N), X(15), X(14))
			g.I("VMOVSS X15, %d(R11)", 4*i)
		}
	}
	g.I("VZEROUPPER")
	g.I("RET")
	g.Raw("\n")
}
