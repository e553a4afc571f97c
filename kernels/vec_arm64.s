//go:build !purego

#include "textflag.h"
#include "neon_arm64.h"

// func dotF32NEON(a, b []float32) float32
//
//	s[k] += round(a[i]·b[i]) for i ≡ k (mod 4), four at a time (one vector)
//	s[0] += round(a[i]·b[i]) for the last n%4
//	return (s0+s1) + (s2+s3)
//
// bit for bit as dotGeneric: FMUL then FADD (no fused multiply-add), the
// same four partial sums in the same order.
TEXT ·dotF32NEON(SB), NOSPLIT, $0-52
	MOVD a_base+0(FP), R0
	MOVD a_len+8(FP), R2
	MOVD b_base+24(FP), R1
	VEOR V0.B16, V0.B16, V0.B16

dot16:
	CMP    $16, R2
	BLT    dot4
	VLD1.P 64(R0), [V1.S4, V2.S4, V3.S4, V4.S4]
	VLD1.P 64(R1), [V5.S4, V6.S4, V7.S4, V8.S4]
	FMUL4S(1, 1, 5)
	FMUL4S(2, 2, 6)
	FMUL4S(3, 3, 7)
	FMUL4S(4, 4, 8)
	FADD4S(0, 0, 1)
	FADD4S(0, 0, 2)
	FADD4S(0, 0, 3)
	FADD4S(0, 0, 4)
	SUB    $16, R2
	B      dot16

dot4:
	CMP    $4, R2
	BLT    dottail
	VLD1.P 16(R0), [V1.S4]
	VLD1.P 16(R1), [V5.S4]
	FMUL4S(1, 1, 5)
	FADD4S(0, 0, 1)
	SUB    $4, R2
	B      dot4

dottail:
	VORR V0.B16, V0.B16, V9.B16 // the scalar adds below clear V0's lanes 1-3
	CBZ  R2, dotsum

dottail1:
	FMOVS.P 4(R0), F1
	FMOVS.P 4(R1), F2
	FMULS   F2, F1, F1
	FADDS   F1, F0, F0
	SUB     $1, R2
	CBNZ    R2, dottail1
	VMOV    V0.S[0], V9.S[0]

dotsum:
	FADDP4S(9, 9, 9)
	FADDP2S(0, 9)
	FMOVS F0, ret+48(FP)
	RET

// func axpyF32NEON(dst []float32, alpha float32, x []float32)
//
//	dst[i] += round(alpha·x[i])
//
// FMUL then FADD, bit for bit as axpyGeneric.
TEXT ·axpyF32NEON(SB), NOSPLIT, $0-56
	MOVD  dst_base+0(FP), R0
	MOVD  dst_len+8(FP), R2
	FMOVS alpha+24(FP), F31
	MOVD  x_base+32(FP), R1
	VDUP  V31.S[0], V31.S4

axpy16:
	CMP    $16, R2
	BLT    axpy4
	VLD1   (R0), [V1.S4, V2.S4, V3.S4, V4.S4]
	VLD1.P 64(R1), [V5.S4, V6.S4, V7.S4, V8.S4]
	FMUL4S(5, 5, 31)
	FMUL4S(6, 6, 31)
	FMUL4S(7, 7, 31)
	FMUL4S(8, 8, 31)
	FADD4S(1, 1, 5)
	FADD4S(2, 2, 6)
	FADD4S(3, 3, 7)
	FADD4S(4, 4, 8)
	VST1.P [V1.S4, V2.S4, V3.S4, V4.S4], 64(R0)
	SUB    $16, R2
	B      axpy16

axpy4:
	CMP    $4, R2
	BLT    axpytail
	VLD1   (R0), [V1.S4]
	VLD1.P 16(R1), [V5.S4]
	FMUL4S(5, 5, 31)
	FADD4S(1, 1, 5)
	VST1.P [V1.S4], 16(R0)
	SUB    $4, R2
	B      axpy4

axpytail:
	CBZ R2, axpydone

axpy1:
	FMOVS   (R0), F1
	FMOVS.P 4(R1), F2
	FMULS   F31, F2, F2
	FADDS   F2, F1, F1
	FMOVS.P F1, 4(R0)
	SUB     $1, R2
	CBNZ    R2, axpy1

axpydone:
	RET

// func scaleF32NEON(x []float32, s float32)
//
//	x[i] *= s
TEXT ·scaleF32NEON(SB), NOSPLIT, $0-28
	MOVD  x_base+0(FP), R0
	MOVD  x_len+8(FP), R2
	FMOVS s+24(FP), F31
	VDUP  V31.S[0], V31.S4

scale16:
	CMP  $16, R2
	BLT  scale4
	VLD1 (R0), [V1.S4, V2.S4, V3.S4, V4.S4]
	FMUL4S(1, 1, 31)
	FMUL4S(2, 2, 31)
	FMUL4S(3, 3, 31)
	FMUL4S(4, 4, 31)
	VST1.P [V1.S4, V2.S4, V3.S4, V4.S4], 64(R0)
	SUB  $16, R2
	B    scale16

scale4:
	CMP  $4, R2
	BLT  scaletail
	VLD1 (R0), [V1.S4]
	FMUL4S(1, 1, 31)
	VST1.P [V1.S4], 16(R0)
	SUB  $4, R2
	B    scale4

scaletail:
	CBZ R2, scaledone

scale1:
	FMOVS   (R0), F1
	FMULS   F31, F1, F1
	FMOVS.P F1, 4(R0)
	SUB     $1, R2
	CBNZ    R2, scale1

scaledone:
	RET
