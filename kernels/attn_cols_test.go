package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAttnDotCols checks AttnDotCols against the generic AttnDot column by
// column, bit for bit, on every path, for row counts around the 64-row
// chunks and column counts around the groups of 8 and 16, then on random
// awkward sizes.
func TestAttnDotCols(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, im := range impls {
		if !im.available {
			continue
		}
		t.Run(im.name, func(t *testing.T) {
			defer func(c *impl) { cur = c }(cur)
			cur = im
			type size struct{ n, cols int }
			var sizes []size
			for _, n := range []int{1, 2, 7, 16, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 192, 200} {
				for _, cols := range []int{1, 5, 8, 15, 16, 17, 33, 64, 70, 129} {
					sizes = append(sizes, size{n, cols})
				}
			}
			for range 40 {
				sizes = append(sizes, size{1 + rng.IntN(300), 1 + rng.IntN(150)})
			}
			for _, sz := range sizes {
				n, cols := sz.n, sz.cols
				stride := cols + rng.IntN(3)
				x := make([]float32, n)
				m := make([]float32, (n-1)*stride+cols)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				for i := range m {
					m[i] = float32(rng.NormFloat64())
				}
				if n%5 == 0 {
					x[0] = float32(math.Inf(-1)) // infinities and NaN propagate lane by lane
				}
				out := make([]float32, cols)
				AttnDotCols(out, x, m, stride)
				col := make([]float32, n)
				for c := range cols {
					for i := range n {
						col[i] = m[i*stride+c]
					}
					want := attnDotGeneric(x, col)
					if math.Float32bits(out[c]) != math.Float32bits(want) && !(out[c] != out[c] && want != want) {
						t.Fatalf("n %d cols %d stride %d: column %d = %v, generic AttnDot %v", n, cols, stride, c, out[c], want)
					}
				}
			}
		})
	}
}

func BenchmarkAttnDotCols(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, hd := range []int{32, 64} {
		n := 128
		x := make([]float32, hd)
		kt := make([]float32, hd*n)
		for i := range kt {
			kt[i] = float32(rng.NormFloat64())
		}
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		out := make([]float32, n)
		b.Run(itoa(hd)+"/cols", func(b *testing.B) {
			for b.Loop() {
				AttnDotCols(out, x, kt, n)
			}
		})
		k := make([]float32, n*hd)
		b.Run(itoa(hd)+"/one-by-one", func(b *testing.B) {
			for b.Loop() {
				for j := range n {
					out[j] = AttnDot(x, k[j*hd:(j+1)*hd])
				}
			}
		})
	}
}

// TestAttnDotRows checks AttnDotRows against the generic AttnDot row by
// row, bit for bit, on every path, for head sizes around the 64-value
// chunks and row counts around the groups of 8 and 16, then on random
// awkward sizes.
func TestAttnDotRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, im := range impls {
		if !im.available {
			continue
		}
		t.Run(im.name, func(t *testing.T) {
			defer func(c *impl) { cur = c }(cur)
			cur = im
			type size struct{ n, rows int }
			var sizes []size
			for _, n := range []int{1, 3, 16, 32, 33, 63, 64, 65, 96, 128, 129, 200} {
				for _, rows := range []int{1, 7, 8, 9, 16, 17, 40, 100} {
					sizes = append(sizes, size{n, rows})
				}
			}
			for range 40 {
				sizes = append(sizes, size{1 + rng.IntN(300), 1 + rng.IntN(150)})
			}
			for _, sz := range sizes {
				n, rows := sz.n, sz.rows
				stride := n + rng.IntN(9)
				x := make([]float32, n)
				k := make([]float32, (rows-1)*stride+n)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				for i := range k {
					k[i] = float32(rng.NormFloat64())
				}
				if n%5 == 0 {
					x[0] = float32(math.Inf(1)) // infinities and NaN propagate lane by lane
				}
				out := make([]float32, rows)
				AttnDotRows(out, x, k, stride)
				for j := range rows {
					want := attnDotGeneric(x, k[j*stride:j*stride+n])
					if math.Float32bits(out[j]) != math.Float32bits(want) && !(out[j] != out[j] && want != want) {
						t.Fatalf("n %d rows %d stride %d: row %d = %v, generic AttnDot %v", n, rows, stride, j, out[j], want)
					}
				}
			}
		})
	}
}
