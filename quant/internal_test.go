package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestNearestInt(t *testing.T) {
	check := func(f float32) {
		t.Helper()
		if got, want := nearestInt(f), int(math.RoundToEven(float64(f))); got != want {
			t.Fatalf("nearestInt(%g) = %d, want %d", f, got, want)
		}
	}
	for i := -1000; i <= 1000; i++ {
		check(float32(i) / 2) // every tie between -500 and 500
		check(float32(i)/2 + 1e-3)
		check(float32(i)/2 - 1e-3)
	}
	r := rand.New(rand.NewPCG(1, 1))
	for range 100000 {
		check(float32((r.Float64()*2 - 1) * (1<<22 - 1)))
		check(float32(r.NormFloat64() * 100))
	}
	check(4194303)
	check(-4194303)
	check(float32(math.Copysign(0, -1)))
	for _, f := range []float32{float32(math.NaN()), float32(math.Inf(1)), 1e30, -1e30} {
		nearestInt(f) // meaningless, but must not panic
	}
}

func TestBestIndexIQ4(t *testing.T) {
	// Against a linear scan: the nearest level, the upper one on a tie.
	scan := func(x float32) uint8 {
		best, bestErr := 0, math.Inf(1)
		for i, v := range iq4nlValues {
			if e := math.Abs(float64(x) - float64(v)); e <= bestErr {
				best, bestErr = i, e
			}
		}
		return uint8(best)
	}
	for i := -600; i <= 600; i++ {
		x := float32(i) / 4 // includes every midpoint (all levels are integers)
		if got, want := bestIndexIQ4(x), scan(x); got != want {
			t.Fatalf("bestIndexIQ4(%g) = %d, want %d", x, got, want)
		}
	}
	if bestIndexIQ4(float32(math.NaN())) > 15 {
		t.Fatal("NaN gives an index out of range")
	}
}

func TestIQ4NLValues(t *testing.T) {
	v := IQ4NLValues()
	v[0] = 0
	if iq4nlValues[0] != -127 {
		t.Fatal("IQ4NLValues exposes the package's table")
	}
}
