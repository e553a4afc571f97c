//go:build !purego

#include "textflag.h"
#include "neon_arm64.h"

// NEON versions of ggml's float routines (ggml.go), bit-identical to the
// generic ones: the same fused multiply-adds (FMLA, FMLS, FMADD), in the
// same order.

#define FSUB4S(d, n, m) WORD $(0x4ea0d400 | ((m)<<16) | ((n)<<5) | (d))     // fsub   vd.4s, vn.4s, vm.4s
#define FMLS4S(d, n, m) WORD $(0x4ea0cc00 | ((m)<<16) | ((n)<<5) | (d))     // fmls   vd.4s, vn.4s, vm.4s
#define FDIV4S(d, n, m) WORD $(0x6e20fc00 | ((m)<<16) | ((n)<<5) | (d))     // fdiv   vd.4s, vn.4s, vm.4s
#define FCVTZS4S(d, n) WORD $(0x4ea1b800 | ((n)<<5) | (d))                 // fcvtzs vd.4s, vn.4s
#define SXTL2D(d, n) WORD $(0x0f20a400 | ((n)<<5) | (d))                   // sxtl   vd.2d, vn.2s
#define SXTL22D(d, n) WORD $(0x4f20a400 | ((n)<<5) | (d))                  // sxtl2  vd.2d, vn.4s
#define ADD2D(d, n, m) WORD $(0x4ee08400 | ((m)<<16) | ((n)<<5) | (d))      // add    vd.2d, vn.2d, vm.2d
#define SHL2D52(d, n) WORD $(0x4f745400 | ((n)<<5) | (d))                  // shl    vd.2d, vn.2d, #52
#define FMUL2D(d, n, m) WORD $(0x6e60dc00 | ((m)<<16) | ((n)<<5) | (d))     // fmul   vd.2d, vn.2d, vm.2d
#define FCVTN2S(d, n) WORD $(0x0e616800 | ((n)<<5) | (d))                  // fcvtn  vd.2s, vn.2d
#define FCVTN24S(d, n) WORD $(0x4e616800 | ((n)<<5) | (d))                 // fcvtn2 vd.4s, vn.2d
#define FACGE4S(d, n, m) WORD $(0x6e20ec00 | ((m)<<16) | ((n)<<5) | (d))    // facge  vd.4s, vn.4s, vm.4s
#define FCMLEZ4S(d, n) WORD $(0x6ea0d800 | ((n)<<5) | (d))                 // fcmle  vd.4s, vn.4s, #0.0
#define BIC16B(d, n, m) WORD $(0x4e601c00 | ((m)<<16) | ((n)<<5) | (d))     // bic    vd.16b, vn.16b, vm.16b
#define BIF16B(d, n, m) WORD $(0x6ee01c00 | ((m)<<16) | ((n)<<5) | (d))     // bif    vd.16b, vn.16b, vm.16b
#define MOV16B(d, n) WORD $(0x4ea01c00 | ((n)<<16) | ((n)<<5) | (d))       // mov    vd.16b, vn.16b
#define FCVTDS(d, n) WORD $(0x1e22c000 | ((n)<<5) | (d))                   // fcvt   dd, sn

// The constants of Expf, each in four lanes (V16-V27), and the float64
// exponent bias (V28).
DATA expfConsts<>+0(SB)/8, $0x4b4000004b400000 // r = 0x1.8p23
DATA expfConsts<>+8(SB)/8, $0x4b4000004b400000
DATA expfConsts<>+16(SB)/8, $0x3fb8aa3b3fb8aa3b // log2(e) = 0x1.715476p+0
DATA expfConsts<>+24(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA expfConsts<>+32(SB)/8, $0x3f3172003f317200 // ln2 high = 0x1.62e4p-1
DATA expfConsts<>+40(SB)/8, $0x3f3172003f317200
DATA expfConsts<>+48(SB)/8, $0x35bfbe8e35bfbe8e // ln2 low = 0x1.7f7d1cp-20
DATA expfConsts<>+56(SB)/8, $0x35bfbe8e35bfbe8e
DATA expfConsts<>+64(SB)/8, $0x3c0720103c072010 // 0x1.0e4020p-7
DATA expfConsts<>+72(SB)/8, $0x3c0720103c072010
DATA expfConsts<>+80(SB)/8, $0x3d2b9f173d2b9f17 // 0x1.573e2ep-5
DATA expfConsts<>+88(SB)/8, $0x3d2b9f173d2b9f17
DATA expfConsts<>+96(SB)/8, $0x3e2aaf333e2aaf33 // 0x1.555e66p-3
DATA expfConsts<>+104(SB)/8, $0x3e2aaf333e2aaf33
DATA expfConsts<>+112(SB)/8, $0x3efffedb3efffedb // 0x1.fffdb6p-2
DATA expfConsts<>+120(SB)/8, $0x3efffedb3efffedb
DATA expfConsts<>+128(SB)/8, $0x3f7ffff63f7ffff6 // 0x1.ffffecp-1
DATA expfConsts<>+136(SB)/8, $0x3f7ffff63f7ffff6
DATA expfConsts<>+144(SB)/8, $0x3f8000003f800000 // 1
DATA expfConsts<>+152(SB)/8, $0x3f8000003f800000
DATA expfConsts<>+160(SB)/8, $0x4340000043400000 // 192
DATA expfConsts<>+168(SB)/8, $0x4340000043400000
DATA expfConsts<>+176(SB)/8, $0x7f8000007f800000 // +Inf
DATA expfConsts<>+184(SB)/8, $0x7f8000007f800000
DATA expfConsts<>+192(SB)/8, $1023 // the float64 exponent bias, two int64 lanes
DATA expfConsts<>+200(SB)/8, $1023
GLOBL expfConsts<>(SB), RODATA|NOPTR, $208

// EXPCONSTS loads expfConsts into V16-V28 (clobbers R9).
#define EXPCONSTS \
	MOVD $expfConsts<>(SB), R9 \
	VLD1.P 64(R9), [V16.S4, V17.S4, V18.S4, V19.S4] \
	VLD1.P 64(R9), [V20.S4, V21.S4, V22.S4, V23.S4] \
	VLD1.P 64(R9), [V24.S4, V25.S4, V26.S4, V27.S4] \
	VLD1   (R9), [V28.D2]

// EXPF4 sets Vout to Expf of the four lanes of Vx (out may be x), as
// ggml.go's Expf: z = fma(x, log2e, r), n = z-r, b = fma(-n, ln2lo,
// fma(-n, ln2hi, x)), u = b·b, j = fma(fma(fma(c0, b, c1), u, fma(c2, b,
// c3)), u, fma(c4, b, 1)); the result j·2^n rounded once (float64 product,
// then one rounding to float32, as Ldexp then float32), or where |n| > 192
// or n is NaN, 0 for n <= 0 and +Inf otherwise. Clobbers V8-V15.
#define EXPF4(x, out) \
	MOV16B(8, 16) \
	FMLA4S(8, x, 17) \
	FSUB4S(8, 8, 16) \
	MOV16B(9, x) \
	FMLS4S(9, 8, 18) \
	FMLS4S(9, 8, 19) \
	FMUL4S(10, 9, 9) \
	MOV16B(11, 21) \
	FMLA4S(11, 20, 9) \
	MOV16B(12, 23) \
	FMLA4S(12, 22, 9) \
	MOV16B(13, 25) \
	FMLA4S(13, 24, 9) \
	FMLA4S(12, 11, 10) \
	FMLA4S(13, 12, 10) \
	FCVTZS4S(14, 8) \
	SXTL2D(15, 14) \
	SXTL22D(14, 14) \
	ADD2D(15, 15, 28) \
	ADD2D(14, 14, 28) \
	SHL2D52(15, 15) \
	SHL2D52(14, 14) \
	FCVTL2D(11, 13) \
	FCVTL22D(12, 13) \
	FMUL2D(11, 11, 15) \
	FMUL2D(12, 12, 14) \
	FACGE4S(9, 26, 8) \
	FCMLEZ4S(10, 8) \
	BIC16B(10, 27, 10) \
	FCVTN2S(out, 11) \
	FCVTN24S(out, 12) \
	BIF16B(out, 10, 9)

// REDUCE16 sets Fd (d: the first of four registers) to reduce16 of the
// sixteen lanes V(d)..V(d+3): (l_i + l_{i+8}), then halves, then pairs.
// Clobbers V(d)..V(d+3).
#define REDUCE16(d0, d1, d2, d3) \
	FADD4S(d0, d0, d2) \
	FADD4S(d1, d1, d3) \
	FADD4S(d0, d0, d1) \
	EXT16B(d1, d0, d0, 8) \
	FADD4S(d0, d0, d1) \
	FADDP2S(d0, d0)

// func swigluNEON(dst, gate, up *float32, n4 int)
//
// dst[i] = g/(1+Expf(0-g))·up[i], g = gate[i], for i < 4·n4.
TEXT ·swigluNEON(SB), NOSPLIT, $0-32
	MOVD dst+0(FP), R0
	MOVD gate+8(FP), R1
	MOVD up+16(FP), R2
	MOVD n4+24(FP), R3
	EXPCONSTS
	VEOR V7.B16, V7.B16, V7.B16
	CBZ  R3, swdone

swloop:
	VLD1.P 16(R1), [V0.S4]
	VLD1.P 16(R2), [V3.S4]
	FSUB4S(1, 7, 0)
	EXPF4(1, 2)
	FADD4S(2, 25, 2)
	FDIV4S(2, 0, 2)
	FMUL4S(2, 2, 3)
	VST1.P [V2.S4], 16(R0)
	SUB    $1, R3
	CBNZ   R3, swloop

swdone:
	RET

// func softmaxExpNEON(x *float32, n16 int, mx float32) float64
//
// softmaxExpGeneric on x[:n16]: each group of sixteen replaced by
// Expf(x-mx), its reduce16 added to a float64 sum.
TEXT ·softmaxExpNEON(SB), NOSPLIT, $0-32
	MOVD  x+0(FP), R0
	MOVD  n16+8(FP), R1
	FMOVS mx+16(FP), F6
	VDUP  V6.S[0], V6.S4
	EXPCONSTS
	LSR   $4, R1, R1
	VEOR  V5.B16, V5.B16, V5.B16
	CBZ   R1, smdone

smloop:
	VLD1   (R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	FSUB4S(0, 0, 6)
	FSUB4S(1, 1, 6)
	FSUB4S(2, 2, 6)
	FSUB4S(3, 3, 6)
	EXPF4(0, 0)
	EXPF4(1, 1)
	EXPF4(2, 2)
	EXPF4(3, 3)
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R0)
	REDUCE16(0, 1, 2, 3)
	FCVTDS(0, 0)
	FADDD  F0, F5, F5
	SUB    $1, R1
	CBNZ   R1, smloop

smdone:
	FMOVD F5, ret+24(FP)
	RET

// func attnDotNEON(q, k []float32) float32
//
// attnDotGeneric (len(k) >= len(q)): the four sixteen-lane accumulators
// of ggml_vec_dot_f32 in V0-V15 (acc[j][l] in V(4j+l/4) lane l%4) over
// the multiple of 64, reduced as it does, then the rest one FMADD at a
// time.
TEXT ·attnDotNEON(SB), NOSPLIT, $0-52
	MOVD q_base+0(FP), R0
	MOVD q_len+8(FP), R2
	MOVD k_base+24(FP), R1
	LSR  $6, R2, R3
	AND  $63, R2, R2
	VEOR V0.B16, V0.B16, V0.B16
	CBZ  R3, adtail
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

adloop:
	VLD1.P 64(R0), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1.P 64(R1), [V20.S4, V21.S4, V22.S4, V23.S4]
	VLD1.P 64(R0), [V24.S4, V25.S4, V26.S4, V27.S4]
	VLD1.P 64(R1), [V28.S4, V29.S4, V30.S4, V31.S4]
	FMLA4S(0, 16, 20)
	FMLA4S(1, 17, 21)
	FMLA4S(2, 18, 22)
	FMLA4S(3, 19, 23)
	FMLA4S(4, 24, 28)
	FMLA4S(5, 25, 29)
	FMLA4S(6, 26, 30)
	FMLA4S(7, 27, 31)
	VLD1.P 64(R0), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1.P 64(R1), [V20.S4, V21.S4, V22.S4, V23.S4]
	VLD1.P 64(R0), [V24.S4, V25.S4, V26.S4, V27.S4]
	VLD1.P 64(R1), [V28.S4, V29.S4, V30.S4, V31.S4]
	FMLA4S(8, 16, 20)
	FMLA4S(9, 17, 21)
	FMLA4S(10, 18, 22)
	FMLA4S(11, 19, 23)
	FMLA4S(12, 24, 28)
	FMLA4S(13, 25, 29)
	FMLA4S(14, 26, 30)
	FMLA4S(15, 27, 31)
	SUB    $1, R3
	CBNZ   R3, adloop

	// acc[0] += acc[2]; acc[1] += acc[3]; acc[0] += acc[1]; reduce16.
	FADD4S(0, 0, 8)
	FADD4S(1, 1, 9)
	FADD4S(2, 2, 10)
	FADD4S(3, 3, 11)
	FADD4S(4, 4, 12)
	FADD4S(5, 5, 13)
	FADD4S(6, 6, 14)
	FADD4S(7, 7, 15)
	FADD4S(0, 0, 4)
	FADD4S(1, 1, 5)
	FADD4S(2, 2, 6)
	FADD4S(3, 3, 7)
	REDUCE16(0, 1, 2, 3)

adtail:
	CBZ     R2, addone
	FMOVS.P 4(R0), F1
	FMOVS.P 4(R1), F2
	FMADDS  F2, F0, F1, F0
	SUB     $1, R2
	B       adtail

addone:
	FMOVS F0, ret+48(FP)
	RET

// AVSTEP adds p[t]·v[t·stride + d..d+3] to lanes V(m): the v row at
// (R4), advancing R4 by the stride (R3 bytes), p[t] in lane i of V16.
#define AVSTEP(m, i) \
	VLD1.P (R4)(R3), [V17.S4] \
	FMLAE4S(m, 17, 16, i)

// AVTAIL is one of the last len(p)%16 steps: it stops at avred when R6
// (the steps left) is zero.
#define AVTAIL(m) \
	CBZ     R6, avred \
	FMOVS.P 4(R5), F16 \
	AVSTEP(m, 0) \
	SUB     $1, R6

// func attnValuesNEON(out *float32, p []float32, v *float32, stride, chunks int)
//
// attnValuesGeneric for the 4·chunks values out[d], four at a time (lane
// d%4), the sixteen accumulators acc[t&15] in V0-V15, reduced as reduce16.
TEXT ·attnValuesNEON(SB), NOSPLIT, $0-56
	MOVD out+0(FP), R0
	MOVD p_base+8(FP), R1
	MOVD p_len+16(FP), R2
	MOVD v+32(FP), R7
	MOVD stride+40(FP), R3
	MOVD chunks+48(FP), R8
	LSL  $2, R3, R3

avchunk:
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
	MOVD R1, R5
	MOVD R7, R4
	LSR  $4, R2, R9
	AND  $15, R2, R6
	CBZ  R9, avtail

avloop:
	VLD1.P 16(R5), [V16.S4]
	AVSTEP(0, 0)
	AVSTEP(1, 1)
	AVSTEP(2, 2)
	AVSTEP(3, 3)
	VLD1.P 16(R5), [V16.S4]
	AVSTEP(4, 0)
	AVSTEP(5, 1)
	AVSTEP(6, 2)
	AVSTEP(7, 3)
	VLD1.P 16(R5), [V16.S4]
	AVSTEP(8, 0)
	AVSTEP(9, 1)
	AVSTEP(10, 2)
	AVSTEP(11, 3)
	VLD1.P 16(R5), [V16.S4]
	AVSTEP(12, 0)
	AVSTEP(13, 1)
	AVSTEP(14, 2)
	AVSTEP(15, 3)
	SUB    $1, R9
	CBNZ   R9, avloop

avtail:
	AVTAIL(0)
	AVTAIL(1)
	AVTAIL(2)
	AVTAIL(3)
	AVTAIL(4)
	AVTAIL(5)
	AVTAIL(6)
	AVTAIL(7)
	AVTAIL(8)
	AVTAIL(9)
	AVTAIL(10)
	AVTAIL(11)
	AVTAIL(12)
	AVTAIL(13)
	AVTAIL(14)

avred:
	FADD4S(0, 0, 8)
	FADD4S(1, 1, 9)
	FADD4S(2, 2, 10)
	FADD4S(3, 3, 11)
	FADD4S(4, 4, 12)
	FADD4S(5, 5, 13)
	FADD4S(6, 6, 14)
	FADD4S(7, 7, 15)
	FADD4S(0, 0, 4)
	FADD4S(1, 1, 5)
	FADD4S(2, 2, 6)
	FADD4S(3, 3, 7)
	FADD4S(0, 0, 2)
	FADD4S(1, 1, 3)
	FADD4S(0, 0, 1)
	VST1.P [V0.S4], 16(R0)
	ADD    $16, R7
	SUB    $1, R8
	CBNZ   R8, avchunk
	RET
