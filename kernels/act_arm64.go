//go:build !purego

package kernels

import "math"

// The NEON activation quantizers (Q8_0, Q8_1, Q8_K) (act_arm64.s), byte for byte those of
// act.go (ggml's x86 arithmetic).

// quantizeQ8_0NEON is quantizeQ8_0.
//
//go:noescape
func quantizeQ8_0NEON(x []float32, dst []byte)

// quantizeQ8_1NEON is quantizeQ8_1.
//
//go:noescape
func quantizeQ8_1NEON(x []float32, dst []byte)

// quantizeQ8_KBlock writes the quants and block sums of one Q8_K block
// with the scale iscale (not its d).
//
//go:noescape
func quantizeQ8_KBlock(x *[256]float32, iscale float32, dst *[292]byte)

// quantizeQ8_KNEON is quantizeQ8_K: the scale is found in Go (the signed
// value of largest magnitude, the first on ties), the quants and sums in
// assembly.
func quantizeQ8_KNEON(x []float32, dst []byte) {
	for len(x) >= 256 {
		xb := (*[256]float32)(x)
		b := (*[292]byte)(dst)
		var amax, mx float32
		for _, v := range xb {
			if a := abs32(v); a > amax {
				amax, mx = a, v
			}
		}
		if amax == 0 {
			clear(b[:])
		} else {
			iscale := -127 / mx
			quantizeQ8_KBlock(xb, iscale, b)
			putU32(b[0:4], math.Float32bits(1/iscale))
		}
		x, dst = x[256:], dst[292:]
	}
}
