package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeai-go/edgeai/quant"
)

var floatLens = []int{1, 7, 31, 33, 4095}

func TestDot(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, im := range testImpls(t) {
		for _, n := range floatLens {
			a, b := randFloats(r, n, 1), randFloats(r, n, 1)
			var want, mag float64
			for i := range a {
				p := float64(a[i]) * float64(b[i])
				want += p
				mag += math.Abs(p)
			}
			got := im.dot(a, b)
			if g := dotGeneric(a, b); math.Float32bits(got) != math.Float32bits(g) {
				t.Errorf("%s Dot n=%d = %g, generic %g: not bit-identical", im.name, n, got, g)
			}
			// n/4+2 float32 roundings per partial sum, and one per product.
			tol := float64(n/4+3) / (1 << 23) * mag
			if d := math.Abs(float64(got) - want); !(d <= tol) {
				t.Errorf("%s Dot n=%d = %g, float64 %g (diff %.3g > %.3g)", im.name, n, got, want, d, tol)
			}
			// VecDot(F32) reads the same values from bytes: in place (im.dot)
			// when aligned, else with the generic summation.
			saved := cur
			cur = im
			buf := make([]byte, 4*n+1)
			for _, off := range []int{0, 1} {
				wb, xb := buf[off:off+4*n], make([]byte, 4*n)
				quantizeF32(a, wb)
				quantizeF32(b, xb)
				want := got
				if off == 1 {
					want = dotGeneric(a, b)
				}
				if v := dotF32(n, wb, xb); v != want {
					t.Errorf("%s dotF32 n=%d offset %d = %g, want %g", im.name, n, off, v, want)
				}
			}
			cur = saved
		}
	}
	if got := Dot(nil, nil); got != 0 {
		t.Errorf("Dot(nil) = %g", got)
	}
	if !panics(func() { Dot(make([]float32, 3), make([]float32, 4)) }) {
		t.Error("Dot of different lengths did not panic")
	}
}

func TestElementwise(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	for _, im := range testImpls(t) {
		for _, n := range floatLens {
			x, y := randFloats(r, n, 1), randFloats(r, n, 1)
			alpha := float32(r.NormFloat64())
			got := append([]float32(nil), y...)
			im.axpy(got, alpha, x)
			for i := range got {
				if want := y[i] + float32(alpha*x[i]); got[i] != want {
					t.Fatalf("%s Axpy n=%d [%d] = %g, want %g", im.name, n, i, got[i], want)
				}
			}
			got = append(got[:0], x...)
			im.scale(got, alpha)
			for i := range got {
				if want := x[i] * alpha; got[i] != want {
					t.Fatalf("%s Scale n=%d [%d] = %g, want %g", im.name, n, i, got[i], want)
				}
			}
		}
	}
	for _, n := range floatLens {
		x, y := randFloats(r, n, 1), randFloats(r, n, 1)
		sum, prod := make([]float32, n), make([]float32, n)
		Add(sum, x, y)
		Mul(prod, x, y)
		for i := range x {
			if sum[i] != x[i]+y[i] || prod[i] != x[i]*y[i] {
				t.Fatalf("Add/Mul n=%d [%d] = %g, %g", n, i, sum[i], prod[i])
			}
		}
		alias := append([]float32(nil), x...)
		Add(alias, alias, y)
		Mul(alias, alias, alias)
		for i := range x {
			s := x[i] + y[i]
			if alias[i] != s*s {
				t.Fatalf("aliased Add/Mul n=%d [%d] = %g, want %g", n, i, alias[i], s*s)
			}
		}
	}
	for name, f := range map[string]func(){
		"Add":    func() { Add(make([]float32, 2), make([]float32, 2), make([]float32, 3)) },
		"Mul":    func() { Mul(make([]float32, 3), make([]float32, 2), make([]float32, 3)) },
		"Axpy":   func() { Axpy(make([]float32, 3), 1, make([]float32, 2)) },
		"RMS":    func() { RMSNorm(make([]float32, 3), make([]float32, 3), make([]float32, 2), 1e-5) },
		"SwiGLU": func() { SwiGLU(make([]float32, 3), make([]float32, 3), make([]float32, 4)) },
	} {
		if !panics(f) {
			t.Errorf("%s with mismatched lengths did not panic", name)
		}
	}
}

func TestRMSNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	for _, n := range floatLens {
		x, w := randFloats(r, n, 3), randFloats(r, n, 1)
		const eps = 1e-5
		var ss float64
		for _, v := range x {
			ss += float64(v) * float64(v)
		}
		scale := 1 / math.Sqrt(ss/float64(n)+eps)
		got := make([]float32, n)
		RMSNorm(got, x, w, eps)
		for i := range got {
			want := float64(x[i]) * scale * float64(w[i])
			if d := math.Abs(float64(got[i]) - want); d > 4e-7*math.Abs(want)+1e-30 {
				t.Fatalf("RMSNorm n=%d [%d] = %g, float64 %g", n, i, got[i], want)
			}
		}
		RMSNorm(x, x, w, eps) // in place
		for i := range x {
			if x[i] != got[i] {
				t.Fatalf("RMSNorm in place n=%d [%d] = %g, want %g", n, i, x[i], got[i])
			}
		}
	}
	zero := make([]float32, 4)
	RMSNorm(zero, zero, []float32{1, 1, 1, 1}, 1e-5)
	for _, v := range zero {
		if v != 0 {
			t.Fatalf("RMSNorm of zeros = %v", zero)
		}
	}
	RMSNorm(nil, nil, nil, 1e-5)
}

func TestSoftmax(t *testing.T) {
	r := rand.New(rand.NewPCG(47, 48))
	for _, n := range floatLens {
		x := randFloats(r, n, 5)
		x[n/2] = 1e4 // far above the rest: must not overflow
		var mx float64 = math.Inf(-1)
		for _, v := range x {
			mx = max(mx, float64(v))
		}
		var sum float64
		want := make([]float64, n)
		for i, v := range x {
			want[i] = math.Exp(float64(v) - mx)
			sum += want[i]
		}
		got := append([]float32(nil), x...)
		Softmax(got)
		var gs float64
		for i := range got {
			w := want[i] / sum
			if d := math.Abs(float64(got[i]) - w); d > 3e-7*w+1e-38 {
				t.Fatalf("Softmax n=%d [%d] = %g, float64 %g", n, i, got[i], w)
			}
			gs += float64(got[i])
		}
		if math.Abs(gs-1) > 1e-6 {
			t.Errorf("Softmax n=%d sums to %g", n, gs)
		}
	}
	inf := []float32{float32(math.Inf(-1)), 0, float32(math.Inf(-1))} // masked positions
	Softmax(inf)
	if inf[0] != 0 || inf[1] != 1 || inf[2] != 0 {
		t.Errorf("Softmax with -Inf = %v, want [0 1 0]", inf)
	}
	Softmax(nil)
}

func TestSwiGLU(t *testing.T) {
	r := rand.New(rand.NewPCG(49, 50))
	for _, n := range floatLens {
		g, u := randFloats(r, n, 4), randFloats(r, n, 1)
		g[0] = -100 // exp(100) overflows float32: silu must still be -0
		got := make([]float32, n)
		SwiGLU(got, g, u)
		for i := range got {
			x := float64(g[i])
			want := x / (1 + math.Exp(-x)) * float64(u[i])
			if d := math.Abs(float64(got[i]) - want); d > 5e-7*math.Abs(want)+1e-37 {
				t.Fatalf("SwiGLU n=%d [%d] (%g, %g) = %g, float64 %g", n, i, g[i], u[i], got[i], want)
			}
		}
		SwiGLU(g, g, u) // in place
		for i := range g {
			if g[i] != got[i] {
				t.Fatalf("SwiGLU in place n=%d [%d] = %g, want %g", n, i, g[i], got[i])
			}
		}
	}
}

func BenchmarkDot(b *testing.B) {
	r := rand.New(rand.NewPCG(51, 52))
	x, y := randFloats(r, 4096, 1), randFloats(r, 4096, 1)
	b.SetBytes(4 * 4096)
	b.ReportAllocs()
	var s float32
	for b.Loop() {
		s += Dot(x, y)
	}
	sink = s
}

func BenchmarkSoftmax(b *testing.B) {
	x := randFloats(rand.New(rand.NewPCG(53, 54)), 32000, 3)
	y := make([]float32, len(x))
	b.SetBytes(4 * int64(len(x)))
	for b.Loop() {
		copy(y, x)
		Softmax(y)
	}
}

// TestHalfConversion checks the fast fp16 decoder against quant's on all
// 65536 values.
func TestHalfConversion(t *testing.T) {
	for h := range 1 << 16 {
		got, want := f16(uint16(h)), quant.F16ToF32(uint16(h))
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("f16(%#04x) = %g (%#x), quant %g (%#x)", h, got, math.Float32bits(got), want, math.Float32bits(want))
		}
	}
}

// TestF32ToF16 checks the fast fp16 encoder against quant's on the values
// around every rounding boundary and a sample of all float32 bit patterns.
func TestF32ToF16(t *testing.T) {
	check := func(b uint32) {
		f := math.Float32frombits(b)
		if got, want := f32ToF16(f), quant.F32ToF16(f); got != want {
			t.Fatalf("f32ToF16(%g = %#x) = %#04x, quant %#04x", f, b, got, want)
		}
	}
	for b := uint64(0); b < 1<<32; b += 65521 {
		check(uint32(b))
	}
	for e := uint32(100); e < 145; e++ { // exponents around the half range
		for _, m := range []uint32{0, 1, 0xfff, 0x1000, 0x1001, 0x1fff, 0x2000, 0x3000, 0x7fe000, 0x7fefff, 0x7ff000, 0x7fffff} {
			check(e<<23 | m)
			check(1<<31 | e<<23 | m)
		}
	}
	for _, f := range []float32{65504, 65519.99, 65520, 65536, 6.1035156e-05, 6.1035153e-05, 0, float32(math.Inf(1))} {
		check(math.Float32bits(f))
		check(math.Float32bits(-f))
	}
}
