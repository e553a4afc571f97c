package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeai-go/edgeai/quant"
)

// randF16 returns n float16 values of random normal floats (some large,
// some subnormal, some zero).
func randF16(r *rand.Rand, n int) []uint16 {
	x := randFloats(r, n, 1)
	for i := range x {
		switch r.IntN(53) {
		case 0:
			x[i] *= 0x1p-20 // a float16 subnormal
		case 1:
			x[i] = 0
		}
	}
	h := make([]uint16, n)
	F16s(h, x)
	return h
}

// TestAttnKVPathsExact checks every path's KV-cache attention routines
// (RoundF16, AttnDotF16Rows, AttnValuesF16, AttnValuesQ for Q8_0 and
// Q4_0) against the generic ones, bit for bit, at awkward head sizes,
// row counts and strides.
func TestAttnKVPathsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	for _, name := range AvailableImpls() {
		restore := UseImpl(name)
		k := kvPath()
		t.Logf("path %s", name)
		for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 127, 1000, 4095} {
			x := randFloats(r, n, 3)
			x[0] = 65519.99 // rounds to Inf in F16
			if n > 2 {
				x[1] = 1e-8 // a subnormal F16
				x[2] = -70000
			}
			a, b := append([]float32(nil), x...), append([]float32(nil), x...)
			roundF16Generic(a)
			RoundF16(b)
			for i := range a {
				if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
					t.Fatalf("%s: RoundF16 n=%d: [%d] = %g, generic %g (from %g)", name, n, i, b[i], a[i], x[i])
				}
			}
		}
		for _, hd := range []int{1, 15, 32, 33, 63, 64, 65, 80, 96, 128, 130, 256} {
			for _, rows := range []int{1, 2, 15, 16, 17, 31, 33, 100} {
				stride := hd + r.IntN(3)*16 + r.IntN(2)
				q := randFloats(r, hd, 1)
				roundF16Generic(q)
				kc := randF16(r, (rows-1)*stride+hd)
				want, got := make([]float32, rows), make([]float32, rows)
				attnDotF16RowsGeneric(want, q, kc, stride)
				k.dotF16Rows(got, q, kc, stride)
				for i := range want {
					if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
						t.Fatalf("%s: AttnDotF16Rows hd=%d rows=%d stride=%d: [%d] = %g, generic %g", name, hd, rows, stride, i, got[i], want[i])
					}
					if w := AttnDotF16(q, kc[i*stride:i*stride+hd]); math.Float32bits(w) != math.Float32bits(want[i]) {
						t.Fatalf("AttnDotF16Rows generic differs from AttnDotF16")
					}
				}
				p := randFloats(r, rows, 0.3)
				roundF16Generic(p)
				vc := randF16(r, (rows-1)*stride+hd)
				wantV, gotV := make([]float32, hd), make([]float32, hd)
				for i := range gotV {
					gotV[i] = float32(i) // must be overwritten
				}
				attnValuesF16Generic(wantV, p, vc, stride)
				AttnValuesF16(gotV, p, vc, stride)
				for i := range wantV {
					if math.Float32bits(wantV[i]) != math.Float32bits(gotV[i]) {
						t.Fatalf("%s: AttnValuesF16 hd=%d rows=%d stride=%d: [%d] = %g, generic %g", name, hd, rows, stride, i, gotV[i], wantV[i])
					}
				}
			}
		}
		for _, blocks := range []int{1, 2, 3, 4, 5, 8, 9, 12} {
			for _, rows := range []int{1, 2, 3, 15, 16, 17, 100} {
				n := 32 * blocks
				qb := 34 * blocks
				stride := qb + 34*r.IntN(4) + r.IntN(3)
				q, kc := randQ8Blocks(r, blocks), randQ8Blocks(r, 0)
				for range rows {
					row := randQ8Blocks(r, blocks)
					kc = append(kc, row...)
					kc = append(kc, make([]byte, stride-qb)...)
				}
				kc = kc[:(rows-1)*stride+qb]
				want, got := make([]float32, rows), make([]float32, rows)
				attnDotQ8_0RowsGeneric(want, n, q, kc, stride)
				k.dotQ8Rows(got, n, q, kc, stride)
				for i := range want {
					if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
						t.Fatalf("%s: AttnDotQRows Q8_0 blocks=%d rows=%d stride=%d: [%d] = %g, generic %g", name, blocks, rows, stride, i, got[i], want[i])
					}
					if w := VecDot(quant.Q8_0, n, kc[i*stride:], q); math.Float32bits(w) != math.Float32bits(want[i]) {
						t.Fatalf("%s: AttnDotQRows generic differs from VecDot: %g, %g", name, want[i], w)
					}
				}
			}
		}
		for _, qt := range []quant.Type{quant.Q8_0, quant.Q4_0} {
			rb, _ := qt.RowBytes(64)
			kc := make([]byte, 7*rb)
			for tt := range 7 {
				if err := quant.Quantize(qt, randFloats(r, 64, 1), kc[tt*rb:(tt+1)*rb]); err != nil {
					t.Fatal(err)
				}
			}
			q := make([]byte, 68)
			QuantizeActivation(quant.Q8_0, randFloats(r, 64, 1), q)
			sc := make([]float32, 3)
			AttnDotQRows(qt, sc, 64, q, kc[rb:], 2*rb, 0.125) // rows 1, 3, 5
			for i, v := range sc {
				if w := VecDot(qt, 64, kc[(1+2*i)*rb:], q) * 0.125; math.Float32bits(w) != math.Float32bits(v) {
					t.Fatalf("%s: AttnDotQRows %s [%d] = %g, VecDot %g", name, qt, i, v, w)
				}
			}
		}
		for _, qt := range []quant.Type{quant.Q8_0, quant.Q4_0} {
			for _, heads := range []int{1, 2, 3, 5} {
				for _, vd := range []int{32, 64, 128} {
					for _, rows := range []int{1, 2, 15, 17, 100} {
						rowVals := heads * vd
						rb, err := qt.RowBytes(rowVals)
						if err != nil {
							t.Fatal(err)
						}
						v := make([]byte, rows*rb)
						for tt := range rows {
							if err := quant.Quantize(qt, randFloats(r, rowVals, 1), v[tt*rb:(tt+1)*rb]); err != nil {
								t.Fatal(err)
							}
						}
						p := randFloats(r, rows, 0.3)
						h := r.IntN(heads)
						want, got := make([]float32, vd), make([]float32, vd)
						for i := range got {
							got[i] = 7
						}
						attnValuesQGeneric(qt, want, p, v, rb, h*vd)
						AttnValuesQ(qt, got, p, v, rb, h*vd)
						for i := range want {
							if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
								t.Fatalf("%s: AttnValuesQ %s heads=%d vd=%d rows=%d head %d: [%d] = %g, generic %g", name, qt, heads, vd, rows, h, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
		restore()
	}
}

// randQ8Blocks returns n Q8_0 blocks of random bytes (every int8 value,
// -128 too) under random float16 scales.
func randQ8Blocks(r *rand.Rand, n int) []byte {
	b := make([]byte, 34*n)
	d := randF16(r, n)
	for i := range n {
		b[34*i], b[34*i+1] = byte(d[i]), byte(d[i]>>8)
		for j := 2; j < 34; j++ {
			b[34*i+j] = byte(r.IntN(256))
		}
		if r.IntN(4) == 0 {
			for j := 2; j < 34; j++ {
				b[34*i+j] = 0x80
			}
		}
	}
	return b
}

// BenchmarkAttnKV times one head's attention over a 1500-token cache
// (TinyLlama: head size 64, 4 KV heads per row) with F32, F16 and Q8_0
// caches: the scores and the weighted sum of the values.
func BenchmarkAttnKV(b *testing.B) {
	const hd, kvDim, n = 64, 256, 1500
	r := rand.New(rand.NewPCG(1, 2))
	q := randFloats(r, hd, 1)
	sc := make([]float32, n)
	out := make([]float32, hd)
	kf, vf := randFloats(r, n*kvDim, 1), randFloats(r, n*kvDim, 1)
	kh, vh := make([]uint16, n*kvDim), make([]uint16, n*kvDim)
	F16s(kh, kf)
	F16s(vh, vf)
	rb, _ := quant.Q8_0.RowBytes(kvDim)
	kq, vq := make([]byte, n*rb), make([]byte, n*rb)
	_ = quant.Quantize(quant.Q8_0, kf, kq)
	_ = quant.Quantize(quant.Q8_0, vf, vq)
	qrb, _ := quant.Q8_0.RowBytes(hd)
	qq := make([]byte, qrb)
	b.Run("f32", func(b *testing.B) {
		for b.Loop() {
			for t := range sc {
				sc[t] = AttnDot(q, kf[t*kvDim:t*kvDim+hd]) * 0.125
			}
			Softmax(sc)
			AttnValues(out, sc, vf, kvDim)
		}
	})
	b.Run("f16", func(b *testing.B) {
		qh := make([]float32, hd)
		for b.Loop() {
			copy(qh, q)
			RoundF16(qh)
			AttnDotF16Rows(sc, qh, kh, kvDim, 0.125)
			Softmax(sc)
			RoundF16(sc)
			AttnValuesF16(out, sc, vh, kvDim)
		}
	})
	b.Run("q8_0", func(b *testing.B) {
		for b.Loop() {
			QuantizeActivation(quant.Q8_0, q, qq)
			AttnDotQRows(quant.Q8_0, sc, hd, qq, kq, rb, 0.125)
			Softmax(sc)
			AttnValuesQ(quant.Q8_0, out, sc, vq, rb, 0)
		}
	})
	b.Run("q8_0-vecdot", func(b *testing.B) { // the scores one VecDot per row, as before AttnDotQRows
		for b.Loop() {
			QuantizeActivation(quant.Q8_0, q, qq)
			for t := range sc {
				sc[t] = VecDot(quant.Q8_0, hd, kq[t*rb:t*rb+qrb], qq) * 0.125
			}
			Softmax(sc)
			AttnValuesQ(quant.Q8_0, out, sc, vq, rb, 0)
		}
	})
}
