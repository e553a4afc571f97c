//go:build !purego

#include "textflag.h"
#include "neon_arm64.h"

// TOUT4 and THSUM of the tiles, for the packed Q8_0 kernel.
#define THSUM(lo, hi, flo, off, rout) \
	FADD4S(lo, lo, hi) \
	EXT16B(hi, lo, lo, 8) \
	FADD4S(lo, lo, hi) \
	FADDP2S(lo, lo) \
	FMOVS flo, off(rout)
#define TOUT4(rout) \
	THSUM(0, 1, F0, 0, rout) \
	THSUM(2, 3, F2, 4, rout) \
	THSUM(4, 5, F4, 8, rout) \
	THSUM(6, 7, F6, 12, rout)

// The dotprod kernels: DOTQ is one SDOT, DOTQZ an EOR (eor vd.16b, vd.16b,
// vd.16b) and an SDOT. Q4SLOT(w, acc) sets Vacc to V8 (lane 0: -8·Σa,
// the others zero; mov vacc.16b, v8.16b) plus the four lanes of Σ
// nibble·a of the Q4_0 slot Vw (low nibbles against V4, high ones against
// V5), with V13 for the nibbles: and v13.16b, vw.16b, v6.16b; sdot
// vacc.4s, v13.16b, v4.16b; ushr v13.16b, vw.16b, #4; sdot vacc.4s,
// v13.16b, v5.16b. So the row sums hold -8·Σa already: Q4ASUM and Q4FIX
// are empty.
#define DOTQ(acc, x, y) SDOT(acc, x, y)
#define DOTQZ(d, x, y) \
	WORD $(0x6e201c00 | ((d)<<16) | ((d)<<5) | (d)) \
	SDOT(d, x, y)
#define Q4SLOT(w, acc) \
	WORD $(0x4e201c00 | (6<<16) | ((w)<<5) | 13) \
	WORD $(0x4ea01c00 | (8<<16) | (8<<5) | (acc)) \
	SDOT(acc, 13, 4) \
	WORD $(0x6f0c0400 | ((w)<<5) | 13) \
	SDOT(acc, 13, 5)
#define Q4ASUM
#define Q4FIX
#define FN_GQ4_0 ·gemvQ4_0x15PSDOT
#define FN_GQ8_0 ·gemvQ8_0x15PSDOT
#include "packq_arm64.h"
#undef DOTQ
#undef DOTQZ
#undef Q4SLOT
#undef Q4ASUM
#undef Q4FIX
#undef FN_GQ4_0
#undef FN_GQ8_0

// The NEON kernels. DOTQ as in dot_arm64.s (clobbers V28, V29); DOTQZ
// the same without the final add: smull v28.8h, vx.8b, vy.8b; smull2
// v29.8h, vx.16b, vy.16b; saddlp v28.4s, v28.8h; saddlp v29.4s, v29.8h;
// addp vd.4s, v28.4s, v29.4s. Q4SLOT sums the products of the unsigned
// nibbles (at most 15·128 in magnitude, so four of them fit an int16
// lane) in V7 with widening multiply-adds, then pairs into the int32
// lanes of Vacc: and v13.16b, vw.16b, v6.16b; smull v7.8h, v13.8b,
// v4.8b; smlal2 v7.8h, v13.16b, v4.16b; ushr v13.16b, vw.16b, #4; smlal
// v7.8h, v13.8b, v5.8b; smlal2 v7.8h, v13.16b, v5.16b; saddlp vacc.4s,
// v7.8h. Its lanes group other products than SDOT's, but Q4_0 needs only
// their total; Q4ASUM broadcasts -8·Σa (V8 lane 0) and Q4FIX adds it to
// the row sums.
#define DOTQ(acc, x, y) \
	WORD $(0x0e20c000 | ((y)<<16) | ((x)<<5) | 28) \
	WORD $(0x4e20c000 | ((y)<<16) | ((x)<<5) | 29) \
	WORD $(0x4e602800 | (28<<5) | 28) \
	WORD $(0x4e602800 | (29<<5) | 29) \
	WORD $(0x4ea0bc00 | (29<<16) | (28<<5) | 28) \
	WORD $(0x4ea08400 | (28<<16) | ((acc)<<5) | (acc))
#define DOTQZ(d, x, y) \
	WORD $(0x0e20c000 | ((y)<<16) | ((x)<<5) | 28) \
	WORD $(0x4e20c000 | ((y)<<16) | ((x)<<5) | 29) \
	WORD $(0x4e602800 | (28<<5) | 28) \
	WORD $(0x4e602800 | (29<<5) | 29) \
	WORD $(0x4ea0bc00 | (29<<16) | (28<<5) | (d))
#define Q4SLOT(w, acc) \
	WORD $(0x4e201c00 | (6<<16) | ((w)<<5) | 13) \
	WORD $(0x0e20c000 | (4<<16) | (13<<5) | 7) \
	WORD $(0x4e208000 | (4<<16) | (13<<5) | 7) \
	WORD $(0x6f0c0400 | ((w)<<5) | 13) \
	WORD $(0x0e208000 | (5<<16) | (13<<5) | 7) \
	WORD $(0x4e208000 | (5<<16) | (13<<5) | 7) \
	WORD $(0x4e602800 | (7<<5) | (acc))
#define Q4ASUM VDUP V8.S[0], V8.S4
#define Q4FIX ADD4S(9, 9, 8)
#define FN_GQ4_0 ·gemvQ4_0x15PNEON
#define FN_GQ8_0 ·gemvQ8_0x15PNEON
#include "packq_arm64.h"
