package exec

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/edgeai-go/edgeai/models/onnx"
)

// TestMaxPoolPaths compares the float32 max-pooling path (one output) with
// the general one (asked for indices too) over random geometries, padding
// as wide as the window included (the fuzzer found the fast path slicing
// out of range when a tap's left padding was wider than the output).
func TestMaxPoolPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 400 {
		h, w := 1+r.IntN(5), 1+r.IntN(9)
		kh, kw := 1+r.IntN(4), 1+r.IntN(30)
		pads := []int64{int64(r.IntN(kh)), int64(r.IntN(kw)), int64(r.IntN(kh)), int64(r.IntN(kw))}
		strides := []int64{int64(1 + r.IntN(3)), int64(1 + r.IntN(3))}
		if int64(h)+pads[0]+pads[2] < int64(kh) || int64(w)+pads[1]+pads[3] < int64(kw) {
			continue
		}
		x := make([]float32, h*w)
		for j := range x {
			x[j] = float32(r.IntN(100))
		}
		attrs := []*onnx.Attribute{aInts("kernel_shape", int64(kh), int64(kw)), aInts("pads", pads...), aInts("strides", strides...)}
		what := fmt.Sprintf("case %d: %dx%d, kernel %dx%d, pads %v, strides %v", i, h, w, kh, kw, pads, strides)
		fast, err := runOp(t, 12, "MaxPool", attrs, 1, f32s([]int{1, 1, h, w}, x...))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		slow, err := runOp(t, 12, "MaxPool", attrs, 2, f32s([]int{1, 1, h, w}, x...))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		// Outputs come in the node's order: slow[0] is Y, slow[1] the indices.
		if !slices.Equal(fast[0].Shape, slow[0].Shape) || !slices.Equal(fast[0].Data.([]float32), slow[0].Data.([]float32)) {
			t.Fatalf("%s: fast path %v %v, general %v %v", what, fast[0].Shape, fast[0].Data, slow[0].Shape, slow[0].Data)
		}
	}
}
