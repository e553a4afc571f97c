//go:build !purego

package kernels

// tileQ4_KP8AVX512 computes out[j·ldo + r] = dotQ4_K of row r < 16 of the
// packed Q4_K group w and the activation row j < 8 at a + j·ab, bit for
// bit (packk8_amd64.s, written by _gen/kt8.go: three multiplying
// instructions per line of weights and activation row where the four-row
// tile takes four).
//
//go:noescape
func tileQ4_KP8AVX512(nb int, w, a *byte, ab int, out *float32, ldo int)

// tileQ4_K8AVX512 is a packTileFunc for Q4_K: tileQ4_KP8AVX512 over eight
// activation rows at a time (the last eight may overlap the ones before:
// they are computed again, with the same results), the four-row tile for
// fewer than eight.
func tileQ4_K8AVX512(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	if n < 8 {
		tileQ4_KAVX512(nb, w, a, ab, n, out, ldo)
		return
	}
	for j := 0; j < n; j += 8 {
		j0 := min(j, n-8)
		tileQ4_KP8AVX512(nb, w, addp(a, j0*ab), ab, addf(out, j0*ldo), ldo)
	}
}

// tileQ6_KP8AVX512 computes out[j·ldo + r] = dotQ6_K of row r < 16 of the
// packed Q6_K group w and the activation row j < 8 at a + j·ab, bit for
// bit given activation quants in [-127, 127] (packk8_amd64.s: two
// sub-blocks per VPDPWSSD, the -32 of the weights from a table of the
// activation rows' quad sums).
//
//go:noescape
func tileQ6_KP8AVX512(nb int, w, a *byte, ab int, out *float32, ldo int)

// tileQ6_K8AVX512 is a packTileFunc for Q6_K: tileQ6_KP8AVX512 over eight
// activation rows at a time (the last eight may overlap the ones before),
// the four-row tile for fewer than eight.
func tileQ6_K8AVX512(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	if n < 8 {
		tileQ6_KAVX512(nb, w, a, ab, n, out, ldo)
		return
	}
	for j := 0; j < n; j += 8 {
		j0 := min(j, n-8)
		tileQ6_KP8AVX512(nb, w, addp(a, j0*ab), ab, addf(out, j0*ldo), ldo)
	}
}
