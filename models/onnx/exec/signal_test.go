package exec

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"

	"github.com/edgeai-go/edgeai/models/onnx"
)

// naiveDFT is the definition: X[k] = Σ x[t]·e^(∓2πi·kt/n) (÷n inverse).
func naiveDFT(x []complex128, n, bins int, inverse bool) []complex128 {
	out := make([]complex128, bins)
	sign := -1.0
	if inverse {
		sign = 1
	}
	for k := range bins {
		var s complex128
		for t, v := range x {
			if t >= n {
				break
			}
			s += v * cmplx.Exp(complex(0, sign*2*math.Pi*float64(k*t)/float64(n)))
		}
		if inverse {
			s /= complex(float64(n), 0)
		}
		out[k] = s
	}
	return out
}

// TestSTFTComplex checks STFT of a complex signal (which ONNX Runtime
// 1.30 gets wrong in its last value) against the definition.
func TestSTFTComplex(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const length, fl, step = 70, 16, 9
	sig := make([]float32, length*2)
	for i := range sig {
		sig[i] = float32(r.NormFloat64())
	}
	win := make([]float32, fl)
	for i := range win {
		win[i] = r.Float32()
	}
	x := &Tensor{Type: onnx.Float, Shape: []int{1, length, 2}, Data: sig}
	out, err := runOp(t, 17, "STFT", []*onnx.Attribute{aInt("onesided", 0)}, 1, x,
		&Tensor{Type: onnx.Int64, Shape: nil, Data: []int64{step}}, &Tensor{Type: onnx.Float, Shape: []int{fl}, Data: win})
	if err != nil {
		t.Fatal(err)
	}
	frames := (length-fl)/step + 1
	var want []float64
	for f := range frames {
		frame := make([]complex128, fl)
		for i := range fl {
			p := (f*step + i) * 2
			frame[i] = complex(float64(sig[p]), float64(sig[p+1])) * complex(float64(win[i]), 0)
		}
		for _, v := range naiveDFT(frame, fl, fl, false) {
			want = append(want, real(v), imag(v))
		}
	}
	checkClose(t, "STFT", out[0], want, 1e-5)
}

// TestDFTDirect checks the direct-sum path (transforms too large for a
// cached basis) and the basis path against the definition.
func TestDFTDirect(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct {
		n, length int
		inverse   bool
	}{{1500, 1400, false}, {1100, 1200, true}, {50, 40, false}} {
		sig := make([]float32, 2*c.length*2)
		for i := range sig {
			sig[i] = float32(r.NormFloat64())
		}
		x := &Tensor{Type: onnx.Float, Shape: []int{2, c.length, 2}, Data: sig}
		inv := int64(0)
		if c.inverse {
			inv = 1
		}
		out, err := runOp(t, 17, "DFT", []*onnx.Attribute{aInt("inverse", inv)}, 1, x, &Tensor{Type: onnx.Int64, Data: []int64{int64(c.n)}})
		if err != nil {
			t.Fatal(err)
		}
		var want []float64
		for b := range 2 {
			v := make([]complex128, c.length)
			for i := range v {
				p := (b*c.length + i) * 2
				v[i] = complex(float64(sig[p]), float64(sig[p+1]))
			}
			for _, y := range naiveDFT(v, c.n, c.n, c.inverse) {
				want = append(want, real(y), imag(y))
			}
		}
		checkClose(t, "DFT", out[0], want, 1e-5)
	}
}
