package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestQuantizeU8 checks the SIMD DynamicQuantizeLinear steps against Go on
// awkward lengths, values on rounding ties and values that saturate.
func TestQuantizeU8(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 100, 4097} {
		x := make([]float32, n)
		for i := range x {
			switch i % 4 {
			case 0:
				x[i] = float32(r.NormFloat64() * 50)
			case 1:
				x[i] = float32(r.IntN(600)-300) / 2 // ties at scale 1
			case 2:
				x[i] = float32(r.NormFloat64() * 1e4) // saturates
			default:
				x[i] = float32(r.NormFloat64())
			}
		}
		lo, hi := MinMaxF32(x)
		wlo, whi := minMaxF32Generic(x)
		if lo != min(wlo, 0) || hi != max(whi, 0) {
			t.Fatalf("n=%d: MinMaxF32 = %v, %v, want %v, %v", n, lo, hi, min(wlo, 0), max(whi, 0))
		}
		for _, scale := range []float32{1, 0.37, 3.1} {
			zp := float32(r.IntN(256))
			got := make([]uint8, n)
			QuantizeU8(got, x, scale, zp)
			for i, v := range x {
				q := float32(math.RoundToEven(float64(v/scale))) + zp
				want := uint8(min(max(q, 0), 255))
				if got[i] != want {
					t.Fatalf("n=%d scale %v zp %v: [%d] %v -> %d, want %d", n, scale, zp, i, v, got[i], want)
				}
			}
		}
	}
}
