package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Quantize encodes src into dst as type t, exactly as ggml's
// ggml_quantize_chunk does without an importance matrix (the *_ref row
// quantizers; quantize_iq4_nl/quantize_iq4_xs for IQ4_NL/IQ4_XS; RNE
// conversion for F16 and BF16). len(src) must be a multiple of t's block size
// and dst exactly t.RowBytes(len(src)) bytes. Quantized blocks depend only on
// their own values, so rows may be quantized in any grouping.
//
// Q8_0, Q8_1 and Q8_K are the activation formats of the dot products; for
// those Quantize is ggml's portable reference. ggml-cpu on x86 (AVX/AVX2/
// AVX-512) rounds Q8_0 and Q8_1 activations differently: see QuantizeQ8_0x86.
//
// IQ2_*, IQ3_* and IQ1_* are not supported (they need search grids and, for
// some, an importance matrix). Inputs holding NaN or ±Inf produce the same
// kind of garbage as ggml does, never a panic.
func Quantize(t Type, src []float32, dst []byte) error {
	if err := t.Check(); err != nil {
		return fmt.Errorf("%w: cannot quantize", err)
	}
	if err := checkSizes("quantize", t, len(src), len(dst)); err != nil {
		return err
	}
	switch t {
	case F32:
		for i, v := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
	case F16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], F32ToF16(v))
		}
	case BF16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], F32ToBF16(v))
		}
	case Q4_0:
		quantBlocks(src, dst, QK, 18, quantQ4_0)
	case Q4_1:
		quantBlocks(src, dst, QK, 20, quantQ4_1)
	case Q5_0:
		quantBlocks(src, dst, QK, 22, quantQ5_0)
	case Q5_1:
		quantBlocks(src, dst, QK, 24, quantQ5_1)
	case Q8_0:
		quantBlocks(src, dst, QK, 34, quantQ8_0)
	case Q8_1:
		quantBlocks(src, dst, QK, 36, quantQ8_1)
	case Q2_K:
		quantBlocks(src, dst, QKK, 84, quantQ2K)
	case Q3_K:
		quantBlocks(src, dst, QKK, 110, quantQ3K)
	case Q4_K:
		quantBlocks(src, dst, QKK, 144, quantQ4K)
	case Q5_K:
		quantBlocks(src, dst, QKK, 176, quantQ5K)
	case Q6_K:
		quantBlocks(src, dst, QKK, 210, quantQ6K)
	case Q8_K:
		quantBlocks(src, dst, QKK, 292, quantQ8K)
	case IQ4_NL:
		quantBlocks(src, dst, QK, 18, quantIQ4NL)
	case IQ4_XS:
		quantBlocks(src, dst, QKK, 136, quantIQ4XS)
	default:
		return fmt.Errorf("%w: %s: no quantizer", ErrUnsupportedType, t)
	}
	return nil
}

// quantBlocks calls f for each block of qk values and bs bytes.
func quantBlocks(src []float32, dst []byte, qk, bs int, f func(x []float32, y []byte)) {
	for i := 0; i*qk < len(src); i++ {
		f(src[i*qk:(i+1)*qk], dst[i*bs:(i+1)*bs])
	}
}

func putHalf(b []byte, f float32) { binary.LittleEndian.PutUint16(b, F32ToF16(f)) }

func abs32(f float32) float32 { return math.Float32frombits(math.Float32bits(f) &^ (1 << 31)) }

// absMax returns the value of largest magnitude (the first one on ties) and its magnitude.
func absMax(x []float32) (max, amax float32) {
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax, max = a, v
		}
	}
	return max, amax
}

// minMax returns the smallest and largest value, starting from ±FLT_MAX as ggml does.
func minMax(x []float32) (min, max float32) {
	min, max = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < min {
			min = v
		}
		if v > max {
			max = v
		}
	}
	return min, max
}

// inv returns 1/d, or 0 for d == 0.
func inv(d float32) float32 {
	if d != 0 {
		return 1 / d
	}
	return 0
}

// truncInt converts like C's (int) cast of a float: toward zero. Out-of-range
// values (and NaN) give whatever Go gives; ggml's behaviour there is undefined.
func truncInt(f float32) int { return int(f) }

// quantQ4_0 is quantize_row_q4_0_ref for one block: d = max/-8 where max is the
// value of largest magnitude, q = min(15, trunc(x/d + 8.5)).
func quantQ4_0(x []float32, y []byte) {
	max, _ := absMax(x)
	d := max / -8
	id := inv(d)
	putHalf(y, d)
	for j := 0; j < 16; j++ {
		x0 := float32(x[j] * id)
		x1 := float32(x[j+16] * id)
		q0 := min(15, int8(truncInt(x0+8.5)))
		q1 := min(15, int8(truncInt(x1+8.5)))
		y[2+j] = uint8(q0) | uint8(q1)<<4
	}
}

// quantQ4_1 is quantize_row_q4_1_ref: d = (max-min)/15, m = min, q = min(15, trunc((x-min)/d + 0.5)).
func quantQ4_1(x []float32, y []byte) {
	mn, mx := minMax(x)
	d := (mx - mn) / 15
	id := inv(d)
	putHalf(y, d)
	putHalf(y[2:], mn)
	for j := 0; j < 16; j++ {
		x0 := float32((x[j] - mn) * id)
		x1 := float32((x[j+16] - mn) * id)
		q0 := min(15, int8(truncInt(x0+0.5)))
		q1 := min(15, int8(truncInt(x1+0.5)))
		y[4+j] = uint8(q0) | uint8(q1)<<4
	}
}

// quantQ5_0 is quantize_row_q5_0_ref: d = max/-16, q = min(31, trunc(x/d + 16.5)).
func quantQ5_0(x []float32, y []byte) {
	max, _ := absMax(x)
	d := max / -16
	id := inv(d)
	putHalf(y, d)
	var qh uint32
	for j := 0; j < 16; j++ {
		x0 := float32(x[j] * id)
		x1 := float32(x[j+16] * id)
		q0 := uint8(min(31, int8(truncInt(x0+16.5))))
		q1 := uint8(min(31, int8(truncInt(x1+16.5))))
		y[6+j] = q0&0xF | (q1&0xF)<<4
		qh |= uint32(q0>>4&1) << j
		qh |= uint32(q1>>4&1) << (j + 16)
	}
	binary.LittleEndian.PutUint32(y[2:], qh)
}

// quantQ5_1 is quantize_row_q5_1_ref: d = (max-min)/31, m = min, q = trunc((x-min)/d + 0.5).
func quantQ5_1(x []float32, y []byte) {
	mn, mx := minMax(x)
	d := (mx - mn) / 31
	id := inv(d)
	putHalf(y, d)
	putHalf(y[2:], mn)
	var qh uint32
	for j := 0; j < 16; j++ {
		x0 := float32((x[j] - mn) * id)
		x1 := float32((x[j+16] - mn) * id)
		q0 := uint8(truncInt(x0 + 0.5))
		q1 := uint8(truncInt(x1 + 0.5))
		y[8+j] = q0&0xF | (q1&0xF)<<4
		qh |= uint32(q0>>4&1) << j
		qh |= uint32(q1>>4&1) << (j + 16)
	}
	binary.LittleEndian.PutUint32(y[4:], qh)
}

// roundAway is C's roundf: to nearest, ties away from zero.
func roundAway(f float32) float32 { return float32(math.Round(float64(f))) }

// quantQ8_0 is quantize_row_q8_0_ref: d = amax/127, q = roundf(x * (1/d)).
func quantQ8_0(x []float32, y []byte) {
	_, amax := absMax(x)
	d := amax / 127
	id := inv(d)
	putHalf(y, d)
	for j, v := range x {
		y[2+j] = uint8(int8(truncInt(roundAway(v * id))))
	}
}

// quantQ8_1 is quantize_row_q8_1_ref: as Q8_0, plus s = d*sum(q) as a half.
func quantQ8_1(x []float32, y []byte) {
	_, amax := absMax(x)
	d := amax / 127
	id := inv(d)
	putHalf(y, d)
	sum := 0
	for j, v := range x {
		q := int8(truncInt(roundAway(v * id)))
		y[4+j] = uint8(q)
		sum += int(q)
	}
	putHalf(y[2:], float32(sum)*d)
}

// quantQ8K is quantize_row_q8_K_ref: iscale = -127/max (max: the value of
// largest magnitude), q = min(127, nearest_int(iscale*x)), d = 1/iscale as a
// float32, bsums the sums of each 16 quants. ggml leaves bsums untouched for an
// all-zero block; here they are written as zeros.
func quantQ8K(x []float32, y []byte) {
	max, amax := absMax(x)
	qs := y[4:260]
	if amax == 0 {
		clear(y)
		return
	}
	iscale := -127 / max
	for j, v := range x {
		qs[j] = uint8(int8(min(127, nearestInt(iscale*v))))
	}
	for j := 0; j < 16; j++ {
		sum := 0
		for _, q := range qs[16*j : 16*j+16] {
			sum += int(int8(q))
		}
		binary.LittleEndian.PutUint16(y[260+2*j:], uint16(int16(sum)))
	}
	binary.LittleEndian.PutUint32(y, math.Float32bits(1/iscale))
}
