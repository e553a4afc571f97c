// Constant tables of the arm64 dot products and tiles, included by
// dot_arm64.s and tile_arm64.s (each gets its own file-local copy).

// Constants of dotQ5_0: TBL indexes spreading bytes 0, 1 (values 0-15) and
// 2, 3 (values 16-31) of qh over 16 bytes each, and the bit of each value.
DATA q5Consts<>+0(SB)/8, $0x0000000000000000
DATA q5Consts<>+8(SB)/8, $0x0101010101010101
DATA q5Consts<>+16(SB)/8, $0x0202020202020202
DATA q5Consts<>+24(SB)/8, $0x0303030303030303
DATA q5Consts<>+32(SB)/8, $0x8040201008040201
DATA q5Consts<>+40(SB)/8, $0x8040201008040201
GLOBL q5Consts<>(SB), RODATA|NOPTR, $48

// The 16 levels of IQ4_NL (kvaluesIQ4NL) as bytes.
DATA iq4nlValues<>+0(SB)/8, $0xf6eaddcfbfad9881
DATA iq4nlValues<>+8(SB)/8, $0x7159453526190d01
GLOBL iq4nlValues<>(SB), RODATA|NOPTR, $16
