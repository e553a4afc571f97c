//go:build !purego

#include "textflag.h"
#include "neon_arm64.h"

// func quantizeQ8_0NEON(x []float32, dst []byte)
//
//	for each block of 32: amax = max|x|, d = amax/127, id = 127/amax (0 if amax is 0)
//	                      dst = fp16(d), then int8(roundEven(x[j]·id)) for j < 32
//
// as quantizeQ8_0 (ggml's x86 arithmetic): FDIV for d and id, FCVT to fp16
// (nearest even), FMUL then FCVTNS (nearest, ties to even) for the quants.
// len(x) is a multiple of 32 and dst holds len(x)/32 blocks of 34 bytes.
TEXT ·quantizeQ8_0NEON(SB), NOSPLIT, $0-48
	MOVD  x_base+0(FP), R0
	MOVD  x_len+8(FP), R2
	MOVD  dst_base+24(FP), R1
	LSR   $5, R2, R2
	MOVW  $0x42fe0000, R3 // 127.0
	FMOVS R3, F25
	VEOR  V26.B16, V26.B16, V26.B16
	CBZ   R2, q80done

q80loop:
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R0), [V4.S4, V5.S4, V6.S4, V7.S4]
	FABS4S(16, 0)
	FABS4S(17, 1)
	FABS4S(18, 2)
	FABS4S(19, 3)
	FABS4S(20, 4)
	FABS4S(21, 5)
	FABS4S(22, 6)
	FABS4S(23, 7)
	FMAX4S(16, 16, 17)
	FMAX4S(18, 18, 19)
	FMAX4S(20, 20, 21)
	FMAX4S(22, 22, 23)
	FMAX4S(16, 16, 18)
	FMAX4S(20, 20, 22)
	FMAX4S(16, 16, 20)
	FMAXV(16, 16)
	FDIVS  F25, F16, F17 // d = amax/127
	FDIVS  F16, F25, F24 // id = 127/amax
	FCMPS  $(0.0), F16
	FCSELS EQ, F26, F24, F24
	FCVTSH F17, F17
	FMOVS  F17, R4
	MOVH.P R4, 2(R1)
	VDUP   V24.S[0], V24.S4
	FMUL4S(0, 0, 24)
	FMUL4S(1, 1, 24)
	FMUL4S(2, 2, 24)
	FMUL4S(3, 3, 24)
	FMUL4S(4, 4, 24)
	FMUL4S(5, 5, 24)
	FMUL4S(6, 6, 24)
	FMUL4S(7, 7, 24)
	FCVTNS4S(0, 0)
	FCVTNS4S(1, 1)
	FCVTNS4S(2, 2)
	FCVTNS4S(3, 3)
	FCVTNS4S(4, 4)
	FCVTNS4S(5, 5)
	FCVTNS4S(6, 6)
	FCVTNS4S(7, 7)
	XTN4H(16, 0)
	XTN28H(16, 1)
	XTN4H(17, 2)
	XTN28H(17, 3)
	XTN4H(18, 4)
	XTN28H(18, 5)
	XTN4H(19, 6)
	XTN28H(19, 7)
	XTN8B(20, 16)
	XTN216B(20, 17)
	XTN8B(21, 18)
	XTN216B(21, 19)
	VST1.P [V20.B16, V21.B16], 32(R1)
	SUB    $1, R2
	CBNZ   R2, q80loop

q80done:
	RET

// func quantizeQ8_1NEON(x []float32, dst []byte)
//
// as quantizeQ8_0NEON, plus s = fp16(d·Σq) after d, with d the float32
// amax/127: quantizeQ8_1.
TEXT ·quantizeQ8_1NEON(SB), NOSPLIT, $0-48
	MOVD  x_base+0(FP), R0
	MOVD  x_len+8(FP), R2
	MOVD  dst_base+24(FP), R1
	LSR   $5, R2, R2
	MOVW  $0x42fe0000, R3 // 127.0
	FMOVS R3, F25
	VEOR  V26.B16, V26.B16, V26.B16
	CBZ   R2, q81done

q81loop:
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R0), [V4.S4, V5.S4, V6.S4, V7.S4]
	FABS4S(16, 0)
	FABS4S(17, 1)
	FABS4S(18, 2)
	FABS4S(19, 3)
	FABS4S(20, 4)
	FABS4S(21, 5)
	FABS4S(22, 6)
	FABS4S(23, 7)
	FMAX4S(16, 16, 17)
	FMAX4S(18, 18, 19)
	FMAX4S(20, 20, 21)
	FMAX4S(22, 22, 23)
	FMAX4S(16, 16, 18)
	FMAX4S(20, 20, 22)
	FMAX4S(16, 16, 20)
	FMAXV(16, 16)
	FDIVS  F25, F16, F17 // d = amax/127
	FDIVS  F16, F25, F24 // id = 127/amax
	FCMPS  $(0.0), F16
	FCSELS EQ, F26, F24, F24
	FCVTSH F17, F18
	FMOVS  F18, R4
	MOVH   R4, (R1)
	VDUP   V24.S[0], V24.S4
	FMUL4S(0, 0, 24)
	FMUL4S(1, 1, 24)
	FMUL4S(2, 2, 24)
	FMUL4S(3, 3, 24)
	FMUL4S(4, 4, 24)
	FMUL4S(5, 5, 24)
	FMUL4S(6, 6, 24)
	FMUL4S(7, 7, 24)
	FCVTNS4S(0, 0)
	FCVTNS4S(1, 1)
	FCVTNS4S(2, 2)
	FCVTNS4S(3, 3)
	FCVTNS4S(4, 4)
	FCVTNS4S(5, 5)
	FCVTNS4S(6, 6)
	FCVTNS4S(7, 7)
	ADD4S(27, 0, 1)
	ADD4S(28, 2, 3)
	ADD4S(29, 4, 5)
	ADD4S(30, 6, 7)
	ADD4S(27, 27, 28)
	ADD4S(29, 29, 30)
	ADD4S(27, 27, 29)
	VADDV  V27.S4, V27
	SCVTFS(27, 27)
	FMULS  F17, F27, F27 // s = d·Σq with the float32 d
	FCVTSH F27, F27
	FMOVS  F27, R4
	MOVH   R4, 2(R1)
	ADD    $4, R1
	XTN4H(16, 0)
	XTN28H(16, 1)
	XTN4H(17, 2)
	XTN28H(17, 3)
	XTN4H(18, 4)
	XTN28H(18, 5)
	XTN4H(19, 6)
	XTN28H(19, 7)
	XTN8B(20, 16)
	XTN216B(20, 17)
	XTN8B(21, 18)
	XTN216B(21, 19)
	VST1.P [V20.B16, V21.B16], 32(R1)
	SUB    $1, R2
	CBNZ   R2, q81loop

q81done:
	RET

// func quantizeQ8_KBlock(x *[256]float32, iscale float32, dst *[292]byte)
//
//	for j := range 256 { q[j] = min(127, roundEven(iscale·x[j])) }   (int32)
//	dst[4:260] = int8(q); dst[260+2g:] = int16(Σ q[16g..16g+15])      (g < 16)
//
// the quants and block sums of quantizeQ8_K, whose scale the caller writes.
TEXT ·quantizeQ8_KBlock(SB), NOSPLIT, $0-24
	MOVD  x+0(FP), R0
	FMOVS iscale+8(FP), F24
	MOVD  dst+16(FP), R1
	VDUP  V24.S[0], V24.S4
	MOVW  $127, R5
	VDUP  R5, V25.S4
	ADD   $4, R1, R2   // quants
	ADD   $260, R1, R3 // bsums
	MOVD  $16, R4

q8kloop:
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	FMUL4S(0, 0, 24)
	FMUL4S(1, 1, 24)
	FMUL4S(2, 2, 24)
	FMUL4S(3, 3, 24)
	FCVTNS4S(0, 0)
	FCVTNS4S(1, 1)
	FCVTNS4S(2, 2)
	FCVTNS4S(3, 3)
	SMIN4S(0, 0, 25)
	SMIN4S(1, 1, 25)
	SMIN4S(2, 2, 25)
	SMIN4S(3, 3, 25)
	ADD4S(4, 0, 1)
	ADD4S(5, 2, 3)
	ADD4S(4, 4, 5)
	VADDV  V4.S4, V4
	FMOVS  F4, R5
	MOVH.P R5, 2(R3)
	XTN4H(16, 0)
	XTN28H(16, 1)
	XTN4H(17, 2)
	XTN28H(17, 3)
	XTN8B(20, 16)
	XTN216B(20, 17)
	VST1.P [V20.B16], 16(R2)
	SUB    $1, R4
	CBNZ   R4, q8kloop
	RET
