//go:build !purego

#include "textflag.h"

// AVX-512 versions of the ggml float routines of ggml.go and vec.go, with
// the same operations in the same order (VFMADD231PS is the fma32 of the
// generic code, VSCALEFPS its exact scaling), so bit-identical to them.

// REDUCE16 sums the sixteen lanes of Z0 as _mm512_reduce_add_ps (reduce16)
// into X0 (clobbers Y1).
#define REDUCE16 \
	VEXTRACTF64X4 $1, Z0, Y1 \
	VADDPS Y1, Y0, Y0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X1, X0, X0 \
	VMOVHLPS X0, X0, X1 \
	VADDPS X1, X0, X0 \
	VMOVSHDUP X0, X1 \
	VADDSS X1, X0, X0

// func attnDotAVX512(q, k []float32) float32
TEXT ·attnDotAVX512(SB), NOSPLIT, $0-52
	MOVQ q_base+0(FP), SI
	MOVQ q_len+8(FP), CX
	MOVQ k_base+24(FP), DI
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	MOVQ CX, DX
	SHRQ $6, DX
	JZ   adreduce

adloop:
	VMOVUPS (SI), Z4
	VMOVUPS 64(SI), Z5
	VMOVUPS 128(SI), Z6
	VMOVUPS 192(SI), Z7
	VFMADD231PS (DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	VFMADD231PS 128(DI), Z6, Z2
	VFMADD231PS 192(DI), Z7, Z3
	ADDQ $256, SI
	ADDQ $256, DI
	DECQ DX
	JNZ  adloop

adreduce:
	VADDPS Z2, Z0, Z0
	VADDPS Z3, Z1, Z1
	VADDPS Z1, Z0, Z0
	REDUCE16
	ANDQ $63, CX
	JZ   addone

adtail:
	VMOVSS (SI), X2
	VFMADD231SS (DI), X2, X0
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JNZ  adtail

addone:
	VMOVSS X0, ret+48(FP)
	VZEROUPPER
	RET

// func attnValuesAVX512(out *float32, p []float32, v *float32, stride, chunks int)
//
// For each chunk c of 16 output values d = 16c..16c+15: sixteen
// accumulators (one per t mod 16) of sixteen lanes (one per d) take
// fma(p[t], v[t*stride+d], acc[t mod 16]); out[d] is their sum in the order
// of reduce16. The accumulators of the last len(p) mod 16 rows live on the
// stack.
TEXT ·attnValuesAVX512(SB), 0, $1024-56
	MOVQ out+0(FP), R11
	MOVQ p_base+8(FP), R12
	MOVQ p_len+16(FP), R13
	MOVQ v+32(FP), R10
	MOVQ stride+40(FP), R9
	SHLQ $2, R9
	MOVQ chunks+48(FP), BX

avchunk:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	MOVQ R12, SI
	MOVQ R10, DI
	MOVQ R13, DX
	SHRQ $4, DX
	JZ   avtail

#define AVSTEP(off, acc) \
	VBROADCASTSS off(SI), Z16 \
	VFMADD231PS (DI), Z16, acc \
	ADDQ R9, DI

avloop:
	AVSTEP(0, Z0)
	AVSTEP(4, Z1)
	AVSTEP(8, Z2)
	AVSTEP(12, Z3)
	AVSTEP(16, Z4)
	AVSTEP(20, Z5)
	AVSTEP(24, Z6)
	AVSTEP(28, Z7)
	AVSTEP(32, Z8)
	AVSTEP(36, Z9)
	AVSTEP(40, Z10)
	AVSTEP(44, Z11)
	AVSTEP(48, Z12)
	AVSTEP(52, Z13)
	AVSTEP(56, Z14)
	AVSTEP(60, Z15)
	ADDQ $64, SI
	DECQ DX
	JNZ  avloop

avtail:
	MOVQ R13, DX
	ANDQ $15, DX
	JZ   avreduce
	VMOVUPS Z0, 0(SP)
	VMOVUPS Z1, 64(SP)
	VMOVUPS Z2, 128(SP)
	VMOVUPS Z3, 192(SP)
	VMOVUPS Z4, 256(SP)
	VMOVUPS Z5, 320(SP)
	VMOVUPS Z6, 384(SP)
	VMOVUPS Z7, 448(SP)
	VMOVUPS Z8, 512(SP)
	VMOVUPS Z9, 576(SP)
	VMOVUPS Z10, 640(SP)
	VMOVUPS Z11, 704(SP)
	VMOVUPS Z12, 768(SP)
	VMOVUPS Z13, 832(SP)
	VMOVUPS Z14, 896(SP)
	MOVQ SP, AX

avtailloop:
	VBROADCASTSS (SI), Z16
	VMOVUPS (AX), Z17
	VFMADD231PS (DI), Z16, Z17
	VMOVUPS Z17, (AX)
	ADDQ $4, SI
	ADDQ R9, DI
	ADDQ $64, AX
	DECQ DX
	JNZ  avtailloop
	VMOVUPS 0(SP), Z0
	VMOVUPS 64(SP), Z1
	VMOVUPS 128(SP), Z2
	VMOVUPS 192(SP), Z3
	VMOVUPS 256(SP), Z4
	VMOVUPS 320(SP), Z5
	VMOVUPS 384(SP), Z6
	VMOVUPS 448(SP), Z7
	VMOVUPS 512(SP), Z8
	VMOVUPS 576(SP), Z9
	VMOVUPS 640(SP), Z10
	VMOVUPS 704(SP), Z11
	VMOVUPS 768(SP), Z12
	VMOVUPS 832(SP), Z13
	VMOVUPS 896(SP), Z14

avreduce:
	VADDPS Z8, Z0, Z0
	VADDPS Z9, Z1, Z1
	VADDPS Z10, Z2, Z2
	VADDPS Z11, Z3, Z3
	VADDPS Z12, Z4, Z4
	VADDPS Z13, Z5, Z5
	VADDPS Z14, Z6, Z6
	VADDPS Z15, Z7, Z7
	VADDPS Z4, Z0, Z0
	VADDPS Z5, Z1, Z1
	VADDPS Z6, Z2, Z2
	VADDPS Z7, Z3, Z3
	VADDPS Z2, Z0, Z0
	VADDPS Z3, Z1, Z1
	VADDPS Z1, Z0, Z0
	VMOVUPS Z0, (R11)
	ADDQ $64, R11
	ADDQ $64, R10
	DECQ BX
	JNZ  avchunk
	VZEROUPPER
	RET

DATA expC<>+0(SB)/4, $0x4b400000  // 0x1.8p23
DATA expC<>+4(SB)/4, $0x3fb8aa3b  // 0x1.715476p+0
DATA expC<>+8(SB)/4, $0x3f317200  // 0x1.62e4p-1
DATA expC<>+12(SB)/4, $0x35bfbe8e // 0x1.7f7d1cp-20
DATA expC<>+16(SB)/4, $0x3c072010 // 0x1.0e4020p-7
DATA expC<>+20(SB)/4, $0x3d2b9f17 // 0x1.573e2ep-5
DATA expC<>+24(SB)/4, $0x3e2aaf33 // 0x1.555e66p-3
DATA expC<>+28(SB)/4, $0x3efffedb // 0x1.fffdb6p-2
DATA expC<>+32(SB)/4, $0x3f7ffff6 // 0x1.ffffecp-1
DATA expC<>+36(SB)/4, $0x3f800000 // 1
DATA expC<>+40(SB)/4, $0x43400000 // 192
DATA expC<>+44(SB)/4, $0x7f800000 // +Inf
DATA expC<>+48(SB)/4, $0x7fffffff // abs mask
GLOBL expC<>(SB), RODATA|NOPTR, $52

// func swigluAVX512(dst, gate, up *float32, n16 int)
//
// dst[i] = gate[i] / (1 + Expf(0-gate[i])) * up[i] for i < n16 (a multiple
// of 16), Expf being ggml's vector expf exactly as the generic Expf.
TEXT ·swigluAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ up+16(FP), DX
	MOVQ n16+24(FP), CX
	SHRQ $4, CX
	JZ   swdone
	VBROADCASTSS expC<>+0(SB), Z20
	VBROADCASTSS expC<>+4(SB), Z21
	VBROADCASTSS expC<>+8(SB), Z22
	VBROADCASTSS expC<>+12(SB), Z23
	VBROADCASTSS expC<>+16(SB), Z24
	VBROADCASTSS expC<>+20(SB), Z25
	VBROADCASTSS expC<>+24(SB), Z26
	VBROADCASTSS expC<>+28(SB), Z27
	VBROADCASTSS expC<>+32(SB), Z28
	VBROADCASTSS expC<>+36(SB), Z29
	VBROADCASTSS expC<>+40(SB), Z30
	VBROADCASTSS expC<>+44(SB), Z31
	VBROADCASTSS expC<>+48(SB), Z19
	VPXORD Z18, Z18, Z18

swloop:
	VMOVUPS (SI), Z0          // g
	VSUBPS Z0, Z18, Z1        // x = 0 - g
	VMOVAPS Z20, Z2
	VFMADD231PS Z21, Z1, Z2   // z = fma(x, log2e, r)
	VSUBPS Z20, Z2, Z3        // n = z - r
	VMOVAPS Z1, Z4
	VFNMADD231PS Z22, Z3, Z4  // fma(-n, c1, x)
	VFNMADD231PS Z23, Z3, Z4  // b = fma(-n, c2, .)
	VMULPS Z4, Z4, Z5         // u = b*b
	VMOVAPS Z25, Z6
	VFMADD231PS Z24, Z4, Z6   // A = fma(c3, b, c4)
	VMOVAPS Z27, Z7
	VFMADD231PS Z26, Z4, Z7   // B = fma(c5, b, c6)
	VMOVAPS Z29, Z8
	VFMADD231PS Z28, Z4, Z8   // D = fma(c7, b, 1)
	VFMADD231PS Z6, Z5, Z7    // E = fma(A, u, B)
	VFMADD231PS Z7, Z5, Z8    // j = fma(E, u, D)
	VSCALEFPS Z3, Z8, Z9      // j * 2^n, one rounding
	VANDPS Z19, Z3, Z10
	VCMPPS $6, Z30, Z10, K1   // |n| > 192 or NaN
	VCMPPS $2, Z18, Z3, K2    // n <= 0
	VMOVAPS Z31, Z11
	VMOVAPS Z18, K2, Z11
	VMOVAPS Z11, K1, Z9       // e
	VADDPS Z29, Z9, Z9        // 1 + e
	VDIVPS Z9, Z0, Z9         // g / (1+e)
	VMULPS (DX), Z9, Z9
	VMOVUPS Z9, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	DECQ CX
	JNZ  swloop

swdone:
	VZEROUPPER
	RET

// func softmaxExpAVX512(x *float32, n16 int, mx float32) float64
//
// For each group of 16 values (n16 a multiple of 16): x = Expf(x - mx)
// (ggml's vector expf, as Expf), and the float64 sum of the groups' float32
// sums taken in the order of reduce16, group after group.
TEXT ·softmaxExpAVX512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n16+8(FP), CX
	VBROADCASTSS mx+16(FP), Z17
	VXORPD X12, X12, X12
	SHRQ $4, CX
	JZ   smdone
	VBROADCASTSS expC<>+0(SB), Z20
	VBROADCASTSS expC<>+4(SB), Z21
	VBROADCASTSS expC<>+8(SB), Z22
	VBROADCASTSS expC<>+12(SB), Z23
	VBROADCASTSS expC<>+16(SB), Z24
	VBROADCASTSS expC<>+20(SB), Z25
	VBROADCASTSS expC<>+24(SB), Z26
	VBROADCASTSS expC<>+28(SB), Z27
	VBROADCASTSS expC<>+32(SB), Z28
	VBROADCASTSS expC<>+36(SB), Z29
	VBROADCASTSS expC<>+40(SB), Z30
	VBROADCASTSS expC<>+44(SB), Z31
	VBROADCASTSS expC<>+48(SB), Z19
	VPXORD Z18, Z18, Z18

smloop:
	VMOVUPS (SI), Z0
	VSUBPS Z17, Z0, Z1        // x - mx
	VMOVAPS Z20, Z2
	VFMADD231PS Z21, Z1, Z2   // z = fma(x, log2e, r)
	VSUBPS Z20, Z2, Z3        // n = z - r
	VMOVAPS Z1, Z4
	VFNMADD231PS Z22, Z3, Z4  // fma(-n, c1, x)
	VFNMADD231PS Z23, Z3, Z4  // b = fma(-n, c2, .)
	VMULPS Z4, Z4, Z5         // u = b*b
	VMOVAPS Z25, Z6
	VFMADD231PS Z24, Z4, Z6   // A = fma(c3, b, c4)
	VMOVAPS Z27, Z7
	VFMADD231PS Z26, Z4, Z7   // B = fma(c5, b, c6)
	VMOVAPS Z29, Z8
	VFMADD231PS Z28, Z4, Z8   // D = fma(c7, b, 1)
	VFMADD231PS Z6, Z5, Z7    // E = fma(A, u, B)
	VFMADD231PS Z7, Z5, Z8    // j = fma(E, u, D)
	VSCALEFPS Z3, Z8, Z9      // j * 2^n, one rounding
	VANDPS Z19, Z3, Z10
	VCMPPS $6, Z30, Z10, K1   // |n| > 192 or NaN
	VCMPPS $2, Z18, Z3, K2    // n <= 0
	VMOVAPS Z31, Z11
	VMOVAPS Z18, K2, Z11
	VMOVAPS Z11, K1, Z9       // e
	VMOVUPS Z9, (SI)
	VMOVAPS Z9, Z0
	REDUCE16
	VCVTSS2SD X0, X0, X0
	VADDSD X0, X12, X12
	ADDQ $64, SI
	DECQ CX
	JNZ  smloop

smdone:
	VMOVSD X12, ret+24(FP)
	VZEROUPPER
	RET

// func attnDotAVX2(q, k []float32) float32
//
// attnDotGeneric with the sixteen lanes of each accumulator in two YMM
// registers (lanes 0..7 and 8..15): the same fused multiply-adds.
TEXT ·attnDotAVX2(SB), NOSPLIT, $0-52
	MOVQ q_base+0(FP), SI
	MOVQ q_len+8(FP), CX
	MOVQ k_base+24(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ CX, DX
	SHRQ $6, DX
	JZ   ad2reduce

ad2loop:
	VMOVUPS (SI), Y8
	VMOVUPS 32(SI), Y9
	VMOVUPS 64(SI), Y10
	VMOVUPS 96(SI), Y11
	VFMADD231PS (DI), Y8, Y0
	VFMADD231PS 32(DI), Y9, Y1
	VFMADD231PS 64(DI), Y10, Y2
	VFMADD231PS 96(DI), Y11, Y3
	VMOVUPS 128(SI), Y8
	VMOVUPS 160(SI), Y9
	VMOVUPS 192(SI), Y10
	VMOVUPS 224(SI), Y11
	VFMADD231PS 128(DI), Y8, Y4
	VFMADD231PS 160(DI), Y9, Y5
	VFMADD231PS 192(DI), Y10, Y6
	VFMADD231PS 224(DI), Y11, Y7
	ADDQ $256, SI
	ADDQ $256, DI
	DECQ DX
	JNZ  ad2loop

ad2reduce:
	// acc0 += acc2, acc1 += acc3, acc0 += acc1 (each two YMM: lo, hi)
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y1, Y1
	// reduce16: lanes i + i+8, then as REDUCE16
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	ANDQ $63, CX
	JZ   ad2done

ad2tail:
	VMOVSS (SI), X2
	VFMADD231SS (DI), X2, X0
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JNZ  ad2tail

ad2done:
	VMOVSS X0, ret+48(FP)
	VZEROUPPER
	RET

// func attnValuesAVX2(out *float32, p []float32, v *float32, stride, chunks int)
//
// attnValuesAVX512 for 8 output values per chunk: the sixteen accumulators
// (t mod 16) of eight lanes live on the stack.
TEXT ·attnValuesAVX2(SB), 0, $512-56
	MOVQ out+0(FP), R11
	MOVQ p_base+8(FP), R12
	MOVQ p_len+16(FP), R13
	MOVQ v+32(FP), R10
	MOVQ stride+40(FP), R9
	SHLQ $2, R9
	MOVQ chunks+48(FP), BX

av2chunk:
	VXORPS Y0, Y0, Y0
	MOVQ $0, AX

av2zero:
	VMOVUPS Y0, (SP)(AX*1)
	ADDQ $32, AX
	CMPQ AX, $512
	JLT  av2zero
	MOVQ R12, SI
	MOVQ R10, DI
	MOVQ R13, DX
	XORQ AX, AX
	TESTQ DX, DX
	JZ   av2reduce

av2loop:
	VBROADCASTSS (SI), Y0
	VMOVUPS (SP)(AX*1), Y1
	VFMADD231PS (DI), Y0, Y1
	VMOVUPS Y1, (SP)(AX*1)
	ADDQ $4, SI
	ADDQ R9, DI
	ADDQ $32, AX
	ANDQ $511, AX
	DECQ DX
	JNZ  av2loop

av2reduce:
	VMOVUPS 0(SP), Y0
	VMOVUPS 32(SP), Y1
	VMOVUPS 64(SP), Y2
	VMOVUPS 96(SP), Y3
	VMOVUPS 128(SP), Y4
	VMOVUPS 160(SP), Y5
	VMOVUPS 192(SP), Y6
	VMOVUPS 224(SP), Y7
	VADDPS 256(SP), Y0, Y0
	VADDPS 288(SP), Y1, Y1
	VADDPS 320(SP), Y2, Y2
	VADDPS 352(SP), Y3, Y3
	VADDPS 384(SP), Y4, Y4
	VADDPS 416(SP), Y5, Y5
	VADDPS 448(SP), Y6, Y6
	VADDPS 480(SP), Y7, Y7
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y1, Y1
	VADDPS Y1, Y0, Y0
	VMOVUPS Y0, (R11)
	ADDQ $32, R11
	ADDQ $32, R10
	DECQ BX
	JNZ  av2chunk
	VZEROUPPER
	RET

// func attnDotF16AVX2(q []float32, k []uint16) float32
//
// attnDotAVX2 with each eight values of k converted from float16 (exactly)
// by VCVTPH2PS: the same accumulators, order and reduction.
TEXT ·attnDotF16AVX2(SB), NOSPLIT, $0-52
	MOVQ q_base+0(FP), SI
	MOVQ q_len+8(FP), CX
	MOVQ k_base+24(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ CX, DX
	SHRQ $6, DX
	JZ   adh2reduce

adh2loop:
	VCVTPH2PS (DI), Y8
	VCVTPH2PS 16(DI), Y9
	VCVTPH2PS 32(DI), Y10
	VCVTPH2PS 48(DI), Y11
	VFMADD231PS (SI), Y8, Y0
	VFMADD231PS 32(SI), Y9, Y1
	VFMADD231PS 64(SI), Y10, Y2
	VFMADD231PS 96(SI), Y11, Y3
	VCVTPH2PS 64(DI), Y8
	VCVTPH2PS 80(DI), Y9
	VCVTPH2PS 96(DI), Y10
	VCVTPH2PS 112(DI), Y11
	VFMADD231PS 128(SI), Y8, Y4
	VFMADD231PS 160(SI), Y9, Y5
	VFMADD231PS 192(SI), Y10, Y6
	VFMADD231PS 224(SI), Y11, Y7
	ADDQ $256, SI
	ADDQ $128, DI
	DECQ DX
	JNZ  adh2loop

adh2reduce:
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y1, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	ANDQ $63, CX
	JZ   adh2done

adh2tail:
	MOVWLZX (DI), AX
	MOVQ AX, X3
	VCVTPH2PS X3, X3
	VMOVSS (SI), X2
	VFMADD231SS X3, X2, X0
	ADDQ $4, SI
	ADDQ $2, DI
	DECQ CX
	JNZ  adh2tail

adh2done:
	VMOVSS X0, ret+48(FP)
	VZEROUPPER
	RET

