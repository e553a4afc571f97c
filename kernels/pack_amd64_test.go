//go:build !purego

package kernels

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/edgeai-go/edgeai/quant"
)

// BenchmarkPacked compares products over matrices larger than the caches,
// in the file's row order (MatMul) and packed (MatMulPacked), with one
// activation row (decoding) and 64 (a prompt), on one thread, on every
// path this CPU runs that has packed kernels for the type
// (-bench 'Packed/Q4_0/.*/avx2' picks one).
func BenchmarkPacked(b *testing.B) {
	r := rand.New(rand.NewPCG(43, 44))
	saved := cur
	defer func() { cur = saved }()
	const rows, cols = 65535 - 65535%240, 2048
	for _, typ := range []quant.Type{quant.Q4_0, quant.Q5_0, quant.Q8_0, quant.IQ4_NL, quant.Q4_K, quant.Q5_K, quant.Q6_K} {
		if PackGroup(typ) == 0 {
			continue
		}
		w := quantized(b, typ, randFloats(r, rows*cols, 0.05))
		p := make([]byte, len(w))
		Pack(typ, p, w, rows, cols)
		at := ActivationType(typ)
		ab := mustRowBytes(b, at, cols)
		for _, n := range []int{1, 64} {
			a := make([]byte, n*ab)
			for j := range n {
				QuantizeActivation(at, randFloats(r, cols, 1), a[j*ab:(j+1)*ab])
			}
			out := make([]float32, n*rows)
			// a prompt is compute-bound: its figures come from the first
			// hi rows, a few MB
			hi := rows
			if n > 1 {
				hi = 4080
			}
			for _, im := range impls {
				if !im.available || im.packGemv[typ] == nil {
					continue
				}
				b.Run(typ.String()+"/rows/n="+itoa(n)+"/"+im.name, func(b *testing.B) {
					cur = im
					benchCPU(b, len(w)/rows*hi, 2*hi*cols*n, func() { MatMul(typ, w, cols, 0, hi, a, n, out, rows) })
				})
				b.Run(typ.String()+"/packed/n="+itoa(n)+"/"+im.name, func(b *testing.B) {
					cur = im
					benchCPU(b, len(p)/rows*hi, 2*hi*cols*n, func() { MatMulPacked(typ, p, rows, cols, 0, hi, a, n, out, rows) })
				})
			}
		}
	}
}

// benchCPU times f on a locked thread and reports, besides the wall-clock
// figures, the bytes and operations per second of the thread's CPU time,
// steadier than wall-clock time on a busy machine.
func benchCPU(b *testing.B, bytes, ops int, f func()) {
	b.SetBytes(int64(bytes))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0 := threadCPU()
	for b.Loop() {
		f()
	}
	if cpu := float64(threadCPU()-c0) / float64(b.N); cpu > 0 {
		b.ReportMetric(float64(bytes)/cpu, "cpuGB/s")
		b.ReportMetric(float64(ops)/cpu, "cpuGOPS")
	}
}
