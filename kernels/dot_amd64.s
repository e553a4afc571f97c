//go:build !purego

#include "textflag.h"

// Constants: bytes 0x0f, bytes 0x08, int16 ones.
DATA nibbleMask<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibbleMask<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL nibbleMask<>(SB), RODATA|NOPTR, $16

DATA eights<>+0(SB)/8, $0x0808080808080808
DATA eights<>+8(SB)/8, $0x0808080808080808
DATA eights<>+16(SB)/8, $0x0808080808080808
DATA eights<>+24(SB)/8, $0x0808080808080808
GLOBL eights<>(SB), RODATA|NOPTR, $32

DATA onesW<>+0(SB)/8, $0x0001000100010001
DATA onesW<>+8(SB)/8, $0x0001000100010001
DATA onesW<>+16(SB)/8, $0x0001000100010001
DATA onesW<>+24(SB)/8, $0x0001000100010001
GLOBL onesW<>(SB), RODATA|NOPTR, $32

// BLOCKSCALE loads the fp16 scales at (w) and (a), and broadcasts their
// float32 product into dst (clobbers AX, BX, X14, X15).
#define BLOCKSCALE(w, a, dst) \
	MOVWLZX (w), AX \
	MOVWLZX (a), BX \
	VMOVD AX, X14 \
	VMOVD BX, X15 \
	VCVTPH2PS X14, X14 \
	VCVTPH2PS X15, X15 \
	VMULSS X15, X14, X14 \
	VBROADCASTSS X14, dst

// HSUM adds the eight float32 lanes of Y0 into X0's lowest lane:
// ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
#define HSUM \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X1, X0, X0 \
	VMOVHLPS X0, X0, X1 \
	VADDPS X1, X0, X0 \
	VMOVSHDUP X0, X1 \
	VADDSS X1, X0, X0

// func dotQ8_0AVX2(n int, w, a []byte) float32
//
//	for each block b: acc[lane] += scale(b) * float32(Σ of the lane's 4 products q_w·q_a)
//	return hsum(acc)
TEXT ·dotQ8_0AVX2(SB), NOSPLIT, $0-60
	MOVQ n+0(FP), CX
	SHRQ $5, CX
	MOVQ w_base+8(FP), SI
	MOVQ a_base+32(FP), DI
	VXORPS Y0, Y0, Y0
	TESTQ CX, CX
	JZ q8done

q8loop:
	BLOCKSCALE(SI, DI, Y1)
	VPMOVSXBW 2(SI), Y2
	VPMOVSXBW 18(SI), Y3
	VPMOVSXBW 2(DI), Y4
	VPMOVSXBW 18(DI), Y5
	VPMADDWD Y4, Y2, Y2
	VPMADDWD Y5, Y3, Y3
	VPADDD Y3, Y2, Y2
	VCVTDQ2PS Y2, Y2
	VFMADD231PS Y2, Y1, Y0
	ADDQ $34, SI
	ADDQ $34, DI
	DECQ CX
	JNZ q8loop

q8done:
	HSUM
	VMOVSS X0, ret+56(FP)
	VZEROUPPER
	RET

// func dotQ4_0AVX2(n int, w, a []byte) float32
//
//	for each block b: q = the 32 nibbles (low nibbles, then high nibbles)
//	  lanes = Σ pairs (q·a - 8·a), summed to int32 per lane (4 values each)
//	  acc[lane] += scale(b) * float32(lanes)
//	return hsum(acc)
TEXT ·dotQ4_0AVX2(SB), NOSPLIT, $0-60
	MOVQ n+0(FP), CX
	SHRQ $5, CX
	MOVQ w_base+8(FP), SI
	MOVQ a_base+32(FP), DI
	VXORPS Y0, Y0, Y0
	VMOVDQU nibbleMask<>(SB), X8
	VMOVDQU eights<>(SB), Y9
	VMOVDQU onesW<>(SB), Y10
	TESTQ CX, CX
	JZ q4done

q4loop:
	BLOCKSCALE(SI, DI, Y1)
	VMOVDQU 2(SI), X2
	VPSRLW $4, X2, X3
	VPAND X8, X2, X2           // low nibbles: values 0..15
	VPAND X8, X3, X3           // high nibbles: values 16..31
	VINSERTI128 $1, X3, Y2, Y2 // q, 32 unsigned bytes in value order
	VMOVDQU 2(DI), Y4          // a, 32 signed bytes
	VPMADDUBSW Y4, Y2, Y2      // q·a, pairwise in int16
	VPMADDUBSW Y4, Y9, Y5      // 8·a, pairwise in int16
	VPSUBW Y5, Y2, Y2          // (q-8)·a pairs, |.| <= 2048
	VPMADDWD Y10, Y2, Y2       // int32 lanes of 4 values
	VCVTDQ2PS Y2, Y2
	VFMADD231PS Y2, Y1, Y0
	ADDQ $18, SI
	ADDQ $34, DI
	DECQ CX
	JNZ q4loop

q4done:
	HSUM
	VMOVSS X0, ret+56(FP)
	VZEROUPPER
	RET
