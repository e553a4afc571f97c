package quant_test

import (
	"testing"

	"github.com/edgeai-go/edgeai/quant"
)

// BenchmarkDequantize decodes one 4096x8 matrix per op; the reported MB/s is
// float32 output (4 bytes per value).
func BenchmarkDequantize(b *testing.B) {
	const n = 8 * 4096
	x := normal(1, n, 1)
	for _, c := range quantizable {
		nb, _ := c.t.RowBytes(n)
		q := make([]byte, nb)
		if err := quant.Quantize(c.t, x, q); err != nil {
			b.Fatal(err)
		}
		y := make([]float32, n)
		b.Run(c.t.String(), func(b *testing.B) {
			b.SetBytes(4 * n)
			for b.Loop() {
				if err := quant.Dequantize(c.t, q, y); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkQuantizeActivation measures the per-token activation quantizers on
// a 4096-wide vector; MB/s is float32 input.
func BenchmarkQuantizeActivation(b *testing.B) {
	const n = 4096
	x := normal(2, n, 1)
	run := func(name string, nb int, f func([]float32, []byte) error) {
		q := make([]byte, nb)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(4 * n)
			for b.Loop() {
				if err := f(x, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, t := range []quant.Type{quant.Q8_0, quant.Q8_1, quant.Q8_K} {
		nb, _ := t.RowBytes(n)
		run(t.String(), nb, func(x []float32, q []byte) error { return quant.Quantize(t, x, q) })
	}
	run("Q8_0x86", n/32*34, quant.QuantizeQ8_0x86)
	run("Q8_1x86", n/32*36, quant.QuantizeQ8_1x86)
}
