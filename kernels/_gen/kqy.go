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
	g.C("+ ((accm0+accm2)+(accm1+accm3))")
	m := []Reg{Y(9), Y(10), Y(11), Y(12)}
	for t := range 4 {
		g.I("VMOVUPS %v, %v", accm(t), m[t])
	}
	g.I("VADDPS %v, %v, %v", m[2], m[0], m[0])
	g.I("VADDPS %v, %v, %v", m[3], m[1], m[1])
	g.I("VADDPS %v, %v, %v", m[1], m[0], m[0])
	g.I("VADDPS %v, %v, %v", m[0], res, res)
	g.I("VMOVUPS %v, (R11)", res)
	g.I("VZEROUPPER")
	g.I("RET")
	g.Raw("\n")
}
