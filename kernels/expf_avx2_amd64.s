//go:build !purego

#include "textflag.h"

// AVX2 versions of the AVX-512 SwiGLU and softmax exponentials
// (ggml_amd64.s): ggml's vector expf with the same fused multiply-adds,
// eight lanes at a time, bit-identical to the generic Expf. AVX2 has no
// VSCALEFPS (j·2^n with one rounding); EXPF gets the same result with two
// multiplications by powers of two, the first exact: j·2^a, a = 100 for
// n > 127, -100 for n < -126, else 0, then times 2^(n-a), a normal
// float32, which rounds once (to a subnormal, or to infinity, as
// VSCALEFPS would).

DATA ex2C<>+0(SB)/4, $0x4b400000  // 0x1.8p23
DATA ex2C<>+4(SB)/4, $0x3fb8aa3b  // 0x1.715476p+0
DATA ex2C<>+8(SB)/4, $0x3f317200  // 0x1.62e4p-1
DATA ex2C<>+12(SB)/4, $0x35bfbe8e // 0x1.7f7d1cp-20
DATA ex2C<>+16(SB)/4, $0x3c072010 // 0x1.0e4020p-7
DATA ex2C<>+20(SB)/4, $0x3d2b9f17 // 0x1.573e2ep-5
DATA ex2C<>+24(SB)/4, $0x3e2aaf33 // 0x1.555e66p-3
DATA ex2C<>+28(SB)/4, $0x3efffedb // 0x1.fffdb6p-2
DATA ex2C<>+32(SB)/4, $0x3f7ffff6 // 0x1.ffffecp-1
DATA ex2C<>+36(SB)/4, $0x3f800000 // 1
DATA ex2C<>+40(SB)/4, $0x43400000 // 192
DATA ex2C<>+44(SB)/4, $0x7f800000 // +Inf
DATA ex2C<>+48(SB)/4, $0x7fffffff // abs mask
DATA ex2C<>+52(SB)/4, $0x42fe0000 // 127
DATA ex2C<>+56(SB)/4, $0xc2fc0000 // -126
DATA ex2C<>+60(SB)/4, $0x42c80000 // 100
DATA ex2C<>+64(SB)/4, $0x71800000 // 2^100
DATA ex2C<>+68(SB)/4, $0x0d800000 // 2^-100
DATA ex2C<>+72(SB)/4, $0x0000007f // 127 (int32)
GLOBL ex2C<>(SB), RODATA|NOPTR, $76

// EXPCONSTS loads the constants used in every lane group: Y15 r, Y14
// log2e, Y13 c1, Y12 c2, Y11 1, Y10 0.
#define EXPCONSTS \
	VBROADCASTSS ex2C<>+0(SB), Y15 \
	VBROADCASTSS ex2C<>+4(SB), Y14 \
	VBROADCASTSS ex2C<>+8(SB), Y13 \
	VBROADCASTSS ex2C<>+12(SB), Y12 \
	VBROADCASTSS ex2C<>+36(SB), Y11 \
	VXORPS Y10, Y10, Y10

// EXPF sets Y9 = Expf(Y1), clobbering Y2..Y8: z = fma(x, log2e, r), n =
// z - r, b = fma(-n, c2, fma(-n, c1, x)), u = b·b, j = fma(fma(fma(c3,
// b, c4), u, fma(c5, b, c6)), u, fma(c7, b, 1)); e = j·2^n (scaled as
// above); e = 0 or +Inf where |n| > 192 (or n is NaN), by the sign of n.
#define EXPF \
	VMOVAPS Y15, Y2 \
	VFMADD231PS Y14, Y1, Y2 \
	VSUBPS Y15, Y2, Y3 \
	VMOVAPS Y1, Y4 \
	VFNMADD231PS Y13, Y3, Y4 \
	VFNMADD231PS Y12, Y3, Y4 \
	VMULPS Y4, Y4, Y5 \
	VBROADCASTSS ex2C<>+20(SB), Y6 \
	VBROADCASTSS ex2C<>+16(SB), Y7 \
	VFMADD231PS Y7, Y4, Y6 \
	VBROADCASTSS ex2C<>+28(SB), Y7 \
	VBROADCASTSS ex2C<>+24(SB), Y8 \
	VFMADD231PS Y8, Y4, Y7 \
	VBROADCASTSS ex2C<>+32(SB), Y8 \
	VMOVAPS Y11, Y9 \
	VFMADD231PS Y8, Y4, Y9 \
	VFMADD231PS Y6, Y5, Y7 \
	VFMADD231PS Y7, Y5, Y9 \
	VBROADCASTSS ex2C<>+52(SB), Y4 \
	VCMPPS $0x1e, Y4, Y3, Y4 \
	VBROADCASTSS ex2C<>+56(SB), Y5 \
	VCMPPS $0x11, Y5, Y3, Y5 \
	VBROADCASTSS ex2C<>+60(SB), Y6 \
	VANDPS Y6, Y4, Y7 \
	VANDPS Y6, Y5, Y8 \
	VSUBPS Y8, Y7, Y7 \
	VBROADCASTSS ex2C<>+64(SB), Y6 \
	VBLENDVPS Y4, Y6, Y11, Y2 \
	VBROADCASTSS ex2C<>+68(SB), Y6 \
	VBLENDVPS Y5, Y6, Y2, Y2 \
	VMULPS Y2, Y9, Y9 \
	VSUBPS Y7, Y3, Y7 \
	VCVTPS2DQ Y7, Y7 \
	VPBROADCASTD ex2C<>+72(SB), Y6 \
	VPADDD Y6, Y7, Y7 \
	VPSLLD $23, Y7, Y7 \
	VMULPS Y7, Y9, Y9 \
	VBROADCASTSS ex2C<>+48(SB), Y6 \
	VANDPS Y6, Y3, Y4 \
	VBROADCASTSS ex2C<>+40(SB), Y6 \
	VCMPPS $0x1e, Y6, Y4, Y4 \
	VCMPPS $3, Y3, Y3, Y5 \
	VORPS Y5, Y4, Y4 \
	VCMPPS $0x12, Y10, Y3, Y5 \
	VBROADCASTSS ex2C<>+44(SB), Y6 \
	VBLENDVPS Y5, Y10, Y6, Y6 \
	VBLENDVPS Y4, Y6, Y9, Y9

// func swigluAVX2(dst, gate, up *float32, n8 int)
//
// dst[i] = gate[i] / (1 + Expf(0-gate[i])) * up[i] for i < n8 (a multiple
// of 8), as swigluGeneric does for its first multiple of 16.
TEXT ·swigluAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ up+16(FP), DX
	MOVQ n8+24(FP), CX
	SHRQ $3, CX
	JZ   sw2done
	EXPCONSTS

sw2loop:
	VMOVUPS (SI), Y0
	VSUBPS Y0, Y10, Y1
	EXPF
	VADDPS Y11, Y9, Y9
	VDIVPS Y9, Y0, Y9
	VMULPS (DX), Y9, Y9
	VMOVUPS Y9, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ  sw2loop

sw2done:
	VZEROUPPER
	RET

// func softmaxExpAVX2(x *float32, n16 int, mx float32) float64
//
// softmaxExpAVX512 in two halves of eight lanes: x = Expf(x - mx) and the
// float64 sum of each group of sixteen's float32 sum, taken in the order of
// reduce16 (halves, quarters, pairs), group after group (the sum kept at
// 0(SP): EXPF needs every other register).
TEXT ·softmaxExpAVX2(SB), NOSPLIT, $8-32
	MOVQ x+0(FP), SI
	MOVQ n16+8(FP), CX
	MOVQ $0, 0(SP)
	SHRQ $4, CX
	JZ   sm2done
	EXPCONSTS

sm2loop:
	VBROADCASTSS mx+16(FP), Y0
	VMOVUPS (SI), Y1
	VSUBPS Y0, Y1, Y1
	EXPF
	VMOVUPS Y9, (SI)
	VMOVAPS Y9, Y0
	VBROADCASTSS mx+16(FP), Y1
	VMOVUPS 32(SI), Y2
	VSUBPS Y1, Y2, Y1
	EXPF
	VMOVUPS Y9, 32(SI)
	VADDPS Y9, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VCVTSS2SD X0, X0, X0
	VADDSD 0(SP), X0, X0
	VMOVSD X0, 0(SP)
	ADDQ $64, SI
	DECQ CX
	JNZ  sm2loop

sm2done:
	MOVQ 0(SP), AX
	MOVQ AX, ret+24(FP)
	VZEROUPPER
	RET
