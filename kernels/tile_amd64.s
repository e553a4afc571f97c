//go:build !purego

#include "textflag.h"

// AVX-512 (F, BW, VL, VNNI) tile kernels: 4 weight rows times 2 "halves".
// Half h (0 or 1) multiplies the four weight rows at wh, wh+rb, wh+2rb,
// wh+3rb by the activation row ah and writes the four results to
// outh[0..3]. MatMul uses them as 4 rows x 2 activation rows (w1 = w0) when
// prompting and as 8 rows x 1 activation row (w1 = w0+4rb, a1 = a0) when
// decoding. Every product is bit-identical to the generic dot product: the
// integer sums are exact (VPDPBUSD on unsigned weights biased by a constant,
// minus that constant times the activation sums, all in int32), and the
// float32 operations are the generic code's, lane for lane.

// Bytes 0x80, 0x10, 0x08 and 0x0f, the qword shifts 0 and 4 of the nibble
// expansion, and the IQ4_NL levels plus 128.
DATA c80<>+0(SB)/8, $0x8080808080808080
GLOBL c80<>(SB), RODATA|NOPTR, $8
DATA c10<>+0(SB)/8, $0x1010101010101010
GLOBL c10<>(SB), RODATA|NOPTR, $8
DATA c08<>+0(SB)/8, $0x0808080808080808
GLOBL c08<>(SB), RODATA|NOPTR, $8
DATA c88<>+0(SB)/8, $0x8888888888888888
GLOBL c88<>(SB), RODATA|NOPTR, $8
DATA c0f<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL c0f<>(SB), RODATA|NOPTR, $8

DATA nibShift<>+0(SB)/8, $0
DATA nibShift<>+8(SB)/8, $0
DATA nibShift<>+16(SB)/8, $4
DATA nibShift<>+24(SB)/8, $4
DATA nibShift<>+32(SB)/8, $0
DATA nibShift<>+40(SB)/8, $0
DATA nibShift<>+48(SB)/8, $4
DATA nibShift<>+56(SB)/8, $4
GLOBL nibShift<>(SB), RODATA|NOPTR, $64

// VPERMPS indices: row r of half 0 in lanes 0..7, row r of half 1 (lane
// 4+r of the scale vector) in lanes 8..15.
DATA permIdx<>+0(SB)/8, $0x0000000000000000
DATA permIdx<>+8(SB)/8, $0x0000000000000000
DATA permIdx<>+16(SB)/8, $0x0000000000000000
DATA permIdx<>+24(SB)/8, $0x0000000000000000
DATA permIdx<>+32(SB)/8, $0x0000000400000004
DATA permIdx<>+40(SB)/8, $0x0000000400000004
DATA permIdx<>+48(SB)/8, $0x0000000400000004
DATA permIdx<>+56(SB)/8, $0x0000000400000004
DATA permIdx<>+64(SB)/8, $0x0000000100000001
DATA permIdx<>+72(SB)/8, $0x0000000100000001
DATA permIdx<>+80(SB)/8, $0x0000000100000001
DATA permIdx<>+88(SB)/8, $0x0000000100000001
DATA permIdx<>+96(SB)/8, $0x0000000500000005
DATA permIdx<>+104(SB)/8, $0x0000000500000005
DATA permIdx<>+112(SB)/8, $0x0000000500000005
DATA permIdx<>+120(SB)/8, $0x0000000500000005
DATA permIdx<>+128(SB)/8, $0x0000000200000002
DATA permIdx<>+136(SB)/8, $0x0000000200000002
DATA permIdx<>+144(SB)/8, $0x0000000200000002
DATA permIdx<>+152(SB)/8, $0x0000000200000002
DATA permIdx<>+160(SB)/8, $0x0000000600000006
DATA permIdx<>+168(SB)/8, $0x0000000600000006
DATA permIdx<>+176(SB)/8, $0x0000000600000006
DATA permIdx<>+184(SB)/8, $0x0000000600000006
DATA permIdx<>+192(SB)/8, $0x0000000300000003
DATA permIdx<>+200(SB)/8, $0x0000000300000003
DATA permIdx<>+208(SB)/8, $0x0000000300000003
DATA permIdx<>+216(SB)/8, $0x0000000300000003
DATA permIdx<>+224(SB)/8, $0x0000000700000007
DATA permIdx<>+232(SB)/8, $0x0000000700000007
DATA permIdx<>+240(SB)/8, $0x0000000700000007
DATA permIdx<>+248(SB)/8, $0x0000000700000007
GLOBL permIdx<>(SB), RODATA|NOPTR, $256

// kvaluesIQ4NL + 128: 1, 24, 45, 63, 79, 93, 106, 118, 129, 141, 153, 166, 181, 197, 217, 241.
DATA iq4nlU<>+0(SB)/8, $0x766a5d4f3f2d1801
DATA iq4nlU<>+8(SB)/8, $0xf1d9c5b5a6998d81
GLOBL iq4nlU<>(SB), RODATA|NOPTR, $16

// TILEARGS loads the arguments shared by the tile kernels:
// CX nb, SI w0, DX w1, R8 rb, R9 3rb, DI a0, R10 a1, R11 out0, R12 out1.
#define TILEARGS \
	MOVQ nb+0(FP), CX \
	MOVQ w0+8(FP), SI \
	MOVQ w1+16(FP), DX \
	MOVQ rb+24(FP), R8 \
	LEAQ (R8)(R8*2), R9 \
	MOVQ a0+32(FP), DI \
	MOVQ a1+40(FP), R10 \
	MOVQ out0+48(FP), R11 \
	MOVQ out1+56(FP), R12

// ACTS loads the 32 quants of the Q8_0 activation blocks at DI and R10 into
// the halves of Z4, sets Z5 to minus the bias (bytes of Z31) times their
// quad sums, and Y7 to the eight block scale products d_w·d_a (float32):
// rows 0..3 of half 0, then of half 1, whose fp16 d_w are at (SI), (DX)
// plus r·rb. The fp16 values are gathered in general registers and
// converted together (few shuffles: port 5 is scarce on Intel cores).
#define ACTS \
	VMOVDQU 2(DI), Y4 \
	VINSERTI64X4 $1, 2(R10), Z4, Z4 \
	VPXORD Z5, Z5, Z5 \
	VPDPBUSD Z4, Z31, Z5 \
	VPSUBD Z5, Z28, Z5 \
	MOVWQZX (DI), AX \
	IMULQ R13, AX \
	VMOVQ AX, X6 \
	MOVWQZX (R10), AX \
	IMULQ R13, AX \
	VPINSRQ $1, AX, X6, X6 \
	VCVTPH2PS X6, Y6 \
	DSCALES(SI, AX) \
	VMOVQ AX, X7 \
	DSCALES(DX, AX) \
	VPINSRQ $1, AX, X7, X7 \
	VCVTPH2PS X7, Y7 \
	VMULPS Y6, Y7, Y7

// DSCALES sets reg to the four fp16 scales at (base), (base)(R8),
// (base)(R8*2), (base)(R9) packed in a qword (clobbers BX).
#define DSCALES(base, reg) \
	MOVWQZX (base)(R9*1), reg \
	SHLQ $16, reg \
	MOVWQZX (base)(R8*2), BX \
	ORQ BX, reg \
	SHLQ $16, reg \
	MOVWQZX (base)(R8*1), BX \
	ORQ BX, reg \
	SHLQ $16, reg \
	MOVWQZX (base), BX \
	ORQ BX, reg

// LANES8 finishes row r of both halves for the eight-lane types: Z8 holds
// the biased unsigned weight quants (row r of half 0 | of half 1), idx
// selects their scale products from Y7; acc += float32(exact quad sums) *
// (d_w·d_a), one fused multiply-add per lane.
#define LANES8(idx, acc) \
	VMOVDQA64 Z5, Z9 \
	VPDPBUSD Z4, Z8, Z9 \
	VCVTDQ2PS Z9, Z9 \
	VPERMPS Z7, idx, Z10 \
	VFMADD231PS Z9, Z10, acc

// HSUM8 adds the eight float32 lanes of y (low half x) in ggml's order,
// ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7)), into X13 (clobbers X14).
#define HSUM8(y, x) \
	VEXTRACTF128 $1, y, X13 \
	VADDPS X13, x, X13 \
	VMOVHLPS X13, X13, X14 \
	VADDPS X14, X13, X13 \
	VMOVSHDUP X13, X14 \
	VADDSS X14, X13, X13

// STORE8 writes the sums of acc's halves to off(R11) and off(R12).
#define STORE8(z, y, x, off) \
	VEXTRACTF64X4 $1, z, Y12 \
	HSUM8(y, x) \
	VMOVSS X13, off(R11) \
	HSUM8(Y12, X12) \
	VMOVSS X13, off(R12)

#define STOREALL8 \
	STORE8(Z0, Y0, X0, 0) \
	STORE8(Z1, Y1, X1, 4) \
	STORE8(Z2, Y2, X2, 8) \
	STORE8(Z3, Y3, X3, 12)

#define ZEROACC \
	MOVQ $0x0001000100010001, R13 \
	VMOVDQU64 permIdx<>+0(SB), Z20 \
	VMOVDQU64 permIdx<>+64(SB), Z21 \
	VMOVDQU64 permIdx<>+128(SB), Z22 \
	VMOVDQU64 permIdx<>+192(SB), Z23 \
	VPXORD Z0, Z0, Z0 \
	VPXORD Z1, Z1, Z1 \
	VPXORD Z2, Z2, Z2 \
	VPXORD Z3, Z3, Z3 \
	VPXORD Z28, Z28, Z28

// func tileQ8_0VNNI(nb int, w0, w1 *byte, rb int, a0, a1 *byte, out0, out1 *float32)
//
// Q8_0 weights (34-byte blocks: fp16 d, 32 int8) against Q8_0: per block
// and lane k, acc[k] = fma(d_w*d_a, Σ_{j=4k..4k+3} q_w[j]*q_a[j], acc[k]),
// as dotQ8_0. The weights are biased to unsigned by 128 (XOR 0x80).
#define Q8ROW(q0, q1, idx, acc) \
	VMOVDQU q0, Y8 \
	VINSERTI64X4 $1, q1, Z8, Z8 \
	VPXORD Z31, Z8, Z8 \
	LANES8(idx, acc)

TEXT ·tileQ8_0VNNI(SB), NOSPLIT, $0-64
	TILEARGS
	VPBROADCASTQ c80<>(SB), Z31
	ZEROACC

q8tloop:
	ACTS
	Q8ROW(2(SI), 2(DX), Z20, Z0)
	Q8ROW(2(SI)(R8*1), 2(DX)(R8*1), Z21, Z1)
	Q8ROW(2(SI)(R8*2), 2(DX)(R8*2), Z22, Z2)
	Q8ROW(2(SI)(R9*1), 2(DX)(R9*1), Z23, Z3)
	ADDQ $34, SI
	ADDQ $34, DX
	ADDQ $34, DI
	ADDQ $34, R10
	DECQ CX
	JNZ  q8tloop

	STOREALL8
	VZEROUPPER
	RET

// NIBBLES puts the 16 bytes of nibbles at q0 (row of half 0) in 128-bit
// lanes 0 and 1 of Z8 and those at q1 in lanes 2 and 3, then keeps the low
// nibbles in lanes 0 and 2 and the high nibbles in lanes 1 and 3: the 32
// values of each block in order, as unsigned bytes 0..15.
#define NIBBLES(q0, q1) \
	VBROADCASTI32X4 q0, Z8 \
	VBROADCASTI32X4 q1, K2, Z8 \
	VPSRLVQ Z29, Z8, Z8 \
	VPANDD Z30, Z8, Z8

#define NIBCONSTS \
	MOVL $0xff00, AX \
	KMOVW AX, K2 \
	VMOVDQU64 nibShift<>(SB), Z29 \
	VPBROADCASTQ c0f<>(SB), Z30

// func tileIQ4_NLVNNI(nb int, w0, w1 *byte, rb int, a0, a1 *byte, out0, out1 *float32)
//
// IQ4_NL weights (18-byte blocks: fp16 d, 16 bytes of nibbles indexing the
// non-linear levels) against Q8_0, as dotIQ4_NL: the levels plus 128 are
// looked up as unsigned bytes (VPSHUFB), bias 128.
#define IQ4ROW(q0, q1, idx, acc) \
	NIBBLES(q0, q1) \
	VPSHUFB Z8, Z27, Z8 \
	LANES8(idx, acc)

TEXT ·tileIQ4_NLVNNI(SB), NOSPLIT, $0-64
	TILEARGS
	NIBCONSTS
	VBROADCASTI32X4 iq4nlU<>(SB), Z27
	VPBROADCASTQ c80<>(SB), Z31
	ZEROACC

iq4tloop:
	ACTS
	IQ4ROW(2(SI), 2(DX), Z20, Z0)
	IQ4ROW(2(SI)(R8*1), 2(DX)(R8*1), Z21, Z1)
	IQ4ROW(2(SI)(R8*2), 2(DX)(R8*2), Z22, Z2)
	IQ4ROW(2(SI)(R9*1), 2(DX)(R9*1), Z23, Z3)
	ADDQ $18, SI
	ADDQ $18, DX
	ADDQ $34, DI
	ADDQ $34, R10
	DECQ CX
	JNZ  iq4tloop

	STOREALL8
	VZEROUPPER
	RET

// func tileQ5_0VNNI(nb int, w0, w1 *byte, rb int, a0, a1 *byte, out0, out1 *float32)
//
// Q5_0 weights (22-byte blocks: fp16 d, 32 high bits, 16 bytes of nibbles;
// value q-16) against Q8_0, as dotQ5_0: the unsigned 5-bit q (nibble, plus
// 16 where the value's high bit is set, by a masked byte add) with bias 16.
#define Q5ROW(h0, h1, q0, q1, idx, acc) \
	NIBBLES(q0, q1) \
	MOVL h0, AX \
	MOVL h1, BX \
	SHLQ $32, BX \
	ORQ  BX, AX \
	KMOVQ AX, K3 \
	VPADDB Z31, Z8, K3, Z8 \
	LANES8(idx, acc)

TEXT ·tileQ5_0VNNI(SB), NOSPLIT, $0-64
	TILEARGS
	NIBCONSTS
	VPBROADCASTQ c10<>(SB), Z31
	ZEROACC

q5tloop:
	ACTS
	Q5ROW(2(SI), 2(DX), 6(SI), 6(DX), Z20, Z0)
	Q5ROW(2(SI)(R8*1), 2(DX)(R8*1), 6(SI)(R8*1), 6(DX)(R8*1), Z21, Z1)
	Q5ROW(2(SI)(R8*2), 2(DX)(R8*2), 6(SI)(R8*2), 6(DX)(R8*2), Z22, Z2)
	Q5ROW(2(SI)(R9*1), 2(DX)(R9*1), 6(SI)(R9*1), 6(DX)(R9*1), Z23, Z3)
	ADDQ $22, SI
	ADDQ $22, DX
	ADDQ $34, DI
	ADDQ $34, R10
	DECQ CX
	JNZ  q5tloop

	STOREALL8
	VZEROUPPER
	RET

// func tileQ4_0VNNI(nb int, w0, w1 *byte, rb int, a0, a1 *byte, out0, out1 *float32)
//
// Q4_0 weights (18-byte blocks: fp16 d, 16 bytes of nibbles; value q-8)
// against Q8_0, as dotQ4_0: per block the exact Σ (q-8)*a of each (row,
// half) and one scalar fused multiply-add, acc = fma(isum, d_w*d_a, acc).
// The 4 rows' int32 lanes are reduced together (unpack-and-add transpose),
// so the eight accumulators of the tile sit in one YMM register: rows 0..3
// of half 0, then rows 0..3 of half 1.
#define Q4ROW(q0, q1, t) \
	NIBBLES(q0, q1) \
	VMOVDQA64 Z5, t \
	VPDPBUSD Z4, Z8, t

TEXT ·tileQ4_0VNNI(SB), NOSPLIT, $0-64
	TILEARGS
	NIBCONSTS
	VPBROADCASTQ c08<>(SB), Z31
	VXORPS Y0, Y0, Y0
	VPXORD Z28, Z28, Z28

q4tloop:
	VMOVDQU 2(DI), Y4
	VINSERTI64X4 $1, 2(R10), Z4, Z4
	VPXORD Z5, Z5, Z5
	VPDPBUSD Z4, Z31, Z5
	VPSUBD Z5, Z28, Z5
	Q4ROW(2(SI), 2(DX), Z16)
	Q4ROW(2(SI)(R8*1), 2(DX)(R8*1), Z17)
	Q4ROW(2(SI)(R8*2), 2(DX)(R8*2), Z18)
	Q4ROW(2(SI)(R9*1), 2(DX)(R9*1), Z19)
	// transpose-add: per 128-bit lane [t16, t17, t18, t19] partial sums
	VPUNPCKLDQ Z17, Z16, Z20
	VPUNPCKHDQ Z17, Z16, Z21
	VPADDD Z21, Z20, Z20
	VPUNPCKLDQ Z19, Z18, Z22
	VPUNPCKHDQ Z19, Z18, Z23
	VPADDD Z23, Z22, Z22
	VPUNPCKLQDQ Z22, Z20, Z21
	VPUNPCKHQDQ Z22, Z20, Z23
	VPADDD Z23, Z21, Z21
	// lanes 0+1 (half 0) and 2+3 (half 1) into the low 256 bits
	VSHUFI64X2 $0x08, Z21, Z21, Z12
	VSHUFI64X2 $0x0d, Z21, Z21, Z13
	VPADDD Y13, Y12, Y12
	VCVTDQ2PS Y12, Y12
	// scales: [d_w rows 0..3 of half 0, of half 1] * [d_a0 x4, d_a1 x4]
	DSCALES(SI, AX)
	VMOVQ AX, X6
	DSCALES(DX, AX)
	VPINSRQ $1, AX, X6, X6
	VCVTPH2PS X6, Y6
	VPBROADCASTW (DI), X7
	VPBROADCASTW (R10), X9
	VPUNPCKLQDQ X9, X7, X7
	VCVTPH2PS X7, Y7
	VMULPS Y7, Y6, Y6
	VFMADD231PS Y6, Y12, Y0
	ADDQ $18, SI
	ADDQ $18, DX
	ADDQ $34, DI
	ADDQ $34, R10
	DECQ CX
	JNZ  q4tloop

	VMOVUPS X0, (R11)
	VEXTRACTF128 $1, Y0, X1
	VMOVUPS X1, (R12)
	VZEROUPPER
	RET

DATA lanePerm<>+0(SB)/8, $0x0000000400000000
DATA lanePerm<>+8(SB)/8, $0x0000000c00000008
DATA lanePerm<>+16(SB)/8, $0x0000000500000001
DATA lanePerm<>+24(SB)/8, $0x0000000d00000009
DATA lanePerm<>+32(SB)/8, $0x0000000600000002
DATA lanePerm<>+40(SB)/8, $0x0000000e0000000a
DATA lanePerm<>+48(SB)/8, $0x0000000700000003
DATA lanePerm<>+56(SB)/8, $0x0000000f0000000b
GLOBL lanePerm<>(SB), RODATA|NOPTR, $64

DATA iota16<>+0(SB)/8, $0x0000000100000000
DATA iota16<>+8(SB)/8, $0x0000000300000002
DATA iota16<>+16(SB)/8, $0x0000000500000004
DATA iota16<>+24(SB)/8, $0x0000000700000006
DATA iota16<>+32(SB)/8, $0x0000000900000008
DATA iota16<>+40(SB)/8, $0x0000000b0000000a
DATA iota16<>+48(SB)/8, $0x0000000d0000000c
DATA iota16<>+56(SB)/8, $0x0000000f0000000e
GLOBL iota16<>(SB), RODATA|NOPTR, $64

// ROWS15 loads the 16 bytes at off of block SI of the weight rows 0..14
// into Z10..Z13 (rows 4g..4g+3 in the 128-bit lanes of Z10+g; lane 3 of
// Z13, the 16th row, gets X27); AX, BX, DX address rows 4, 8 and 12.
#define ROWS15(off) \
	VMOVDQU off(SI), X10 \
	VINSERTI32X4 $1, off(SI)(R10*1), Z10, Z10 \
	VINSERTI32X4 $2, off(SI)(R10*2), Z10, Z10 \
	VINSERTI32X4 $3, off(SI)(R13*1), Z10, Z10 \
	VMOVDQU off(AX), X11 \
	VINSERTI32X4 $1, off(AX)(R10*1), Z11, Z11 \
	VINSERTI32X4 $2, off(AX)(R10*2), Z11, Z11 \
	VINSERTI32X4 $3, off(AX)(R13*1), Z11, Z11 \
	VMOVDQU off(BX), X12 \
	VINSERTI32X4 $1, off(BX)(R10*1), Z12, Z12 \
	VINSERTI32X4 $2, off(BX)(R10*2), Z12, Z12 \
	VINSERTI32X4 $3, off(BX)(R13*1), Z12, Z12 \
	VMOVDQU off(DX), X13 \
	VINSERTI32X4 $1, off(DX)(R10*1), Z13, Z13 \
	VINSERTI32X4 $2, off(DX)(R10*2), Z13, Z13 \
	VINSERTI32X4 $3, X27, Z13, Z13

// TRANSPOSE4 turns Z10..Z13 (register g, 128-bit lane L, dword k = dword k
// of row 4g+L) into the dword vectors k (lane r = dword k of row r):
// unpacks give lane L, dword g; VPERMD with Z19 moves it to lane 4g+L.
#define TRANSPOSE4 \
	VPUNPCKLDQ Z11, Z10, Z14 \
	VPUNPCKHDQ Z11, Z10, Z15 \
	VPUNPCKLDQ Z13, Z12, Z16 \
	VPUNPCKHDQ Z13, Z12, Z17 \
	VPUNPCKLQDQ Z16, Z14, Z10 \
	VPUNPCKHQDQ Z16, Z14, Z11 \
	VPUNPCKLQDQ Z17, Z15, Z12 \
	VPUNPCKHQDQ Z17, Z15, Z13 \
	VPERMD Z10, Z19, Z10 \
	VPERMD Z11, Z19, Z11 \
	VPERMD Z12, Z19, Z12 \
	VPERMD Z13, Z19, Z13

// Q4QUADS splits the gathered nibble bytes g (bytes 4q..4q+3 of each row)
// into the unsigned quads q (low nibbles) and q+4 (high nibbles).
#define Q4QUADS(g, lo, hi) \
	VPSRLD $4, g, hi \
	VPANDD Z29, g, lo \
	VPANDD Z29, hi, hi

// func tileQ4_0x15VNNI(nb int, w *byte, rb int, a *byte, ab, n int, out *float32, ldo, rows int)
//
// Q4_0 weights against Q8_0 for rows <= 15 weight rows (w + r·rb) and n activation
// rows (a + j·ab), adding to out[j·ldo + r], which the caller zeroes. Lane
// r < 15 of every vector is weight row r: per block the rows' nibbles are
// loaded, transposed (ROWS15, TRANSPOSE4: gathers are slow on some Intel
// cores) and split into eight vectors of unsigned quads, so
// that VPDPBUSD with each activation quad broadcast sums a whole block of a
// row in its lane, with no horizontal reduction. Lane 15 is a row of 8s: it
// sums 8·Σa, which is subtracted from the others, giving the exact Σ
// (q-8)·a; then, as dotQ4_0, acc = fma(float32(isum), d_w·d_a, acc) in
// float32, block after block.
TEXT ·tileQ4_0x15VNNI(SB), NOSPLIT, $0-72
	MOVQ rows+64(FP), CX
	MOVL $1, R13
	SHLL CX, R13
	DECL R13                       // mask of the rows' lanes
	KMOVW R13, K3
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+24(FP), R8
	MOVQ ab+32(FP), R9
	MOVQ out+48(FP), R11
	MOVQ ldo+56(FP), R12
	SHLQ $2, R12
	MOVQ rb+16(FP), R10
	LEAQ (R10)(R10*2), R13
	VMOVDQU64 lanePerm<>(SB), Z19
	VPBROADCASTQ c0f<>(SB), Z29
	VPBROADCASTQ c88<>(SB), Z27
	MOVL $15, AX
	VPBROADCASTD AX, Z26           // VPERMD index: lane 15

q415block:
	LEAQ (SI)(R10*4), AX
	LEAQ (AX)(R10*4), BX
	LEAQ (BX)(R10*4), DX
	ROWS15(2)
	TRANSPOSE4
	Q4QUADS(Z10, Z0, Z4)
	Q4QUADS(Z11, Z1, Z5)
	Q4QUADS(Z12, Z2, Z6)
	Q4QUADS(Z13, Z3, Z7)
	ROWS15(0)
	VPUNPCKLDQ Z11, Z10, Z14
	VPUNPCKLDQ Z13, Z12, Z16
	VPUNPCKLQDQ Z16, Z14, Z14
	VPERMD Z14, Z19, Z14
	VPMOVDW Z14, Y14
	VCVTPH2PS Y14, Z14
	MOVQ R8, DI
	MOVQ R11, DX
	MOVQ n+40(FP), BX

q415act:
	VPXORD Z9, Z9, Z9
	VPDPBUSD.BCST 2(DI), Z0, Z9
	VPDPBUSD.BCST 6(DI), Z1, Z9
	VPDPBUSD.BCST 10(DI), Z2, Z9
	VPDPBUSD.BCST 14(DI), Z3, Z9
	VPDPBUSD.BCST 18(DI), Z4, Z9
	VPDPBUSD.BCST 22(DI), Z5, Z9
	VPDPBUSD.BCST 26(DI), Z6, Z9
	VPDPBUSD.BCST 30(DI), Z7, Z9
	VPERMD Z9, Z26, Z15
	VPSUBD Z15, Z9, Z9
	VCVTDQ2PS Z9, Z9
	MOVWLZX (DI), AX
	VMOVD AX, X15
	VCVTPH2PS X15, X15
	VBROADCASTSS X15, Z15
	VMULPS Z14, Z15, Z15
	VMOVUPS (DX), K3, Z8
	VFMADD231PS Z9, Z15, Z8
	VMOVUPS Z8, K3, (DX)
	ADDQ R9, DI
	ADDQ R12, DX
	DECQ BX
	JNZ  q415act

	ADDQ $18, SI
	ADDQ $34, R8
	DECQ CX
	JNZ  q415block
	VZEROUPPER
	RET

// ACTS4 is ACTS for four activation rows (DI, DI+R10, DX, DX+R10: pairs
// A and B) against the same four weight rows: Z4/Z5 and Z24/Z25 hold the
// pairs' quants and minus bias times quad sums, Y7 and Y26 the scale
// products [rows 0..3 x d_a of the pair's first row, x its second].
#define ACTS4 \
	VMOVDQU 2(DI), Y4 \
	VINSERTI64X4 $1, 2(DI)(R10*1), Z4, Z4 \
	VPXORD Z5, Z5, Z5 \
	VPDPBUSD Z4, Z31, Z5 \
	VPSUBD Z5, Z28, Z5 \
	VMOVDQU 2(DX), Y14 \
	VINSERTI64X4 $1, 2(DX)(R10*1), Z14, Z24 \
	VPXORD Z25, Z25, Z25 \
	VPDPBUSD Z24, Z31, Z25 \
	VPSUBD Z25, Z28, Z25 \
	DSCALES(SI, AX) \
	VMOVQ AX, X15 \
	VPUNPCKLQDQ X15, X15, X15 \
	VCVTPH2PS X15, Y15 \
	MOVWQZX (DI), AX \
	IMULQ R13, AX \
	VMOVQ AX, X6 \
	MOVWQZX (DI)(R10*1), AX \
	IMULQ R13, AX \
	VPINSRQ $1, AX, X6, X6 \
	VCVTPH2PS X6, Y6 \
	VMULPS Y6, Y15, Y7 \
	MOVWQZX (DX), AX \
	IMULQ R13, AX \
	VMOVQ AX, X6 \
	MOVWQZX (DX)(R10*1), AX \
	IMULQ R13, AX \
	VPINSRQ $1, AX, X6, X6 \
	VCVTPH2PS X6, Y6 \
	VMULPS Y6, Y15, Y26

// Q8ROW4 multiplies weight row q (its fp16 scale selected by idx) by the
// four activation rows into accA (pair A) and accB (pair B).
#define Q8ROW4(q, idx, accA, accB) \
	VBROADCASTI64X4 q, Z8 \
	VPXORD Z31, Z8, Z8 \
	LANES4(idx, accA, accB)

// Q5ROW4 is Q8ROW4 for a Q5_0 row (high bits at h, nibbles at q).
#define Q5ROW4(h, q, idx, accA, accB) \
	VBROADCASTI32X4 q, Z8 \
	VPSRLVQ Z29, Z8, Z8 \
	VPANDD Z30, Z8, Z8 \
	MOVL h, AX \
	MOVQ AX, BX \
	SHLQ $32, BX \
	ORQ  BX, AX \
	KMOVQ AX, K3 \
	VPADDB Z31, Z8, K3, Z8 \
	LANES4(idx, accA, accB)

// IQ4ROW4 is Q8ROW4 for an IQ4_NL row (nibbles at q).
#define IQ4ROW4(q, idx, accA, accB) \
	VBROADCASTI32X4 q, Z8 \
	VPSRLVQ Z29, Z8, Z8 \
	VPANDD Z30, Z8, Z8 \
	VPSHUFB Z8, Z27, Z8 \
	LANES4(idx, accA, accB)

// LANES4 multiplies the biased unsigned weight quants of Z8 (the same row
// in both halves) by activation pairs A and B, as LANES8.
#define LANES4(idx, accA, accB) \
	VMOVDQA64 Z5, Z9 \
	VPDPBUSD Z4, Z8, Z9 \
	VCVTDQ2PS Z9, Z9 \
	VPERMPS Z7, idx, Z10 \
	VFMADD231PS Z9, Z10, accA \
	VMOVDQA64 Z25, Z11 \
	VPDPBUSD Z24, Z8, Z11 \
	VCVTDQ2PS Z11, Z11 \
	VPERMPS Z26, idx, Z12 \
	VFMADD231PS Z11, Z12, accB

// STORE4X4 writes the sums of Z0..Z3 (activation rows j, j+1) and
// Z16..Z19 (j+2, j+3) to out (R11) with the row stride R12 (bytes).
#define STORE4X4 \
	LEAQ (R12)(R12*1), BX \
	LEAQ (R11)(R12*1), R12 \
	STORE8(Z0, Y0, X0, 0) \
	STORE8(Z1, Y1, X1, 4) \
	STORE8(Z2, Y2, X2, 8) \
	STORE8(Z3, Y3, X3, 12) \
	ADDQ BX, R11 \
	ADDQ BX, R12 \
	VMOVAPS Z16, Z0 \
	VMOVAPS Z17, Z1 \
	VMOVAPS Z18, Z2 \
	VMOVAPS Z19, Z3 \
	STOREALL8

// func tileQ8_0x4VNNI(nb int, w *byte, rb int, a *byte, ab int, out *float32, ldo int)
//
// tileQ8_0VNNI for four weight rows (w + r·rb) times four activation rows
// (a + j·ab), results to out[j·ldo + r]: each weight block is loaded once
// for the four activation rows; the arithmetic is that of dotQ8_0.
TEXT ·tileQ8_0x4VNNI(SB), NOSPLIT, $0-56
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ rb+16(FP), R8
	LEAQ (R8)(R8*2), R9
	MOVQ a+24(FP), DI
	MOVQ ab+32(FP), R10
	LEAQ (DI)(R10*2), DX
	MOVQ out+40(FP), R11
	MOVQ ldo+48(FP), R12
	SHLQ $2, R12
	VPBROADCASTQ c80<>(SB), Z31
	ZEROACC
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19

q84loop:
	ACTS4
	Q8ROW4(2(SI), Z20, Z0, Z16)
	Q8ROW4(2(SI)(R8*1), Z21, Z1, Z17)
	Q8ROW4(2(SI)(R8*2), Z22, Z2, Z18)
	Q8ROW4(2(SI)(R9*1), Z23, Z3, Z19)
	ADDQ $34, SI
	ADDQ $34, DI
	ADDQ $34, DX
	DECQ CX
	JNZ  q84loop
	STORE4X4
	VZEROUPPER
	RET

// func tileQ5_0x4VNNI(nb int, w *byte, rb int, a *byte, ab int, out *float32, ldo int)
//
// tileQ5_0VNNI for four weight rows times four activation rows, as
// tileQ8_0x4VNNI; the arithmetic is that of dotQ5_0.
TEXT ·tileQ5_0x4VNNI(SB), NOSPLIT, $0-56
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ rb+16(FP), R8
	LEAQ (R8)(R8*2), R9
	MOVQ a+24(FP), DI
	MOVQ ab+32(FP), R10
	LEAQ (DI)(R10*2), DX
	MOVQ out+40(FP), R11
	MOVQ ldo+48(FP), R12
	SHLQ $2, R12
	NIBCONSTS
	VPBROADCASTQ c10<>(SB), Z31
	ZEROACC
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19

q54loop:
	ACTS4
	Q5ROW4(2(SI), 6(SI), Z20, Z0, Z16)
	Q5ROW4(2(SI)(R8*1), 6(SI)(R8*1), Z21, Z1, Z17)
	Q5ROW4(2(SI)(R8*2), 6(SI)(R8*2), Z22, Z2, Z18)
	Q5ROW4(2(SI)(R9*1), 6(SI)(R9*1), Z23, Z3, Z19)
	ADDQ $22, SI
	ADDQ $34, DI
	ADDQ $34, DX
	DECQ CX
	JNZ  q54loop
	STORE4X4
	VZEROUPPER
	RET

// func tileIQ4_NLx4VNNI(nb int, w *byte, rb int, a *byte, ab int, out *float32, ldo int)
//
// tileIQ4_NLVNNI for four weight rows times four activation rows, as
// tileQ8_0x4VNNI; the arithmetic is that of dotIQ4_NL.
TEXT ·tileIQ4_NLx4VNNI(SB), NOSPLIT, $0-56
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ rb+16(FP), R8
	LEAQ (R8)(R8*2), R9
	MOVQ a+24(FP), DI
	MOVQ ab+32(FP), R10
	LEAQ (DI)(R10*2), DX
	MOVQ out+40(FP), R11
	MOVQ ldo+48(FP), R12
	SHLQ $2, R12
	NIBCONSTS
	VBROADCASTI32X4 iq4nlU<>(SB), Z27
	VPBROADCASTQ c80<>(SB), Z31
	ZEROACC
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19

iq44loop:
	ACTS4
	IQ4ROW4(2(SI), Z20, Z0, Z16)
	IQ4ROW4(2(SI)(R8*1), Z21, Z1, Z17)
	IQ4ROW4(2(SI)(R8*2), Z22, Z2, Z18)
	IQ4ROW4(2(SI)(R9*1), Z23, Z3, Z19)
	ADDQ $18, SI
	ADDQ $34, DI
	ADDQ $34, DX
	DECQ CX
	JNZ  iq44loop
	STORE4X4
	VZEROUPPER
	RET
