package runtime_test

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"
	"github.com/edgeai-go/edgeai/runtime"
)

// TestWithMmap loads the reference model mapped and copied and checks that
// both give bit-identical logits at every position, and that the default
// copies a model this small.
func TestWithMmap(t *testing.T) {
	ids := []int{1, 403, 407, 261, 378, 429, 270, 436}
	logits := map[string][]float32{}
	for _, tc := range []struct {
		name       string
		opts       []runtime.Option
		wantMapped bool
	}{
		{"mmap", []runtime.Option{runtime.WithMmap(true)}, true},
		{"no-mmap", []runtime.Option{runtime.WithMmap(false)}, false},
		{"default", nil, false},
	} {
		m := loadStories(t, append(tc.opts, runtime.WithThreads(2))...)
		if got := m.WeightsMapped(); got != tc.wantMapped {
			t.Errorf("%s: WeightsMapped = %v, want %v", tc.name, got, tc.wantMapped)
		}
		s, err := m.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		all, err := s.EvalAll(context.Background(), ids)
		if err != nil {
			t.Fatal(err)
		}
		logits[tc.name] = append([]float32(nil), all...)
		s.Close()
	}
	want := logits["mmap"]
	for name, got := range logits {
		if len(got) != len(want) {
			t.Fatalf("%s: %d logits, mmap gave %d", name, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: logit %d = %v, mmap gave %v", name, i, got[i], want[i])
			}
		}
	}
}

// TestPackedLoad loads Q4_0, Q5_0 and Q8_0 reference models mapped and copied
// (packed where the kernels in use pay for it, read and packed a few groups
// at a time) and checks bit-identical logits for a prompt and for decoded
// tokens, at 1 and 2 threads.
func TestPackedLoad(t *testing.T) {
	ids := []int{1, 403, 407, 261, 378, 429, 270, 436, 298, 315, 421}
	for _, name := range []string{"llama/tiny-llama-Q4_0", "llama/tiny-llama-Q5_0", "llama/tiny-llama-Q8_0", "qwen2/tiny-qwen2-Q8_0"} {
		path := testutil.Shared(t, "testdata/"+name+".gguf")
		var want []float32
		for _, tc := range []struct {
			mmap    bool
			threads int
		}{{true, 2}, {false, 1}, {false, 2}} {
			m, err := runtime.Load(context.Background(), path, runtime.WithMmap(tc.mmap), runtime.WithThreads(tc.threads), runtime.WithBatchSize(8))
			if err != nil {
				t.Fatal(err)
			}
			s, err := m.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			all, err := s.EvalAll(context.Background(), ids)
			if err != nil {
				t.Fatal(err)
			}
			got := append([]float32(nil), all...)
			for _, id := range ids[:3] { // decoding: the matrix-vector kernels
				l, err := s.EvalAll(context.Background(), []int{id})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, l...)
			}
			s.Close()
			m.Close()
			if want == nil {
				want = got
				continue
			}
			if len(got) != len(want) {
				t.Fatalf("%s: %d logits, mapped gave %d", name, len(got), len(want))
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s (mmap %v, %d threads): logit %d = %v, mapped gave %v", name, tc.mmap, tc.threads, i, got[i], want[i])
				}
			}
		}
	}
}

// cancelAfter is a context that is done from its n-th Err call on: it
// cancels a load in the middle of copying the weights, as SIGINT does.
type cancelAfter struct {
	context.Context
	n int
}

func (c *cancelAfter) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}

// TestLoadCancelledWhileCopying interrupts the copy of the weights at each
// tensor in turn: Load returns the context's error, never a model.
func TestLoadCancelledWhileCopying(t *testing.T) {
	path := testutil.Stories(t)
	for n := 1; n < 12; n++ {
		m, err := runtime.Load(&cancelAfter{context.Background(), n}, path, runtime.WithMmap(false))
		if err == nil {
			m.Close()
			continue // the copy finished before the n-th check
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled after %d checks: %v, want context.Canceled", n, err)
		}
	}
	m, err := runtime.Load(&cancelAfter{context.Background(), 3}, path, runtime.WithMmap(false))
	if err == nil {
		m.Close()
		t.Fatal("a load cancelled at its third check succeeded")
	}
}
