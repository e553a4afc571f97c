// The body of attnDotQ8_0Rows for attn_kv_arm64.s, included twice: with
// DOTQ as SDOT (the dotprod path) and as its NEON emulation, FN_Q8ROWS
// naming the function. Per row it is dotQ8_0 of dotq_arm64.h, the same
// instructions in the same order, so it gives the same bits.

// func FN_Q8ROWS(sc []float32, blocks int, q, k *byte, stride int)
//
// for r < len(sc) (>= 1): sc[r] = dotQ8_0 of the blocks Q8_0 blocks of q
// and of the row at k + r·stride bytes. V0, V1: the lanes acc[0:4],
// acc[4:8]; V16: the block scale.
TEXT FN_Q8ROWS(SB), NOSPLIT, $0-56
	MOVD sc_base+0(FP), R5
	MOVD sc_len+8(FP), R6
	MOVD blocks+24(FP), R7
	MOVD q+32(FP), R8
	MOVD k+40(FP), R9
	MOVD stride+48(FP), R10

q8rrow:
	MOVD R9, R1
	MOVD R8, R2
	MOVD R7, R0
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16

q8rblk:
	F16SCALE(R1, R2, F16)
	VDUP   V16.S[0], V16.S4
	VLD1.P 32(R1), [V2.B16, V3.B16]
	VLD1.P 32(R2), [V6.B16, V7.B16]
	VEOR   V4.B16, V4.B16, V4.B16
	VEOR   V5.B16, V5.B16, V5.B16
	DOTQ(4, 2, 6)
	DOTQ(5, 3, 7)
	SCVTF4S(4, 4)
	SCVTF4S(5, 5)
	FMLA4S(0, 4, 16)
	FMLA4S(1, 5, 16)
	SUB    $1, R0
	CBNZ   R0, q8rblk
	HSUM8
	FMOVS  F0, (R5)
	ADD    $4, R5
	ADD    R10, R9
	SUB    $1, R6
	CBNZ   R6, q8rrow
	RET
