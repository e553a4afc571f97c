package nn

import (
	"fmt"
	"math"
)

// Rope is one rotary position embedding, the way ggml's rope_ext computes
// it: for pair i of a head's first Dims values, the angle is
// p · Base^(-2i/Dims) (built by repeated float32 multiplication), divided by
// Factors[i] when set, times FreqScale; cos and sin are multiplied by
// AttnFactor.
type Rope struct {
	Dims       int       // rotated values of each head (rope.dimension_count, n_rot); even
	Base       float32   // rope.freq_base
	FreqScale  float32   // 1/rope.scaling.factor for linear scaling; 1 = none
	Neox       bool      // rotate pairs (i, i+Dims/2) (NEOX: Qwen, Gemma, Phi) instead of (2i, 2i+1) (Llama)
	Factors    []float32 // Dims/2 frequency divisors (Llama 3.1 rope_freqs, Phi-3 LongRoPE); nil = none
	AttnFactor float32   // multiplies cos and sin (LongRoPE's attn_factor); 0 means 1
}

// Check returns an error unless r fits heads of headDim values.
func (r *Rope) Check(headDim int) error {
	switch {
	case r.Dims <= 0 || r.Dims%2 != 0 || r.Dims > headDim:
		return fmt.Errorf("rope dimension %d does not fit head size %d (positive, even, at most the head)", r.Dims, headDim)
	case !(r.Base > 0) || math.IsInf(float64(r.Base), 0):
		return fmt.Errorf("rope base %g is not a positive number", r.Base)
	case !(r.FreqScale > 0) || math.IsInf(float64(r.FreqScale), 0):
		return fmt.Errorf("rope frequency scale %g is not a positive number", r.FreqScale)
	case r.Factors != nil && len(r.Factors) != r.Dims/2:
		return fmt.Errorf("rope has %d frequency factors, want %d", len(r.Factors), r.Dims/2)
	}
	for i, f := range r.Factors {
		if !(f > 0) || math.IsInf(float64(f), 0) {
			return fmt.Errorf("rope frequency factor %d is %g, not a positive number", i, f)
		}
	}
	return nil
}

// RopeTables holds cos and sin of one Rope for the rows of a pass.
type RopeTables struct {
	Cos, Sin []float32 // rows x Dims/2
	half     int
}

// Fill computes the tables of r for the positions pos (one per row).
func (t *RopeTables) Fill(r *Rope, pos []int) {
	half := r.Dims / 2
	t.half = half
	if need := len(pos) * half; cap(t.Cos) < need {
		t.Cos, t.Sin = make([]float32, need), make([]float32, need)
	}
	t.Cos, t.Sin = t.Cos[:len(pos)*half], t.Sin[:len(pos)*half]
	thetaScale := float32(math.Pow(float64(r.Base), -2.0/float64(r.Dims)))
	mscale := r.AttnFactor
	if mscale == 0 {
		mscale = 1
	}
	for i, p := range pos {
		theta := float32(p)
		for j := 0; j < half; j++ {
			th := theta
			if r.Factors != nil {
				th /= r.Factors[j]
			}
			th *= r.FreqScale
			c, s := float32(math.Cos(float64(th))), float32(math.Sin(float64(th)))
			if mscale != 1 {
				c, s = c*mscale, s*mscale
			}
			t.Cos[i*half+j], t.Sin[i*half+j] = c, s
			theta *= thetaScale
		}
	}
}

// Apply rotates row i's heads of x (heads x headDim values, the first Dims of
// each head) with the tables of row i.
func (t *RopeTables) Apply(r *Rope, x []float32, heads, headDim, i int) {
	half := t.half
	cos, sin := t.Cos[i*half:(i+1)*half], t.Sin[i*half:(i+1)*half]
	for h := 0; h < heads; h++ {
		hx := x[h*headDim : (h+1)*headDim]
		for j := 0; j < half; j++ {
			a, b := 2*j, 2*j+1
			if r.Neox {
				a, b = j, j+half
			}
			x0, x1 := hx[a], hx[b]
			// Explicit conversions keep Go from fusing these into FMAs on
			// arm64, so every platform computes the same bits.
			hx[a] = float32(x0*cos[j]) - float32(x1*sin[j])
			hx[b] = float32(x0*sin[j]) + float32(x1*cos[j])
		}
	}
}

// ApplyRows rotates the n rows of x (row stride heads·headDim).
func (t *RopeTables) ApplyRows(r *Rope, x []float32, n, heads, headDim int) {
	w := heads * headDim
	for i := 0; i < n; i++ {
		t.Apply(r, x[i*w:(i+1)*w], heads, headDim, i)
	}
}
