//go:build purego || !amd64

package kernels

func qgemmArch() []*QGemm { return nil }

func qtileArch(kind, k int, a, b []byte, c []int32) {
	panic("kernels: no int8 tile kernel of kind " + itoa(kind))
}

func interleave4(dst, r0, r1, r2, r3 []byte, flip byte) {
	interleave4Generic(dst, r0, r1, r2, r3, flip)
}
