package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/edgeai-go/edgeai/quant"
)

// TestMatMulMatchesVecDot checks, for every implementation and weight type,
// that MatMul's results are bit-identical to VecDot's, over row sub-ranges,
// padded output strides and activation counts that cross the tiles, and that
// it writes nothing outside its rows.
func TestMatMulMatchesVecDot(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	saved := cur
	defer func() { cur = saved }()
	for _, im := range testImpls(t) {
		cur = im
		for _, typ := range weightTypes {
			at := ActivationType(typ)
			for _, tc := range []struct{ cols, rows, lo, hi, n, pad int }{
				{1, 3, 0, 3, 1, 0},
				{96, 7, 2, 5, 2, 1},
				{1056, 40, 0, 40, 5, 3},
				{4096, 9, 1, 9, 40, 0},     // several activation tiles
				{1024, 300, 17, 299, 3, 2}, // several weight tiles
				{4095, 5, 0, 5, 3, 0},
				{512, 30, 3, 29, 1, 0}, // decoding: 8-row and 4-row tiles and the rest
				{512, 30, 1, 30, 7, 1}, // an odd number of activation rows
				{64, 12, 0, 12, 1, 0},
				{256, 50, 2, 49, 9, 1}, // prompt tiles of 15 rows and the rest
				{128, 27, 0, 27, 8, 0}, // the last rows of the matrix: 4-row tiles
				{128, 40, 0, 25, 8, 0}, // a partial 10-row prompt tile
			} {
				bs := blockSize(typ)
				cols := (tc.cols + bs - 1) / bs * bs // values, rounded up to whole blocks
				rb := mustRowBytes(t, typ, cols)
				ab := mustRowBytes(t, at, cols)
				w := randomBlocks(r, typ, tc.rows*cols)
				a := make([]byte, tc.n*ab)
				for j := range tc.n {
					QuantizeActivation(at, randFloats(r, cols, 1), a[j*ab:(j+1)*ab])
				}
				ldo := tc.rows + tc.pad
				out := make([]float32, tc.n*ldo)
				for i := range out {
					out[i] = float32(math.NaN())
				}
				MatMul(typ, w, cols, tc.lo, tc.hi, a, tc.n, out, ldo)
				bad := 0
				for j := range tc.n {
					for rr := range ldo {
						got := out[j*ldo+rr]
						if rr < tc.lo || rr >= tc.hi {
							if !math.IsNaN(float64(got)) {
								t.Errorf("%s %v %+v: wrote out[%d][%d] outside rows", im.name, typ, tc, j, rr)
							}
							continue
						}
						want := im.vecDot[typ](cols, w[rr*rb:(rr+1)*rb], a[j*ab:(j+1)*ab])
						if math.Float32bits(got) != math.Float32bits(want) {
							bad++
							if bad < 3 {
								t.Errorf("%s %v %+v: out[%d][%d] = %g, VecDot %g", im.name, typ, tc, j, rr, got, want)
							}
						}
					}
				}
			}
		}
	}
}

// TestMatMulPanics checks that shapes that do not fit are reported.
func TestMatMulPanics(t *testing.T) {
	const cols = 64
	w := make([]byte, 4*36) // 4 rows of Q4_0
	a := make([]byte, 2*68) // 2 rows of Q8_0
	out := make([]float32, 2*4)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"rows beyond weights", func() { MatMul(quant.Q4_0, w, cols, 0, 5, a, 1, out, 4) }},
		{"activations short", func() { MatMul(quant.Q4_0, w, cols, 0, 4, a, 3, make([]float32, 12), 4) }},
		{"out short", func() { MatMul(quant.Q4_0, w, cols, 0, 4, a, 2, out[:7], 4) }},
		{"overlapping out rows", func() { MatMul(quant.Q4_0, w, cols, 0, 4, a, 2, out, 3) }},
		{"negative range", func() { MatMul(quant.Q4_0, w, cols, 2, 1, a, 1, out, 4) }},
		{"partial block", func() { MatMul(quant.Q4_0, w, 48, 0, 1, a, 1, out, 4) }},
		{"unsupported", func() { MatMul(quant.IQ1_S, w, 256, 0, 1, a, 1, out, 4) }},
	} {
		if !panics(tc.f) {
			t.Errorf("%s: no panic", tc.name)
		}
	}
	if panics(func() { MatMul(quant.Q4_0, w, cols, 0, 4, a, 2, out, 4) }) {
		t.Error("valid call panicked")
	}
	if panics(func() { MatMul(quant.Q4_0, nil, cols, 3, 3, nil, 0, nil, 4) }) {
		t.Error("empty call panicked")
	}
	zero := []float32{1, 1, 1, 1, 1, 1, 1, 1}
	MatMul(quant.Q4_0, nil, 0, 1, 3, nil, 2, zero, 4)
	if want := []float32{1, 0, 0, 1, 1, 0, 0, 1}; fmt.Sprint(zero) != fmt.Sprint(want) {
		t.Errorf("MatMul with 0 columns: out = %v, want %v", zero, want)
	}
}

func TestMatMulAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	const cols, rows, n = 512, 64, 8
	for _, typ := range []quant.Type{quant.Q4_0, quant.Q6_K, quant.F32} {
		at := ActivationType(typ)
		w := randomBlocks(r, typ, rows*cols)
		a := randomActivation(r, at, n*cols)
		out := make([]float32, n*rows)
		if allocs := testing.AllocsPerRun(5, func() { MatMul(typ, w, cols, 0, rows, a, n, out, rows) }); allocs != 0 {
			t.Errorf("MatMul(%v) allocates %v times", typ, allocs)
		}
	}
}

// BenchmarkMatMul multiplies weight matrices of TinyLlama's shapes (rows x
// cols: 2048x2048 attention, 5632x2048 FFN up/gate) by 1 (decoding), 32
// and 128 (prompt) activation rows on one goroutine, once per available
// implementation side by side. The bytes are the weights' (GB/s of weights
// for n=1); GFLOP/s counts 2 operations per weight and activation row.
func BenchmarkMatMul(b *testing.B) {
	r := rand.New(rand.NewPCG(35, 36))
	saved := cur
	defer func() { cur = saved }()
	for _, typ := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q5_0, quant.Q4_K, quant.Q6_K, quant.F16} {
		for _, shape := range [][2]int{{2048, 2048}, {5632, 2048}} {
			rows, cols := shape[0], shape[1]
			w := quantized(b, typ, randFloats(r, rows*cols, 0.05))
			at := ActivationType(typ)
			ab := mustRowBytes(b, at, cols)
			for _, n := range []int{1, 32, 128} {
				a := make([]byte, n*ab)
				for j := range n {
					QuantizeActivation(at, randFloats(r, cols, 1), a[j*ab:(j+1)*ab])
				}
				out := make([]float32, n*rows)
				for _, im := range impls {
					if !im.available {
						continue
					}
					b.Run(fmt.Sprintf("%v/%dx%d/n=%d/%s", typ, rows, cols, n, im.name), func(b *testing.B) {
						cur = im
						b.SetBytes(int64(len(w)))
						b.ReportAllocs()
						runtime.LockOSThread()
						defer runtime.UnlockOSThread()
						c0 := threadCPU()
						for b.Loop() {
							MatMul(typ, w, cols, 0, rows, a, n, out, rows)
						}
						if cpu := float64(threadCPU()-c0) / float64(b.N); cpu > 0 {
							// per CPU second, less sensitive to a busy machine than wall time
							b.ReportMetric(float64(len(w))/cpu, "cpuGB/s")
							b.ReportMetric(float64(2*rows*cols*n)/cpu, "cpuGFLOP/s")
						}
					})
				}
			}
		}
	}
}
