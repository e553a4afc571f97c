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
	archs, _ := filepath.Glob(filepath.Join(testdata, "arch", "*", "*-F32.gguf"))
	paths = append(paths, archs...)
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
		v := dec.Config().Vocab
		var want []float32
		for _, batch := range []int{64, 1, 5, 7} {
			got := make([]float32, len(ids)*v)
			forward(t, dec, pool, batch, 64, nn.Seq{Tokens: ids, Logits: got, All: true})
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
		// Several sequences in one pass (a server's continuous batching):
		// each sequence's logits are those it has alone.
		got := make([]float32, 3*len(ids)*v)
		forward(t, dec, pool, 16, 64,
			nn.Seq{Tokens: ids[:7], Logits: got[:7*v], All: true},
			nn.Seq{Tokens: ids, Logits: got[len(ids)*v : 2*len(ids)*v], All: true},
			nn.Seq{Tokens: ids[:12], Logits: got[2*len(ids)*v : 2*len(ids)*v+12*v], All: true})
		for k, n := range []int{7, len(ids), 12} {
			g := got[k*len(ids)*v : k*len(ids)*v+n*v]
			for i := range g {
				if math.Float32bits(g[i]) != math.Float32bits(want[i]) {
					t.Errorf("%s: sequence %d of a batch changes logit %d: %v vs %v", filepath.Base(path), k, i, g[i], want[i])
					break
				}
			}
		}
		f.Close()
	}
}

// forward runs seqs (their caches made here) through dec in passes of
// batch tokens over caches of ctx positions.
func forward(t *testing.T, dec nn.Decoder, pool *parallel.Pool, batch, ctx int, seqs ...nn.Seq) []*nn.Cache {
	return forwardKV(t, dec, pool, batch, ctx, nn.CacheOptions{}, seqs...)
}

// forwardKV is forward with caches of o's types.
func forwardKV(t *testing.T, dec nn.Decoder, pool *parallel.Pool, batch, ctx int, o nn.CacheOptions, seqs ...nn.Seq) []*nn.Cache {
	t.Helper()
	ws, err := nn.NewWorkspace(dec.Dims(), batch, ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	var caches []*nn.Cache
	for i := range seqs {
		if seqs[i].Cache == nil {
			o.Batch = batch
			c, err := dec.NewCache(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			seqs[i].Cache = c
		}
		caches = append(caches, seqs[i].Cache)
	}
	if err := nn.Run(dec, ws, seqs); err != nil {
		t.Fatal(err)
	}
	return caches
}
