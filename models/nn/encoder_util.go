package nn

import (
	"github.com/edgeai-go/edgeai/internal/parallel"
)

// Helpers the encoder architectures share.

// ForRows calls fn for every row index in [0, n), split across pool in
// runs of a few rows.
func ForRows(pool *parallel.Pool, n int, fn func(i int)) {
	pool.For(n, 8, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			fn(i)
		}
	})
}

// EmbedTokens writes the rows of table (vocab x dim) for the tokens of
// seqs, one after the other, into x (Σ len(seqs[i]) x dim values).
func EmbedTokens(table *Tensor, seqs [][]int, x []float32) error {
	dim := table.Cols()
	t := 0
	for _, seq := range seqs {
		for _, id := range seq {
			if err := table.Row(id, x[t*dim:(t+1)*dim]); err != nil {
				return err
			}
			t++
		}
	}
	return nil
}

// ReadEncoderKVHeads reads {arch}.attention.head_count_kv (default: every
// head has its own) and checks that it divides the head count.
func ReadEncoderKVHeads(h *Hparams, heads int) int {
	kv := h.IntOr("attention.head_count_kv", heads, 1, MaxDim)
	h.Check(heads%max(kv, 1) == 0, "%s: %d KV heads do not divide %d heads", h.Key("attention.head_count_kv"), kv, heads)
	return kv
}
