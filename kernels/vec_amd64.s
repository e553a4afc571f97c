//go:build !purego

#include "textflag.h"

// func dotF32AVX2(a, b []float32) float32
//
//	s[k] += round(a[i]·b[i]) for i ≡ k (mod 4), four at a time (one XMM)
//	s[0] += round(a[i]·b[i]) for the last n%4
//	return (s0+s1) + (s2+s3)
//
// bit for bit as dotGeneric: no fused multiply-add, the same four partial
// sums in the same order, so a model's results do not depend on the path.
TEXT ·dotF32AVX2(SB), NOSPLIT, $0-52
	MOVQ a_base+0(FP), SI
	MOVQ a_len+8(FP), CX
	MOVQ b_base+24(FP), DI
	VXORPS X0, X0, X0

loop16:
	CMPQ CX, $16
	JLT  loop4
	VMOVUPS (SI), X1
	VMOVUPS 16(SI), X2
	VMOVUPS 32(SI), X3
	VMOVUPS 48(SI), X4
	VMULPS (DI), X1, X1
	VMULPS 16(DI), X2, X2
	VMULPS 32(DI), X3, X3
	VMULPS 48(DI), X4, X4
	VADDPS X1, X0, X0
	VADDPS X2, X0, X0
	VADDPS X3, X0, X0
	VADDPS X4, X0, X0
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  loop16

loop4:
	CMPQ CX, $4
	JLT  tail
	VMOVUPS (SI), X1
	VMULPS (DI), X1, X1
	VADDPS X1, X0, X0
	ADDQ $16, SI
	ADDQ $16, DI
	SUBQ $4, CX
	JMP  loop4

tail:
	TESTQ CX, CX
	JZ    done
	VMOVSS (SI), X1
	VMULSS (DI), X1, X1
	VADDSS X1, X0, X0
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  tail

done:
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, ret+48(FP)
	RET

// func axpyF32AVX2(dst []float32, alpha float32, x []float32)
//
//	dst[i] = dst[i] + round(alpha*x[i])
TEXT ·axpyF32AVX2(SB), NOSPLIT, $0-56
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	VBROADCASTSS alpha+24(FP), Y0
	MOVQ x_base+32(FP), SI

axpy16:
	CMPQ CX, $16
	JLT  axpy1
	VMULPS (SI), Y0, Y1
	VMULPS 32(SI), Y0, Y2
	VADDPS (DI), Y1, Y1
	VADDPS 32(DI), Y2, Y2
	VMOVUPS Y1, (DI)
	VMOVUPS Y2, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  axpy16

axpy1:
	TESTQ CX, CX
	JZ    axpydone
	VMULSS (SI), X0, X1
	VADDSS (DI), X1, X1
	VMOVSS X1, (DI)
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  axpy1

axpydone:
	VZEROUPPER
	RET

// func scaleF32AVX2(x []float32, s float32)
//
//	x[i] *= s
TEXT ·scaleF32AVX2(SB), NOSPLIT, $0-28
	MOVQ x_base+0(FP), DI
	MOVQ x_len+8(FP), CX
	VBROADCASTSS s+24(FP), Y0

scale16:
	CMPQ CX, $16
	JLT  scale1
	VMULPS (DI), Y0, Y1
	VMULPS 32(DI), Y0, Y2
	VMOVUPS Y1, (DI)
	VMOVUPS Y2, 32(DI)
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  scale16

scale1:
	TESTQ CX, CX
	JZ    scaledone
	VMULSS (DI), X0, X1
	VMOVSS X1, (DI)
	ADDQ $4, DI
	DECQ CX
	JMP  scale1

scaledone:
	VZEROUPPER
	RET
