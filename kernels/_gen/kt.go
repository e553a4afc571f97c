package main

import "fmt"

// The prompt tiles over packed K-quant groups: the matrix-vector kernels'
// arithmetic for four activation rows at once, so that each dword line of
// weights is loaded and unpacked once for the four. The int32 lanes of
// the four rows stay in registers for one lane index t at a time; the
// float32 lane accumulators of the four (eight lane vectors each, and the
// minimums') live on the stack, and the lane sums go to out at the end.

const tileActs = 4

// kTileHeader writes the doc and TEXT line of a K-quant tile.
func kTileHeader(g *G, k kvar, name, dot, how string, frame int) {
	rows := "rows r < 16 of the packed group w (h = 0)"
	if !k.z {
		rows = "rows 8h+r (r < 8) of the packed group w (h = 0 or 1)"
	}
	g.Doc(fmt.Sprintf(`func %s(nb int, w, a *byte, ab, h int, out *float32, ldo int)

out[j·ldo + r] = %s of %s and the activation rows j < 4 at a + j·ab, bit
for bit: %s`, name, dot, rows, how))
	g.Raw(fmt.Sprintf("TEXT ·%s(SB), $%d-56\n", name, frame))
}

// kTileArgs loads the arguments: CX nb, R12 the group's fp16 values of
// the half, R13 its dwords, DI, R8, R9, R10 the four activation rows.
func kTileArgs(g *G, k kvar) {
	g.I("MOVQ nb+0(FP), CX")
	g.I("MOVQ w+8(FP), R12")
	g.I("MOVQ a+16(FP), DI")
	g.I("MOVQ ab+24(FP), AX")
	g.I("LEAQ (DI)(AX*1), R8")
	g.I("LEAQ (R8)(AX*1), R9")
	g.I("LEAQ (R9)(AX*1), R10")
	g.I("MOVQ R12, R13")
	if !k.z {
		g.I("MOVQ h+32(FP), AX")
		g.I("SHLQ $4, AX")
		g.I("ADDQ AX, R12")
		g.I("ADDQ AX, R13")
		g.I("ADDQ AX, R13")
	}
}

var actRegs = []string{"DI", "R8", "R9", "R10"}

// kTileEnd writes the lane sums of the four activation rows (lane
// accumulators at accOff(j, t), minimums by mins) to out[j·ldo].
func kTileEnd(g *G, k kvar, accOff func(j, t int) Mem, mins func(j int, res Reg)) {
	V := k.V
	g.I("MOVQ out+40(FP), R11")
	g.I("MOVQ ldo+48(FP), DX")
	g.I("SHLQ $2, DX")
	for j := range tileActs {
		acc := []Reg{V(0), V(1), V(2), V(3), V(4), V(5), V(6), V(7)}
		for t := range 8 {
			g.I("VMOVUPS %v, %v", accOff(j, t), acc[t])
		}
		laneSum8(g, acc, V(8))
		mins(j, V(8))
		g.I("VMOVUPS %v, (R11)", V(8))
		g.I("ADDQ DX, R11")
	}
	g.I("VZEROUPPER")
	g.I("RET")
	g.Raw("\n")
}

// q4KTile writes tileQ4_KP<k> (Q5_K: tileQ5_KP<k>).
func q4KTile(g *G, k kvar, q5 bool) {
	typ, dot, blk := "Q4_K", "dotQ4_K", 2304
	if q5 {
		typ, dot, blk = "Q5_K", "dotQ5_K", 2816
	}
	name := "tile" + typ + "P" + k.suffix
	vb := k.vb()
	// stack: scales (Y), dvec and dmin per row, lane and minimum
	// accumulators per row
	off := 0
	scOff := off
	if !k.z {
		off += 8 * vb
	}
	dvOff := off
	off += tileActs * vb
	dmOff := off
	off += tileActs * vb
	accBase := off
	off += tileActs * 8 * vb
	nm := 4
	if q5 {
		nm = 1
	}
	mBase := off
	off += tileActs * nm * vb
	frame := off
	accOff := func(j, t int) Mem { return M(accBase+(8*j+t)*vb, "SP") }
	mOff := func(j, t int) Mem { return M(mBase+(nm*j+t)*vb, "SP") }
	V := k.V
	var sc func(j int) any
	if k.z {
		sc = func(j int) any { return V(16 + j) }
	} else {
		sc = func(j int) any { return M(scOff+vb*j, "SP") }
	}
	kTileHeader(g, k, name, dot, "the matrix-vector kernel's arithmetic (gemv"+typ+"P"+k.suffix+"), each line of weights unpacked once for the four activation rows.", frame)
	kTileArgs(g, k)
	g.C("zero the accumulators")
	g.I("VXORPS %v, %v, %v", V(0), V(0), V(0))
	for j := range tileActs {
		for t := range 8 {
			g.I("VMOVUPS %v, %v", V(0), accOff(j, t))
		}
		for t := range nm {
			g.I("VMOVUPS %v, %v", V(0), mOff(j, t))
		}
	}
	g.I("TESTQ CX, CX")
	g.I("JZ done")
	g.L("loop")
	g.C("d_a·d_w and d_a·dmin_w of each activation row")
	dw, dm, t0 := V(8), V(9), V(10)
	g.I("VCVTPH2PS 0(R12), %v", dw)
	g.I("VCVTPH2PS 32(R12), %v", dm)
	for j := range tileActs {
		g.I("VBROADCASTSS (%s), %v", actRegs[j], t0)
		g.I("VMULPS %v, %v, %v", t0, dm, V(11))
		g.I("VMULPS %v, %v, %v", t0, dw, t0)
		g.I("VMOVUPS %v, %d(SP)", t0, dvOff+vb*j)
		g.I("VMOVUPS %v, %d(SP)", V(11), dmOff+vb*j)
	}
	g.C("the scales; the minimums times each row's block sums")
	b, sum := V(12), V(13)
	kScaleVecs(g, k, []Reg{V(8), V(9), V(10), V(11)}, sc, func(t int, v Reg) {
		for j := range tileActs {
			a := actRegs[j]
			g.I("VMOVDQU 260(%s), X15", a)
			g.I("VPHADDW 276(%s), X15, X15", a)
			bcastDword(g, X(15), t, b)
			g.I("VPMADDWD %v, %v, %v", b, v, b)
			if q5 {
				if t == 0 {
					k.ld(g, b, V(4+j))
				} else {
					g.I("VPADDD %v, %v, %v", b, V(4+j), V(4+j))
				}
				continue
			}
			g.I("VCVTDQ2PS %v, %v", b, b)
			g.I("VMOVUPS %v, %v", mOff(j, t), sum)
			g.I("VFNMADD231PS %d(SP), %v, %v", dmOff+vb*j, b, sum)
			g.I("VMOVUPS %v, %v", sum, mOff(j, t))
		}
	})
	if q5 {
		for j := range tileActs {
			s := V(4 + j)
			g.I("VCVTDQ2PS %v, %v", s, s)
			g.I("VMOVUPS %v, %v", mOff(j, 0), sum)
			g.I("VFNMADD231PS %d(SP), %v, %v", dmOff+vb*j, s, sum)
			g.I("VMOVUPS %v, %v", sum, mOff(j, 0))
		}
	}
	g.C("the lanes: lane t of the four rows in V0..V3")
	qs := 256
	if q5 {
		qs = 768
	}
	ii := []Reg{V(0), V(1), V(2), V(3)}
	lo, hi, aa, p, hh, tt := V(4), V(5), V(6), V(7), V(8), V(9)
	for t := range 8 {
		if q5 {
			k.ld(g, M(256+64*t, "R13"), hh)
		}
		for c := range 4 {
			k.ld(g, M(qs+64*(8*c+t), "R13"), lo)
			g.I("VPSRLW $4, %v, %v", lo, hi)
			k.and(g, mask("k0f"), lo, lo)
			k.and(g, mask("k0f"), hi, hi)
			if q5 {
				for i, bit := range []int{2 * c, 2*c + 1} {
					dst := []Reg{lo, hi}[i]
					switch {
					case bit < 4:
						g.I("VPSLLW $%d, %v, %v", 4-bit, hh, tt)
					case bit > 4:
						g.I("VPSRLW $%d, %v, %v", bit-4, hh, tt)
					default:
						k.ld(g, hh, tt)
					}
					k.and(g, mask("k10"), tt, tt)
					k.or(g, tt, dst, dst)
				}
			}
			for j := range tileActs {
				a := actRegs[j]
				g.I("VPBROADCASTD %d(%s), %v", 4+64*c+4*t, a, aa)
				g.I("VPMADDUBSW %v, %v, %v", aa, lo, p)
				if c == 0 {
					g.I("VPMADDWD %v, %v, %v", sc(0), p, ii[j])
				} else {
					k.dpwssd(g, sc(2*c), p, ii[j])
				}
				g.I("VPBROADCASTD %d(%s), %v", 4+64*c+32+4*t, a, aa)
				g.I("VPMADDUBSW %v, %v, %v", aa, hi, p)
				k.dpwssd(g, sc(2*c+1), p, ii[j])
			}
		}
		for j := range tileActs {
			g.I("VCVTDQ2PS %v, %v", ii[j], ii[j])
			g.I("VMOVUPS %v, %v", accOff(j, t), p)
			g.I("VFMADD231PS %d(SP), %v, %v", dvOff+vb*j, ii[j], p)
			g.I("VMOVUPS %v, %v", p, accOff(j, t))
		}
	}
	g.I("ADDQ $%d, R12", blk)
	g.I("ADDQ $%d, R13", blk)
	for _, a := range actRegs {
		g.I("ADDQ $292, %s", a)
	}
	g.I("DECQ CX")
	g.I("JNZ loop")
	g.L("done")
	kTileEnd(g, k, accOff, func(j int, res Reg) {
		if q5 {
			g.I("VADDPS %v, %v, %v", mOff(j, 0), res, res)
			return
		}
		m := []Reg{V(9), V(10), V(11), V(12)}
		for t := range 4 {
			g.I("VMOVUPS %v, %v", mOff(j, t), m[t])
		}
		g.I("VADDPS %v, %v, %v", m[2], m[0], m[0])
		g.I("VADDPS %v, %v, %v", m[3], m[1], m[1])
		g.I("VADDPS %v, %v, %v", m[1], m[0], m[0])
		g.I("VADDPS %v, %v, %v", m[0], res, res)
	})
}

// q6KTile writes tileQ6_KP<k>.
func q6KTile(g *G, k kvar) {
	name := "tileQ6_KP" + k.suffix
	vb := k.vb()
	scOff := 0
	dvOff := 16 * vb
	accBase := dvOff + tileActs*vb
	frame := accBase + tileActs*8*vb
	accOff := func(j, t int) Mem { return M(accBase+(8*j+t)*vb, "SP") }
	V := k.V
	kTileHeader(g, k, name, "dotQ6_K", "the matrix-vector kernel's arithmetic (gemvQ6_KP"+k.suffix+"), each three lines of weights unpacked once for the four activation rows.", frame)
	kTileArgs(g, k)
	if !k.z {
		g.I("MOVQ w+8(FP), R11")
		g.I("SHRQ $1, AX")
		g.I("ADDQ AX, R11")
	} else {
		g.I("MOVQ R12, R11")
	}
	g.C("R11: the half's int8 scales")
	g.I("VXORPS %v, %v, %v", V(0), V(0), V(0))
	for j := range tileActs {
		for t := range 8 {
			g.I("VMOVUPS %v, %v", V(0), accOff(j, t))
		}
	}
	c20 := V(15)
	g.I("VPBROADCASTQ k20<>(SB), %v", c20)
	g.I("TESTQ CX, CX")
	g.I("JZ done")
	g.L("loop")
	dw, t0 := V(8), V(9)
	g.I("VCVTPH2PS 0(R12), %v", dw)
	for j := range tileActs {
		g.I("VBROADCASTSS (%s), %v", actRegs[j], t0)
		g.I("VMULPS %v, %v, %v", t0, dw, t0)
		g.I("VMOVUPS %v, %d(SP)", t0, dvOff+vb*j)
	}
	k.bcast16(g, "kdupW", t0)
	for j := range 16 {
		g.I("VPMOVSXBD %d(R11), %v", 32+16*j, dw)
		g.I("VPSHUFB %v, %v, %v", t0, dw, dw)
		k.st(g, dw, M(scOff+vb*j, "SP"))
	}
	ii := []Reg{V(0), V(1), V(2), V(3)}
	q := []Reg{V(4), V(5), V(6), V(7)}
	l0, l1, hh, aa, p, bb := V(8), V(9), V(10), V(11), V(12), V(13)
	for u := range 8 {
		for c := range 2 {
			k.ld(g, M(288+64*(16*c+u), "R13"), l0)
			k.ld(g, M(288+64*(16*c+8+u), "R13"), l1)
			k.ld(g, M(2336+64*(8*c+u), "R13"), hh)
			for s := range 4 {
				src := []Reg{l0, l1, l0, l1}[s]
				if s < 2 {
					k.and(g, mask("k0f"), src, q[s])
				} else {
					g.I("VPSRLW $4, %v, %v", src, q[s])
					k.and(g, mask("k0f"), q[s], q[s])
				}
				switch hs := 4 - 2*s; {
				case hs > 0:
					g.I("VPSLLW $%d, %v, %v", hs, hh, p)
					k.and(g, mask("k30"), p, p)
				case hs < 0:
					g.I("VPSRLW $%d, %v, %v", -hs, hh, p)
					k.and(g, mask("k30"), p, p)
				default:
					k.and(g, mask("k30"), hh, p)
				}
				k.or(g, p, q[s], q[s])
			}
			for j := range tileActs {
				a := actRegs[j]
				for s := range 4 {
					sb := 4*c + s
					g.I("VPBROADCASTD %d(%s), %v", 4+32*sb+4*u, a, aa)
					g.I("VPMADDUBSW %v, %v, %v", aa, q[s], p)
					g.I("VPMADDUBSW %v, %v, %v", aa, c20, bb)
					g.I("VPSUBW %v, %v, %v", bb, p, p)
					scj := M(scOff+vb*(2*sb+u/4), "SP")
					if c == 0 && s == 0 {
						g.I("VPMADDWD %v, %v, %v", scj, p, ii[j])
					} else {
						k.dpwssd(g, scj, p, ii[j])
					}
				}
			}
		}
		for j := range tileActs {
			g.I("VCVTDQ2PS %v, %v", ii[j], ii[j])
			g.I("VMOVUPS %v, %v", accOff(j, u), p)
			g.I("VFMADD231PS %d(SP), %v, %v", dvOff+vb*j, ii[j], p)
			g.I("VMOVUPS %v, %v", p, accOff(j, u))
		}
	}
	g.I("ADDQ $3360, R11")
	g.I("ADDQ $3360, R12")
	g.I("ADDQ $3360, R13")
	for _, a := range actRegs {
		g.I("ADDQ $292, %s", a)
	}
	g.I("DECQ CX")
	g.I("JNZ loop")
	g.L("done")
	kTileEnd(g, k, accOff, func(int, Reg) {})
}
