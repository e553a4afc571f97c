package main

import "fmt"

// q4KGemvY writes gemvQ4_KP<k> for the Y-register paths (avx2, avxvnni):
// the arithmetic of q4KGemv with the operands that q4KGemv reads from
// memory in every step (the scales, the nibble mask) held in registers
// and the float32 lane accumulators on the stack instead (one load and
// store per lane and block, against two scale loads and two mask loads
// per line), and on avxvnni two sub-blocks per multiplication by the
// scales, as the avx512 eight-row tile does (kt8.go), with a word swap by
// VPSHUFB for its VPROLD:
//
//	x = B·2^16 + B + q_2c           VPDPBUSD (low nibbles), x from B·2^16 + B
//	x = (B + q_2c)·2^16 + B         VPSHUFB (the words swapped)
//	x = (B + q_2c)·2^16 + B + q_2c+1  VPDPBUSD (high nibbles)
//
// with B = 8192: |q_s| <= 4·15·128 = 7680, so both biased sums lie in
// [512, 15872], fifteen bits, never negative, and the words of x are
// exactly B + q_2c+1 (low) and B + q_2c (high). One VPDPWSSD by the word
// pair (sc_2c+1, sc_2c) adds sc_2c·(B + q_2c) + sc_2c+1·(B + q_2c+1) to the
// lane, which starts from -B·Σ_s sc_s: three multiplying instructions per
// line instead of four, and the int32 lanes are q4KGemv's exactly. The
// float32 steps are the same operations in the same order.
//
// Registers in the lanes: Y0 the int32 lane, Y1..Y5 scratch, Y6 d_a·d_w,
// Y7 the nibble mask; avx2 the scales sc_j in Y8..Y15; avxvnni Y8 the
// bias B in both words, Y9 the word swap pattern, Y10 -B·Σ_s sc_s, Y11
// -B in both words, the scale pairs of c < 4 in Y12..Y15. Stack: the lane accumulators at 0, the
// minimum accumulators at 256, d_a·dmin_w at 384.
func q4KGemvY(g *G, k kvar) {
	if k.z {
		panic("q4KGemvY: Y paths only")
	}
	name := "gemvQ4_KP" + k.suffix
	how := "VPMADDUBSW and VPMADDWD by each scale"
	if k.vnni {
		how = "VPDPBUSD quad sums of two sub-blocks in the words of one dword, one VPDPWSSD by the scale pair"
	}
	kHeader(g, name, fmt.Sprintf(rowsDoc(k), "dotQ4_K")+`, bit for bit.
Per block column the rows' 6-bit scales and minimums are unpacked for all
rows at once (VPSHUFB and masks on the rearranged dwords), the scales into
registers; lane t of dotQ4_K is, per row, Σ_c sc_2c·quad_t(low nibbles of
line (c, t), sub-block 2c) + sc_2c+1·quad_t(high nibbles, sub-block 2c+1)
(`+how+`), every row in its own dword lane; then the float32 steps of
dotQ4_K (see kernels/_gen/kqy.go).`, 448)
	kArgs(g, k)
	acc := func(t int) Mem { return M(32*t, "SP") }
	accm := func(t int) Mem { return M(256+32*t, "SP") }
	dmin := M(384, "SP")
	ii, dvec, m0f := Y(0), Y(6), Y(7)
	g.I("VXORPS %v, %v, %v", ii, ii, ii)
	for t := range 8 {
		movTo(g, ii, acc(t))
	}
	for t := range 4 {
		movTo(g, ii, accm(t))
	}
	g.I("VPBROADCASTQ k0f<>(SB), %v", m0f)
	if k.vnni {
		g.I("VPBROADCASTD kqyBias<>(SB), Y8")
		g.I("VBROADCASTI128 kqySwap<>(SB), Y9")
		g.I("VPBROADCASTD kqyNegBias<>(SB), Y11")
	}
	g.I("TESTQ CX, CX")
	g.I("JZ done")
	g.L("loop")
	prefetchAhead(g, 2304, 2)
	g.C("d_a·d_w, d_a·dmin_w")
	t1 := Y(1)
	g.I("VBROADCASTSS (DI), %v", dvec)
	g.I("VCVTPH2PS 32(R12), %v", t1)
	g.I("VMULPS %v, %v, %v", dvec, t1, t1)
	movTo(g, t1, dmin)
	g.I("VCVTPH2PS 0(R12), %v", t1)
	g.I("VMULPS %v, %v, %v", t1, dvec, dvec)
	g.C("the minimums times the block sums")
	b := Y(4)
	bsumPairs(g, X(5))
	d0, d1, d2, x := Y(0), Y(1), Y(2), Y(3)
	k.ld(g, M(64, "R13"), d0)
	k.ld(g, M(128, "R13"), d1)
	k.ld(g, M(192, "R13"), d2)
	kMinVecs(g, k, []Reg{d0, d1, d2, x}, func(t int, v Reg) {
		bcastDword(g, X(5), t, b)
		g.I("VPMADDWD %v, %v, %v", b, v, v)
		g.I("VCVTDQ2PS %v, %v", v, v)
		k.ld(g, accm(t), b)
		g.I("VFNMADD231PS %v, %v, %v", dmin, v, b)
		movTo(g, b, accm(t))
	})
	g.C("the scales")
	var sc func(j int) Reg // avx2: sc_j
	var sp func(c int) Reg // avxvnni: (sc_2c+1, sc_2c)
	if k.vnni {
		sp = func(c int) Reg { return Y(12 + c) }
		for c := range 4 {
			k.ld(g, M(64+64*(c/2), "R13"), sp(c))
			k.bcast16(g, fmt.Sprintf("kscPair%d", c%2), x)
			g.I("VPSHUFB %v, %v, %v", x, sp(c), sp(c))
			k.and(g, mask("k3f"), sp(c), sp(c))
		}
		g.C("-B·Σ_s sc_s")
		g.I("VPADDW %v, %v, Y10", sp(1), sp(0))
		g.I("VPADDW %v, %v, %v", sp(2), Y(10), Y(10))
		g.I("VPADDW %v, %v, %v", sp(3), Y(10), Y(10))
		g.I("VPMADDWD Y11, Y10, Y10")
	} else {
		sc = func(j int) Reg { return Y(8 + j) }
		k.ld(g, M(64, "R13"), d0)
		k.ld(g, M(128, "R13"), d1)
		for j := range 8 {
			d := d0
			if j >= 4 {
				d = d1
			}
			k.bcast16(g, fmt.Sprintf("kscIdx%d", j%4), x)
			g.I("VPSHUFB %v, %v, %v", x, d, sc(j))
			k.and(g, mask("k3f"), sc(j), sc(j))
		}
	}
	g.C("the lanes")
	vv, hi, aa, ab, xx := Y(1), Y(2), Y(3), Y(4), Y(5)
	for t := range 8 {
		for c := range 4 {
			k.ld(g, M(256+64*(8*c+t), "R13"), vv)
			g.I("VPSRLW $4, %v, %v", vv, hi)
			k.and(g, m0f, vv, vv)
			k.and(g, m0f, hi, hi)
			g.I("VPBROADCASTD %d(DI), %v", 4+64*c+4*t, aa)
			g.I("VPBROADCASTD %d(DI), %v", 4+64*c+32+4*t, ab)
			if k.vnni {
				if c == 0 {
					g.I("VMOVDQU Y10, %v", ii)
				}
				g.I("VMOVDQU Y8, %v", xx)
				g.DPBUSD(aa, vv, xx)
				g.I("VPSHUFB Y9, %v, %v", xx, xx)
				g.DPBUSD(ab, hi, xx)
				g.DPWSSD(sp(c), xx, ii)
				continue
			}
			g.I("VPMADDUBSW %v, %v, %v", aa, vv, vv)
			g.I("VPMADDUBSW %v, %v, %v", ab, hi, hi)
			if c == 0 {
				g.I("VPMADDWD %v, %v, %v", sc(0), vv, ii)
			} else {
				g.I("VPMADDWD %v, %v, %v", sc(2*c), vv, vv)
				g.I("VPADDD %v, %v, %v", vv, ii, ii)
			}
			g.I("VPMADDWD %v, %v, %v", sc(2*c+1), hi, hi)
			g.I("VPADDD %v, %v, %v", hi, ii, ii)
		}
		g.C("acc_t = fma(d_a·d_w, float32(lane), acc_t)")
		g.I("VCVTDQ2PS %v, %v", ii, ii)
		g.I("VFMADD213PS %v, %v, %v", acc(t), dvec, ii)
		movTo(g, ii, acc(t))
	}
	g.I("ADDQ $2304, R12")
	g.I("ADDQ $2304, R13")
	yGemvEnd(g, acc, func(res Reg) {
		addMins4(g, func(t int) any { return accm(t) }, []Reg{Y(9), Y(10), Y(11), Y(12)}, res)
	})
}

// yGemvEnd closes a Y-register gemv's block loop: it steps DI to the next
// activation block, loops, then sums the eight lane accumulators acc(0..7)
// in ggml's order into Y8, lets more add to it (nil: nothing), stores it
// to out and returns.
func yGemvEnd(g *G, acc func(int) Mem, more func(res Reg)) {
	g.I("ADDQ $292, DI")
	g.I("DECQ CX")
	g.I("JNZ loop")
	g.L("done")
	accs := make([]Reg, 8)
	for t := range 8 {
		accs[t] = Y(t)
		g.I("VMOVUPS %v, %v", acc(t), accs[t])
	}
	res := Y(8)
	laneSum8(g, accs, res)
	if more != nil {
		more(res)
	}
	g.I("VMOVUPS %v, (R11)", res)
	g.I("VZEROUPPER")
	g.I("RET")
	g.Raw("\n")
}

// q6KGemvY writes gemvQ6_KP<k> for the Y-register paths: q6KGemv's
// arithmetic with its constants (the nibble and high-bit masks, 32) and
// d_a·d_w in registers, the float32 lane accumulators on the stack, and on
// avxvnni one VPDPBUSD per quad instead of two VPMADDUBSW and a VPSUBW:
// the quad sum Σ q·a starts from -32·Σ a of the activation quad (a table
// on the stack per block column, the quads' sums by VPDPBUSD against 32),
// which gives Σ (q-32)·a, |Σ| <= 4·32·128 = 16384, as a dword whose low
// word is the sum itself; the VPDPWSSD by the scale then takes the word
// pair (sc_j, 0). The int32 lanes are q6KGemv's exactly, the float32 steps
// the same operations in the same order.
//
// Registers: Y0 bytes 0x0f, Y1 bytes 0x30, Y2 d_a·d_w, Y8..Y14 scratch,
// Y15 bytes 0x20. Stack: the scales at 0 (sixteen vectors), the lane
// accumulators at 512, the avxvnni table at 768.
func q6KGemvY(g *G, k kvar) {
	if k.z {
		panic("q6KGemvY: Y paths only")
	}
	name := "gemvQ6_KP" + k.suffix
	how := "VPMADDUBSW, minus 32 times its pair sums"
	if k.vnni {
		how = "VPDPBUSD from -32 times its sum"
	}
	kHeader(g, name, fmt.Sprintf(rowsDoc(k), "dotQ6_K")+`, bit for bit.
Per block column the rows' int8 scales are widened for all rows at once;
lane u of dotQ6_K is, per row, Σ over the eight 32-value sub-blocks s of
scale_(2s+(u>=4)) · Σ (q-32)·a over quad u: the 6-bit q of lines (c, 0, u),
(c, 1, u) of ql and (c, u) of qh, four sub-blocks per three loads, times
the activation quad u broadcast (`+how+`), times the scales, summed in the
row's dword lane; then acc_u = fma(d_a·d_w, float32(lane), acc_u) (see
kernels/_gen/kqy.go).`, 1024)
	kArgs(g, k)
	g.C("R10: the half's int8 scales (w + 8h)")
	g.I("MOVQ w+8(FP), R10")
	g.I("SHRQ $1, AX")
	g.I("ADDQ AX, R10")
	sc := func(j int) Mem { return M(32*j, "SP") }
	acc := func(u int) Mem { return M(512+32*u, "SP") }
	tab := func(sb, u int) Mem { return M(768+32*sb+4*u, "SP") }
	m0f, m30, dvec, c20 := Y(0), Y(1), Y(2), Y(15)
	g.I("VXORPS Y8, Y8, Y8")
	for u := range 8 {
		movTo(g, Y(8), acc(u))
	}
	g.I("VPBROADCASTQ k0f<>(SB), %v", m0f)
	g.I("VPBROADCASTQ k30<>(SB), %v", m30)
	g.I("VPBROADCASTQ k20<>(SB), %v", c20)
	g.I("TESTQ CX, CX")
	g.I("JZ done")
	g.L("loop")
	prefetchAhead(g, 3360, 2)
	t0, t1 := Y(8), Y(9)
	g.I("VBROADCASTSS (DI), %v", t0)
	g.I("VCVTPH2PS 0(R12), %v", dvec)
	g.I("VMULPS %v, %v, %v", t0, dvec, dvec)
	if k.vnni {
		g.C("the scales: line j (row r's int8 at 32+16j+r), in the low word of its row's dword")
		g.I("VPBROADCASTD kqyLoW<>(SB), %v", t0)
		for j := range 16 {
			g.I("VPMOVSXBD %d(R10), %v", 32+16*j, t1)
			g.I("VPAND %v, %v, %v", t0, t1, t1)
			k.st(g, t1, sc(j))
		}
		g.C("-32·Σ a of each activation quad")
		z := Y(10)
		g.I("VPXOR %v, %v, %v", z, z, z)
		for sb := range 8 {
			g.I("VPXOR %v, %v, %v", t1, t1, t1)
			g.DPBUSD(M(4+32*sb, "DI"), c20, t1)
			g.I("VPSUBD %v, %v, %v", t1, z, t1)
			k.st(g, t1, tab(sb, 0))
		}
	} else {
		g.C("the scales: line j (row r's int8 at 32+16j+r), each in both words of its row's dword")
		k.bcast16(g, "kdupW", t0)
		for j := range 16 {
			g.I("VPMOVSXBD %d(R10), %v", 32+16*j, t1)
			g.I("VPSHUFB %v, %v, %v", t0, t1, t1)
			k.st(g, t1, sc(j))
		}
	}
	l0, l1, hh, q, aa, p, ia := Y(8), Y(9), Y(10), Y(11), Y(12), Y(13), Y(14)
	for u := range 8 {
		first := true
		for c := range 2 {
			k.ld(g, M(288+64*(16*c+u), "R13"), l0)
			k.ld(g, M(288+64*(16*c+8+u), "R13"), l1)
			k.ld(g, M(2336+64*(8*c+u), "R13"), hh)
			for s := range 4 {
				// q = (ql nibble) | (qh bits 2s, 2s+1 at bits 4, 5)
				src := []Reg{l0, l1, l0, l1}[s]
				if s < 2 {
					k.and(g, m0f, src, q)
				} else {
					g.I("VPSRLW $4, %v, %v", src, q)
					k.and(g, m0f, q, q)
				}
				switch hs := 4 - 2*s; {
				case hs > 0:
					g.I("VPSLLW $%d, %v, %v", hs, hh, p)
					k.and(g, m30, p, p)
				case hs < 0:
					g.I("VPSRLW $%d, %v, %v", -hs, hh, p)
					k.and(g, m30, p, p)
				default:
					k.and(g, m30, hh, p)
				}
				k.or(g, p, q, q)
				sb := 4*c + s
				g.I("VPBROADCASTD %d(DI), %v", 4+32*sb+4*u, aa)
				scj := sc(2*sb + u/4)
				if k.vnni {
					g.I("VPBROADCASTD %v, %v", tab(sb, u), p)
					g.DPBUSD(aa, q, p)
					q = p
				} else {
					g.I("VPMADDUBSW %v, %v, %v", aa, q, q)
					g.I("VPMADDUBSW %v, %v, %v", aa, c20, p)
					g.I("VPSUBW %v, %v, %v", p, q, q)
				}
				if first {
					g.I("VPMADDWD %v, %v, %v", scj, q, ia)
					first = false
				} else {
					k.dpwssd(g, scj, q, ia)
				}
				q = Y(11)
			}
		}
		g.C("acc_u = fma(d_a·d_w, float32(lane), acc_u)")
		g.I("VCVTDQ2PS %v, %v", ia, ia)
		g.I("VFMADD213PS %v, %v, %v", acc(u), dvec, ia)
		movTo(g, ia, acc(u))
	}
	g.I("ADDQ $3360, R10")
	g.I("ADDQ $3360, R12")
	g.I("ADDQ $3360, R13")
	yGemvEnd(g, acc, nil)
}
