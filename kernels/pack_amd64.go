//go:build !purego

package kernels

// gemvQ4_0x15PVNNI is a packGemvFunc for Q4_0 (pack_amd64.s).
//
//go:noescape
func gemvQ4_0x15PVNNI(nb int, w, a *byte, out *float32)

// tileQ4_0x15PVNNI is a packTileFunc for Q4_0 (pack_amd64.s).
//
//go:noescape
func tileQ4_0x15PVNNI(nb int, w, a *byte, ab, n int, out *float32, ldo int)
