package quantize_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/edgeai-go/edgeai/models/quantize"
	"github.com/edgeai-go/edgeai/models/synth"
	"github.com/edgeai-go/edgeai/quant"
)

// Write a random model as Q4_K_M: a two-layer cut of SmolLM2-135M, whose
// 576-wide rows cannot hold K-quant blocks, so most tensors fall back to Q5_0.
func ExampleWriteFile() {
	dir, _ := os.MkdirTemp("", "quantize")
	defer os.RemoveAll(dir)
	shape := synth.SmolLM2_135M
	shape.Layers, shape.Vocab = 2, 1000
	src, _ := synth.New(shape, 1)
	rep, err := quantize.WriteFile(context.Background(), src, filepath.Join(dir, "smollm2-Q4_K_M.gguf"),
		quantize.Options{Type: quantize.Q4_K_M})
	if err != nil {
		fmt.Println(err)
		return
	}
	n := map[quant.Type]int{}
	for _, c := range rep.Tensors {
		n[c.To]++
	}
	fmt.Printf("%d tensors: Q4_K %d, Q5_0 %d, Q6_K %d, Q8_0 %d, F32 %d; %d fallbacks\n",
		len(rep.Tensors), n[quant.Q4_K], n[quant.Q5_0], n[quant.Q6_K], n[quant.Q8_0], n[quant.F32], rep.Fallbacks)
	// Output: 20 tensors: Q4_K 1, Q5_0 11, Q6_K 1, Q8_0 2, F32 5; 12 fallbacks
}

// Plan shows the types without converting anything: here the 576-wide
// tensors of a small model fall back from Q4_K to Q5_0.
func ExamplePlan() {
	tensors := []quantize.Tensor{
		{Name: "token_embd.weight", Type: quant.F16, Shape: []int64{576, 49152}},
		{Name: "blk.0.attn_q.weight", Type: quant.F16, Shape: []int64{576, 576}},
		{Name: "blk.0.ffn_down.weight", Type: quant.F16, Shape: []int64{1536, 576}},
		{Name: "blk.0.attn_norm.weight", Type: quant.F32, Shape: []int64{576}},
	}
	plan, err := quantize.Plan(quantize.Hparams{Arch: "llama", Layers: 30, Heads: 9, KVHeads: 3}, tensors,
		quantize.Options{Type: quantize.Q4_K_M})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range plan {
		fmt.Printf("%-22s %v -> %v fallback=%v\n", c.Name, c.Type, c.To, c.Fallback)
	}
	// Output:
	// token_embd.weight      F16 -> Q8_0 fallback=false
	// blk.0.attn_norm.weight F32 -> F32 fallback=false
	// blk.0.attn_q.weight    F16 -> Q5_0 fallback=true
	// blk.0.ffn_down.weight  F16 -> Q6_K fallback=false
}
