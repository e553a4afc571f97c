package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMaxPairs checks MaxPairs on every path against a direct loop, for
// every length up to 70 (the SIMD blocks of 8 and the tails), with and
// without acc, 1×2 windows (b = a), NaNs and signed zeros among the values.
func TestMaxPairs(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	nan := float32(math.NaN())
	for _, name := range AvailableImpls() {
		restore := UseImpl(name)
		for n := range 71 {
			for _, acc := range []bool{false, true} {
				a, b, d := randMat(r, 2*n+r.IntN(3)), randMat(r, 2*n+r.IntN(3)), randMat(r, n)
				for _, x := range [][]float32{a, b, d} {
					for j := range x {
						switch r.IntN(40) {
						case 0:
							x[j] = nan
						case 1:
							x[j] = float32(math.Copysign(0, float64(r.IntN(2)*2-1)))
						}
					}
				}
				if n%3 == 0 {
					b = a
				}
				want := make([]float32, n)
				for i := range want {
					vs := []float32{a[2*i], a[2*i+1], b[2*i], b[2*i+1]}
					if acc {
						vs = append(vs, d[i])
					}
					m := float32(math.Inf(-1))
					for _, v := range vs {
						if v != v || m != m {
							m = nan
						} else if v > m {
							m = v
						}
					}
					want[i] = m
				}
				MaxPairs(d, a, b, acc)
				for i := range want {
					if w, g := want[i], d[i]; g != w && !(g != g && w != w) {
						t.Fatalf("%s: n %d, acc %v: [%d] = %g, want %g", name, n, acc, i, g, w)
					}
				}
			}
		}
		restore()
	}
}
