//go:build !purego

#include "textflag.h"
#include "ggml_amd64.h"

// AVX-512 (F, BW) dot products of Q6_K and Q4_K rows against Q8_K: the
// arithmetic of dotQ6_KAVX2 and dotQ4_KAVX2 (and so of the generic code,
// bit for bit), 64 values per instruction instead of 32. Each 512-bit
// register holds two 32-value sub-blocks, one per 256-bit half, so the
// integer lanes of a block come out as two sets of eight exact int32 lanes
// that one VPADDD folds into ggml's eight (integer sums are exact, so the
// order does not matter); the float32 steps are those of the AVX2 kernels.

DATA k0f<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL k0f<>(SB), RODATA|NOPTR, $8
DATA k30<>+0(SB)/8, $0x3030303030303030
GLOBL k30<>(SB), RODATA|NOPTR, $8
DATA k20<>+0(SB)/8, $0x2020202020202020
GLOBL k20<>(SB), RODATA|NOPTR, $8

// qword shift counts per 256-bit half: {4, 2} and {0, 2} move the qh bits
// of Q6_K parts 0|1 and 2|3 to bits 4 and 5; {0, 4} picks the low or high
// nibbles of Q4_K.
DATA shl42<>+0(SB)/8, $4
DATA shl42<>+8(SB)/8, $4
DATA shl42<>+16(SB)/8, $4
DATA shl42<>+24(SB)/8, $4
DATA shl42<>+32(SB)/8, $2
DATA shl42<>+40(SB)/8, $2
DATA shl42<>+48(SB)/8, $2
DATA shl42<>+56(SB)/8, $2
GLOBL shl42<>(SB), RODATA|NOPTR, $64

DATA shr02<>+0(SB)/8, $0
DATA shr02<>+8(SB)/8, $0
DATA shr02<>+16(SB)/8, $0
DATA shr02<>+24(SB)/8, $0
DATA shr02<>+32(SB)/8, $2
DATA shr02<>+40(SB)/8, $2
DATA shr02<>+48(SB)/8, $2
DATA shr02<>+56(SB)/8, $2
GLOBL shr02<>(SB), RODATA|NOPTR, $64

DATA shr04<>+0(SB)/8, $0
DATA shr04<>+8(SB)/8, $0
DATA shr04<>+16(SB)/8, $0
DATA shr04<>+24(SB)/8, $0
DATA shr04<>+32(SB)/8, $4
DATA shr04<>+40(SB)/8, $4
DATA shr04<>+48(SB)/8, $4
DATA shr04<>+56(SB)/8, $4
GLOBL shr04<>(SB), RODATA|NOPTR, $64

// VPERMW indices: word k of a scale vector in every word of 128-bit lane
// k (idx0123) or 4+k (idx4567) — Q6_K's 16-value scales; word 2c in the
// low 256-bit half and 2c+1 in the high one (idxK0..idxK3) — Q4_K's.
#define W4(v) $(v*0x0001000100010001)
DATA idx0123<>+0(SB)/8, W4(0)
DATA idx0123<>+8(SB)/8, W4(0)
DATA idx0123<>+16(SB)/8, W4(1)
DATA idx0123<>+24(SB)/8, W4(1)
DATA idx0123<>+32(SB)/8, W4(2)
DATA idx0123<>+40(SB)/8, W4(2)
DATA idx0123<>+48(SB)/8, W4(3)
DATA idx0123<>+56(SB)/8, W4(3)
GLOBL idx0123<>(SB), RODATA|NOPTR, $64

DATA idx4567<>+0(SB)/8, W4(4)
DATA idx4567<>+8(SB)/8, W4(4)
DATA idx4567<>+16(SB)/8, W4(5)
DATA idx4567<>+24(SB)/8, W4(5)
DATA idx4567<>+32(SB)/8, W4(6)
DATA idx4567<>+40(SB)/8, W4(6)
DATA idx4567<>+48(SB)/8, W4(7)
DATA idx4567<>+56(SB)/8, W4(7)
GLOBL idx4567<>(SB), RODATA|NOPTR, $64

#define IDXK(name, lo, hi) \
	DATA name+0(SB)/8, W4(lo) \
	DATA name+8(SB)/8, W4(lo) \
	DATA name+16(SB)/8, W4(lo) \
	DATA name+24(SB)/8, W4(lo) \
	DATA name+32(SB)/8, W4(hi) \
	DATA name+40(SB)/8, W4(hi) \
	DATA name+48(SB)/8, W4(hi) \
	DATA name+56(SB)/8, W4(hi) \
	GLOBL name(SB), RODATA|NOPTR, $64

IDXK(idxK0<>, 0, 1)
IDXK(idxK1<>, 2, 3)
IDXK(idxK2<>, 4, 5)
IDXK(idxK3<>, 6, 7)

// Q6KHALF512 adds to Z0 the exact lanes of the 128 values of half c of a
// Q6_K block: ql at qloff(SI), qh at qhoff(SI), activations at aoff(DI),
// the half's eight int8 scales at soff(SI). Parts 0|1 are
// (ql&15) | (qh<<{4,2} & 0x30), parts 2|3 (ql>>4&15) | (qh>>{0,2} & 0x30);
// each part's Σ (q-32)·a by 16-value scale as VPMADDUBSW q·a - 32·a, then
// VPMADDWD by the scales.
#define Q6KHALF512(qloff, qhoff, aoff, soff) \
	VMOVDQU64 qloff(SI), Z1 \
	VBROADCASTI64X4 qhoff(SI), Z2 \
	VPSLLVQ Z23, Z2, Z3 \
	VPANDQ Z21, Z3, Z3 \
	VPSRLVQ Z24, Z2, Z4 \
	VPANDQ Z21, Z4, Z4 \
	VPSRLQ $4, Z1, Z5 \
	VPTERNLOGQ $0xF8, Z20, Z1, Z3 \
	VPTERNLOGQ $0xF8, Z20, Z5, Z4 \
	VPMOVSXBW soff(SI), X6 \
	VPERMW Z6, Z25, Z7 \
	VPERMW Z6, Z26, Z8 \
	VMOVDQU64 aoff(DI), Z9 \
	VMOVDQU64 aoff+64(DI), Z10 \
	VPMADDUBSW Z9, Z3, Z3 \
	VPMADDUBSW Z9, Z22, Z9 \
	VPMADDUBSW Z10, Z4, Z4 \
	VPMADDUBSW Z10, Z22, Z10 \
	VPSUBW Z9, Z3, Z3 \
	VPSUBW Z10, Z4, Z4 \
	VPMADDWD Z7, Z3, Z3 \
	VPMADDWD Z8, Z4, Z4 \
	VPADDD Z3, Z0, Z0 \
	VPADDD Z4, Z0, Z0

// func dotQ6_KAVX512(n int, w, a []byte) float32
TEXT ·dotQ6_KAVX512(SB), NOSPLIT, $0-60
	MOVQ n+0(FP), CX
	SHRQ $8, CX
	MOVQ w_base+8(FP), SI
	MOVQ a_base+32(FP), DI
	VPBROADCASTQ k0f<>(SB), Z20
	VPBROADCASTQ k30<>(SB), Z21
	VPBROADCASTQ k20<>(SB), Z22
	VMOVDQU64 shl42<>(SB), Z23
	VMOVDQU64 shr02<>(SB), Z24
	VMOVDQU64 idx0123<>(SB), Z25
	VMOVDQU64 idx4567<>(SB), Z26
	VXORPS Y14, Y14, Y14
	TESTQ CX, CX
	JZ q6k5done

q6k5loop:
	VPXORQ Z0, Z0, Z0
	Q6KHALF512(0, 128, 4, 192)
	Q6KHALF512(64, 160, 132, 200)
	VEXTRACTI64X4 $1, Z0, Y1
	VPADDD Y1, Y0, Y0
	VMOVSS (DI), X15
	MOVWLZX 208(SI), AX
	VMOVD AX, X3
	VCVTPH2PS X3, X3
	VMULSS X3, X15, X15
	VBROADCASTSS X15, Y15
	VCVTDQ2PS Y0, Y0
	VFMADD231PS Y0, Y15, Y14
	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q6k5loop

q6k5done:
	VMOVAPS Y14, Y0
	HSUM
	VMOVSS X0, ret+56(FP)
	VZEROUPPER
	RET

// Q4KC512 adds to Z11 the exact lanes of the 64 values of chunk c of a
// Q4_K block: 32 bytes of nibbles at off(SI) (low nibbles in the low
// 256-bit half, high nibbles in the high one), activations at aoff(DI),
// the two sub-blocks' scales picked from Z12 by the indices in idx.
#define Q4KC512(off, aoff, idx) \
	VBROADCASTI64X4 off(SI), Z2 \
	VPSRLVQ Z24, Z2, Z2 \
	VPANDQ Z20, Z2, Z2 \
	VPERMW Z12, idx, Z3 \
	VPMADDUBSW aoff(DI), Z2, Z2 \
	VPMADDWD Z3, Z2, Z2 \
	VPADDD Z2, Z11, Z11

// func dotQ4_KAVX512(n int, w, a []byte) float32
//
// dotQ4_KAVX2 with the main lanes 64 values at a time: the same scale and
// minimum unpacking, the same float32 fused multiply-adds and sums.
TEXT ·dotQ4_KAVX512(SB), NOSPLIT, $0-60
	MOVQ n+0(FP), CX
	SHRQ $8, CX
	MOVQ w_base+8(FP), SI
	MOVQ a_base+32(FP), DI
	VPBROADCASTQ k0f<>(SB), Z20
	VMOVDQU64 shr04<>(SB), Z24
	VMOVDQU64 idxK0<>(SB), Z25
	VMOVDQU64 idxK1<>(SB), Z26
	VMOVDQU64 idxK2<>(SB), Z27
	VMOVDQU64 idxK3<>(SB), Z28
	VXORPS Y0, Y0, Y0
	VXORPS X9, X9, X9
	TESTQ CX, CX
	JZ q4k5done

q4k5loop:
	KSCALES(X12)           // the eight scales as int16 (upper bits of Z12 zero)
	VCVTDQ2PS X4, X4
	VBROADCASTSS X7, X7
	VFNMADD231PS X4, X7, X9 // accm -= (d_a·dmin_w)·mp
	VPXORQ Z11, Z11, Z11
	Q4KC512(16, 4, Z25)
	Q4KC512(48, 68, Z26)
	Q4KC512(80, 132, Z27)
	Q4KC512(112, 196, Z28)
	VEXTRACTI64X4 $1, Z11, Y13
	VPADDD Y13, Y11, Y11
	VCVTDQ2PS Y11, Y11
	VBROADCASTSS X6, Y6
	VFMADD231PS Y11, Y6, Y0
	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q4k5loop

q4k5done:
	HSUM
	VMOVHLPS X9, X9, X10
	VADDPS X10, X9, X9
	VMOVSHDUP X9, X10
	VADDSS X10, X9, X9
	VADDSS X9, X0, X0
	VMOVSS X0, ret+56(FP)
	VZEROUPPER
	RET
