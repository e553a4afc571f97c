// The kernels over packed groups (pack.go) of pack_arm64.s, included twice
// like dotq_arm64.h: with DOTQ as SDOT, DOTQZ and Q4SLOT with it (the
// dotprod path), and with their NEON forms. DOTQZ(d, x, y) is DOTQ into a
// cleared Vd. Each computes, bit for bit, the dot
// products of the generic kernel of its type for the fifteen rows of a
// packed group.

#ifndef PACKQ_HELPERS
#define PACKQ_HELPERS

// Q4GROUP adds to Vacc the four products fma(float32(isum), d_w·d_a) of
// the rows 4k..4k+3 of a packed Q4_0 block column, whose nibble slots k,
// k+4, k+8, k+12 are in Vw0..Vw2 and (FOURTH) the fourth: the exact
// Σ q·a - 8·Σa of each row as Q4SLOT's lanes, the four slots' lanes added
// pairwise (ADDP) so that lane L holds row 4k+L, then Q4FIX; FOURTH is
// Q4SLOT(w3, 12), or Q4NONE where slot 15 would be (k = 3: lane 3 is left
// unused). The rows' scales are the fp16 lanes 4k..4k+3 of V15 (rows 0-7)
// and V31 (rows 8-15), converted by CVT, times d_a (V14 lane 0).
#define Q4GROUP(w0, w1, w2, FOURTH, CVT, acc) \
	Q4SLOT(w0, 9) \
	Q4SLOT(w1, 10) \
	Q4SLOT(w2, 11) \
	FOURTH \
	ADDP4S(9, 9, 10) \
	ADDP4S(11, 11, 12) \
	ADDP4S(9, 9, 11) \
	Q4FIX \
	SCVTF4S(9, 9) \
	CVT \
	FMULE4S(10, 10, 14, 0) \
	FMLA4S(acc, 9, 10)

// Q4NONE clears V12.
#define Q4NONE VEOR V12.B16, V12.B16, V12.B16

// Q8ROW adds one Q8_0 block product of the next row of a packed block
// column (32 quants at (R5), advancing R5) to its lanes Vlo, Vhi: the
// exact quad sums of the activation halves V16, V17, scaled by lane i of
// Vsc (dotQ8_0's step).
#define Q8ROW(sc, i, lo, hi) \
	VLD1.P 32(R5), [V22.B16, V23.B16] \
	DOTQZ(24, 22, 16) \
	DOTQZ(25, 23, 17) \
	SCVTF4S(24, 24) \
	SCVTF4S(25, 25) \
	FMLAE4S(lo, 24, sc, i) \
	FMLAE4S(hi, 25, sc, i)

// Q8HEAD loads the activation block at (R2) (advancing R2 by 34) into
// V16, V17 and sets V18, V19 to the scales d_w·d_a of the eight rows whose
// fp16 scales are at off(R1), R5 to their first quant slot.
#define Q8HEAD(off, slot) \
	MOVHU.P 2(R2), R4 \
	FMOVS   R4, F20 \
	FCVTHS  F20, F20 \
	VLD1.P  32(R2), [V16.B16, V17.B16] \
	FMOVQ   off(R1), F21 \
	FCVTL4S(18, 21) \
	FCVTL24S(19, 21) \
	FMULE4S(18, 18, 20, 0) \
	FMULE4S(19, 19, 20, 0) \
	ADD     $(slot), R1, R5

// Q8ZERO clears the lanes V0-V15.
#define Q8ZERO \
	VEOR V0.B16, V0.B16, V0.B16 \
	VEOR V1.B16, V1.B16, V1.B16 \
	VEOR V2.B16, V2.B16, V2.B16 \
	VEOR V3.B16, V3.B16, V3.B16 \
	VEOR V4.B16, V4.B16, V4.B16 \
	VEOR V5.B16, V5.B16, V5.B16 \
	VEOR V6.B16, V6.B16, V6.B16 \
	VEOR V7.B16, V7.B16, V7.B16 \
	VEOR V8.B16, V8.B16, V8.B16 \
	VEOR V9.B16, V9.B16, V9.B16 \
	VEOR V10.B16, V10.B16, V10.B16 \
	VEOR V11.B16, V11.B16, V11.B16 \
	VEOR V12.B16, V12.B16, V12.B16 \
	VEOR V13.B16, V13.B16, V13.B16 \
	VEOR V14.B16, V14.B16, V14.B16 \
	VEOR V15.B16, V15.B16, V15.B16

#endif

// func gemvQ4_0x15PX(nb int, w, a *byte, out *float32)
//
// A packed Q4_0 group (nb block columns of 270 bytes at w) times one Q8_0
// activation row: out[r] = dotQ4_0 of row r (r < 15), bit for bit. Per
// block column the exact isum of each row is Σ nibble·a - 8·Σa (-8·Σa
// once per column, by DOTQ with bytes -8, into V8: see Q4ASUM), and acc =
// fma(float32(isum), d_w·d_a, acc) for four rows per instruction: rows
// 4k..4k+3 in V(k).
//
// V0-V3: acc; V4, V5: the activations; V6: 0x0f; V7: -8, then free (the
// NEON Q4SLOT's products); V8: -8·Σa; V9-V12: the slots' lanes; V13:
// nibbles; V14: d_a; V15, V31: the fp16 scales; V16-V30: the fifteen
// nibble slots.
TEXT FN_GQ4_0(SB), NOSPLIT, $0-32
	MOVD  nb+0(FP), R0
	MOVD  w+8(FP), R1
	MOVD  a+16(FP), R2
	MOVD  out+24(FP), R3
	VEOR  V0.B16, V0.B16, V0.B16
	VEOR  V1.B16, V1.B16, V1.B16
	VEOR  V2.B16, V2.B16, V2.B16
	VEOR  V3.B16, V3.B16, V3.B16
	VMOVI $15, V6.B16
	CBZ   R0, gq4done

gq4loop:
	MOVHU.P 2(R2), R4
	FMOVS   R4, F14
	FCVTHS  F14, F14
	VLD1.P  32(R2), [V4.B16, V5.B16]
	VMOVI   $248, V7.B16
	VEOR    V8.B16, V8.B16, V8.B16
	DOTQ(8, 4, 7)
	DOTQ(8, 5, 7)
	VADDV   V8.S4, V8
	Q4ASUM
	FMOVQ   (R1), F15
	FMOVQ   16(R1), F31
	ADD     $30, R1, R5
	VLD1.P  64(R5), [V16.B16, V17.B16, V18.B16, V19.B16]
	VLD1.P  64(R5), [V20.B16, V21.B16, V22.B16, V23.B16]
	VLD1.P  64(R5), [V24.B16, V25.B16, V26.B16, V27.B16]
	VLD1    (R5), [V28.B16, V29.B16, V30.B16]
	Q4GROUP(16, 20, 24, Q4SLOT(28, 12), FCVTL4S(10, 15), 0)
	Q4GROUP(17, 21, 25, Q4SLOT(29, 12), FCVTL24S(10, 15), 1)
	Q4GROUP(18, 22, 26, Q4SLOT(30, 12), FCVTL4S(10, 31), 2)
	Q4GROUP(19, 23, 27, Q4NONE, FCVTL24S(10, 31), 3)
	ADD     $270, R1
	SUB     $1, R0
	CBNZ    R0, gq4loop

gq4done:
	VST1  [V0.S4, V1.S4, V2.S4], (R3)
	VMOV  V3.D[0], R4
	MOVD  R4, 48(R3)
	VMOV  V3.S[2], R4
	MOVW  R4, 56(R3)
	RET

// func gemvQ8_0x15PX(nb int, w, a *byte, out *float32)
//
// A packed Q8_0 group (nb block columns of 510 bytes at w) times one Q8_0
// activation row: out[r] = dotQ8_0 of row r (r < 15), bit for bit: the
// eight float32 lanes of each row (lanes 0-3 in V(2i), 4-7 in V(2i+1))
// accumulated block by block as dotQ8_0's, then summed as hsum_float_8.
// Sixteen lanes of eight rows fill the registers, so the group is taken in
// two passes over its columns: rows 0-7, then rows 8-14.
TEXT FN_GQ8_0(SB), NOSPLIT, $0-32
	MOVD nb+0(FP), R0
	MOVD w+8(FP), R1
	MOVD a+16(FP), R2
	MOVD out+24(FP), R3
	MOVD R0, R6
	MOVD R1, R7
	MOVD R2, R8
	Q8ZERO
	CBZ  R0, gq8done

gq8loop0:
	Q8HEAD(0, 30)
	Q8ROW(18, 0, 0, 1)
	Q8ROW(18, 1, 2, 3)
	Q8ROW(18, 2, 4, 5)
	Q8ROW(18, 3, 6, 7)
	Q8ROW(19, 0, 8, 9)
	Q8ROW(19, 1, 10, 11)
	Q8ROW(19, 2, 12, 13)
	Q8ROW(19, 3, 14, 15)
	ADD  $510, R1
	SUB  $1, R0
	CBNZ R0, gq8loop0

	TOUT4(R3)
	ADD  $16, R3, R9
	THSUM(8, 9, F8, 0, R9)
	THSUM(10, 11, F10, 4, R9)
	THSUM(12, 13, F12, 8, R9)
	THSUM(14, 15, F14, 12, R9)
	MOVD R6, R0
	MOVD R7, R1
	MOVD R8, R2
	Q8ZERO

gq8loop1:
	Q8HEAD(16, 286)
	Q8ROW(18, 0, 0, 1)
	Q8ROW(18, 1, 2, 3)
	Q8ROW(18, 2, 4, 5)
	Q8ROW(18, 3, 6, 7)
	Q8ROW(19, 0, 8, 9)
	Q8ROW(19, 1, 10, 11)
	Q8ROW(19, 2, 12, 13)
	ADD  $510, R1
	SUB  $1, R0
	CBNZ R0, gq8loop1

	ADD  $32, R3, R9
	TOUT4(R9)
	ADD  $48, R3, R9
	THSUM(8, 9, F8, 0, R9)
	THSUM(10, 11, F10, 4, R9)
	THSUM(12, 13, F12, 8, R9)
	RET

gq8done:
	Q8ZERO
	VST1 [V0.S4, V1.S4, V2.S4], (R3)
	VMOV V3.D[0], R4
	MOVD R4, 48(R3)
	VMOV V3.S[2], R4
	MOVW R4, 56(R3)
	RET
