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

DATA i127<>+0(SB)/4, $127
GLOBL i127<>(SB), RODATA|NOPTR, $4
DATA fm127<>+0(SB)/4, $0xc2fe0000 // -127
GLOBL fm127<>(SB), RODATA|NOPTR, $4
DATA f1<>+0(SB)/4, $0x3f800000
GLOBL f1<>(SB), RODATA|NOPTR, $4

// Q8KCHUNK quantizes the 32 values at off(SI) (iscale in Y11) into 32
// int8 at qoff(DI), leaving in Y4 the VPHADDD of its two 16-value
// groups' int32 lane sums.
#define Q8KCHUNK(off, qoff) \
	VMULPS off(SI), Y11, Y0 \
	VMULPS off+32(SI), Y11, Y1 \
	VMULPS off+64(SI), Y11, Y2 \
	VMULPS off+96(SI), Y11, Y3 \
	VCVTPS2DQ Y0, Y0 \
	VCVTPS2DQ Y1, Y1 \
	VCVTPS2DQ Y2, Y2 \
	VCVTPS2DQ Y3, Y3 \
	VPMINSD Y9, Y0, Y0 \
	VPMINSD Y9, Y1, Y1 \
	VPMINSD Y9, Y2, Y2 \
	VPMINSD Y9, Y3, Y3 \
	VPADDD Y1, Y0, Y4 \
	VPADDD Y3, Y2, Y5 \
	VPHADDD Y5, Y4, Y4 \
	VPACKSSDW Y1, Y0, Y0 \
	VPACKSSDW Y3, Y2, Y2 \
	VPACKSSWB Y2, Y0, Y0 \
	VPERMD Y0, Y10, Y0 \
	VMOVDQU Y0, qoff(DI)

// Q8KSUMS quantizes 64 values (two chunks of 32 at off0 and off1, to q0
// and q1) and stores their four 16-value
// sums as int16 at boff(DI).
#define Q8KSUMS(off0, q0, off1, q1, boff) \
	Q8KCHUNK(off0, q0) \
	VMOVDQA Y4, Y6 \
	Q8KCHUNK(off1, q1) \
	VPHADDD Y4, Y6, Y6 \
	VEXTRACTI128 $1, Y6, X7 \
	VPADDD X7, X6, X6 \
	VPACKSSDW X6, X6, X6 \
	VMOVQ X6, boff(DI)

// func quantizeQ8_KAVX2(x []float32, dst []byte)
//
// as quantizeQ8_K (ggml's quantize_row_q8_K_ref), byte for byte, per block
// of 256: max = the first value of largest magnitude, iscale = -127/max,
// q = min(127, round-to-nearest-even(iscale·x)) (VCVTPS2DQ), d = 1/iscale,
// bsums = the sums of each 16 quants; an all-zero block is all zeros.
TEXT ·quantizeQ8_KAVX2(SB), NOSPLIT, $0-48
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	SHRQ $8, CX
	MOVQ dst_base+24(FP), DI
	VBROADCASTSS absMask<>(SB), Y8
	VPBROADCASTD i127<>(SB), Y9
	VMOVDQU packPerm<>(SB), Y10
	TESTQ CX, CX
	JZ   q8kdone

q8kblock:
	// amax over the 256 values
	VANDPS (SI), Y8, Y0
	VANDPS 32(SI), Y8, Y1
	VANDPS 64(SI), Y8, Y2
	VANDPS 96(SI), Y8, Y3
	MOVQ $128, AX

q8kmax:
	VANDPS (SI)(AX*1), Y8, Y4
	VANDPS 32(SI)(AX*1), Y8, Y5
	VANDPS 64(SI)(AX*1), Y8, Y6
	VANDPS 96(SI)(AX*1), Y8, Y7
	VMAXPS Y4, Y0, Y0
	VMAXPS Y5, Y1, Y1
	VMAXPS Y6, Y2, Y2
	VMAXPS Y7, Y3, Y3
	ADDQ $128, AX
	CMPQ AX, $1024
	JLT  q8kmax
	VMAXPS Y1, Y0, Y0
	VMAXPS Y3, Y2, Y2
	VMAXPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VMAXPS X1, X0, X0
	VMOVSHDUP X0, X1
	VMAXSS X1, X0, X0          // amax
	VXORPS X1, X1, X1
	VUCOMISS X1, X0
	JEQ  q8kzero
	// the first value whose magnitude is amax
	VBROADCASTSS X0, Y0
	XORQ AX, AX

q8kfind:
	VANDPS (SI)(AX*4), Y8, Y1
	VCMPPS $0, Y0, Y1, Y1
	VMOVMSKPS Y1, BX
	TESTL BX, BX
	JNZ  q8kfound
	ADDQ $8, AX
	CMPQ AX, $256
	JLT  q8kfind
	JMP  q8kzero               // amax is NaN: not reached for finite input

q8kfound:
	BSFL BX, BX
	ADDQ BX, AX
	VMOVSS (SI)(AX*4), X1      // max
	VMOVSS fm127<>(SB), X2
	VDIVSS X1, X2, X2          // iscale = -127/max
	VMOVSS f1<>(SB), X3
	VDIVSS X2, X3, X3          // d = 1/iscale
	VMOVSS X3, (DI)
	VBROADCASTSS X2, Y11
	Q8KSUMS(0, 4, 128, 36, 260)
	Q8KSUMS(256, 68, 384, 100, 268)
	Q8KSUMS(512, 132, 640, 164, 276)
	Q8KSUMS(768, 196, 896, 228, 284)
	JMP  q8knext

q8kzero:
	VPXOR Y0, Y0, Y0
	MOVQ $0, (DI)
	MOVL $0, 8(DI)
	MOVQ $4, AX

q8kclear:
	VMOVDQU Y0, (DI)(AX*1)
	ADDQ $32, AX
	CMPQ AX, $260
	JLT  q8kclear
	VMOVDQU Y0, 260(DI)

q8knext:
	ADDQ $1024, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q8kblock

q8kdone:
	VZEROUPPER
	RET
