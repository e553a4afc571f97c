// The MatMul tiles of tile_arm64.s (see tileFunc in kernels.go), included
// twice like dotq_arm64.h: with DOTQ as SDOT and as its NEON emulation.
// Each computes eight dot products of nb blocks, the four weight rows
// w_h + k·rb (k < 4) times the activation row a_h for the halves h = 0, 1,
// with each product's float32 arithmetic exactly that of the matching
// dot product (dotq_arm64.h, dot.go): the tile only interleaves them.
//
// Registers: R0 blocks left; R3-R6 the rows of half 0, R7-R10 of half 1;
// R12, R13 the activation rows; V20, V21 the block scales d_w·d_a of the
// four rows of each half (lane k: row k).

#ifndef TILEQ_HELPERS
#define TILEQ_HELPERS

// TSCALES sets Vvd to the four products f16(row k's scale)·f16(the
// activation's scale), reading (and advancing by 2) the rows p0-p3 and the
// activation row ap. Clobbers R19, V30, V31.
#define TSCALES(p0, p1, p2, p3, ap, vd) \
	MOVHU.P 2(p0), R19 \
	VMOV    R19, V30.H[0] \
	MOVHU.P 2(p1), R19 \
	VMOV    R19, V30.H[1] \
	MOVHU.P 2(p2), R19 \
	VMOV    R19, V30.H[2] \
	MOVHU.P 2(p3), R19 \
	VMOV    R19, V30.H[3] \
	FCVTL4S(30, 30) \
	MOVHU.P 2(ap), R19 \
	FMOVS   R19, F31 \
	FCVTHS  F31, F31 \
	VDUP    V31.S[0], V31.S4 \
	FMUL4S(vd, 30, 31)

// TROWS sets up the row pointers of both halves and the activation rows.
#define TROWS \
	MOVD nb+0(FP), R0 \
	MOVD w0+8(FP), R3 \
	MOVD w1+16(FP), R7 \
	MOVD rb+24(FP), R11 \
	MOVD a0+32(FP), R12 \
	MOVD a1+40(FP), R13 \
	ADD  R11, R3, R4 \
	ADD  R11, R4, R5 \
	ADD  R11, R5, R6 \
	ADD  R11, R7, R8 \
	ADD  R11, R8, R9 \
	ADD  R11, R9, R10

// TQ8 adds one Q8_0 block product to the eight lanes Vlo, Vhi: the 32
// quants at (p), advancing p by 32, times the activations Valo, Vahi,
// scaled by lane k of Vsc (dotQ8_0X's step).
#define TQ8(p, alo, ahi, sc, k, lo, hi) \
	VLD1.P 32(p), [V22.B16, V23.B16] \
	VEOR   V24.B16, V24.B16, V24.B16 \
	VEOR   V25.B16, V25.B16, V25.B16 \
	DOTQ(24, 22, alo) \
	DOTQ(25, 23, ahi) \
	SCVTF4S(24, 24) \
	SCVTF4S(25, 25) \
	FMLAE4S(lo, 24, sc, k) \
	FMLAE4S(hi, 25, sc, k)

// THSUM stores at off(rout) the hsum_float_8 of Vlo, Vhi (clobbers both;
// flo names the register Vlo).
#define THSUM(lo, hi, flo, off, rout) \
	FADD4S(lo, lo, hi) \
	EXT16B(hi, lo, lo, 8) \
	FADD4S(lo, lo, hi) \
	FADDP2S(lo, lo) \
	FMOVS flo, off(rout)

// TQ4 sets Vt to the four int32 lanes Σ (nibble-8)·q_a of the Q4_0 block
// quants at (p), advancing p by 16, against the activations Valo, Vahi.
#define TQ4(p, alo, ahi, t) \
	VLD1.P 16(p), [V22.B16] \
	VAND   V25.B16, V22.B16, V23.B16 \
	VUSHR  $4, V22.B16, V24.B16 \
	VSUB   V26.B16, V23.B16, V23.B16 \
	VSUB   V26.B16, V24.B16, V24.B16 \
	VEOR   V27.B16, V27.B16, V27.B16 \
	DOTQ(27, 23, alo) \
	DOTQ(27, 24, ahi) \
	VORR   V27.B16, V27.B16, t

// TQ5 adds one Q5_0 block product (after its scale: qh at (p), then the
// nibbles; p advances by 20) to the lanes Vlo, Vhi: dotQ5_0X's step, the
// activations in V16, V17, the block scale in lane k of Vsc. Constants:
// V12 0x0f, V13 0x10, V14 and V15 the TBL indexes, V26 the bits.
#define TQ5(p, sc, k, lo, hi) \
	MOVWU.P 4(p), R20 \
	VMOV    R20, V8.S[0] \
	VLD1.P  16(p), [V9.B16] \
	VTBL    V14.B16, [V8.B16], V10.B16 \
	VTBL    V15.B16, [V8.B16], V11.B16 \
	VCMTST  V26.B16, V10.B16, V10.B16 \
	VCMTST  V26.B16, V11.B16, V11.B16 \
	VAND    V13.B16, V10.B16, V10.B16 \
	VAND    V13.B16, V11.B16, V11.B16 \
	VAND    V12.B16, V9.B16, V22.B16 \
	VUSHR   $4, V9.B16, V23.B16 \
	VORR    V10.B16, V22.B16, V22.B16 \
	VORR    V11.B16, V23.B16, V23.B16 \
	VSUB    V13.B16, V22.B16, V22.B16 \
	VSUB    V13.B16, V23.B16, V23.B16 \
	TDOT(sc, k, lo, hi)

// TIQ4 is TQ5 for IQ4_NL: the nibbles at (p) (p advances by 16) index the
// levels in V27.
#define TIQ4(p, sc, k, lo, hi) \
	VLD1.P 16(p), [V9.B16] \
	VAND   V12.B16, V9.B16, V22.B16 \
	VUSHR  $4, V9.B16, V23.B16 \
	VTBL   V22.B16, [V27.B16], V22.B16 \
	VTBL   V23.B16, [V27.B16], V23.B16 \
	TDOT(sc, k, lo, hi)

// TDOT adds the products of the weights V22, V23 and the activations V16,
// V17, scaled by lane k of Vsc, to the lanes Vlo, Vhi.
#define TDOT(sc, k, lo, hi) \
	VEOR V18.B16, V18.B16, V18.B16 \
	VEOR V19.B16, V19.B16, V19.B16 \
	DOTQ(18, 22, 16) \
	DOTQ(19, 23, 17) \
	SCVTF4S(18, 18) \
	SCVTF4S(19, 19) \
	FMLAE4S(lo, 18, sc, k) \
	FMLAE4S(hi, 19, sc, k)

// TZERO8 clears the lanes V0-V7.
#define TZERO8 \
	VEOR V0.B16, V0.B16, V0.B16 \
	VEOR V1.B16, V1.B16, V1.B16 \
	VEOR V2.B16, V2.B16, V2.B16 \
	VEOR V3.B16, V3.B16, V3.B16 \
	VEOR V4.B16, V4.B16, V4.B16 \
	VEOR V5.B16, V5.B16, V5.B16 \
	VEOR V6.B16, V6.B16, V6.B16 \
	VEOR V7.B16, V7.B16, V7.B16

// TOUT4 stores the four sums of the lanes V0-V7 at (rout).
#define TOUT4(rout) \
	THSUM(0, 1, F0, 0, rout) \
	THSUM(2, 3, F2, 4, rout) \
	THSUM(4, 5, F4, 8, rout) \
	THSUM(6, 7, F6, 12, rout)

#endif

// func tileQ8_0X(nb int, w0, w1 *byte, rb int, a0, a1 *byte, out0, out1 *float32)
//
// Eight dotQ8_0X: the lanes of (half h, row k) in V(8h+2k), V(8h+2k+1).
TEXT FN_TQ8_0(SB), NOSPLIT, $0-64
	TROWS
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	VEOR V8.B16, V8.B16, V8.B16
	VEOR V9.B16, V9.B16, V9.B16
	VEOR V10.B16, V10.B16, V10.B16
	VEOR V11.B16, V11.B16, V11.B16
	VEOR V12.B16, V12.B16, V12.B16
	VEOR V13.B16, V13.B16, V13.B16
	VEOR V14.B16, V14.B16, V14.B16
	VEOR V15.B16, V15.B16, V15.B16
	CBZ  R0, tq8done

tq8loop:
	TSCALES(R3, R4, R5, R6, R12, 20)
	TSCALES(R7, R8, R9, R10, R13, 21)
	VLD1.P 32(R12), [V16.B16, V17.B16]
	VLD1.P 32(R13), [V18.B16, V19.B16]
	TQ8(R3, 16, 17, 20, 0, 0, 1)
	TQ8(R4, 16, 17, 20, 1, 2, 3)
	TQ8(R5, 16, 17, 20, 2, 4, 5)
	TQ8(R6, 16, 17, 20, 3, 6, 7)
	TQ8(R7, 18, 19, 21, 0, 8, 9)
	TQ8(R8, 18, 19, 21, 1, 10, 11)
	TQ8(R9, 18, 19, 21, 2, 12, 13)
	TQ8(R10, 18, 19, 21, 3, 14, 15)
	SUB    $1, R0
	CBNZ   R0, tq8loop

tq8done:
	MOVD out0+48(FP), R14
	MOVD out1+56(FP), R15
	THSUM(0, 1, F0, 0, R14)
	THSUM(2, 3, F2, 4, R14)
	THSUM(4, 5, F4, 8, R14)
	THSUM(6, 7, F6, 12, R14)
	THSUM(8, 9, F8, 0, R15)
	THSUM(10, 11, F10, 4, R15)
	THSUM(12, 13, F12, 8, R15)
	THSUM(14, 15, F14, 12, R15)
	RET

// func tileQ4_0X(nb int, w0, w1 *byte, rb int, a0, a1 *byte, out0, out1 *float32)
//
// Eight dotQ4_0X: lane k of V0 (half 0) and V1 (half 1) is row k's
// accumulator, acc = fma(float32(s), d_w·d_a, acc) per block, the four
// integer sums s of a half gathered into one vector with ADDP.
TEXT FN_TQ4_0(SB), NOSPLIT, $0-64
	TROWS
	VEOR  V0.B16, V0.B16, V0.B16
	VEOR  V1.B16, V1.B16, V1.B16
	VMOVI $15, V25.B16
	VMOVI $8, V26.B16
	CBZ   R0, tq4done

tq4loop:
	TSCALES(R3, R4, R5, R6, R12, 20)
	TSCALES(R7, R8, R9, R10, R13, 21)
	VLD1.P 32(R12), [V16.B16, V17.B16]
	VLD1.P 32(R13), [V18.B16, V19.B16]
	TQ4(R3, 16, 17, V2.B16)
	TQ4(R4, 16, 17, V3.B16)
	TQ4(R5, 16, 17, V4.B16)
	TQ4(R6, 16, 17, V5.B16)
	ADDP4S(2, 2, 3)
	ADDP4S(4, 4, 5)
	ADDP4S(2, 2, 4)
	SCVTF4S(2, 2)
	FMLA4S(0, 2, 20)
	TQ4(R7, 18, 19, V2.B16)
	TQ4(R8, 18, 19, V3.B16)
	TQ4(R9, 18, 19, V4.B16)
	TQ4(R10, 18, 19, V5.B16)
	ADDP4S(2, 2, 3)
	ADDP4S(4, 4, 5)
	ADDP4S(2, 2, 4)
	SCVTF4S(2, 2)
	FMLA4S(1, 2, 21)
	SUB    $1, R0
	CBNZ   R0, tq4loop

tq4done:
	MOVD out0+48(FP), R14
	MOVD out1+56(FP), R15
	VST1 [V0.S4], (R14)
	VST1 [V1.S4], (R15)
	RET

// func tileQ5_0X(nb int, w0, w1 *byte, rb int, a0, a1 *byte, out0, out1 *float32)
//
// Eight dotQ5_0X, four at a time (half 0, then half 1): the lanes of row k
// in V(2k), V(2k+1).
TEXT FN_TQ5_0(SB), NOSPLIT, $0-64
	TROWS
	VMOVI $15, V12.B16
	VMOVI $16, V13.B16
	MOVD  $q5Consts<>(SB), R20
	VLD1  (R20), [V14.B16, V15.B16, V16.B16]
	VORR  V16.B16, V16.B16, V26.B16
	MOVD  R0, R21
	TZERO8
	CBZ   R0, tq5done0

tq5loop0:
	TSCALES(R3, R4, R5, R6, R12, 20)
	VLD1.P 32(R12), [V16.B16, V17.B16]
	TQ5(R3, 20, 0, 0, 1)
	TQ5(R4, 20, 1, 2, 3)
	TQ5(R5, 20, 2, 4, 5)
	TQ5(R6, 20, 3, 6, 7)
	SUB    $1, R0
	CBNZ   R0, tq5loop0

tq5done0:
	MOVD out0+48(FP), R14
	TOUT4(R14)
	MOVD R21, R0
	TZERO8
	CBZ  R0, tq5done1

tq5loop1:
	TSCALES(R7, R8, R9, R10, R13, 20)
	VLD1.P 32(R13), [V16.B16, V17.B16]
	TQ5(R7, 20, 0, 0, 1)
	TQ5(R8, 20, 1, 2, 3)
	TQ5(R9, 20, 2, 4, 5)
	TQ5(R10, 20, 3, 6, 7)
	SUB    $1, R0
	CBNZ   R0, tq5loop1

tq5done1:
	MOVD out1+56(FP), R15
	TOUT4(R15)
	RET

// func tileIQ4_NLX(nb int, w0, w1 *byte, rb int, a0, a1 *byte, out0, out1 *float32)
//
// Eight dotIQ4_NLX, four at a time as tileQ5_0X.
TEXT FN_TIQ4_NL(SB), NOSPLIT, $0-64
	TROWS
	VMOVI $15, V12.B16
	MOVD  $iq4nlValues<>(SB), R20
	VLD1  (R20), [V27.B16]
	MOVD  R0, R21
	TZERO8
	CBZ   R0, tiq4done0

tiq4loop0:
	TSCALES(R3, R4, R5, R6, R12, 20)
	VLD1.P 32(R12), [V16.B16, V17.B16]
	TIQ4(R3, 20, 0, 0, 1)
	TIQ4(R4, 20, 1, 2, 3)
	TIQ4(R5, 20, 2, 4, 5)
	TIQ4(R6, 20, 3, 6, 7)
	SUB    $1, R0
	CBNZ   R0, tiq4loop0

tiq4done0:
	MOVD out0+48(FP), R14
	TOUT4(R14)
	MOVD R21, R0
	TZERO8
	CBZ  R0, tiq4done1

tiq4loop1:
	TSCALES(R7, R8, R9, R10, R13, 20)
	VLD1.P 32(R13), [V16.B16, V17.B16]
	TIQ4(R7, 20, 0, 0, 1)
	TIQ4(R8, 20, 1, 2, 3)
	TIQ4(R9, 20, 2, 4, 5)
	TIQ4(R10, 20, 3, 6, 7)
	SUB    $1, R0
	CBNZ   R0, tiq4loop1

tiq4done1:
	MOVD out1+56(FP), R15
	TOUT4(R15)
	RET
