//go:build !purego

package kernels

// The matrix-vector kernels over packed K-quant groups (packk_amd64.s,
// written by _gen), bit-identical to dotQ4_K, dotQ5_K and dotQ6_K: a
// vector holds one dword of each row, so every row sums in its own lane
// and the rows' 6-bit scales are unpacked for all of them at once. The
// AVX-512 kernels take the sixteen rows of a group (h = 0); the AVX2 and
// AVX-VNNI ones the eight rows 8h..8h+7 (h = 0, 1) and write out[0..7].

//go:noescape
func gemvQ4_KPAVX2(nb int, w, a *byte, h int, out *float32)

//go:noescape
func gemvQ4_KPAVXVNNI(nb int, w, a *byte, h int, out *float32)

//go:noescape
func gemvQ4_KPAVX512(nb int, w, a *byte, h int, out *float32)

//go:noescape
func gemvQ5_KPAVX2(nb int, w, a *byte, h int, out *float32)

//go:noescape
func gemvQ5_KPAVXVNNI(nb int, w, a *byte, h int, out *float32)

//go:noescape
func gemvQ5_KPAVX512(nb int, w, a *byte, h int, out *float32)

//go:noescape
func gemvQ6_KPAVX2(nb int, w, a *byte, h int, out *float32)

//go:noescape
func gemvQ6_KPAVXVNNI(nb int, w, a *byte, h int, out *float32)

//go:noescape
func gemvQ6_KPAVX512(nb int, w, a *byte, h int, out *float32)

// The packGemvFuncs: the AVX2 and AVX-VNNI kernels once per half.

func gemvQ4_KAVX2(nb int, w, a *byte, out *float32) {
	gemvQ4_KPAVX2(nb, w, a, 0, out)
	gemvQ4_KPAVX2(nb, w, a, 1, addf(out, 8))
}

func gemvQ4_KAVXVNNI(nb int, w, a *byte, out *float32) {
	gemvQ4_KPAVXVNNI(nb, w, a, 0, out)
	gemvQ4_KPAVXVNNI(nb, w, a, 1, addf(out, 8))
}

func gemvQ4_KAVX512(nb int, w, a *byte, out *float32) { gemvQ4_KPAVX512(nb, w, a, 0, out) }

func gemvQ5_KAVX2(nb int, w, a *byte, out *float32) {
	gemvQ5_KPAVX2(nb, w, a, 0, out)
	gemvQ5_KPAVX2(nb, w, a, 1, addf(out, 8))
}

func gemvQ5_KAVXVNNI(nb int, w, a *byte, out *float32) {
	gemvQ5_KPAVXVNNI(nb, w, a, 0, out)
	gemvQ5_KPAVXVNNI(nb, w, a, 1, addf(out, 8))
}

func gemvQ5_KAVX512(nb int, w, a *byte, out *float32) { gemvQ5_KPAVX512(nb, w, a, 0, out) }

func gemvQ6_KAVX2(nb int, w, a *byte, out *float32) {
	gemvQ6_KPAVX2(nb, w, a, 0, out)
	gemvQ6_KPAVX2(nb, w, a, 1, addf(out, 8))
}

func gemvQ6_KAVXVNNI(nb int, w, a *byte, out *float32) {
	gemvQ6_KPAVXVNNI(nb, w, a, 0, out)
	gemvQ6_KPAVXVNNI(nb, w, a, 1, addf(out, 8))
}

func gemvQ6_KAVX512(nb int, w, a *byte, out *float32) { gemvQ6_KPAVX512(nb, w, a, 0, out) }
