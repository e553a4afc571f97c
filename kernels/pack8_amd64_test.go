//go:build !purego

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeai-go/edgeai/quant"
)

// TestTileQ4_0P8 checks the avx512 eight-row Q4_0 tile against dotQ4_0
// (generic Go) bit for bit: random bytes (every nibble and fp16 scale),
// activation quants over all of [-128, 127], awkward block counts and
// activation row counts (the last eight rows overlapping the ones before,
// four to seven with the last row repeated, fewer through the one-row
// tile), and the extremes of the
// quad sums (nibbles 0 and 15 with activations -128 and 127).
func TestTileQ4_0P8(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 VNNI on this CPU")
	}
	r := rand.New(rand.NewPCG(87, 88))
	const P = packRows
	for _, nb := range []int{1, 2, 3, 5, 64, 67} {
		cols := nb * 32
		rb, ab := nb*18, nb*34
		for _, n := range []int{1, 3, 4, 5, 6, 7, 8, 9, 13, 16, 37} {
			for _, extreme := range []bool{false, true} {
				w := randomBlocks(r, quant.Q4_0, P*cols)
				a := randomActivation(r, quant.Q8_0, n*cols)
				if extreme {
					for i := range w {
						if i%18 >= 2 {
							w[i] = []byte{0x00, 0xff, 0x0f, 0xf0}[r.IntN(4)]
						}
					}
					for i := range a {
						if i%34 >= 2 {
							a[i] = []byte{0x80, 0x7f}[r.IntN(2)]
						}
					}
				}
				p := make([]byte, len(w))
				Pack(quant.Q4_0, p, w, P, cols)
				ldo := P + 3 // rows of out apart by more than the group
				out := make([]float32, (n-1)*ldo+P+1)
				out[len(out)-1] = -1
				tileQ4_0x15P8(nb, &p[0], &a[0], ab, n, &out[0], ldo)
				if out[len(out)-1] != -1 {
					t.Fatalf("nb=%d n=%d: wrote past the group", nb, n)
				}
				for j := range n {
					for row := range P {
						want := dotQ4_0(cols, w[row*rb:(row+1)*rb], a[j*ab:(j+1)*ab])
						if got := out[j*ldo+row]; math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("nb=%d n=%d extreme=%v: out[%d][%d] = %g, dotQ4_0 %g", nb, n, extreme, j, row, got, want)
						}
					}
				}
			}
		}
	}
}

// TestMatMulPackedFewRows checks MatMulPacked's Q4_0 products with 2 to 8
// activation rows (a batch of decoding streams: on avx512 the eight-row
// tile from packTileMin rows, matrix-vector products below) on every path
// against VecDot, bit for bit: a sequence's logits must not depend on how
// many others share its batch.
func TestMatMulPackedFewRows(t *testing.T) {
	r := rand.New(rand.NewPCG(93, 94))
	const rows, cols = 47, 320 // three groups and two rows in the file's layout
	w := randomBlocks(r, quant.Q4_0, rows*cols)
	p := make([]byte, len(w))
	Pack(quant.Q4_0, p, w, rows, cols)
	rb, ab := len(w)/rows, cols/32*34
	for _, im := range testImpls(t) {
		restore := UseImpl(im.name)
		for n := 2; n <= 8; n++ {
			a := randomActivation(r, quant.Q8_0, n*cols)
			got := make([]float32, n*rows)
			MatMulPacked(quant.Q4_0, p, rows, cols, 0, rows, a, n, got, rows)
			for j := range n {
				for row := range rows {
					want := im.vecDot[quant.Q4_0](cols, w[row*rb:(row+1)*rb], a[j*ab:(j+1)*ab])
					if g := got[j*rows+row]; math.Float32bits(g) != math.Float32bits(want) {
						t.Fatalf("%s n=%d: out[%d][%d] = %g, VecDot %g", im.name, n, j, row, g, want)
					}
				}
			}
		}
		restore()
	}
}

// BenchmarkTileQ4_0P8 compares the Q4_0 prompt tiles over one packed group
// (fifteen rows of 2048 values, in cache) for 8 and 64 activation rows:
// the one-row-at-a-time tile (one) and the eight-row one (p8).
func BenchmarkTileQ4_0P8(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512 VNNI on this CPU")
	}
	r := rand.New(rand.NewPCG(89, 90))
	const nb = 64
	w := randomBlocks(r, quant.Q4_0, packRows*nb*32)
	p := make([]byte, len(w))
	Pack(quant.Q4_0, p, w, packRows, nb*32)
	for _, n := range []int{8, 64} {
		a := randomMatMulActivation(r, quant.Q8_0, n*nb*32)
		out := make([]float32, n*packRows)
		for _, c := range []struct {
			name string
			tile packTileFunc
		}{{"one", tileQ4_0x15PVNNI}, {"p8", tileQ4_0x15P8}} {
			b.Run("n="+itoa(n)+"/"+c.name, func(b *testing.B) {
				benchCPU(b, len(p), 2*packRows*nb*32*n, func() {
					clear(out)
					c.tile(nb, &p[0], &a[0], nb*34, n, &out[0], packRows)
				})
			})
		}
	}
}

// BenchmarkPackedQ4_0Rows8 is BenchmarkPacked's product over a matrix
// larger than the caches (75 MiB, read from memory every op, as a
// decoding step reads the model) with one activation row (decoding) and
// eight (a batch of eight streams), on one thread: the one-row tile
// (one), the eight-row one (p8), and eight matrix-vector products (gemv);
// then the same for Q6_K (the output matrix of TinyLlama's Q4_0 file)
// with the path's kernels.
func BenchmarkPackedQ4_0Rows8(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512 VNNI on this CPU")
	}
	r := rand.New(rand.NewPCG(91, 92))
	const rows, cols = 65535 - 65535%240, 2048
	w := randomBlocks(r, quant.Q4_0, rows*cols)
	p := make([]byte, len(w))
	Pack(quant.Q4_0, p, w, rows, cols)
	a := randomMatMulActivation(r, quant.Q8_0, 8*cols)
	out := make([]float32, 8*rows)
	saved := cur
	defer func() { cur = saved }()
	for _, c := range []struct {
		name string
		n    int
		tile packTileFunc
		gemv packGemvFunc
	}{{"n=1", 1, nil, gemvQ4_0x15PVNNI}, {"n=8/gemv", 8, nil, gemvQ4_0x15PVNNI}, {"n=8/one", 8, tileQ4_0x15PVNNI, nil}, {"n=8/p8", 8, tileQ4_0x15P8, nil}} {
		b.Run(c.name, func(b *testing.B) {
			im := *impls[len(impls)-1]
			im.packTile[quant.Q4_0], im.packGemv[quant.Q4_0] = c.tile, c.gemv
			cur = &im
			benchCPU(b, len(p), 2*rows*cols*c.n, func() { MatMulPacked(quant.Q4_0, p, rows, cols, 0, rows, a, c.n, out, rows) })
		})
	}
	q6 := randomBlocks(r, quant.Q6_K, rows/2*cols)
	p6 := make([]byte, len(q6))
	Pack(quant.Q6_K, p6, q6, rows/2, cols)
	a6 := randomMatMulActivation(r, quant.Q8_K, 8*cols)
	for _, n := range []int{1, 8} {
		b.Run("Q6_K/n="+itoa(n), func(b *testing.B) {
			cur = impls[len(impls)-1]
			benchCPU(b, len(p6), 2*rows/2*cols*n, func() { MatMulPacked(quant.Q6_K, p6, rows/2, cols, 0, rows/2, a6, n, out, rows/2) })
		})
	}
}
