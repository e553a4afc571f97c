// Package jinabert2 runs jina-embeddings-v2 (general.architecture
// "jina-bert-v2") and its rerankers on edgeai's kernels: a post-norm BERT
// without position embeddings whose attention adds ALiBi biases (slopes
// from a maximum bias of 8, as llama.cpp hard-codes for this architecture)
// and whose feed-forward network is a GEGLU: ffn_up gives twice the hidden
// size, the first half through GELU times the second half. The arithmetic
// follows ggml-cpu as llama.cpp ec98e2002 runs the model.
package jinabert2

import (
	"errors"
	"fmt"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
)

func init() {
	nn.RegisterEncoder("jina-bert-v2", func(f *gguf.File) (nn.Encoder, error) { return Load(f) })
}

// maxALiBiBias is llama.cpp's f_max_alibi_bias for jina-bert-v2.
const maxALiBiBias = 8

// Weights are the model's tensors, bound by name.
type Weights struct {
	TokEmbd  nn.Tensor `gguf:"token_embd.weight"`      // vocab x dim
	TypeEmbd nn.Tensor `gguf:"token_types.weight"`     // types x dim (row 0 is used)
	EmbNorm  nn.Tensor `gguf:"token_embd_norm.weight"` // dim
	EmbNormB nn.Tensor `gguf:"token_embd_norm.bias"`   // dim
	Layers   []Layer

	Head nn.ClassifierHead // a reranker's (jina-reranker-v1)
}

// Layer is one post-norm block.
type Layer struct {
	Wq        nn.Tensor `gguf:"blk.%d.attn_q.weight"`            // dim x dim
	Bq        nn.Tensor `gguf:"blk.%d.attn_q.bias"`              // dim
	Wk        nn.Tensor `gguf:"blk.%d.attn_k.weight"`            // kvDim x dim
	Bk        nn.Tensor `gguf:"blk.%d.attn_k.bias"`              // kvDim
	Wv        nn.Tensor `gguf:"blk.%d.attn_v.weight"`            // kvDim x dim
	Bv        nn.Tensor `gguf:"blk.%d.attn_v.bias"`              // kvDim
	Wo        nn.Tensor `gguf:"blk.%d.attn_output.weight"`       // dim x dim
	Bo        nn.Tensor `gguf:"blk.%d.attn_output.bias"`         // dim
	AttnNorm  nn.Tensor `gguf:"blk.%d.attn_output_norm.weight"`  // dim
	AttnNormB nn.Tensor `gguf:"blk.%d.attn_output_norm.bias"`    // dim
	Up        nn.Tensor `gguf:"blk.%d.ffn_up.weight"`            // 2·ffn x dim: GELU half, linear half
	Down      nn.Tensor `gguf:"blk.%d.ffn_down.weight"`          // dim x ffn
	DownB     nn.Tensor `gguf:"blk.%d.ffn_down.bias"`            // dim
	OutNorm   nn.Tensor `gguf:"blk.%d.layer_output_norm.weight"` // dim
	OutNormB  nn.Tensor `gguf:"blk.%d.layer_output_norm.bias"`   // dim

	// Variants llama.cpp also reads, refused here (no reference to check
	// them against): q/k LayerNorms, a second attention norm, a separate
	// gate.
	QNorm     *nn.Tensor `gguf:"blk.%d.attn_q_norm.weight,optional"`
	KNorm     *nn.Tensor `gguf:"blk.%d.attn_k_norm.weight,optional"`
	AttnNorm2 *nn.Tensor `gguf:"blk.%d.attn_norm_2.weight,optional"`
	Gate      *nn.Tensor `gguf:"blk.%d.ffn_gate.weight,optional"`

	bq, bk, bv, bo, downB, attnNorm, attnNormB, outNorm, outNormB []float32
}

// Model is a loaded jina-bert-v2 encoder.
type Model struct {
	config  nn.EncoderConfig
	W       Weights
	kvHeads int
	attn    nn.EncoderAttention

	type0, embNorm, embNormB []float32
}

// Config returns the model's hyperparameters.
func (m *Model) Config() nn.EncoderConfig { return m.config }

// Load reads the hyperparameters and binds the weights of a jina-bert-v2
// model.
func Load(f *gguf.File) (*Model, error) {
	h := nn.NewHparams(f)
	m := &Model{config: nn.ReadEncoderConfig(h, f, "attention.layer_norm_epsilon")}
	c := &m.config
	m.kvHeads = nn.ReadEncoderKVHeads(h, c.Heads)
	if err := h.Err(); err != nil {
		return nil, fmt.Errorf("jinabert2: %w", err)
	}
	m.W.Layers = make([]Layer, c.Layers)
	if err := nn.BindModel(f, &m.W, m.W.Layers); err != nil {
		return nil, fmt.Errorf("jinabert2: %w", err)
	}
	if err := nn.Bind(f, &m.W.Head, 0); err != nil {
		return nil, fmt.Errorf("jinabert2: %w", err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("jinabert2: %w", err)
	}
	return m, nil
}

func (m *Model) check() error {
	c, w := &m.config, &m.W
	if len(w.TokEmbd.Shape) != 2 || w.TokEmbd.Shape[0] != int64(c.Dim) {
		return fmt.Errorf("token_embd.weight has shape %v, want [%d vocab]", w.TokEmbd.Shape, c.Dim)
	}
	c.Vocab = w.TokEmbd.Rows()
	if len(w.TypeEmbd.Shape) != 2 || w.TypeEmbd.Shape[0] != int64(c.Dim) {
		return fmt.Errorf("token_types.weight has shape %v, want [%d types]", w.TypeEmbd.Shape, c.Dim)
	}
	c.TokenTypes = w.TypeEmbd.Rows()
	var ck nn.Checker
	m.type0 = make([]float32, c.Dim)
	ck.Add(w.TypeEmbd.Row(0, m.type0))
	if _, err := w.TokEmbd.Type.RowBytes(c.Dim); err != nil {
		ck.Add(fmt.Errorf("token_embd.weight: %w", err))
	}
	ck.Shape(&w.EmbNorm, c.Dim)
	ck.Shape(&w.EmbNormB, c.Dim)
	m.embNorm, m.embNormB = ck.Floats(&w.EmbNorm), ck.Floats(&w.EmbNormB)
	kvDim := m.kvHeads * c.HeadDim
	matrix := func(t *nn.Tensor, cols, rows int) {
		ck.Shape(t, cols, rows)
		ck.Add(nn.CheckProduct(t))
	}
	vec := func(t *nn.Tensor, n int) []float32 {
		ck.Shape(t, n)
		return ck.Floats(t)
	}
	for i := range w.Layers {
		l := &w.Layers[i]
		for _, t := range []*nn.Tensor{l.QNorm, l.KNorm, l.AttnNorm2, l.Gate} {
			if t != nil {
				ck.Add(fmt.Errorf("%s: this jina-bert-v2 variant is not supported", t.Name))
			}
		}
		matrix(&l.Wq, c.Dim, c.Dim)
		matrix(&l.Wk, c.Dim, kvDim)
		matrix(&l.Wv, c.Dim, kvDim)
		matrix(&l.Wo, c.Dim, c.Dim)
		matrix(&l.Up, c.Dim, 2*c.FFN)
		matrix(&l.Down, c.FFN, c.Dim)
		l.bq, l.bk, l.bv, l.bo = vec(&l.Bq, c.Dim), vec(&l.Bk, kvDim), vec(&l.Bv, kvDim), vec(&l.Bo, c.Dim)
		l.downB = vec(&l.DownB, c.Dim)
		l.attnNorm, l.attnNormB = vec(&l.AttnNorm, c.Dim), vec(&l.AttnNormB, c.Dim)
		l.outNorm, l.outNormB = vec(&l.OutNorm, c.Dim), vec(&l.OutNormB, c.Dim)
	}
	w.Head.Check(&ck, c.Dim)
	if c.Pooling == nn.PoolRank && !w.Head.Present() {
		ck.Add(errors.New("pooling_type 4 (rank) needs a classification head (cls.weight or cls.output.weight), the file has none"))
	}
	m.attn = nn.EncoderAttention{Heads: c.Heads, KVHeads: m.kvHeads, HeadDim: c.HeadDim, ValueDim: c.HeadDim,
		Scale: nn.DefaultScale(c.HeadDim), Causal: c.Causal, Slopes: nn.ALiBiSlopes(c.Heads, maxALiBiBias)}
	ck.Add(m.attn.Check())
	return ck.Err()
}

// NewState allocates the activations for passes of up to maxTokens tokens
// (<= 0: the context length), running on pool.
func (m *Model) NewState(maxTokens int, pool *parallel.Pool) (nn.EncoderState, error) {
	c := &m.config
	if maxTokens <= 0 {
		maxTokens = c.ContextLength
	}
	if maxTokens > 1<<20 {
		return nil, fmt.Errorf("jinabert2: %d tokens per pass is too many", maxTokens)
	}
	if pool == nil {
		return nil, errors.New("jinabert2: NewState needs a worker pool")
	}
	n, kvDim := maxTokens, m.kvHeads*c.HeadDim
	return &State{m: m, pool: pool, maxTokens: n, mm: nn.Linear{Pool: pool},
		x: make([]float32, n*c.Dim), xb: make([]float32, n*c.Dim),
		q: make([]float32, n*c.Dim), k: make([]float32, n*kvDim), v: make([]float32, n*kvDim),
		att: make([]float32, n*c.Dim), u: make([]float32, n*2*c.FFN), h: make([]float32, n*c.FFN),
		scratch: nn.NewEncoderAttnScratch(&m.attn, n)}, nil
}

// State holds the activations of passes of up to MaxTokens tokens; one per
// goroutine.
type State struct {
	m         *Model
	pool      *parallel.Pool
	maxTokens int
	mm        nn.Linear

	x, xb   []float32
	q, k, v []float32
	att     []float32
	u, h    []float32 // ffn_up's output (2·ffn per token), the GEGLU (ffn)
	act     []byte
	tmp     []float32
	scratch *nn.EncoderAttnScratch
	pass    nn.EncoderPass
}

// MaxTokens returns the most tokens one Forward takes.
func (s *State) MaxTokens() int { return s.maxTokens }

// Forward runs the texts through the encoder together (each attends to
// itself only) and writes every token's final state to out, text after
// text.
func (s *State) Forward(seqs [][]int, out []float32) error {
	m, c := s.m, &s.m.config
	p := &s.pass
	if err := p.Set(seqs, c.Vocab, c.ContextLength, s.maxTokens, c.Dim, out); err != nil {
		return fmt.Errorf("jinabert2: %w", err)
	}
	n, dim, ffn := p.Total, c.Dim, c.FFN
	kvDim := m.kvHeads * c.HeadDim
	x, xb := s.x[:n*dim], s.xb[:n*dim]
	if err := nn.EmbedTokens(&m.W.TokEmbd, seqs, x); err != nil {
		return err
	}
	nn.ForRows(s.pool, n, func(i int) {
		row := x[i*dim : (i+1)*dim]
		kernels.Add(row, row, m.type0)
		nn.LayerNorm(row, row, m.embNorm, m.embNormB, c.NormEps)
	})
	for li := range m.W.Layers {
		l := &m.W.Layers[li]
		q, k, v := s.q[:n*dim], s.k[:n*kvDim], s.v[:n*kvDim]
		s.mm.MatMul3(&l.Wq, &l.Wk, &l.Wv, x, n, q, k, v)
		nn.AddRows(q, l.bq)
		nn.AddRows(k, l.bk)
		nn.AddRows(v, l.bv)
		m.attn.Run(s.pool, p, q, dim, k, kvDim, v, kvDim, s.att, s.scratch)
		s.mm.MatMul(&l.Wo, s.att[:n*dim], n, xb, &s.act)
		nn.ForRows(s.pool, n, func(i int) {
			row := xb[i*dim : (i+1)*dim]
			kernels.Add(row, row, l.bo)
			kernels.Add(row, row, x[i*dim:(i+1)*dim])
			nn.LayerNorm(x[i*dim:(i+1)*dim], row, l.attnNorm, l.attnNormB, c.NormEps)
		})
		u, h := s.u[:n*2*ffn], s.h[:n*ffn]
		s.mm.MatMul(&l.Up, x, n, u, &s.act)
		nn.ForRows(s.pool, n, func(i int) {
			hi, ui := h[i*ffn:(i+1)*ffn], u[i*2*ffn:(i+1)*2*ffn]
			copy(hi, ui[:ffn])
			nn.GELU(hi)
			kernels.Mul(hi, hi, ui[ffn:])
		})
		s.mm.MatMul(&l.Down, h, n, xb, &s.act)
		nn.ForRows(s.pool, n, func(i int) {
			row := xb[i*dim : (i+1)*dim]
			kernels.Add(row, row, l.downB)
			kernels.Add(row, row, x[i*dim:(i+1)*dim])
			nn.LayerNorm(x[i*dim:(i+1)*dim], row, l.outNorm, l.outNormB, c.NormEps)
		})
	}
	copy(out, x)
	return nil
}

// HeadOutputs returns the classification head's outputs for pooling rank
// (the head reads the first token's state), 0 for any other pooling.
func (s *State) HeadOutputs(p nn.Pooling) int {
	if p != nn.PoolRank || !s.m.W.Head.Present() {
		return 0
	}
	return s.m.W.Head.Outputs()
}

// Head runs n first-token states through the classification head into out:
// the raw scores, as llama.cpp returns them.
func (s *State) Head(p nn.Pooling, x []float32, n int, out []float32) error {
	k := s.HeadOutputs(p)
	if k == 0 {
		return fmt.Errorf("jinabert2: no layers after pooling %v", p)
	}
	if len(x) < n*s.m.config.Dim || len(out) < n*k {
		return fmt.Errorf("jinabert2: head of %d vectors: buffers of %d and %d values", n, len(x), len(out))
	}
	s.m.W.Head.Apply(&s.mm, x, n, out, &s.tmp, &s.act)
	return nil
}
