//go:build !purego

#include "textflag.h"

// AttnDotCols's assembly (attn_cols_amd64.go): attnDotGeneric of one row x
// with many columns of a matrix, one column per lane, so that the chains of
// fused multiply-adds of sixteen (eight) dot products advance in one
// instruction. Each lane computes exactly attnDotGeneric's operations in
// its order.

// func attnDotCols16AVX512(out, x *float32, n int, m *float32, stride, groups int)
//
// n < 64: per lane acc = fma(x[i], m[i][c], acc) for i = 0..n-1 from 0.
// Four groups at a time while there are four, then one at a time.
TEXT ·attnDotCols16AVX512(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), R11
	MOVQ x+8(FP), R12
	MOVQ n+16(FP), R13
	MOVQ m+24(FP), R14
	MOVQ stride+32(FP), R9
	SHLQ $2, R9
	MOVQ groups+40(FP), R15

c16quad:
	CMPQ R15, $4
	JLT  c16one
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	MOVQ R12, SI
	MOVQ R14, DI
	MOVQ R13, CX

c16quadloop:
	VBROADCASTSS (SI), Z16
	VFMADD231PS (DI), Z16, Z0
	VFMADD231PS 64(DI), Z16, Z1
	VFMADD231PS 128(DI), Z16, Z2
	VFMADD231PS 192(DI), Z16, Z3
	ADDQ $4, SI
	ADDQ R9, DI
	DECQ CX
	JNZ  c16quadloop
	VMOVUPS Z0, (R11)
	VMOVUPS Z1, 64(R11)
	VMOVUPS Z2, 128(R11)
	VMOVUPS Z3, 192(R11)
	ADDQ $256, R11
	ADDQ $256, R14
	SUBQ $4, R15
	JMP  c16quad

c16one:
	TESTQ R15, R15
	JZ    c16done
	VPXORD Z0, Z0, Z0
	MOVQ R12, SI
	MOVQ R14, DI
	MOVQ R13, CX

c16oneloop:
	VBROADCASTSS (SI), Z16
	VFMADD231PS (DI), Z16, Z0
	ADDQ $4, SI
	ADDQ R9, DI
	DECQ CX
	JNZ  c16oneloop
	VMOVUPS Z0, (R11)
	ADDQ $64, R11
	ADDQ $64, R14
	DECQ R15
	JMP  c16one

c16done:
	VZEROUPPER
	RET

// func attnDotCols64AVX512(out, x *float32, n int, m *float32, stride, groups int)
//
// n >= 64, per lane as attnDotGeneric: accumulators A[c][l] (c < 4, l < 16)
// over the chunks of 64 rows, A[c][l] = fma(x[64k+16c+l], m[64k+16c+l][col],
// A[c][l]); u[l] = (A[0][l]+A[2][l]) + (A[1][l]+A[3][l]); t[i] = u[i] +
// u[i+8]; s = ((t0+t4)+(t2+t6)) + ((t1+t5)+(t3+t7)); then the rows after
// the chunks, s = fma(x[i], m[i][col], s). For each i < 8 the eight
// accumulators of u[i] and u[i+8] run together (Z8-Z15) and t[i] goes to
// the stack (0-511(SP)).
//
// Frame: t[0..7] at 0(SP), the byte offset of the rows after the chunks
// at 512(SP), their count at 520(SP), the byte offset of their x at
// 528(SP).
TEXT ·attnDotCols64AVX512(SB), 0, $544-48
	MOVQ out+0(FP), R11
	MOVQ x+8(FP), R12
	MOVQ n+16(FP), R13
	MOVQ m+24(FP), R14
	MOVQ stride+32(FP), R9
	SHLQ $2, R9              // R9: a row, in bytes
	MOVQ groups+40(FP), R15
	MOVQ R9, R10
	SHLQ $4, R10             // R10: sixteen rows
	MOVQ R13, BX
	SHRQ $6, BX              // BX: chunks of 64 rows
	MOVQ R13, AX
	ANDQ $63, AX
	MOVQ AX, 520(SP)         // rows after the chunks
	MOVQ BX, AX
	SHLQ $2, AX
	IMULQ R10, AX
	MOVQ AX, 512(SP)         // their offset in m
	MOVQ BX, AX
	SHLQ $8, AX
	MOVQ AX, 528(SP)         // their offset in x

c64group:
	MOVQ R14, DX             // DX: row i of this group's columns
	MOVQ R12, SI             // SI: &x[i]
	XORQ AX, AX              // AX: i, 0..7

c64i:
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	MOVQ DX, DI
	MOVQ SI, R8
	MOVQ BX, CX

c64chunk:
	// rows 64k+i and 64k+i+8 of each sixteen (c = 0..3)
	VBROADCASTSS (R8), Z16
	VFMADD231PS (DI), Z16, Z8
	VBROADCASTSS 32(R8), Z17
	VFMADD231PS (DI)(R9*8), Z17, Z12
	LEAQ (DI)(R10*1), R13
	VBROADCASTSS 64(R8), Z18
	VFMADD231PS (R13), Z18, Z9
	VBROADCASTSS 96(R8), Z19
	VFMADD231PS (R13)(R9*8), Z19, Z13
	LEAQ (DI)(R10*2), R13
	VBROADCASTSS 128(R8), Z20
	VFMADD231PS (R13), Z20, Z10
	VBROADCASTSS 160(R8), Z21
	VFMADD231PS (R13)(R9*8), Z21, Z14
	ADDQ R10, R13
	VBROADCASTSS 192(R8), Z22
	VFMADD231PS (R13), Z22, Z11
	VBROADCASTSS 224(R8), Z23
	VFMADD231PS (R13)(R9*8), Z23, Z15
	LEAQ (DI)(R10*4), DI
	ADDQ $256, R8
	DECQ CX
	JNZ  c64chunk

	VADDPS Z10, Z8, Z8       // A0+A2
	VADDPS Z11, Z9, Z9       // A1+A3
	VADDPS Z9, Z8, Z8        // u[i]
	VADDPS Z14, Z12, Z12
	VADDPS Z15, Z13, Z13
	VADDPS Z13, Z12, Z12     // u[i+8]
	VADDPS Z12, Z8, Z8       // t[i]
	MOVQ AX, R13
	SHLQ $6, R13
	VMOVUPS Z8, (SP)(R13*1)
	ADDQ R9, DX
	ADDQ $4, SI
	INCQ AX
	CMPQ AX, $8
	JLT  c64i

	VMOVUPS 0(SP), Z0
	VMOVUPS 64(SP), Z1
	VMOVUPS 128(SP), Z2
	VMOVUPS 192(SP), Z3
	VMOVUPS 256(SP), Z4
	VMOVUPS 320(SP), Z5
	VMOVUPS 384(SP), Z6
	VMOVUPS 448(SP), Z7
	VADDPS Z4, Z0, Z0        // t0+t4
	VADDPS Z5, Z1, Z1        // t1+t5
	VADDPS Z6, Z2, Z2        // t2+t6
	VADDPS Z7, Z3, Z3        // t3+t7
	VADDPS Z2, Z0, Z0
	VADDPS Z3, Z1, Z1
	VADDPS Z1, Z0, Z0

	MOVQ 520(SP), CX
	TESTQ CX, CX
	JZ    c64store
	MOVQ R14, DI
	ADDQ 512(SP), DI
	MOVQ R12, R8
	ADDQ 528(SP), R8

c64tail:
	VBROADCASTSS (R8), Z16
	VFMADD231PS (DI), Z16, Z0
	ADDQ $4, R8
	ADDQ R9, DI
	DECQ CX
	JNZ  c64tail

c64store:
	VMOVUPS Z0, (R11)
	ADDQ $64, R11
	ADDQ $64, R14
	DECQ R15
	JNZ  c64group
	VZEROUPPER
	RET

// func attnDotCols8AVX2(out, x *float32, n int, m *float32, stride, groups int)
//
// attnDotCols16AVX512 with eight lanes (n < 64).
TEXT ·attnDotCols8AVX2(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), R11
	MOVQ x+8(FP), R12
	MOVQ n+16(FP), R13
	MOVQ m+24(FP), R14
	MOVQ stride+32(FP), R9
	SHLQ $2, R9
	MOVQ groups+40(FP), R15

c8quad:
	CMPQ R15, $4
	JLT  c8one
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ R12, SI
	MOVQ R14, DI
	MOVQ R13, CX

c8quadloop:
	VBROADCASTSS (SI), Y8
	VFMADD231PS (DI), Y8, Y0
	VFMADD231PS 32(DI), Y8, Y1
	VFMADD231PS 64(DI), Y8, Y2
	VFMADD231PS 96(DI), Y8, Y3
	ADDQ $4, SI
	ADDQ R9, DI
	DECQ CX
	JNZ  c8quadloop
	VMOVUPS Y0, (R11)
	VMOVUPS Y1, 32(R11)
	VMOVUPS Y2, 64(R11)
	VMOVUPS Y3, 96(R11)
	ADDQ $128, R11
	ADDQ $128, R14
	SUBQ $4, R15
	JMP  c8quad

c8one:
	TESTQ R15, R15
	JZ    c8done
	VXORPS Y0, Y0, Y0
	MOVQ R12, SI
	MOVQ R14, DI
	MOVQ R13, CX

c8oneloop:
	VBROADCASTSS (SI), Y8
	VFMADD231PS (DI), Y8, Y0
	ADDQ $4, SI
	ADDQ R9, DI
	DECQ CX
	JNZ  c8oneloop
	VMOVUPS Y0, (R11)
	ADDQ $32, R11
	ADDQ $32, R14
	DECQ R15
	JMP  c8one

c8done:
	VZEROUPPER
	RET

// The gather versions: row r of key j at k + (j*stride + r)*4. Z24 holds
// the sixteen keys' offsets j*stride (int32), K1 the gather mask (all set
// before each gather, which clears it).

DATA rowidx<>+0(SB)/4, $0
DATA rowidx<>+4(SB)/4, $1
DATA rowidx<>+8(SB)/4, $2
DATA rowidx<>+12(SB)/4, $3
DATA rowidx<>+16(SB)/4, $4
DATA rowidx<>+20(SB)/4, $5
DATA rowidx<>+24(SB)/4, $6
DATA rowidx<>+28(SB)/4, $7
DATA rowidx<>+32(SB)/4, $8
DATA rowidx<>+36(SB)/4, $9
DATA rowidx<>+40(SB)/4, $10
DATA rowidx<>+44(SB)/4, $11
DATA rowidx<>+48(SB)/4, $12
DATA rowidx<>+52(SB)/4, $13
DATA rowidx<>+56(SB)/4, $14
DATA rowidx<>+60(SB)/4, $15
GLOBL rowidx<>(SB), RODATA|NOPTR, $64

// func attnDotRows16AVX512(out, x *float32, n int, k *float32, stride, groups int)
TEXT ·attnDotRows16AVX512(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), R11
	MOVQ x+8(FP), R12
	MOVQ n+16(FP), R13
	MOVQ k+24(FP), R14
	MOVQ stride+32(FP), R9
	MOVQ groups+40(FP), R15
	VPBROADCASTD R9, Z24
	VPMULLD rowidx<>(SB), Z24, Z24   // j*stride
	MOVQ R9, R10
	SHLQ $6, R10                     // sixteen rows, in bytes

r16group:
	VPXORD Z0, Z0, Z0
	MOVQ R12, SI
	MOVQ R14, DI
	MOVQ R13, CX

r16loop:
	KXNORW K1, K1, K1
	VGATHERDPS (DI)(Z24*4), K1, Z1
	VBROADCASTSS (SI), Z16
	VFMADD231PS Z1, Z16, Z0
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JNZ  r16loop
	VMOVUPS Z0, (R11)
	ADDQ $64, R11
	ADDQ R10, R14
	DECQ R15
	JNZ  r16group
	VZEROUPPER
	RET

// func attnDotRows64AVX512(out, x *float32, n int, k *float32, stride, groups int)
//
// attnDotCols64AVX512's order with element r of the sixteen keys gathered
// from k + r*4 (+ j*stride*4). Frame as there.
TEXT ·attnDotRows64AVX512(SB), 0, $544-48
	MOVQ out+0(FP), R11
	MOVQ x+8(FP), R12
	MOVQ n+16(FP), R13
	MOVQ k+24(FP), R14
	MOVQ stride+32(FP), R9
	MOVQ groups+40(FP), R15
	VPBROADCASTD R9, Z24
	VPMULLD rowidx<>(SB), Z24, Z24
	SHLQ $6, R9                      // R9: sixteen keys, in bytes
	MOVQ R13, BX
	SHRQ $6, BX                      // BX: chunks of 64 elements
	MOVQ R13, AX
	ANDQ $63, AX
	MOVQ AX, 520(SP)                 // elements after the chunks
	MOVQ BX, AX
	SHLQ $8, AX
	MOVQ AX, 512(SP)                 // their byte offset (in x and in a key)

g64group:
	MOVQ R14, DX                     // DX: &key[0][i] of this group
	MOVQ R12, SI                     // SI: &x[i]
	XORQ AX, AX

g64i:
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	MOVQ DX, DI
	MOVQ SI, R8
	MOVQ BX, CX

g64chunk:
	KXNORW K1, K1, K1
	VGATHERDPS (DI)(Z24*4), K1, Z1
	VBROADCASTSS (R8), Z16
	VFMADD231PS Z1, Z16, Z8
	KXNORW K1, K1, K1
	VGATHERDPS 32(DI)(Z24*4), K1, Z1
	VBROADCASTSS 32(R8), Z16
	VFMADD231PS Z1, Z16, Z12
	KXNORW K1, K1, K1
	VGATHERDPS 64(DI)(Z24*4), K1, Z1
	VBROADCASTSS 64(R8), Z16
	VFMADD231PS Z1, Z16, Z9
	KXNORW K1, K1, K1
	VGATHERDPS 96(DI)(Z24*4), K1, Z1
	VBROADCASTSS 96(R8), Z16
	VFMADD231PS Z1, Z16, Z13
	KXNORW K1, K1, K1
	VGATHERDPS 128(DI)(Z24*4), K1, Z1
	VBROADCASTSS 128(R8), Z16
	VFMADD231PS Z1, Z16, Z10
	KXNORW K1, K1, K1
	VGATHERDPS 160(DI)(Z24*4), K1, Z1
	VBROADCASTSS 160(R8), Z16
	VFMADD231PS Z1, Z16, Z14
	KXNORW K1, K1, K1
	VGATHERDPS 192(DI)(Z24*4), K1, Z1
	VBROADCASTSS 192(R8), Z16
	VFMADD231PS Z1, Z16, Z11
	KXNORW K1, K1, K1
	VGATHERDPS 224(DI)(Z24*4), K1, Z1
	VBROADCASTSS 224(R8), Z16
	VFMADD231PS Z1, Z16, Z15
	ADDQ $256, DI
	ADDQ $256, R8
	DECQ CX
	JNZ  g64chunk

	VADDPS Z10, Z8, Z8
	VADDPS Z11, Z9, Z9
	VADDPS Z9, Z8, Z8
	VADDPS Z14, Z12, Z12
	VADDPS Z15, Z13, Z13
	VADDPS Z13, Z12, Z12
	VADDPS Z12, Z8, Z8
	MOVQ AX, R13
	SHLQ $6, R13
	VMOVUPS Z8, (SP)(R13*1)
	ADDQ $4, DX
	ADDQ $4, SI
	INCQ AX
	CMPQ AX, $8
	JLT  g64i

	VMOVUPS 0(SP), Z0
	VMOVUPS 64(SP), Z1
	VMOVUPS 128(SP), Z2
	VMOVUPS 192(SP), Z3
	VMOVUPS 256(SP), Z4
	VMOVUPS 320(SP), Z5
	VMOVUPS 384(SP), Z6
	VMOVUPS 448(SP), Z7
	VADDPS Z4, Z0, Z0
	VADDPS Z5, Z1, Z1
	VADDPS Z6, Z2, Z2
	VADDPS Z7, Z3, Z3
	VADDPS Z2, Z0, Z0
	VADDPS Z3, Z1, Z1
	VADDPS Z1, Z0, Z0

	MOVQ 520(SP), CX
	TESTQ CX, CX
	JZ    g64store
	MOVQ R14, DI
	ADDQ 512(SP), DI
	MOVQ R12, R8
	ADDQ 512(SP), R8

g64tail:
	KXNORW K1, K1, K1
	VGATHERDPS (DI)(Z24*4), K1, Z1
	VBROADCASTSS (R8), Z16
	VFMADD231PS Z1, Z16, Z0
	ADDQ $4, R8
	ADDQ $4, DI
	DECQ CX
	JNZ  g64tail

g64store:
	VMOVUPS Z0, (R11)
	ADDQ $64, R11
	ADDQ R9, R14
	DECQ R15
	JNZ  g64group
	VZEROUPPER
	RET

// func attnDotRows8AVX2(out, x *float32, n int, k *float32, stride, groups int)
TEXT ·attnDotRows8AVX2(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), R11
	MOVQ x+8(FP), R12
	MOVQ n+16(FP), R13
	MOVQ k+24(FP), R14
	MOVQ stride+32(FP), R9
	MOVQ groups+40(FP), R15
	MOVQ R9, X4
	VPBROADCASTD X4, Y4
	VPMULLD rowidx<>(SB), Y4, Y4     // j*stride, j < 8
	MOVQ R9, R10
	SHLQ $5, R10                     // eight rows, in bytes

r8group:
	VXORPS Y0, Y0, Y0
	MOVQ R12, SI
	MOVQ R14, DI
	MOVQ R13, CX

r8loop:
	VPCMPEQD Y5, Y5, Y5
	VGATHERDPS Y5, (DI)(Y4*4), Y1
	VBROADCASTSS (SI), Y8
	VFMADD231PS Y1, Y8, Y0
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JNZ  r8loop
	VMOVUPS Y0, (R11)
	ADDQ $32, R11
	ADDQ R10, R14
	DECQ R15
	JNZ  r8group
	VZEROUPPER
	RET
