package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestInterleave4 checks the B panel interleave against the generic one on
// awkward lengths and both flips.
func TestInterleave4(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 64, 100, 4095} {
		for _, flip := range []byte{0, 0x80} {
			rows := make([][]byte, 4)
			for i := range rows {
				rows[i] = make([]byte, n)
				for j := range rows[i] {
					rows[i][j] = byte(r.Uint32())
				}
			}
			got, want := make([]byte, 4*n), make([]byte, 4*n)
			interleave4(got, rows[0], rows[1], rows[2], rows[3], flip)
			interleave4Generic(want, rows[0], rows[1], rows[2], rows[3], flip)
			if !slices.Equal(got, want) {
				t.Fatalf("n=%d flip=%#x: differs", n, flip)
			}
		}
	}
}

// TestQGemm checks every tile implementation, with the packers, against a
// direct int32 product of the flipped operands, on awkward sizes.
func TestQGemm(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, g := range QGemmImpls() {
		for _, sz := range [][3]int{{1, 1, 1}, {3, 5, 7}, {8, 32, 4}, {9, 33, 13}, {17, 70, 64}, {8, 32, 577}, {2, 3, 1000}} {
			m, n, k := sz[0], sz[1], sz[2]
			for _, flips := range [][2]byte{{0, 0}, {0x80, 0}, {0, 0x80}, {0x80, 0x80}} {
				t.Run(fmt.Sprintf("%s/%dx%dx%d/flip%x,%x", g.Name(), m, n, k, flips[0], flips[1]), func(t *testing.T) {
					a := make([]byte, m*k)
					b := make([]byte, k*n)
					for i := range a {
						a[i] = byte(r.Uint32())
					}
					for i := range b {
						b[i] = byte(r.Uint32())
					}
					// The extremes, where saturating instructions would fail.
					for i := range min(len(a), 8) {
						a[i] = 0x7f ^ flips[0]
					}
					for i := range min(len(b), 8) {
						b[i] = 0xff ^ flips[1]
					}
					pa := make([]byte, g.PackedASize(m, k))
					asum := make([]int32, m)
					g.PackA(pa, a, k, m, k, flips[0], asum)
					// B given as is (PackB) and transposed (PackBT).
					bt := make([]byte, n*k)
					for p := range k {
						for j := range n {
							bt[j*k+p] = b[p*n+j]
						}
					}
					for _, trans := range []bool{false, true} {
						pb := make([]byte, g.PackedBSize(k, n))
						bsum := make([]int32, n)
						if trans {
							g.PackBT(pb, bt, k, k, 0, n, flips[1], bsum)
						} else {
							g.PackB(pb, b, n, k, 0, n, flips[1], bsum)
						}
						k4 := QK4(k)
						tile := make([]int32, g.MR()*g.NR())
						for i0 := 0; i0 < m; i0 += g.MR() {
							for j0 := 0; j0 < n; j0 += g.NR() {
								g.Tile(k4, pa[i0*k4:(i0+g.MR())*k4], pb[j0*k4:(j0+g.NR())*k4], tile)
								for i := i0; i < min(i0+g.MR(), m); i++ {
									for j := j0; j < min(j0+g.NR(), n); j++ {
										var want int32
										for p := range k {
											want += int32(int8(a[i*k+p]^flips[0])) * int32(b[p*n+j]^flips[1])
										}
										if got := tile[(i-i0)*g.NR()+j-j0]; got != want {
											t.Fatalf("trans %v: C[%d][%d] = %d, want %d", trans, i, j, got, want)
										}
									}
								}
							}
						}
						for j := range n {
							var want int32
							for p := range k {
								want += int32(b[p*n+j] ^ flips[1])
							}
							if bsum[j] != want {
								t.Fatalf("trans %v: column sum %d = %d, want %d", trans, j, bsum[j], want)
							}
						}
					}
					for i := range m {
						var want int32
						for p := range k {
							want += int32(int8(a[i*k+p] ^ flips[0]))
						}
						if asum[i] != want {
							t.Fatalf("row sum %d = %d, want %d", i, asum[i], want)
						}
					}
				})
			}
		}
	}
}

// BenchmarkQGemmTile measures each tile implementation on a depth of 576
// (a 3×3 convolution of 64 channels), reported as int8 multiply-adds per
// second.
func BenchmarkQGemmTile(b *testing.B) {
	const k = 576
	for _, g := range QGemmImpls() {
		b.Run(g.Name(), func(b *testing.B) {
			a := make([]byte, g.MR()*k)
			bb := make([]byte, g.NR()*k)
			for i := range a {
				a[i] = byte(i * 7)
			}
			for i := range bb {
				bb[i] = byte(i * 13)
			}
			c := make([]int32, g.MR()*g.NR())
			for b.Loop() {
				g.Tile(k, a, bb, c)
			}
			b.ReportMetric(float64(g.MR()*g.NR()*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}
