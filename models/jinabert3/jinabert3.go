// Package jinabert3 runs jina-embeddings-v3 (general.architecture
// "jina-bert-v3": XLM-RoBERTa with rotary positions) on edgeai's kernels,
// base weights only (the task LoRA adapters are not applied): a post-norm
// BERT without position embeddings whose attention takes one fused QKV
// product with a bias and rotates queries and keys (NEOX RoPE, base
// {arch}.rope.freq_base), and a GELU feed-forward network with biases. The
// arithmetic follows ggml-cpu as llama.cpp ec98e2002 runs the model.
package jinabert3

import (
	"errors"
	"fmt"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
)

func init() {
	nn.RegisterEncoder("jina-bert-v3", func(f *gguf.File) (nn.Encoder, error) { return Load(f) })
}

// Weights are the model's tensors, bound by name.
type Weights struct {
	TokEmbd  nn.Tensor  `gguf:"token_embd.weight"`           // vocab x dim
	TypeEmbd *nn.Tensor `gguf:"token_types.weight,optional"` // types x dim (row 0 is used)
	EmbNorm  nn.Tensor  `gguf:"token_embd_norm.weight"`      // dim
	EmbNormB nn.Tensor  `gguf:"token_embd_norm.bias"`        // dim
	Layers   []Layer
}

// Layer is one post-norm block.
type Layer struct {
	Wqkv      nn.Tensor  `gguf:"blk.%d.attn_qkv.weight"`           // (dim+2·kvDim) x dim: queries, keys, values
	Bqkv      *nn.Tensor `gguf:"blk.%d.attn_qkv.bias,optional"`    // dim+2·kvDim
	Wo        nn.Tensor  `gguf:"blk.%d.attn_output.weight"`        // dim x dim
	Bo        *nn.Tensor `gguf:"blk.%d.attn_output.bias,optional"` // dim
	AttnNorm  nn.Tensor  `gguf:"blk.%d.attn_output_norm.weight"`   // dim
	AttnNormB nn.Tensor  `gguf:"blk.%d.attn_output_norm.bias"`     // dim
	Up        nn.Tensor  `gguf:"blk.%d.ffn_up.weight"`             // ffn x dim
	UpB       *nn.Tensor `gguf:"blk.%d.ffn_up.bias,optional"`      // ffn
	Down      nn.Tensor  `gguf:"blk.%d.ffn_down.weight"`           // dim x ffn
	DownB     *nn.Tensor `gguf:"blk.%d.ffn_down.bias,optional"`    // dim
	OutNorm   nn.Tensor  `gguf:"blk.%d.layer_output_norm.weight"`  // dim
	OutNormB  nn.Tensor  `gguf:"blk.%d.layer_output_norm.bias"`    // dim

	bqkv, bo, upB, downB, attnNorm, attnNormB, outNorm, outNormB []float32
}

// Model is a loaded jina-bert-v3 encoder.
type Model struct {
	config  nn.EncoderConfig
	W       Weights
	kvHeads int
	rope    nn.Rope
	attn    nn.EncoderAttention

	type0, embNorm, embNormB []float32
}

// Config returns the model's hyperparameters.
func (m *Model) Config() nn.EncoderConfig { return m.config }

// Load reads the hyperparameters and binds the weights of a jina-bert-v3
// model.
func Load(f *gguf.File) (*Model, error) {
	h := nn.NewHparams(f)
	m := &Model{config: nn.ReadEncoderConfig(h, f, "attention.layer_norm_epsilon")}
	c := &m.config
	m.kvHeads = nn.ReadEncoderKVHeads(h, c.Heads)
	m.rope = nn.Rope{Dims: h.IntOr("rope.dimension_count", c.HeadDim, 2, nn.MaxDim), Base: h.FloatOr("rope.freq_base", 10000, 1e-3, 1e12),
		FreqScale: 1, Neox: true}
	if err := h.Err(); err != nil {
		return nil, fmt.Errorf("jinabert3: %w", err)
	}
	m.W.Layers = make([]Layer, c.Layers)
	if err := nn.BindModel(f, &m.W, m.W.Layers); err != nil {
		return nil, fmt.Errorf("jinabert3: %w", err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("jinabert3: %w", err)
	}
	return m, nil
}

func (m *Model) check() error {
	c, w := &m.config, &m.W
	if len(w.TokEmbd.Shape) != 2 || w.TokEmbd.Shape[0] != int64(c.Dim) {
		return fmt.Errorf("token_embd.weight has shape %v, want [%d vocab]", w.TokEmbd.Shape, c.Dim)
	}
	c.Vocab = w.TokEmbd.Rows()
	var ck nn.Checker
	if w.TypeEmbd != nil {
		if len(w.TypeEmbd.Shape) != 2 || w.TypeEmbd.Shape[0] != int64(c.Dim) {
			return fmt.Errorf("token_types.weight has shape %v, want [%d types]", w.TypeEmbd.Shape, c.Dim)
		}
		c.TokenTypes = w.TypeEmbd.Rows()
		m.type0 = make([]float32, c.Dim)
		ck.Add(w.TypeEmbd.Row(0, m.type0))
	}
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
	for i := range w.Layers {
		l := &w.Layers[i]
		matrix(&l.Wqkv, c.Dim, c.Dim+2*kvDim)
		matrix(&l.Wo, c.Dim, c.Dim)
		matrix(&l.Up, c.Dim, c.FFN)
		matrix(&l.Down, c.FFN, c.Dim)
		ck.Shape(l.Bqkv, c.Dim+2*kvDim)
		ck.Shape(l.Bo, c.Dim)
		ck.Shape(l.UpB, c.FFN)
		ck.Shape(l.DownB, c.Dim)
		l.bqkv, l.bo, l.upB, l.downB = ck.Floats(l.Bqkv), ck.Floats(l.Bo), ck.Floats(l.UpB), ck.Floats(l.DownB)
		for _, t := range []*nn.Tensor{&l.AttnNorm, &l.AttnNormB, &l.OutNorm, &l.OutNormB} {
			ck.Shape(t, c.Dim)
		}
		l.attnNorm, l.attnNormB = ck.Floats(&l.AttnNorm), ck.Floats(&l.AttnNormB)
		l.outNorm, l.outNormB = ck.Floats(&l.OutNorm), ck.Floats(&l.OutNormB)
	}
	if c.Pooling == nn.PoolRank {
		ck.Add(errors.New("pooling_type 4 (rank): jina-bert-v3 has no classification head"))
	}
	ck.Add(m.rope.Check(c.HeadDim))
	m.attn = nn.EncoderAttention{Heads: c.Heads, KVHeads: m.kvHeads, HeadDim: c.HeadDim, ValueDim: c.HeadDim,
		Scale: nn.DefaultScale(c.HeadDim), Causal: c.Causal}
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
		return nil, fmt.Errorf("jinabert3: %d tokens per pass is too many", maxTokens)
	}
	if pool == nil {
		return nil, errors.New("jinabert3: NewState needs a worker pool")
	}
	n, qkv := maxTokens, c.Dim+2*m.kvHeads*c.HeadDim
	return &State{m: m, pool: pool, maxTokens: n, mm: nn.Linear{Pool: pool},
		x: make([]float32, n*c.Dim), xb: make([]float32, n*c.Dim), qkv: make([]float32, n*qkv),
		att: make([]float32, n*c.Dim), h: make([]float32, n*c.FFN),
		scratch: nn.NewEncoderAttnScratch(&m.attn, n)}, nil
}

// State holds the activations of passes of up to MaxTokens tokens; one per
// goroutine.
type State struct {
	m         *Model
	pool      *parallel.Pool
	maxTokens int
	mm        nn.Linear

	x, xb   []float32 // residual stream, scratch
	qkv     []float32 // fused projection
	att     []float32
	h       []float32 // feed-forward hidden layer
	act     []byte
	rope    nn.RopeTables
	scratch *nn.EncoderAttnScratch
	pass    nn.EncoderPass
}

// MaxTokens returns the most tokens one Forward takes.
func (s *State) MaxTokens() int { return s.maxTokens }

// Forward runs the texts through the encoder together (each attends to
// itself only, at positions 0, 1, ...) and writes every token's final
// state to out, text after text.
func (s *State) Forward(seqs [][]int, out []float32) error {
	m, c := s.m, &s.m.config
	p := &s.pass
	if err := p.Set(seqs, c.Vocab, c.ContextLength, s.maxTokens, c.Dim, out); err != nil {
		return fmt.Errorf("jinabert3: %w", err)
	}
	n, dim := p.Total, c.Dim
	x, xb := s.x[:n*dim], s.xb[:n*dim]
	if err := nn.EmbedTokens(&m.W.TokEmbd, seqs, x); err != nil {
		return err
	}
	nn.ForRows(s.pool, n, func(i int) {
		row := x[i*dim : (i+1)*dim]
		if m.type0 != nil {
			kernels.Add(row, row, m.type0)
		}
		nn.LayerNorm(row, row, m.embNorm, m.embNormB, c.NormEps)
	})
	s.rope.Fill(&m.rope, p.Pos)
	kvDim := m.kvHeads * c.HeadDim
	qs := dim + 2*kvDim
	for li := range m.W.Layers {
		l := &m.W.Layers[li]
		qkv := s.qkv[:n*qs]
		s.mm.MatMul(&l.Wqkv, x, n, qkv, &s.act)
		nn.AddRows(qkv, l.bqkv)
		nn.ForRows(s.pool, n, func(i int) {
			row := qkv[i*qs : (i+1)*qs]
			s.rope.Apply(&m.rope, row[:dim], c.Heads, c.HeadDim, i)
			s.rope.Apply(&m.rope, row[dim:dim+kvDim], m.kvHeads, c.HeadDim, i)
		})
		m.attn.Run(s.pool, p, qkv, qs, qkv[dim:], qs, qkv[dim+kvDim:], qs, s.att, s.scratch)
		s.mm.MatMul(&l.Wo, s.att[:n*dim], n, xb, &s.act)
		nn.ForRows(s.pool, n, func(i int) {
			row := xb[i*dim : (i+1)*dim]
			if l.bo != nil {
				kernels.Add(row, row, l.bo)
			}
			kernels.Add(row, row, x[i*dim:(i+1)*dim])
			nn.LayerNorm(x[i*dim:(i+1)*dim], row, l.attnNorm, l.attnNormB, c.NormEps)
		})
		h := s.h[:n*c.FFN]
		s.mm.MatMul(&l.Up, x, n, h, &s.act)
		nn.ForRows(s.pool, n, func(i int) {
			row := h[i*c.FFN : (i+1)*c.FFN]
			if l.upB != nil {
				kernels.Add(row, row, l.upB)
			}
			nn.GELU(row)
		})
		s.mm.MatMul(&l.Down, h, n, xb, &s.act)
		nn.ForRows(s.pool, n, func(i int) {
			row := xb[i*dim : (i+1)*dim]
			if l.downB != nil {
				kernels.Add(row, row, l.downB)
			}
			kernels.Add(row, row, x[i*dim:(i+1)*dim])
			nn.LayerNorm(x[i*dim:(i+1)*dim], row, l.outNorm, l.outNormB, c.NormEps)
		})
	}
	copy(out, x)
	return nil
}
