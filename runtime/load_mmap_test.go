package runtime_test

import (
	"context"
	"testing"

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
