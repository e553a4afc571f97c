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

// The prompt tiles (packk_amd64.s): the matrix-vector kernels' arithmetic
// for four activation rows (a + j·ab, j < 4) at once, out[j·ldo + r] for
// the rows of the group (AVX-512) or of half h (the others).

//go:noescape
func tileQ4_KPAVX2(nb int, w, a *byte, ab, h int, out *float32, ldo int)

//go:noescape
func tileQ4_KPAVXVNNI(nb int, w, a *byte, ab, h int, out *float32, ldo int)

//go:noescape
func tileQ4_KPAVX512(nb int, w, a *byte, ab, h int, out *float32, ldo int)

//go:noescape
func tileQ5_KPAVX2(nb int, w, a *byte, ab, h int, out *float32, ldo int)

//go:noescape
func tileQ5_KPAVXVNNI(nb int, w, a *byte, ab, h int, out *float32, ldo int)

//go:noescape
func tileQ5_KPAVX512(nb int, w, a *byte, ab, h int, out *float32, ldo int)

//go:noescape
func tileQ6_KPAVX2(nb int, w, a *byte, ab, h int, out *float32, ldo int)

//go:noescape
func tileQ6_KPAVXVNNI(nb int, w, a *byte, ab, h int, out *float32, ldo int)

//go:noescape
func tileQ6_KPAVX512(nb int, w, a *byte, ab, h int, out *float32, ldo int)

// the K-quant tiles, for kTile
const (
	ktQ4_KAVX2 = iota
	ktQ4_KAVXVNNI
	ktQ4_KAVX512
	ktQ5_KAVX2
	ktQ5_KAVXVNNI
	ktQ5_KAVX512
	ktQ6_KAVX2
	ktQ6_KAVXVNNI
	ktQ6_KAVX512
)

// kTile runs a K-quant tile over n >= 4 activation rows, four at a time
// (the last four may overlap the ones before: they are computed again,
// with the same results), on both halves of the group where the kernel
// takes a half. id selects the kernel by a switch, so that no pointer
// escapes through a func value.
func kTile(id, nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	for j := 0; j < n; j += 4 {
		j0 := min(j, n-4)
		aj, o, o8 := addp(a, j0*ab), addf(out, j0*ldo), addf(out, j0*ldo+8)
		switch id {
		case ktQ4_KAVX2:
			tileQ4_KPAVX2(nb, w, aj, ab, 0, o, ldo)
			tileQ4_KPAVX2(nb, w, aj, ab, 1, o8, ldo)
		case ktQ4_KAVXVNNI:
			tileQ4_KPAVXVNNI(nb, w, aj, ab, 0, o, ldo)
			tileQ4_KPAVXVNNI(nb, w, aj, ab, 1, o8, ldo)
		case ktQ4_KAVX512:
			tileQ4_KPAVX512(nb, w, aj, ab, 0, o, ldo)
		case ktQ5_KAVX2:
			tileQ5_KPAVX2(nb, w, aj, ab, 0, o, ldo)
			tileQ5_KPAVX2(nb, w, aj, ab, 1, o8, ldo)
		case ktQ5_KAVXVNNI:
			tileQ5_KPAVXVNNI(nb, w, aj, ab, 0, o, ldo)
			tileQ5_KPAVXVNNI(nb, w, aj, ab, 1, o8, ldo)
		case ktQ5_KAVX512:
			tileQ5_KPAVX512(nb, w, aj, ab, 0, o, ldo)
		case ktQ6_KAVX2:
			tileQ6_KPAVX2(nb, w, aj, ab, 0, o, ldo)
			tileQ6_KPAVX2(nb, w, aj, ab, 1, o8, ldo)
		case ktQ6_KAVXVNNI:
			tileQ6_KPAVXVNNI(nb, w, aj, ab, 0, o, ldo)
			tileQ6_KPAVXVNNI(nb, w, aj, ab, 1, o8, ldo)
		case ktQ6_KAVX512:
			tileQ6_KPAVX512(nb, w, aj, ab, 0, o, ldo)
		}
	}
}

func tileQ4_KAVX2(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	kTile(ktQ4_KAVX2, nb, w, a, ab, n, out, ldo)
}

func tileQ4_KAVXVNNI(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	kTile(ktQ4_KAVXVNNI, nb, w, a, ab, n, out, ldo)
}

func tileQ4_KAVX512(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	kTile(ktQ4_KAVX512, nb, w, a, ab, n, out, ldo)
}

func tileQ5_KAVX2(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	kTile(ktQ5_KAVX2, nb, w, a, ab, n, out, ldo)
}

func tileQ5_KAVXVNNI(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	kTile(ktQ5_KAVXVNNI, nb, w, a, ab, n, out, ldo)
}

func tileQ5_KAVX512(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	kTile(ktQ5_KAVX512, nb, w, a, ab, n, out, ldo)
}

func tileQ6_KAVX2(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	kTile(ktQ6_KAVX2, nb, w, a, ab, n, out, ldo)
}

func tileQ6_KAVXVNNI(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	kTile(ktQ6_KAVXVNNI, nb, w, a, ab, n, out, ldo)
}

func tileQ6_KAVX512(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	kTile(ktQ6_KAVX512, nb, w, a, ab, n, out, ldo)
}
