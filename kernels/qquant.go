package kernels

import "math"

// MinMaxF32 returns the smallest and largest of x and 0 (the range
// DynamicQuantizeLinear quantizes, which always holds 0). NaNs are
// skipped on the SIMD path and may or may not be on the generic one; the
// caller decides what a NaN input means.
func MinMaxF32(x []float32) (lo, hi float32) {
	if hasQuantAsm && cur.name != "generic" && len(x) >= 32 {
		n := len(x) &^ 31
		lo, hi = minMaxF32AVX2(x[:n])
		for _, v := range x[n:] {
			lo, hi = min(lo, v), max(hi, v)
		}
		return min(lo, 0), max(hi, 0)
	}
	return minMaxF32Generic(x)
}

func minMaxF32Generic(x []float32) (lo, hi float32) {
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

// QuantizeU8 writes dst[i] = saturate(roundHalfEven(x[i]/scale) + zp) to
// [0, 255], all in float32 (DynamicQuantizeLinear's and ONNX Runtime's
// arithmetic). scale must not be 0.
func QuantizeU8(dst []uint8, x []float32, scale, zp float32) {
	dst = dst[:len(x)]
	i := 0
	if hasQuantAsm && cur.name != "generic" && len(x) >= 16 {
		i = len(x) &^ 15
		quantizeU8AVX2(dst[:i], x[:i], scale, zp)
	}
	for ; i < len(x); i++ {
		q := float32(math.RoundToEven(float64(x[i]/scale))) + zp
		dst[i] = uint8(min(max(q, 0), 255))
	}
}
