//go:build !purego

#include "textflag.h"
#include "neon_arm64.h"

// The i8mm kernel over packed Q4_0 groups (pack.go): SMMLA multiplies a
// 2x8 matrix of int8 weights (two rows) by an 8x2 one of activations (two
// rows) into four exact int32 sums, so one instruction does what four
// SDOTs do. Q4_0's generic arithmetic needs only each block's whole sum
// (acc = fma(float32(isum), d_w·d_a, acc)), so the order in which SMMLA
// adds the products does not matter: the result is bit-identical to
// dotQ4_0.

#define ZIP1D(d, n, m) WORD $(0x4ec03800 | ((m)<<16) | ((n)<<5) | (d))      // zip1   vd.2d, vn.2d, vm.2d
#define ZIP2D(d, n, m) WORD $(0x4ec07800 | ((m)<<16) | ((n)<<5) | (d))      // zip2   vd.2d, vn.2d, vm.2d
#define ZIP1S(d, n, m) WORD $(0x4e803800 | ((m)<<16) | ((n)<<5) | (d))      // zip1   vd.4s, vn.4s, vm.4s
#define ZIP2S(d, n, m) WORD $(0x4e807800 | ((m)<<16) | ((n)<<5) | (d))      // zip2   vd.4s, vn.4s, vm.4s
#define AND16B(d, n, m) WORD $(0x4e201c00 | ((m)<<16) | ((n)<<5) | (d))     // and    vd.16b, vn.16b, vm.16b
#define USHR16B4(d, n) WORD $(0x6f0c0400 | ((n)<<5) | (d))                 // ushr   vd.16b, vn.16b, #4
#define MOV16B(d, n) WORD $(0x4ea01c00 | ((n)<<16) | ((n)<<5) | (d))       // mov    vd.16b, vn.16b

// I8LOADB loads the second slot of a pair, at o(R1), into V21; I8NONE
// clears V21 (slot 15 does not exist).
#define I8LOADB(o) FMOVQ o(R1), F21
#define I8NONE VEOR V21.B16, V21.B16, V21.B16

// I8PAIR adds to Vacc the products of the rows in the nibble slots at
// oa(R1) and ob(R1) (LB: their loads, or a cleared V21 where the second
// slot does not exist) with the activation rows j, j+1, lanes (A·j,
// A·(j+1), B·j, B·(j+1)): the int32 sums start at V12 (-8·Σa), take four
// SMMLAs (low nibbles: values 0-7 and 8-15, high nibbles: 16-23, 24-31,
// against V8-V11), and are scaled by SCALE (which sets V29 to the rows'
// d_w, each twice) times V13 (d_a of j, j+1, twice).
#define I8PAIR(oa, LB, SCALE, acc) \
	FMOVQ oa(R1), F20 \
	LB \
	AND16B(22, 20, 14) \
	AND16B(23, 21, 14) \
	USHR16B4(24, 20) \
	USHR16B4(25, 21) \
	MOV16B(28, 12) \
	ZIP1D(26, 22, 23) \
	SMMLA(28, 26, 8) \
	ZIP2D(27, 22, 23) \
	SMMLA(28, 27, 9) \
	ZIP1D(26, 24, 25) \
	SMMLA(28, 26, 10) \
	ZIP2D(27, 24, 25) \
	SMMLA(28, 27, 11) \
	SCVTF4S(28, 28) \
	SCALE \
	FMUL4S(29, 29, 13) \
	FMLA4S(acc, 28, 29)

// func tileQ4_0x15PI8MM(nb int, w, a *byte, ab, n int, out *float32, ldo int)
//
// A packed Q4_0 group (nb block columns of 270 bytes at w) times n Q8_0
// activation rows (at a + j·ab): out[j·ldo + r] = dotQ4_0 of row r and
// activation row j, bit for bit, two activation rows per pass over the
// group's columns (the last one twice when n is odd). The slots are
// taken in pairs (2p, 2p+1): rows (0, 4), (8, 12), (1, 5), (9, 13), (2,
// 6), (10, 14), (3, 7), (11, -), each pair's four float32 accumulators in
// V(p) (I8PAIR's lanes).
//
// Per column: V8-V11 the activation rows' values 0-7, 8-15, 16-23, 24-31,
// each as [row j, row j+1] (ZIP1/ZIP2 of 64-bit halves); V12 the int32
// lanes -8·Σa (j, j+1, j, j+1), by SMMLA of bytes -8 (V15) with them; V13
// d_a (j, j+1, j, j+1); V16-V19 the fifteen rows' d_w as
// (0, 4, 1, 5), (2, 6, 3, 7), (8, 12, 9, 13), (10, 14, 11, 15), so that
// ZIP1/ZIP2 of one with itself gives a pair's (d_A, d_A, d_B, d_B). V14:
// 0x0f.
TEXT ·tileQ4_0x15PI8MM(SB), NOSPLIT, $0-56
	MOVD  ab+24(FP), R10
	MOVD  n+32(FP), R11
	MOVD  out+40(FP), R14
	MOVD  ldo+48(FP), R12
	LSL   $2, R12, R12
	MOVD  a+16(FP), R13
	VMOVI $15, V14.B16
	VMOVI $248, V15.B16
	CBZ   R11, i8done

i8pass:
	// R13, R17: activation rows j and j+1 (j again when it is the last);
	// R16: whether j+1 is a real row; R15: out row j+1.
	MOVD  $1, R16
	ADD   R10, R13, R17
	ADD   R12, R14, R15
	CMP   $1, R11
	BNE   i8two
	MOVD  R13, R17
	MOVD  $0, R16

i8two:
	MOVD  nb+0(FP), R0
	MOVD  w+8(FP), R1
	MOVD  R13, R2
	MOVD  R17, R3
	VEOR  V0.B16, V0.B16, V0.B16
	VEOR  V1.B16, V1.B16, V1.B16
	VEOR  V2.B16, V2.B16, V2.B16
	VEOR  V3.B16, V3.B16, V3.B16
	VEOR  V4.B16, V4.B16, V4.B16
	VEOR  V5.B16, V5.B16, V5.B16
	VEOR  V6.B16, V6.B16, V6.B16
	VEOR  V7.B16, V7.B16, V7.B16
	CBZ   R0, i8store

i8loop:
	MOVHU.P 2(R2), R4
	MOVHU.P 2(R3), R5
	VMOV    R4, V13.H[0]
	VMOV    R5, V13.H[1]
	FCVTL4S(13, 13)
	VDUP    V13.D[0], V13.D2
	VLD1.P  32(R2), [V30.B16, V31.B16]
	VLD1.P  32(R3), [V26.B16, V27.B16]
	ZIP1D(8, 30, 26)
	ZIP2D(9, 30, 26)
	ZIP1D(10, 31, 27)
	ZIP2D(11, 31, 27)
	VEOR    V12.B16, V12.B16, V12.B16
	SMMLA(12, 15, 8)
	SMMLA(12, 15, 9)
	SMMLA(12, 15, 10)
	SMMLA(12, 15, 11)
	FMOVQ   (R1), F22
	FMOVQ   16(R1), F24
	FCVTL24S(23, 22)
	FCVTL4S(22, 22)
	FCVTL24S(25, 24)
	FCVTL4S(24, 24)
	ZIP1S(16, 22, 23)
	ZIP2S(17, 22, 23)
	ZIP1S(18, 24, 25)
	ZIP2S(19, 24, 25)
	I8PAIR(30, I8LOADB(46), ZIP1S(29, 16, 16), 0)
	I8PAIR(62, I8LOADB(78), ZIP1S(29, 18, 18), 1)
	I8PAIR(94, I8LOADB(110), ZIP2S(29, 16, 16), 2)
	I8PAIR(126, I8LOADB(142), ZIP2S(29, 18, 18), 3)
	I8PAIR(158, I8LOADB(174), ZIP1S(29, 17, 17), 4)
	I8PAIR(190, I8LOADB(206), ZIP1S(29, 19, 19), 5)
	I8PAIR(222, I8LOADB(238), ZIP2S(29, 17, 17), 6)
	I8PAIR(254, I8NONE, ZIP2S(29, 19, 19), 7)
	ADD     $270, R1
	SUB     $1, R0
	CBNZ    R0, i8loop

i8store:
	VMOV V0.S[0], R6
	MOVW R6, 0(R14)
	VMOV V0.S[2], R6
	MOVW R6, 16(R14)
	VMOV V1.S[0], R6
	MOVW R6, 32(R14)
	VMOV V1.S[2], R6
	MOVW R6, 48(R14)
	VMOV V2.S[0], R6
	MOVW R6, 4(R14)
	VMOV V2.S[2], R6
	MOVW R6, 20(R14)
	VMOV V3.S[0], R6
	MOVW R6, 36(R14)
	VMOV V3.S[2], R6
	MOVW R6, 52(R14)
	VMOV V4.S[0], R6
	MOVW R6, 8(R14)
	VMOV V4.S[2], R6
	MOVW R6, 24(R14)
	VMOV V5.S[0], R6
	MOVW R6, 40(R14)
	VMOV V5.S[2], R6
	MOVW R6, 56(R14)
	VMOV V6.S[0], R6
	MOVW R6, 12(R14)
	VMOV V6.S[2], R6
	MOVW R6, 28(R14)
	VMOV V7.S[0], R6
	MOVW R6, 44(R14)
	CBZ  R16, i8next
	VMOV V0.S[1], R6
	MOVW R6, 0(R15)
	VMOV V0.S[3], R6
	MOVW R6, 16(R15)
	VMOV V1.S[1], R6
	MOVW R6, 32(R15)
	VMOV V1.S[3], R6
	MOVW R6, 48(R15)
	VMOV V2.S[1], R6
	MOVW R6, 4(R15)
	VMOV V2.S[3], R6
	MOVW R6, 20(R15)
	VMOV V3.S[1], R6
	MOVW R6, 36(R15)
	VMOV V3.S[3], R6
	MOVW R6, 52(R15)
	VMOV V4.S[1], R6
	MOVW R6, 8(R15)
	VMOV V4.S[3], R6
	MOVW R6, 24(R15)
	VMOV V5.S[1], R6
	MOVW R6, 40(R15)
	VMOV V5.S[3], R6
	MOVW R6, 56(R15)
	VMOV V6.S[1], R6
	MOVW R6, 12(R15)
	VMOV V6.S[3], R6
	MOVW R6, 28(R15)
	VMOV V7.S[1], R6
	MOVW R6, 44(R15)

i8next:
	ADD  R12, R14
	ADD  R12, R14
	ADD  R10, R13
	ADD  R10, R13
	SUBS $2, R11
	BGT  i8pass

i8done:
	RET
