//go:build !purego

#include "textflag.h"

// func hide(p *byte) *byte
TEXT ·hide(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), AX
	MOVQ AX, ret+8(FP)
	RET
