//go:build !purego

#include "textflag.h"
#include "ggml_amd64.h"

// Constants: bytes 0x0f, 0x03, 0x20, 0x08, int16 ones.
DATA nibbleMask<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibbleMask<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibbleMask<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibbleMask<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL nibbleMask<>(SB), RODATA|NOPTR, $32

DATA twoBits<>+0(SB)/8, $0x0303030303030303
DATA twoBits<>+8(SB)/8, $0x0303030303030303
DATA twoBits<>+16(SB)/8, $0x0303030303030303
DATA twoBits<>+24(SB)/8, $0x0303030303030303
GLOBL twoBits<>(SB), RODATA|NOPTR, $32

DATA thirtyTwos<>+0(SB)/8, $0x2020202020202020
DATA thirtyTwos<>+8(SB)/8, $0x2020202020202020
DATA thirtyTwos<>+16(SB)/8, $0x2020202020202020
DATA thirtyTwos<>+24(SB)/8, $0x2020202020202020
GLOBL thirtyTwos<>(SB), RODATA|NOPTR, $32

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

// Q6_K scales: even bytes then odd bytes; VPSHUFB indices of int16 k.
DATA evenOdd<>+0(SB)/8, $0x0e0c0a0806040200
DATA evenOdd<>+8(SB)/8, $0x0f0d0b0907050301
GLOBL evenOdd<>(SB), RODATA|NOPTR, $16

DATA wordSel<>+0(SB)/8, $0x0100010001000100
DATA wordSel<>+8(SB)/8, $0x0100010001000100
DATA wordSel<>+16(SB)/8, $0x0100010001000100
DATA wordSel<>+24(SB)/8, $0x0100010001000100
DATA wordSel<>+32(SB)/8, $0x0302030203020302
DATA wordSel<>+40(SB)/8, $0x0302030203020302
DATA wordSel<>+48(SB)/8, $0x0302030203020302
DATA wordSel<>+56(SB)/8, $0x0302030203020302
DATA wordSel<>+64(SB)/8, $0x0504050405040504
DATA wordSel<>+72(SB)/8, $0x0504050405040504
DATA wordSel<>+80(SB)/8, $0x0504050405040504
DATA wordSel<>+88(SB)/8, $0x0504050405040504
DATA wordSel<>+96(SB)/8, $0x0706070607060706
DATA wordSel<>+104(SB)/8, $0x0706070607060706
DATA wordSel<>+112(SB)/8, $0x0706070607060706
DATA wordSel<>+120(SB)/8, $0x0706070607060706
DATA wordSel<>+128(SB)/8, $0x0908090809080908
DATA wordSel<>+136(SB)/8, $0x0908090809080908
DATA wordSel<>+144(SB)/8, $0x0908090809080908
DATA wordSel<>+152(SB)/8, $0x0908090809080908
DATA wordSel<>+160(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA wordSel<>+168(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA wordSel<>+176(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA wordSel<>+184(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA wordSel<>+192(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA wordSel<>+200(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA wordSel<>+208(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA wordSel<>+216(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA wordSel<>+224(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA wordSel<>+232(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA wordSel<>+240(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA wordSel<>+248(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL wordSel<>(SB), RODATA|NOPTR, $256

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

// func dotQ8_0AVX2(n int, w, a []byte) float32
//
//	for each block b: L[k] = Σ_{j=4k..4k+3} q_w[j]·q_a[j]   (k < 8, exact int32)
//	                  acc[k] = fma(scale(b), float32(L[k]), acc[k])
//	return ((acc0+acc4)+(acc2+acc6)) + ((acc1+acc5)+(acc3+acc7))
//
// as dotQ8_0 (generic) and llamafile's tinyBLAS_Q0_AVX. The bytes are
// widened to int16 (VPMOVSXBW) so that -128 is exact too; VPMADDWD gives the
// pair sums of each half, VPHADDD the quads (lanes 0,1,4,5 | 2,3,6,7) and
// VPERMQ puts them in order.
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
	VPHADDD Y3, Y2, Y2
	VPERMQ $0xd8, Y2, Y2
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
//	  isum = Σ (q-8)·a   (exact: pairs q·a - 8·a in int16, then int32)
//	  acc = fma(float32(isum), scale(b), acc)
//	return acc
//
// as dotQ4_0 (generic) and ggml's gemv/gemm for Q4_0 repacked to 8x8 on x86.
TEXT ·dotQ4_0AVX2(SB), NOSPLIT, $0-60
	MOVQ n+0(FP), CX
	SHRQ $5, CX
	MOVQ w_base+8(FP), SI
	MOVQ a_base+32(FP), DI
	VXORPS X0, X0, X0
	VMOVDQU nibbleMask<>(SB), X8
	VMOVDQU eights<>(SB), Y9
	VMOVDQU onesW<>(SB), Y10
	TESTQ CX, CX
	JZ q4done

q4loop:
	BLOCKSCALE(SI, DI, Y1)     // X14 keeps the scale in lane 0
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
	VEXTRACTI128 $1, Y2, X3
	VPADDD X3, X2, X2
	VPSHUFD $0x4e, X2, X3
	VPADDD X3, X2, X2
	VPSHUFD $0xb1, X2, X3
	VPADDD X3, X2, X2          // isum in lane 0
	VCVTDQ2PS X2, X2
	VFMADD231SS X14, X2, X0    // acc = isum·scale + acc, rounded once
	ADDQ $18, SI
	ADDQ $34, DI
	DECQ CX
	JNZ q4loop

q4done:
	VMOVSS X0, ret+56(FP)
	VZEROUPPER
	RET

// Q4KCHUNK adds the 64 values of chunk off (32 bytes of nibbles at
// off(SI), activations at 2*off(DI), scales at off/8(DX)) to Y0.
#define Q4KCHUNK(off, aoff, soff) \
	VMOVDQU off(SI), Y2 \
	VPSRLW $4, Y2, Y3 \
	VPAND Y8, Y2, Y2 \
	VPAND Y8, Y3, Y3 \
	VPMADDUBSW aoff(DI), Y2, Y2 \
	VPMADDUBSW aoff+32(DI), Y3, Y3 \
	VPBROADCASTW soff(DX), Y4 \
	VPBROADCASTW soff+2(DX), Y5 \
	VPMADDWD Y4, Y2, Y2 \
	VPMADDWD Y5, Y3, Y3 \
	VPADDD Y2, Y0, Y0 \
	VPADDD Y3, Y0, Y0

// Q4KC adds to Y11 the 64 values of chunk c: 32 bytes of nibbles at
// off(SI), activations at aoff(DI), the int16 scales of its two 32-value
// sub-blocks at soff(SP) and soff+2(SP).
#define Q4KC(off, aoff, soff) \
	VMOVDQU off(SI), Y2 \
	VPSRLW $4, Y2, Y3 \
	VPAND Y8, Y2, Y2 \
	VPAND Y8, Y3, Y3 \
	VPMADDUBSW aoff(DI), Y2, Y2 \
	VPMADDUBSW aoff+32(DI), Y3, Y3 \
	VPBROADCASTW soff(SP), Y4 \
	VPBROADCASTW soff+2(SP), Y5 \
	VPMADDWD Y4, Y2, Y2 \
	VPMADDWD Y5, Y3, Y3 \
	VPADDD Y2, Y11, Y11 \
	VPADDD Y3, Y11, Y11

// func dotQ4_KAVX2(n int, w, a []byte) float32
//
// as dotQ4_K (ggml's AVX2 ggml_vec_dot_q4_K_q8_K), bit for bit: per block
// the 6-bit scales and mins are unpacked in general registers (ggml's utmp
// shuffle), the four int32 minimum products m·(bsum pairs) (VPHADDW,
// VPMADDWD) go to four float32 lanes by a fused multiply-add with
// -d_a·dmin_w, the eight exact int32 lanes (VPMADDUBSW, VPMADDWD by the
// scales) to eight float32 lanes by a fused multiply-add with d_a·d_w;
// result = hsum8(acc) + ((m0+m2)+(m1+m3)).
TEXT ·dotQ4_KAVX2(SB), NOSPLIT, $16-60
	MOVQ n+0(FP), CX
	SHRQ $8, CX
	MOVQ w_base+8(FP), SI
	MOVQ a_base+32(FP), DI
	VMOVDQU nibbleMask<>(SB), Y8
	VXORPS Y0, Y0, Y0
	VXORPS X9, X9, X9
	TESTQ CX, CX
	JZ q4kdone

q4kloop:
	KSCALES(X2)
	VMOVDQU X2, 0(SP)
	VCVTDQ2PS X4, X4
	VBROADCASTSS X7, X7
	VFNMADD231PS X4, X7, X9 // accm -= (d_a·dmin_w)·mp, i.e. fma(-d_a·dmin_w, mp, accm)
	VPXOR Y11, Y11, Y11
	Q4KC(16, 4, 0)
	Q4KC(48, 68, 4)
	Q4KC(80, 132, 8)
	Q4KC(112, 196, 12)
	VCVTDQ2PS Y11, Y11
	VBROADCASTSS X6, Y6
	VFMADD231PS Y11, Y6, Y0
	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q4kloop

q4kdone:
	HSUM
	VMOVHLPS X9, X9, X10
	VADDPS X10, X9, X9
	VMOVSHDUP X9, X10
	VADDSS X10, X9, X9
	VADDSS X9, X0, X0
	VMOVSS X0, ret+56(FP)
	VZEROUPPER
	RET

// Q5KC adds to Y11 the 64 values of chunk c: 32 bytes of nibbles at
// off(SI), whose fifth bits are bits 2c and 2c+1 of the qh bytes in Y12
// (moved to bit 4 by the shifts oplo nlo and ophi nhi), activations at
// aoff(DI), int16 scales at soff(SP) and soff+2(SP).
#define Q5KC(off, aoff, soff, oplo, nlo, ophi, nhi) \
	VMOVDQU off(SI), Y2 \
	VPSRLW $4, Y2, Y3 \
	VPAND Y8, Y2, Y2 \
	VPAND Y8, Y3, Y3 \
	oplo $nlo, Y12, Y4 \
	ophi $nhi, Y12, Y5 \
	VPAND Y13, Y4, Y4 \
	VPAND Y13, Y5, Y5 \
	VPOR Y4, Y2, Y2 \
	VPOR Y5, Y3, Y3 \
	VPMADDUBSW aoff(DI), Y2, Y2 \
	VPMADDUBSW aoff+32(DI), Y3, Y3 \
	VPBROADCASTW soff(SP), Y4 \
	VPBROADCASTW soff+2(SP), Y5 \
	VPMADDWD Y4, Y2, Y2 \
	VPMADDWD Y5, Y3, Y3 \
	VPADDD Y2, Y11, Y11 \
	VPADDD Y3, Y11, Y11

// func dotQ5_KAVX2(n int, w, a []byte) float32
//
// as dotQ5_K (ggml's AVX2 ggml_vec_dot_q5_K_q8_K), bit for bit: the
// scales, minimums and lanes of dotQ4_KAVX2 with the fifth bits from qh;
// the four minimum products are summed in int32 and added to one float32
// by a fused multiply-add with -d_a·dmin_w, added after the lanes' sum.
TEXT ·dotQ5_KAVX2(SB), NOSPLIT, $16-60
	MOVQ n+0(FP), CX
	SHRQ $8, CX
	MOVQ w_base+8(FP), SI
	MOVQ a_base+32(FP), DI
	VMOVDQU nibbleMask<>(SB), Y8
	VMOVDQU sixteens<>(SB), Y13
	VXORPS Y0, Y0, Y0
	VXORPS X9, X9, X9
	TESTQ CX, CX
	JZ q5kdone

q5kloop:
	KSCALES(X2)
	VMOVDQU X2, 0(SP)
	VPHADDD X4, X4, X4
	VPHADDD X4, X4, X4         // mp0+mp1+mp2+mp3
	VCVTDQ2PS X4, X4
	VFNMADD231SS X4, X7, X9    // summs = fma(-d_a·dmin_w, Σmp, summs)
	VMOVDQU 16(SI), Y12        // qh
	VPXOR Y11, Y11, Y11
	Q5KC(48, 4, 0, VPSLLW, 4, VPSLLW, 3)
	Q5KC(80, 68, 4, VPSLLW, 2, VPSLLW, 1)
	Q5KC(112, 132, 8, VPSLLW, 0, VPSRLW, 1)
	Q5KC(144, 196, 12, VPSRLW, 2, VPSRLW, 3)
	VCVTDQ2PS Y11, Y11
	VBROADCASTSS X6, Y6
	VFMADD231PS Y11, Y6, Y0
	ADDQ $176, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q5kloop

q5kdone:
	HSUM
	VADDSS X9, X0, X0
	VMOVSS X0, ret+56(FP)
	VZEROUPPER
	RET

// Q6KSCALES puts scale 2k of the block in every int16 of Y4's low 128-bit
// lane and scale 2k+1 in its high lane (Y15 holds the block's even scales
// as int16 in its low lane, the odd ones in its high lane; soff = 32k
// selects word k).
#define Q6KSCALES(soff) \
	VPSHUFB wordSel<>+soff(SB), Y15, Y4

// Q6KPART adds Σ scale·(q-32)·a for the 32 values q (6-bit, unsigned
// bytes in reg) whose activations are at aoff(DI), with the scales that
// Q6KSCALES(soff) selects.
#define Q6KPART(reg, aoff, soff) \
	VMOVDQU aoff(DI), Y6 \
	VPMADDUBSW Y6, reg, reg \
	VPMADDUBSW Y6, Y10, Y7 \
	VPSUBW Y7, reg, reg \
	Q6KSCALES(soff) \
	VPMADDWD Y4, reg, reg \
	VPADDD reg, Y0, Y0

// Q6KHALF adds the 128 values of half c: ql at qloff(SI), qh at qhoff(SI),
// activations at aoff(DI), scales at soff(SI).
#define Q6KHALF(qloff, qhoff, aoff, soff) \
	VMOVDQU qloff(SI), Y11 \
	VMOVDQU qloff+32(SI), Y12 \
	VMOVDQU qhoff(SI), Y13 \
	VPAND Y8, Y11, Y1 \
	VPAND Y9, Y13, Y2 \
	VPSLLW $4, Y2, Y2 \
	VPOR Y2, Y1, Y1 \
	Q6KPART(Y1, aoff, soff) \
	VPAND Y8, Y12, Y1 \
	VPSRLW $2, Y13, Y2 \
	VPAND Y9, Y2, Y2 \
	VPSLLW $4, Y2, Y2 \
	VPOR Y2, Y1, Y1 \
	Q6KPART(Y1, aoff+32, soff+32) \
	VPSRLW $4, Y11, Y1 \
	VPAND Y8, Y1, Y1 \
	VPSRLW $4, Y13, Y2 \
	VPAND Y9, Y2, Y2 \
	VPSLLW $4, Y2, Y2 \
	VPOR Y2, Y1, Y1 \
	Q6KPART(Y1, aoff+64, soff+64) \
	VPSRLW $4, Y12, Y1 \
	VPAND Y8, Y1, Y1 \
	VPSRLW $6, Y13, Y2 \
	VPAND Y9, Y2, Y2 \
	VPSLLW $4, Y2, Y2 \
	VPOR Y2, Y1, Y1 \
	Q6KPART(Y1, aoff+96, soff+96)

// func dotQ6_KAVX2(n int, w, a []byte) float32
//
// as dotQ6_K (ggml's AVX2 ggml_vec_dot_q6_K_q8_K), bit for bit: per block
// eight exact int32 lanes Σ scale·Σ_{v=4t..4t+3} (q-32)·a (the pair sums
// q·a and 32·a are exact in int16, so is their difference), then
// acc = fma(d_a·d_w, lanes, acc) in eight float32 lanes, summed as ggml.
TEXT ·dotQ6_KAVX2(SB), NOSPLIT, $0-60
	MOVQ n+0(FP), CX
	SHRQ $8, CX
	MOVQ w_base+8(FP), SI
	MOVQ a_base+32(FP), DI
	VMOVDQU nibbleMask<>(SB), Y8
	VMOVDQU twoBits<>(SB), Y9
	VMOVDQU thirtyTwos<>(SB), Y10
	VXORPS Y14, Y14, Y14
	TESTQ CX, CX
	JZ q6kdone

q6kloop:
	VPXOR Y0, Y0, Y0
	VMOVDQU 192(SI), X15
	VPSHUFB evenOdd<>(SB), X15, X15
	VPMOVSXBW X15, Y15         // even scales | odd scales, int16
	Q6KHALF(0, 128, 4, 0)
	Q6KHALF(64, 160, 132, 128)
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
	JNZ  q6kloop

q6kdone:
	VMOVAPS Y14, Y0
	HSUM
	VMOVSS X0, ret+56(FP)
	VZEROUPPER
	RET

// func dotF16AVX2(n int, w, a []byte) float32
//
//	acc0, acc1 (8 lanes each) += f32(w[i:i+16]) * f32(a[i:i+16])   (VCVTPH2PS, FMA)
//	acc0 += f32(w[i:i+8]) * f32(a[i:i+8]) while 8 remain
//	s = hsum(acc0+acc1); s += f32(w[i])*f32(a[i]) for the tail
//
// Each product of two halves is exact in float32, so the fused and unfused
// forms agree; the sums are float32 lanes (the generic code sums in float64).
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-60
	MOVQ n+0(FP), CX
	MOVQ w_base+8(FP), SI
	MOVQ a_base+32(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y5, Y5, Y5

f16loop16:
	CMPQ CX, $16
	JLT  f16loop8
	VCVTPH2PS (SI), Y1
	VCVTPH2PS 16(SI), Y2
	VCVTPH2PS (DI), Y3
	VCVTPH2PS 16(DI), Y4
	VFMADD231PS Y3, Y1, Y0
	VFMADD231PS Y4, Y2, Y5
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $16, CX
	JMP  f16loop16

f16loop8:
	CMPQ CX, $8
	JLT  f16reduce
	VCVTPH2PS (SI), Y1
	VCVTPH2PS (DI), Y3
	VFMADD231PS Y3, Y1, Y0
	ADDQ $16, SI
	ADDQ $16, DI
	SUBQ $8, CX

f16reduce:
	VADDPS Y5, Y0, Y0
	HSUM

f16tail:
	TESTQ CX, CX
	JZ    f16done
	MOVWLZX (SI), AX
	MOVWLZX (DI), BX
	VMOVD AX, X1
	VMOVD BX, X2
	VCVTPH2PS X1, X1
	VCVTPH2PS X2, X2
	VFMADD231SS X2, X1, X0
	ADDQ $2, SI
	ADDQ $2, DI
	DECQ CX
	JMP  f16tail

f16done:
	VMOVSS X0, ret+56(FP)
	VZEROUPPER
	RET

DATA bitSel<>+0(SB)/8, $0x7fbfdfeff7fbfdfe
DATA bitSel<>+8(SB)/8, $0x7fbfdfeff7fbfdfe
DATA bitSel<>+16(SB)/8, $0x7fbfdfeff7fbfdfe
DATA bitSel<>+24(SB)/8, $0x7fbfdfeff7fbfdfe
GLOBL bitSel<>(SB), RODATA|NOPTR, $32

DATA byteOfBit<>+0(SB)/8, $0x0000000000000000
DATA byteOfBit<>+8(SB)/8, $0x0101010101010101
DATA byteOfBit<>+16(SB)/8, $0x0202020202020202
DATA byteOfBit<>+24(SB)/8, $0x0303030303030303
GLOBL byteOfBit<>(SB), RODATA|NOPTR, $32

DATA sixteens<>+0(SB)/8, $0x1010101010101010
DATA sixteens<>+8(SB)/8, $0x1010101010101010
DATA sixteens<>+16(SB)/8, $0x1010101010101010
DATA sixteens<>+24(SB)/8, $0x1010101010101010
GLOBL sixteens<>(SB), RODATA|NOPTR, $32

// kvaluesIQ4NL as signed bytes
DATA iq4nlS<>+0(SB)/8, $0xf6eaddcfbfad9881
DATA iq4nlS<>+8(SB)/8, $0x7159453526190d01
GLOBL iq4nlS<>(SB), RODATA|NOPTR, $16

// func dotQ5_0AVX2(n int, w, a []byte) float32
//
// as dotQ5_0, bit for bit: per block the unsigned 5-bit q = nibble | 16·bit
// (the 32 high bits spread to bytes by VPSHUFB, selected by VPCMPEQB),
// exact int16 pair sums q·a - 16·a (VPMADDUBSW twice), quads by VPMADDWD,
// then acc[k] = fma(d_w·d_a, quad k, acc[k]) and ggml's lane sum.
TEXT ·dotQ5_0AVX2(SB), NOSPLIT, $0-60
	MOVQ n+0(FP), CX
	SHRQ $5, CX
	MOVQ w_base+8(FP), SI
	MOVQ a_base+32(FP), DI
	VXORPS Y0, Y0, Y0
	VMOVDQU nibbleMask<>(SB), X8
	VMOVDQU sixteens<>(SB), Y9
	VMOVDQU onesW<>(SB), Y10
	VMOVDQU bitSel<>(SB), Y11
	VMOVDQU byteOfBit<>(SB), Y12
	VPCMPEQB Y13, Y13, Y13
	TESTQ CX, CX
	JZ q5done

q5loop:
	BLOCKSCALE(SI, DI, Y1)
	VMOVDQU 6(SI), X2
	VPSRLW $4, X2, X3
	VPAND X8, X2, X2
	VPAND X8, X3, X3
	VINSERTI128 $1, X3, Y2, Y2 // nibbles in value order
	VPBROADCASTD 2(SI), Y4
	VPSHUFB Y12, Y4, Y4        // byte j = byte j/8 of qh
	VPOR Y11, Y4, Y4
	VPCMPEQB Y13, Y4, Y4       // 0xff where bit j is set
	VPAND Y9, Y4, Y4
	VPOR Y4, Y2, Y2            // q = nibble | 16·bit
	VMOVDQU 2(DI), Y5
	VPMADDUBSW Y5, Y2, Y2
	VPMADDUBSW Y5, Y9, Y6
	VPSUBW Y6, Y2, Y2          // (q-16)·a pairs, exact
	VPMADDWD Y10, Y2, Y2
	VCVTDQ2PS Y2, Y2
	VFMADD231PS Y2, Y1, Y0
	ADDQ $22, SI
	ADDQ $34, DI
	DECQ CX
	JNZ q5loop

q5done:
	HSUM
	VMOVSS X0, ret+56(FP)
	VZEROUPPER
	RET

// func dotIQ4_NLAVX2(n int, w, a []byte) float32
//
// as dotIQ4_NL, bit for bit: the levels looked up (VPSHUFB) and widened to
// int16 with the activations, products summed in int32 quads, then the
// eight fused multiply-adds per block of dotQ8_0AVX2.
TEXT ·dotIQ4_NLAVX2(SB), NOSPLIT, $0-60
	MOVQ n+0(FP), CX
	SHRQ $5, CX
	MOVQ w_base+8(FP), SI
	MOVQ a_base+32(FP), DI
	VXORPS Y0, Y0, Y0
	VMOVDQU nibbleMask<>(SB), X8
	VMOVDQU iq4nlS<>(SB), X9
	TESTQ CX, CX
	JZ iq4done

iq4loop:
	BLOCKSCALE(SI, DI, Y1)
	VMOVDQU 2(SI), X2
	VPSRLW $4, X2, X3
	VPAND X8, X2, X2
	VPAND X8, X3, X3
	VPSHUFB X2, X9, X2
	VPSHUFB X3, X9, X3
	VPMOVSXBW X2, Y2
	VPMOVSXBW X3, Y3
	VPMOVSXBW 2(DI), Y4
	VPMOVSXBW 18(DI), Y5
	VPMADDWD Y4, Y2, Y2
	VPMADDWD Y5, Y3, Y3
	VPHADDD Y3, Y2, Y2
	VPERMQ $0xd8, Y2, Y2
	VCVTDQ2PS Y2, Y2
	VFMADD231PS Y2, Y1, Y0
	ADDQ $18, SI
	ADDQ $34, DI
	DECQ CX
	JNZ iq4loop

iq4done:
	HSUM
	VMOVSS X0, ret+56(FP)
	VZEROUPPER
	RET
