//go:build !purego

package kernels

// epiAddAVX2: x[i] += v, for n a multiple of 8.
//
//go:noescape
func epiAddAVX2(x *float32, n int, v float32)

// epiSubAVX2: x[i] -= v, for n a multiple of 8.
//
//go:noescape
func epiSubAVX2(x *float32, n int, v float32)

// epiSubFromAVX2: x[i] = v - x[i], for n a multiple of 8.
//
//go:noescape
func epiSubFromAVX2(x *float32, n int, v float32)

// epiMulAVX2: x[i] *= v, for n a multiple of 8.
//
//go:noescape
func epiMulAVX2(x *float32, n int, v float32)

// epiDivAVX2: x[i] /= v, for n a multiple of 8.
//
//go:noescape
func epiDivAVX2(x *float32, n int, v float32)

// epiDivIntoAVX2: x[i] = v / x[i], for n a multiple of 8.
//
//go:noescape
func epiDivIntoAVX2(x *float32, n int, v float32)

// epiMaxAVX2: x[i] = max(x[i], v) (NaN x stays NaN), for n a multiple of 8.
//
//go:noescape
func epiMaxAVX2(x *float32, n int, v float32)

// epiMinAVX2: x[i] = min(x[i], v) (NaN x stays NaN), for n a multiple of 8.
//
//go:noescape
func epiMinAVX2(x *float32, n int, v float32)

// epiBNAVX2: x[i] = x[i]*v + w (rounded twice, no fused multiply-add), for n a multiple of 8.
//
//go:noescape
func epiBNAVX2(x *float32, n int, v, w float32)

// epiClipAVX2: x[i] = min(max(x[i], lo), hi), for n a multiple of 8.
//
//go:noescape
func epiClipAVX2(x *float32, n int, lo, hi float32)

// epiLeakyReluAVX2: x[i] = x[i] < 0 ? x[i]*a : x[i], for n a multiple of 8.
//
//go:noescape
func epiLeakyReluAVX2(x *float32, n int, a float32)

// epiHardSigmoidAVX2: x[i] = max(0, min(1, a*x[i] + b)) (rounded twice), for n a multiple of 8.
//
//go:noescape
func epiHardSigmoidAVX2(x *float32, n int, a, b float32)

// epiHardSwishAVX2: x[i] = x[i] * min(max(x[i]+a, 0), b) / b, for n a multiple of 8.
//
//go:noescape
func epiHardSwishAVX2(x *float32, n int, a, b float32)

// epiExpAVX2: x[i] = Exp(x[i]), for n a multiple of 8.
//
//go:noescape
func epiExpAVX2(x *float32, n int)

// epiSigmoidAVX2: x[i] = 1 / (1 + Exp(-x[i])), for n a multiple of 8.
//
//go:noescape
func epiSigmoidAVX2(x *float32, n int)
