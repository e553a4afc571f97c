package kernels

import "math"

// The float32 vector operations of the models. Lengths must match (the
// callers size their buffers once per model); a mismatch panics.

func sameLen(fn string, n int, m int) {
	if n != m {
		panic("kernels: " + fn + ": lengths " + itoa(n) + " and " + itoa(m) + " differ")
	}
}

// Dot returns Σ a[i]·b[i] in float32: each product rounded, four interleaved
// partial sums (index mod 4, the last n%4 products going to the first),
// then (s0+s1)+(s2+s3). Every path computes exactly this, so results do not
// depend on the CPU.
func Dot(a, b []float32) float32 {
	sameLen("Dot", len(a), len(b))
	return cur.dot(a, b)
}

func dotGeneric(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+3 < len(a); i += 4 {
		s0 += float32(a[i] * b[i])
		s1 += float32(a[i+1] * b[i+1])
		s2 += float32(a[i+2] * b[i+2])
		s3 += float32(a[i+3] * b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += float32(a[i] * b[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// Axpy adds alpha·x to dst.
func Axpy(dst []float32, alpha float32, x []float32) {
	sameLen("Axpy", len(dst), len(x))
	cur.axpy(dst, alpha, x)
}

func axpyGeneric(dst []float32, alpha float32, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] += float32(alpha * v)
	}
}

// Scale multiplies x by s in place.
func Scale(x []float32, s float32) { cur.scale(x, s) }

func scaleGeneric(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

// Add sets dst = a + b element-wise; dst may alias a or b.
func Add(dst, a, b []float32) {
	sameLen("Add", len(dst), len(a))
	sameLen("Add", len(dst), len(b))
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

// Mul sets dst = a · b element-wise; dst may alias a or b.
func Mul(dst, a, b []float32) {
	sameLen("Mul", len(dst), len(a))
	sameLen("Mul", len(dst), len(b))
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}

// RMSNorm sets dst = x·scale·w with scale = 1/sqrt(mean(x²)+eps), the way
// ggml's rms_norm followed by the weight multiplication computes it: the
// squares are rounded to float32 and summed in float64, the mean and scale
// are float32, and x·scale is rounded before it is multiplied by w. dst may
// alias x.
func RMSNorm(dst, x, w []float32, eps float32) {
	sameLen("RMSNorm", len(dst), len(x))
	sameLen("RMSNorm", len(dst), len(w))
	if len(x) == 0 {
		return
	}
	var sum float64
	for _, v := range x {
		sum += float64(float32(v * v))
	}
	mean := float32(sum / float64(len(x)))
	scale := 1 / float32(math.Sqrt(float64(mean+eps))) // sqrtf: the double root rounds correctly
	x, w = x[:len(dst)], w[:len(dst)]
	for i := range dst {
		dst[i] = float32(x[i]*scale) * w[i]
	}
}

// Softmax replaces x by exp(x-max)/Σexp(x-max) with the arithmetic of
// ggml's soft_max on an AVX-512 build (llama.cpp pads the key count to a
// multiple of 32, so every key goes through the vector code): ggml's vector
// expf (Expf), the exponentials summed sixteen at a time in the order of
// _mm512_reduce_add_ps, those sums accumulated in float64, and each value
// multiplied by the float32 of 1/sum. An empty x is left alone.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	mx := x[0]
	for _, v := range x[1:] {
		mx = max(mx, v)
	}
	n16 := len(x) &^ 15
	sum := cur.softmaxExp(x[:n16], mx)
	if n16 < len(x) {
		var v [16]float32 // lanes past the end are the padding's exp(-inf) = 0
		for k := range len(x) - n16 {
			v[k] = Expf(x[n16+k] - mx)
			x[n16+k] = v[k]
		}
		sum += float64(reduce16(&v))
	}
	cur.scale(x, float32(1/sum))
}

// softmaxExpGeneric replaces x (a multiple of 16 values) by Expf(x-mx) and
// returns Σ float64(reduce16(group)) over its groups of 16, in order.
func softmaxExpGeneric(x []float32, mx float32) float64 {
	var sum float64
	for i := 0; i+16 <= len(x); i += 16 {
		var v [16]float32
		for k := range 16 {
			v[k] = Expf(x[i+k] - mx)
			x[i+k] = v[k]
		}
		sum += float64(reduce16(&v))
	}
	return sum
}

// SwiGLU sets dst = silu(gate)·up with silu(x) = x/(1+exp(-x)), as ggml's
// silu then mul on an AVX-512 build: sixteen at a time with ggml's vector
// expf, the last len%16 with the C library's expf. dst may alias gate or up.
func SwiGLU(dst, gate, up []float32) {
	sameLen("SwiGLU", len(dst), len(gate))
	sameLen("SwiGLU", len(dst), len(up))
	cur.swiglu(dst, gate, up)
}

func swigluGeneric(dst, gate, up []float32) {
	gate, up = gate[:len(dst)], up[:len(dst)]
	n16 := len(dst) &^ 15
	for i := range dst {
		g := gate[i]
		var e float32
		if i < n16 {
			e = Expf(0 - g)
		} else {
			e = expf(-g)
		}
		dst[i] = g / (1 + e) * up[i]
	}
}

// expf returns e^x rounded to float32 (math.Exp's double result rounded,
// within an ulp of the exact value, like C's expf).
func expf(x float32) float32 { return float32(math.Exp(float64(x))) }
