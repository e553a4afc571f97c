//go:build grammarbench

package grammar_test

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/grammar"
	"github.com/edgeai-go/edgeai/runtime/sample"
)

var (
	overheadModel = flag.String("overhead-model", "", "GGUF model whose decode step BenchmarkOverhead compares with (e.g. edgeai synth --shape tinyllama)")
	overheadVocab = flag.String("overhead-vocab", "llama-32k", "vocabulary of the masks: llama-32k, gpt2-50k or synth-152k (see benchVocab)")
)

// BenchmarkOverhead compares, in one loop, a decode step of a model (one
// token through the model at 1 thread, then sampling) with the grammar's
// work for one token (Mask, SampleMasked, Accept) on a vocabulary of the
// same size, over the tokens of realistic documents with a fresh Matcher per
// document. It reports both per token and their ratio, in wall time and in
// CPU time (the machine may be loaded: both slow down alike).
//
// It is behind the build tag grammarbench so that the package's test binary
// (and its fuzzers) do not link the whole runtime:
//
//	go test -tags grammarbench -run '^$' -bench Overhead ./runtime/grammar -args -overhead-model tinyllama-Q4_0.gguf -overhead-vocab llama-32k
func BenchmarkOverhead(b *testing.B) {
	if *overheadModel == "" {
		b.Skip("needs -overhead-model FILE.gguf (a real-shape synthetic model: edgeai synth)")
	}
	m, err := runtime.Load(context.Background(), *overheadModel, runtime.WithThreads(1))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	v := grammar.BenchVocab(b, *overheadVocab)
	vocab := m.Info().Vocab
	if v.Size() > vocab {
		b.Fatalf("the mask vocabulary has %d tokens, the model %d", v.Size(), vocab)
	}
	sess, err := m.NewSession()
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	for _, d := range grammar.BenchDocs {
		b.Run(d.Name, func(b *testing.B) {
			g, err := grammar.FromJSONSchema([]byte(d.Schema))
			if err != nil {
				b.Fatal(err)
			}
			ids := grammar.GreedyTokens(b, v, d.Doc)
			p := sample.DefaultParams()
			plain, _ := sample.New(p, vocab)
			masked, _ := sample.New(p, vocab)
			mask := make([]uint64, (vocab+63)/64)
			prompt := make([]int, 16)
			for i := range prompt {
				prompt[i] = 100 + i
			}
			var decWall, gramWall time.Duration
			var decCPU, gramCPU int64
			var history []int
			for b.Loop() {
				sess.Reset()
				logits, err := sess.Eval(context.Background(), prompt)
				if err != nil {
					b.Fatal(err)
				}
				mt, err := grammar.NewMatcher(g, v, grammar.Options{})
				if err != nil {
					b.Fatal(err)
				}
				history = append(history[:0], prompt...)
				for _, id := range ids {
					c0, t0 := grammar.CPUNow(), time.Now()
					if err := mt.Mask(mask); err != nil {
						b.Fatal(err)
					}
					masked.SampleMasked(logits, history, mask)
					if err := mt.Accept(id); err != nil {
						b.Fatal(err)
					}
					c1, t1 := grammar.CPUNow(), time.Now()
					plain.Sample(logits, history)
					next := 100 + id%1000 // any token: the cost does not depend on it
					if logits, err = sess.Eval(context.Background(), []int{next}); err != nil {
						b.Fatal(err)
					}
					c2, t2 := grammar.CPUNow(), time.Now()
					history = append(history, next)
					gramWall += t1.Sub(t0)
					decWall += t2.Sub(t1)
					gramCPU += c1 - c0
					decCPU += c2 - c1
				}
			}
			n := float64(b.N * len(ids))
			b.ReportMetric(float64(decWall.Nanoseconds())/n, "decode-ns/tok")
			b.ReportMetric(float64(gramWall.Nanoseconds())/n, "grammar-ns/tok")
			b.ReportMetric(100*float64(gramWall)/float64(decWall), "grammar-%")
			b.ReportMetric(100*float64(gramCPU)/float64(decCPU), "grammar-cpu-%")
		})
	}
}
