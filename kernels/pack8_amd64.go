//go:build !purego

package kernels

// tileQ4_0x15P8VNNI computes out[j][r] = dotQ4_0 of row r < 15 of the
// packed Q4_0 group w and the activation row a[j], j < 8, bit for bit
// (pack8_amd64.s: the rows' sums stay in registers for the whole row,
// where tileQ4_0x15PVNNI adds each block's to out).
//
//go:noescape
func tileQ4_0x15P8VNNI(nb int, w *byte, a *[8]*byte, out *[8]*float32)

// tileQ4_0x15P8 is a packTileFunc for Q4_0 on avx512: tileQ4_0x15P8VNNI
// over eight activation rows at a time (the last eight may overlap the
// ones before: they are computed again, with the same results). Fewer
// than eight rows (from packTileMin: a batch of 5 to 7 decoding streams)
// take one pass with the last row repeated: in the caches the eight-row
// pass costs about 4.3 matrix-vector products (BenchmarkTileQ4_0P8), and
// the one-row-at-a-time tile takes fewer than four.
func tileQ4_0x15P8(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	if n < 4 {
		tileQ4_0x15PVNNI(nb, w, a, ab, n, out, ldo)
		return
	}
	var ap [8]*byte
	var op [8]*float32
	for j := 0; j < n; j += 8 {
		j0 := max(0, min(j, n-8))
		for i := range 8 {
			k := min(j0+i, n-1)
			ap[i] = addp(a, k*ab)
			op[i] = addf(out, k*ldo)
		}
		tileQ4_0x15P8VNNI(nb, w, &ap, &op)
	}
}
