//go:build !purego

package kernels

// quantizeQ8_0AVX2 is quantizeQ8_0, byte for byte (act_amd64.s); len(x) is
// a multiple of 32 and dst holds len(x)/32 blocks of 34 bytes.
//
//go:noescape
func quantizeQ8_0AVX2(x []float32, dst []byte)

// quantizeQ8_KAVX2 is quantizeQ8_K, byte for byte (act_amd64.s); len(x) is
// a multiple of 256 and dst holds len(x)/256 blocks of 292 bytes.
//
//go:noescape
func quantizeQ8_KAVX2(x []float32, dst []byte)
