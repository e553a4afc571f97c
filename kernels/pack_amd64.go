//go:build !purego

package kernels

import "unsafe"

// gemvQ4_0x15PVNNI is a packGemvFunc for Q4_0 (pack_amd64.s).
//
//go:noescape
func gemvQ4_0x15PVNNI(nb int, w, a *byte, out *float32)

// tileQ4_0x15PVNNI is a packTileFunc for Q4_0 (pack_amd64.s).
//
//go:noescape
func tileQ4_0x15PVNNI(nb int, w, a *byte, ab, n int, out *float32, ldo int)

// gemvQ8_0x15PLanes computes the eight float32 lanes of dotQ8_0 for the
// fifteen rows of a packed Q8_0 group (pack_amd64.s), row r's at
// lanes[8r:8r+8], before the final lane sum.
//
//go:noescape
func gemvQ8_0x15PLanes(nb int, w, a *byte, lanes *float32)

// gemvQ8_0x15P is a packGemvFunc for Q8_0: gemvQ8_0x15PLanes, then ggml's
// lane sum per row.
func gemvQ8_0x15P(nb int, w, a *byte, out *float32) {
	var l [128]float32
	gemvQ8_0x15PLanes(nb, w, a, &l[0])
	o := (*[packRows]float32)(unsafe.Pointer(out))
	for r := range packRows {
		o[r] = (*lanes8)(l[8*r:]).sum()
	}
}

// gemvQ5_0x15PLanes computes the eight float32 lanes of dotQ5_0 for the
// fifteen rows of a packed Q5_0 group (pack_amd64.s): row r = 4L+j's lanes
// 0..3 at lanes[32j+4L:], 4..7 at lanes[32j+16+4L:].
//
//go:noescape
func gemvQ5_0x15PLanes(nb int, w, a *byte, lanes *float32)

// gemvQ5_0x15P is a packGemvFunc for Q5_0: gemvQ5_0x15PLanes, then ggml's
// lane sum per row.
func gemvQ5_0x15P(nb int, w, a *byte, out *float32) {
	var l [128]float32
	gemvQ5_0x15PLanes(nb, w, a, &l[0])
	o := (*[packRows]float32)(unsafe.Pointer(out))
	for r := range packRows {
		j, L := r%4, r/4
		var s lanes8
		copy(s[:4], l[32*j+4*L:])
		copy(s[4:], l[32*j+16+4*L:])
		o[r] = s.sum()
	}
}
