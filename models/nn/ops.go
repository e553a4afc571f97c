package nn

import (
	"math"
	"sync"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/quant"
)

// RMSNormRows normalises each of the n rows of x (width len(w)) into dst
// with weight w (kernels.RMSNorm: ggml's rms_norm then mul). dst may be x.
func RMSNormRows(dst, x, w []float32, n int, eps float32) {
	d := len(w)
	for i := 0; i < n; i++ {
		kernels.RMSNorm(dst[i*d:(i+1)*d], x[i*d:(i+1)*d], w, eps)
	}
}

// HeadNormRows normalises every head of every row in place: n rows of heads
// heads of len(w) values each, each head RMS-normalised with weight w (the
// per-head q/k norms of Qwen3, Gemma 3, LFM2).
func HeadNormRows(x, w []float32, n, heads int, eps float32) {
	d := len(w)
	for i := 0; i < n*heads; i++ {
		kernels.RMSNorm(x[i*d:(i+1)*d], x[i*d:(i+1)*d], w, eps)
	}
}

// AddRows adds b (one row) to each of the rows of x in place (a bias).
func AddRows(x, b []float32) {
	if b == nil {
		return
	}
	for i := 0; i+len(b) <= len(x); i += len(b) {
		kernels.Add(x[i:i+len(b)], x[i:i+len(b)], b)
	}
}

// SwiGLURows sets gate = silu(gate)·up for n rows of width ffn, row by row as
// ggml (its vector/tail split is per row).
func SwiGLURows(gate, up []float32, n, ffn int) {
	for i := 0; i < n; i++ {
		kernels.SwiGLU(gate[i*ffn:(i+1)*ffn], gate[i*ffn:(i+1)*ffn], up[i*ffn:(i+1)*ffn])
	}
}

// GeGLURows sets gate = gelu(gate)·up for n rows of width ffn (Gemma's gated
// feed-forward; GELU as GELU below).
func GeGLURows(gate, up []float32, n, ffn int) {
	gate, up = gate[:n*ffn], up[:n*ffn]
	GELU(gate)
	kernels.Mul(gate, gate, up)
}

// Scale multiplies x by s in place, each product rounded to float32
// (ggml_scale).
func Scale(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

// Softcap replaces every x by c·tanh(x/c) (ggml: scale by 1/c, tanh, scale
// by c): Gemma 2's final logit soft-capping.
func Softcap(x []float32, c float32) {
	inv := 1 / c
	for i, v := range x {
		x[i] = c * float32(math.Tanh(float64(v*inv)))
	}
}

// LayerNorm sets dst = (x-mean)·scale·w + b with scale = 1/sqrt(var+eps),
// computed as ggml's norm (llama.cpp ec98e2002) followed by its mul and
// add: the mean is the float64 sum of x rounded to float32, divided by n in
// float32; the variance sums (x-mean)² (each rounded) sixteen at a time in
// the order of _mm512_reduce_add_ps, those sums and the last n%16 squares
// accumulated in float64, divided by n; x-mean is rounded, multiplied by
// the float32 scale, then by w, then b is added, each step rounded. A nil b
// adds nothing. dst may alias x.
func LayerNorm(dst, x, w, b []float32, eps float32) {
	n := len(x)
	dst, w = dst[:n], w[:n]
	var sum float64
	for _, v := range x {
		sum += float64(v)
	}
	mean := float32(sum) / float32(n)
	var sum2 float64
	i := 0
	for ; i+16 <= n; i += 16 {
		var sq [16]float32
		for k := range sq {
			d := x[i+k] - mean
			dst[i+k] = d
			sq[k] = d * d
		}
		sum2 += float64(reduce16(&sq))
	}
	for ; i < n; i++ {
		d := x[i] - mean
		dst[i] = d
		sum2 += float64(float32(d * d))
	}
	variance := float32(sum2 / float64(n))
	scale := 1 / float32(math.Sqrt(float64(variance+eps))) // 1.0f/sqrtf(variance + eps)
	if b == nil {
		for i, v := range dst {
			dst[i] = float32(v*scale) * w[i]
		}
		return
	}
	b = b[:n]
	for i, v := range dst {
		dst[i] = float32(float32(v*scale)*w[i]) + b[i]
	}
}

// reduce16 sums sixteen lanes in the order of _mm512_reduce_add_ps:
// halves, quarters, then pairs.
func reduce16(v *[16]float32) float32 {
	var t [8]float32
	for i := range t {
		t[i] = v[i] + v[i+8]
	}
	a0, a1, a2, a3 := t[0]+t[4], t[1]+t[5], t[2]+t[6], t[3]+t[7]
	return (a0 + a2) + (a1 + a3)
}

// GELU constants of ggml (float32).
const (
	geluCoefA   = float32(0.044715)
	sqrt2OverPi = float32(0.79788456080286535587989211986876)
)

// GELUF32 is GELU's tanh form in float32, evaluated as ggml_gelu_f32 does:
// 0.5·x·(1 + tanh(√(2/π)·x·(1 + 0.044715·x·x))), left to right, each
// operation rounded (the conversions keep Go from fusing them).
func GELUF32(x float32) float32 {
	inner := float32(float32(sqrt2OverPi*x) * float32(1+float32(float32(geluCoefA*x)*x)))
	t := float32(math.Tanh(float64(inner)))
	return float32(float32(0.5*x) * float32(1+t))
}

// geluTable maps the float16 bits of x to the float16-rounded GELU of x (as
// float32): ggml's table, built once.
var geluTable = sync.OnceValue(func() []float32 {
	t := make([]float32, 1<<16)
	for i := range t {
		x := quant.F16ToF32(uint16(i))
		t[i] = quant.F16ToF32(quant.F32ToF16(GELUF32(x)))
	}
	return t
})

// GELU applies GELU in place the way ggml-cpu does (GGML_GELU_FP16): x <= -10
// gives 0, x >= 10 passes through, anything else is rounded to float16 and
// looked up in the float16 table.
func GELU(x []float32) {
	tab := geluTable()
	for i, v := range x {
		switch {
		case v <= -10:
			x[i] = 0
		case v >= 10:
		default:
			x[i] = tab[f16Bits(v)]
		}
	}
}

// f16Bits is quant.F32ToF16 (nearest even) with a fast path for the values
// that round to a normal half: adding 0xfff plus the lowest kept bit, then
// shifting, rounds the mantissa and carries into the exponent as it must.
func f16Bits(f float32) uint16 {
	b := math.Float32bits(f)
	a := b & 0x7fffffff
	if a >= 0x38800000 && a < 0x477ff000 { // 2⁻¹⁴ <= |f| < 65520
		a += 0xfff + (a>>13)&1
		return uint16(b>>16)&0x8000 | uint16(a>>13-(127-15)<<10)
	}
	return quant.F32ToF16(f)
}
