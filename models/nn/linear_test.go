package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/quant"
)

// randTensor returns a rows x cols weight of type t with random values.
func randTensor(t *testing.T, rng *rand.Rand, typ quant.Type, rows, cols int) *Tensor {
	t.Helper()
	f := make([]float32, rows*cols)
	for i := range f {
		f[i] = float32(rng.NormFloat64())
	}
	rb, err := typ.RowBytes(cols)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, rows*rb)
	if err := quant.Quantize(typ, f, data); err != nil {
		t.Fatal(err)
	}
	return &Tensor{Name: typ.String(), Type: typ, Shape: []int64{int64(cols), int64(rows)}, Data: data}
}

// TestMatMulFusedMatchesMatMul checks that products fused into one loop give
// exactly MatMul's values, with weights of different types (and so of
// different activation types) and row counts, on 1 and 2 threads.
func TestMatMulFusedMatchesMatMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const cols = 256
	ws := []*Tensor{
		randTensor(t, rng, quant.Q8_0, 97, cols),
		randTensor(t, rng, quant.Q4_K, 33, cols),
		randTensor(t, rng, quant.Q4_0, 160, cols),
	}
	for _, threads := range []int{1, 2} {
		pool := parallel.New(threads)
		for _, n := range []int{1, 5} {
			x := make([]float32, n*cols)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			for k := 1; k <= len(ws); k++ {
				var l, single Linear
				l.Pool, single.Pool = pool, pool
				outs := make([][]float32, k)
				for i := range k {
					outs[i] = make([]float32, n*ws[i].Rows())
				}
				l.MatMulFused(ws[:k], x, n, outs)
				var act []byte
				for i := range k {
					want := make([]float32, n*ws[i].Rows())
					single.MatMul(ws[i], x, n, want, &act)
					for j := range want {
						if outs[i][j] != want[j] {
							t.Fatalf("threads %d, n %d, %d fused: product %d value %d = %v, MatMul gives %v",
								threads, n, k, i, j, outs[i][j], want[j])
						}
					}
				}
			}
		}
		pool.Close()
	}
}

// TestMatMulFusedAllocs checks that a fused loop allocates nothing once its
// activation buffers have grown.
func TestMatMulFusedAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ws := []*Tensor{randTensor(t, rng, quant.Q8_0, 64, 64), randTensor(t, rng, quant.Q8_0, 32, 64)}
	pool := parallel.New(2)
	defer pool.Close()
	l := Linear{Pool: pool}
	x := make([]float32, 64)
	outs := [][]float32{make([]float32, 64), make([]float32, 32)}
	l.MatMulFused(ws, x, 1, outs)
	if a := testing.AllocsPerRun(100, func() { l.MatMulFused(ws, x, 1, outs) }); a != 0 {
		t.Errorf("MatMulFused allocates %v times per call", a)
	}
}
