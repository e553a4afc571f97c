//go:build !purego

package kernels

// maxPairsAVX2 is MaxPairs on n outputs, n a multiple of 8.
//
//go:noescape
func maxPairsAVX2(d, a, b *float32, n int, acc bool)

// maxPairsArch does the largest multiple of 8 of MaxPairs' outputs with
// AVX2 and returns how many it did (the lengths are checked by MaxPairs).
func maxPairsArch(d, a, b []float32, acc bool) int {
	n := len(d) &^ 7
	if n == 0 || !hasAVX2 || cur.name == "generic" {
		return 0
	}
	maxPairsAVX2(&d[0], &a[0], &b[0], n, acc)
	return n
}
