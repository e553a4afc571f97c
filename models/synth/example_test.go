package synth_test

import (
	"fmt"

	"github.com/edgeai-go/edgeai/models/synth"
)

// A random model of TinyLlama-1.1B's shape: its tensors are generated on
// demand (write it with models/quantize).
func ExampleNew() {
	m, err := synth.New(synth.TinyLlama, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	ts := m.Tensors()
	fmt.Println(len(ts), "tensors,", synth.TinyLlama.Params(), "weights")
	fmt.Println(ts[0].Name, ts[0].Shape)
	row := make([]float32, ts[0].Shape[0])
	m.ReadRows(0, 7, 1, row) // row 7 of token_embd, the same every time
	// Output:
	// 201 tensors, 1100048384 weights
	// token_embd.weight [2048 32000]
}
