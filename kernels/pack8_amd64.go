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
// ones before: they are computed again, with the same results), the
// one-row-at-a-time tile for fewer than eight.
func tileQ4_0x15P8(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	if n < 8 {
		tileQ4_0x15PVNNI(nb, w, a, ab, n, out, ldo)
		return
	}
	var ap [8]*byte
	var op [8]*float32
	for j := 0; j < n; j += 8 {
		j0 := min(j, n-8)
		for i := range 8 {
			ap[i] = addp(a, (j0+i)*ab)
			op[i] = addf(out, (j0+i)*ldo)
		}
		tileQ4_0x15P8VNNI(nb, w, &ap, &op)
	}
}
