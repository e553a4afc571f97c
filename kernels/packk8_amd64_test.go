//go:build !purego

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeai-go/edgeai/quant"
)

// TestTileQ4_K8 checks the avx512 eight-row Q4_K tile against dotQ4_K
// (generic Go) bit for bit: random bytes (every scale, minimum and
// nibble pattern), activation quants over all of [-128, 127], awkward
// block counts and activation row counts (the last eight rows overlapping
// the ones before, fewer than eight through the four-row tile), and the
// extremes of the biased quad sums (nibbles 15, scales 63, activations
// -128 and 127).
func TestTileQ4_K8(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 VNNI on this CPU")
	}
	r := rand.New(rand.NewPCG(81, 82))
	const P = packRowsK
	for _, nb := range []int{1, 2, 3, 5, 7} {
		cols := nb * 256
		rb, ab := nb*144, nb*292
		for _, n := range []int{4, 7, 8, 9, 13, 16, 37} {
			for _, extreme := range []bool{false, true} {
				w := randomBlocks(r, quant.Q4_K, P*cols)
				a := randomActivation(r, quant.Q8_K, n*cols)
				if extreme {
					extremeQ4_K(r, w, a)
				}
				p := make([]byte, len(w))
				Pack(quant.Q4_K, p, w, P, cols)
				ldo := P + 3 // rows of out apart by more than the group
				out := make([]float32, (n-1)*ldo+P)
				tileQ4_K8AVX512(nb, &p[0], &a[0], ab, n, &out[0], ldo)
				for j := range n {
					for row := range P {
						want := dotQ4_K(cols, w[row*rb:(row+1)*rb], a[j*ab:(j+1)*ab])
						if got := out[j*ldo+row]; math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("nb=%d n=%d extreme=%v: out[%d][%d] = %g, dotQ4_K %g", nb, n, extreme, j, row, got, want)
						}
					}
				}
			}
		}
	}
}

// extremeQ4_K sets random blocks of Q4_K weights w and Q8_K activations
// a to the ends of their ranges: every nibble 15, scales 63 or 0, and
// activation quants -128 or 127 (block sums kept consistent).
func extremeQ4_K(r *rand.Rand, w, a []byte) {
	for o := 0; o < len(w); o += 144 {
		for i := range 12 {
			w[o+4+i] = []byte{0xff, 0x00, byte(r.Uint32())}[r.IntN(3)]
		}
		for i := range 128 {
			w[o+16+i] = 0xff
		}
	}
	for o := 0; o < len(a); o += 292 {
		for g := range 16 {
			q := []int8{-128, 127}[r.IntN(2)]
			var s int32
			for l := range 16 {
				a[o+4+16*g+l] = byte(q)
				s += int32(q)
			}
			putU16(a[o+260+2*g:], uint16(int16(s)))
		}
	}
}

// TestTileQ6_K8 checks the avx512 eight-row Q6_K tile against dotQ6_K
// (generic Go) bit for bit, as TestTileQ4_K8 does, with activation quants
// in [-127, 127] (the range the tile takes), and the extremes of its
// biased sums (values 0 and 63, scales -128 and 127, activations -127
// and 127).
func TestTileQ6_K8(t *testing.T) {
	testTileQ6_K(t, "avx512", hasAVX512, 8, tileQ6_K8AVX512)
}

func testTileQ6_K(t *testing.T, path string, ok bool, minN int, tile packTileFunc) {
	if !ok {
		t.Skipf("this CPU cannot run the %s tile", path)
	}
	r := rand.New(rand.NewPCG(83, 84))
	const P = packRowsK
	for _, nb := range []int{1, 2, 3, 5, 7} {
		cols := nb * 256
		rb, ab := nb*210, nb*292
		for _, n := range []int{4, 7, 8, 9, 13, 16, 37} {
			if n < minN {
				continue
			}
			for _, extreme := range []bool{false, true} {
				w := randomBlocks(r, quant.Q6_K, P*cols)
				a := randomMatMulActivation(r, quant.Q8_K, n*cols)
				if extreme {
					extremeQ6_K(r, w, a)
				}
				p := make([]byte, len(w))
				Pack(quant.Q6_K, p, w, P, cols)
				ldo := P + 3
				out := make([]float32, (n-1)*ldo+P)
				tile(nb, &p[0], &a[0], ab, n, &out[0], ldo)
				for j := range n {
					for row := range P {
						want := dotQ6_K(cols, w[row*rb:(row+1)*rb], a[j*ab:(j+1)*ab])
						if got := out[j*ldo+row]; math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("%s nb=%d n=%d extreme=%v: out[%d][%d] = %g, dotQ6_K %g", path, nb, n, extreme, j, row, got, want)
						}
					}
				}
			}
		}
	}
}

// extremeQ6_K sets random blocks of Q6_K weights w and Q8_K activations a
// to the ends of their ranges: whole quads of values 0 or 63 (-32 or 31),
// scales -128, 127 or random, activation quants -127 or 127 by 16.
func extremeQ6_K(r *rand.Rand, w, a []byte) {
	for o := 0; o < len(w); o += 210 {
		for i := range 192 { // ql and qh: all bits clear or set, by byte
			w[o+i] = []byte{0x00, 0xff}[r.IntN(2)]
		}
		for i := range 16 {
			w[o+192+i] = []byte{0x80, 0x7f, byte(r.Uint32())}[r.IntN(3)]
		}
	}
	for o := 0; o < len(a); o += 292 {
		for g := range 16 {
			q := []int8{-127, 127}[r.IntN(2)]
			var s int32
			for l := range 16 {
				a[o+4+16*g+l] = byte(q)
				s += int32(q)
			}
			putU16(a[o+260+2*g:], uint16(int16(s)))
		}
	}
}

// BenchmarkTileK8 compares the prompt tiles over one packed K-quant group
// (sixteen rows of 2048 values, 64 activation rows, in cache): the
// four-row tiles (four) and the eight-row ones of packk8_amd64.s (k8).
func BenchmarkTileK8(b *testing.B) {
	r := rand.New(rand.NewPCG(85, 86))
	const nb, n = 8, 64
	a := randomMatMulActivation(r, quant.Q8_K, n*nb*256)
	out := make([]float32, n*packRowsK)
	for _, c := range []struct {
		name string
		typ  quant.Type
		ok   bool
		tile packTileFunc
	}{
		{"Q4_K/avx512/four", quant.Q4_K, hasAVX512, tileQ4_KAVX512},
		{"Q4_K/avx512/k8", quant.Q4_K, hasAVX512, tileQ4_K8AVX512},
		{"Q6_K/avx512/four", quant.Q6_K, hasAVX512, tileQ6_KAVX512},
		{"Q6_K/avx512/k8", quant.Q6_K, hasAVX512, tileQ6_K8AVX512},
	} {
		if !c.ok {
			continue
		}
		w := randomBlocks(r, c.typ, packRowsK*nb*256)
		p := make([]byte, len(w))
		Pack(c.typ, p, w, packRowsK, nb*256)
		b.Run(c.name, func(b *testing.B) {
			benchCPU(b, len(p), 2*packRowsK*nb*256*n, func() {
				c.tile(nb, &p[0], &a[0], nb*292, n, &out[0], packRowsK)
			})
		})
	}
}
