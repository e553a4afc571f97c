// The bodies of the quantized dot products of dot_arm64.s, included twice:
// once with DOTQ as SDOT (the dotprod path) and once with DOTQ as its NEON
// emulation (SMULL, SADDLP, ADDP), and with the FN_* macros naming the
// functions of that path. DOTQ(acc, x, y) adds to the four int32 lanes of
// Vacc the sums of the products of the signed bytes 4k..4k+3 of Vx and Vy
// (k < 4); both forms are exact, so the two paths give the same bits. The
// Go meaning of each function is the generic kernel named in its comment
// (dot.go, dot_k.go), whose float32 operations they perform in the same
// order.

#ifndef DOTQ_HELPERS
#define DOTQ_HELPERS

// Q6FIN ors the high bits in Vh0, Vh1 (masked to 0x30 here, into V23,
// V24) into the low nibbles in V14, V15 and subtracts 32.
#define Q6FIN(h0, h1) \
	VAND V21.B16, h0, V23.B16 \
	VAND V21.B16, h1, V24.B16 \
	VORR V23.B16, V14.B16, V14.B16 \
	VORR V24.B16, V15.B16, V15.B16 \
	VSUB V22.B16, V14.B16, V14.B16 \
	VSUB V22.B16, V15.B16, V15.B16

// Q6VALS adds the lanes of one half (128 values) of a Q6_K block: ql in
// V2-V5, qh in V6, V7; its scales 0-3 are the int32 lanes of Vsa, 4-7 of
// Vsb. Value l of group s: (ql nibble | (qh[l]>>2s & 3)<<4) - 32.
#define Q6VALS(sa, sb) \
	VAND  V20.B16, V2.B16, V14.B16 \
	VAND  V20.B16, V3.B16, V15.B16 \
	VSHL  $4, V6.B16, V23.B16 \
	VSHL  $4, V7.B16, V24.B16 \
	Q6FIN(V23.B16, V24.B16) \
	QSUB16(sa, 0) \
	VAND  V20.B16, V4.B16, V14.B16 \
	VAND  V20.B16, V5.B16, V15.B16 \
	VSHL  $2, V6.B16, V23.B16 \
	VSHL  $2, V7.B16, V24.B16 \
	Q6FIN(V23.B16, V24.B16) \
	QSUB16(sa, 2) \
	VUSHR $4, V2.B16, V14.B16 \
	VUSHR $4, V3.B16, V15.B16 \
	Q6FIN(V6.B16, V7.B16) \
	QSUB16(sb, 0) \
	VUSHR $4, V4.B16, V14.B16 \
	VUSHR $4, V5.B16, V15.B16 \
	VUSHR $2, V6.B16, V23.B16 \
	VUSHR $2, V7.B16, V24.B16 \
	Q6FIN(V23.B16, V24.B16) \
	QSUB16(sb, 2)

// KSCALES unpacks the scales and mins of the Q4_K/Q5_K block at (R1) into
// V9 (scales 0-3), V10 (4-7), V12 (mins 0-3), V13 (4-7) as int32, and sets
// V30 to d_a·d_w and V31 to (-d_a)·dmin_w, broadcast (the Q8_K block is at
// (R2)). With the 12 scale bytes b0..b11 (V28): scales 0-3 and mins 0-3
// are b0..b7 & 0x3f; scales 4-7 and mins 4-7 are the low and high nibbles
// of b8..b11 (b8..b11 in every word of V14: and, ushr, zip1), or'ed with
// (b0..b7 & 0xc0) >> 2 (bic, ushr); one zip1 of 32-bit words puts the
// eight scales in bytes 0-7 and the eight mins in bytes 8-15, widened
// twice. V26 must hold bytes 0x0f. Clobbers V14, V15, V28, V29.
#define KSCALES \
	FMOVQ  4(R1), F28 \
	VMOVI  $63, V29.B16 \
	VAND   V29.B16, V28.B16, V9.B16 \
	VDUP   V28.S[2], V14.S4 \
	VAND   V26.B16, V14.B16, V15.B16 \
	VUSHR  $4, V14.B16, V14.B16 \
	WORD   $(0x4e803800 | (14<<16) | (15<<5) | 15) \
	WORD   $(0x4e601c00 | (29<<16) | (28<<5) | 14) \
	VUSHR  $2, V14.B16, V14.B16 \
	VORR   V14.B16, V15.B16, V15.B16 \
	WORD   $(0x4e803800 | (15<<16) | (9<<5) | 9) \
	VUXTL2 V9.B16, V12.H8 \
	VUXTL  V9.B8, V9.H8 \
	VUXTL2 V9.H8, V10.S4 \
	VUXTL  V9.H4, V9.S4 \
	VUXTL2 V12.H8, V13.S4 \
	VUXTL  V12.H4, V12.S4 \
	FMOVS  (R1), F30 \
	FCVTL4S(30, 30) \
	FMOVS  (R2), F28 \
	FNEGS  F28, F29 \
	WORD   $(0x6e0c0400 | (29<<5) | 28) \
	FMUL4S(30, 30, 28) \
	VDUP   V30.S[1], V31.S4 \
	VDUP   V30.S[0], V30.S4

// KLANES32 is addLanes32 of dot_k.go for the eight 32-value sub-blocks of
// a block, taken in order j = 0..7, without clearing a register per
// sub-block: V24, V25 hold the running sums R_j of the quads of Vqa·Vaa
// and Vqb·Vab (the two halves of each sub-block) over the sub-blocks so
// far, and lane i of Vsc holds the difference s_j - s_{j+1} of the scales
// (s_8 = 0, see KDIFF), so that the lanes V22, V23 get Σ_j R_j·(s_j -
// s_{j+1}) = Σ_j s_j·quads_j: the same exact int32 sums.
#define KLANES32(qa, qb, aa, ab, sc, i) \
	DOTQ(24, qa, aa) \
	DOTQ(25, qb, ab) \
	MLAE4S(22, 24, sc, i) \
	MLAE4S(23, 25, sc, i)

// KDIFF turns the eight int32 scales in V9 (0-3), V10 (4-7) into the
// differences s_j - s_{j+1} (s_8 = 0) that KLANES32 takes, and clears its
// running sums V24, V25 (clobbers Vt, Vz).
#define KDIFF(t, z) \
	WORD $(0x6e201c00 | ((z)<<16) | ((z)<<5) | (z)) \
	EXT16B(t, 9, 10, 4) \
	SUB4S(9, 9, t) \
	EXT16B(t, 10, z, 4) \
	SUB4S(10, 10, t) \
	VEOR V24.B16, V24.B16, V24.B16 \
	VEOR V25.B16, V25.B16, V25.B16

// Q4KSUB takes the next 32 bytes of Q4_K nibbles at (R7) and 64 activations
// at (R6): low nibbles with scale lane i of Vsc, high nibbles with lane i+1.
#define Q4KSUB(sc, i) \
	VLD1.P 32(R7), [V16.B16, V17.B16] \
	VLD1.P 64(R6), [V18.B16, V19.B16, V20.B16, V21.B16] \
	VAND   V26.B16, V16.B16, V4.B16 \
	VAND   V26.B16, V17.B16, V5.B16 \
	VUSHR  $4, V16.B16, V6.B16 \
	VUSHR  $4, V17.B16, V7.B16 \
	KLANES32(4, 5, 18, 19, sc, i) \
	KLANES32(6, 7, 20, 21, sc, (i)+1)

// Q5KSUB is Q4KSUB for Q5_K: bit 0 of qh (V7, V8) is the fifth bit of the
// low nibbles, bit 1 that of the high nibbles; qh is then shifted right
// by 2 for the next 32 bytes. Clobbers V14, V15.
#define Q5KSUB(sc, i) \
	VLD1.P 32(R7), [V16.B16, V17.B16] \
	VLD1.P 64(R6), [V18.B16, V19.B16, V20.B16, V21.B16] \
	VAND   V26.B16, V16.B16, V4.B16 \
	VAND   V26.B16, V17.B16, V5.B16 \
	VUSHR  $4, V16.B16, V16.B16 \
	VUSHR  $4, V17.B16, V17.B16 \
	VAND   V11.B16, V7.B16, V14.B16 \
	VAND   V11.B16, V8.B16, V15.B16 \
	VSHL   $4, V14.B16, V14.B16 \
	VSHL   $4, V15.B16, V15.B16 \
	VORR   V14.B16, V4.B16, V4.B16 \
	VORR   V15.B16, V5.B16, V5.B16 \
	VAND   V27.B16, V7.B16, V14.B16 \
	VAND   V27.B16, V8.B16, V15.B16 \
	VSHL   $3, V14.B16, V14.B16 \
	VSHL   $3, V15.B16, V15.B16 \
	VORR   V14.B16, V16.B16, V16.B16 \
	VORR   V15.B16, V17.B16, V17.B16 \
	VUSHR  $2, V7.B16, V7.B16 \
	VUSHR  $2, V8.B16, V8.B16 \
	KLANES32(4, 5, 18, 19, sc, i) \
	KLANES32(16, 17, 20, 21, sc, (i)+1)

// QSUB16 adds the 32 values in V14 (values 0-15) and V15 (16-31) times the
// activations at (R6), advancing R6 by 32, to the int32 lanes V12 (lanes
// 0-3, scale lane i of Vsc) and V13 (lanes 4-7, scale lane i+1):
// addLanes16 of dot_k.go, for the sixteen 16-value groups of a block in
// order, as running sums: V18, V19 add up the quads of the groups so far
// and the scale lanes hold differences (see KDIFF16), as KLANES32 does.
#define QSUB16(sc, i) \
	VLD1.P 32(R6), [V16.B16, V17.B16] \
	DOTQ(18, 14, 16) \
	DOTQ(19, 15, 17) \
	MLAE4S(12, 18, sc, i) \
	MLAE4S(13, 19, sc, (i)+1)

// KDIFF16 turns the sixteen int32 scales in V8-V11 (group g in lane g%4
// of V(8+g/4)) into the differences s_g - s_{g+2} (s_16 = s_17 = 0): the
// even groups feed V12 and the odd ones V13, each sequence in order. It
// clears QSUB16's running sums V18, V19 (clobbers Vt, Vz).
#define KDIFF16(t, z) \
	WORD $(0x6e201c00 | ((z)<<16) | ((z)<<5) | (z)) \
	EXT16B(t, 8, 9, 8) \
	SUB4S(8, 8, t) \
	EXT16B(t, 9, 10, 8) \
	SUB4S(9, 9, t) \
	EXT16B(t, 10, 11, 8) \
	SUB4S(10, 10, t) \
	EXT16B(t, 11, z, 8) \
	SUB4S(11, 11, t) \
	VEOR V18.B16, V18.B16, V18.B16 \
	VEOR V19.B16, V19.B16, V19.B16

// MINTERM loads the fp16 minimum m_w at (R1) and the fp16 s_a at (R2),
// advancing both by 2, and sets F9 = fma(m_w, s_a, F9) (clobbers R3, R4,
// F26, F27).
#define MINTERM \
	MOVHU.P 2(R1), R3 \
	MOVHU.P 2(R2), R4 \
	FMOVS   R3, F26 \
	FMOVS   R4, F27 \
	FCVTHS  F26, F26 \
	FCVTHS  F27, F27 \
	FMADDS  F27, F9, F26, F9

// Q3VAL sets V14, V15 to the Q3_K values of one 32-value group: the 2-bit
// quants already shifted into place in V14, V15 (masked to 3 here), plus
// 4 where bit 0 of the shifted hmask V4, V5 is set, minus 4; hmask then
// shifts right by 1 for the next group.
#define Q3VAL \
	VAND  V20.B16, V14.B16, V14.B16 \
	VAND  V20.B16, V15.B16, V15.B16 \
	VAND  V21.B16, V4.B16, V6.B16 \
	VAND  V21.B16, V5.B16, V7.B16 \
	VSHL  $2, V6.B16, V6.B16 \
	VSHL  $2, V7.B16, V7.B16 \
	VORR  V6.B16, V14.B16, V14.B16 \
	VORR  V7.B16, V15.B16, V15.B16 \
	VSUB  V22.B16, V14.B16, V14.B16 \
	VSUB  V22.B16, V15.B16, V15.B16 \
	VUSHR $1, V4.B16, V4.B16 \
	VUSHR $1, V5.B16, V5.B16

// Q2VAL sets V14, V15 to the Q2_K values of one 32-value group, shifted
// into place in V14, V15 (masked to 3 here).
#define Q2VAL \
	VAND V20.B16, V14.B16, V14.B16 \
	VAND V20.B16, V15.B16, V15.B16

// LOW2BITS adds the lanes of the 128 values whose 2-bit quants are in V2,
// V3 (bits 2s for group s), with the value macro VAL and the 16-value
// scales in lanes of Vsa (groups 0, 1) and Vsb (groups 2, 3).
#define LOW2BITS(VAL, sa, sb) \
	VORR  V2.B16, V2.B16, V14.B16 \
	VORR  V3.B16, V3.B16, V15.B16 \
	VAL \
	QSUB16(sa, 0) \
	VUSHR $2, V2.B16, V14.B16 \
	VUSHR $2, V3.B16, V15.B16 \
	VAL \
	QSUB16(sa, 2) \
	VUSHR $4, V2.B16, V14.B16 \
	VUSHR $4, V3.B16, V15.B16 \
	VAL \
	QSUB16(sb, 0) \
	VUSHR $6, V2.B16, V14.B16 \
	VUSHR $6, V3.B16, V15.B16 \
	VAL \
	QSUB16(sb, 2)

// SWIDEN16 sign-extends the 16 bytes of V8 to the int32 lanes of V8-V11
// (clobbers V24, V25).
#define SWIDEN16 \
	SXTL8H(24, 8) \
	SXTL28H(25, 8) \
	SXTL4S(8, 24) \
	SXTL24S(9, 24) \
	SXTL4S(10, 25) \
	SXTL24S(11, 25)

// XSSUB adds the lanes of the next IQ4_XS sub-block (16 bytes of nibbles
// at (R7), indexing the levels in V27) against 32 activations at (R6),
// with scale lane i of Vsc.
#define XSSUB(sc, i) \
	VLD1.P 16(R7), [V16.B16] \
	VLD1.P 32(R6), [V18.B16, V19.B16] \
	VAND   V26.B16, V16.B16, V4.B16 \
	VUSHR  $4, V16.B16, V5.B16 \
	VTBL   V4.B16, [V27.B16], V4.B16 \
	VTBL   V5.B16, [V27.B16], V5.B16 \
	KLANES32(4, 5, 18, 19, sc, i)

#endif

// func dotQ8_0X(n int, w, a []byte) float32 — dotQ8_0:
//
//	for each block: L[k] = Σ_{j=4k..4k+3} q_w[j]·q_a[j]   (exact int32, k < 8)
//	                acc[k] = fma(d_w·d_a, float32(L[k]), acc[k])
//	return ((acc0+acc4)+(acc2+acc6)) + ((acc1+acc5)+(acc3+acc7))
//
// V0, V1: acc[0:4], acc[4:8]; V16: the block scale.
TEXT FN_Q8_0(SB), NOSPLIT, $0-60
	MOVD n+0(FP), R0
	LSR  $5, R0, R0
	MOVD w_base+8(FP), R1
	MOVD a_base+32(FP), R2
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	CBZ  R0, q8done

q8loop:
	F16SCALE(R1, R2, F16)
	VDUP   V16.S[0], V16.S4
	VLD1.P 32(R1), [V2.B16, V3.B16]
	VLD1.P 32(R2), [V6.B16, V7.B16]
	VEOR   V4.B16, V4.B16, V4.B16
	VEOR   V5.B16, V5.B16, V5.B16
	DOTQ(4, 2, 6)
	DOTQ(5, 3, 7)
	SCVTF4S(4, 4)
	SCVTF4S(5, 5)
	FMLA4S(0, 4, 16)
	FMLA4S(1, 5, 16)
	SUB    $1, R0
	CBNZ   R0, q8loop

q8done:
	HSUM8
	FMOVS F0, ret+56(FP)
	RET

// func dotQ4_0X(n int, w, a []byte) float32 — dotQ4_0:
//
//	for each block: s = Σ_j (q_w[j]-8)·q_a[j]   (exact int32)
//	                acc = fma(float32(s), d_w·d_a, acc)
//
// F0: acc; V20: bytes 0x0f; V21: bytes 8.
TEXT FN_Q4_0(SB), NOSPLIT, $0-60
	MOVD  n+0(FP), R0
	LSR   $5, R0, R0
	MOVD  w_base+8(FP), R1
	MOVD  a_base+32(FP), R2
	VEOR  V0.B16, V0.B16, V0.B16
	VMOVI $15, V20.B16
	VMOVI $8, V21.B16
	CBZ   R0, q40done

q40loop:
	F16SCALE(R1, R2, F16)
	VLD1.P 16(R1), [V2.B16]
	VLD1.P 32(R2), [V6.B16, V7.B16]
	VAND   V20.B16, V2.B16, V3.B16
	VUSHR  $4, V2.B16, V4.B16
	VSUB   V21.B16, V3.B16, V3.B16
	VSUB   V21.B16, V4.B16, V4.B16
	VEOR   V5.B16, V5.B16, V5.B16
	DOTQ(5, 3, 6)
	DOTQ(5, 4, 7)
	VADDV  V5.S4, V5
	SCVTFS(5, 5)
	FMADDS F16, F0, F5, F0
	SUB    $1, R0
	CBNZ   R0, q40loop

q40done:
	FMOVS F0, ret+56(FP)
	RET

// func dotQ5_0X(n int, w, a []byte) float32 — dotQ5_0: as dotQ8_0X with
// the weights q = (nibble | bit j of qh << 4) - 16. The bits of qh are
// spread to bytes with TBL (byte j/8 to position j) and CMTST against
// 1<<(j%8).
//
// V0, V1: acc; V16: block scale; V20: 0x0f; V22: 0x10; V23, V24: TBL
// indexes; V25: the bit of each byte.
TEXT FN_Q5_0(SB), NOSPLIT, $0-60
	MOVD  n+0(FP), R0
	LSR   $5, R0, R0
	MOVD  w_base+8(FP), R1
	MOVD  a_base+32(FP), R2
	VEOR  V0.B16, V0.B16, V0.B16
	VEOR  V1.B16, V1.B16, V1.B16
	VMOVI $15, V20.B16
	VMOVI $16, V22.B16
	MOVD  $q5Consts<>(SB), R5
	VLD1  (R5), [V23.B16, V24.B16, V25.B16]
	CBZ   R0, q50done

q50loop:
	F16SCALE(R1, R2, F16)
	VDUP   V16.S[0], V16.S4
	MOVWU.P 4(R1), R5
	VMOV   R5, V8.S[0]
	VLD1.P 16(R1), [V2.B16]
	VLD1.P 32(R2), [V6.B16, V7.B16]
	VTBL   V23.B16, [V8.B16], V9.B16
	VTBL   V24.B16, [V8.B16], V10.B16
	VCMTST V25.B16, V9.B16, V9.B16
	VCMTST V25.B16, V10.B16, V10.B16
	VAND   V22.B16, V9.B16, V9.B16
	VAND   V22.B16, V10.B16, V10.B16
	VAND   V20.B16, V2.B16, V3.B16
	VUSHR  $4, V2.B16, V4.B16
	VORR   V9.B16, V3.B16, V3.B16
	VORR   V10.B16, V4.B16, V4.B16
	VSUB   V22.B16, V3.B16, V3.B16
	VSUB   V22.B16, V4.B16, V4.B16
	VEOR   V11.B16, V11.B16, V11.B16
	VEOR   V12.B16, V12.B16, V12.B16
	DOTQ(11, 3, 6)
	DOTQ(12, 4, 7)
	SCVTF4S(11, 11)
	SCVTF4S(12, 12)
	FMLA4S(0, 11, 16)
	FMLA4S(1, 12, 16)
	SUB    $1, R0
	CBNZ   R0, q50loop

q50done:
	HSUM8
	FMOVS F0, ret+56(FP)
	RET

// func dotQ6_KX(n int, w, a []byte) float32 — dotQ6_K: per block the
// eight int32 lanes of addLanes16 over the 16 sub-blocks of 16 values,
// then acc = fma(d_a·d_w, float32(lanes), acc), summed as hsum_float_8.
//
// V0, V1: acc; V2-V5: ql of a half; V6, V7: qh of a half; V8-V11: the 16
// scales as int32; V12, V13: lanes; V14, V15: values; V20: 0x0f; V21: 0x30;
// V22: 32.
TEXT FN_Q6_K(SB), NOSPLIT, $0-60
	MOVD  n+0(FP), R0
	LSR   $8, R0, R0
	MOVD  w_base+8(FP), R1
	MOVD  a_base+32(FP), R2
	VEOR  V0.B16, V0.B16, V0.B16
	VEOR  V1.B16, V1.B16, V1.B16
	VMOVI $15, V20.B16
	VMOVI $48, V21.B16
	VMOVI $32, V22.B16
	CBZ   R0, q6done

q6loop:
	ADD   $192, R1, R7
	VLD1  (R7), [V8.B16]
	SXTL8H(24, 8)
	SXTL28H(25, 8)
	SXTL4S(8, 24)
	SXTL24S(9, 24)
	SXTL4S(10, 25)
	SXTL24S(11, 25)
	KDIFF16(2, 3)
	VEOR  V12.B16, V12.B16, V12.B16
	VEOR  V13.B16, V13.B16, V13.B16
	ADD   $4, R2, R6
	ADD   $128, R1, R8
	MOVD  R1, R7

	// Half 0: ql[0:64], qh[0:32], scales 0-7.
	VLD1.P 64(R7), [V2.B16, V3.B16, V4.B16, V5.B16]
	VLD1.P 32(R8), [V6.B16, V7.B16]
	Q6VALS(8, 9)
	// Half 1: ql[64:128], qh[32:64], scales 8-15.
	VLD1.P 64(R7), [V2.B16, V3.B16, V4.B16, V5.B16]
	VLD1.P 32(R8), [V6.B16, V7.B16]
	Q6VALS(10, 11)

	MOVHU 208(R1), R3
	FMOVS R3, F26
	FCVTHS F26, F26
	FMOVS (R2), F27
	FMULS F26, F27, F30
	VDUP  V30.S[0], V30.S4
	SCVTF4S(12, 12)
	SCVTF4S(13, 13)
	FMLA4S(0, 12, 30)
	FMLA4S(1, 13, 30)
	ADD   $210, R1
	ADD   $292, R2
	SUB   $1, R0
	CBNZ  R0, q6loop

q6done:
	HSUM8
	FMOVS F0, ret+56(FP)
	RET

// func dotQ4_KX(n int, w, a []byte) float32 — dotQ4_K: per block
//
//	accm[t] = fma(-d_a·dmin_w, float32(minProds[t]), accm[t])   (t < 4)
//	lanes   = addLanes32 of the 8 sub-blocks (nibbles) with their scales
//	acc     = fma(d_a·d_w, float32(lanes), acc)
//	return hsum_float_8(acc) + ((accm0+accm2)+(accm1+accm3))
//
// The 6-bit scales and mins are unpacked four at a time in general
// registers: scales 0-3 = u0&0x3f.., mins 0-3 = u1&0x3f..,
// scales 4-7 = u2&0x0f.. | (u0>>6&0x03..)<<4, mins 4-7 = u2>>4&0x0f.. | (u1>>6&0x03..)<<4
// (u0, u1, u2: the 12 scale bytes as three little-endian uint32).
//
// V0, V1: acc; V3: accm; V9, V10: scales 0-3, 4-7; V12, V13: mins;
// V22, V23: lanes; V26: 0x0f; V30: d; V31: -dmin.
TEXT FN_Q4_K(SB), NOSPLIT, $0-60
	MOVD  n+0(FP), R0
	LSR   $8, R0, R0
	MOVD  w_base+8(FP), R1
	MOVD  a_base+32(FP), R2
	VEOR  V0.B16, V0.B16, V0.B16
	VEOR  V1.B16, V1.B16, V1.B16
	VEOR  V3.B16, V3.B16, V3.B16
	VMOVI $15, V26.B16
	CBZ   R0, q4kdone

q4kloop:
	KSCALES
	// minProds: pairs of bsums times the mins, pairwise added.
	ADD   $260, R2, R6
	VLD1  (R6), [V14.B16, V15.B16]
	SADDLP(14, 14)
	SADDLP(15, 15)
	MUL4S(14, 14, 12)
	MUL4S(15, 15, 13)
	ADDP4S(14, 14, 15)
	SCVTF4S(14, 14)
	FMLA4S(3, 14, 31)

	KDIFF(14, 15)
	VEOR  V22.B16, V22.B16, V22.B16
	VEOR  V23.B16, V23.B16, V23.B16
	ADD   $16, R1, R7
	ADD   $4, R2, R6
	Q4KSUB(9, 0)
	Q4KSUB(9, 2)
	Q4KSUB(10, 0)
	Q4KSUB(10, 2)

	SCVTF4S(22, 22)
	SCVTF4S(23, 23)
	FMLA4S(0, 22, 30)
	FMLA4S(1, 23, 30)
	ADD   $144, R1
	ADD   $292, R2
	SUB   $1, R0
	CBNZ  R0, q4kloop

q4kdone:
	HSUM8
	VEXT  $8, V3.B16, V3.B16, V4.B16
	FADD4S(3, 3, 4)
	FADDP2S(3, 3)
	FADDS F3, F0, F0
	FMOVS F0, ret+56(FP)
	RET

// func dotQ5_KX(n int, w, a []byte) float32 — dotQ5_K: as dotQ4_KX with
// the fifth bits from qh (bit 2c of qh[l] for the low nibbles of the c-th
// 32 bytes, bit 2c+1 for the high ones), and the minimums summed in int32
// per block into one float32: summs = fma(-d_a·dmin_w, float32(Σ minProds), summs),
// added last.
//
// As dotQ4_KX, plus F2: summs; V7, V8: qh (shifted right by 2 per 32 bytes
// of quants); V11: bytes 1; V27: bytes 2.
TEXT FN_Q5_K(SB), NOSPLIT, $0-60
	MOVD  n+0(FP), R0
	LSR   $8, R0, R0
	MOVD  w_base+8(FP), R1
	MOVD  a_base+32(FP), R2
	VEOR  V0.B16, V0.B16, V0.B16
	VEOR  V1.B16, V1.B16, V1.B16
	VEOR  V2.B16, V2.B16, V2.B16
	VMOVI $15, V26.B16
	VMOVI $1, V11.B16
	VMOVI $2, V27.B16
	CBZ   R0, q5kdone

q5kloop:
	KSCALES
	ADD   $260, R2, R6
	VLD1  (R6), [V14.B16, V15.B16]
	SADDLP(14, 14)
	SADDLP(15, 15)
	MUL4S(14, 14, 12)
	MUL4S(15, 15, 13)
	ADD4S(14, 14, 15)
	VADDV V14.S4, V14
	SCVTFS(14, 14)
	FMADDS F31, F2, F14, F2

	KDIFF(14, 15)
	VEOR  V22.B16, V22.B16, V22.B16
	VEOR  V23.B16, V23.B16, V23.B16
	ADD   $16, R1, R7
	VLD1.P 32(R7), [V7.B16, V8.B16]
	ADD   $4, R2, R6
	Q5KSUB(9, 0)
	Q5KSUB(9, 2)
	Q5KSUB(10, 0)
	Q5KSUB(10, 2)

	SCVTF4S(22, 22)
	SCVTF4S(23, 23)
	FMLA4S(0, 22, 30)
	FMLA4S(1, 23, 30)
	ADD   $176, R1
	ADD   $292, R2
	SUB   $1, R0
	CBNZ  R0, q5kloop

q5kdone:
	HSUM8
	FADDS F2, F0, F0
	FMOVS F0, ret+56(FP)
	RET

// func dotIQ4_NLX(n int, w, a []byte) float32 — dotIQ4_NL: as dotQ8_0X
// with the weights kvaluesIQ4NL[nibble], looked up with TBL.
//
// V0, V1: acc; V16: block scale; V20: 0x0f; V21: the 16 levels.
TEXT FN_IQ4_NL(SB), NOSPLIT, $0-60
	MOVD  n+0(FP), R0
	LSR   $5, R0, R0
	MOVD  w_base+8(FP), R1
	MOVD  a_base+32(FP), R2
	VEOR  V0.B16, V0.B16, V0.B16
	VEOR  V1.B16, V1.B16, V1.B16
	VMOVI $15, V20.B16
	MOVD  $iq4nlValues<>(SB), R5
	VLD1  (R5), [V21.B16]
	CBZ   R0, iq4done

iq4loop:
	F16SCALE(R1, R2, F16)
	VDUP   V16.S[0], V16.S4
	VLD1.P 16(R1), [V2.B16]
	VLD1.P 32(R2), [V6.B16, V7.B16]
	VAND   V20.B16, V2.B16, V3.B16
	VUSHR  $4, V2.B16, V4.B16
	VTBL   V3.B16, [V21.B16], V3.B16
	VTBL   V4.B16, [V21.B16], V4.B16
	VEOR   V11.B16, V11.B16, V11.B16
	VEOR   V12.B16, V12.B16, V12.B16
	DOTQ(11, 3, 6)
	DOTQ(12, 4, 7)
	SCVTF4S(11, 11)
	SCVTF4S(12, 12)
	FMLA4S(0, 11, 16)
	FMLA4S(1, 12, 16)
	SUB    $1, R0
	CBNZ   R0, iq4loop

iq4done:
	HSUM8
	FMOVS F0, ret+56(FP)
	RET

// func dotQ4_1X(n int, w, a []byte) float32 — dotQ4_1 (against Q8_1):
// eight lanes of the unsigned nibbles times the activations, scaled by
// d_w·d_a as dotQ8_0X, and summs = fma(m_w, s_a, summs) per block, added
// last.
//
// V0, V1: acc; F9: summs; V16: block scale; V20: 0x0f.
TEXT FN_Q4_1(SB), NOSPLIT, $0-60
	MOVD  n+0(FP), R0
	LSR   $5, R0, R0
	MOVD  w_base+8(FP), R1
	MOVD  a_base+32(FP), R2
	VEOR  V0.B16, V0.B16, V0.B16
	VEOR  V1.B16, V1.B16, V1.B16
	VEOR  V9.B16, V9.B16, V9.B16
	VMOVI $15, V20.B16
	CBZ   R0, q41done

q41loop:
	F16SCALE(R1, R2, F16)
	MINTERM
	VDUP   V16.S[0], V16.S4
	VLD1.P 16(R1), [V2.B16]
	VLD1.P 32(R2), [V6.B16, V7.B16]
	VAND   V20.B16, V2.B16, V3.B16
	VUSHR  $4, V2.B16, V4.B16
	VEOR   V11.B16, V11.B16, V11.B16
	VEOR   V12.B16, V12.B16, V12.B16
	DOTQ(11, 3, 6)
	DOTQ(12, 4, 7)
	SCVTF4S(11, 11)
	SCVTF4S(12, 12)
	FMLA4S(0, 11, 16)
	FMLA4S(1, 12, 16)
	SUB    $1, R0
	CBNZ   R0, q41loop

q41done:
	HSUM8
	FADDS F9, F0, F0
	FMOVS F0, ret+56(FP)
	RET

// func dotQ5_1X(n int, w, a []byte) float32 — dotQ5_1: dotQ4_1X with the
// fifth bits of dotQ5_0X (no offset).
TEXT FN_Q5_1(SB), NOSPLIT, $0-60
	MOVD  n+0(FP), R0
	LSR   $5, R0, R0
	MOVD  w_base+8(FP), R1
	MOVD  a_base+32(FP), R2
	VEOR  V0.B16, V0.B16, V0.B16
	VEOR  V1.B16, V1.B16, V1.B16
	VEOR  V9.B16, V9.B16, V9.B16
	VMOVI $15, V20.B16
	VMOVI $16, V22.B16
	MOVD  $q5Consts<>(SB), R5
	VLD1  (R5), [V23.B16, V24.B16, V25.B16]
	CBZ   R0, q51done

q51loop:
	F16SCALE(R1, R2, F16)
	MINTERM
	VDUP   V16.S[0], V16.S4
	MOVWU.P 4(R1), R5
	VMOV   R5, V8.S[0]
	VLD1.P 16(R1), [V2.B16]
	VLD1.P 32(R2), [V6.B16, V7.B16]
	VTBL   V23.B16, [V8.B16], V10.B16
	VTBL   V24.B16, [V8.B16], V13.B16
	VCMTST V25.B16, V10.B16, V10.B16
	VCMTST V25.B16, V13.B16, V13.B16
	VAND   V22.B16, V10.B16, V10.B16
	VAND   V22.B16, V13.B16, V13.B16
	VAND   V20.B16, V2.B16, V3.B16
	VUSHR  $4, V2.B16, V4.B16
	VORR   V10.B16, V3.B16, V3.B16
	VORR   V13.B16, V4.B16, V4.B16
	VEOR   V11.B16, V11.B16, V11.B16
	VEOR   V12.B16, V12.B16, V12.B16
	DOTQ(11, 3, 6)
	DOTQ(12, 4, 7)
	SCVTF4S(11, 11)
	SCVTF4S(12, 12)
	FMLA4S(0, 11, 16)
	FMLA4S(1, 12, 16)
	SUB    $1, R0
	CBNZ   R0, q51loop

q51done:
	HSUM8
	FADDS F9, F0, F0
	FMOVS F0, ret+56(FP)
	RET

// func dotQ3_KX(n int, w, a []byte) float32 — dotQ3_K: per block the
// eight lanes of addLanes16 over the 16 groups of 16 values, then
// acc = fma(d_a·d_w, float32(lanes), acc), summed as hsum_float_8.
//
// The 16 scales (6 bits, minus 32) are unpacked as four words from the
// 12 bytes u0, u1, u2 (little-endian uint32):
// scales 0-3 = u0&0x0f.. | (u2&0x03..)<<4, 4-7 = u1&0x0f.. | (u2>>2&0x03..)<<4,
// 8-11 = u0>>4&0x0f.. | (u2>>4&0x03..)<<4, 12-15 = u1>>4&0x0f.. | (u2>>6&0x03..)<<4.
//
// V0, V1: acc; V2, V3: the 2-bit quants of a half; V4, V5: hmask (shifted);
// V8-V11: scales; V12, V13: lanes; V20: 3; V21: 1; V22: 4; V23: 32.
TEXT FN_Q3_K(SB), NOSPLIT, $0-60
	MOVD  n+0(FP), R0
	LSR   $8, R0, R0
	MOVD  w_base+8(FP), R1
	MOVD  a_base+32(FP), R2
	VEOR  V0.B16, V0.B16, V0.B16
	VEOR  V1.B16, V1.B16, V1.B16
	VMOVI $3, V20.B16
	VMOVI $1, V21.B16
	VMOVI $4, V22.B16
	VMOVI $32, V23.B16
	CBZ   R0, q3kdone

q3kloop:
	MOVWU 96(R1), R3
	MOVWU 100(R1), R4
	MOVWU 104(R1), R5
	ANDW  $0x0f0f0f0f, R3, R6
	ANDW  $0x03030303, R5, R7
	ORRW  R7<<4, R6, R6
	VMOV  R6, V8.S[0]
	ANDW  $0x0f0f0f0f, R4, R6
	LSRW  $2, R5, R7
	ANDW  $0x03030303, R7, R7
	ORRW  R7<<4, R6, R6
	VMOV  R6, V8.S[1]
	LSRW  $4, R3, R6
	ANDW  $0x0f0f0f0f, R6, R6
	LSRW  $4, R5, R7
	ANDW  $0x03030303, R7, R7
	ORRW  R7<<4, R6, R6
	VMOV  R6, V8.S[2]
	LSRW  $4, R4, R6
	ANDW  $0x0f0f0f0f, R6, R6
	LSRW  $6, R5, R7
	ANDW  $0x03030303, R7, R7
	ORRW  R7<<4, R6, R6
	VMOV  R6, V8.S[3]
	VSUB  V23.B16, V8.B16, V8.B16
	SWIDEN16

	MOVHU 108(R1), R3
	FMOVS R3, F26
	FCVTHS F26, F26
	FMOVS (R2), F27
	FMULS F26, F27, F30
	VDUP  V30.S[0], V30.S4

	KDIFF16(2, 3)
	VEOR  V12.B16, V12.B16, V12.B16
	VEOR  V13.B16, V13.B16, V13.B16
	VLD1  (R1), [V4.B16, V5.B16]
	ADD   $32, R1, R7
	ADD   $4, R2, R6
	VLD1.P 32(R7), [V2.B16, V3.B16]
	LOW2BITS(Q3VAL, 8, 9)
	VLD1.P 32(R7), [V2.B16, V3.B16]
	LOW2BITS(Q3VAL, 10, 11)

	SCVTF4S(12, 12)
	SCVTF4S(13, 13)
	FMLA4S(0, 12, 30)
	FMLA4S(1, 13, 30)
	ADD   $110, R1
	ADD   $292, R2
	SUB   $1, R0
	CBNZ  R0, q3kloop

q3kdone:
	HSUM8
	FMOVS F0, ret+56(FP)
	RET

// func dotQ2_KX(n int, w, a []byte) float32 — dotQ2_K: per block, first
// acc = fma(-d_a·dmin_w, float32(L), acc) with lane t of L =
// m_{2t}·bsum_{2t} + m_{2t+1}·bsum_{2t+1} (m: the high nibbles of the 16
// scale bytes), then acc = fma(d_a·d_w, float32(lanes), acc) with the
// lanes of addLanes16 (scales: the low nibbles); hsum_float_8 at the end.
//
// V0, V1: acc; V2, V3: the 2-bit quants of a half; V8-V11: scales; V12,
// V13: lanes; V20: 3; V21: 0x0f; V30: d; V31: -dmin.
TEXT FN_Q2_K(SB), NOSPLIT, $0-60
	MOVD  n+0(FP), R0
	LSR   $8, R0, R0
	MOVD  w_base+8(FP), R1
	MOVD  a_base+32(FP), R2
	VEOR  V0.B16, V0.B16, V0.B16
	VEOR  V1.B16, V1.B16, V1.B16
	VMOVI $3, V20.B16
	VMOVI $15, V21.B16
	CBZ   R0, q2kdone

q2kloop:
	FMOVS (R2), F28
	MOVHU 80(R1), R3
	FMOVS R3, F30
	FCVTHS F30, F30
	FMULS F30, F28, F30
	MOVHU 82(R1), R3
	FMOVS R3, F31
	FCVTHS F31, F31
	FNEGS F28, F28
	FMULS F31, F28, F31
	VDUP  V30.S[0], V30.S4
	VDUP  V31.S[0], V31.S4

	// The minimums' lanes: int32 products of the mins and the bsums,
	// pairs added.
	VLD1  (R1), [V8.B16]
	VUSHR $4, V8.B16, V9.B16
	VUXTL V9.B8, V10.H8
	VUXTL2 V9.B16, V11.H8
	ADD   $260, R2, R6
	VLD1  (R6), [V16.B16, V17.B16]
	SMULL4S(14, 16, 10)
	SMULL24S(15, 16, 10)
	ADDP4S(14, 14, 15)
	SMULL4S(15, 17, 11)
	SMULL24S(16, 17, 11)
	ADDP4S(15, 15, 16)
	SCVTF4S(14, 14)
	SCVTF4S(15, 15)
	FMLA4S(0, 14, 31)
	FMLA4S(1, 15, 31)

	VAND  V21.B16, V8.B16, V8.B16
	SWIDEN16
	KDIFF16(2, 3)
	VEOR  V12.B16, V12.B16, V12.B16
	VEOR  V13.B16, V13.B16, V13.B16
	ADD   $16, R1, R7
	ADD   $4, R2, R6
	VLD1.P 32(R7), [V2.B16, V3.B16]
	LOW2BITS(Q2VAL, 8, 9)
	VLD1.P 32(R7), [V2.B16, V3.B16]
	LOW2BITS(Q2VAL, 10, 11)

	SCVTF4S(12, 12)
	SCVTF4S(13, 13)
	FMLA4S(0, 12, 30)
	FMLA4S(1, 13, 30)
	ADD   $84, R1
	ADD   $292, R2
	SUB   $1, R0
	CBNZ  R0, q2kloop

q2kdone:
	HSUM8
	FMOVS F0, ret+56(FP)
	RET

// func dotIQ4_XSX(n int, w, a []byte) float32 — dotIQ4_XS: per block the
// lanes of addLanes32 over the 8 sub-blocks (levels kvaluesIQ4NL[nibble],
// scale ls-32), acc = fma(d_w·d_a, float32(lanes), acc), hsum_float_8.
//
// The scales: the low nibbles of scales_l interleaved with their high
// nibbles (ZIP1) are bits 0-3; the 2-bit fields of scales_h are spread to
// one per byte in a general register (fields 4-7 to bytes 4-7, then
// nibble pairs, then pairs) for bits 4-5.
//
// V0, V1: acc; V9, V10: scales 0-3, 4-7; V22, V23: lanes; V26: 0x0f; V27:
// the levels; V28 (free between DOTQs): 32; V30: d.
TEXT FN_IQ4_XS(SB), NOSPLIT, $0-60
	MOVD  n+0(FP), R0
	LSR   $8, R0, R0
	MOVD  w_base+8(FP), R1
	MOVD  a_base+32(FP), R2
	VEOR  V0.B16, V0.B16, V0.B16
	VEOR  V1.B16, V1.B16, V1.B16
	VMOVI $15, V26.B16
	MOVD  $iq4nlValues<>(SB), R5
	VLD1  (R5), [V27.B16]
	CBZ   R0, iq4xsdone

iq4xsloop:
	MOVHU 2(R1), R3
	AND   $0xff, R3, R4
	AND   $0xff00, R3, R5
	ORR   R5<<24, R4, R3
	AND   $0x0000000f0000000f, R3, R4
	AND   $0x000000f0000000f0, R3, R5
	ORR   R5<<12, R4, R3
	AND   $0x0003000300030003, R3, R4
	AND   $0x000c000c000c000c, R3, R5
	ORR   R5<<6, R4, R3
	VMOV  R3, V9.D[0]
	VSHL  $4, V9.B16, V9.B16
	MOVWU 4(R1), R3
	VMOV  R3, V10.S[0]
	VAND  V26.B16, V10.B16, V11.B16
	VUSHR $4, V10.B16, V12.B16
	VZIP1 V12.B16, V11.B16, V11.B16
	VORR  V11.B16, V9.B16, V9.B16
	VMOVI $32, V28.B16
	VSUB  V28.B16, V9.B16, V9.B16
	SXTL8H(9, 9)
	SXTL24S(10, 9)
	SXTL4S(9, 9)
	KDIFF(11, 12)

	MOVHU (R1), R3
	FMOVS R3, F30
	FCVTHS F30, F30
	FMOVS (R2), F28
	FMULS F28, F30, F30
	VDUP  V30.S[0], V30.S4

	VEOR  V22.B16, V22.B16, V22.B16
	VEOR  V23.B16, V23.B16, V23.B16
	ADD   $8, R1, R7
	ADD   $4, R2, R6
	XSSUB(9, 0)
	XSSUB(9, 1)
	XSSUB(9, 2)
	XSSUB(9, 3)
	XSSUB(10, 0)
	XSSUB(10, 1)
	XSSUB(10, 2)
	XSSUB(10, 3)

	SCVTF4S(22, 22)
	SCVTF4S(23, 23)
	FMLA4S(0, 22, 30)
	FMLA4S(1, 23, 30)
	ADD   $136, R1
	ADD   $292, R2
	SUB   $1, R0
	CBNZ  R0, iq4xsloop

iq4xsdone:
	HSUM8
	FMOVS F0, ret+56(FP)
	RET
