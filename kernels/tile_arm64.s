//go:build !purego

#include "textflag.h"
#include "neon_arm64.h"
#include "consts_arm64.h"

// The dotprod tiles.
#define DOTQ(acc, x, y) SDOT(acc, x, y)
#define FN_TQ8_0 ·tileQ8_0SDOT
#define FN_TQ4_0 ·tileQ4_0SDOT
#define FN_TQ5_0 ·tileQ5_0SDOT
#define FN_TIQ4_NL ·tileIQ4_NLSDOT
#include "tileq_arm64.h"
#undef DOTQ
#undef FN_TQ8_0
#undef FN_TQ4_0
#undef FN_TQ5_0
#undef FN_TIQ4_NL

// The NEON tiles (DOTQ as in dot_arm64.s).
#define DOTQ(acc, x, y) \
	WORD $(0x0e20c000 | ((y)<<16) | ((x)<<5) | 28) \
	WORD $(0x4e20c000 | ((y)<<16) | ((x)<<5) | 29) \
	WORD $(0x4e602800 | (28<<5) | 28) \
	WORD $(0x4e602800 | (29<<5) | 29) \
	WORD $(0x4ea0bc00 | (29<<16) | (28<<5) | 28) \
	WORD $(0x4ea08400 | (28<<16) | ((acc)<<5) | (acc))
#define FN_TQ8_0 ·tileQ8_0NEON
#define FN_TQ4_0 ·tileQ4_0NEON
#define FN_TQ5_0 ·tileQ5_0NEON
#define FN_TIQ4_NL ·tileIQ4_NLNEON
#include "tileq_arm64.h"
