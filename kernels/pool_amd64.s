//go:build !purego

#include "textflag.h"

// NANMAX sets z to the larger of x and y, NaN when either is: VMAXPS
// returns its second source when a value is NaN, so the two orders are
// ORed (equal where neither is NaN; a NaN's exponent and nonzero mantissa
// survive the OR). t is a scratch register.
#define NANMAX(x, y, z, t) \
	VMAXPS y, x, t \
	VMAXPS x, y, z \
	VORPS  t, z, z

// func maxPairsAVX2(d, a, b *float32, n int, acc bool)
//
// Per 8 outputs: 16 values of each row, the rows' maximum, then the even
// and odd columns split (VSHUFPS, within 128-bit lanes: pairs 0,1,4,5 |
// 2,3,6,7), their maximum, and the pairs put in order (VPERMPD).
TEXT ·maxPairsAVX2(SB), NOSPLIT, $0-33
	MOVQ    d+0(FP), DI
	MOVQ    a+8(FP), SI
	MOVQ    b+16(FP), DX
	MOVQ    n+24(FP), CX
	MOVBLZX acc+32(FP), AX

loop:
	CMPQ    CX, $8
	JLT     done
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS (DX), Y2
	VMOVUPS 32(DX), Y3
	NANMAX(Y0, Y2, Y4, Y5)
	NANMAX(Y1, Y3, Y6, Y5)
	VSHUFPS $0x88, Y6, Y4, Y0
	VSHUFPS $0xDD, Y6, Y4, Y1
	NANMAX(Y0, Y1, Y2, Y5)
	VPERMPD $0xD8, Y2, Y2
	TESTQ   AX, AX
	JZ      store
	VMOVUPS (DI), Y3
	NANMAX(Y2, Y3, Y4, Y5)
	VMOVAPS Y4, Y2

store:
	VMOVUPS Y2, (DI)
	ADDQ    $32, DI
	ADDQ    $64, SI
	ADDQ    $64, DX
	SUBQ    $8, CX
	JMP     loop

done:
	VZEROUPPER
	RET
