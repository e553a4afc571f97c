package kernels

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeai-go/edgeai/quant"
)

var activationTypes = []quant.Type{quant.F32, quant.F16, quant.BF16, quant.Q8_0, quant.Q8_1, quant.Q8_K}

// activationInputs returns test rows of n values: normal data with outliers,
// tiny values (fp16 scale underflow), all zeros, a ramp with exact .5 ties
// after scaling, and single spikes.
func activationInputs(r *rand.Rand, n int) map[string][]float32 {
	in := map[string][]float32{
		"normal": randFloats(r, n, 1),
		"tiny":   randFloats(r, n, 1e-6),
		"zeros":  make([]float32, n),
	}
	ramp := make([]float32, n)
	for i := range ramp {
		// Half-integers with a block max of 127: x·127/amax = x, an exact tie.
		ramp[i] = float32(i%64-32) + 0.5
		if i%32 == 0 {
			ramp[i] = 127
		}
	}
	in["ties"] = ramp
	spike := make([]float32, n)
	for i := 0; i < n; i += 37 {
		spike[i] = float32(r.NormFloat64() * 1e3)
	}
	in["spikes"] = spike
	return in
}

// x86Reference returns what ggml-cpu on x86 writes for x in type at, as
// computed by quant (its x86 quantizers for Q8_0 and Q8_1, its reference
// for the others, which x86 ggml uses unchanged).
func x86Reference(tb testing.TB, at quant.Type, x []float32) []byte {
	tb.Helper()
	b := make([]byte, mustRowBytes(tb, at, len(x)))
	var err error
	switch at {
	case quant.Q8_0:
		err = quant.QuantizeQ8_0x86(x, b)
	case quant.Q8_1:
		err = quant.QuantizeQ8_1x86(x, b)
	default:
		err = quant.Quantize(at, x, b)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestQuantizeActivationMatchesX86 checks every implementation's activation
// quantizer byte for byte against quant's model of ggml-cpu's x86 code.
func TestQuantizeActivationMatchesX86(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, im := range testImpls(t) {
		for _, at := range activationTypes {
			for _, nb := range blockCounts {
				n := nb * blockSize(at)
				if blockSize(at) == 1 {
					n = []int{1, 7, 31, 33, 4095}[indexOf(blockCounts, nb)]
				}
				for name, x := range activationInputs(r, n) {
					want := x86Reference(t, at, x)
					got := make([]byte, len(want))
					im.quantize[at](x, got)
					if !bytes.Equal(got, want) {
						i := firstDiff(got, want)
						t.Errorf("%s %v %s n=%d: byte %d = %#x, ggml x86 %#x", im.name, at, name, n, i, got[i], want[i])
					}
				}
			}
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// TestQuantizeActivationVsReference documents how the x86 activation
// quantizer differs from ggml's portable reference (quant.Quantize): the
// scales d (and Q8_K entirely) are identical; a Q8_0/Q8_1 quant may differ by
// one, and only where the reference's x·(1/d) lies within a few ulps of a
// half (a tie broken the other way, or 127/amax and 1/(amax/127) falling on
// either side of it). Q8_1's s then follows its quants.
func TestQuantizeActivationVsReference(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, at := range []quant.Type{quant.Q8_0, quant.Q8_1, quant.Q8_K} {
		bb, qoff := layouts[at].bb, 2
		if at == quant.Q8_1 {
			qoff = 4
		}
		var total, differ int
		for name, x := range activationInputs(r, 128*blockSize(at)) {
			got := make([]byte, mustRowBytes(t, at, len(x)))
			QuantizeActivation(at, x, got)
			ref := quantized(t, at, x)
			if at == quant.Q8_K {
				if !bytes.Equal(got, ref) {
					t.Errorf("Q8_K %s: differs from quant.Quantize at byte %d", name, firstDiff(got, ref))
				}
				continue
			}
			for blk := 0; blk < len(x)/32; blk++ {
				g, w := got[blk*bb:(blk+1)*bb], ref[blk*bb:(blk+1)*bb]
				if u16(g) != u16(w) {
					t.Fatalf("%v %s block %d: d %#x, reference %#x", at, name, blk, u16(g), u16(w))
				}
				d := quant.F16ToF32(u16(w))
				var amax float32
				for _, v := range x[32*blk : 32*blk+32] {
					amax = max(amax, abs32(v))
				}
				idRef := float32(0)
				if dd := amax / 127; dd != 0 {
					idRef = 1 / dd
				}
				_ = d
				for j := range 32 {
					total++
					qg, qw := int8(g[qoff+j]), int8(w[qoff+j])
					if qg == qw {
						continue
					}
					differ++
					v := float64(x[32*blk+j] * idRef)
					frac := math.Abs(v - math.Trunc(v))
					if d := int(qg) - int(qw); d != 1 && d != -1 || math.Abs(frac-0.5) > 1e-4 {
						t.Errorf("%v %s block %d value %d (%g): quant %d, reference %d, x/d = %.9g is not a near tie",
							at, name, blk, j, x[32*blk+j], qg, qw, v)
					}
				}
			}
		}
		if at != quant.Q8_K {
			t.Logf("%v: %d of %d quants differ from the portable reference, all by one at near ties", at, differ, total)
			if differ == 0 {
				t.Errorf("%v: no difference from the reference on exact ties; the x86 rounding is not exercised", at)
			}
		}
	}
}

// TestQuantizeActivationPanics checks the reported programmer errors.
func TestQuantizeActivationPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"dst too short", func() { QuantizeActivation(quant.Q8_0, make([]float32, 32), make([]byte, 33)) }},
		{"dst too long", func() { QuantizeActivation(quant.F16, make([]float32, 3), make([]byte, 8)) }},
		{"partial block", func() { QuantizeActivation(quant.Q8_K, make([]float32, 255), make([]byte, 292)) }},
		{"weight type", func() { QuantizeActivation(quant.Q4_0, make([]float32, 32), make([]byte, 18)) }},
	} {
		if !panics(tc.f) {
			t.Errorf("%s: no panic", tc.name)
		}
	}
}

func TestQuantizeActivationAllocs(t *testing.T) {
	x := randFloats(rand.New(rand.NewPCG(25, 26)), 4096, 1)
	for _, at := range activationTypes {
		dst := make([]byte, mustRowBytes(t, at, len(x)))
		if n := testing.AllocsPerRun(10, func() { QuantizeActivation(at, x, dst) }); n != 0 {
			t.Errorf("QuantizeActivation(%v) allocates %v times", at, n)
		}
	}
}

func BenchmarkQuantizeActivation(b *testing.B) {
	x := randFloats(rand.New(rand.NewPCG(27, 28)), 4096, 1)
	for _, at := range activationTypes {
		dst := make([]byte, mustRowBytes(b, at, len(x)))
		b.Run(at.String(), func(b *testing.B) {
			b.SetBytes(int64(4 * len(x)))
			b.ReportAllocs()
			for b.Loop() {
				QuantizeActivation(at, x, dst)
			}
		})
	}
}
