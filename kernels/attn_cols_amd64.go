//go:build !purego

package kernels

// attnDotCols16AVX512 sets, for each of groups groups of sixteen columns
// (column 16g+l at m[i*stride+16g+l]), out[16g+l] = attnDotGeneric(x[:n],
// that column), n < 64: one chain of fused multiply-adds per lane.
//
//go:noescape
func attnDotCols16AVX512(out, x *float32, n int, m *float32, stride, groups int)

// attnDotCols64AVX512 is attnDotCols16AVX512 for n >= 64: per lane, the
// four sixteen-wide accumulators of attnDotGeneric over the chunks of 64
// rows, reduced in its order, then the remaining rows' chain.
//
//go:noescape
func attnDotCols64AVX512(out, x *float32, n int, m *float32, stride, groups int)

// attnDotCols8AVX2 is attnDotCols16AVX512 with eight columns per group.
//
//go:noescape
func attnDotCols8AVX2(out, x *float32, n int, m *float32, stride, groups int)

// attnDotColsArch computes the whole groups of columns the path in use has
// assembly for and returns how many columns it did.
func attnDotColsArch(out, x, m []float32, stride int) int {
	n := len(x)
	switch {
	case cur.name == "avx512" && len(out) >= 16:
		g := len(out) / 16
		if n < 64 {
			attnDotCols16AVX512(&out[0], &x[0], n, &m[0], stride, g)
		} else {
			attnDotCols64AVX512(&out[0], &x[0], n, &m[0], stride, g)
		}
		return 16 * g
	case cur.name == "avx2" && len(out) >= 8 && n < 64:
		g := len(out) / 8
		attnDotCols8AVX2(&out[0], &x[0], n, &m[0], stride, g)
		return 8 * g
	}
	return 0
}

// attnDotRows16AVX512 sets out[16g+l] = attnDotGeneric(x[:n], row 16g+l of
// k) for groups groups of sixteen rows, n < 64, gathering element i of the
// sixteen rows into one register.
//
//go:noescape
func attnDotRows16AVX512(out, x *float32, n int, k *float32, stride, groups int)

// attnDotRows64AVX512 is attnDotRows16AVX512 for n >= 64 (see
// attnDotCols64AVX512).
//
//go:noescape
func attnDotRows64AVX512(out, x *float32, n int, k *float32, stride, groups int)

// attnDotRows8AVX2 is attnDotRows16AVX512 with eight rows per group.
//
//go:noescape
func attnDotRows8AVX2(out, x *float32, n int, k *float32, stride, groups int)

// attnDotRowsArch computes the whole groups of rows the path in use has
// assembly for and returns how many rows it did.
func attnDotRowsArch(out, x, k []float32, stride int) int {
	n := len(x)
	switch {
	case cur.name == "avx512" && len(out) >= 16:
		g := len(out) / 16
		if n < 64 {
			attnDotRows16AVX512(&out[0], &x[0], n, &k[0], stride, g)
		} else {
			attnDotRows64AVX512(&out[0], &x[0], n, &k[0], stride, g)
		}
		return 16 * g
	case cur.name == "avx2" && len(out) >= 8 && n < 64:
		g := len(out) / 8
		attnDotRows8AVX2(&out[0], &x[0], n, &k[0], stride, g)
		return 8 * g
	}
	return 0
}
