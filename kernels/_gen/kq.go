package main

import "fmt"

// The kernels over packed K-quant groups (kernels/pack.go): sixteen rows
// per block column, their quants in dword lines (64 bytes: dword k of
// every row, row r at 4r). A vector holds one dword of every row of the
// group (AVX-512: all sixteen) or of a half (AVX2: rows 8h..8h+7, the
// 32 bytes at 32h of each line), so the arithmetic runs with one row per
// dword lane: no horizontal sums, and the per-row scales are unpacked
// for all rows at once.

// kvar is one path of the K-quant kernels.
type kvar struct {
	suffix string
	z      bool // AVX-512: Z registers, sixteen rows per vector
	vnni   bool // Y registers with AVX-VNNI's VPDPWSSD
}

var (
	kAVX2    = kvar{"AVX2", false, false}
	kAVXVNNI = kvar{"AVXVNNI", false, true}
	kAVX512  = kvar{"AVX512", true, true}
)

// V names vector register n.
func (k kvar) V(n int) Reg {
	if k.z {
		return Z(n)
	}
	return Y(n)
}

// vb is the bytes of a vector.
func (k kvar) vb() int {
	if k.z {
		return 64
	}
	return 32
}

// rows is the rows of a vector.
func (k kvar) rows() int { return k.vb() / 4 }

func (k kvar) ld(g *G, m any, r Reg) {
	if k.z {
		g.I("VMOVDQU64 %v, %v", m, r)
	} else {
		g.I("VMOVDQU %v, %v", m, r)
	}
}

func (k kvar) st(g *G, r Reg, m Mem) {
	if k.z {
		g.I("VMOVDQU64 %v, %v", r, m)
	} else {
		g.I("VMOVDQU %v, %v", r, m)
	}
}

func (k kvar) and(g *G, a any, b, dst Reg) {
	if k.z {
		g.I("VPANDD %v, %v, %v", a, b, dst)
	} else {
		g.I("VPAND %v, %v, %v", a, b, dst)
	}
}

func (k kvar) or(g *G, a any, b, dst Reg) {
	if k.z {
		g.I("VPORD %v, %v, %v", a, b, dst)
	} else {
		g.I("VPOR %v, %v, %v", a, b, dst)
	}
}

// bcast16 loads the 16-byte constant name into every 128-bit lane of r.
func (k kvar) bcast16(g *G, name string, r Reg) {
	if k.z {
		g.I("VBROADCASTI32X4 %s<>(SB), %v", name, r)
	} else {
		g.I("VBROADCASTI128 %s<>(SB), %v", name, r)
	}
}

// dpwssd adds to acc the products of the word pairs of p and sc (a
// register or memory); on avx2 (VPMADDWD, VPADDD) it clobbers p.
func (k kvar) dpwssd(g *G, sc any, p, acc Reg) {
	if k.vnni {
		g.DPWSSD(sc, p, acc)
		return
	}
	g.I("VPMADDWD %v, %v, %v", sc, p, p)
	g.I("VPADDD %v, %v, %v", p, acc, acc)
}

// the constants of the K-quant kernels: 16-byte VPSHUFB patterns, byte
// masks
func kConsts(g *G) {
	pat := func(name string, f func(k int) [4]int) {
		var b []byte
		for k := range 4 {
			for _, x := range f(k) {
				if x < 0 {
					b = append(b, 0x80)
				} else {
					b = append(b, byte(x))
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
	for j := range 4 {
		// byte j of each dword into both words of the dword
		pat(fmt.Sprintf("kscIdx%d", j), func(k int) [4]int { return [4]int{4*k + j, -1, 4*k + j, -1} })
	}
	for t := range 2 {
		// bytes 2t and 2t+1 of each dword into its two words
		pat(fmt.Sprintf("kmpIdx%d", t), func(k int) [4]int { return [4]int{4*k + 2*t, -1, 4*k + 2*t + 1, -1} })
	}
	// the low word of each dword into both words (Q6_K's scales)
	pat("kdupW", func(k int) [4]int { return [4]int{4 * k, 4*k + 1, 4 * k, 4*k + 1} })
	for t := range 2 {
		// bytes 2t+1 and 2t of each dword to its low and high words: the
		// scale pairs (sc_2c+1, sc_2c) of the avx2/avxvnni Q4_K kernel
		pat(fmt.Sprintf("kscPair%d", t), func(k int) [4]int { return [4]int{4*k + 2*t + 1, -1, 4*k + 2*t, -1} })
	}
	// the words of each dword swapped
	pat("kqySwap", func(k int) [4]int { return [4]int{4*k + 2, 4*k + 3, 4 * k, 4*k + 1} })
	// B = 8192 in both words of a dword, and -B (q4KGemvY)
	g.Raw("DATA kqyBias<>+0(SB)/4, $0x20002000\n")
	g.Raw("GLOBL kqyBias<>(SB), RODATA|NOPTR, $4\n")
	g.Raw("DATA kqyNegBias<>+0(SB)/4, $0xe000e000\n")
	g.Raw("GLOBL kqyNegBias<>(SB), RODATA|NOPTR, $4\n")
	// the low word of a dword (q6KGemvY)
	g.Raw("DATA kqyLoW<>+0(SB)/4, $0x0000ffff\n")
	g.Raw("GLOBL kqyLoW<>(SB), RODATA|NOPTR, $4\n")
	for _, c := range []struct {
		name string
		b    byte
	}{{"k3f", 0x3f}, {"k03", 0x03}, {"k0c", 0x0c}, {"k30", 0x30}, {"k0f", 0x0f}, {"k20", 0x20}, {"k10", 0x10}} {
		for i := range 8 {
			g.Raw(sprintf("DATA %s<>+%d(SB)/8, $0x%016x\n", c.name, 8*i, uint64(c.b)*0x0101010101010101))
		}
		g.Raw(sprintf("GLOBL %s<>(SB), RODATA|NOPTR, $64\n", c.name))
	}
	g.Raw("\n")
}

// kArgs loads the arguments (nb int, w, a *byte, h int, out *float32) of a
// K-quant matrix-vector kernel: CX nb, R12 the group's fp16 values of the
// half (w + 16h), R13 its dwords (w + 32h), DI a, R11 out.
func kArgs(g *G, k kvar) {
	g.I("MOVQ nb+0(FP), CX")
	g.I("MOVQ w+8(FP), R12")
	g.I("MOVQ a+16(FP), DI")
	g.I("MOVQ out+32(FP), R11")
	g.I("MOVQ R12, R13")
	if !k.z {
		g.I("MOVQ h+24(FP), AX")
		g.I("SHLQ $4, AX")
		g.I("ADDQ AX, R12")
		g.I("ADDQ AX, R13")
		g.I("ADDQ AX, R13")
	}
}

// prefetchAhead writes PREFETCHT0 of every cache line of the block column
// dist columns ahead of R13 (blk bytes each): the kernels read the dword
// lines of a column out of order (lane t before chunk c), which the
// hardware prefetchers do not follow; decoding reads each column from
// memory once.
func prefetchAhead(g *G, blk, dist int) {
	for off := 0; off < blk; off += 64 {
		g.I("PREFETCHT0 %d(R13)", dist*blk+off)
	}
}

// mask returns the 64-byte constant name as a memory operand.
func mask(name string) string { return name + "<>(SB)" }

// kScaleVecs unpacks the 6-bit scales of the rows of a Q4_K/Q5_K block
// column (dwords at 64, 128, 192 of R13, see kScales in pack.go) into
// sc(j) (j < 8: the scale sc_j of each row in both words of its dword)
// and calls mins(t, v) with v holding the minimums m_2t and m_2t+1 of each
// row in the two words of its dword (t < 4). Uses the vector registers
// tmp[0..3].
func kScaleVecs(g *G, k kvar, tmp []Reg, sc func(j int) any, mins func(t int, v Reg)) {
	d0, d1, d2, x := tmp[0], tmp[1], tmp[2], tmp[3]
	k.ld(g, M(64, "R13"), d0)
	k.ld(g, M(128, "R13"), d1)
	k.ld(g, M(192, "R13"), d2)
	for j := range 8 {
		d := d0
		if j >= 4 {
			d = d1
		}
		k.bcast16(g, fmt.Sprintf("kscIdx%d", j%4), x)
		switch s := sc(j).(type) {
		case Reg:
			g.I("VPSHUFB %v, %v, %v", x, d, s)
			k.and(g, mask("k3f"), s, s)
		case Mem:
			g.I("VPSHUFB %v, %v, %v", x, d, x)
			k.and(g, mask("k3f"), x, x)
			k.st(g, x, s)
		}
	}
	kMinVecs(g, k, tmp, mins)
}

// kMinVecs calls mins(t, v) as kScaleVecs does, the dwords at 64, 128,
// 192 of R13 in tmp[0..2] (clobbered), tmp[3] scratch.
func kMinVecs(g *G, k kvar, tmp []Reg, mins func(t int, v Reg)) {
	d0, d1, d2, x := tmp[0], tmp[1], tmp[2], tmp[3]
	// m_0..m_3 from dword 2 (masked), m_4..m_7 gathered from the top bits
	// of the three dwords into d0
	for t := range 2 {
		k.bcast16(g, fmt.Sprintf("kmpIdx%d", t), x)
		g.I("VPSHUFB %v, %v, %v", x, d2, x)
		k.and(g, mask("k3f"), x, x)
		mins(t, x)
	}
	g.I("VPSRLD $6, %v, %v", d0, d0)
	g.I("VPSRLD $4, %v, %v", d1, d1)
	g.I("VPSRLD $2, %v, %v", d2, d2)
	k.and(g, mask("k03"), d0, d0)
	k.and(g, mask("k0c"), d1, d1)
	k.and(g, mask("k30"), d2, d2)
	k.or(g, d1, d0, d0)
	k.or(g, d2, d0, d0)
	for t := range 2 {
		k.bcast16(g, fmt.Sprintf("kmpIdx%d", t), x)
		g.I("VPSHUFB %v, %v, %v", x, d0, x)
		mins(2+t, x)
	}
}

// bsumPairs puts the eight sums of pairs of the activation block's int16
// block sums (Q8_K bsums at 260(DI)) in x: word p = bsum_2p + bsum_2p+1.
// Dword t of x is then the pair (bsum_4t+bsum_4t+1, bsum_4t+2+bsum_4t+3)
// that the minimums m_2t, m_2t+1 multiply.
func bsumPairs(g *G, x Reg) {
	g.I("VMOVDQU 260(DI), %v", x)
	g.I("VPHADDW 276(DI), %v, %v", x, x)
}

// bcastDword broadcasts dword t of the X register x into every dword of v
// (clobbering the X register of v).
func bcastDword(g *G, x Reg, t int, v Reg) {
	xv := X(v.N)
	g.I("VPSHUFD $%d, %v, %v", 0x55*t, x, xv)
	g.I("VPBROADCASTD %v, %v", xv, v)
}

// laneSum8 sets dst to ggml's sum of the eight lane vectors acc[0..7],
// ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)), lane by lane; acc is clobbered.
func laneSum8(g *G, acc []Reg, dst Reg) {
	g.I("VADDPS %v, %v, %v", acc[4], acc[0], acc[0])
	g.I("VADDPS %v, %v, %v", acc[6], acc[2], acc[2])
	g.I("VADDPS %v, %v, %v", acc[5], acc[1], acc[1])
	g.I("VADDPS %v, %v, %v", acc[7], acc[3], acc[3])
	g.I("VADDPS %v, %v, %v", acc[2], acc[0], acc[0])
	g.I("VADDPS %v, %v, %v", acc[3], acc[1], acc[1])
	g.I("VADDPS %v, %v, %v", acc[1], acc[0], dst)
}

// addMins4 adds the four m-term accumulators accm(0..3) to res in ggml's
// order, ((accm0+accm2)+(accm1+accm3)), through the scratch registers m.
func addMins4(g *G, accm func(int) any, m []Reg, res Reg) {
	g.C("+ ((accm0+accm2)+(accm1+accm3))")
	for t := range 4 {
		g.I("VMOVUPS %v, %v", accm(t), m[t])
	}
	g.I("VADDPS %v, %v, %v", m[2], m[0], m[0])
	g.I("VADDPS %v, %v, %v", m[3], m[1], m[1])
	g.I("VADDPS %v, %v, %v", m[1], m[0], m[0])
	g.I("VADDPS %v, %v, %v", m[0], res, res)
}

func kHeader(g *G, name, doc string, frame int) {
	g.Doc(fmt.Sprintf("func %s(nb int, w, a *byte, h int, out *float32)\n\n%s", name, doc))
	split := ""
	if frame <= 512 {
		split = "NOSPLIT, "
	}
	g.Raw(fmt.Sprintf("TEXT ·%s(SB), %s$%d-40\n", name, split, frame))
}

func rowsDoc(k kvar) string {
	if k.z {
		return "out[r] (r < 16) = %s of row r of the packed group w and the activation row a (h = 0)"
	}
	return "out[i] (i < 8) = %s of row 8h+i of the packed group w and the activation row a (h = 0 or 1)"
}

// movTo copies the vector register r to d (a register or memory).
func movTo(g *G, r Reg, d any) {
	g.I("VMOVUPS %v, %v", r, d)
}

// q4KGemv writes gemvQ4_KP<k> (and, q5, gemvQ5_KP<k>): a packed Q4_K
// (Q5_K) group, or a half of it, times one Q8_K activation row.
//
// Registers: acc V0..V7; during the scales V8..V11 scratch, V12 the
// broadcast block sums, V13 the Q5_K minimum products' sum, X15 the block
// sum pairs; in the lanes V8..V12 scratch, V13 the qh line (Q5_K). Z: the
// scales in V16..V23, the minimum accumulators V24..V27, d_a·d_w V28,
// d_a·dmin_w V29; Y: all on the stack.
func q4KGemv(g *G, k kvar, q5 bool) {
	typ, dot, blk := "Q4_K", "dotQ4_K", 2304
	if q5 {
		typ, dot, blk = "Q5_K", "dotQ5_K", 2816
	}
	name := "gemv" + typ + "P" + k.suffix
	madd := "VPDPWSSD"
	if !k.vnni {
		madd = "VPMADDWD"
	}
	extra := ""
	if q5 {
		extra = " The fifth bits come from the rows' qh lines (dword t of each row's qh holds bits 2c and 2c+1 for the values of quad t of sub-blocks 2c and 2c+1)."
	}
	fr := 0
	if !k.z {
		fr = 448
	}
	kHeader(g, name, fmt.Sprintf(rowsDoc(k), dot)+`, bit for bit.
Per block column the rows' 6-bit scales and minimums are unpacked for all
rows at once (VPSHUFB and masks on the rearranged dwords); the lane t of
`+dot+` is, per row, Σ_c sc_2c·quad_t(low nibbles of line (c, t), sub-block
2c) + sc_2c+1·quad_t(high nibbles, sub-block 2c+1): the nibbles of line
(c, t) times the activation quad t of each sub-block, broadcast
(VPMADDUBSW), times the scales (`+madd+`), so every row sums in its own
dword lane with no horizontal reduction; then the float32 steps of `+dot+`,
eight lane vectors (and the minimums') per group of rows.`+extra, fr)
	kArgs(g, k)
	V := k.V
	acc := []Reg{V(0), V(1), V(2), V(3), V(4), V(5), V(6), V(7)}
	var sc func(j int) any
	var accm func(t int) any // Q4_K: four minimum lanes; Q5_K: accm(0) the sum
	var dvec, dmin any
	nm := 4
	if q5 {
		nm = 1
	}
	if k.z {
		sc = func(j int) any { return V(16 + j) }
		accm = func(t int) any { return V(24 + t) }
		dvec, dmin = V(28), V(29)
	} else {
		sc = func(j int) any { return M(32*j, "SP") }
		accm = func(t int) any { return M(256+32*t, "SP") }
		dvec, dmin = M(384, "SP"), M(416, "SP")
	}
	for _, a := range acc {
		g.I("VXORPS %v, %v, %v", a, a, a)
	}
	for t := range nm {
		switch m := accm(t).(type) {
		case Reg:
			g.I("VXORPS %v, %v, %v", m, m, m)
		case Mem:
			movTo(g, acc[0], m)
		}
	}
	g.I("TESTQ CX, CX")
	g.I("JZ done")
	g.L("loop")
	prefetchAhead(g, blk, 2)
	g.C("d_a·d_w, d_a·dmin_w")
	da, t1 := V(8), V(9)
	g.I("VBROADCASTSS (DI), %v", da)
	g.I("VCVTPH2PS 0(R12), %v", t1)
	g.I("VMULPS %v, %v, %v", da, t1, t1)
	movTo(g, t1, dvec)
	g.I("VCVTPH2PS 32(R12), %v", t1)
	g.I("VMULPS %v, %v, %v", da, t1, t1)
	movTo(g, t1, dmin)
	g.C("the scales; the minimums times the block sums")
	bsumPairs(g, X(15))
	b, mpSum := V(12), V(13)
	kScaleVecs(g, k, []Reg{V(8), V(9), V(10), V(11)}, sc, func(t int, v Reg) {
		bcastDword(g, X(15), t, b)
		if q5 {
			if t == 0 {
				g.I("VPMADDWD %v, %v, %v", b, v, mpSum)
			} else {
				g.I("VPMADDWD %v, %v, %v", b, v, v)
				g.I("VPADDD %v, %v, %v", v, mpSum, mpSum)
			}
			return
		}
		g.I("VPMADDWD %v, %v, %v", b, v, v)
		g.I("VCVTDQ2PS %v, %v", v, v)
		switch m := accm(t).(type) {
		case Reg:
			g.I("VFNMADD231PS %v, %v, %v", dmin, v, m)
		case Mem:
			k.ld(g, m, b)
			g.I("VFNMADD231PS %v, %v, %v", dmin, v, b)
			movTo(g, b, m)
		}
	})
	if q5 {
		g.C("summs = fma(-d_a·dmin_w, Σ minimum products, summs)")
		g.I("VCVTDQ2PS %v, %v", mpSum, mpSum)
		switch m := accm(0).(type) {
		case Reg:
			g.I("VFNMADD231PS %v, %v, %v", dmin, mpSum, m)
		case Mem:
			k.ld(g, m, b)
			g.I("VFNMADD231PS %v, %v, %v", dmin, mpSum, b)
			movTo(g, b, m)
		}
	}
	g.C("the lanes")
	qs := 256
	if q5 {
		qs = 768
	}
	vv, hi, aa, ab, ii, hh := V(8), V(9), V(10), V(11), V(12), V(13)
	for t := range 8 {
		if q5 {
			k.ld(g, M(256+64*t, "R13"), hh)
		}
		for c := range 4 {
			k.ld(g, M(qs+64*(8*c+t), "R13"), vv)
			g.I("VPSRLW $4, %v, %v", vv, hi)
			k.and(g, mask("k0f"), vv, vv)
			k.and(g, mask("k0f"), hi, hi)
			if q5 {
				// fifth bits: bit 2c of qh to bit 4 of the low nibbles'
				// bytes, bit 2c+1 to bit 4 of the high nibbles'
				for i, bit := range []int{2 * c, 2*c + 1} {
					dst := []Reg{vv, hi}[i]
					switch {
					case bit < 4:
						g.I("VPSLLW $%d, %v, %v", 4-bit, hh, aa)
					case bit > 4:
						g.I("VPSRLW $%d, %v, %v", bit-4, hh, aa)
					default:
						k.ld(g, hh, aa)
					}
					k.and(g, mask("k10"), aa, aa)
					k.or(g, aa, dst, dst)
				}
			}
			g.I("VPBROADCASTD %d(DI), %v", 4+64*c+4*t, aa)
			g.I("VPBROADCASTD %d(DI), %v", 4+64*c+32+4*t, ab)
			g.I("VPMADDUBSW %v, %v, %v", aa, vv, vv)
			g.I("VPMADDUBSW %v, %v, %v", ab, hi, hi)
			if c == 0 {
				g.I("VPMADDWD %v, %v, %v", sc(0), vv, ii)
			} else {
				k.dpwssd(g, sc(2*c), vv, ii)
			}
			k.dpwssd(g, sc(2*c+1), hi, ii)
		}
		g.I("VCVTDQ2PS %v, %v", ii, ii)
		g.I("VFMADD231PS %v, %v, %v", dvec, ii, acc[t])
	}
	g.I("ADDQ $%d, R12", blk)
	g.I("ADDQ $%d, R13", blk)
	g.I("ADDQ $292, DI")
	g.I("DECQ CX")
	g.I("JNZ loop")
	g.L("done")
	res := V(8)
	laneSum8(g, acc, res)
	if q5 {
		g.C("+ summs")
		g.I("VADDPS %v, %v, %v", accm(0), res, res)
	} else {
		addMins4(g, accm, []Reg{V(9), V(10), V(11), V(12)}, res)
	}
	g.I("VMOVUPS %v, (R11)", res)
	g.I("VZEROUPPER")
	g.I("RET")
	g.Raw("\n")
}

// q6KGemv writes gemvQ6_KP<k>: a packed Q6_K group, or a half of it,
// times one Q8_K activation row.
//
// Registers: acc V0..V7, V8..V14 scratch, V15 bytes 0x20; the widened
// scales and d_a·d_w on the stack.
func q6KGemv(g *G, k kvar) {
	name := "gemvQ6_KP" + k.suffix
	fr := 17 * k.vb()
	kHeader(g, name, fmt.Sprintf(rowsDoc(k), "dotQ6_K")+`, bit for bit.
Per block column the rows' int8 scales are widened for all rows at once
(scale j of each row in both words of its dword); lane u of dotQ6_K is,
per row, Σ over the eight 32-value sub-blocks s of scale_(2s+(u>=4)) ·
Σ (q-32)·a over quad u: the 6-bit q of lines (c, 0, u), (c, 1, u) of ql
and (c, u) of qh, four sub-blocks per three loads, times the activation
quad u broadcast (VPMADDUBSW, minus 32 times its pair sums), times the
scales, summed in the row's dword lane; then acc_u = fma(d_a·d_w,
float32(lane), acc_u).`, fr)
	kArgs(g, k)
	if !k.z {
		g.C("R10: the half's int8 scales (w + 8h)")
		g.I("MOVQ w+8(FP), R10")
		g.I("SHRQ $1, AX")
		g.I("ADDQ AX, R10")
	} else {
		g.I("MOVQ R12, R10")
	}
	V := k.V
	acc := []Reg{V(0), V(1), V(2), V(3), V(4), V(5), V(6), V(7)}
	for _, a := range acc {
		g.I("VXORPS %v, %v, %v", a, a, a)
	}
	c20 := V(15)
	g.I("VPBROADCASTQ k20<>(SB), %v", c20)
	sc := func(j int) Mem { return M(k.vb()*j, "SP") }
	dvec := M(k.vb()*16, "SP")
	g.I("TESTQ CX, CX")
	g.I("JZ done")
	g.L("loop")
	prefetchAhead(g, 3360, 2)
	t0, t1 := V(8), V(9)
	g.I("VBROADCASTSS (DI), %v", t0)
	g.I("VCVTPH2PS 0(R12), %v", t1)
	g.I("VMULPS %v, %v, %v", t0, t1, t1)
	movTo(g, t1, dvec)
	g.C("the scales: line j (row r's int8 at 32+16j+r), each in both words of its row's dword")
	k.bcast16(g, "kdupW", t0)
	for j := range 16 {
		g.I("VPMOVSXBD %d(R10), %v", 32+16*j, t1)
		g.I("VPSHUFB %v, %v, %v", t0, t1, t1)
		k.st(g, t1, sc(j))
	}
	l0, l1, hh, q, aa, p, ia := V(8), V(9), V(10), V(11), V(12), V(13), V(14)
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
					k.and(g, mask("k0f"), src, q)
				} else {
					g.I("VPSRLW $4, %v, %v", src, q)
					k.and(g, mask("k0f"), q, q)
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
				k.or(g, p, q, q)
				sb := 4*c + s
				g.I("VPBROADCASTD %d(DI), %v", 4+32*sb+4*u, aa)
				g.I("VPMADDUBSW %v, %v, %v", aa, q, q)
				g.I("VPMADDUBSW %v, %v, %v", aa, c20, p)
				g.I("VPSUBW %v, %v, %v", p, q, q)
				scj := sc(2*sb + u/4)
				if first {
					g.I("VPMADDWD %v, %v, %v", scj, q, ia)
					first = false
				} else {
					k.dpwssd(g, scj, q, ia)
				}
			}
		}
		g.I("VCVTDQ2PS %v, %v", ia, ia)
		g.I("VFMADD231PS %v, %v, %v", dvec, ia, acc[u])
	}
	g.I("ADDQ $3360, R10")
	g.I("ADDQ $3360, R12")
	g.I("ADDQ $3360, R13")
	g.I("ADDQ $292, DI")
	g.I("DECQ CX")
	g.I("JNZ loop")
	g.L("done")
	laneSum8(g, acc, V(8))
	g.I("VMOVUPS %v, (R11)", V(8))
	g.I("VZEROUPPER")
	g.I("RET")
	g.Raw("\n")
}
