package runtime_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/edgeai-go/edgeai/runtime"
)

// BenchmarkBatchDecode measures continuous batching's decode steps: n
// sequences generate together (greedy, end of text ignored, 64 positions
// each as tg64, then they start over), one Batch.Step per op. tok/s counts
// the tokens of all sequences; compare seqs=1 with seqs=8 for the gain of
// reading the weights once per step.
func BenchmarkBatchDecode(b *testing.B) {
	for _, n := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("seqs=%d", n), func(b *testing.B) {
			m := benchModel(b)
			bt, err := m.NewBatch(0)
			if err != nil {
				b.Fatal(err)
			}
			defer bt.Close()
			seqs := make([]*runtime.Sequence, n)
			for i := range seqs {
				if seqs[i], err = m.NewSequence(); err != nil {
					b.Fatal(err)
				}
			}
			tokens := 0
			ev := runtime.BatchEvents{Token: func(runtime.Token) bool { tokens++; return true }, Done: func(error) {}}
			startAll := func() {
				for i, q := range seqs {
					q.Reset()
					o := runtime.GenerateOptions{MaxTokens: 63, IgnoreEOS: true}
					if err := bt.Start(context.Background(), q, []int{1 + i}, o, ev); err != nil {
						b.Fatal(err)
					}
				}
			}
			startAll()
			for bt.Step() > 0 { // warm up
			}
			tokens = 0
			b.ReportAllocs()
			b.ResetTimer()
			start, cpu := time.Now(), processCPU()
			for range b.N {
				if bt.Len() == 0 {
					startAll()
				}
				bt.Step()
			}
			b.StopTimer()
			reportSpeed(b, tokens, start, cpu)
		})
	}
}

// BenchmarkPrompt8 is BenchmarkPrompt with 8 tokens: the arithmetic of a
// batch step of 8 sequences without their attention nor their 8 logits
// rows (a prompt computes the last position's only), the ceiling of
// BenchmarkBatchDecode/seqs=8.
func BenchmarkPrompt8(b *testing.B) {
	m := benchModel(b)
	s, err := m.NewSession()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	ids := []int{1, 2, 3, 4, 5, 6, 7, 8}
	if _, err := s.Eval(ctx, ids); err != nil { // warm up
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), processCPU()
	for range b.N {
		s.Reset()
		if _, err := s.Eval(ctx, ids); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportSpeed(b, b.N*len(ids), start, cpu)
}
