package quant

import "math"

// ggml-cpu quantizes the activation side of a dot product with its own
// quantize_row_q8_0 / quantize_row_q8_1 (the type traits' from_float), not with
// the *_ref functions. On x86 with AVX, AVX2 or AVX-512 (llama.cpp b4748,
// ggml-cpu-quants.c, and quantize_q8_0_4x8 of the runtime-repacked Q4_0 path
// in ggml-cpu-aarch64.cpp) that code differs from the reference in two ways:
//
//   - the multiplier is id = 127/amax, where the reference uses 1/(amax/127);
//     the two differ in the last bit for many amax;
//   - values are rounded with _mm256_round_ps(_MM_ROUND_NEAREST), ties to
//     even, where the reference uses roundf, ties away from zero.
//
// d = amax/127 is stored the same way (as a half, round to nearest even). For
// Q8_1, s = d*sum(q) is computed as in the reference. Q8_K activations use
// quantize_row_q8_K_ref on x86, so Quantize(Q8_K, ...) is already what x86
// llama.cpp does. (On ARM NEON ggml uses id = 1/d like the reference but
// rounds ties to even with vcvtnq_s32_f32: a third variant, not provided.)

// QuantizeQ8_0x86 quantizes src (a multiple of 32 values) into dst (Q8_0,
// 34 bytes per 32 values) exactly as ggml-cpu's AVX/AVX2/AVX-512
// quantize_row_q8_0 does; this is what llama.cpp on x86 multiplies Q4_0, Q5_0,
// Q8_0 and IQ4_NL weights with.
func QuantizeQ8_0x86(src []float32, dst []byte) error {
	if err := checkSizes("quantize (x86)", Q8_0, len(src), len(dst)); err != nil {
		return err
	}
	quantBlocks(src, dst, QK, 34, func(x []float32, y []byte) {
		d, id := x86Scale(x)
		putHalf(y, d)
		for j, v := range x {
			y[2+j] = uint8(satInt8(cvtRNE(v * id)))
		}
	})
	return nil
}

// QuantizeQ8_1x86 quantizes src into dst (Q8_1, 36 bytes per 32 values)
// exactly as ggml-cpu's AVX2/AVX-512 quantize_row_q8_1 does; this is what
// llama.cpp on x86 multiplies Q4_1 and Q5_1 weights with.
func QuantizeQ8_1x86(src []float32, dst []byte) error {
	if err := checkSizes("quantize (x86)", Q8_1, len(src), len(dst)); err != nil {
		return err
	}
	quantBlocks(src, dst, QK, 36, func(x []float32, y []byte) {
		d, id := x86Scale(x)
		putHalf(y, d)
		var sum int32
		for j, v := range x {
			q := cvtRNE(v * id)
			sum += q
			y[4+j] = uint8(satInt8(q))
		}
		putHalf(y[2:], d*float32(sum))
	})
	return nil
}

// x86Scale returns d = amax/127 and the multiplier id = 127/amax (0 if amax is 0).
func x86Scale(x []float32) (d, id float32) {
	_, amax := absMax(x)
	d = amax / 127
	if amax != 0 {
		id = 127 / amax
	}
	return d, id
}

// cvtRNE is _mm256_round_ps(_MM_ROUND_NEAREST) followed by
// _mm256_cvtps_epi32: ties to even, and the "integer indefinite" value
// math.MinInt32 for NaN and out-of-range inputs.
func cvtRNE(f float32) int32 {
	r := math.RoundToEven(float64(f))
	if !(r >= math.MinInt32 && r <= math.MaxInt32) {
		return math.MinInt32
	}
	return int32(r)
}

// satInt8 is the signed saturation of _mm256_packs_epi32 + _mm256_packs_epi16.
func satInt8(v int32) int8 { return int8(max(-128, min(127, v))) }
