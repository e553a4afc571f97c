//go:build !purego

#include "textflag.h"

// AVX2 (F16C) and AVX-512 versions of the KV-cache attention routines of
// attn_kv.go, bit-identical to the generic ones: VCVTPH2PS is f16 (exact),
// VCVTPS2PH $0 is f32ToF16 (round to nearest even), VFMADD231PS is fma32,
// in the generic order.

// KVREDUCE16 sums the sixteen lanes of Z0 as reduce16 into X0 (clobbers Y1).
#define KVREDUCE16 \
	VEXTRACTF64X4 $1, Z0, Y1 \
	VADDPS Y1, Y0, Y0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X1, X0, X0 \
	VMOVHLPS X0, X0, X1 \
	VADDPS X1, X0, X0 \
	VMOVSHDUP X0, X1 \
	VADDSS X1, X0, X0

// F16TAIL is one step of AttnDotF16's scalar tail: X0 += q[i]·f16(k[i])
// with q[i] at (SI), k[i] at (DI); it advances both.
#define F16TAIL \
	MOVWLZX (DI), AX \
	VMOVD AX, X2 \
	VCVTPH2PS X2, X2 \
	VFMADD231SS (SI), X2, X0 \
	ADDQ $4, SI \
	ADDQ $2, DI

// func roundF16AVX2(x *float32, n8 int)
//
// for i < n8: x[i] = f16(f32ToF16(x[i]))
TEXT ·roundF16AVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n8+8(FP), CX
	SHRQ $3, CX
	JZ   rdone

rloop:
	VMOVUPS   (SI), Y0
	VCVTPS2PH $0, Y0, X1
	VCVTPH2PS X1, Y0
	VMOVUPS   Y0, (SI)
	ADDQ      $32, SI
	DECQ      CX
	JNZ       rloop

rdone:
	VZEROUPPER
	RET

// func attnDotF16RowsAVX512(sc, q []float32, k *uint16, stride int)
//
// for t < len(sc): sc[t] = AttnDotF16(q, k[t·stride:]) (four sixteen-lane
// accumulators over 64 values at a time, reduced as the generic code).
TEXT ·attnDotF16RowsAVX512(SB), NOSPLIT, $0-64
	MOVQ sc_base+0(FP), R8
	MOVQ sc_len+8(FP), R9
	MOVQ q_base+24(FP), R10
	MOVQ q_len+32(FP), R11
	MOVQ k+48(FP), R12
	MOVQ stride+56(FP), R13
	SHLQ $1, R13
	TESTQ R9, R9
	JZ   hdone

hrow:
	MOVQ   R10, SI
	MOVQ   R12, DI
	MOVQ   R11, CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	MOVQ   CX, DX
	SHRQ   $6, DX
	JZ     htail0

hloop:
	VCVTPH2PS   (DI), Z4
	VCVTPH2PS   32(DI), Z5
	VCVTPH2PS   64(DI), Z6
	VCVTPH2PS   96(DI), Z7
	VFMADD231PS (SI), Z4, Z0
	VFMADD231PS 64(SI), Z5, Z1
	VFMADD231PS 128(SI), Z6, Z2
	VFMADD231PS 192(SI), Z7, Z3
	ADDQ        $256, SI
	ADDQ        $128, DI
	DECQ        DX
	JNZ         hloop
	VADDPS      Z2, Z0, Z0
	VADDPS      Z3, Z1, Z1
	VADDPS      Z1, Z0, Z0
	KVREDUCE16

htail0:
	ANDQ $63, CX
	JZ   hstore

htail:
	F16TAIL
	DECQ CX
	JNZ  htail

hstore:
	VMOVSS X0, (R8)
	ADDQ   $4, R8
	ADDQ   R13, R12
	DECQ   R9
	JNZ    hrow

hdone:
	VZEROUPPER
	RET

// func attnDotF16RowsAVX2(sc, q []float32, k *uint16, stride int)
//
// attnDotF16RowsAVX512 with each sixteen-lane accumulator in two YMM
// registers: acc0 = Y0:Y1, acc1 = Y2:Y3, acc2 = Y4:Y5, acc3 = Y6:Y7.
TEXT ·attnDotF16RowsAVX2(SB), NOSPLIT, $0-64
	MOVQ sc_base+0(FP), R8
	MOVQ sc_len+8(FP), R9
	MOVQ q_base+24(FP), R10
	MOVQ q_len+32(FP), R11
	MOVQ k+48(FP), R12
	MOVQ stride+56(FP), R13
	SHLQ $1, R13
	TESTQ R9, R9
	JZ   h2done

h2row:
	MOVQ   R10, SI
	MOVQ   R12, DI
	MOVQ   R11, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ   CX, DX
	SHRQ   $6, DX
	JZ     h2tail0

h2loop:
	VCVTPH2PS   (DI), Y8
	VCVTPH2PS   16(DI), Y9
	VCVTPH2PS   32(DI), Y10
	VCVTPH2PS   48(DI), Y11
	VCVTPH2PS   64(DI), Y12
	VCVTPH2PS   80(DI), Y13
	VCVTPH2PS   96(DI), Y14
	VCVTPH2PS   112(DI), Y15
	VFMADD231PS (SI), Y8, Y0
	VFMADD231PS 32(SI), Y9, Y1
	VFMADD231PS 64(SI), Y10, Y2
	VFMADD231PS 96(SI), Y11, Y3
	VFMADD231PS 128(SI), Y12, Y4
	VFMADD231PS 160(SI), Y13, Y5
	VFMADD231PS 192(SI), Y14, Y6
	VFMADD231PS 224(SI), Y15, Y7
	ADDQ        $256, SI
	ADDQ        $128, DI
	DECQ        DX
	JNZ         h2loop

	// acc0 += acc2, acc1 += acc3, acc0 += acc1, then reduce16
	VADDPS       Y4, Y0, Y0
	VADDPS       Y5, Y1, Y1
	VADDPS       Y6, Y2, Y2
	VADDPS       Y7, Y3, Y3
	VADDPS       Y2, Y0, Y0
	VADDPS       Y3, Y1, Y1
	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0

h2tail0:
	ANDQ $63, CX
	JZ   h2store

h2tail:
	F16TAIL
	DECQ CX
	JNZ  h2tail

h2store:
	VMOVSS X0, (R8)
	ADDQ   $4, R8
	ADDQ   R13, R12
	DECQ   R9
	JNZ    h2row

h2done:
	VZEROUPPER
	RET

// func attnValuesF16AVX512(out *float32, p []float32, v *uint16, stride, chunks int)
//
// attnValuesF16Generic for the 16·chunks values out[d], sixteen at a time,
// the sixteen accumulators acc[t&15] in Z0-Z15, reduced as reduce16.
TEXT ·attnValuesF16AVX512(SB), 0, $1024-56
	MOVQ out+0(FP), R11
	MOVQ p_base+8(FP), R12
	MOVQ p_len+16(FP), R13
	MOVQ v+32(FP), R10
	MOVQ stride+40(FP), R9
	SHLQ $1, R9
	MOVQ chunks+48(FP), BX

vhchunk:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	MOVQ   R12, SI
	MOVQ   R10, DI
	MOVQ   R13, DX
	SHRQ   $4, DX
	JZ     vhtail

#define VHSTEP(off, acc) \
	VBROADCASTSS off(SI), Z16 \
	VCVTPH2PS (DI), Z17 \
	VFMADD231PS Z17, Z16, acc \
	ADDQ R9, DI

vhloop:
	VHSTEP(0, Z0)
	VHSTEP(4, Z1)
	VHSTEP(8, Z2)
	VHSTEP(12, Z3)
	VHSTEP(16, Z4)
	VHSTEP(20, Z5)
	VHSTEP(24, Z6)
	VHSTEP(28, Z7)
	VHSTEP(32, Z8)
	VHSTEP(36, Z9)
	VHSTEP(40, Z10)
	VHSTEP(44, Z11)
	VHSTEP(48, Z12)
	VHSTEP(52, Z13)
	VHSTEP(56, Z14)
	VHSTEP(60, Z15)
	ADDQ $64, SI
	DECQ DX
	JNZ  vhloop

vhtail:
	MOVQ    R13, DX
	ANDQ    $15, DX
	JZ      vhreduce
	VMOVUPS Z0, 0(SP)
	VMOVUPS Z1, 64(SP)
	VMOVUPS Z2, 128(SP)
	VMOVUPS Z3, 192(SP)
	VMOVUPS Z4, 256(SP)
	VMOVUPS Z5, 320(SP)
	VMOVUPS Z6, 384(SP)
	VMOVUPS Z7, 448(SP)
	VMOVUPS Z8, 512(SP)
	VMOVUPS Z9, 576(SP)
	VMOVUPS Z10, 640(SP)
	VMOVUPS Z11, 704(SP)
	VMOVUPS Z12, 768(SP)
	VMOVUPS Z13, 832(SP)
	VMOVUPS Z14, 896(SP)
	MOVQ    SP, AX

vhtailloop:
	VBROADCASTSS (SI), Z16
	VMOVUPS      (AX), Z17
	VCVTPH2PS    (DI), Z18
	VFMADD231PS  Z18, Z16, Z17
	VMOVUPS      Z17, (AX)
	ADDQ         $4, SI
	ADDQ         R9, DI
	ADDQ         $64, AX
	DECQ         DX
	JNZ          vhtailloop
	VMOVUPS      0(SP), Z0
	VMOVUPS      64(SP), Z1
	VMOVUPS      128(SP), Z2
	VMOVUPS      192(SP), Z3
	VMOVUPS      256(SP), Z4
	VMOVUPS      320(SP), Z5
	VMOVUPS      384(SP), Z6
	VMOVUPS      448(SP), Z7
	VMOVUPS      512(SP), Z8
	VMOVUPS      576(SP), Z9
	VMOVUPS      640(SP), Z10
	VMOVUPS      704(SP), Z11
	VMOVUPS      768(SP), Z12
	VMOVUPS      832(SP), Z13
	VMOVUPS      896(SP), Z14

vhreduce:
	VADDPS  Z8, Z0, Z0
	VADDPS  Z9, Z1, Z1
	VADDPS  Z10, Z2, Z2
	VADDPS  Z11, Z3, Z3
	VADDPS  Z12, Z4, Z4
	VADDPS  Z13, Z5, Z5
	VADDPS  Z14, Z6, Z6
	VADDPS  Z15, Z7, Z7
	VADDPS  Z4, Z0, Z0
	VADDPS  Z5, Z1, Z1
	VADDPS  Z6, Z2, Z2
	VADDPS  Z7, Z3, Z3
	VADDPS  Z2, Z0, Z0
	VADDPS  Z3, Z1, Z1
	VADDPS  Z1, Z0, Z0
	VMOVUPS Z0, (R11)
	ADDQ    $64, R11
	ADDQ    $32, R10
	DECQ    BX
	JNZ     vhchunk
	VZEROUPPER
	RET

// func attnValuesF16AVX2(out *float32, p []float32, v *uint16, stride, chunks int)
//
// attnValuesF16AVX512 for 8 output values per chunk: the sixteen
// accumulators (t mod 16) of eight lanes live on the stack.
TEXT ·attnValuesF16AVX2(SB), 0, $512-56
	MOVQ out+0(FP), R11
	MOVQ p_base+8(FP), R12
	MOVQ p_len+16(FP), R13
	MOVQ v+32(FP), R10
	MOVQ stride+40(FP), R9
	SHLQ $1, R9
	MOVQ chunks+48(FP), BX

vh2chunk:
	VXORPS Y0, Y0, Y0
	MOVQ   $0, AX

vh2zero:
	VMOVUPS Y0, (SP)(AX*1)
	ADDQ    $32, AX
	CMPQ    AX, $512
	JLT     vh2zero
	MOVQ    R12, SI
	MOVQ    R10, DI
	MOVQ    R13, DX
	XORQ    AX, AX

vh2loop:
	VBROADCASTSS (SI), Y0
	VCVTPH2PS    (DI), Y2
	VMOVUPS      (SP)(AX*1), Y1
	VFMADD231PS  Y2, Y0, Y1
	VMOVUPS      Y1, (SP)(AX*1)
	ADDQ         $4, SI
	ADDQ         R9, DI
	ADDQ         $32, AX
	ANDQ         $511, AX
	DECQ         DX
	JNZ          vh2loop

	VMOVUPS 0(SP), Y0
	VMOVUPS 32(SP), Y1
	VMOVUPS 64(SP), Y2
	VMOVUPS 96(SP), Y3
	VMOVUPS 128(SP), Y4
	VMOVUPS 160(SP), Y5
	VMOVUPS 192(SP), Y6
	VMOVUPS 224(SP), Y7
	VADDPS  256(SP), Y0, Y0
	VADDPS  288(SP), Y1, Y1
	VADDPS  320(SP), Y2, Y2
	VADDPS  352(SP), Y3, Y3
	VADDPS  384(SP), Y4, Y4
	VADDPS  416(SP), Y5, Y5
	VADDPS  448(SP), Y6, Y6
	VADDPS  480(SP), Y7, Y7
	VADDPS  Y4, Y0, Y0
	VADDPS  Y5, Y1, Y1
	VADDPS  Y6, Y2, Y2
	VADDPS  Y7, Y3, Y3
	VADDPS  Y2, Y0, Y0
	VADDPS  Y3, Y1, Y1
	VADDPS  Y1, Y0, Y0
	VMOVUPS Y0, (R11)
	ADDQ    $32, R11
	ADDQ    $16, R10
	DECQ    BX
	JNZ     vh2chunk
	VZEROUPPER
	RET

// QSCALE sets Y4 to the block scale f16 at (DI) in every lane and Y5 to
// p[t] at (SI).
#define QSCALE \
	MOVWLZX      (DI), AX \
	VMOVD        AX, X4 \
	VCVTPH2PS    X4, X4 \
	VBROADCASTSS X4, Y4 \
	VBROADCASTSS (SI), Y5

// QACC adds p[t]·(q·d) to the accumulators Y0-Y3 for the 32 int32 values
// in Y6-Y9 (q·d is exact: an 8-bit integer times a float16).
#define QACC \
	VCVTDQ2PS   Y6, Y6 \
	VCVTDQ2PS   Y7, Y7 \
	VCVTDQ2PS   Y8, Y8 \
	VCVTDQ2PS   Y9, Y9 \
	VMULPS      Y4, Y6, Y6 \
	VMULPS      Y4, Y7, Y7 \
	VMULPS      Y4, Y8, Y8 \
	VMULPS      Y4, Y9, Y9 \
	VFMADD231PS Y6, Y5, Y0 \
	VFMADD231PS Y7, Y5, Y1 \
	VFMADD231PS Y8, Y5, Y2 \
	VFMADD231PS Y9, Y5, Y3

// func attnValuesQ8_0AVX2(out *float32, p []float32, v *byte, rowBytes, blocks int)
//
// for each block b < blocks, for t < len(p) (len(p) >= 1), for i < 32:
// out[32b+i] = fma32(p[t], int8(q_i)·d, out[32b+i]), the block at
// v + t·rowBytes + 34b.
TEXT ·attnValuesQ8_0AVX2(SB), NOSPLIT, $0-56
	MOVQ out+0(FP), R11
	MOVQ p_base+8(FP), R12
	MOVQ p_len+16(FP), R13
	MOVQ v+32(FP), R10
	MOVQ rowBytes+40(FP), R9
	MOVQ blocks+48(FP), BX

q8blk:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ   R12, SI
	MOVQ   R10, DI
	MOVQ   R13, DX

q8row:
	QSCALE
	VPMOVSXBD 2(DI), Y6
	VPMOVSXBD 10(DI), Y7
	VPMOVSXBD 18(DI), Y8
	VPMOVSXBD 26(DI), Y9
	QACC
	ADDQ      $4, SI
	ADDQ      R9, DI
	DECQ      DX
	JNZ       q8row
	VMOVUPS   Y0, (R11)
	VMOVUPS   Y1, 32(R11)
	VMOVUPS   Y2, 64(R11)
	VMOVUPS   Y3, 96(R11)
	ADDQ      $128, R11
	ADDQ      $34, R10
	DECQ      BX
	JNZ       q8blk
	VZEROUPPER
	RET

// func attnValuesQ4_0AVX2(out *float32, p []float32, v *byte, rowBytes, blocks int)
//
// attnValuesQ8_0AVX2 for Q4_0 blocks of 18 bytes: value i < 16 is
// (q[i]&15)-8, value i+16 is (q[i]>>4)-8.
TEXT ·attnValuesQ4_0AVX2(SB), NOSPLIT, $0-56
	MOVQ         out+0(FP), R11
	MOVQ         p_base+8(FP), R12
	MOVQ         p_len+16(FP), R13
	MOVQ         v+32(FP), R10
	MOVQ         rowBytes+40(FP), R9
	MOVQ         blocks+48(FP), BX
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, X15
	MOVL         $0x08080808, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, X14

q4blk:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ   R12, SI
	MOVQ   R10, DI
	MOVQ   R13, DX

q4row:
	QSCALE
	VMOVDQU   2(DI), X10
	VPSRLW    $4, X10, X11
	VPAND     X15, X10, X10
	VPAND     X15, X11, X11
	VPSUBB    X14, X10, X10
	VPSUBB    X14, X11, X11
	VPMOVSXBD X10, Y6
	VPSRLDQ   $8, X10, X10
	VPMOVSXBD X10, Y7
	VPMOVSXBD X11, Y8
	VPSRLDQ   $8, X11, X11
	VPMOVSXBD X11, Y9
	QACC
	ADDQ      $4, SI
	ADDQ      R9, DI
	DECQ      DX
	JNZ       q4row
	VMOVUPS   Y0, (R11)
	VMOVUPS   Y1, 32(R11)
	VMOVUPS   Y2, 64(R11)
	VMOVUPS   Y3, 96(R11)
	ADDQ      $128, R11
	ADDQ      $18, R10
	DECQ      BX
	JNZ       q4blk
	VZEROUPPER
	RET

// Q8RSUM adds the eight lanes of Y0 into X0's lowest lane when they hold
// the quad accumulators in VPHADDD's order, quads (0,1,4,5 | 2,3,6,7):
// lanes r0..r7 are quads 0,1,4,5,2,3,6,7, so ggml's hsum_float_8 order
// ((q0+q4)+(q2+q6)) + ((q1+q5)+(q3+q7)) is ((r0+r2)+(r4+r6)) +
// ((r1+r3)+(r5+r7)) (each addition of two values commutes exactly).
// Clobbers Y1.
#define Q8RSUM \
	VPERMILPS    $0x4e, Y0, Y1 \
	VADDPS       Y1, Y0, Y0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS       X1, X0, X0 \
	VMOVSHDUP    X0, X1 \
	VADDSS       X1, X0, X0

// Q8RSCALE broadcasts f16(d_k)·f16(d_q), the scales of the blocks at (DI)
// and (SI), into Y1 (VCVTPH2PS reads four halves; only the first counts).
#define Q8RSCALE \
	VCVTPH2PS    (DI), X14 \
	VCVTPH2PS    (SI), X15 \
	VMULSS       X15, X14, X14 \
	VBROADCASTSS X14, Y1

// func attnDotQ8_0RowsAVX2(sc []float32, blocks int, q, k *byte, stride int)
//
// for r < len(sc) (>= 1): sc[r] = dotQ8_0 of the blocks Q8_0 blocks of q
// and of the row at k + r·stride bytes, as dotQ8_0AVX2 (the quads summed
// by VPMADDWD and VPHADDD, their lanes left in VPHADDD's order until
// Q8RSUM).
TEXT ·attnDotQ8_0RowsAVX2(SB), NOSPLIT, $0-56
	MOVQ sc_base+0(FP), R8
	MOVQ sc_len+8(FP), R9
	MOVQ blocks+24(FP), R10
	MOVQ q+32(FP), R11
	MOVQ k+40(FP), R12
	MOVQ stride+48(FP), R13

q8rrow:
	MOVQ   R11, SI
	MOVQ   R12, DI
	MOVQ   R10, CX
	VXORPS Y0, Y0, Y0

q8rblk:
	Q8RSCALE
	VPMOVSXBW   2(DI), Y2
	VPMOVSXBW   18(DI), Y3
	VPMOVSXBW   2(SI), Y4
	VPMOVSXBW   18(SI), Y5
	VPMADDWD    Y4, Y2, Y2
	VPMADDWD    Y5, Y3, Y3
	VPHADDD     Y3, Y2, Y2
	VCVTDQ2PS   Y2, Y2
	VFMADD231PS Y2, Y1, Y0
	ADDQ        $34, SI
	ADDQ        $34, DI
	DECQ        CX
	JNZ         q8rblk
	Q8RSUM
	VMOVSS      X0, (R8)
	ADDQ        $4, R8
	ADDQ        R13, R12
	DECQ        R9
	JNZ         q8rrow
	VZEROUPPER
	RET

// func attnDotQ8_0RowsAVX512(sc []float32, blocks int, q, k *byte, stride int, ncorr *[8][8]int32)
//
// attnDotQ8_0RowsAVX2 with VPDPBUSD (AVX512-VNNI on YMM registers): the
// key bytes with their sign bit flipped are k+128 as unsigned bytes, so
// the quads of VPDPBUSD (exact in int32) started from ncorr[b] =
// -128·(the quads of Σq of block b) are the exact Σ k·q of every quad, in
// order.
TEXT ·attnDotQ8_0RowsAVX512(SB), NOSPLIT, $0-64
	MOVQ         sc_base+0(FP), R8
	MOVQ         sc_len+8(FP), R9
	MOVQ         blocks+24(FP), R10
	MOVQ         q+32(FP), R11
	MOVQ         k+40(FP), R12
	MOVQ         stride+48(FP), R13
	MOVQ         ncorr+56(FP), BX
	MOVL         $0x80808080, AX
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13

q8zrow:
	MOVQ   R11, SI
	MOVQ   R12, DI
	MOVQ   BX, DX
	MOVQ   R10, CX
	VXORPS Y0, Y0, Y0

q8zblk:
	Q8RSCALE
	VPXORD      2(DI), Y13, Y2
	VMOVDQU32   (DX), Y3
	VPDPBUSD    2(SI), Y2, Y3
	VCVTDQ2PS   Y3, Y3
	VFMADD231PS Y3, Y1, Y0
	ADDQ        $34, SI
	ADDQ        $34, DI
	ADDQ        $32, DX
	DECQ        CX
	JNZ         q8zblk
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VMOVSS      X0, (R8)
	ADDQ        $4, R8
	ADDQ        R13, R12
	DECQ        R9
	JNZ         q8zrow
	VZEROUPPER
	RET
