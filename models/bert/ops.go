package bert

import (
	"math"
	"sync"

	"github.com/edgeai-go/edgeai/quant"
)

// layerNorm sets dst = (x-mean)·scale·w + b with scale = 1/sqrt(var+eps),
// computed as ggml's norm followed by its mul and add: the mean and the
// variance are float64 sums of float32 values, rounded to float32; x-mean
// is rounded, multiplied by the float32 scale, then by w, then b is added,
// each step rounded. dst may alias x.
func layerNorm(dst, x, w, b []float32, eps float32) {
	n := len(x)
	dst, w, b = dst[:n], w[:n], b[:n]
	var sum float64
	for _, v := range x {
		sum += float64(v)
	}
	mean := float32(sum / float64(n))
	var sum2 float64
	for i, v := range x {
		d := v - mean
		dst[i] = d
		sum2 += float64(float32(d * d))
	}
	variance := float32(sum2 / float64(n))
	scale := 1 / float32(math.Sqrt(float64(variance+eps))) // 1.0f/sqrtf(variance + eps)
	for i, v := range dst {
		dst[i] = float32(float32(v*scale)*w[i]) + b[i]
	}
}

// GELU constants of ggml (float32).
const (
	geluCoefA   = float32(0.044715)
	sqrt2OverPi = float32(0.79788456080286535587989211986876)
)

// geluF32 is GELU's tanh form in float32, evaluated as ggml_gelu_f32 does:
// 0.5·x·(1 + tanh(√(2/π)·x·(1 + 0.044715·x·x))), left to right, each
// operation rounded (the conversions keep Go from fusing them).
func geluF32(x float32) float32 {
	inner := float32(float32(sqrt2OverPi*x) * float32(1+float32(float32(geluCoefA*x)*x)))
	t := float32(math.Tanh(float64(inner)))
	return float32(float32(0.5*x) * float32(1+t))
}

var (
	geluOnce  sync.Once
	geluTable []float32 // float16 bits of x -> float16-rounded gelu(x), as float32
)

// initGELU builds ggml's float16 GELU table: for every float16 value, its
// GELU computed in float32 and rounded to float16.
func initGELU() {
	geluTable = make([]float32, 1<<16)
	for i := range geluTable {
		x := quant.F16ToF32(uint16(i))
		geluTable[i] = quant.F16ToF32(quant.F32ToF16(geluF32(x)))
	}
}

// gelu applies GELU in place the way ggml-cpu does (GGML_GELU_FP16): x <= -10
// gives 0, x >= 10 passes through, anything else is rounded to float16 and
// looked up in the float16 table.
func gelu(x []float32) {
	geluOnce.Do(initGELU)
	tab := geluTable
	for i, v := range x {
		switch {
		case v <= -10:
			x[i] = 0
		case v >= 10:
		default:
			x[i] = tab[quant.F32ToF16(v)]
		}
	}
}
