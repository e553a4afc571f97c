// Macros shared by the amd64 dot-product files (dot_amd64.s,
// dotk_avx512_amd64.s).

// HSUM adds the eight float32 lanes of Y0 into X0's lowest lane:
// ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)), ggml's hsum_float_8.
#define HSUM \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X1, X0, X0 \
	VMOVHLPS X0, X0, X1 \
	VADDPS X1, X0, X0 \
	VMOVSHDUP X0, X1 \
	VADDSS X1, X0, X0

// KSCALES unpacks the per-block numbers of a Q4_K or Q5_K block at SI
// against the Q8_K block at DI, as ggml's AVX2 kernels: the 6-bit scales
// and minimums in general registers (ggml's utmp shuffle), the eight
// scales as int16 into sc (an X register), the four int32 minimum products
// m·(bsum pairs) into X4 (VPHADDW, VPMADDWD), d_a·d_w into X6 and
// d_a·dmin_w into X7 (scalars). Clobbers AX, BX, DX, R8, R9, X3, X5.
#define KSCALES(sc) \
	MOVL 4(SI), AX \
	MOVL 8(SI), BX \
	MOVL 12(SI), DX \
	MOVL DX, R8 \
	SHRL $4, R8 \
	ANDL $0x0f0f0f0f, R8 \
	MOVL BX, R9 \
	SHRL $6, R9 \
	ANDL $0x03030303, R9 \
	SHLL $4, R9 \
	ORL  R9, R8 \
	MOVL AX, R9 \
	SHRL $6, R9 \
	ANDL $0x03030303, R9 \
	SHLL $4, R9 \
	ANDL $0x0f0f0f0f, DX \
	ORL  R9, DX \
	ANDL $0x3f3f3f3f, AX \
	ANDL $0x3f3f3f3f, BX \
	VMOVD AX, sc \
	VPINSRD $1, DX, sc, sc \
	VPMOVZXBW sc, sc \
	VMOVD BX, X3 \
	VPINSRD $1, R8, X3, X3 \
	VPMOVZXBW X3, X3 \
	VMOVDQU 260(DI), X4 \
	VPHADDW 276(DI), X4, X4 \
	VPMADDWD X3, X4, X4 \
	VMOVSS (DI), X5 \
	MOVWLZX (SI), AX \
	VMOVD AX, X6 \
	VCVTPH2PS X6, X6 \
	MOVWLZX 2(SI), AX \
	VMOVD AX, X7 \
	VCVTPH2PS X7, X7 \
	VMULSS X6, X5, X6 \
	VMULSS X7, X5, X7
