//go:build !purego

#include "textflag.h"

DATA absMask<>+0(SB)/4, $0x7fffffff
GLOBL absMask<>(SB), RODATA|NOPTR, $4
DATA f127<>+0(SB)/4, $0x42fe0000
GLOBL f127<>(SB), RODATA|NOPTR, $4
DATA packPerm<>+0(SB)/8, $0x0000000400000000
DATA packPerm<>+8(SB)/8, $0x0000000500000001
DATA packPerm<>+16(SB)/8, $0x0000000600000002
DATA packPerm<>+24(SB)/8, $0x0000000700000003
GLOBL packPerm<>(SB), RODATA|NOPTR, $32

// func quantizeQ8_0AVX2(x []float32, dst []byte)
//
// as quantizeQ8_0 (ggml-cpu's x86 quantize_row_q8_0), byte for byte, per
// block of 32: amax = max|x|, d = amax/127 stored as fp16 (VCVTPS2PH, to
// nearest even), id = 127/amax (0 if amax is 0), q = x·id rounded to
// float32 and then to the nearest integer, ties to even (VCVTPS2DQ under
// the default rounding mode), packed to int8 in order.
TEXT ·quantizeQ8_0AVX2(SB), NOSPLIT, $0-48
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	SHRQ $5, CX
	MOVQ dst_base+24(FP), DI
	VBROADCASTSS absMask<>(SB), Y8
	VMOVSS f127<>(SB), X9
	VMOVDQU packPerm<>(SB), Y10
	VXORPS X11, X11, X11
	TESTQ CX, CX
	JZ   q80done

q80loop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VANDPS Y8, Y0, Y4
	VANDPS Y8, Y1, Y5
	VANDPS Y8, Y2, Y6
	VANDPS Y8, Y3, Y7
	VMAXPS Y5, Y4, Y4
	VMAXPS Y7, Y6, Y6
	VMAXPS Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS X5, X4, X4
	VMOVHLPS X4, X4, X5
	VMAXPS X5, X4, X4
	VMOVSHDUP X4, X5
	VMAXSS X5, X4, X4      // amax
	VDIVSS X9, X4, X5      // d = amax/127
	VCVTPS2PH $0, X5, X5
	VPEXTRW $0, X5, AX
	MOVW AX, (DI)
	VXORPS X6, X6, X6
	VUCOMISS X11, X4
	JEQ  q80zero
	VDIVSS X4, X9, X6      // id = 127/amax

q80zero:
	VBROADCASTSS X6, Y6
	VMULPS Y6, Y0, Y0
	VMULPS Y6, Y1, Y1
	VMULPS Y6, Y2, Y2
	VMULPS Y6, Y3, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD Y0, Y10, Y0
	VMOVDQU Y0, 2(DI)
	ADDQ $128, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  q80loop

q80done:
	VZEROUPPER
	RET
