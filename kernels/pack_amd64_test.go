//go:build !purego

package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/edgeai-go/edgeai/quant"
)

// BenchmarkPacked compares products over Q4_0, Q5_0 and Q8_0 matrices larger
// than the caches, in the file's row order (MatMul) and packed
// (MatMulPacked), with one activation row (decoding) and 64 (a prompt),
// on one thread.
func BenchmarkPacked(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512 VNNI")
	}
	r := rand.New(rand.NewPCG(43, 44))
	const rows, cols = 65535, 2048
	for _, typ := range []quant.Type{quant.Q4_0, quant.Q5_0, quant.Q8_0} {
		w := quantized(b, typ, randFloats(r, rows*cols, 0.05))
		for _, n := range []int{1, 64} {
			a := make([]byte, n*mustRowBytes(b, quant.Q8_0, cols))
			for j := range n {
				QuantizeActivation(quant.Q8_0, randFloats(r, cols, 1), a[j*len(a)/n:(j+1)*len(a)/n])
			}
			out := make([]float32, n*rows)
			b.Run(typ.String()+"/rows/n="+itoa(n), func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				for b.Loop() {
					MatMul(typ, w, cols, 0, rows, a, n, out, rows)
				}
			})
			p := make([]byte, len(w))
			Pack(typ, p, w, rows, cols)
			b.Run(typ.String()+"/packed/n="+itoa(n), func(b *testing.B) {
				b.SetBytes(int64(len(p)))
				for b.Loop() {
					MatMulPacked(typ, p, rows, cols, 0, rows, a, n, out, rows)
				}
			})
		}
	}
}
