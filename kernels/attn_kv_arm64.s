//go:build !purego

#include "textflag.h"
#include "neon_arm64.h"

// NEON versions of the KV-cache attention routines of attn_kv.go,
// bit-identical to the generic ones (FMLA is fma32; FCVTL is f16; FCVTN
// rounds to nearest even as f32ToF16).

#define FCVTN4H(d, n) WORD $(0x0e216800 | ((n)<<5) | (d))                  // fcvtn  vd.4h, vn.4s

// KVREDUCE16 sets F(d0) to reduce16 of the lanes V(d0)..V(d3).
#define KVREDUCE16(d0, d1, d2, d3) \
	FADD4S(d0, d0, d2) \
	FADD4S(d1, d1, d3) \
	FADD4S(d0, d0, d1) \
	EXT16B(d1, d0, d0, 8) \
	FADD4S(d0, d0, d1) \
	FADDP2S(d0, d0)

// func roundF16NEON(x *float32, n4 int)
//
// for i < 4·n4: x[i] = f16(f32ToF16(x[i]))
TEXT ·roundF16NEON(SB), NOSPLIT, $0-16
	MOVD x+0(FP), R0
	MOVD n4+8(FP), R1

rloop:
	VLD1    (R0), [V0.S4]
	FCVTN4H(1, 0)
	FCVTL4S(0, 1)
	VST1.P  [V0.S4], 16(R0)
	SUB     $1, R1
	CBNZ    R1, rloop
	RET

// F16X16 converts the 32 halves in V20-V23 to floats: halves 0-15 into
// V24-V27, halves 16-31 into V28-V31.
#define F16X32 \
	FCVTL4S(24, 20) \
	FCVTL24S(25, 20) \
	FCVTL4S(26, 21) \
	FCVTL24S(27, 21) \
	FCVTL4S(28, 22) \
	FCVTL24S(29, 22) \
	FCVTL4S(30, 23) \
	FCVTL24S(31, 23)

// func attnDotF16RowsNEON(sc, q []float32, k *uint16, stride int)
//
// for t < len(sc): sc[t] = AttnDotF16(q, k[t·stride:]): the four
// sixteen-lane accumulators in V0-V3, V4-V7, V8-V11, V12-V15.
TEXT ·attnDotF16RowsNEON(SB), NOSPLIT, $0-64
	MOVD sc_base+0(FP), R8
	MOVD sc_len+8(FP), R9
	MOVD q_base+24(FP), R10
	MOVD q_len+32(FP), R11
	MOVD k+48(FP), R12
	MOVD stride+56(FP), R13
	LSL  $1, R13, R13

hrow:
	MOVD R10, R0
	MOVD R12, R1
	LSR  $6, R11, R3
	AND  $63, R11, R2
	VEOR V0.B16, V0.B16, V0.B16
	CBZ  R3, htail
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	VEOR V8.B16, V8.B16, V8.B16
	VEOR V9.B16, V9.B16, V9.B16
	VEOR V10.B16, V10.B16, V10.B16
	VEOR V11.B16, V11.B16, V11.B16
	VEOR V12.B16, V12.B16, V12.B16
	VEOR V13.B16, V13.B16, V13.B16
	VEOR V14.B16, V14.B16, V14.B16
	VEOR V15.B16, V15.B16, V15.B16

hloop:
	VLD1.P 64(R0), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1.P 64(R1), [V20.H8, V21.H8, V22.H8, V23.H8]
	F16X32
	FMLA4S(0, 16, 24)
	FMLA4S(1, 17, 25)
	FMLA4S(2, 18, 26)
	FMLA4S(3, 19, 27)
	VLD1.P 64(R0), [V16.S4, V17.S4, V18.S4, V19.S4]
	FMLA4S(4, 16, 28)
	FMLA4S(5, 17, 29)
	FMLA4S(6, 18, 30)
	FMLA4S(7, 19, 31)
	VLD1.P 64(R0), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1.P 64(R1), [V20.H8, V21.H8, V22.H8, V23.H8]
	F16X32
	FMLA4S(8, 16, 24)
	FMLA4S(9, 17, 25)
	FMLA4S(10, 18, 26)
	FMLA4S(11, 19, 27)
	VLD1.P 64(R0), [V16.S4, V17.S4, V18.S4, V19.S4]
	FMLA4S(12, 16, 28)
	FMLA4S(13, 17, 29)
	FMLA4S(14, 18, 30)
	FMLA4S(15, 19, 31)
	SUB    $1, R3
	CBNZ   R3, hloop

	// acc[0] += acc[2]; acc[1] += acc[3]; acc[0] += acc[1]; reduce16.
	FADD4S(0, 0, 8)
	FADD4S(1, 1, 9)
	FADD4S(2, 2, 10)
	FADD4S(3, 3, 11)
	FADD4S(4, 4, 12)
	FADD4S(5, 5, 13)
	FADD4S(6, 6, 14)
	FADD4S(7, 7, 15)
	FADD4S(0, 0, 4)
	FADD4S(1, 1, 5)
	FADD4S(2, 2, 6)
	FADD4S(3, 3, 7)
	KVREDUCE16(0, 1, 2, 3)

htail:
	CBZ     R2, hstore
	MOVHU.P 2(R1), R4
	VMOV    R4, V1.H[0]
	FCVTL4S(1, 1)
	FMOVS.P 4(R0), F2
	FMADDS  F2, F0, F1, F0
	SUB     $1, R2
	B       htail

hstore:
	FMOVS.P F0, 4(R8)
	ADD     R13, R12, R12
	SUB     $1, R9
	CBNZ    R9, hrow
	RET

// VHSTEP adds p[t]·f16(v[t·stride + d..d+3]) to lanes V(m): the v row at
// (R4), advancing R4 by the stride (R3 bytes), p[t] in lane i of V16.
#define VHSTEP(m, i) \
	VLD1.P (R4)(R3), [V17.H4] \
	FCVTL4S(17, 17) \
	FMLAE4S(m, 17, 16, i)

// VHTAIL is one of the last len(p)%16 steps: it stops at vhred when R6
// (the steps left) is zero.
#define VHTAIL(m) \
	CBZ     R6, vhred \
	FMOVS.P 4(R5), F16 \
	VHSTEP(m, 0) \
	SUB     $1, R6

// func attnValuesF16NEON(out *float32, p []float32, v *uint16, stride, chunks int)
//
// attnValuesF16Generic for the 4·chunks values out[d], four at a time,
// the sixteen accumulators acc[t&15] in V0-V15, reduced as reduce16.
TEXT ·attnValuesF16NEON(SB), NOSPLIT, $0-56
	MOVD out+0(FP), R0
	MOVD p_base+8(FP), R1
	MOVD p_len+16(FP), R2
	MOVD v+32(FP), R7
	MOVD stride+40(FP), R3
	MOVD chunks+48(FP), R8
	LSL  $1, R3, R3

vhchunk:
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	VEOR V8.B16, V8.B16, V8.B16
	VEOR V9.B16, V9.B16, V9.B16
	VEOR V10.B16, V10.B16, V10.B16
	VEOR V11.B16, V11.B16, V11.B16
	VEOR V12.B16, V12.B16, V12.B16
	VEOR V13.B16, V13.B16, V13.B16
	VEOR V14.B16, V14.B16, V14.B16
	VEOR V15.B16, V15.B16, V15.B16
	MOVD R1, R5
	MOVD R7, R4
	LSR  $4, R2, R9
	AND  $15, R2, R6
	CBZ  R9, vhtail

vhloop:
	VLD1.P 16(R5), [V16.S4]
	VHSTEP(0, 0)
	VHSTEP(1, 1)
	VHSTEP(2, 2)
	VHSTEP(3, 3)
	VLD1.P 16(R5), [V16.S4]
	VHSTEP(4, 0)
	VHSTEP(5, 1)
	VHSTEP(6, 2)
	VHSTEP(7, 3)
	VLD1.P 16(R5), [V16.S4]
	VHSTEP(8, 0)
	VHSTEP(9, 1)
	VHSTEP(10, 2)
	VHSTEP(11, 3)
	VLD1.P 16(R5), [V16.S4]
	VHSTEP(12, 0)
	VHSTEP(13, 1)
	VHSTEP(14, 2)
	VHSTEP(15, 3)
	SUB    $1, R9
	CBNZ   R9, vhloop

vhtail:
	VHTAIL(0)
	VHTAIL(1)
	VHTAIL(2)
	VHTAIL(3)
	VHTAIL(4)
	VHTAIL(5)
	VHTAIL(6)
	VHTAIL(7)
	VHTAIL(8)
	VHTAIL(9)
	VHTAIL(10)
	VHTAIL(11)
	VHTAIL(12)
	VHTAIL(13)
	VHTAIL(14)

vhred:
	FADD4S(0, 0, 8)
	FADD4S(1, 1, 9)
	FADD4S(2, 2, 10)
	FADD4S(3, 3, 11)
	FADD4S(4, 4, 12)
	FADD4S(5, 5, 13)
	FADD4S(6, 6, 14)
	FADD4S(7, 7, 15)
	FADD4S(0, 0, 4)
	FADD4S(1, 1, 5)
	FADD4S(2, 2, 6)
	FADD4S(3, 3, 7)
	FADD4S(0, 0, 2)
	FADD4S(1, 1, 3)
	FADD4S(0, 0, 1)
	VST1.P [V0.S4], 16(R0)
	ADD    $8, R7
	SUB    $1, R8
	CBNZ   R8, vhchunk
	RET

// QACC32 adds p[t]·(q·d) to the accumulators V0-V7 for the 32 int8
// values in V22:V23, d in lane 0 of V20 and p[t] in lane 0 of V21 (q·d is
// exact: an 8-bit integer times a float16).
#define QACC32 \
	SXTL8H(24, 22) \
	SXTL28H(25, 22) \
	SXTL8H(26, 23) \
	SXTL28H(27, 23) \
	SXTL4S(16, 24) \
	SXTL24S(17, 24) \
	SXTL4S(18, 25) \
	SXTL24S(19, 25) \
	SXTL4S(28, 26) \
	SXTL24S(29, 26) \
	SXTL4S(30, 27) \
	SXTL24S(31, 27) \
	SCVTF4S(16, 16) \
	SCVTF4S(17, 17) \
	SCVTF4S(18, 18) \
	SCVTF4S(19, 19) \
	SCVTF4S(28, 28) \
	SCVTF4S(29, 29) \
	SCVTF4S(30, 30) \
	SCVTF4S(31, 31) \
	FMULE4S(16, 16, 20, 0) \
	FMULE4S(17, 17, 20, 0) \
	FMULE4S(18, 18, 20, 0) \
	FMULE4S(19, 19, 20, 0) \
	FMULE4S(28, 28, 20, 0) \
	FMULE4S(29, 29, 20, 0) \
	FMULE4S(30, 30, 20, 0) \
	FMULE4S(31, 31, 20, 0) \
	FMLAE4S(0, 16, 21, 0) \
	FMLAE4S(1, 17, 21, 0) \
	FMLAE4S(2, 18, 21, 0) \
	FMLAE4S(3, 19, 21, 0) \
	FMLAE4S(4, 28, 21, 0) \
	FMLAE4S(5, 29, 21, 0) \
	FMLAE4S(6, 30, 21, 0) \
	FMLAE4S(7, 31, 21, 0)

// QBLKSTART zeroes the accumulators and points R5 at p, R4 at the block
// of row 0, R6 at the row count.
#define QBLKSTART \
	VEOR V0.B16, V0.B16, V0.B16 \
	VEOR V1.B16, V1.B16, V1.B16 \
	VEOR V2.B16, V2.B16, V2.B16 \
	VEOR V3.B16, V3.B16, V3.B16 \
	VEOR V4.B16, V4.B16, V4.B16 \
	VEOR V5.B16, V5.B16, V5.B16 \
	VEOR V6.B16, V6.B16, V6.B16 \
	VEOR V7.B16, V7.B16, V7.B16 \
	MOVD R1, R5 \
	MOVD R7, R4 \
	MOVD R2, R6

// QSCALE loads the block scale at (R4) into lane 0 of V20 and p[t] into
// lane 0 of V21, advancing R5.
#define QSCALE \
	MOVHU   (R4), R10 \
	VMOV    R10, V20.H[0] \
	FCVTL4S(20, 20) \
	FMOVS.P 4(R5), F21

#define QSTORE \
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R0) \
	VST1.P [V4.S4, V5.S4, V6.S4, V7.S4], 64(R0)

// func attnValuesQ8_0NEON(out *float32, p []float32, v *byte, rowBytes, blocks int)
//
// for each block b < blocks, for t < len(p) (len(p) >= 1), for i < 32:
// out[32b+i] = fma32(p[t], int8(q_i)·d, out[32b+i]), the block at
// v + t·rowBytes + 34b.
TEXT ·attnValuesQ8_0NEON(SB), NOSPLIT, $0-56
	MOVD out+0(FP), R0
	MOVD p_base+8(FP), R1
	MOVD p_len+16(FP), R2
	MOVD v+32(FP), R7
	MOVD rowBytes+40(FP), R3
	MOVD blocks+48(FP), R8

q8blk:
	QBLKSTART

q8row:
	QSCALE
	ADD   $2, R4, R11
	VLD1  (R11), [V22.B16, V23.B16]
	QACC32
	ADD   R3, R4, R4
	SUB   $1, R6
	CBNZ  R6, q8row
	QSTORE
	ADD   $34, R7
	SUB   $1, R8
	CBNZ  R8, q8blk
	RET

// func attnValuesQ4_0NEON(out *float32, p []float32, v *byte, rowBytes, blocks int)
//
// attnValuesQ8_0NEON for Q4_0 blocks of 18 bytes: value i < 16 is
// (q[i]&15)-8, value i+16 is (q[i]>>4)-8.
TEXT ·attnValuesQ4_0NEON(SB), NOSPLIT, $0-56
	MOVD  out+0(FP), R0
	MOVD  p_base+8(FP), R1
	MOVD  p_len+16(FP), R2
	MOVD  v+32(FP), R7
	MOVD  rowBytes+40(FP), R3
	MOVD  blocks+48(FP), R8
	VMOVI $15, V14.B16
	VMOVI $8, V15.B16

q4blk:
	QBLKSTART

q4row:
	QSCALE
	ADD   $2, R4, R11
	VLD1  (R11), [V24.B16]
	VAND  V14.B16, V24.B16, V22.B16
	VUSHR $4, V24.B16, V23.B16
	VSUB  V15.B16, V22.B16, V22.B16
	VSUB  V15.B16, V23.B16, V23.B16
	QACC32
	ADD   R3, R4, R4
	SUB   $1, R6
	CBNZ  R6, q4row
	QSTORE
	ADD   $18, R7
	SUB   $1, R8
	CBNZ  R8, q4blk
	RET

// attnDotQ8_0Rows on the dotprod path: DOTQ is one SDOT.
#define DOTQ(acc, x, y) SDOT(acc, x, y)
#define FN_Q8ROWS ·attnDotQ8_0RowsSDOT
#include "attnq_arm64.h"
#undef DOTQ
#undef FN_Q8ROWS

// attnDotQ8_0Rows on the NEON path: DOTQ as in dot_arm64.s, widening
// products (exact in int16), pairs added into int32 (SADDLP), then pairs
// of pairs (ADDP): smull v28.8h, vx.8b, vy.8b; smull2 v29.8h, vx.16b,
// vy.16b; saddlp v28.4s, v28.8h; saddlp v29.4s, v29.8h; addp v28.4s,
// v28.4s, v29.4s; add vacc.4s, vacc.4s, v28.4s. Clobbers V28, V29.
#define DOTQ(acc, x, y) \
	WORD $(0x0e20c000 | ((y)<<16) | ((x)<<5) | 28) \
	WORD $(0x4e20c000 | ((y)<<16) | ((x)<<5) | 29) \
	WORD $(0x4e602800 | (28<<5) | 28) \
	WORD $(0x4e602800 | (29<<5) | 29) \
	WORD $(0x4ea0bc00 | (29<<16) | (28<<5) | 28) \
	WORD $(0x4ea08400 | (28<<16) | ((acc)<<5) | (acc))
#define FN_Q8ROWS ·attnDotQ8_0RowsNEON
#include "attnq_arm64.h"
#undef DOTQ
#undef FN_Q8ROWS
