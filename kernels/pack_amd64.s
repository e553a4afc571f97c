//go:build !purego

#include "textflag.h"

// Kernels over packed Q4_0 groups (pack.go): fifteen rows per block column,
// their fp16 scales at 0..29, then sixteen-byte nibble slots at 30 + 16s,
// row 4L+j in slot 4j+L, so that the 64-byte register j holds rows 4L+j in
// its 128-bit lanes L (slot 15 does not exist: a masked load leaves it to
// the kernel).

DATA p0f<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL p0f<>(SB), RODATA|NOPTR, $8
DATA p08<>+0(SB)/8, $0x0808080808080808
GLOBL p08<>(SB), RODATA|NOPTR, $8
DATA p88<>+0(SB)/8, $0x8888888888888888
GLOBL p88<>(SB), RODATA|NOPTR, $8

// PKMASKS sets K1 to the 48 bytes of the last nibble register and K3 to
// the fifteen rows' lanes.
#define PKMASKS \
	MOVQ $0xffffffffffff, AX \
	KMOVQ AX, K1 \
	MOVL $0x7fff, AX \
	KMOVW AX, K3

// Q4PGROUP adds to t the exact quad sums of the four rows in the nibble
// register Z8: the unsigned nibbles times the activation
// values 0..15 (Z4, low nibbles) and 16..31 (Z5, high nibbles), broadcast
// to every 128-bit lane, plus the bias -8·a quads (Z6).
#define Q4PGROUP(t) \
	VPSRLQ $4, Z8, Z9 \
	VPANDD Z29, Z8, Z8 \
	VPANDD Z29, Z9, Z9 \
	VMOVDQA64 Z6, t \
	VPDPBUSD Z4, Z8, t \
	VPDPBUSD Z5, Z9, t

// func gemvQ4_0x15PVNNI(nb int, w, a *byte, out *float32)
//
// A packed Q4_0 group times one Q8_0 activation row: out[r] = dotQ4_0 of
// row r (r < 15), bit for bit. Per block the exact Σ (q-8)·a of each row
// (VPDPBUSD of the unsigned nibbles with the activation halves in every
// lane, minus 8·Σa), four dwords per row summed by an unpack-and-add
// transpose that leaves row r in dword r; then acc = fma(float32(isum),
// d_w·d_a, acc), fifteen rows in one instruction.
TEXT ·gemvQ4_0x15PVNNI(SB), NOSPLIT, $0-32
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ out+24(FP), R11
	PKMASKS
	VPBROADCASTQ p0f<>(SB), Z29
	VPBROADCASTQ p08<>(SB), Z31
	VPXORD Z28, Z28, Z28
	VPXORD Z0, Z0, Z0
	TESTQ CX, CX
	JZ   pgdone

pgloop:
	VBROADCASTI32X4 2(DI), Z4
	VBROADCASTI32X4 18(DI), Z5
	VPXORD Z6, Z6, Z6
	VPDPBUSD Z4, Z31, Z6
	VPDPBUSD Z5, Z31, Z6
	VPSUBD Z6, Z28, Z6
	VMOVDQU64 30(SI), Z8
	Q4PGROUP(Z16)
	VMOVDQU64 94(SI), Z8
	Q4PGROUP(Z17)
	VMOVDQU64 158(SI), Z8
	Q4PGROUP(Z18)
	VMOVDQU8.Z 222(SI), K1, Z8
	Q4PGROUP(Z19)
	VPUNPCKLDQ Z17, Z16, Z20
	VPUNPCKHDQ Z17, Z16, Z21
	VPADDD Z21, Z20, Z20
	VPUNPCKLDQ Z19, Z18, Z22
	VPUNPCKHDQ Z19, Z18, Z23
	VPADDD Z23, Z22, Z22
	VPUNPCKLQDQ Z22, Z20, Z21
	VPUNPCKHQDQ Z22, Z20, Z23
	VPADDD Z23, Z21, Z21
	VCVTDQ2PS Z21, Z21
	VCVTPH2PS (SI), Z7
	MOVWLZX (DI), AX
	VMOVD AX, X10
	VCVTPH2PS X10, X10
	VBROADCASTSS X10, Z10
	VMULPS Z10, Z7, Z7
	VFMADD231PS Z7, Z21, Z0
	ADDQ $270, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  pgloop

pgdone:
	VMOVUPS Z0, K3, (R11)
	VZEROUPPER
	RET

// func tileQ4_0x15PVNNI(nb int, w, a *byte, ab, n int, out *float32, ldo int)
//
// tileQ4_0x15VNNI over a packed group: the same arithmetic (lane 15 a row
// of 8s for the bias, every block of a row summed in its lane), the rows
// loaded with four wide loads instead of fifteen, already in lane order
// after the transpose, their scales converted with one instruction.
TEXT ·tileQ4_0x15PVNNI(SB), NOSPLIT, $0-56
	PKMASKS
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), R8
	MOVQ ab+24(FP), R9
	MOVQ out+40(FP), R11
	MOVQ ldo+48(FP), R12
	SHLQ $2, R12
	VPBROADCASTQ p0f<>(SB), Z29
	VPBROADCASTQ p88<>(SB), Z27
	MOVL $15, AX
	VPBROADCASTD AX, Z26           // VPERMD index: lane 15
	TESTQ CX, CX
	JZ   ptdone

ptblock:
	VMOVDQU64 30(SI), Z10
	VMOVDQU64 94(SI), Z11
	VMOVDQU64 158(SI), Z12
	VMOVDQU8.Z 222(SI), K1, Z13
	VINSERTI32X4 $3, X27, Z13, Z13
	VPUNPCKLDQ Z11, Z10, Z14
	VPUNPCKHDQ Z11, Z10, Z15
	VPUNPCKLDQ Z13, Z12, Z16
	VPUNPCKHDQ Z13, Z12, Z17
	VPUNPCKLQDQ Z16, Z14, Z10
	VPUNPCKHQDQ Z16, Z14, Z11
	VPUNPCKLQDQ Z17, Z15, Z12
	VPUNPCKHQDQ Z17, Z15, Z13
	VPSRLD $4, Z10, Z4
	VPANDD Z29, Z10, Z0
	VPANDD Z29, Z4, Z4
	VPSRLD $4, Z11, Z5
	VPANDD Z29, Z11, Z1
	VPANDD Z29, Z5, Z5
	VPSRLD $4, Z12, Z6
	VPANDD Z29, Z12, Z2
	VPANDD Z29, Z6, Z6
	VPSRLD $4, Z13, Z7
	VPANDD Z29, Z13, Z3
	VPANDD Z29, Z7, Z7
	VCVTPH2PS (SI), Z14
	MOVQ R8, DI
	MOVQ R11, DX
	MOVQ n+32(FP), BX

ptact:
	VPXORD Z9, Z9, Z9
	VPDPBUSD.BCST 2(DI), Z0, Z9
	VPDPBUSD.BCST 6(DI), Z1, Z9
	VPDPBUSD.BCST 10(DI), Z2, Z9
	VPDPBUSD.BCST 14(DI), Z3, Z9
	VPDPBUSD.BCST 18(DI), Z4, Z9
	VPDPBUSD.BCST 22(DI), Z5, Z9
	VPDPBUSD.BCST 26(DI), Z6, Z9
	VPDPBUSD.BCST 30(DI), Z7, Z9
	VPERMD Z9, Z26, Z15
	VPSUBD Z15, Z9, Z9
	VCVTDQ2PS Z9, Z9
	MOVWLZX (DI), AX
	VMOVD AX, X15
	VCVTPH2PS X15, X15
	VBROADCASTSS X15, Z15
	VMULPS Z14, Z15, Z15
	VMOVUPS (DX), K3, Z8
	VFMADD231PS Z9, Z15, Z8
	VMOVUPS Z8, K3, (DX)
	ADDQ R9, DI
	ADDQ R12, DX
	DECQ BX
	JNZ  ptact

	ADDQ $270, SI
	ADDQ $34, R8
	DECQ CX
	JNZ  ptblock

ptdone:
	VZEROUPPER
	RET

DATA p80<>+0(SB)/8, $0x8080808080808080
GLOBL p80<>(SB), RODATA|NOPTR, $8

// VPERMPS indices for Q8_0: scale of row 2p in lanes 0..7, of row 2p+1 in
// lanes 8..15 (p = 0..7).
#define PIDX(name, lo, hi) \
	DATA name+0(SB)/8, $(lo*0x100000001) \
	DATA name+8(SB)/8, $(lo*0x100000001) \
	DATA name+16(SB)/8, $(lo*0x100000001) \
	DATA name+24(SB)/8, $(lo*0x100000001) \
	DATA name+32(SB)/8, $(hi*0x100000001) \
	DATA name+40(SB)/8, $(hi*0x100000001) \
	DATA name+48(SB)/8, $(hi*0x100000001) \
	DATA name+56(SB)/8, $(hi*0x100000001) \
	GLOBL name(SB), RODATA|NOPTR, $64

PIDX(pidx0<>, 0, 1)
PIDX(pidx1<>, 2, 3)
PIDX(pidx2<>, 4, 5)
PIDX(pidx3<>, 6, 7)
PIDX(pidx4<>, 8, 9)
PIDX(pidx5<>, 10, 11)
PIDX(pidx6<>, 12, 13)
PIDX(pidx7<>, 14, 15)

// Q8PPAIR adds to acc the scaled lanes of rows 2p and 2p+1, whose int8
// quants are in Z12 (row 2p in the low 256 bits): biased to unsigned
// (XOR 0x80), VPDPBUSD with the activations (Z11, in both halves) from
// minus 128 times their quad sums (Z15) gives the exact quad sums, then
// acc = fma(d_w·d_a, float32(quad), acc) per lane, as dotQ8_0.
#define Q8PPAIR(idx, acc) \
	VPXORD Z31, Z12, Z12 \
	VMOVDQA64 Z15, Z13 \
	VPDPBUSD Z11, Z12, Z13 \
	VCVTDQ2PS Z13, Z13 \
	VPERMPS Z9, idx, Z14 \
	VFMADD231PS Z14, Z13, acc

// func gemvQ8_0x15PLanes(nb int, w, a *byte, lanes *float32)
//
// A packed Q8_0 group (rows 2p and 2p+1 in the 64 bytes at 30 + 64p of a
// block column) times one Q8_0 activation row: lanes[8r..8r+7] are the
// eight float32 lanes of dotQ8_0 for row r (r < 15; 120..127 are
// scratch), before ggml's final lane sum, which the caller does.
TEXT ·gemvQ8_0x15PLanes(SB), NOSPLIT, $0-32
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ lanes+24(FP), R11
	VPBROADCASTQ p80<>(SB), Z31
	VMOVDQU64 pidx0<>(SB), Z20
	VMOVDQU64 pidx1<>(SB), Z21
	VMOVDQU64 pidx2<>(SB), Z22
	VMOVDQU64 pidx3<>(SB), Z23
	VMOVDQU64 pidx4<>(SB), Z24
	VMOVDQU64 pidx5<>(SB), Z25
	VMOVDQU64 pidx6<>(SB), Z26
	VMOVDQU64 pidx7<>(SB), Z27
	VPXORD Z28, Z28, Z28
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	TESTQ CX, CX
	JZ   p8done

p8loop:
	VBROADCASTI64X4 2(DI), Z11
	VPXORD Z15, Z15, Z15
	VPDPBUSD Z11, Z31, Z15
	VPSUBD Z15, Z28, Z15
	VCVTPH2PS (SI), Z9
	MOVWLZX (DI), AX
	VMOVD AX, X10
	VCVTPH2PS X10, X10
	VBROADCASTSS X10, Z10
	VMULPS Z10, Z9, Z9
	VMOVDQU64 30(SI), Z12
	Q8PPAIR(Z20, Z0)
	VMOVDQU64 94(SI), Z12
	Q8PPAIR(Z21, Z1)
	VMOVDQU64 158(SI), Z12
	Q8PPAIR(Z22, Z2)
	VMOVDQU64 222(SI), Z12
	Q8PPAIR(Z23, Z3)
	VMOVDQU64 286(SI), Z12
	Q8PPAIR(Z24, Z4)
	VMOVDQU64 350(SI), Z12
	Q8PPAIR(Z25, Z5)
	VMOVDQU64 414(SI), Z12
	Q8PPAIR(Z26, Z6)
	VMOVDQU 478(SI), Y12
	Q8PPAIR(Z27, Z7)
	ADDQ $510, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  p8loop

p8done:
	VMOVUPS Z0, (R11)
	VMOVUPS Z1, 64(R11)
	VMOVUPS Z2, 128(R11)
	VMOVUPS Z3, 192(R11)
	VMOVUPS Z4, 256(R11)
	VMOVUPS Z5, 320(R11)
	VMOVUPS Z6, 384(R11)
	VMOVUPS Z7, 448(R11)
	VZEROUPPER
	RET

DATA p10<>+0(SB)/8, $0x1010101010101010
GLOBL p10<>(SB), RODATA|NOPTR, $8

// VPERMPS indices for Q5_0: lane L (dwords 4L..4L+3) gets the scale of
// row 4L+j (j = 0..3).
#define QIDX(name, j) \
	DATA name+0(SB)/8, $((0+j)*0x100000001) \
	DATA name+8(SB)/8, $((0+j)*0x100000001) \
	DATA name+16(SB)/8, $((4+j)*0x100000001) \
	DATA name+24(SB)/8, $((4+j)*0x100000001) \
	DATA name+32(SB)/8, $((8+j)*0x100000001) \
	DATA name+40(SB)/8, $((8+j)*0x100000001) \
	DATA name+48(SB)/8, $((12+j)*0x100000001) \
	DATA name+56(SB)/8, $((12+j)*0x100000001) \
	GLOBL name(SB), RODATA|NOPTR, $64

QIDX(qidx0<>, 0)
QIDX(qidx1<>, 1)
QIDX(qidx2<>, 2)
QIDX(qidx3<>, 3)

// Q5PREG adds to acclo and acchi the scaled quad lanes of the four rows of
// nibble register Z8 (row 4L+j in 128-bit lane L): the fifth bits come
// from the 64-bit masks at qhlo and qhhi (K2, K3) as merge-masked adds of
// 16, VPDPBUSD with the activation halves (Z4, Z5) from minus 16 times
// their quad sums (Z6, Z7) gives the exact quads of values 0..15 and
// 16..31, then acc = fma(d_w·d_a, float32(quad), acc) per lane, as
// dotQ5_0 (lanes 0..3 and 4..7 of each row).
#define Q5PREG(qhlo, qhhi, idx, acclo, acchi) \
	KMOVQ qhlo, K2 \
	KMOVQ qhhi, K3 \
	VPSRLQ $4, Z8, Z13 \
	VPANDD Z29, Z8, Z12 \
	VPANDD Z29, Z13, Z13 \
	VPADDB Z30, Z12, K2, Z12 \
	VPADDB Z30, Z13, K3, Z13 \
	VMOVDQA64 Z6, Z14 \
	VMOVDQA64 Z7, Z15 \
	VPDPBUSD Z4, Z12, Z14 \
	VPDPBUSD Z5, Z13, Z15 \
	VCVTDQ2PS Z14, Z14 \
	VCVTDQ2PS Z15, Z15 \
	VPERMPS Z9, idx, Z11 \
	VFMADD231PS Z11, Z14, acclo \
	VFMADD231PS Z11, Z15, acchi

// func gemvQ5_0x15PLanes(nb int, w, a *byte, lanes *float32)
//
// A packed Q5_0 group times one Q8_0 activation row: for row r = 4L+j,
// lanes[32j+4L..+3] and lanes[32j+16+4L..+3] are dotQ5_0's float32 lanes
// 0..3 and 4..7 before the final lane sum, which the caller does.
TEXT ·gemvQ5_0x15PLanes(SB), NOSPLIT, $0-32
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ lanes+24(FP), R11
	MOVQ $0xffffffffffff, AX
	KMOVQ AX, K1
	VPBROADCASTQ p0f<>(SB), Z29
	VPBROADCASTQ p10<>(SB), Z30
	VMOVDQU64 qidx0<>(SB), Z20
	VMOVDQU64 qidx1<>(SB), Z21
	VMOVDQU64 qidx2<>(SB), Z22
	VMOVDQU64 qidx3<>(SB), Z23
	VPXORD Z28, Z28, Z28
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	TESTQ CX, CX
	JZ   p5done

p5loop:
	VBROADCASTI32X4 2(DI), Z4
	VBROADCASTI32X4 18(DI), Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPDPBUSD Z4, Z30, Z6
	VPDPBUSD Z5, Z30, Z7
	VPSUBD Z6, Z28, Z6
	VPSUBD Z7, Z28, Z7
	VCVTPH2PS (SI), Z9
	MOVWLZX (DI), AX
	VMOVD AX, X10
	VCVTPH2PS X10, X10
	VBROADCASTSS X10, Z10
	VMULPS Z10, Z9, Z9
	VMOVDQU64 90(SI), Z8
	Q5PREG(30(SI), 38(SI), Z20, Z0, Z24)
	VMOVDQU64 154(SI), Z8
	Q5PREG(46(SI), 54(SI), Z21, Z1, Z25)
	VMOVDQU64 218(SI), Z8
	Q5PREG(62(SI), 70(SI), Z22, Z2, Z26)
	VMOVDQU8.Z 282(SI), K1, Z8
	Q5PREG(78(SI), 84(SI), Z23, Z3, Z27)
	ADDQ $330, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  p5loop

p5done:
	VMOVUPS Z0, (R11)
	VMOVUPS Z24, 64(R11)
	VMOVUPS Z1, 128(R11)
	VMOVUPS Z25, 192(R11)
	VMOVUPS Z2, 256(R11)
	VMOVUPS Z26, 320(R11)
	VMOVUPS Z3, 384(R11)
	VMOVUPS Z27, 448(R11)
	VZEROUPPER
	RET
