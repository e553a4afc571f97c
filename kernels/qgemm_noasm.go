//go:build purego || !amd64

package kernels

func qgemmArch() []*QGemm { return nil }

func qtileArch(kind, k int, a, b []byte, c []int32) {
	panic("kernels: no int8 tile kernel of kind " + itoa(kind))
}

func interleave4(dst, r0, r1, r2, r3 []byte, flip byte) {
	interleave4Generic(dst, r0, r1, r2, r3, flip)
}

const hasQuantAsm = false

func minMaxF32AVX2(x []float32) (lo, hi float32) { return minMaxF32Generic(x) }

func quantizeU8AVX2(dst []uint8, x []float32, scale, zp float32) {
	panic("kernels: no quantizeU8AVX2")
}
