//go:build !purego

#include "textflag.h"

// dwTailMask: loading 8 int32 from dwTailMask+4*(8-r) gives a mask of the
// first r lanes.
DATA dwTailMask<>+0(SB)/8, $0xffffffffffffffff
DATA dwTailMask<>+8(SB)/8, $0xffffffffffffffff
DATA dwTailMask<>+16(SB)/8, $0xffffffffffffffff
DATA dwTailMask<>+24(SB)/8, $0xffffffffffffffff
DATA dwTailMask<>+32(SB)/8, $0
DATA dwTailMask<>+40(SB)/8, $0
DATA dwTailMask<>+48(SB)/8, $0
DATA dwTailMask<>+56(SB)/8, $0
GLOBL dwTailMask<>(SB), RODATA|NOPTR, $64

// func dwTapsAVX2(dst *float32, n int, x *float32, offs *int, w *float32, taps int, bias float32, set bool)
//
//	for i in [0, n):
//		acc = set ? bias : dst[i]
//		for t in [0, taps): acc += w[t] * x[offs[t] + i]   (fused multiply-add)
//		dst[i] = acc
//
// Eight vectors (64 outputs: eight independent chains, enough to hide the
// latency of the fused multiply-adds) at a time while they last, then four,
// then one, then the
// last n%8 with masked loads and stores (no access past the n values).
TEXT ·dwTapsAVX2(SB), NOSPLIT, $0-53
	MOVQ dst+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ x+16(FP), SI
	MOVQ offs+24(FP), R8
	MOVQ w+32(FP), R9
	MOVQ taps+40(FP), R10
	VBROADCASTSS bias+48(FP), Y9
	MOVBLZX set+52(FP), R12

loop64:
	CMPQ CX, $64
	JLT  loop32
	TESTQ R12, R12
	JNZ  set64
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	VMOVUPS 128(DI), Y5
	VMOVUPS 160(DI), Y6
	VMOVUPS 192(DI), Y7
	VMOVUPS 224(DI), Y8
	JMP  start64

set64:
	VMOVAPS Y9, Y0
	VMOVAPS Y9, Y1
	VMOVAPS Y9, Y2
	VMOVAPS Y9, Y3
	VMOVAPS Y9, Y5
	VMOVAPS Y9, Y6
	VMOVAPS Y9, Y7
	VMOVAPS Y9, Y8

start64:
	XORQ R11, R11

tap64:
	CMPQ R11, R10
	JGE  done64
	MOVQ (R8)(R11*8), AX
	LEAQ (SI)(AX*4), AX
	VBROADCASTSS (R9)(R11*4), Y4
	VFMADD231PS (AX), Y4, Y0
	VFMADD231PS 32(AX), Y4, Y1
	VFMADD231PS 64(AX), Y4, Y2
	VFMADD231PS 96(AX), Y4, Y3
	VFMADD231PS 128(AX), Y4, Y5
	VFMADD231PS 160(AX), Y4, Y6
	VFMADD231PS 192(AX), Y4, Y7
	VFMADD231PS 224(AX), Y4, Y8
	INCQ R11
	JMP  tap64

done64:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y5, 128(DI)
	VMOVUPS Y6, 160(DI)
	VMOVUPS Y7, 192(DI)
	VMOVUPS Y8, 224(DI)
	ADDQ $256, DI
	ADDQ $256, SI
	SUBQ $64, CX
	JMP  loop64

loop32:
	CMPQ CX, $32
	JLT  loop8
	TESTQ R12, R12
	JNZ  set32
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	JMP  start32

set32:
	VMOVAPS Y9, Y0
	VMOVAPS Y9, Y1
	VMOVAPS Y9, Y2
	VMOVAPS Y9, Y3

start32:
	XORQ R11, R11

tap32:
	CMPQ R11, R10
	JGE  done32
	MOVQ (R8)(R11*8), AX
	LEAQ (SI)(AX*4), AX
	VBROADCASTSS (R9)(R11*4), Y4
	VFMADD231PS (AX), Y4, Y0
	VFMADD231PS 32(AX), Y4, Y1
	VFMADD231PS 64(AX), Y4, Y2
	VFMADD231PS 96(AX), Y4, Y3
	INCQ R11
	JMP  tap32

done32:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, DI
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  loop32

loop8:
	CMPQ CX, $8
	JLT  tail
	VMOVAPS Y9, Y0
	TESTQ R12, R12
	JNZ  start8
	VMOVUPS (DI), Y0

start8:
	XORQ R11, R11

tap8:
	CMPQ R11, R10
	JGE  done8
	MOVQ (R8)(R11*8), AX
	LEAQ (SI)(AX*4), AX
	VBROADCASTSS (R9)(R11*4), Y4
	VFMADD231PS (AX), Y4, Y0
	INCQ R11
	JMP  tap8

done8:
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  loop8

tail:
	TESTQ CX, CX
	JZ    end
	MOVQ  $8, AX
	SUBQ  CX, AX
	LEAQ  dwTailMask<>(SB), DX
	VMOVDQU (DX)(AX*4), Y5
	VMOVAPS Y9, Y0
	TESTQ R12, R12
	JNZ  startTail
	VMASKMOVPS (DI), Y5, Y0

startTail:
	XORQ R11, R11

tapTail:
	CMPQ R11, R10
	JGE  doneTail
	MOVQ (R8)(R11*8), AX
	LEAQ (SI)(AX*4), AX
	VBROADCASTSS (R9)(R11*4), Y4
	VMASKMOVPS (AX), Y5, Y6
	VFMADD231PS Y6, Y4, Y0
	INCQ R11
	JMP  tapTail

doneTail:
	VMASKMOVPS Y0, Y5, (DI)

end:
	VZEROUPPER
	RET
