package kernels

import (
	"math"

	"github.com/edgeai-go/edgeai/quant"
)

// layout is the part of quant's traits table the hot path needs, copied into
// an array at init so that no call does a map lookup.
type layout struct {
	bs  int        // values per block
	bb  int        // bytes per block
	act quant.Type // activation type of its dot product
}

var layouts [numTypes]layout

func init() {
	for t := range numTypes {
		if tr, ok := quant.Type(t).Traits(); ok {
			layouts[t] = layout{tr.BlockSize, tr.BlockBytes, tr.VecDot}
		}
	}
}

// rowBytes returns the bytes of n values of type t, panicking (a programmer
// error: shapes are checked at load) if n is not a whole number of blocks.
func rowBytes(fn string, t quant.Type, n int) int {
	if int(t) >= numTypes || layouts[t].bs == 0 {
		panic("kernels: " + fn + ": unknown type " + t.String())
	}
	l := layouts[t]
	if n < 0 || n%l.bs != 0 {
		panic("kernels: " + fn + ": " + itoa(n) + " values are not a whole number of " + t.String() + " blocks")
	}
	return n / l.bs * l.bb
}

// ActivationType returns the type that activations are converted to for dot
// products with weights of type w, as ggml's vec_dot_type: Q8_0 for Q4_0,
// Q5_0, Q8_0 and IQ4_NL; Q8_1 for Q4_1 and Q5_1; Q8_K for Q2_K..Q6_K and
// IQ4_XS; F16 for F16, BF16 for BF16 and F32 for F32. It panics if w is not
// Supported (models call Check when they load their weights).
func ActivationType(w quant.Type) quant.Type {
	if !Supported(w) {
		panic("kernels: ActivationType: no dot product for " + w.String() + " weights (see kernels.Check)")
	}
	return layouts[w].act
}

// QuantizeActivation converts x into dst in the activation type at (one of
// F32, F16, BF16, Q8_0, Q8_1, Q8_K); len(dst) must be at.RowBytes(len(x)) and
// len(x) a whole number of at's blocks. F32 copies the bits (little-endian).
//
// The bytes are those ggml-cpu writes on x86 (where the reference logits of
// ../shared were made), which for Q8_0 and Q8_1 are not those of quant's
// reference quantizer. What the sources of ggml (c392e50) say:
//
//   - Q8_0 (quantize_row_q8_0, AVX2/AVX branch, also taken by AVX-512 builds,
//     and the same arithmetic in the Q4_0 repacking path's quantize_mat_q8_0):
//     amax = max|x| of the block, d = amax/127 stored as fp16 (round to
//     nearest even), id = 127/amax (0 if amax is 0), q = x*id rounded to
//     nearest, ties to even (_mm256_round_ps). The reference
//     quantize_row_q8_0_ref uses id = 1/d and roundf (ties away from zero),
//     so a value can differ by one where x*id is within an ulp of a half.
//   - Q8_1 (quantize_row_q8_1, same branch): as Q8_0, plus s = fp16(d*Σq)
//     with d the float32 amax/127 (not its fp16 rounding), Σq the integer
//     sum of the block's quants. The reference computes s the same way.
//   - Q8_K (quantize_row_q8_K): on x86 it is quantize_row_q8_K_ref itself:
//     max = the signed value of largest magnitude (the first one on ties),
//     iscale = -127/max, q = min(127, nearest_int(iscale*x)) where
//     nearest_int rounds to nearest even (the 1.5·2²³ trick), d = 1/iscale as
//     float32, bsums = sums of each 16 quants. An all-zero block is d = 0,
//     q = 0 (and bsums 0).
//   - F16: ggml_cpu_fp32_to_fp16 (F16C, round to nearest even); BF16: round
//     to nearest even with NaN kept quiet, as ggml's reference. (ggml built
//     with AVX512-BF16 converts with VCVTNE2PS2BF16, which also treats
//     subnormal inputs as zero; edgeai keeps them.)
//
// NaN and infinite activations give unspecified quants, as in ggml.
func QuantizeActivation(at quant.Type, x []float32, dst []byte) {
	if int(at) >= numTypes || cur.quantize[at] == nil {
		panic("kernels: QuantizeActivation: " + at.String() + " is not an activation type")
	}
	if rb := rowBytes("QuantizeActivation", at, len(x)); len(dst) != rb {
		panic("kernels: QuantizeActivation: dst has " + itoa(len(dst)) + " bytes, want " + itoa(rb))
	}
	cur.quantize[at](x, dst)
}

// roundEven rounds v (|v| <= 2²²) to the nearest integer, ties to even, the
// way ggml's nearest_int and _mm256_round_ps(_MM_ROUND_NEAREST) do. v must
// already be a rounded float32 product: the caller converts it explicitly so
// the compiler cannot fuse the multiplication into the addition below.
func roundEven(v float32) int32 {
	f := float32(v + 12582912) // 1.5·2²³: the sum's last mantissa bit is the integer
	return int32(math.Float32bits(f)&0x7fffff) - 0x400000
}

// quantizeQ8_0 is the generic Q8_0 quantizer (ggml-cpu's x86 arithmetic).
func quantizeQ8_0(x []float32, dst []byte) {
	for len(x) >= 32 {
		xb := (*[32]float32)(x)
		b := (*[34]byte)(dst)
		var amax float32
		for _, v := range xb {
			if a := abs32(v); a > amax {
				amax = a
			}
		}
		d := amax / 127
		var id float32
		if amax != 0 {
			id = 127 / amax
		}
		putU16(b[0:2], f32ToF16(d))
		for j, v := range xb {
			b[2+j] = byte(int8(roundEven(float32(v * id))))
		}
		x, dst = x[32:], dst[34:]
	}
}

// quantizeQ8_1 is the generic Q8_1 quantizer (ggml-cpu's x86 arithmetic).
func quantizeQ8_1(x []float32, dst []byte) {
	for len(x) >= 32 {
		xb := (*[32]float32)(x)
		b := (*[36]byte)(dst)
		var amax float32
		for _, v := range xb {
			if a := abs32(v); a > amax {
				amax = a
			}
		}
		d := amax / 127
		var id float32
		if amax != 0 {
			id = 127 / amax
		}
		var sum int32
		for j, v := range xb {
			q := roundEven(float32(v * id))
			sum += q
			b[4+j] = byte(int8(q))
		}
		putU16(b[0:2], f32ToF16(d))
		putU16(b[2:4], f32ToF16(float32(d*float32(sum))))
		x, dst = x[32:], dst[36:]
	}
}

// quantizeQ8_K is the generic Q8_K quantizer (ggml's quantize_row_q8_K_ref,
// which x86 builds use). Layout: d float32, 256 int8 quants, 16 int16 bsums.
func quantizeQ8_K(x []float32, dst []byte) {
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
			x, dst = x[256:], dst[292:]
			continue
		}
		iscale := -127 / mx
		for j := 0; j < 256; j += 16 {
			var sum int32
			for l := j; l < j+16; l++ {
				q := min(127, roundEven(float32(iscale*xb[l])))
				sum += q
				b[4+l] = byte(int8(q))
			}
			putU16(b[260+j/8:], uint16(int16(sum)))
		}
		putU32(b[0:4], math.Float32bits(1/iscale))
		x, dst = x[256:], dst[292:]
	}
}

// quantizeF16 rounds each value to binary16 (nearest even).
func quantizeF16(x []float32, dst []byte) {
	dst = dst[:2*len(x)]
	for i, v := range x {
		putU16(dst[2*i:], f32ToF16(v))
	}
}

// quantizeBF16 rounds each value to bfloat16 (nearest even, NaN quiet).
func quantizeBF16(x []float32, dst []byte) {
	dst = dst[:2*len(x)]
	for i, v := range x {
		putU16(dst[2*i:], quant.F32ToBF16(v))
	}
}

// quantizeF32 stores the float32 bits little-endian.
func quantizeF32(x []float32, dst []byte) {
	dst = dst[:4*len(x)]
	for i, v := range x {
		putU32(dst[4*i:], math.Float32bits(v))
	}
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

func putU16(b []byte, v uint16) {
	_ = b[1]
	b[0], b[1] = byte(v), byte(v>>8)
}

func putU32(b []byte, v uint32) {
	_ = b[3]
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

func u16(b []byte) uint16 {
	_ = b[1]
	return uint16(b[0]) | uint16(b[1])<<8
}

func u32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// f32ToF16 rounds f to binary16, to nearest even, like quant.F32ToF16. The
// fast path covers the values that round to a normal half: adding 0xfff plus
// the lowest kept bit, then shifting, rounds the mantissa to nearest even and
// carries into the exponent where it must; the rest (subnormals, overflow to
// infinity, NaN) goes to quant.
func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	a := b & 0x7fffffff
	if a >= 0x38800000 && a < 0x477ff000 { // 2⁻¹⁴ <= |f| < 65520
		a += 0xfff + (a>>13)&1
		return uint16(b>>16)&0x8000 | uint16(a>>13-(127-15)<<10)
	}
	return quant.F32ToF16(f)
}

// f16 converts an IEEE binary16 value to float32 exactly. Moving the
// exponent and mantissa into a float32's fields and multiplying by 2^112
// (the difference of the exponent biases) is exact for normal and subnormal
// halves alike; infinities and NaNs keep their mantissa under an all-ones
// exponent.
func f16(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	if h&0x7c00 == 0x7c00 {
		return math.Float32frombits(sign | 0x7f800000 | uint32(h&0x3ff)<<13)
	}
	return math.Float32frombits(sign|uint32(h&0x7fff)<<13) * 0x1p112
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
