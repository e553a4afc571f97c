//go:build !purego

package kernels

import "github.com/klauspost/cpuid/v2"

// sgemmHasAVX512 is true on CPUs with AVX-512 Foundation (and the OS saving the
// ZMM registers): what the avx512 SGEMM micro kernel needs.
var sgemmHasAVX512 = cpuid.CPU.Supports(cpuid.AVX512F)

// sgemmArch returns the amd64 SGEMM implementations, least capable first.
func sgemmArch() []*Sgemm {
	return []*Sgemm{
		{name: "avx2", mr: 6, nr: 16, kind: microKindAVX2, available: hasAVX2},
		{name: "avx512", mr: 8, nr: 32, kind: microKindAVX512, available: sgemmHasAVX512},
	}
}

// microOffsArch runs the in-place micro kernel of kind (see microOffs).
func microOffsArch(kind, k int, a, b []float32, offs []int, c []float32, ldc int, load bool) {
	switch kind {
	case microKindAVX2:
		sgemmMicroOffsAVX2(k, &a[0], &b[0], &offs[0], &c[0], ldc, load)
	case microKindAVX512:
		sgemmMicroOffsAVX512(k, &a[0], &b[0], &offs[0], &c[0], ldc, load)
	default:
		panic("kernels: no SGEMM micro kernel of kind " + itoa(kind))
	}
}

func microArch(kind, k int, a, b, c []float32, ldc int, load bool) {
	switch kind {
	case microKindAVX2:
		sgemmMicroAVX2(k, &a[0], &b[0], &c[0], ldc, load)
	case microKindAVX512:
		sgemmMicroAVX512(k, &a[0], &b[0], &c[0], ldc, load)
	default:
		panic("kernels: no SGEMM micro kernel of kind " + itoa(kind))
	}
}

// sgemmMicroAVX2 is the 6×16 micro kernel (see microGeneric for its
// meaning): k steps of 12 fused multiply-adds of 8 lanes.
//
//go:noescape
func sgemmMicroAVX2(k int, a, b, c *float32, ldc int, load bool)

// sgemmMicroAVX512 is the 8×32 micro kernel: k steps of 16 fused
// multiply-adds of 16 lanes.
//
//go:noescape
func sgemmMicroAVX512(k int, a, b, c *float32, ldc int, load bool)

// sgemmMicroOffsAVX2 is sgemmMicroAVX2 reading row p of B at b+offs[p].
//
//go:noescape
func sgemmMicroOffsAVX2(k int, a, b *float32, offs *int, c *float32, ldc int, load bool)

// sgemmMicroOffsAVX512 is sgemmMicroAVX512 reading row p of B at b+offs[p].
//
//go:noescape
func sgemmMicroOffsAVX512(k int, a, b *float32, offs *int, c *float32, ldc int, load bool)
