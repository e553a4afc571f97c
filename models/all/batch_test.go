package all_test

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
)

// TestBatchInvariance: how a prompt is cut into batches must not change a
// single bit of the logits (so a cached prefix can be reused anywhere).
func TestBatchInvariance(t *testing.T) {
	paths := []string{testutil.Stories(t)}
	for _, n := range []string{"llama/tiny-llama-Q8_0", "llama/tiny-llama-Q4_K_M", "qwen2/tiny-qwen2-Q4_K_M"} {
		paths = append(paths, filepath.Join(testdata, n+".gguf"))
	}
	pool := parallel.New(2)
	defer pool.Close()
	ids := []int{1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337}
	for _, path := range paths {
		f, err := gguf.Open(path)
		if err != nil {
			t.Skipf("%v: %s", err, testutil.SharedHelp)
		}
		dec, err := nn.LoadDecoder(f)
		if err != nil {
			t.Fatal(err)
		}
		v := dec.Config.Vocab
		var want []float32
		for _, batch := range []int{64, 1, 5, 7} {
			st, err := dec.NewState(64, batch, pool)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, len(ids)*v)
			if err := st.Forward(ids, 0, got, true); err != nil {
				t.Fatal(err)
			}
			if want == nil {
				want = got
				continue
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Errorf("%s: batch %d changes logit %d: %v vs %v", filepath.Base(path), batch, i, got[i], want[i])
					break
				}
			}
		}
		f.Close()
	}
}
