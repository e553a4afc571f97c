package bert

import (
	"errors"
	"fmt"
	"math"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/nn"
)

// ErrTooLong is wrapped by Forward's error for a text longer than the
// model's context or a batch larger than the State.
var ErrTooLong = errors.New("bert: too many tokens")

// State holds the activations of one encoder pass over up to MaxTokens
// tokens. It is not safe for concurrent use; several States may share one
// Model.
type State struct {
	m         *Model
	pool      *parallel.Pool
	maxTokens int
	mm        nn.Linear

	x      []float32 // maxTokens x dim: the residual stream (each block's normed output)
	xb     []float32 // maxTokens x dim: projection output / pre-norm sum
	q      []float32 // maxTokens x dim
	k      []float32 // maxTokens x dim
	v      []float32 // maxTokens x dim
	vt     []float32 // maxTokens x dim: per text and head, V transposed (headDim x len)
	att    []float32 // maxTokens x dim: attention output
	h      []float32 // maxTokens x ffn: feed-forward hidden layer
	scores []float32 // heads x maxTokens: one attention row per (text, head)
	act    []byte    // quantized activations

	// The pass in progress: where each text starts and how long it is.
	off, n []int
}

// MaxTokens returns the most tokens one Forward takes.
func (s *State) MaxTokens() int { return s.maxTokens }

// Forward runs the texts seqs (token ids, [CLS] and [SEP] included) through
// the encoder together and writes every token's final hidden state to out,
// text after text (Σ len(seqs[i]) x dim values). Each text attends only to
// its own tokens, at positions 0, 1, ...; token types are 0.
func (s *State) Forward(seqs [][]int, out []float32) error {
	c := &s.m.config
	total := 0
	s.off, s.n = s.off[:0], s.n[:0]
	for i, seq := range seqs {
		if len(seq) == 0 {
			return fmt.Errorf("bert: text %d has no tokens", i)
		}
		if len(seq) > c.ContextLength {
			return fmt.Errorf("%w: text %d has %d tokens, the model's context is %d", ErrTooLong, i, len(seq), c.ContextLength)
		}
		for _, t := range seq {
			if t < 0 || t >= c.Vocab {
				return fmt.Errorf("bert: text %d: token id %d out of range [0,%d)", i, t, c.Vocab)
			}
		}
		s.off = append(s.off, total)
		s.n = append(s.n, len(seq))
		total += len(seq)
	}
	if total > s.maxTokens {
		return fmt.Errorf("%w: %d tokens in one pass, the state holds %d", ErrTooLong, total, s.maxTokens)
	}
	if len(out) < total*c.Dim {
		return fmt.Errorf("bert: output holds %d values, need %d", len(out), total*c.Dim)
	}
	if total == 0 {
		return nil
	}
	if err := s.embed(seqs, total); err != nil {
		return err
	}
	for li := range s.m.W.Layers {
		s.layer(&s.m.W.Layers[li], total)
	}
	copy(out, s.x[:total*c.Dim])
	return nil
}

// embed fills x with the normed sum of token, token-type-0 and position
// embeddings, summed in ggml's order: (token + type) + position.
func (s *State) embed(seqs [][]int, total int) error {
	m, dim := s.m, s.m.config.Dim
	x, pos := s.x[:total*dim], s.xb[:total*dim]
	t := 0
	for _, seq := range seqs {
		for p, id := range seq {
			row := x[t*dim : (t+1)*dim]
			if err := m.W.TokEmbd.Row(id, row); err != nil {
				return err
			}
			if err := m.W.PosEmbd.Row(p, pos[t*dim:(t+1)*dim]); err != nil {
				return err
			}
			t++
		}
	}
	s.rows(total, func(i int) {
		row := x[i*dim : (i+1)*dim]
		kernels.Add(row, row, m.type0)
		kernels.Add(row, row, pos[i*dim:(i+1)*dim])
		nn.LayerNorm(row, row, m.embNorm, m.embNormB, m.config.NormEps)
	})
	return nil
}

// layer runs one block over all tokens: attention, residual, LayerNorm,
// GELU feed-forward, residual, LayerNorm.
func (s *State) layer(l *Layer, total int) {
	c := &s.m.config
	dim := c.Dim
	x, xb := s.x[:total*dim], s.xb[:total*dim]
	q, k, v := s.q[:total*dim], s.k[:total*dim], s.v[:total*dim]

	s.mm.MatMul(&l.Wq, x, total, q, &s.act)
	s.mm.MatMul(&l.Wk, x, total, k, &s.act)
	s.mm.MatMul(&l.Wv, x, total, v, &s.act)
	addBias(q, l.bq)
	addBias(k, l.bk)
	addBias(v, l.bv)
	s.attention(total)
	s.mm.MatMul(&l.Wo, s.att[:total*dim], total, xb, &s.act)
	s.rows(total, func(i int) {
		row := xb[i*dim : (i+1)*dim]
		kernels.Add(row, row, l.bo)
		kernels.Add(row, row, x[i*dim:(i+1)*dim])
		nn.LayerNorm(x[i*dim:(i+1)*dim], row, l.attnNorm, l.attnNormB, c.NormEps)
	})

	h := s.h[:total*c.FFN]
	s.mm.MatMul(&l.Up, x, total, h, &s.act)
	s.rows(total, func(i int) {
		row := h[i*c.FFN : (i+1)*c.FFN]
		kernels.Add(row, row, l.upB)
		nn.GELU(row)
	})
	s.mm.MatMul(&l.Down, h, total, xb, &s.act)
	s.rows(total, func(i int) {
		row := xb[i*dim : (i+1)*dim]
		kernels.Add(row, row, l.downB)
		kernels.Add(row, row, x[i*dim:(i+1)*dim])
		nn.LayerNorm(x[i*dim:(i+1)*dim], row, l.outNorm, l.outNormB, c.NormEps)
	})
}

// rows calls fn for every token index in [0, n), split across the pool.
func (s *State) rows(n int, fn func(i int)) {
	s.pool.For(n, 8, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			fn(i)
		}
	})
}

func addBias(x, b []float32) {
	for i := 0; i < len(x); i += len(b) {
		kernels.Add(x[i:i+len(b)], x[i:i+len(b)], b)
	}
}

// attention computes multi-head attention of every text over its own
// tokens into att, one (text, head) pair per unit of work: scores
// q·k·scale, softmax (keys after the query masked out when the model is
// causal), then the values weighted by the probabilities, each output
// value a dot product with the head's transposed values.
func (s *State) attention(total int) {
	c := &s.m.config
	dim, hd, heads := c.Dim, c.HeadDim, c.Heads
	scale := 1 / float32(math.Sqrt(float64(hd))) // 1.0f/sqrtf(hd)
	s.pool.For(len(s.n)*heads, 1, func(lo, hi int) {
		for item := lo; item < hi; item++ {
			seq, h := item/heads, item%heads
			off, n := s.off[seq], s.n[seq]
			vt := s.vt[off*dim+h*hd*n : off*dim+(h+1)*hd*n]
			for t := 0; t < n; t++ {
				src := s.v[(off+t)*dim+h*hd : (off+t)*dim+(h+1)*hd]
				for d, val := range src {
					vt[d*n+t] = val
				}
			}
			scores := s.scores[h*total+off : h*total+off+n]
			for i := 0; i < n; i++ {
				q := s.q[(off+i)*dim+h*hd : (off+i)*dim+(h+1)*hd]
				keys := n
				if c.Causal {
					keys = i + 1
				}
				for j := 0; j < keys; j++ {
					scores[j] = kernels.Dot(q, s.k[(off+j)*dim+h*hd:(off+j)*dim+(h+1)*hd]) * scale
				}
				kernels.Softmax(scores[:keys])
				out := s.att[(off+i)*dim+h*hd : (off+i)*dim+(h+1)*hd]
				for d := range out {
					out[d] = kernels.Dot(vt[d*n:d*n+keys], scores[:keys])
				}
			}
		}
	})
}
