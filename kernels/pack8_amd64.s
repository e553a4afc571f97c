//go:build !purego

#include "textflag.h"

// The eight-row prompt tile over packed Q4_0 groups on the avx512 path
// (pack8_amd64.go): the arithmetic of tileQ4_0x15PVNNI (pack_amd64.s), with
// the eight activation rows' sums kept in registers across the blocks
// instead of added to out block by block.

DATA q8p0f<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL q8p0f<>(SB), RODATA|NOPTR, $8
DATA q8p88<>+0(SB)/8, $0x8888888888888888
GLOBL q8p88<>(SB), RODATA|NOPTR, $8

// Q8ROW adds to acc, lanes r < 15, fma(float32(Σ (q-8)·a), d_w·d_a, acc)
// for one block of the activation row at p+DX: the eight VPDPBUSD of the
// unsigned nibbles (Z0..Z7, lane 15 a row of 8s) with the activation
// quads, minus lane 15 (8·Σa) for the exact sums; the scale is the
// activation's fp16 d broadcast, times the rows' d_w (Z14).
#define Q8ROW(p, acc) \
	VPXORD Z9, Z9, Z9 \
	VPDPBUSD.BCST 2(p)(DX*1), Z0, Z9 \
	VPDPBUSD.BCST 6(p)(DX*1), Z1, Z9 \
	VPDPBUSD.BCST 10(p)(DX*1), Z2, Z9 \
	VPDPBUSD.BCST 14(p)(DX*1), Z3, Z9 \
	VPDPBUSD.BCST 18(p)(DX*1), Z4, Z9 \
	VPDPBUSD.BCST 22(p)(DX*1), Z5, Z9 \
	VPDPBUSD.BCST 26(p)(DX*1), Z6, Z9 \
	VPDPBUSD.BCST 30(p)(DX*1), Z7, Z9 \
	VPERMD Z9, Z26, Z15 \
	VPSUBD Z15, Z9, Z9 \
	VCVTDQ2PS Z9, Z9 \
	VPBROADCASTW (p)(DX*1), Y15 \
	VCVTPH2PS Y15, Z15 \
	VMULPS Z14, Z15, Z15 \
	VFMADD231PS Z9, Z15, acc

// PFDIST is how far ahead of the block in use the weights are prefetched
// (bytes): what the kernel reads in about the latency of memory.
#define PFDIST 8192

// Q8STORE writes the fifteen rows of acc to the j-th output pointer.
#define Q8STORE(j, acc) \
	MOVQ (j*8)(R11), R8 \
	VMOVUPS acc, K3, (R8)

// func tileQ4_0x15P8VNNI(nb int, w *byte, a *[8]*byte, out *[8]*float32)
//
// out[j][r] = dotQ4_0 of row r < 15 of the packed Q4_0 group w and the
// Q8_0 activation row a[j], j < 8, bit for bit: per block the rows'
// nibbles are loaded and transposed once (as tileQ4_0x15PVNNI), then
// multiplied by the eight activation rows, each row's fifteen float32
// sums in one register for the whole row (acc = fma(isum, d_w·d_a, acc)
// from 0, block by block, as dotQ4_0).
TEXT ·tileQ4_0x15P8VNNI(SB), NOSPLIT, $0-32
	MOVQ $0xffffffffffff, AX
	KMOVQ AX, K1
	MOVL $0x7fff, AX
	KMOVW AX, K3
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ out+24(FP), R11
	VPBROADCASTQ q8p0f<>(SB), Z29
	VPBROADCASTQ q8p88<>(SB), Z27
	MOVL $15, AX
	VPBROADCASTD AX, Z26           // VPERMD index: lane 15
	MOVQ a+16(FP), AX
	MOVQ 0(AX), DI
	MOVQ 8(AX), R8
	MOVQ 16(AX), R9
	MOVQ 24(AX), R10
	MOVQ 32(AX), R12
	MOVQ 40(AX), R13
	MOVQ 48(AX), BX
	MOVQ 56(AX), AX
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	XORQ DX, DX                    // offset of the block in the activation rows
	TESTQ CX, CX
	JZ   q8store

q8block:
	PREFETCHT0 PFDIST(SI)
	PREFETCHT0 (PFDIST+64)(SI)
	PREFETCHT0 (PFDIST+128)(SI)
	PREFETCHT0 (PFDIST+192)(SI)
	PREFETCHT0 (PFDIST+256)(SI)
	VMOVDQU64 30(SI), Z10
	VMOVDQU64 94(SI), Z11
	VMOVDQU64 158(SI), Z12
	VMOVDQU8.Z 222(SI), K1, Z13
	VINSERTI32X4 $3, X27, Z13, Z13
	VPUNPCKLDQ Z11, Z10, Z24
	VPUNPCKHDQ Z11, Z10, Z25
	VPUNPCKLDQ Z13, Z12, Z28
	VPUNPCKHDQ Z13, Z12, Z30
	VPUNPCKLQDQ Z28, Z24, Z10
	VPUNPCKHQDQ Z28, Z24, Z11
	VPUNPCKLQDQ Z30, Z25, Z12
	VPUNPCKHQDQ Z30, Z25, Z13
	VPSRLD $4, Z10, Z4
	VPANDD Z29, Z10, Z0
	VPANDD Z29, Z4, Z4
	VPSRLD $4, Z11, Z5
	VPANDD Z29, Z11, Z1
	VPANDD Z29, Z5, Z5
	VPSRLD $4, Z12, Z6
	VPANDD Z29, Z12, Z2
	VPANDD Z29, Z6, Z6
	VPSRLD $4, Z13, Z7
	VPANDD Z29, Z13, Z3
	VPANDD Z29, Z7, Z7
	VCVTPH2PS (SI), Z14
	Q8ROW(DI, Z16)
	Q8ROW(R8, Z17)
	Q8ROW(R9, Z18)
	Q8ROW(R10, Z19)
	Q8ROW(R12, Z20)
	Q8ROW(R13, Z21)
	Q8ROW(BX, Z22)
	Q8ROW(AX, Z23)
	ADDQ $270, SI
	ADDQ $34, DX
	DECQ CX
	JNZ  q8block

q8store:
	Q8STORE(0, Z16)
	Q8STORE(1, Z17)
	Q8STORE(2, Z18)
	Q8STORE(3, Z19)
	Q8STORE(4, Z20)
	Q8STORE(5, Z21)
	Q8STORE(6, Z22)
	Q8STORE(7, Z23)
	VZEROUPPER
	RET
