//go:build !purego

#include "textflag.h"
#include "neon_arm64.h"

#include "consts_arm64.h"

// The dotprod path: DOTQ is one SDOT.
#define DOTQ(acc, x, y) SDOT(acc, x, y)
#define FN_Q8_0 ·dotQ8_0SDOT
#define FN_Q4_0 ·dotQ4_0SDOT
#define FN_Q5_0 ·dotQ5_0SDOT
#define FN_Q4_K ·dotQ4_KSDOT
#define FN_Q5_K ·dotQ5_KSDOT
#define FN_Q6_K ·dotQ6_KSDOT
#define FN_IQ4_NL ·dotIQ4_NLSDOT
#define FN_Q4_1 ·dotQ4_1SDOT
#define FN_Q5_1 ·dotQ5_1SDOT
#define FN_Q3_K ·dotQ3_KSDOT
#define FN_Q2_K ·dotQ2_KSDOT
#define FN_IQ4_XS ·dotIQ4_XSSDOT
#include "dotq_arm64.h"
#undef DOTQ
#undef FN_Q8_0
#undef FN_Q4_0
#undef FN_Q5_0
#undef FN_Q4_K
#undef FN_Q5_K
#undef FN_Q6_K
#undef FN_IQ4_NL
#undef FN_Q4_1
#undef FN_Q5_1
#undef FN_Q3_K
#undef FN_Q2_K
#undef FN_IQ4_XS

// The NEON path: DOTQ as widening products (exact in int16, as
// -128·-128 = 16384 fits), pairs added into int32 (SADDLP), then pairs of
// pairs (ADDP): smull v28.8h, vx.8b, vy.8b; smull2 v29.8h, vx.16b, vy.16b;
// saddlp v28.4s, v28.8h; saddlp v29.4s, v29.8h; addp v28.4s, v28.4s, v29.4s;
// add vacc.4s, vacc.4s, v28.4s. Clobbers V28, V29.
// (Spelled out rather than through the macros of neon_arm64.h, whose nesting
// the assembler's macro expander refuses at this depth.)
#define DOTQ(acc, x, y) \
	WORD $(0x0e20c000 | ((y)<<16) | ((x)<<5) | 28) \
	WORD $(0x4e20c000 | ((y)<<16) | ((x)<<5) | 29) \
	WORD $(0x4e602800 | (28<<5) | 28) \
	WORD $(0x4e602800 | (29<<5) | 29) \
	WORD $(0x4ea0bc00 | (29<<16) | (28<<5) | 28) \
	WORD $(0x4ea08400 | (28<<16) | ((acc)<<5) | (acc))
#define FN_Q8_0 ·dotQ8_0NEON
#define FN_Q4_0 ·dotQ4_0NEON
#define FN_Q5_0 ·dotQ5_0NEON
#define FN_Q4_K ·dotQ4_KNEON
#define FN_Q5_K ·dotQ5_KNEON
#define FN_Q6_K ·dotQ6_KNEON
#define FN_IQ4_NL ·dotIQ4_NLNEON
#define FN_Q4_1 ·dotQ4_1NEON
#define FN_Q5_1 ·dotQ5_1NEON
#define FN_Q3_K ·dotQ3_KNEON
#define FN_Q2_K ·dotQ2_KNEON
#define FN_IQ4_XS ·dotIQ4_XSNEON
#include "dotq_arm64.h"

// func dotF16Lanes(n int, w, a []byte, s *[2]float64)
//
//	for i := 0; i < n; i += 2 {   // n a multiple of 8
//		s[0] += float64(f16(w[i])·f16(a[i]))
//		s[1] += float64(f16(w[i+1])·f16(a[i+1]))
//	}
//
// as dotF16: the float32 products of halves are exact, and the two float64
// sums (the lanes of V0) take them in the same order.
TEXT ·dotF16Lanes(SB), NOSPLIT, $0-64
	MOVD n+0(FP), R0
	LSR  $3, R0, R0
	MOVD w_base+8(FP), R1
	MOVD a_base+32(FP), R2
	MOVD s+56(FP), R3
	VLD1 (R3), [V0.D2]
	CBZ  R0, f16done

f16loop:
	VLD1.P 16(R1), [V2.B16]
	VLD1.P 16(R2), [V3.B16]
	FCVTL4S(4, 2)
	FCVTL24S(5, 2)
	FCVTL4S(6, 3)
	FCVTL24S(7, 3)
	FMUL4S(4, 4, 6)
	FMUL4S(5, 5, 7)
	FCVTL2D(16, 4)
	FCVTL22D(17, 4)
	FCVTL2D(18, 5)
	FCVTL22D(19, 5)
	FADD2D(0, 0, 16)
	FADD2D(0, 0, 17)
	FADD2D(0, 0, 18)
	FADD2D(0, 0, 19)
	SUB    $1, R0
	CBNZ   R0, f16loop

f16done:
	VST1 [V0.D2], (R3)
	RET

// func dotBF16Lanes(n int, w, a []byte, s *[2]float64)
//
// dotF16Lanes for bfloat16: the halves become float32 by a shift (SHLL),
// their float32 products (rounded as dotBF16's) are summed in float64.
TEXT ·dotBF16Lanes(SB), NOSPLIT, $0-64
	MOVD n+0(FP), R0
	LSR  $3, R0, R0
	MOVD w_base+8(FP), R1
	MOVD a_base+32(FP), R2
	MOVD s+56(FP), R3
	VLD1 (R3), [V0.D2]
	CBZ  R0, bf16done

bf16loop:
	VLD1.P 16(R1), [V2.B16]
	VLD1.P 16(R2), [V3.B16]
	SHLL4S(4, 2)
	SHLL24S(5, 2)
	SHLL4S(6, 3)
	SHLL24S(7, 3)
	FMUL4S(4, 4, 6)
	FMUL4S(5, 5, 7)
	FCVTL2D(16, 4)
	FCVTL22D(17, 4)
	FCVTL2D(18, 5)
	FCVTL22D(19, 5)
	FADD2D(0, 0, 16)
	FADD2D(0, 0, 17)
	FADD2D(0, 0, 18)
	FADD2D(0, 0, 19)
	SUB    $1, R0
	CBNZ   R0, bf16loop

bf16done:
	VST1 [V0.D2], (R3)
	RET
