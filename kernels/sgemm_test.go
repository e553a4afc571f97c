package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func sgemmImpls(t *testing.T) []*Sgemm {
	for _, g := range sgemms {
		if !g.available {
			t.Logf("SGEMM %s: not supported by this CPU, skipped", g.name)
		}
	}
	return SgemmImpls()
}

func randMat(r *rand.Rand, n int) []float32 {
	m := make([]float32, n)
	for i := range m {
		m[i] = float32(r.NormFloat64())
	}
	return m
}

// refGemm computes alpha·op(A)·op(B) (+ C0) in float64, and the sum of the
// magnitudes of the products (for the tolerance).
func refGemm(a []float32, lda int, ta bool, b []float32, ldb int, tb bool, m, n, k int, alpha float32) (ref, mag []float64) {
	ref, mag = make([]float64, m*n), make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s, sm float64
			for p := range k {
				var av, bv float32
				if ta {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if tb {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				x := float64(alpha*av) * float64(bv)
				s += x
				sm += math.Abs(x)
			}
			ref[i*n+j], mag[i*n+j] = s, sm
		}
	}
	return ref, mag
}

func checkGemm(t *testing.T, what string, got []float32, ldc int, ref, mag []float64, base []float32, m, n, k int) {
	t.Helper()
	for i := range m {
		for j := range n {
			want := ref[i*n+j]
			if base != nil {
				want += float64(base[i*ldc+j])
			}
			tol := float64(k+2)*(1.0/(1<<23))*mag[i*n+j] + 1e-6
			if d := math.Abs(float64(got[i*ldc+j]) - want); !(d <= tol) {
				t.Fatalf("%s: c[%d][%d] = %g, want %g (diff %.3g > %.3g)", what, i, j, got[i*ldc+j], want, d, tol)
			}
		}
	}
}

// TestSgemm checks every implementation against a float64 product on
// awkward sizes (edges of the tiles, k across the KC blocks), transposed
// operands, B packed ahead, on the fly and as im2col, accumulation and
// blocks of rows and columns.
func TestSgemm(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	sizes := [][3]int{{1, 1, 1}, {2, 3, 5}, {7, 31, 33}, {8, 32, 1}, {13, 17, 257}, {33, 65, 300}, {6, 16, 256}, {9, 100, 513}}
	if testing.Short() {
		sizes = sizes[:6]
	}
	for _, g := range sgemmImpls(t) {
		for _, sz := range sizes {
			m, n, k := sz[0], sz[1], sz[2]
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					lda, ldb := k+3, n+1
					if ta {
						lda = m + 2
					}
					if tb {
						ldb = k + 5
					}
					arows, brows := m, k
					if ta {
						arows = k
					}
					if tb {
						brows = n
					}
					a := randMat(r, arows*lda)
					b := randMat(r, brows*ldb)
					alpha := float32(0.5)
					ref, mag := refGemm(a, lda, ta, b, ldb, tb, m, n, k, alpha)
					pa := make([]float32, g.PackedASize(m, k))
					g.PackA(pa, a, lda, ta, m, k, alpha)
					pb := make([]float32, g.PackedBSize(k, n))
					g.PackB(pb, b, ldb, tb, k, n)
					ldc := n + 2
					for _, bm := range []BMatrix{{Data: b, Stride: ldb, Trans: tb}, {Data: pb, Packed: true}} {
						c := randMat(r, m*ldc)
						g.Mul(m, n, k, pa, bm, c, ldc, 0, m, 0, n, false)
						checkGemm(t, g.name+" overwrite", c, ldc, ref, mag, nil, m, n, k)
						c0 := append([]float32{}, c...)
						// Accumulate, block by block.
						for r0 := 0; r0 < m; r0 += 2 * g.mr {
							for c0i := 0; c0i < n; c0i += g.nr {
								g.Mul(m, n, k, pa, bm, c, ldc, r0, min(r0+2*g.mr, m), c0i, min(c0i+g.nr, n), true)
							}
						}
						checkGemm(t, g.name+" accumulate", c, ldc, ref, mag, c0, m, n, k)
					}
				}
			}
		}
	}
}

// TestSgemmAgainstGeneric compares each implementation with the generic
// one on the same packed operands.
func TestSgemmAgainstGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, g := range sgemmImpls(t) {
		for _, sz := range [][3]int{{31, 33, 4095}, {1, 4095, 7}, {4095, 1, 3}} {
			m, n, k := sz[0], sz[1], sz[2]
			a, b := randMat(r, m*k), randMat(r, k*n)
			ref, mag := refGemm(a, k, false, b, n, false, m, n, k, 1)
			var outs [2][]float32
			for i, h := range []*Sgemm{sgemmGeneric, g} {
				pa := make([]float32, h.PackedASize(m, k))
				h.PackA(pa, a, k, false, m, k, 1)
				c := make([]float32, m*n)
				h.Mul(m, n, k, pa, BMatrix{Data: b, Stride: n}, c, n, 0, m, 0, n, false)
				checkGemm(t, h.name, c, n, ref, mag, nil, m, n, k)
				outs[i] = c
			}
			// The path against the generic result itself: the same sums in
			// another order (fused multiply-adds), so within the rounding
			// of k terms of their magnitude.
			for i := range m * n {
				tol := float64(k+2) * (1.0 / (1 << 23)) * mag[i]
				if d := math.Abs(float64(outs[1][i]) - float64(outs[0][i])); !(d <= tol) {
					t.Fatalf("%s %v: c[%d] = %g, generic %g (diff %.3g > %.3g)", g.name, sz, i, outs[1][i], outs[0][i], d, tol)
				}
			}
		}
	}
}

// TestSgemmIm2col checks the convolution path: Mul with an Im2col operand
// equals Mul with the materialised matrix, and Fill matches a direct
// evaluation of the definition.
func TestSgemmIm2col(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	cases := []Im2col{
		{C: 3, H: 7, W: 9, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PT: 1, PL: 1},
		{C: 2, H: 10, W: 11, KH: 3, KW: 2, SH: 2, SW: 3, DH: 2, DW: 1, PT: 0, PL: 2},
		{C: 5, H: 1, W: 40, KH: 1, KW: 5, SH: 1, SW: 2, DH: 1, DW: 3, PT: 0, PL: 4},
		{C: 1, H: 4, W: 4, KH: 5, KW: 5, SH: 1, SW: 1, DH: 1, DW: 1, PT: 2, PL: 2},
		// No padding (openWakeWord's 3×1), and panels of interior pixels
		// among border ones: PackIm2colA's unchecked path.
		{C: 6, H: 12, W: 4, KH: 3, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1},
		{C: 3, H: 9, W: 30, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 2, PT: 1, PL: 1},
	}
	for _, ic := range cases {
		ic.OH = (ic.H+2*ic.PT-(ic.KH-1)*ic.DH-1)/ic.SH + 1
		ic.OW = (ic.W+2*ic.PL-(ic.KW-1)*ic.DW-1)/ic.SW + 1
		ic.X = randMat(r, ic.C*ic.H*ic.W)
		kk, n := ic.K(), ic.N()
		full := make([]float32, kk*n)
		ic.Fill(full, 0, kk)
		for p := range kk {
			kx, ky, c := p%ic.KW, p/ic.KW%ic.KH, p/(ic.KW*ic.KH)
			for j := range n {
				oy, ox := j/ic.OW, j%ic.OW
				y, x := oy*ic.SH-ic.PT+ky*ic.DH, ox*ic.SW-ic.PL+kx*ic.DW
				var want float32
				if y >= 0 && y < ic.H && x >= 0 && x < ic.W {
					want = ic.X[(c*ic.H+y)*ic.W+x]
				}
				if full[p*n+j] != want {
					t.Fatalf("%+v: im2col[%d][%d] = %g, want %g", ic, p, j, full[p*n+j], want)
				}
			}
		}
		// The transposed packing reads the image directly.
		for _, g := range sgemmImpls(t) {
			colT := make([]float32, n*kk)
			for p := range kk {
				for j := range n {
					colT[j*kk+p] = full[p*n+j]
				}
			}
			want := make([]float32, g.PackedASize(n, kk))
			g.PackA(want, colT, kk, false, n, kk, 1)
			got := make([]float32, len(want))
			for i := range got {
				got[i] = float32(math.NaN())
			}
			ic := ic
			g.PackIm2colA(got, &ic)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s: PackIm2colA[%d] = %g, want %g", g.name, i, got[i], want[i])
				}
			}
		}
		for _, g := range sgemmImpls(t) {
			m := 11
			w := randMat(r, m*kk)
			pa := make([]float32, g.PackedASize(m, kk))
			g.PackA(pa, w, kk, false, m, kk, 1)
			c1, c2 := make([]float32, m*n), make([]float32, m*n)
			g.Mul(m, n, kk, pa, BMatrix{Data: full, Stride: n}, c1, n, 0, m, 0, n, false)
			ic := ic
			g.Mul(m, n, kk, pa, BMatrix{Im2col: &ic}, c2, n, 0, m, 0, n, false)
			for i := range c1 {
				if c1[i] != c2[i] {
					t.Fatalf("%s: im2col operand [%d] = %g, materialised %g", g.name, i, c2[i], c1[i])
				}
			}
		}
	}
}

func TestDepthwiseConv2D(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, name := range AvailableImpls() {
		restore := UseImpl(name)
		testDepthwise(t, r, name)
		restore()
	}
}

func testDepthwise(t *testing.T, r *rand.Rand, path string) {
	for _, ic := range []Im2col{
		{C: 1, H: 5, W: 101, KH: 5, KW: 5, SH: 1, SW: 1, DH: 1, DW: 1, PT: 2, PL: 2},
		{C: 1, H: 70, W: 300, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PT: 1, PL: 1}, // bands
		{C: 1, H: 81, W: 241, KH: 3, KW: 3, SH: 2, SW: 2, DH: 1, DW: 1, PT: 1, PL: 1}, // bands, phases
		{C: 1, H: 9, W: 50, KH: 3, KW: 5, SH: 1, SW: 3, DH: 2, DW: 2, PT: 2, PL: 3},
		{C: 1, H: 4, W: 77, KH: 3, KW: 3, SH: 1, SW: 1, DH: 2, DW: 2, PT: 0, PL: 1},
		{C: 1, H: 9, W: 13, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PT: 1, PL: 1},
		{C: 1, H: 9, W: 13, KH: 5, KW: 5, SH: 2, SW: 2, DH: 1, DW: 1, PT: 2, PL: 2},
		{C: 1, H: 3, W: 3, KH: 3, KW: 3, SH: 2, SW: 1, DH: 2, DW: 2, PT: 2, PL: 1},
		{C: 1, H: 1, W: 31, KH: 1, KW: 7, SH: 1, SW: 3, DH: 1, DW: 1, PT: 0, PL: 0},
		// Thin images: most kernel rows in the padding, some output rows
		// with none inside.
		{C: 1, H: 2, W: 96, KH: 5, KW: 5, SH: 1, SW: 1, DH: 1, DW: 1, PT: 2, PL: 2},
		{C: 1, H: 3, W: 96, KH: 5, KW: 5, SH: 2, SW: 1, DH: 1, DW: 1, PT: 2, PL: 2},
		{C: 1, H: 1, W: 40, KH: 2, KW: 3, SH: 1, SW: 2, DH: 1, DW: 1, PT: 2, PL: 1},
		// Narrow rows, computed wide (PP-OCRv4's recognizer: 12×40).
		{C: 1, H: 12, W: 40, KH: 5, KW: 5, SH: 1, SW: 1, DH: 1, DW: 1, PT: 2, PL: 2},
		{C: 1, H: 7, W: 30, KH: 3, KW: 3, SH: 1, SW: 1, DH: 2, DW: 2, PT: 2, PL: 2},
		{C: 1, H: 30, W: 63, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PT: 1, PL: 1},
	} {
		ic.OH = (ic.H+2*ic.PT-(ic.KH-1)*ic.DH-1)/ic.SH + 1
		ic.OW = (ic.W+2*ic.PL-(ic.KW-1)*ic.DW-1)/ic.SW + 1
		ic.X = randMat(r, ic.H*ic.W)
		w := randMat(r, ic.KH*ic.KW)
		dst := make([]float32, ic.OH*ic.OW)
		DepthwiseConv2D(dst, &ic, w, 0.25)
		for oy := range ic.OH {
			for ox := range ic.OW {
				want := 0.25
				for ky := range ic.KH {
					for kx := range ic.KW {
						y, x := oy*ic.SH-ic.PT+ky*ic.DH, ox*ic.SW-ic.PL+kx*ic.DW
						if y >= 0 && y < ic.H && x >= 0 && x < ic.W {
							want += float64(w[ky*ic.KW+kx]) * float64(ic.X[y*ic.W+x])
						}
					}
				}
				if d := math.Abs(float64(dst[oy*ic.OW+ox]) - want); d > 1e-5 {
					t.Fatalf("%s: %+v: [%d][%d] = %g, want %g", path, ic, oy, ox, dst[oy*ic.OW+ox], want)
				}
			}
		}
	}
}

func TestSgemmAllocsAndPanics(t *testing.T) {
	for _, g := range sgemmImpls(t) {
		m, n, k := 9, 40, 300
		a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		pa := make([]float32, g.PackedASize(m, k))
		g.PackA(pa, a, k, false, m, k, 1)
		c2 := make([]float32, m*64)
		ic := &Im2col{X: make([]float32, 3*8*8), C: 3, H: 8, W: 8, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PT: 1, PL: 1, OH: 8, OW: 8}
		if n := testing.AllocsPerRun(5, func() {
			g.Mul(m, n, k, pa, BMatrix{Data: b, Stride: n}, c, n, 0, m, 0, n, false)
			g.Mul(m, 64, 27, pa[:g.PackedASize(m, 27)], BMatrix{Im2col: ic}, c2, 64, 0, m, 0, 64, false)
		}); n != 0 {
			t.Errorf("%s: Mul allocates %v times", g.name, n)
		}
		if !panics(func() { g.Mul(m, n, k, pa, BMatrix{Data: b, Stride: n}, c, n, 1, m, 0, n, false) }) {
			t.Errorf("%s: unaligned row block accepted", g.name)
		}
		if !panics(func() { g.PackA(pa[:1], a, k, false, m, k, 1) }) {
			t.Errorf("%s: short PackA destination accepted", g.name)
		}
	}
	if CurrentSgemm() == nil {
		t.Fatal("no current SGEMM")
	}
	t.Logf("current SGEMM: %s (%d×%d)", CurrentSgemm().Name(), CurrentSgemm().MR(), CurrentSgemm().NR())
}

func BenchmarkSgemm(b *testing.B) {
	for _, g := range SgemmImpls() {
		for _, sz := range [][3]int{{64, 4096, 576}, {256, 256, 256}} {
			m, n, k := sz[0], sz[1], sz[2]
			a, bb, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
			pa := make([]float32, g.PackedASize(m, k))
			g.PackA(pa, a, k, false, m, k, 1)
			b.Run(g.name+"/"+itoa(m)+"x"+itoa(n)+"x"+itoa(k), func(b *testing.B) {
				for b.Loop() {
					g.Mul(m, n, k, pa, BMatrix{Data: bb, Stride: n}, c, n, 0, m, 0, n, false)
				}
				b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// TestEpiApply checks every epilogue step of every path against its
// definition on awkward lengths, NaN and infinities included.
func TestEpiApply(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	steps := []struct {
		kind EpiKind
		v, w float32
		f    func(x float32) float32
	}{
		{EpiAdd, 0.5, 0, func(x float32) float32 { return x + 0.5 }},
		{EpiSub, 0.5, 0, func(x float32) float32 { return x - 0.5 }},
		{EpiSubFrom, 0.5, 0, func(x float32) float32 { return 0.5 - x }},
		{EpiMul, 1.5, 0, func(x float32) float32 { return x * 1.5 }},
		{EpiDiv, 6, 0, func(x float32) float32 { return x / 6 }},
		{EpiDivInto, 6, 0, func(x float32) float32 { return 6 / x }},
		{EpiMax, -0.25, 0, func(x float32) float32 { return max(x, -0.25) }},
		{EpiMin, 0.25, 0, func(x float32) float32 { return min(x, 0.25) }},
		{EpiBN, 1.25, -0.5, func(x float32) float32 { return float32(x*1.25) - 0.5 }},
		{EpiClip, 0, 6, func(x float32) float32 { return min(max(x, 0), 6) }},
		{EpiLeakyRelu, 0.2, 0, func(x float32) float32 {
			if x < 0 {
				return x * 0.2
			}
			return x
		}},
		{EpiHardSigmoid, 0.2, 0.5, func(x float32) float32 { return max(0, min(1, float32(0.2*x)+0.5)) }},
		{EpiHardSwish, 3, 6, func(x float32) float32 { return float32(x*min(max(x+3, 0), 6)) / 6 }},
		{EpiExp, 0, 0, Exp},
		{EpiSigmoid, 0, 0, func(x float32) float32 { return 1 / (1 + Exp(-x)) }},
	}
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, -3, 3, 6, 88.5, 87.9, -87.4, -87.3, 100, -100}
	for _, name := range AvailableImpls() {
		restore := UseImpl(name)
		for _, st := range steps {
			for _, n := range []int{1, 7, 8, 31, 33, 100} {
				x := randMat(r, n)
				for i := range x {
					x[i] *= 5
				}
				for i := 0; i < n && i < len(special); i += 2 {
					x[i] = special[(i+n)%len(special)]
				}
				want := make([]float32, n)
				for i, v := range x {
					want[i] = st.f(v)
				}
				EpiApply(x, st.kind, st.v, st.w)
				for i := range x {
					if x[i] != want[i] && !(x[i] != x[i] && want[i] != want[i]) {
						t.Fatalf("%s: step %d n=%d: [%d] = %v, want %v", name, st.kind, n, i, x[i], want[i])
					}
				}
			}
		}
		restore()
	}
}

// TestExp checks Exp against math.Exp: within 2 ulp on [-87, 88].
func TestExp(t *testing.T) {
	for x := float32(-87); x < 88; x += 0.0137 {
		got, want := float64(Exp(x)), math.Exp(float64(x))
		ulp := math.Abs(float64(math.Nextafter32(float32(want), float32(math.Inf(1)))) - want)
		if d := math.Abs(got - want); d > 2*ulp {
			t.Fatalf("Exp(%v) = %v, want %v (%.2g ulp)", x, got, want, d/ulp)
		}
	}
	if Exp(89) != float32(math.Inf(1)) || Exp(-88) != 0 || Exp(float32(math.NaN())) == Exp(float32(math.NaN())) {
		t.Error("Exp at the limits")
	}
}

// TestConvRows checks the in-place convolution against the im2col product
// on awkward geometries, for every implementation, in blocks of rows.
func TestConvRows(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	cases := []Im2col{
		{C: 3, H: 7, W: 9, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PT: 1, PL: 1},
		{C: 5, H: 10, W: 37, KH: 3, KW: 1, SH: 2, SW: 1, DH: 1, DW: 1, PT: 1, PL: 0},
		{C: 2, H: 1, W: 70, KH: 1, KW: 5, SH: 1, SW: 1, DH: 1, DW: 2, PT: 0, PL: 4},
		{C: 4, H: 6, W: 33, KH: 5, KW: 5, SH: 1, SW: 1, DH: 2, DW: 1, PT: 4, PL: 2},
	}
	for _, ic := range cases {
		ic.OH = (ic.H+2*ic.PT-(ic.KH-1)*ic.DH-1)/ic.SH + 1
		ic.OW = (ic.W+2*ic.PL-(ic.KW-1)*ic.DW-1)/ic.SW + 1
		ic.X = randMat(r, ic.C*ic.H*ic.W)
		kk, n := ic.K(), ic.N()
		full := make([]float32, kk*n)
		ic.Fill(full, 0, kk)
		hp := (ic.OH-1)*ic.SH + (ic.KH-1)*ic.DH + 1
		wp := ic.OW + (ic.KW-1)*ic.DW
		for _, g := range sgemmImpls(t) {
			img := make([]float32, ic.C*hp*wp+g.NR())
			PadImage(img, ic.X, ic.H, ic.W, hp, wp, ic.PT, ic.PL, 0, ic.C)
			var offs []int
			for c := range ic.C {
				for ky := range ic.KH {
					for kx := range ic.KW {
						offs = append(offs, c*hp*wp+ky*ic.DH*wp+kx*ic.DW)
					}
				}
			}
			for _, m := range []int{1, 11, 24} {
				w := randMat(r, m*kk)
				pa := make([]float32, g.PackedASize(m, kk))
				g.PackA(pa, w, kk, false, m, kk, 1)
				want := make([]float32, m*n)
				g.Mul(m, n, kk, pa, BMatrix{Data: full, Stride: n}, want, n, 0, m, 0, n, false)
				got := make([]float32, m*n)
				for oy := 0; oy < ic.OH; oy += 2 {
					g.ConvRows(m, pa, img, offs, ic.SH*wp, ic.OW, got, n, oy, min(oy+2, ic.OH), false)
				}
				for i := range want {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("%s m=%d %+v: [%d] = %g, im2col %g", g.name, m, ic, i, got[i], want[i])
					}
				}
			}
		}
	}
}
