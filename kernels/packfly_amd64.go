//go:build !purego

package kernels

import "github.com/edgeai-go/edgeai/quant"

// packScratch bounds the bytes of a group that matMulPackOnTheFly packs on
// the stack.
const packScratch = 48 << 10

// matMulPackOnTheFly computes MatMul's products for the whole groups of
// PackGroup(t) rows from rowLo on (within rowHi) by packing each group
// into a scratch on the stack and running the packed tile pt on it; it
// returns the first row it did not do.
func matMulPackOnTheFly(t quant.Type, pt packTileFunc, w []byte, cols, rb, ab, rowLo, rowHi int, a []byte, n int, out []float32, ldo int) int {
	var s [packScratch]byte
	P := PackGroup(t)
	g := s[:P*rb]
	nb := cols / layouts[t].bs
	r := rowLo
	for ; r+P <= rowHi; r += P {
		Pack(t, g, w[r*rb:(r+P)*rb], P, cols)
		for j := range n {
			clear(out[j*ldo+r : j*ldo+r+P])
		}
		// hide: pt is a func value, which the compiler must assume keeps
		// its arguments; the packed kernels only read the scratch
		pt(nb, hide(&g[0]), &a[0], ab, n, &out[r], ldo)
	}
	return r
}

// hide returns p, out of the compiler's sight (packfly_amd64.s).
//
//go:noescape
func hide(p *byte) *byte
