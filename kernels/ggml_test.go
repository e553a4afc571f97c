package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestExpf checks ggml's vector expf against float64 exp: within the 1.5 ulp
// its authors state (plus the final rounding), and saturating at the ends.
func TestExpf(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	worst := 0.0
	for i := 0; i < 200000; i++ {
		x := float32(r.Float64()*170 - 100)
		got := float64(Expf(x))
		want := math.Exp(float64(x))
		if want < 0x1p-126 || want > math.MaxFloat32 {
			continue
		}
		ulp := math.Abs(got-want) / (float64(math.Nextafter32(float32(want), float32(math.Inf(1)))) - float64(float32(want)))
		worst = max(worst, ulp)
	}
	if worst > 2.5 { // ARM's bound 1.45 ulp + 0.5 for rounding, measured against float32(exp)
		t.Errorf("Expf error up to %.2f ulp, want <= 2.5", worst)
	}
	t.Logf("worst error %.2f ulp", worst)
	if Expf(-200) != 0 || !math.IsInf(float64(Expf(200)), 1) || Expf(0) != 1 {
		t.Errorf("Expf(-200), Expf(200), Expf(0) = %v %v %v", Expf(-200), Expf(200), Expf(0))
	}
	if v := Expf(float32(math.Inf(-1))); v != 0 {
		t.Errorf("Expf(-Inf) = %v", v)
	}
}

// TestAttnDotValues compares the attention routines with float64 sums at
// lengths around the 16- and 64-value boundaries.
func TestAttnDotValues(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 7, 15, 16, 17, 31, 63, 64, 65, 128, 200} {
		q, k := make([]float32, n), make([]float32, n)
		var want, mag float64
		for i := range q {
			q[i], k[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
			want += float64(q[i]) * float64(k[i])
			mag += math.Abs(float64(q[i]) * float64(k[i]))
		}
		if got := AttnDot(q, k); math.Abs(float64(got)-want) > float64(n)*0x1p-23*mag {
			t.Errorf("AttnDot n=%d: %g, float64 %g", n, got, want)
		}
		const d, stride = 5, 9
		v := make([]float32, n*stride)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		out := make([]float32, d)
		AttnValues(out, q, v, stride)
		for j := 0; j < d; j++ {
			var w, m float64
			for tt := 0; tt < n; tt++ {
				w += float64(q[tt]) * float64(v[tt*stride+j])
				m += math.Abs(float64(q[tt]) * float64(v[tt*stride+j]))
			}
			if math.Abs(float64(out[j])-w) > float64(n)*0x1p-23*m {
				t.Errorf("AttnValues n=%d d=%d: %g, float64 %g", n, j, out[j], w)
			}
		}
	}
}

// TestGGMLFloatPathsExact checks that every implementation's AttnDot,
// AttnValues, SwiGLU and Softmax give the generic bits, at awkward lengths and with
// gates that reach Expf's saturation (|x| > 133) and its special values.
func TestGGMLFloatPathsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	g := impls[0]
	for _, im := range testImpls(t)[1:] {
		for _, n := range []int{0, 1, 15, 16, 17, 63, 64, 65, 130, 200} {
			q, k := randFloats(r, n, 1), randFloats(r, n, 1)
			if got, want := im.attnDot(q, k), g.attnDot(q, k); math.Float32bits(got) != math.Float32bits(want) {
				t.Errorf("%s AttnDot n=%d: %g, generic %g", im.name, n, got, want)
			}
			for _, dim := range []int{1, 16, 40, 64, 80} {
				stride := dim + 3
				p := randFloats(r, n, 1)
				v := randFloats(r, max(0, (n-1)*stride+dim), 1)
				got, want := make([]float32, dim), make([]float32, dim)
				im.attnValues(got, p, v, stride)
				g.attnValues(want, p, v, stride)
				for d := range got {
					if math.Float32bits(got[d]) != math.Float32bits(want[d]) {
						t.Errorf("%s AttnValues T=%d dim=%d d=%d: %g, generic %g", im.name, n, dim, d, got[d], want[d])
						break
					}
				}
			}
			gate, up := randFloats(r, n, 4), randFloats(r, n, 1)
			specials := []float32{0, float32(math.Copysign(0, -1)), 88, -88, 100, -100, 133, -133, 150, -150,
				300, -300, float32(math.Inf(1)), float32(math.Inf(-1)), 1e-30, -1e-30}
			for i := range gate {
				if r.IntN(4) == 0 {
					gate[i] = specials[r.IntN(len(specials))]
				}
			}
			// Softmax through the chosen path (exponentials and scaling),
			// with -Inf (masked) scores among the values.
			sm := randFloats(r, n, 8)
			for i := range sm {
				if r.IntN(5) == 0 {
					sm[i] = float32(math.Inf(-1))
				}
			}
			if n > 0 {
				sm[r.IntN(n)] = 3
			}
			smGot, smWant := append([]float32(nil), sm...), append([]float32(nil), sm...)
			saved := cur
			cur = im
			Softmax(smGot)
			cur = g
			Softmax(smWant)
			cur = saved
			for i := range smGot {
				if math.Float32bits(smGot[i]) != math.Float32bits(smWant[i]) {
					t.Errorf("%s Softmax n=%d [%d] x %g: %g, generic %g", im.name, n, i, sm[i], smGot[i], smWant[i])
					break
				}
			}
			got, want := make([]float32, n), make([]float32, n)
			im.swiglu(got, gate, up)
			g.swiglu(want, gate, up)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
					t.Errorf("%s SwiGLU n=%d [%d] gate %g: %g, generic %g", im.name, n, i, gate[i], got[i], want[i])
				}
			}
		}
	}
}

// TestExpfPaths checks every path's vector Expf (through softmaxExp with
// mx = 0) bit for bit against the generic one over a sweep of x across the
// whole range, where e^x is subnormal (x < -87.3), where the scaling's
// exponent passes 127 (x > 88) and beyond the saturation (|x| > 133), plus
// infinities, NaN, zeros and random bit patterns.
func TestExpfPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(53, 54))
	var xs []float32
	for x := float32(-160); x < 160; x += 0.0137 {
		xs = append(xs, x)
	}
	for range 20000 {
		xs = append(xs, math.Float32frombits(r.Uint32()))
	}
	xs = append(xs, 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		-87.33655, -88.72284, -103.27893, -104, 88.72283, 88.72284, 89, 133, -133, 1e-45, -1e-45)
	xs = xs[:len(xs)&^15]
	g := impls[0]
	want := append([]float32(nil), xs...)
	g.softmaxExp(want, 0)
	for _, im := range testImpls(t)[1:] {
		got := append([]float32(nil), xs...)
		im.softmaxExp(got, 0)
		bad := 0
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
				if bad++; bad < 5 {
					t.Errorf("%s: Expf(%g) = %g, generic %g", im.name, xs[i], got[i], want[i])
				}
			}
		}
	}
}

// TestAttnF16PathsExact checks that every implementation's AttnDotF16 gives
// the generic bits at awkward lengths, with subnormal, zero and large
// float16 values among the cache's (AttnDotF16Rows, AttnValuesF16 and the
// quantized caches: TestAttnKVPathsExact).
func TestAttnF16PathsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(53, 54))
	g := impls[0]
	f16s := func(n int) []uint16 {
		h := make([]uint16, n)
		F16s(h, randFloats(r, n, 2))
		for i := range h {
			switch r.IntN(16) {
			case 0:
				h[i] = uint16(r.IntN(0x400)) | uint16(r.IntN(2))<<15 // subnormal or zero
			case 1:
				h[i] = 0x7bff ^ uint16(r.IntN(2))<<15 // ±65504
			}
		}
		return h
	}
	for _, im := range testImpls(t)[1:] {
		for _, n := range []int{0, 1, 7, 15, 16, 17, 63, 64, 65, 127, 128, 130, 200} {
			q, k := randFloats(r, n, 1), f16s(n)
			RoundF16(q)
			if got, want := im.attnDotF16(q, k), g.attnDotF16(q, k); math.Float32bits(got) != math.Float32bits(want) {
				t.Errorf("%s AttnDotF16 n=%d: %g, generic %g", im.name, n, got, want)
			}
		}
	}
}
