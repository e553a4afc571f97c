package exec

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/edgeai-go/edgeai/models/onnx"
)

// TestOpArity runs every registered operator with every allowed number of
// inputs and outputs, over a few input shapes and types, at several
// opsets: each outcome must be a result or an ordinary error, never a
// recovered panic. (The fuzzer found LayerNormalization indexing a
// required input that the registry called optional; this sweep checks
// the whole registry for that class of bug.)
func TestOpArity(t *testing.T) {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	mk := map[string]func() *Tensor{
		"f2x3": func() *Tensor { return f32s([]int{2, 3}, 1, 2, 3, 4, 5, 6) },
		"f1":   func() *Tensor { return f32s([]int{1}, 1) },
		"f0":   func() *Tensor { return f32s([]int{}, 2) },
		"i2":   func() *Tensor { return &Tensor{Type: onnx.Int64, Shape: []int{2}, Data: []int64{1, 0}} },
		"f1x2x2x2": func() *Tensor {
			return f32s([]int{1, 2, 2, 2}, 1, 2, 3, 4, 5, 6, 7, 8)
		},
	}
	kinds := []string{"f2x3", "f1", "f0", "i2", "f1x2x2x2"}
	runs := 0
	for _, name := range names {
		spec := registry[name]
		maxIn := spec.maxIn
		if maxIn < 0 || maxIn > spec.minIn+4 {
			maxIn = spec.minIn + 4
		}
		maxOut := spec.maxOut
		if maxOut < 0 || maxOut > 3 {
			maxOut = 3
		}
		for nin := spec.minIn; nin <= maxIn; nin++ {
			for nout := 1; nout <= maxOut; nout++ {
				for _, opset := range []int64{7, 13, 21} {
					for ki, k := range kinds {
						in := make([]*Tensor, nin)
						for i := range in {
							// Mix kinds so later inputs differ from the first.
							in[i] = mk[kinds[(ki+i*(i%2))%len(kinds)]]()
						}
						_ = k
						err := runOpTimed(opset, name, nout, in)
						runs++
						if internalError(err) {
							t.Errorf("%s opset %d, %d inputs (%s), %d outputs: %v", name, opset, nin, k, nout, err)
						}
					}
				}
			}
		}
	}
	t.Logf("%d operators, %d runs", len(names), runs)
}

// runOpTimed is runOp without a testing.T, bounded in time.
func runOpTimed(opset int64, op string, nout int, in []*Tensor) error {
	return runOpTimedAttrs(opset, op, nout, in, nil)
}

// runOpTimedAttrs is runOpTimed with attributes.
func runOpTimedAttrs(opset int64, op string, nout int, in []*Tensor, attrs []*onnx.Attribute) error {
	e, err := New(oneNodeModel(opset, op, attrs, nout, in), Options{Threads: 1, MaxTensorBytes: 1 << 20})
	if err != nil {
		return err
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = e.Run(ctx, in)
	return err
}
