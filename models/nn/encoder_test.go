package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeai-go/edgeai/quant"
)

// TestF16Bits checks GELU's fast float16 rounding against quant's on every
// float32 whose upper 20 bits vary (all exponents, signs, the rounding bits
// around a half's last place).
func TestF16Bits(t *testing.T) {
	for hi := uint32(0); hi < 1<<20; hi++ {
		for _, lo := range []uint32{0, 0xfff, 0x1000, 0x1001, 0x1fff} {
			b := hi<<12 | lo
			f := math.Float32frombits(b)
			if got, want := f16Bits(f), quant.F32ToF16(f); got != want && f == f {
				t.Fatalf("%#x (%g): %#x, quant says %#x", b, f, got, want)
			}
		}
	}
}

// TestExpf checks Expf at the edges of its range and its special values;
// its agreement with glibc's expf was checked on 10⁶ random inputs when it
// was written (the machine's libm through Python's ctypes).
func TestExpf(t *testing.T) {
	for _, tc := range []struct{ x, want float32 }{
		{0, 1}, {1, 2.7182817}, {-1, 0.36787945}, {float32(math.Inf(-1)), 0}, {float32(math.Inf(1)), float32(math.Inf(1))},
		{-104, 0}, {89, float32(math.Inf(1))},
	} {
		if got := Expf(tc.x); got != tc.want {
			t.Errorf("Expf(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
	if v := Expf(float32(math.NaN())); v == v {
		t.Error("Expf(NaN) is not NaN")
	}
	// Within an ulp of the correctly rounded value everywhere else.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		x := float32(rng.Float64()*190 - 100)
		got, want := Expf(x), float32(math.Exp(float64(x)))
		if d := math.Abs(float64(got) - float64(want)); d > float64(want)*1.2e-7 {
			t.Fatalf("Expf(%v) = %v, exp %v", x, got, want)
		}
	}
}

// TestALiBiSlopes checks ggml's slopes for 4 heads (llama.cpp's
// jina-bert-v2 reference: 1/4, 1/16, 1/64, 1/256) and for a count that is
// not a power of two.
func TestALiBiSlopes(t *testing.T) {
	got := ALiBiSlopes(4, 8)
	for i, w := range []float32{0.25, 0.0625, 0.015625, 0.00390625} {
		if got[i] != w {
			t.Fatalf("4 heads: %v", got)
		}
	}
	got = ALiBiSlopes(12, 8) // 8 heads from 2^-1, the other 4 from 2^-0.5 by odd powers
	if got[0] != 0.5 || got[7] != 1.0/256 || math.Abs(float64(got[8])-math.Sqrt(0.5)) > 1e-7 || math.Abs(float64(got[9])-math.Pow(0.5, 1.5)) > 1e-7 {
		t.Fatalf("12 heads: %v", got)
	}
}
