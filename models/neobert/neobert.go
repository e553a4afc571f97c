// Package neobert runs NeoBERT (general.architecture "neo-bert") on
// edgeai's kernels: a pre-norm encoder with RMSNorm, no position or token
// type embeddings, one fused QKV product (no bias) whose queries and keys
// are rotated with llama-style RoPE (adjacent pairs), a fused SwiGLU
// feed-forward network (ffn_up gives twice the hidden size: the first half
// through SiLU times the second), and a final RMSNorm (enc.output_norm).
// The arithmetic follows ggml-cpu as llama.cpp ec98e2002 runs the model.
package neobert

import (
	"errors"
	"fmt"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
)

func init() {
	nn.RegisterEncoder("neo-bert", func(f *gguf.File) (nn.Encoder, error) { return Load(f) })
}

// Weights are the model's tensors, bound by name.
type Weights struct {
	TokEmbd nn.Tensor `gguf:"token_embd.weight"`      // vocab x dim
	OutNorm nn.Tensor `gguf:"enc.output_norm.weight"` // dim
	Layers  []Layer

	Head nn.ClassifierHead
}

// Layer is one pre-norm block.
type Layer struct {
	AttnNorm nn.Tensor `gguf:"blk.%d.attn_norm.weight"`   // dim
	Wqkv     nn.Tensor `gguf:"blk.%d.attn_qkv.weight"`    // (dim+2·kvDim) x dim
	Wo       nn.Tensor `gguf:"blk.%d.attn_output.weight"` // dim x dim
	FFNNorm  nn.Tensor `gguf:"blk.%d.ffn_norm.weight"`    // dim
	Up       nn.Tensor `gguf:"blk.%d.ffn_up.weight"`      // 2·ffn x dim: SiLU half, linear half
	Down     nn.Tensor `gguf:"blk.%d.ffn_down.weight"`    // dim x ffn

	attnNorm, ffnNorm []float32
}

// Model is a loaded neo-bert encoder.
type Model struct {
	config  nn.EncoderConfig
	W       Weights
	kvHeads int
	rope    nn.Rope
	attn    nn.EncoderAttention
	outNorm []float32
}

// Config returns the model's hyperparameters.
func (m *Model) Config() nn.EncoderConfig { return m.config }

// Load reads the hyperparameters and binds the weights of a neo-bert model.
func Load(f *gguf.File) (*Model, error) {
	h := nn.NewHparams(f)
	m := &Model{config: nn.ReadEncoderConfig(h, f, "attention.layer_norm_rms_epsilon")}
	c := &m.config
	m.kvHeads = nn.ReadEncoderKVHeads(h, c.Heads)
	m.rope = nn.Rope{Dims: h.IntOr("rope.dimension_count", c.HeadDim, 2, nn.MaxDim), Base: h.FloatOr("rope.freq_base", 10000, 1e-3, 1e12),
		FreqScale: 1}
	if err := h.Err(); err != nil {
		return nil, fmt.Errorf("neobert: %w", err)
	}
	m.W.Layers = make([]Layer, c.Layers)
	if err := nn.BindModel(f, &m.W, m.W.Layers); err != nil {
		return nil, fmt.Errorf("neobert: %w", err)
	}
	if err := nn.Bind(f, &m.W.Head, 0); err != nil {
		return nil, fmt.Errorf("neobert: %w", err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("neobert: %w", err)
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
	if _, err := w.TokEmbd.Type.RowBytes(c.Dim); err != nil {
		ck.Add(fmt.Errorf("token_embd.weight: %w", err))
	}
	ck.Shape(&w.OutNorm, c.Dim)
	m.outNorm = ck.Floats(&w.OutNorm)
	kvDim := m.kvHeads * c.HeadDim
	matrix := func(t *nn.Tensor, cols, rows int) {
		ck.Shape(t, cols, rows)
		ck.Add(nn.CheckProduct(t))
	}
	for i := range w.Layers {
		l := &w.Layers[i]
		matrix(&l.Wqkv, c.Dim, c.Dim+2*kvDim)
		matrix(&l.Wo, c.Dim, c.Dim)
		matrix(&l.Up, c.Dim, 2*c.FFN)
		matrix(&l.Down, c.FFN, c.Dim)
		ck.Shape(&l.AttnNorm, c.Dim)
		ck.Shape(&l.FFNNorm, c.Dim)
		l.attnNorm, l.ffnNorm = ck.Floats(&l.AttnNorm), ck.Floats(&l.FFNNorm)
	}
	w.Head.Check(&ck, c.Dim)
	if c.Pooling == nn.PoolRank && !w.Head.Present() {
		ck.Add(errors.New("pooling_type 4 (rank) needs a classification head (cls.weight or cls.output.weight), the file has none"))
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
		return nil, fmt.Errorf("neobert: %d tokens per pass is too many", maxTokens)
	}
	if pool == nil {
		return nil, errors.New("neobert: NewState needs a worker pool")
	}
	n, qkv := maxTokens, c.Dim+2*m.kvHeads*c.HeadDim
	return &State{m: m, pool: pool, maxTokens: n, mm: nn.Linear{Pool: pool},
		x: make([]float32, n*c.Dim), xb: make([]float32, n*c.Dim), qkv: make([]float32, n*qkv),
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
	qkv     []float32
	att     []float32
	u, h    []float32
	act     []byte
	tmp     []float32
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
		return fmt.Errorf("neobert: %w", err)
	}
	n, dim, ffn := p.Total, c.Dim, c.FFN
	x, xb := s.x[:n*dim], s.xb[:n*dim]
	if err := nn.EmbedTokens(&m.W.TokEmbd, seqs, x); err != nil {
		return err
	}
	s.rope.Fill(&m.rope, p.Pos)
	kvDim := m.kvHeads * c.HeadDim
	qs := dim + 2*kvDim
	for li := range m.W.Layers {
		l := &m.W.Layers[li]
		nn.ForRows(s.pool, n, func(i int) {
			kernels.RMSNorm(xb[i*dim:(i+1)*dim], x[i*dim:(i+1)*dim], l.attnNorm, c.NormEps)
		})
		qkv := s.qkv[:n*qs]
		s.mm.MatMul(&l.Wqkv, xb, n, qkv, &s.act)
		nn.ForRows(s.pool, n, func(i int) {
			row := qkv[i*qs : (i+1)*qs]
			s.rope.Apply(&m.rope, row[:dim], c.Heads, c.HeadDim, i)
			s.rope.Apply(&m.rope, row[dim:dim+kvDim], m.kvHeads, c.HeadDim, i)
		})
		m.attn.Run(s.pool, p, qkv, qs, qkv[dim:], qs, qkv[dim+kvDim:], qs, s.att, s.scratch)
		s.mm.MatMul(&l.Wo, s.att[:n*dim], n, xb, &s.act)
		kernels.Add(x, xb, x)
		nn.ForRows(s.pool, n, func(i int) {
			kernels.RMSNorm(xb[i*dim:(i+1)*dim], x[i*dim:(i+1)*dim], l.ffnNorm, c.NormEps)
		})
		u, h := s.u[:n*2*ffn], s.h[:n*ffn]
		s.mm.MatMul(&l.Up, xb, n, u, &s.act)
		nn.ForRows(s.pool, n, func(i int) {
			ui := u[i*2*ffn : (i+1)*2*ffn]
			kernels.SwiGLU(h[i*ffn:(i+1)*ffn], ui[:ffn], ui[ffn:])
		})
		s.mm.MatMul(&l.Down, h, n, xb, &s.act)
		kernels.Add(x, xb, x)
	}
	nn.ForRows(s.pool, n, func(i int) {
		kernels.RMSNorm(out[i*dim:(i+1)*dim], x[i*dim:(i+1)*dim], m.outNorm, c.NormEps)
	})
	return nil
}

// HeadOutputs returns the classification head's outputs for pooling rank,
// 0 for any other pooling.
func (s *State) HeadOutputs(p nn.Pooling) int {
	if p != nn.PoolRank || !s.m.W.Head.Present() {
		return 0
	}
	return s.m.W.Head.Outputs()
}

// Head runs n first-token states through the classification head into out.
func (s *State) Head(p nn.Pooling, x []float32, n int, out []float32) error {
	k := s.HeadOutputs(p)
	if k == 0 {
		return fmt.Errorf("neobert: no layers after pooling %v", p)
	}
	if len(x) < n*s.m.config.Dim || len(out) < n*k {
		return fmt.Errorf("neobert: head of %d vectors: buffers of %d and %d values", n, len(x), len(out))
	}
	s.m.W.Head.Apply(&s.mm, x, n, out, &s.tmp, &s.act)
	return nil
}
