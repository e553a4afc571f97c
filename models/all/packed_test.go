package all_test

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
)

// TestPackedWeights: a decoder whose matrices were copied and packed
// (nn.Tensor.Pack, what runtime.Load does where the kernels have packed kernels) gives the same bits
// as the file's layout, which TestReferenceLogits checks against
// llama.cpp: prompts in batches of 8 (the prompt kernels) and decoding one
// token at a time (the matrix-vector kernels), at 1 and 2 threads. Where
// the kernels have no packed layout, the tensors are packed anyway and the
// generic packed code runs.
func TestPackedWeights(t *testing.T) {
	ids := []int{1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337}
	for _, name := range []string{"llama/tiny-llama-Q4_0", "llama/tiny-llama-Q5_0", "llama/tiny-llama-Q8_0", "qwen2/tiny-qwen2-Q8_0",
		"llama/tiny-llama-Q4_K_M", "llama/tiny-llama-Q5_K_M", "llama/tiny-llama-Q6_K", "qwen2/tiny-qwen2-Q4_K_M"} {
		path := filepath.Join(testdata, name+".gguf")
		f, err := gguf.Open(path)
		if err != nil {
			t.Skipf("%v: %s", err, testutil.SharedHelp)
		}
		logits := func(pack bool, threads int) []float32 {
			dec, err := nn.LoadDecoder(f)
			if err != nil {
				t.Fatal(err)
			}
			packed := 0
			if pack {
				packed = packMatrices(dec)
				if packed == 0 {
					t.Fatalf("%s: no matrix packed", name)
				}
			}
			pool := parallel.New(threads)
			defer pool.Close()
			v := dec.Config().Vocab
			out := make([]float32, (len(ids)+4)*v)
			ws, err := nn.NewWorkspace(dec.Dims(), 8, 64, pool)
			if err != nil {
				t.Fatal(err)
			}
			cache, err := dec.NewCache(64, nn.CacheOptions{Batch: 8})
			if err != nil {
				t.Fatal(err)
			}
			if err := nn.Run(dec, ws, []nn.Seq{{Cache: cache, Tokens: ids, Logits: out[:len(ids)*v], All: true}}); err != nil {
				t.Fatal(err)
			}
			for s := range 4 {
				if err := nn.Run(dec, ws, []nn.Seq{{Cache: cache, Tokens: []int{ids[s]}, Logits: out[(len(ids)+s)*v:][:v]}}); err != nil {
					t.Fatal(err)
				}
			}
			return out
		}
		want := logits(false, 2)
		for _, threads := range []int{1, 2} {
			got := logits(true, threads)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) || math.IsNaN(float64(got[i])) {
					t.Fatalf("%s, %d threads: packed logit %d = %v, file layout %v", name, threads, i, got[i], want[i])
				}
			}
		}
		f.Close()
	}
}

// packMatrices copies the decoder's product matrices out of the file's
// mapping and packs those of a packable type, as runtime.Load does (the
// token embeddings too when they are the LM head, as in tiny-qwen2: then
// the embedding rows are read from the packed layout); it returns how many
// it packed.
func packMatrices(dec nn.Decoder) int {
	n := 0
	w := dec.Weights()
	for _, t := range w.Matrices() {
		if !w.IsProduct(t) || kernels.PackGroup(t.Type) == 0 {
			continue
		}
		t.Data = append([]byte(nil), t.Data...)
		if kernels.PackPays(t.Type) {
			if !t.Pack() {
				panic("Pack refused a packable tensor")
			}
		} else {
			kernels.Pack(t.Type, t.Data, t.Data, t.Rows(), t.Cols())
			t.Packed = true
		}
		n++
	}
	return n
}
