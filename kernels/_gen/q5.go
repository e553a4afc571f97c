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
	if q5 {
		// the fifth bits' constants in registers (the loads bound this loop)
		g.I("VMOVDQU xqh2<>(SB), Y11")
		g.I("VMOVDQU xbitsel<>(SB), Y12")
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
				g.I("VPSHUFB Y11, %v, %v", t, t)
				g.I("VPOR Y12, %v, %v", t, t)
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
