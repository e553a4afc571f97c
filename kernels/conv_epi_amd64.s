//go:build !purego

#include "textflag.h"

DATA one<>+0(SB)/4, $0x3f800000
GLOBL one<>(SB), RODATA|NOPTR, $4

// The elementwise steps of a convolution's epilogue on AVX2, in place on n
// values (n a multiple of 8). Each computes exactly what its Go counterpart
// in conv_epi.go computes (the same IEEE operations; VMAXPS/VMINPS with the
// operand order that lets a NaN in x through, as Go's max and min do).

// func epiAddAVX2(x *float32, n int, v float32)
//
//	x[i] += v
TEXT ·epiAddAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS v+16(FP), Y1

Addloop:
	CMPQ CX, $8
	JLT  Adddone
	VMOVUPS (DI), Y0
	VADDPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  Addloop

Adddone:
	VZEROUPPER
	RET

// func epiSubAVX2(x *float32, n int, v float32)
//
//	x[i] -= v
TEXT ·epiSubAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS v+16(FP), Y1

Subloop:
	CMPQ CX, $8
	JLT  Subdone
	VMOVUPS (DI), Y0
	VSUBPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  Subloop

Subdone:
	VZEROUPPER
	RET

// func epiSubFromAVX2(x *float32, n int, v float32)
//
//	x[i] = v - x[i]
TEXT ·epiSubFromAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS v+16(FP), Y1

SubFromloop:
	CMPQ CX, $8
	JLT  SubFromdone
	VMOVUPS (DI), Y0
	VSUBPS Y0, Y1, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  SubFromloop

SubFromdone:
	VZEROUPPER
	RET

// func epiMulAVX2(x *float32, n int, v float32)
//
//	x[i] *= v
TEXT ·epiMulAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS v+16(FP), Y1

Mulloop:
	CMPQ CX, $8
	JLT  Muldone
	VMOVUPS (DI), Y0
	VMULPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  Mulloop

Muldone:
	VZEROUPPER
	RET

// func epiDivAVX2(x *float32, n int, v float32)
//
//	x[i] /= v
TEXT ·epiDivAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS v+16(FP), Y1

Divloop:
	CMPQ CX, $8
	JLT  Divdone
	VMOVUPS (DI), Y0
	VDIVPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  Divloop

Divdone:
	VZEROUPPER
	RET

// func epiDivIntoAVX2(x *float32, n int, v float32)
//
//	x[i] = v / x[i]
TEXT ·epiDivIntoAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS v+16(FP), Y1

DivIntoloop:
	CMPQ CX, $8
	JLT  DivIntodone
	VMOVUPS (DI), Y0
	VDIVPS Y0, Y1, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  DivIntoloop

DivIntodone:
	VZEROUPPER
	RET

// func epiMaxAVX2(x *float32, n int, v float32)
//
//	x[i] = max(x[i], v) (NaN x stays NaN)
TEXT ·epiMaxAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS v+16(FP), Y1

Maxloop:
	CMPQ CX, $8
	JLT  Maxdone
	VMOVUPS (DI), Y0
	VMAXPS Y0, Y1, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  Maxloop

Maxdone:
	VZEROUPPER
	RET

// func epiMinAVX2(x *float32, n int, v float32)
//
//	x[i] = min(x[i], v) (NaN x stays NaN)
TEXT ·epiMinAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS v+16(FP), Y1

Minloop:
	CMPQ CX, $8
	JLT  Mindone
	VMOVUPS (DI), Y0
	VMINPS Y0, Y1, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  Minloop

Mindone:
	VZEROUPPER
	RET

// func epiBNAVX2(x *float32, n int, v, w float32)
//
//	x[i] = x[i]*v + w (rounded twice, no fused multiply-add)
TEXT ·epiBNAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS v+16(FP), Y1
	VBROADCASTSS w+20(FP), Y2

BNloop:
	CMPQ CX, $8
	JLT  BNdone
	VMOVUPS (DI), Y0
	VMULPS Y1, Y0, Y0
	VADDPS Y2, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  BNloop

BNdone:
	VZEROUPPER
	RET

// func epiClipAVX2(x *float32, n int, lo, hi float32)
//
//	x[i] = min(max(x[i], lo), hi)
TEXT ·epiClipAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS lo+16(FP), Y1
	VBROADCASTSS hi+20(FP), Y2

Cliploop:
	CMPQ CX, $8
	JLT  Clipdone
	VMOVUPS (DI), Y0
	VMAXPS Y0, Y1, Y0
	VMINPS Y0, Y2, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  Cliploop

Clipdone:
	VZEROUPPER
	RET

// func epiLeakyReluAVX2(x *float32, n int, a float32)
//
//	x[i] = x[i] < 0 ? x[i]*a : x[i]
TEXT ·epiLeakyReluAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS a+16(FP), Y1
	VXORPS Y2, Y2, Y2

LeakyReluloop:
	CMPQ CX, $8
	JLT  LeakyReludone
	VMOVUPS (DI), Y0
	VMULPS Y1, Y0, Y3
	VCMPPS $1, Y2, Y0, Y4
	VBLENDVPS Y4, Y3, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  LeakyReluloop

LeakyReludone:
	VZEROUPPER
	RET

// func epiHardSigmoidAVX2(x *float32, n int, a, b float32)
//
//	x[i] = max(0, min(1, a*x[i] + b)) (rounded twice)
TEXT ·epiHardSigmoidAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS a+16(FP), Y1
	VBROADCASTSS b+20(FP), Y2
	VBROADCASTSS one<>(SB), Y5
	VXORPS Y6, Y6, Y6

HardSigmoidloop:
	CMPQ CX, $8
	JLT  HardSigmoiddone
	VMOVUPS (DI), Y0
	VMULPS Y1, Y0, Y0
	VADDPS Y2, Y0, Y0
	VMINPS Y0, Y5, Y0
	VMAXPS Y0, Y6, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  HardSigmoidloop

HardSigmoiddone:
	VZEROUPPER
	RET

// func epiHardSwishAVX2(x *float32, n int, a, b float32)
//
//	x[i] = x[i] * min(max(x[i]+a, 0), b) / b
TEXT ·epiHardSwishAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS a+16(FP), Y1
	VBROADCASTSS b+20(FP), Y2
	VXORPS Y6, Y6, Y6

HardSwishloop:
	CMPQ CX, $8
	JLT  HardSwishdone
	VMOVUPS (DI), Y0
	VADDPS Y1, Y0, Y3
	VMAXPS Y3, Y6, Y3
	VMINPS Y3, Y2, Y3
	VMULPS Y3, Y0, Y0
	VDIVPS Y2, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  HardSwishloop

HardSwishdone:
	VZEROUPPER
	RET

DATA eLog2e<>+0(SB)/4, $0x3fb8aa3b
DATA eLog2e<>+4(SB)/4, $0x3fb8aa3b
DATA eLog2e<>+8(SB)/4, $0x3fb8aa3b
DATA eLog2e<>+12(SB)/4, $0x3fb8aa3b
DATA eLog2e<>+16(SB)/4, $0x3fb8aa3b
DATA eLog2e<>+20(SB)/4, $0x3fb8aa3b
DATA eLog2e<>+24(SB)/4, $0x3fb8aa3b
DATA eLog2e<>+28(SB)/4, $0x3fb8aa3b
GLOBL eLog2e<>(SB), RODATA|NOPTR, $32

DATA eHalf<>+0(SB)/4, $0x3f000000
DATA eHalf<>+4(SB)/4, $0x3f000000
DATA eHalf<>+8(SB)/4, $0x3f000000
DATA eHalf<>+12(SB)/4, $0x3f000000
DATA eHalf<>+16(SB)/4, $0x3f000000
DATA eHalf<>+20(SB)/4, $0x3f000000
DATA eHalf<>+24(SB)/4, $0x3f000000
DATA eHalf<>+28(SB)/4, $0x3f000000
GLOBL eHalf<>(SB), RODATA|NOPTR, $32

DATA eC1<>+0(SB)/4, $0x3f318000
DATA eC1<>+4(SB)/4, $0x3f318000
DATA eC1<>+8(SB)/4, $0x3f318000
DATA eC1<>+12(SB)/4, $0x3f318000
DATA eC1<>+16(SB)/4, $0x3f318000
DATA eC1<>+20(SB)/4, $0x3f318000
DATA eC1<>+24(SB)/4, $0x3f318000
DATA eC1<>+28(SB)/4, $0x3f318000
GLOBL eC1<>(SB), RODATA|NOPTR, $32

DATA eC2<>+0(SB)/4, $0xb95e8083
DATA eC2<>+4(SB)/4, $0xb95e8083
DATA eC2<>+8(SB)/4, $0xb95e8083
DATA eC2<>+12(SB)/4, $0xb95e8083
DATA eC2<>+16(SB)/4, $0xb95e8083
DATA eC2<>+20(SB)/4, $0xb95e8083
DATA eC2<>+24(SB)/4, $0xb95e8083
DATA eC2<>+28(SB)/4, $0xb95e8083
GLOBL eC2<>(SB), RODATA|NOPTR, $32

DATA eP0<>+0(SB)/4, $0x39506967
DATA eP0<>+4(SB)/4, $0x39506967
DATA eP0<>+8(SB)/4, $0x39506967
DATA eP0<>+12(SB)/4, $0x39506967
DATA eP0<>+16(SB)/4, $0x39506967
DATA eP0<>+20(SB)/4, $0x39506967
DATA eP0<>+24(SB)/4, $0x39506967
DATA eP0<>+28(SB)/4, $0x39506967
GLOBL eP0<>(SB), RODATA|NOPTR, $32

DATA eP1<>+0(SB)/4, $0x3ab743ce
DATA eP1<>+4(SB)/4, $0x3ab743ce
DATA eP1<>+8(SB)/4, $0x3ab743ce
DATA eP1<>+12(SB)/4, $0x3ab743ce
DATA eP1<>+16(SB)/4, $0x3ab743ce
DATA eP1<>+20(SB)/4, $0x3ab743ce
DATA eP1<>+24(SB)/4, $0x3ab743ce
DATA eP1<>+28(SB)/4, $0x3ab743ce
GLOBL eP1<>(SB), RODATA|NOPTR, $32

DATA eP2<>+0(SB)/4, $0x3c088908
DATA eP2<>+4(SB)/4, $0x3c088908
DATA eP2<>+8(SB)/4, $0x3c088908
DATA eP2<>+12(SB)/4, $0x3c088908
DATA eP2<>+16(SB)/4, $0x3c088908
DATA eP2<>+20(SB)/4, $0x3c088908
DATA eP2<>+24(SB)/4, $0x3c088908
DATA eP2<>+28(SB)/4, $0x3c088908
GLOBL eP2<>(SB), RODATA|NOPTR, $32

DATA eP3<>+0(SB)/4, $0x3d2aa9c1
DATA eP3<>+4(SB)/4, $0x3d2aa9c1
DATA eP3<>+8(SB)/4, $0x3d2aa9c1
DATA eP3<>+12(SB)/4, $0x3d2aa9c1
DATA eP3<>+16(SB)/4, $0x3d2aa9c1
DATA eP3<>+20(SB)/4, $0x3d2aa9c1
DATA eP3<>+24(SB)/4, $0x3d2aa9c1
DATA eP3<>+28(SB)/4, $0x3d2aa9c1
GLOBL eP3<>(SB), RODATA|NOPTR, $32

DATA eP4<>+0(SB)/4, $0x3e2aaaaa
DATA eP4<>+4(SB)/4, $0x3e2aaaaa
DATA eP4<>+8(SB)/4, $0x3e2aaaaa
DATA eP4<>+12(SB)/4, $0x3e2aaaaa
DATA eP4<>+16(SB)/4, $0x3e2aaaaa
DATA eP4<>+20(SB)/4, $0x3e2aaaaa
DATA eP4<>+24(SB)/4, $0x3e2aaaaa
DATA eP4<>+28(SB)/4, $0x3e2aaaaa
GLOBL eP4<>(SB), RODATA|NOPTR, $32

DATA eP5<>+0(SB)/4, $0x3f000000
DATA eP5<>+4(SB)/4, $0x3f000000
DATA eP5<>+8(SB)/4, $0x3f000000
DATA eP5<>+12(SB)/4, $0x3f000000
DATA eP5<>+16(SB)/4, $0x3f000000
DATA eP5<>+20(SB)/4, $0x3f000000
DATA eP5<>+24(SB)/4, $0x3f000000
DATA eP5<>+28(SB)/4, $0x3f000000
GLOBL eP5<>(SB), RODATA|NOPTR, $32

DATA eOne<>+0(SB)/4, $0x3f800000
DATA eOne<>+4(SB)/4, $0x3f800000
DATA eOne<>+8(SB)/4, $0x3f800000
DATA eOne<>+12(SB)/4, $0x3f800000
DATA eOne<>+16(SB)/4, $0x3f800000
DATA eOne<>+20(SB)/4, $0x3f800000
DATA eOne<>+24(SB)/4, $0x3f800000
DATA eOne<>+28(SB)/4, $0x3f800000
GLOBL eOne<>(SB), RODATA|NOPTR, $32

DATA eHi<>+0(SB)/4, $0x42b00000
DATA eHi<>+4(SB)/4, $0x42b00000
DATA eHi<>+8(SB)/4, $0x42b00000
DATA eHi<>+12(SB)/4, $0x42b00000
DATA eHi<>+16(SB)/4, $0x42b00000
DATA eHi<>+20(SB)/4, $0x42b00000
DATA eHi<>+24(SB)/4, $0x42b00000
DATA eHi<>+28(SB)/4, $0x42b00000
GLOBL eHi<>(SB), RODATA|NOPTR, $32

DATA eLo<>+0(SB)/4, $0xc2aeac50
DATA eLo<>+4(SB)/4, $0xc2aeac50
DATA eLo<>+8(SB)/4, $0xc2aeac50
DATA eLo<>+12(SB)/4, $0xc2aeac50
DATA eLo<>+16(SB)/4, $0xc2aeac50
DATA eLo<>+20(SB)/4, $0xc2aeac50
DATA eLo<>+24(SB)/4, $0xc2aeac50
DATA eLo<>+28(SB)/4, $0xc2aeac50
GLOBL eLo<>(SB), RODATA|NOPTR, $32

DATA e127<>+0(SB)/4, $127
DATA e127<>+4(SB)/4, $127
DATA e127<>+8(SB)/4, $127
DATA e127<>+12(SB)/4, $127
DATA e127<>+16(SB)/4, $127
DATA e127<>+20(SB)/4, $127
DATA e127<>+24(SB)/4, $127
DATA e127<>+28(SB)/4, $127
GLOBL e127<>(SB), RODATA|NOPTR, $32

DATA eInf<>+0(SB)/4, $0x7f800000
DATA eInf<>+4(SB)/4, $0x7f800000
DATA eInf<>+8(SB)/4, $0x7f800000
DATA eInf<>+12(SB)/4, $0x7f800000
DATA eInf<>+16(SB)/4, $0x7f800000
DATA eInf<>+20(SB)/4, $0x7f800000
DATA eInf<>+24(SB)/4, $0x7f800000
DATA eInf<>+28(SB)/4, $0x7f800000
GLOBL eInf<>(SB), RODATA|NOPTR, $32

DATA eSign<>+0(SB)/4, $0x80000000
DATA eSign<>+4(SB)/4, $0x80000000
DATA eSign<>+8(SB)/4, $0x80000000
DATA eSign<>+12(SB)/4, $0x80000000
DATA eSign<>+16(SB)/4, $0x80000000
DATA eSign<>+20(SB)/4, $0x80000000
DATA eSign<>+24(SB)/4, $0x80000000
DATA eSign<>+28(SB)/4, $0x80000000
GLOBL eSign<>(SB), RODATA|NOPTR, $32

// func epiExpAVX2(x *float32, n int)
//
//	x[i] = Exp(x[i]), for n a multiple of 8: the operations of Exp one for one (the
//	clamp to [expLo, expHi] first, then +Inf above and 0 below restored by
//	masks), so the results equal Exp's bit for bit.
TEXT ·epiExpAVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VMOVUPS eLo<>(SB), Y12
	VMOVUPS eHi<>(SB), Y13
	VMOVUPS eInf<>(SB), Y14

epiExpAVX2loop:
	CMPQ CX, $8
	JLT  epiExpAVX2done
	VMOVUPS (DI), Y0
	VCMPPS  $0x1e, Y13, Y0, Y10
	VCMPPS  $0x11, Y12, Y0, Y11
	VMAXPS  Y0, Y12, Y0
	VMINPS  Y0, Y13, Y0
	VMULPS  eLog2e<>(SB), Y0, Y1
	VADDPS  eHalf<>(SB), Y1, Y1
	VROUNDPS $1, Y1, Y1
	VMULPS  eC1<>(SB), Y1, Y2
	VSUBPS  Y2, Y0, Y2
	VMULPS  eC2<>(SB), Y1, Y3
	VSUBPS  Y3, Y2, Y2
	VMOVUPS eP0<>(SB), Y3
	VMULPS  Y2, Y3, Y3
	VADDPS  eP1<>(SB), Y3, Y3
	VMULPS  Y2, Y3, Y3
	VADDPS  eP2<>(SB), Y3, Y3
	VMULPS  Y2, Y3, Y3
	VADDPS  eP3<>(SB), Y3, Y3
	VMULPS  Y2, Y3, Y3
	VADDPS  eP4<>(SB), Y3, Y3
	VMULPS  Y2, Y3, Y3
	VADDPS  eP5<>(SB), Y3, Y3
	VMULPS  Y2, Y3, Y3
	VMULPS  Y2, Y3, Y3
	VADDPS  Y2, Y3, Y3
	VADDPS  eOne<>(SB), Y3, Y3
	VCVTPS2DQ Y1, Y1
	VPADDD  e127<>(SB), Y1, Y1
	VPSLLD  $23, Y1, Y1
	VMULPS  Y1, Y3, Y0
	VBLENDVPS Y10, Y14, Y0, Y0
	VANDNPS Y0, Y11, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  epiExpAVX2loop

epiExpAVX2done:
	VZEROUPPER
	RET

// func epiSigmoidAVX2(x *float32, n int)
//
//	x[i] = 1 / (1 + Exp(-x[i])), for n a multiple of 8: the operations of Exp one for one (the
//	clamp to [expLo, expHi] first, then +Inf above and 0 below restored by
//	masks), so the results equal Exp's bit for bit.
TEXT ·epiSigmoidAVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VMOVUPS eLo<>(SB), Y12
	VMOVUPS eHi<>(SB), Y13
	VMOVUPS eInf<>(SB), Y14

epiSigmoidAVX2loop:
	CMPQ CX, $8
	JLT  epiSigmoidAVX2done
	VMOVUPS (DI), Y0
	VXORPS  eSign<>(SB), Y0, Y0
	VCMPPS  $0x1e, Y13, Y0, Y10
	VCMPPS  $0x11, Y12, Y0, Y11
	VMAXPS  Y0, Y12, Y0
	VMINPS  Y0, Y13, Y0
	VMULPS  eLog2e<>(SB), Y0, Y1
	VADDPS  eHalf<>(SB), Y1, Y1
	VROUNDPS $1, Y1, Y1
	VMULPS  eC1<>(SB), Y1, Y2
	VSUBPS  Y2, Y0, Y2
	VMULPS  eC2<>(SB), Y1, Y3
	VSUBPS  Y3, Y2, Y2
	VMOVUPS eP0<>(SB), Y3
	VMULPS  Y2, Y3, Y3
	VADDPS  eP1<>(SB), Y3, Y3
	VMULPS  Y2, Y3, Y3
	VADDPS  eP2<>(SB), Y3, Y3
	VMULPS  Y2, Y3, Y3
	VADDPS  eP3<>(SB), Y3, Y3
	VMULPS  Y2, Y3, Y3
	VADDPS  eP4<>(SB), Y3, Y3
	VMULPS  Y2, Y3, Y3
	VADDPS  eP5<>(SB), Y3, Y3
	VMULPS  Y2, Y3, Y3
	VMULPS  Y2, Y3, Y3
	VADDPS  Y2, Y3, Y3
	VADDPS  eOne<>(SB), Y3, Y3
	VCVTPS2DQ Y1, Y1
	VPADDD  e127<>(SB), Y1, Y1
	VPSLLD  $23, Y1, Y1
	VMULPS  Y1, Y3, Y0
	VBLENDVPS Y10, Y14, Y0, Y0
	VANDNPS Y0, Y11, Y0
	VADDPS  eOne<>(SB), Y0, Y0
	VMOVUPS eOne<>(SB), Y1
	VDIVPS  Y0, Y1, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  epiSigmoidAVX2loop

epiSigmoidAVX2done:
	VZEROUPPER
	RET
