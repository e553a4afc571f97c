package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeai-go/edgeai/quant"
)

// weightTypes are the weight types with a dot product.
var weightTypes = []quant.Type{quant.F32, quant.F16, quant.BF16, quant.Q4_0, quant.Q4_1,
	quant.Q5_0, quant.Q5_1, quant.Q8_0, quant.IQ4_NL, quant.Q2_K, quant.Q3_K, quant.Q4_K,
	quant.Q5_K, quant.Q6_K, quant.IQ4_XS}

// blockCounts are the awkward lengths, in blocks, the dot products are tested at.
var blockCounts = []int{1, 3, 31, 33, 128}

func blockSize(t quant.Type) int {
	tr, _ := t.Traits()
	return tr.BlockSize
}

func mustRowBytes(tb testing.TB, t quant.Type, n int) int {
	tb.Helper()
	rb, err := t.RowBytes(n)
	if err != nil {
		tb.Fatal(err)
	}
	return rb
}

// randFloats returns n normal values with standard deviation sigma, with a
// few outliers (x20) so that block scales vary.
func randFloats(r *rand.Rand, n int, sigma float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * sigma)
		if r.IntN(97) == 0 {
			x[i] *= 20
		}
	}
	return x
}

// quantized returns x quantized to t by quant's reference quantizer.
func quantized(tb testing.TB, t quant.Type, x []float32) []byte {
	tb.Helper()
	b := make([]byte, mustRowBytes(tb, t, len(x)))
	if err := quant.Quantize(t, x, b); err != nil {
		tb.Fatal(err)
	}
	return b
}

func dequantized(tb testing.TB, t quant.Type, b []byte, n int) []float64 {
	tb.Helper()
	f := make([]float32, n)
	if err := quant.Dequantize(t, b, f); err != nil {
		tb.Fatal(err)
	}
	d := make([]float64, n)
	for i, v := range f {
		d[i] = float64(v)
	}
	return d
}

// refDot returns the float64 dot product of the dequantized weights w (type
// t) and activations a (type ActivationType(t)), and the sum of the absolute
// products, which scales the tolerance. For Q4_1 and Q5_1 the weight minimum
// m multiplies the activation block's stored s = fp16(d·Σq) in ggml's
// arithmetic, not the exact sum of the dequantized activations; refDot adds
// that documented difference, m·(s - Σa), per block.
func refDot(tb testing.TB, t quant.Type, n int, w, a []byte) (dot, mag float64) {
	tb.Helper()
	at := layouts[t].act
	dw := dequantized(tb, t, w, n)
	da := dequantized(tb, at, a, n)
	for i := range dw {
		dot += dw[i] * da[i]
		mag += math.Abs(dw[i] * da[i])
	}
	if t == quant.Q4_1 || t == quant.Q5_1 {
		wbb, abb := layouts[t].bb, layouts[at].bb
		for b := 0; b < n/32; b++ {
			m := float64(quant.F16ToF32(u16(w[b*wbb+2:])))
			s := float64(quant.F16ToF32(u16(a[b*abb+2:])))
			var sa float64
			for _, v := range da[32*b : 32*b+32] {
				sa += v
			}
			dot += m * (s - sa)
			mag += math.Abs(m * s)
		}
	}
	return dot, mag
}

// dotTolerance bounds |VecDot - refDot| for n values of t: float32 rounding
// of the block scale products, of each block's scaled sum and of the running
// sum (one rounding per block added), plus the rounding of the dequantized
// values the reference uses, all relative to Σ|w·a|. K-quants with minimums
// get a factor 3 as their two block terms can each exceed the result.
func dotTolerance(t quant.Type, n int, mag float64) float64 {
	const eps = 1.0 / (1 << 23)
	blocks := float64(n / blockSize(t))
	if t == quant.F32 || t == quant.F16 || t == quant.BF16 {
		blocks = float64(n) / 4 // four float32 partial sums (F32); F16/BF16 sum in float64
	}
	f := 1.0
	switch t {
	case quant.Q2_K, quant.Q4_K, quant.Q5_K, quant.Q4_1, quant.Q5_1:
		f = 3
	}
	return f*(blocks+4)*eps*mag + 1e-30
}

// testImpls returns the implementations this CPU can run, generic first; the
// others are logged as skipped.
func testImpls(t *testing.T) []*impl {
	var out []*impl
	for _, im := range impls {
		if im.available {
			out = append(out, im)
		} else {
			t.Logf("kernel path %s: not supported by this CPU, skipped", im.name)
		}
	}
	return out
}

// TestVecDotMatchesDequantized checks every implementation's VecDot against
// the float64 dot product of quant's dequantization of the same bytes, for
// every weight type and several awkward lengths. The weights come from
// quant's reference quantizer and the activations from QuantizeActivation
// of random data.
func TestVecDotMatchesDequantized(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, im := range testImpls(t) {
		for _, typ := range weightTypes {
			at := ActivationType(typ)
			worst := 0.0
			for _, nb := range blockCounts {
				n := nb * blockSize(typ)
				if typ == quant.F32 || typ == quant.F16 || typ == quant.BF16 {
					n = []int{1, 3, 31, 33, 4095}[indexOf(blockCounts, nb)]
				}
				for rep := range 3 {
					w := quantized(t, typ, randFloats(r, n, 0.05))
					x := randFloats(r, n, 1)
					a := make([]byte, mustRowBytes(t, at, n))
					im.quantize[at](x, a)
					got := im.vecDot[typ](n, w, a)
					want, mag := refDot(t, typ, n, w, a)
					diff := math.Abs(float64(got) - want)
					tol := dotTolerance(typ, n, mag)
					if !(diff <= tol) {
						t.Errorf("%s %v n=%d rep %d: VecDot = %g, float64 reference %g (diff %.3g > tol %.3g)",
							im.name, typ, n, rep, got, want, diff, tol)
					}
					worst = max(worst, diff/tol)
				}
			}
			t.Logf("%s %-6v worst |diff|/tol = %.3f", im.name, typ, worst)
		}
	}
}

func indexOf(s []int, v int) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// randomBlocks returns nb blocks of random bytes for type t whose fp16 scales
// are replaced by finite values of realistic size, so that every bit pattern
// of the quants is exercised.
func randomBlocks(r *rand.Rand, t quant.Type, n int) []byte {
	l := layouts[t]
	b := make([]byte, n/l.bs*l.bb)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	half := func(off int, scale float64) {
		putU16(b[off:], quant.F32ToF16(float32((r.Float64()*2-1)*scale)))
	}
	for blk := 0; blk < len(b)/l.bb; blk++ {
		o := blk * l.bb
		switch t {
		case quant.F16:
			half(o, 2)
		case quant.BF16:
			putU16(b[o:], quant.F32ToBF16(float32(r.NormFloat64())))
		case quant.F32:
			putU32(b[o:], math.Float32bits(float32(r.NormFloat64())))
		case quant.Q4_0, quant.Q5_0, quant.Q8_0, quant.IQ4_NL:
			half(o, 0.01)
		case quant.Q4_1, quant.Q5_1, quant.Q8_1:
			half(o, 0.01)
			half(o+2, 0.1)
		case quant.Q2_K:
			half(o+80, 0.01)
			half(o+82, 0.01)
		case quant.Q3_K:
			half(o+108, 0.01)
		case quant.Q4_K, quant.Q5_K:
			half(o, 0.01)
			half(o+2, 0.01)
		case quant.Q6_K:
			half(o+208, 0.01)
		case quant.IQ4_XS:
			half(o, 0.01)
		}
	}
	return b
}

// TestVecDotRandomBits repeats the comparison with random block bytes (every
// quant and scale bit pattern, not only those a quantizer writes) on both
// sides; activation blocks of Q8_1 and Q8_K get consistent s and bsums.
func TestVecDotRandomBits(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, im := range testImpls(t) {
		for _, typ := range weightTypes {
			at := ActivationType(typ)
			for _, nb := range []int{1, 33} {
				n := nb * blockSize(typ)
				w := randomBlocks(r, typ, n)
				a := randomActivation(r, at, n)
				got := im.vecDot[typ](n, w, a)
				want, mag := refDot(t, typ, n, w, a)
				if diff, tol := math.Abs(float64(got)-want), dotTolerance(typ, n, mag); !(diff <= tol) {
					t.Errorf("%s %v n=%d: VecDot = %g, float64 reference %g (diff %.3g > tol %.3g)",
						im.name, typ, n, got, want, diff, tol)
				}
			}
		}
	}
}

// randomActivation returns random activation blocks of type at: random int8
// quants (including -128) with a consistent Q8_1 s and Q8_K bsums.
func randomActivation(r *rand.Rand, at quant.Type, n int) []byte {
	switch at {
	case quant.Q8_K:
		b := make([]byte, n/256*292)
		for blk := 0; blk < n/256; blk++ {
			o := blk * 292
			putU32(b[o:], math.Float32bits(float32(r.NormFloat64()*0.01)))
			for j := range 16 {
				var s int32
				for l := range 16 {
					q := int8(r.Uint32())
					b[o+4+16*j+l] = byte(q)
					s += int32(q)
				}
				putU16(b[o+260+2*j:], uint16(int16(s)))
			}
		}
		return b
	case quant.Q8_1:
		b := randomBlocks(r, at, n)
		for blk := 0; blk < n/32; blk++ {
			o := blk * 36
			var s int32
			for _, q := range b[o+4 : o+36] {
				s += int32(int8(q))
			}
			putU16(b[o+2:], quant.F32ToF16(f16(u16(b[o:]))*float32(s)))
		}
		return b
	}
	return randomBlocks(r, at, n)
}

// TestVecDotAgainstGeneric checks every assembly implementation against the
// generic one on the same random bytes: bit for bit where the assembly keeps
// the generic float arithmetic (impl.exact), else within the tolerance of the
// float64 comparison (only the order of float32 additions differs).
func TestVecDotAgainstGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	g := impls[0]
	ims := testImpls(t)[1:]
	if len(ims) == 0 {
		t.Skip("no assembly path on this CPU/build; generic is checked by the other tests")
	}
	for _, im := range ims {
		for _, typ := range weightTypes {
			at := ActivationType(typ)
			for _, nb := range blockCounts {
				n := nb * blockSize(typ)
				w := randomBlocks(r, typ, n)
				a := randomActivation(r, at, n)
				got, want := im.vecDot[typ](n, w, a), g.vecDot[typ](n, w, a)
				if im.exact[typ] {
					if math.Float32bits(got) != math.Float32bits(want) {
						t.Errorf("%s %v n=%d: %g, generic %g: not bit-identical", im.name, typ, n, got, want)
					}
					continue
				}
				_, mag := refDot(t, typ, n, w, a)
				if diff, tol := math.Abs(float64(got-want)), dotTolerance(typ, n, mag); !(diff <= tol) {
					t.Errorf("%s %v n=%d: %g, generic %g (diff %.3g > %.3g)", im.name, typ, n, got, want, diff, tol)
				}
			}
		}
	}
}

// TestVecDotZeroAndExtreme checks exact results on inputs whose products are
// exactly representable: zero activations give 0, and Q8_0 with unit scales
// gives the integer dot product.
func TestVecDotZeroAndExtreme(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, im := range testImpls(t) {
		for _, typ := range weightTypes {
			at := ActivationType(typ)
			n := 3 * blockSize(typ)
			w := quantized(t, typ, randFloats(r, n, 1))
			a := make([]byte, mustRowBytes(t, at, n))
			im.quantize[at](make([]float32, n), a)
			if got := im.vecDot[typ](n, w, a); got != 0 {
				t.Errorf("%s %v: dot with zero activations = %g, want 0", im.name, typ, got)
			}
		}
		// Q8_0 · Q8_0 with d = 1: Σ q_w·q_a, extremes included (-128·-128 ...).
		const n = 64
		w, a := make([]byte, 68), make([]byte, 68)
		var want int64
		for blk := range 2 {
			putU16(w[34*blk:], 0x3c00) // 1.0
			putU16(a[34*blk:], 0x3c00)
			for j := range 32 {
				qw, qa := int8(-128+((j*37+blk)%256)), int8(127-((j*11)%256))
				if j == 0 {
					qw, qa = -128, -128
				}
				w[34*blk+2+j], a[34*blk+2+j] = byte(qw), byte(qa)
				want += int64(qw) * int64(qa)
			}
		}
		if got := im.vecDot[quant.Q8_0](n, w, a); got != float32(want) {
			t.Errorf("%s Q8_0 unit scales: %g, want %d", im.name, got, want)
		}
	}
}

// TestVecDotPanics checks that wrong lengths and types are reported.
func TestVecDotPanics(t *testing.T) {
	w, a := make([]byte, 18), make([]byte, 34)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"not a whole block", func() { VecDot(quant.Q4_0, 16, w, a) }},
		{"short weights", func() { VecDot(quant.Q4_0, 64, w, make([]byte, 68)) }},
		{"short activations", func() { VecDot(quant.Q4_0, 32, w, a[:33]) }},
		{"unsupported type", func() { VecDot(quant.IQ2_XXS, 256, make([]byte, 66), make([]byte, 292)) }},
		{"unknown type", func() { VecDot(quant.Type(99), 32, w, a) }},
		{"ActivationType unsupported", func() { ActivationType(quant.I8) }},
	} {
		if !panics(tc.f) {
			t.Errorf("%s: no panic", tc.name)
		}
	}
	if panics(func() { VecDot(quant.Q4_0, 32, w, a) }) {
		t.Error("valid call panicked")
	}
	if got := VecDot(quant.Q4_0, 0, nil, nil); got != 0 {
		t.Errorf("empty dot = %g", got)
	}
}

func panics(f func()) (p bool) {
	defer func() { p = recover() != nil }()
	f()
	return false
}

// TestVecDotAllocs checks that VecDot does not allocate.
func TestVecDotAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, typ := range weightTypes {
		n := 4096
		w := randomBlocks(r, typ, n)
		a := randomActivation(r, ActivationType(typ), n)
		if allocs := testing.AllocsPerRun(10, func() { VecDot(typ, n, w, a) }); allocs != 0 {
			t.Errorf("VecDot(%v) allocates %v times", typ, allocs)
		}
	}
}

func TestCheckAndPath(t *testing.T) {
	for _, typ := range weightTypes {
		if err := Check(typ); err != nil {
			t.Errorf("Check(%v) = %v", typ, err)
		}
	}
	for _, typ := range []quant.Type{quant.IQ2_XXS, quant.I8, quant.Q8_K, quant.Type(1000)} {
		if err := Check(typ); err == nil {
			t.Errorf("Check(%v) = nil, want an error", typ)
		}
	}
	if Path() == "" || Features() == "" {
		t.Errorf("Path %q Features %q", Path(), Features())
	}
	im, note := choose("generic")
	if im.name != "generic" || note != "" {
		t.Errorf("choose(generic) = %s, %q", im.name, note)
	}
	if _, note := choose("sse9"); note == "" {
		t.Error("choose(sse9): no fallback note")
	}
	t.Logf("kernels: %s", Features())
}

func BenchmarkVecDot(b *testing.B) {
	r := rand.New(rand.NewPCG(11, 12))
	const n = 4096
	for _, typ := range weightTypes {
		w := quantized(b, typ, randFloats(r, n, 0.05))
		at := ActivationType(typ)
		a := make([]byte, mustRowBytes(b, at, n))
		QuantizeActivation(at, randFloats(r, n, 1), a)
		b.Run(fmt.Sprint(typ), func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			b.ReportAllocs()
			var s float32
			for b.Loop() {
				s += VecDot(typ, n, w, a)
			}
			sink = s
		})
	}
}

var sink float32

// TestHalfDotUnaligned checks that F16 and BF16 rows at odd addresses (read
// byte by byte) give the same bits as aligned ones.
func TestHalfDotUnaligned(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, f := range []struct {
		name string
		dot  vecDotFunc
		typ  quant.Type
	}{{"F16", dotF16, quant.F16}, {"BF16", dotBF16, quant.BF16}} {
		for _, n := range []int{1, 7, 31, 33, 4095} {
			w := randomBlocks(r, f.typ, n)
			a := randomBlocks(r, f.typ, n)
			buf := make([]byte, len(w)+1)
			copy(buf[1:], w)
			if got, want := f.dot(n, buf[1:], a), f.dot(n, w, a); math.Float32bits(got) != math.Float32bits(want) {
				t.Errorf("%s n=%d: unaligned %g, aligned %g", f.name, n, got, want)
			}
		}
	}
}
