package quant_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeai-go/edgeai/quant"
)

// halfValue is the float64 value of binary16 h from its definition, or NaN.
func halfValue(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e, m := int(h>>10&0x1f), float64(h&0x3ff)
	switch e {
	case 0:
		return sign * m * math.Ldexp(1, -24)
	case 31:
		if m == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * (1 + m/1024) * math.Ldexp(1, e-15)
}

func TestF16ToF32Exhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		got := quant.F16ToF32(h)
		want := halfValue(h)
		if math.IsNaN(want) {
			b := math.Float32bits(got)
			if !math.IsNaN(float64(got)) || b>>31 != uint32(h>>15) || b&0x7fffff != uint32(h&0x3ff)<<13 {
				t.Fatalf("F16ToF32(%#04x) = %#08x, want NaN with sign and payload kept", h, b)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != (h&0x8000 != 0) {
			t.Fatalf("F16ToF32(%#04x) = %g, want %g", h, got, want)
		}
	}
}

// f32ToF16Ref is an independent float32 -> binary16 rounding (to nearest, ties
// to even) done in float64 arithmetic.
func f32ToF16Ref(f float32) uint16 {
	x := float64(f)
	var sign uint16
	if math.Signbit(x) {
		sign, x = 0x8000, -x
	}
	switch {
	case math.IsNaN(x):
		return sign | 0x7e00
	case x >= 65520: // halfway between 65504 and 2^16 rounds to even, i.e. up to inf
		return sign | 0x7c00
	case x < math.Ldexp(1, -14): // subnormal range: units of 2^-24
		return sign | uint16(math.RoundToEven(x*(1<<24)))
	}
	_, e := math.Frexp(x) // x = fr * 2^e, fr in [0.5, 1)
	unit := math.Ldexp(1, e-11)
	q := math.RoundToEven(x / unit) // 1024..2048
	e16 := e - 1 + 15
	if q == 2048 {
		q, e16 = 1024, e16+1
	}
	if e16 >= 31 {
		return sign | 0x7c00
	}
	return sign | uint16(e16)<<10 | uint16(q-1024)
}

func TestF32ToF16(t *testing.T) {
	check := func(f float32) {
		t.Helper()
		if got, want := quant.F32ToF16(f), f32ToF16Ref(f); got != want {
			t.Fatalf("F32ToF16(%g = %#08x) = %#04x, want %#04x", f, math.Float32bits(f), got, want)
		}
	}
	// Every half, and the midpoints between neighbours with their float32
	// neighbours: every rounding decision boundary.
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		v := quant.F16ToF32(h)
		if math.IsNaN(float64(v)) {
			if got := quant.F32ToF16(v); got != h&0x8000|0x7e00 {
				t.Fatalf("F32ToF16(NaN %#04x) = %#04x", h, got)
			}
			continue
		}
		if got := quant.F32ToF16(v); got != h {
			t.Fatalf("F32ToF16(F16ToF32(%#04x)) = %#04x", h, got)
		}
		if h&0x7fff == 0x7c00 {
			continue
		}
		next := halfValue(h + 1)
		if h&0x7fff == 0x7bff { // beyond the largest half: the "next" is 2^16
			next = math.Copysign(65536, float64(v))
		}
		mid := float32((float64(v) + next) / 2) // exact: 12 significant bits
		check(mid)
		check(math.Nextafter32(mid, 0))
		check(math.Nextafter32(mid, float32(math.Inf(1))))
		check(math.Nextafter32(mid, float32(math.Inf(-1))))
	}
	// A sweep of float32 bit patterns and random ones.
	for b := uint64(0); b < 1<<32; b += 4093 {
		check(math.Float32frombits(uint32(b)))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1 << 20 {
		check(math.Float32frombits(r.Uint32()))
	}
	for _, f := range []float32{0, float32(math.Copysign(0, -1)), 65504, 65519.99, 65520, 1e10, -1e10,
		float32(math.Inf(1)), float32(math.Inf(-1)), math.SmallestNonzeroFloat32, 5.960464477539063e-08,
		2.9802322387695312e-08, 2.980233e-08, 6.103515625e-05} {
		check(f)
	}
}

func TestBF16(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		v := quant.BF16ToF32(h)
		if math.Float32bits(v) != uint32(h)<<16 {
			t.Fatalf("BF16ToF32(%#04x) = %#08x", h, math.Float32bits(v))
		}
		if math.IsNaN(float64(v)) {
			if got := quant.F32ToBF16(v); got != h|0x40 {
				t.Fatalf("F32ToBF16(NaN %#04x) = %#04x, want quiet %#04x", h, got, h|0x40)
			}
			continue
		}
		if got := quant.F32ToBF16(v); got != h {
			t.Fatalf("F32ToBF16(BF16ToF32(%#04x)) = %#04x", h, got)
		}
		if h&0x7f80 == 0x7f80 {
			continue
		}
		// Halfway to the next bf16 (same sign, larger magnitude): ties to even.
		mid := math.Float32frombits(uint32(h)<<16 | 0x8000)
		want := h
		if h&1 == 1 {
			want = h + 1
		}
		if got := quant.F32ToBF16(mid); got != want {
			t.Fatalf("F32ToBF16(%#08x) = %#04x, want %#04x", math.Float32bits(mid), got, want)
		}
		if got := quant.F32ToBF16(math.Float32frombits(uint32(h)<<16 | 0x8001)); got != h+1 {
			t.Fatalf("F32ToBF16 just above the midpoint of %#04x = %#04x", h, got)
		}
		if got := quant.F32ToBF16(math.Float32frombits(uint32(h)<<16 | 0x7fff)); got != h {
			t.Fatalf("F32ToBF16 just below the midpoint of %#04x = %#04x", h, got)
		}
	}
}
