//go:build purego || !amd64

package kernels

import "github.com/edgeai-go/edgeai/quant"

// packScratch bounds the bytes of a group packed on the fly: none here.
const packScratch = 0

// matMulPackOnTheFly does nothing where no path multiplies packed weights
// by prompts faster than the file's layout.
func matMulPackOnTheFly(t quant.Type, pt packTileFunc, w []byte, cols, rb, ab, rowLo, rowHi int, a []byte, n int, out []float32, ldo int) int {
	return rowLo
}
