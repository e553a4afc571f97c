// NEON instructions the Go arm64 assembler has no mnemonic for, as WORD
// encodings. Operands are register numbers in the order of the Arm syntax
// (destination first): SDOT(0, 1, 2) is sdot v0.4s, v1.16b, v2.16b.
// .s files of the arm64 kernels include this header.

// Integer.
#define SDOT(d, n, m) WORD $(0x4e809400 | ((m)<<16) | ((n)<<5) | (d))       // sdot   vd.4s, vn.16b, vm.16b
#define SMULL(d, n, m) WORD $(0x0e20c000 | ((m)<<16) | ((n)<<5) | (d))      // smull  vd.8h, vn.8b, vm.8b
#define SMULL2(d, n, m) WORD $(0x4e20c000 | ((m)<<16) | ((n)<<5) | (d))     // smull2 vd.8h, vn.16b, vm.16b
#define SADDLP(d, n) WORD $(0x4e602800 | ((n)<<5) | (d))                   // saddlp vd.4s, vn.8h
#define SADALP(d, n) WORD $(0x4e606800 | ((n)<<5) | (d))                   // sadalp vd.4s, vn.8h
#define SADDLP8H(d, n) WORD $(0x4e202800 | ((n)<<5) | (d))                 // saddlp vd.8h, vn.16b
#define ADDP4S(d, n, m) WORD $(0x4ea0bc00 | ((m)<<16) | ((n)<<5) | (d))     // addp   vd.4s, vn.4s, vm.4s
#define ADD4S(d, n, m) WORD $(0x4ea08400 | ((m)<<16) | ((n)<<5) | (d))      // add    vd.4s, vn.4s, vm.4s
#define MUL4S(d, n, m) WORD $(0x4ea09c00 | ((m)<<16) | ((n)<<5) | (d))      // mul    vd.4s, vn.4s, vm.4s
#define MLA4S(d, n, m) WORD $(0x4ea09400 | ((m)<<16) | ((n)<<5) | (d))      // mla    vd.4s, vn.4s, vm.4s
#define MLAE4S(d, n, m, i) WORD $(0x6f800000 | (((i)&1)<<21) | ((m)<<16) | (((i)>>1)<<11) | ((n)<<5) | (d)) // mla vd.4s, vn.4s, vm.s[i]
#define SXTL8H(d, n) WORD $(0x0f08a400 | ((n)<<5) | (d))                   // sxtl   vd.8h, vn.8b
#define SXTL28H(d, n) WORD $(0x4f08a400 | ((n)<<5) | (d))                  // sxtl2  vd.8h, vn.16b
#define SXTL4S(d, n) WORD $(0x0f10a400 | ((n)<<5) | (d))                   // sxtl   vd.4s, vn.4h
#define SXTL24S(d, n) WORD $(0x4f10a400 | ((n)<<5) | (d))                  // sxtl2  vd.4s, vn.8h
#define XTN4H(d, n) WORD $(0x0e612800 | ((n)<<5) | (d))                    // xtn    vd.4h, vn.4s
#define XTN28H(d, n) WORD $(0x4e612800 | ((n)<<5) | (d))                   // xtn2   vd.8h, vn.4s
#define XTN8B(d, n) WORD $(0x0e212800 | ((n)<<5) | (d))                    // xtn    vd.8b, vn.8h
#define XTN216B(d, n) WORD $(0x4e212800 | ((n)<<5) | (d))                  // xtn2   vd.16b, vn.8h
#define SMIN4S(d, n, m) WORD $(0x4ea06c00 | ((m)<<16) | ((n)<<5) | (d))     // smin   vd.4s, vn.4s, vm.4s

// Floating point.
#define SCVTF4S(d, n) WORD $(0x4e21d800 | ((n)<<5) | (d))                  // scvtf  vd.4s, vn.4s
#define SCVTFS(d, n) WORD $(0x5e21d800 | ((n)<<5) | (d))                   // scvtf  sd, sn
#define FADD4S(d, n, m) WORD $(0x4e20d400 | ((m)<<16) | ((n)<<5) | (d))     // fadd   vd.4s, vn.4s, vm.4s
#define FMUL4S(d, n, m) WORD $(0x6e20dc00 | ((m)<<16) | ((n)<<5) | (d))     // fmul   vd.4s, vn.4s, vm.4s
#define FMLA4S(d, n, m) WORD $(0x4e20cc00 | ((m)<<16) | ((n)<<5) | (d))     // fmla   vd.4s, vn.4s, vm.4s
#define FADDP2S(d, n) WORD $(0x7e30d800 | ((n)<<5) | (d))                  // faddp  sd, vn.2s
#define FADD2D(d, n, m) WORD $(0x4e60d400 | ((m)<<16) | ((n)<<5) | (d))     // fadd   vd.2d, vn.2d, vm.2d
#define FADDP2D(d, n) WORD $(0x7e70d800 | ((n)<<5) | (d))                  // faddp  dd, vn.2d
#define FCVTL4S(d, n) WORD $(0x0e217800 | ((n)<<5) | (d))                  // fcvtl  vd.4s, vn.4h
#define FCVTL24S(d, n) WORD $(0x4e217800 | ((n)<<5) | (d))                 // fcvtl2 vd.4s, vn.8h
#define FCVTL2D(d, n) WORD $(0x0e617800 | ((n)<<5) | (d))                  // fcvtl  vd.2d, vn.2s
#define FCVTL22D(d, n) WORD $(0x4e617800 | ((n)<<5) | (d))                 // fcvtl2 vd.2d, vn.4s
#define FABS4S(d, n) WORD $(0x4ea0f800 | ((n)<<5) | (d))                   // fabs   vd.4s, vn.4s
#define FMAX4S(d, n, m) WORD $(0x4e20f400 | ((m)<<16) | ((n)<<5) | (d))     // fmax   vd.4s, vn.4s, vm.4s
#define FMAXV(d, n) WORD $(0x6e30f800 | ((n)<<5) | (d))                    // fmaxv  sd, vn.4s
#define FCVTNS4S(d, n) WORD $(0x4e21a800 | ((n)<<5) | (d))                 // fcvtns vd.4s, vn.4s
#define FADDP4S(d, n, m) WORD $(0x6e20d400 | ((m)<<16) | ((n)<<5) | (d))    // faddp  vd.4s, vn.4s, vm.4s

// F16SCALE loads the fp16 scales at (w) and (a), advancing both pointers
// by 2, and sets fd to their float32 product (clobbers R3, R4, F26, F27).
#define F16SCALE(w, a, fd) \
	MOVHU.P 2(w), R3 \
	MOVHU.P 2(a), R4 \
	FMOVS R3, F26 \
	FMOVS R4, F27 \
	FCVTHS F26, F26 \
	FCVTHS F27, F27 \
	FMULS F27, F26, fd

// HSUM8 sets F0 to the sum of the eight float32 lanes of V0 (lanes 0-3)
// and V1 (lanes 4-7) in the order of ggml's hsum_float_8:
// ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)). Clobbers V1.
#define HSUM8 \
	FADD4S(0, 0, 1) \
	VEXT $8, V0.B16, V0.B16, V1.B16 \
	FADD4S(0, 0, 1) \
	FADDP2S(0, 0)

// Used by the MatMul tiles.
#define FMLAE4S(d, n, m, i) WORD $(0x4f801000 | (((i)&1)<<21) | ((m)<<16) | (((i)>>1)<<11) | ((n)<<5) | (d)) // fmla vd.4s, vn.4s, vm.s[i]
#define EXT16B(d, n, m, i) WORD $(0x6e000000 | ((m)<<16) | ((i)<<11) | ((n)<<5) | (d)) // ext vd.16b, vn.16b, vm.16b, #i
#define SMULL4S(d, n, m) WORD $(0x0e60c000 | ((m)<<16) | ((n)<<5) | (d))    // smull  vd.4s, vn.4h, vm.4h
#define SMULL24S(d, n, m) WORD $(0x4e60c000 | ((m)<<16) | ((n)<<5) | (d))   // smull2 vd.4s, vn.8h, vm.8h
#define SHLL4S(d, n) WORD $(0x2e613800 | ((n)<<5) | (d))                   // shll   vd.4s, vn.4h, #16
#define SHLL24S(d, n) WORD $(0x6e613800 | ((n)<<5) | (d))                  // shll2  vd.4s, vn.8h, #16

// Used by the packed kernels.
#define FMULE4S(d, n, m, i) WORD $(0x4f809000 | (((i)&1)<<21) | ((m)<<16) | (((i)>>1)<<11) | ((n)<<5) | (d)) // fmul vd.4s, vn.4s, vm.s[i]
#define SUB4S(d, n, m) WORD $(0x6ea08400 | ((m)<<16) | ((n)<<5) | (d))      // sub    vd.4s, vn.4s, vm.4s
#define SMLAL(d, n, m) WORD $(0x0e208000 | ((m)<<16) | ((n)<<5) | (d))      // smlal  vd.8h, vn.8b, vm.8b
#define SMLAL2(d, n, m) WORD $(0x4e208000 | ((m)<<16) | ((n)<<5) | (d))     // smlal2 vd.8h, vn.16b, vm.16b
#define SMMLA(d, n, m) WORD $(0x4e80a400 | ((m)<<16) | ((n)<<5) | (d))      // smmla  vd.4s, vn.16b, vm.16b (i8mm)
