package bert

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/edgeai-go/edgeai/internal/parallel"
)

// BenchmarkEncode measures encoder throughput on the reference models:
// sentences per second for batches of 1, 8 and 32 texts of 128 tokens each
// ([CLS], 126 random word pieces, [SEP]), all texts of a batch in one pass,
// on GOMAXPROCS threads.
func BenchmarkEncode(b *testing.B) {
	for _, typ := range []string{"F32", "Q8_0"} {
		r := loadRef(b, typ)
		_, m := openModel(b, r.path)
		for _, batch := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("%s/batch=%d/seq=128", typ, batch), func(b *testing.B) {
				benchEncode(b, m, batch, 128)
			})
		}
	}
}

func benchEncode(b *testing.B, m *Model, batch, seqLen int) {
	rng := rand.New(rand.NewPCG(1, 2))
	seqs := make([][]int, batch)
	for i := range seqs {
		s := make([]int, seqLen)
		s[0], s[seqLen-1] = 101, 102
		for j := 1; j < seqLen-1; j++ {
			s[j] = 1000 + rng.IntN(m.config.Vocab-1000)
		}
		seqs[i] = s
	}
	pool := parallel.New(runtime.GOMAXPROCS(0))
	defer pool.Close()
	st, err := m.NewState(batch*seqLen, pool)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]float32, batch*seqLen*m.config.Dim)
	b.ResetTimer()
	for b.Loop() {
		if err := st.Forward(seqs, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "sent/s")
	b.ReportMetric(float64(batch*seqLen*b.N)/b.Elapsed().Seconds(), "tok/s")
}
