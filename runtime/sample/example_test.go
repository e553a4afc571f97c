package sample_test

import (
	"fmt"

	"github.com/edgeai-go/edgeai/runtime/sample"
)

func ExampleSampler_Sample() {
	p := sample.DefaultParams()
	p.Seed = 42
	s, err := sample.New(p, 5)
	if err != nil {
		panic(err)
	}
	logits := []float32{0.1, 2.5, 0.3, 2.4, -1}
	history := []int{1, 1, 1}
	// Greedy decoding is the zero Params.
	g, _ := sample.New(sample.Params{}, 5)
	fmt.Println(g.Sample(logits, history))
	// Sampling draws one of the likely tokens; the seed fixes which.
	id := s.Sample(logits, history)
	fmt.Println(id == 1 || id == 3)
	// Output:
	// 1
	// true
}
