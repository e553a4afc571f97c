package main

import "fmt"

// The eight-row prompt tile over packed Q4_K for the avx512 path: the
// arithmetic of
// tileQ4_KPAVX512 (one row of the group per dword lane, lane t of each
// activation row in its own register) with fewer multiplications per
// value, for eight activation rows per unpacked line of weights.
//
// dotQ4_K's lane t of a row is Σ_c sc_2c·q_2c + sc_2c+1·q_2c+1, q_s the
// sum of the four products of quad t of sub-block s (|q_s| <= 4·15·128 =
// 7680). The four-row tile gets each q_s·sc_s from a VPMADDUBSW (byte
// pairs to words) and a VPDPWSSD (word pairs times the scale, to the
// dword): four multiplying instructions per line and activation row. Here
// one VPDPBUSD sums each quad to a dword directly (the activation quad
// broadcast from memory by the instruction), on top of the bias B = 8192,
// so the sum B + q_s lies in [512, 15872]: fifteen bits, never negative.
// So
//
//	x = B·2^16 + B + q_2c           VPDPBUSD (low nibbles), x from B·2^16 + B
//	x = (B + q_2c)·2^16 + B         VPROLD $16 (the words swapped)
//	x = (B + q_2c)·2^16 + B + q_2c+1  VPDPBUSD (high nibbles)
//
// holds the two biased sums as the high and low words of one dword, and
// one VPDPWSSD by the word pair (sc_2c+1, sc_2c) adds sc_2c·(B + q_2c) +
// sc_2c+1·(B + q_2c+1) to the lane: three multiplying instructions per
// line and activation row instead of four. The lanes start from
// -B·Σ_s sc_s, which takes the biases back out: every int32 lane is
// dotQ4_K's exactly, and the float32 steps are the four-row tile's.

// act8Regs hold the eight activation rows' pointers.
var act8Regs = []string{"DI", "R8", "R9", "R10", "SI", "BX", "DX", "R11"}

// k8Consts writes the constants of packk8_amd64.s: 4-byte values that the
// kernel broadcasts, and 16-byte VPSHUFB patterns.
func k8Consts(g *G) {
	for _, c := range []struct {
		name string
		v    uint32
	}{
		{"k8c0f", 0x0f0f0f0f}, {"k8c3f", 0x3f3f3f3f}, {"k8c03", 0x03030303},
		{"k8c0c", 0x0c0c0c0c}, {"k8c30", 0x30303030},
		{"k8bias", 0x20002000},    // B in both words
		{"k8negBias", 0xe000e000}, // -B in both words
		{"k8c20", 0x20202020},     // Q6_K: 32, the offset of its values
		{"k8bias6", 0x00004000},   // Q6_K: B = 16384
		{"k8negBias6", 0xc000c000},
		{"k8x10001", 0x00010001},
	} {
		g.Raw(sprintf("DATA %s<>+0(SB)/4, $0x%08x\n", c.name, c.v))
		g.Raw(sprintf("GLOBL %s<>(SB), RODATA|NOPTR, $4\n", c.name))
	}
	pat := func(name string, d [4]int) {
		var b []byte
		for k := range 4 {
			for _, x := range d {
				if x < 0 {
					b = append(b, 0x80)
				} else {
					b = append(b, byte(4*k+x))
				}
			}
		}
		for h := range 2 {
			var q uint64
			for i := 7; i >= 0; i-- {
				q = q<<8 | uint64(b[8*h+i])
			}
			g.Raw(sprintf("DATA %s<>+%d(SB)/8, $0x%016x\n", name, 8*h, q))
		}
		g.Raw(sprintf("GLOBL %s<>(SB), RODATA|NOPTR, $16\n", name))
	}
	// bytes 1 and 0 (3 and 2) of each dword to its low and high words:
	// the scale pairs (sc_2c+1, sc_2c)
	pat("k8scPair0", [4]int{1, -1, 0, -1})
	pat("k8scPair1", [4]int{3, -1, 2, -1})
	// bytes 0 and 1 (2 and 3) to the low and high words: the minimum
	// pairs (m_2t, m_2t+1)
	pat("k8mPair0", [4]int{0, -1, 1, -1})
	pat("k8mPair1", [4]int{2, -1, 3, -1})
	g.Raw("\n")
}

// q4KTile8 writes tileQ4_KP8AVX512.
//
// Registers in the block loop: Z0..Z7 the int32 lanes of the eight
// activation rows (during the scales, Z0..Z3 the minimum pairs and Z4..Z7
// scratch), Z8 and Z9 the low and high nibbles of a line, Z10..Z13 the
// paired sums, Z14 and Z15 scratch, Z16..Z19 the scale pairs of c < 4,
// Z20 the bias constant, Z21 -B·Σ sc per row, Z22 the nibble mask, Z23
// dmin_w, Z24..Z31 d_a·d_w per activation row. The float32 lane and
// minimum accumulators live on the stack.
func q4KTile8(g *G) {
	const name, vb, acts = "tileQ4_KP8AVX512", 64, 8
	accBase := 0
	mBase := accBase + acts*8*vb
	frame := mBase + acts*4*vb
	accOff := func(j, t int) Mem { return M(accBase+(8*j+t)*vb, "SP") }
	mOff := func(j, t int) Mem { return M(mBase+(4*j+t)*vb, "SP") }
	k8Head(g, name, "dotQ4_K", "", frame)
	g.C("zero the accumulators")
	g.I("VPXORD Z0, Z0, Z0")
	for j := range acts {
		for t := range 8 {
			g.I("VMOVUPS Z0, %v", accOff(j, t))
		}
		for t := range 4 {
			g.I("VMOVUPS Z0, %v", mOff(j, t))
		}
	}
	g.I("VPBROADCASTD k8bias<>(SB), Z20")
	g.I("VPBROADCASTD k8c0f<>(SB), Z22")
	g.I("TESTQ CX, CX")
	g.I("JZ done")
	g.L("loop")
	g.C("d_a·d_w of each activation row; dmin_w")
	g.I("VCVTPH2PS 0(R13), Z15")
	g.I("VCVTPH2PS 32(R13), Z23")
	for j, a := range act8Regs {
		g.I("VBROADCASTSS (%s), Z14", a)
		g.I("VMULPS Z14, Z15, Z%d", 24+j)
	}
	g.C("the scale pairs (sc_2c+1, sc_2c) from the dwords at 64 and 128")
	g.I("VMOVDQU64 64(R13), Z8")
	g.I("VMOVDQU64 128(R13), Z9")
	g.I("VMOVDQU64 192(R13), Z10")
	g.I("VBROADCASTI32X4 k8scPair0<>(SB), Z14")
	g.I("VBROADCASTI32X4 k8scPair1<>(SB), Z15")
	for c := range 4 {
		d := []string{"Z8", "Z9"}[c/2]
		p := []string{"Z14", "Z15"}[c%2]
		g.I("VPSHUFB %s, %s, Z%d", p, d, 16+c)
		g.I("VPANDD.BCST k8c3f<>(SB), Z%d, Z%d", 16+c, 16+c)
	}
	g.C("-B·Σ sc per row")
	g.I("VPXORD Z21, Z21, Z21")
	for c := range 4 {
		g.I("VPDPWSSD.BCST k8negBias<>(SB), Z%d, Z21", 16+c)
	}
	g.C("the minimum pairs (m_2t, m_2t+1) in Z0..Z3: m_0..m_3 from the dword at")
	g.C("192, m_4..m_7 from the top bits of the three")
	g.I("VBROADCASTI32X4 k8mPair0<>(SB), Z11")
	g.I("VBROADCASTI32X4 k8mPair1<>(SB), Z12")
	g.I("VPSHUFB Z11, Z10, Z0")
	g.I("VPANDD.BCST k8c3f<>(SB), Z0, Z0")
	g.I("VPSHUFB Z12, Z10, Z1")
	g.I("VPANDD.BCST k8c3f<>(SB), Z1, Z1")
	g.I("VPSRLD $6, Z8, Z8")
	g.I("VPSRLD $4, Z9, Z9")
	g.I("VPSRLD $2, Z10, Z10")
	g.I("VPANDD.BCST k8c03<>(SB), Z8, Z8")
	g.I("VPANDD.BCST k8c0c<>(SB), Z9, Z9")
	g.I("VPANDD.BCST k8c30<>(SB), Z10, Z10")
	g.I("VPORD Z9, Z8, Z8")
	g.I("VPORD Z10, Z8, Z8")
	g.I("VPSHUFB Z11, Z8, Z2")
	g.I("VPSHUFB Z12, Z8, Z3")
	g.C("the minimums times each activation row's block sums, to its four")
	g.C("minimum accumulators with -d_a·dmin_w")
	for j, a := range act8Regs {
		g.I("VBROADCASTSS (%s), Z14", a)
		g.I("VMULPS Z14, Z23, Z14")
		g.I("VMOVDQU 260(%s), X15", a)
		g.I("VPHADDW 276(%s), X15, X15", a)
		g.I("VSHUFI32X4 $0, Z15, Z15, Z15")
		for t := range 4 {
			v := fmt.Sprintf("Z%d", 4+t)
			g.I("VPSHUFD $%d, Z15, %s", 0x55*t, v)
			g.I("VPMADDWD Z%d, %s, %s", t, v, v)
			g.I("VCVTDQ2PS %s, %s", v, v)
			g.I("VFNMADD213PS %v, Z14, %s", mOff(j, t), v)
			g.I("VMOVUPS %s, %v", v, mOff(j, t))
		}
	}
	g.C("the lanes: lane t of the eight activation rows in Z0..Z7")
	for t := range 8 {
		for c := range 4 {
			g.I("VMOVDQU64 %d(R13), Z8", 256+64*(8*c+t))
			g.I("VPSRLW $4, Z8, Z9")
			g.I("VPANDD Z22, Z8, Z8")
			g.I("VPANDD Z22, Z9, Z9")
			for j, a := range act8Regs {
				x := fmt.Sprintf("Z%d", 10+j%4)
				g.I("VMOVDQA64 Z20, %s", x)
				g.I("VPDPBUSD.BCST %d(%s), Z8, %s", 4+64*c+4*t, a, x)
				g.I("VPROLD $16, %s, %s", x, x)
				g.I("VPDPBUSD.BCST %d(%s), Z9, %s", 4+64*c+32+4*t, a, x)
				if c == 0 {
					g.I("VMOVDQA64 Z21, Z%d", j)
				}
				g.I("VPDPWSSD Z%d, %s, Z%d", 16+c, x, j)
			}
		}
		for j := range acts {
			g.I("VCVTDQ2PS Z%d, Z%d", j, j)
			g.I("VFMADD213PS %v, Z%d, Z%d", accOff(j, t), 24+j, j)
			g.I("VMOVUPS Z%d, %v", j, accOff(j, t))
		}
	}
	k8Tail(g, 2304, accOff, mOff)
}

// The eight-row Q6_K tile applies the same pairing to dotQ6_K, whose
// lane u of a row is Σ_s sc_{2s+u/4}·q_s over the eight 32-value
// sub-blocks s, q_s = Σ (w-32)·a over quad u of s. With the activation
// quants in [-127, 127] (as QuantizeActivation writes them, MatMul's
// contract) |q_s| <= 4·32·127 = 16256, so B = 16384 puts B + q_s in
// [128, 32640]. VPDPBUSD sums the unsigned 6-bit w times a; the -32·Σa
// of the quad (A_s) depends on the activation row alone, so a table per
// block column and activation row holds, for each pair of sub-blocks
// (s, s' = s+1) and quad, B - 32·A_s in the low word and B - 32·A_s' in
// the high word of a dword T:
//
//	x = T + Σ w·a (sub-block s)           = (B - 32·A_s')·2^16 + (B + q_s)
//	x = (B + q_s)·2^16 + (B - 32·A_s')    VPROLD $16 (the words swapped)
//	x += Σ w·a (sub-block s')             = (B + q_s)·2^16 + (B + q_s')
//
// then one VPDPWSSD by the scale pair (sc_{2s'+u/4}, sc_{2s+u/4}). The
// lanes start from -B·Σ_s sc_{2s+u/4}: five instructions (three
// multiplying) per pair of sub-blocks and activation row, where the
// four-row tile takes ten (six), and one table load.

// q6KTile8 writes tileQ6_KP8AVX512.
//
// Registers in the block loop: Z0..Z7 the int32 lanes of the eight
// activation rows, Z8..Z11 the 6-bit values of sub-blocks 4c..4c+3 of a
// line, Z12..Z15 the ql and qh lines and scratch, Z16..Z19 the paired
// sums, Z20 and Z21 -B·Σ sc of the lanes u < 4 and u >= 4, Z22 and Z23
// the masks 0x0f and 0x30, Z24..Z31 d_a·d_w per activation row. The
// float32 lane accumulators, the activation tables and the scale pairs
// live on the stack.
func q6KTile8(g *G) {
	const name, vb, acts = "tileQ6_KP8AVX512", 64, 8
	accBase := 0
	tBase := accBase + acts*8*vb // tables: 32 dwords per activation row
	scBase := tBase + acts*128   // scale pairs: 4 pairs x 2 halves
	frame := scBase + 8*vb
	accOff := func(j, u int) Mem { return M(accBase+(8*j+u)*vb, "SP") }
	tOff := func(j, p, u int) Mem { return M(tBase+128*j+4*(8*p+u), "SP") }
	scOff := func(p, h int) Mem { return M(scBase+(2*p+h)*vb, "SP") }
	k8Head(g, name, "dotQ6_K", ", for activation quants in [-127, 127]", frame)
	g.C("zero the accumulators")
	g.I("VPXORD Z0, Z0, Z0")
	for j := range acts {
		for u := range 8 {
			g.I("VMOVUPS Z0, %v", accOff(j, u))
		}
	}
	g.I("VPBROADCASTD k8c0f<>(SB), Z22")
	g.I("VPBROADCASTD k8c30<>(SB), Z23")
	g.I("TESTQ CX, CX")
	g.I("JZ done")
	g.L("loop")
	g.C("the weights 8 KiB ahead, to the L1 cache (out of the caches, as the")
	g.C("output matrix of a batch of decoding streams, the tile waited for")
	g.C("memory)")
	for off := 0; off < 3360; off += 64 {
		g.I("PREFETCHT0 %d(R13)", 8192+off)
	}
	g.C("d_a·d_w of each activation row")
	g.I("VCVTPH2PS 0(R13), Z15")
	for j, a := range act8Regs {
		g.I("VBROADCASTSS (%s), Z14", a)
		g.I("VMULPS Z14, Z15, Z%d", 24+j)
	}
	g.C("the tables: per activation row, pair p and quad u, B - 32·A of")
	g.C("sub-block 2p in the low word and of 2p+1 in the high word")
	g.I("VPBROADCASTD k8c20<>(SB), Z12")
	g.I("VPBROADCASTD k8bias6<>(SB), Z13")
	for j, a := range act8Regs {
		for i := range 4 {
			z := fmt.Sprintf("Z%d", 16+i)
			y, yh := fmt.Sprintf("Y%d", 16+i), "Y14"
			g.I("VPXORD %s, %s, %s", z, z, z)
			g.I("VPDPBUSD %d(%s), Z12, %s", 4+64*i, a, z)
			g.I("VPSUBD %s, Z13, %s", z, z)
			g.I("VEXTRACTI64X4 $1, %s, %s", z, yh)
			g.I("VPSLLD $16, %s, %s", yh, yh)
			g.I("VPORD %s, %s, %s", yh, y, y)
			g.I("VMOVDQU32 %s, %v", y, tOff(j, i, 0))
		}
	}
	g.C("the scale pairs (sc_{2s'+h}, sc_{2s+h}) of s = 2p, s' = 2p+1, and")
	g.C("-B·Σ sc of each half h")
	g.I("VPXORD Z20, Z20, Z20")
	g.I("VPXORD Z21, Z21, Z21")
	for p := range 4 {
		for h := range 2 {
			jA, jB := 2*(2*p)+h, 2*(2*p+1)+h
			g.I("VPMOVSXBD %d(R13), Z8", 32+16*jA)
			g.I("VPMOVSXBD %d(R13), Z9", 32+16*jB)
			g.I("VPSLLD $16, Z8, Z8")
			g.I("VPSLLD $16, Z9, Z9")
			g.I("VPSRLD $16, Z9, Z9")
			g.I("VPORD Z9, Z8, Z8")
			g.I("VMOVDQU32 Z8, %v", scOff(p, h))
			g.I("VPDPWSSD.BCST k8negBias6<>(SB), Z8, Z%d", 20+h)
		}
	}
	g.C("the lanes: lane u of the eight activation rows in Z0..Z7")
	q := []string{"Z8", "Z9", "Z10", "Z11"}
	for u := range 8 {
		for c := range 2 {
			g.I("VMOVDQU64 %d(R13), Z12", 288+64*(16*c+u))
			g.I("VMOVDQU64 %d(R13), Z13", 288+64*(16*c+8+u))
			g.I("VMOVDQU64 %d(R13), Z14", 2336+64*(8*c+u))
			for s := range 4 {
				src := []string{"Z12", "Z13", "Z12", "Z13"}[s]
				if s < 2 {
					g.I("VPANDD Z22, %s, %s", src, q[s])
				} else {
					g.I("VPSRLW $4, %s, %s", src, q[s])
					g.I("VPANDD Z22, %s, %s", q[s], q[s])
				}
				switch hs := 4 - 2*s; {
				case hs > 0:
					g.I("VPSLLW $%d, Z14, Z15", hs)
					g.I("VPANDD Z23, Z15, Z15")
				case hs < 0:
					g.I("VPSRLW $%d, Z14, Z15", -hs)
					g.I("VPANDD Z23, Z15, Z15")
				default:
					g.I("VPANDD Z23, Z14, Z15")
				}
				g.I("VPORD Z15, %s, %s", q[s], q[s])
			}
			for pp := range 2 {
				sA, sB := 4*c+2*pp, 4*c+2*pp+1
				for j, a := range act8Regs {
					x := fmt.Sprintf("Z%d", 16+j%4)
					g.I("VPBROADCASTD %v, %s", tOff(j, sA/2, u), x)
					g.I("VPDPBUSD.BCST %d(%s), %s, %s", 4+32*sA+4*u, a, q[2*pp], x)
					g.I("VPROLD $16, %s, %s", x, x)
					g.I("VPDPBUSD.BCST %d(%s), %s, %s", 4+32*sB+4*u, a, q[2*pp+1], x)
					if c == 0 && pp == 0 {
						g.I("VMOVDQA64 Z%d, Z%d", 20+u/4, j)
					}
					g.I("VPDPWSSD %v, %s, Z%d", scOff(sA/2, u/4), x, j)
				}
			}
		}
		for j := range acts {
			g.I("VCVTDQ2PS Z%d, Z%d", j, j)
			g.I("VFMADD213PS %v, Z%d, Z%d", accOff(j, u), 24+j, j)
			g.I("VMOVUPS Z%d, %v", j, accOff(j, u))
		}
	}
	k8Tail(g, 3360, accOff, nil)
}

// k8Head writes the doc comment, TEXT line and argument loads of an
// eight-row tile computing dot (cond: the doc's condition on the inputs):
// CX nb, R13 w, act8Regs the activation rows.
func k8Head(g *G, name, dot, cond string, frame int) {
	doc := fmt.Sprintf(`func %s(nb int, w, a *byte, ab int, out *float32, ldo int)

out[j·ldo + r] = %s of row r < 16 of the packed group w and the
activation row j < 8 at a + j·ab, bit for bit%s (AVX-512 VNNI; see the
generator, kernels/_gen/kt8.go, for the arithmetic).`, name, dot, cond)
	g.Doc(doc)
	g.Raw(fmt.Sprintf("TEXT ·%s(SB), $%d-48\n", name, frame))
	g.I("MOVQ nb+0(FP), CX")
	g.I("MOVQ w+8(FP), R13")
	g.I("MOVQ a+16(FP), DI")
	g.I("MOVQ ab+24(FP), AX")
	for j := 1; j < len(act8Regs); j++ {
		g.I("LEAQ (%s)(AX*1), %s", act8Regs[j-1], act8Regs[j])
	}
}

// k8Tail writes the end of an eight-row tile's block loop (blk bytes per
// block column) and its epilogue: per activation row ggml's lane sum of
// the float32 lane accumulators at accOff, with mOff (Q4_K) plus the sum
// (m0+m2)+(m1+m3) of the minimum accumulators, to out[j·ldo].
func k8Tail(g *G, blk int, accOff, mOff func(j, t int) Mem) {
	g.I("ADDQ $%d, R13", blk)
	for _, a := range act8Regs {
		g.I("ADDQ $292, %s", a)
	}
	g.I("DECQ CX")
	g.I("JNZ loop")
	g.L("done")
	if mOff != nil {
		g.C("per activation row: ggml's lane sum, plus (m0+m2)+(m1+m3)")
	} else {
		g.C("per activation row: ggml's lane sum")
	}
	g.I("MOVQ out+32(FP), AX")
	g.I("MOVQ ldo+40(FP), CX")
	g.I("SHLQ $2, CX")
	acc := []Reg{Z(0), Z(1), Z(2), Z(3), Z(4), Z(5), Z(6), Z(7)}
	for j := range act8Regs {
		for t := range 8 {
			g.I("VMOVUPS %v, %v", accOff(j, t), acc[t])
		}
		laneSum8(g, acc, Z(8))
		if mOff != nil {
			for t := range 4 {
				g.I("VMOVUPS %v, Z%d", mOff(j, t), 9+t)
			}
			g.I("VADDPS Z11, Z9, Z9")
			g.I("VADDPS Z12, Z10, Z10")
			g.I("VADDPS Z10, Z9, Z9")
			g.I("VADDPS Z9, Z8, Z8")
		}
		g.I("VMOVUPS Z8, (AX)")
		g.I("ADDQ CX, AX")
	}
	g.I("VZEROUPPER")
	g.I("RET")
	g.Raw("\n")
}
