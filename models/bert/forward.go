package bert

import (
	"fmt"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/nn"
)

// ErrTooLong is wrapped by Forward's error for a text longer than the
// model's context or a batch larger than the State (it is
// nn.ErrTooManyTokens).
var ErrTooLong = nn.ErrTooManyTokens

// State holds the activations of one encoder pass over up to MaxTokens
// tokens. It is not safe for concurrent use; several States may share one
// Model.
type State struct {
	m         *Model
	pool      *parallel.Pool
	maxTokens int
	mm        nn.Linear

	x       []float32 // maxTokens x dim: the residual stream (each block's normed output)
	xb      []float32 // maxTokens x dim: projection output / pre-norm sum
	q, k, v []float32 // maxTokens x dim
	att     []float32 // maxTokens x dim: attention output
	h       []float32 // maxTokens x ffn: feed-forward hidden layer
	act     []byte    // quantized activations
	tmp     []float32 // the classification head's hidden layer
	scratch *nn.EncoderAttnScratch
	pass    nn.EncoderPass
}

// MaxTokens returns the most tokens one Forward takes.
func (s *State) MaxTokens() int { return s.maxTokens }

// Forward runs the texts seqs (token ids, [CLS] and [SEP] included) through
// the encoder together and writes every token's final hidden state to out,
// text after text (Σ len(seqs[i]) x dim values). Each text attends only to
// its own tokens, at positions 0, 1, ...; token types are 0.
func (s *State) Forward(seqs [][]int, out []float32) error {
	c := &s.m.config
	p := &s.pass
	if err := p.Set(seqs, c.Vocab, c.ContextLength, s.maxTokens, c.Dim, out); err != nil {
		return fmt.Errorf("bert: %w", err)
	}
	if p.Total == 0 {
		return nil
	}
	if err := s.embed(seqs, p.Total); err != nil {
		return err
	}
	for li := range s.m.W.Layers {
		s.layer(&s.m.W.Layers[li], p.Total)
	}
	copy(out, s.x[:p.Total*c.Dim])
	return nil
}

// HeadOutputs returns the classification head's outputs for pooling rank
// (the head reads the [CLS] state), 0 for any other pooling.
func (s *State) HeadOutputs(p nn.Pooling) int {
	if p != nn.PoolRank || !s.m.W.Head.Present() {
		return 0
	}
	return s.m.W.Head.Outputs()
}

// Head runs n [CLS] states (x, n x dim) through the classification head into
// out (n x HeadOutputs(nn.PoolRank)): the raw scores, as llama.cpp returns
// them.
func (s *State) Head(p nn.Pooling, x []float32, n int, out []float32) error {
	k := s.HeadOutputs(p)
	if k == 0 {
		return fmt.Errorf("bert: no layers after pooling %v", p)
	}
	if len(x) < n*s.m.config.Dim || len(out) < n*k {
		return fmt.Errorf("bert: head of %d vectors: buffers of %d and %d values", n, len(x), len(out))
	}
	s.m.W.Head.Apply(&s.mm, x, n, out, &s.tmp, &s.act)
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
			if err := m.W.TokEmbd.Row(id, x[t*dim:(t+1)*dim]); err != nil {
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
		if m.type0 != nil {
			kernels.Add(row, row, m.type0)
		}
		kernels.Add(row, pos[i*dim:(i+1)*dim], row)
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

	s.mm.MatMul3(&l.Wq, &l.Wk, &l.Wv, x, total, q, k, v)
	nn.AddRows(q, l.bq)
	nn.AddRows(k, l.bk)
	nn.AddRows(v, l.bv)
	s.m.attn.Run(s.pool, &s.pass, q, dim, k, dim, v, dim, s.att, s.scratch)
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
