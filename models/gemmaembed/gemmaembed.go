// Package gemmaembed runs EmbeddingGemma (general.architecture
// "gemma-embedding") on edgeai's kernels: Gemma 3 blocks made
// bidirectional. The token embeddings are scaled by √dim; each block is
// pre- and post-normed with RMSNorm (norm weights used as stored: the
// converter folds Gemma's +1 in), queries and keys get a per-head RMSNorm
// and NEOX RoPE, the queries are scaled by 1/√key_length, several query
// heads share a KV head; five layers in six attend within a symmetric
// sliding window (key j is seen from query i when |i-j| <= window/2, rope
// base 10000), the sixth to every token (rope base {arch}.rope.freq_base);
// the feed-forward network is GELU-gated. After a final RMSNorm and the
// pooling, two dense projections (dense_2, dense_3, no bias, no
// activation) give the embedding; llama.cpp applies them to every token's
// state too when the pooling is none, and so does Head.
//
// EmbeddingGemma expects task prompts: "task: search result | query: "
// before a query, "title: none | text: " before a document.
package gemmaembed

import (
	"errors"
	"fmt"
	"math"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
)

func init() {
	nn.RegisterEncoder("gemma-embedding", func(f *gguf.File) (nn.Encoder, error) { return Load(f) })
}

// swaPattern: layer il is a sliding-window layer unless il%swaPattern is
// swaPattern-1 (llama.cpp's set_swa_pattern(6) for this architecture).
const swaPattern = 6

// swaRopeBase is the rope base of the sliding-window layers (llama.cpp's
// rope_freq_base_train_swa, not a GGUF key).
const swaRopeBase = 10000

// Weights are the model's tensors, bound by name.
type Weights struct {
	TokEmbd nn.Tensor  `gguf:"token_embd.weight"`       // vocab x dim
	OutNorm nn.Tensor  `gguf:"output_norm.weight"`      // dim
	Dense2  *nn.Tensor `gguf:"dense_2.weight,optional"` // d2 x dim
	Dense3  *nn.Tensor `gguf:"dense_3.weight,optional"` // dim x d2
	Layers  []Layer
}

// Layer is one block.
type Layer struct {
	AttnNorm     nn.Tensor `gguf:"blk.%d.attn_norm.weight"`           // dim
	Wq           nn.Tensor `gguf:"blk.%d.attn_q.weight"`              // heads·headDim x dim
	Wk           nn.Tensor `gguf:"blk.%d.attn_k.weight"`              // kvHeads·headDim x dim
	Wv           nn.Tensor `gguf:"blk.%d.attn_v.weight"`              // kvHeads·valueDim x dim
	QNorm        nn.Tensor `gguf:"blk.%d.attn_q_norm.weight"`         // headDim
	KNorm        nn.Tensor `gguf:"blk.%d.attn_k_norm.weight"`         // headDim
	Wo           nn.Tensor `gguf:"blk.%d.attn_output.weight"`         // dim x heads·valueDim
	PostAttnNorm nn.Tensor `gguf:"blk.%d.post_attention_norm.weight"` // dim
	FFNNorm      nn.Tensor `gguf:"blk.%d.ffn_norm.weight"`            // dim
	Gate         nn.Tensor `gguf:"blk.%d.ffn_gate.weight"`            // ffn x dim
	Up           nn.Tensor `gguf:"blk.%d.ffn_up.weight"`              // ffn x dim
	Down         nn.Tensor `gguf:"blk.%d.ffn_down.weight"`            // dim x ffn
	PostFFNNorm  nn.Tensor `gguf:"blk.%d.post_ffw_norm.weight"`       // dim

	attnNorm, qNorm, kNorm, postAttnNorm, ffnNorm, postFFNNorm []float32
	attn                                                       nn.EncoderAttention
	rope                                                       int // 0: the global rope, 1: the sliding-window one
}

// Config holds the hyperparameters beyond nn.EncoderConfig.
type Config struct {
	nn.EncoderConfig
	KVHeads  int // attention.head_count_kv
	KeyDim   int // attention.key_length
	ValueDim int // attention.value_length
	Window   int // attention.sliding_window (its half is the symmetric reach)
}

// Model is a loaded EmbeddingGemma encoder.
type Model struct {
	cfg      Config
	W        Weights
	ropes    [2]nn.Rope
	outNorm  []float32
	qScale   float32
	embScale float32
}

// Config returns the model's hyperparameters.
func (m *Model) Config() nn.EncoderConfig { return m.cfg.EncoderConfig }

// Load reads the hyperparameters and binds the weights of an
// EmbeddingGemma model.
func Load(f *gguf.File) (*Model, error) {
	h := nn.NewHparams(f)
	m := &Model{}
	c := &m.cfg
	c.EncoderConfig = nn.ReadEncoderConfig(h, f, "attention.layer_norm_rms_epsilon")
	c.Causal = false // bidirectional, whatever the file says (llama.cpp)
	c.KVHeads = nn.ReadEncoderKVHeads(h, c.Heads)
	c.KeyDim = h.IntOr("attention.key_length", c.HeadDim, 1, nn.MaxDim)
	c.ValueDim = h.IntOr("attention.value_length", c.KeyDim, 1, nn.MaxDim)
	c.HeadDim = c.KeyDim
	c.Window = h.Int("attention.sliding_window", 0, 1<<30)
	base := h.FloatOr("rope.freq_base", 10000, 1e-3, 1e12)
	d2in := h.IntOr("dense_2_feat_in", c.Dim, 1, nn.MaxDim)
	d3out := h.IntOr("dense_3_feat_out", c.Dim, 1, nn.MaxDim)
	h.Check(d2in == c.Dim && d3out == c.Dim, "%s and %s must equal %s %d", h.Key("dense_2_feat_in"), h.Key("dense_3_feat_out"), h.Key("embedding_length"), c.Dim)
	if err := h.Err(); err != nil {
		return nil, fmt.Errorf("gemmaembed: %w", err)
	}
	m.ropes[0] = nn.Rope{Dims: c.KeyDim, Base: base, FreqScale: 1, Neox: true}
	m.ropes[1] = nn.Rope{Dims: c.KeyDim, Base: swaRopeBase, FreqScale: 1, Neox: true}
	m.qScale = 1 / float32(math.Sqrt(float64(c.KeyDim)))
	m.embScale = float32(math.Sqrt(float64(float32(c.Dim))))
	m.W.Layers = make([]Layer, c.Layers)
	if err := nn.BindModel(f, &m.W, m.W.Layers); err != nil {
		return nil, fmt.Errorf("gemmaembed: %w", err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("gemmaembed: %w", err)
	}
	return m, nil
}

func (m *Model) check() error {
	c, w := &m.cfg, &m.W
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
	matrix := func(t *nn.Tensor, cols, rows int) {
		ck.Shape(t, cols, rows)
		ck.Add(nn.CheckProduct(t))
	}
	if (w.Dense2 == nil) != (w.Dense3 == nil) {
		ck.Add(errors.New("dense_2.weight and dense_3.weight come together"))
	}
	if w.Dense2 != nil && w.Dense3 != nil {
		if len(w.Dense2.Shape) != 2 || w.Dense2.Shape[1] < 1 || w.Dense2.Shape[1] > nn.MaxDim {
			ck.Add(fmt.Errorf("dense_2.weight has shape %v, want [%d n]", w.Dense2.Shape, c.Dim))
		} else {
			d2 := w.Dense2.Rows()
			matrix(w.Dense2, c.Dim, d2)
			matrix(w.Dense3, d2, c.Dim)
		}
	}
	qDim, kvDim, vDim := c.Heads*c.KeyDim, c.KVHeads*c.KeyDim, c.KVHeads*c.ValueDim
	for i := range w.Layers {
		l := &w.Layers[i]
		matrix(&l.Wq, c.Dim, qDim)
		matrix(&l.Wk, c.Dim, kvDim)
		matrix(&l.Wv, c.Dim, vDim)
		matrix(&l.Wo, c.Heads*c.ValueDim, c.Dim)
		matrix(&l.Gate, c.Dim, c.FFN)
		matrix(&l.Up, c.Dim, c.FFN)
		matrix(&l.Down, c.FFN, c.Dim)
		for _, t := range []*nn.Tensor{&l.AttnNorm, &l.PostAttnNorm, &l.FFNNorm, &l.PostFFNNorm} {
			ck.Shape(t, c.Dim)
		}
		ck.Shape(&l.QNorm, c.KeyDim)
		ck.Shape(&l.KNorm, c.KeyDim)
		l.attnNorm, l.postAttnNorm = ck.Floats(&l.AttnNorm), ck.Floats(&l.PostAttnNorm)
		l.ffnNorm, l.postFFNNorm = ck.Floats(&l.FFNNorm), ck.Floats(&l.PostFFNNorm)
		l.qNorm, l.kNorm = ck.Floats(&l.QNorm), ck.Floats(&l.KNorm)
		l.attn = nn.EncoderAttention{Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.KeyDim, ValueDim: c.ValueDim, Scale: 1}
		if i%swaPattern < swaPattern-1 {
			l.attn.Window = c.Window / 2
			l.rope = 1
		}
		ck.Add(l.attn.Check())
	}
	if c.Pooling == nn.PoolRank {
		ck.Add(errors.New("pooling_type 4 (rank): gemma-embedding has no classification head"))
	}
	ck.Add(m.ropes[0].Check(c.KeyDim))
	return ck.Err()
}

// NewState allocates the activations for passes of up to maxTokens tokens
// (<= 0: the context length), running on pool.
func (m *Model) NewState(maxTokens int, pool *parallel.Pool) (nn.EncoderState, error) {
	c := &m.cfg
	if maxTokens <= 0 {
		maxTokens = c.ContextLength
	}
	if maxTokens > 1<<20 {
		return nil, fmt.Errorf("gemmaembed: %d tokens per pass is too many", maxTokens)
	}
	if pool == nil {
		return nil, errors.New("gemmaembed: NewState needs a worker pool")
	}
	n := maxTokens
	s := &State{m: m, pool: pool, maxTokens: n, mm: nn.Linear{Pool: pool},
		x: make([]float32, n*c.Dim), xb: make([]float32, n*c.Dim),
		q: make([]float32, n*c.Heads*c.KeyDim), k: make([]float32, n*c.KVHeads*c.KeyDim), v: make([]float32, n*c.KVHeads*c.ValueDim),
		att: make([]float32, n*c.Heads*c.ValueDim), g: make([]float32, n*c.FFN), u: make([]float32, n*c.FFN)}
	if len(m.W.Layers) > 0 {
		s.scratch = nn.NewEncoderAttnScratch(&m.W.Layers[0].attn, n)
	}
	return s, nil
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
	g, u    []float32
	d2      []float32 // dense_2's output (Head)
	act     []byte
	ropes   [2]nn.RopeTables
	scratch *nn.EncoderAttnScratch
	pass    nn.EncoderPass
}

// MaxTokens returns the most tokens one Forward takes.
func (s *State) MaxTokens() int { return s.maxTokens }

// Forward runs the texts through the encoder together (each attends to
// itself only, at positions 0, 1, ...) and writes every token's final
// normed state (before the dense projections, see Head) to out, text after
// text.
func (s *State) Forward(seqs [][]int, out []float32) error {
	m, c := s.m, &s.m.cfg
	p := &s.pass
	if err := p.Set(seqs, c.Vocab, c.ContextLength, s.maxTokens, c.Dim, out); err != nil {
		return fmt.Errorf("gemmaembed: %w", err)
	}
	n, dim, ffn := p.Total, c.Dim, c.FFN
	qDim, kvDim, vDim := c.Heads*c.KeyDim, c.KVHeads*c.KeyDim, c.KVHeads*c.ValueDim
	x, xb := s.x[:n*dim], s.xb[:n*dim]
	if err := nn.EmbedTokens(&m.W.TokEmbd, seqs, x); err != nil {
		return err
	}
	nn.Scale(x, m.embScale)
	s.ropes[0].Fill(&m.ropes[0], p.Pos)
	s.ropes[1].Fill(&m.ropes[1], p.Pos)
	for li := range m.W.Layers {
		l := &m.W.Layers[li]
		rope, rt := &m.ropes[l.rope], &s.ropes[l.rope]
		q, k, v := s.q[:n*qDim], s.k[:n*kvDim], s.v[:n*vDim]
		att := s.att[:n*c.Heads*c.ValueDim]
		nn.ForRows(s.pool, n, func(i int) {
			kernels.RMSNorm(xb[i*dim:(i+1)*dim], x[i*dim:(i+1)*dim], l.attnNorm, c.NormEps)
		})
		s.mm.MatMul3(&l.Wq, &l.Wk, &l.Wv, xb, n, q, k, v)
		nn.ForRows(s.pool, n, func(i int) {
			qi, ki := q[i*qDim:(i+1)*qDim], k[i*kvDim:(i+1)*kvDim]
			nn.HeadNormRows(qi, l.qNorm, 1, c.Heads, c.NormEps)
			nn.HeadNormRows(ki, l.kNorm, 1, c.KVHeads, c.NormEps)
			rt.Apply(rope, qi, c.Heads, c.KeyDim, i)
			rt.Apply(rope, ki, c.KVHeads, c.KeyDim, i)
			nn.Scale(qi, m.qScale)
		})
		l.attn.Run(s.pool, p, q, qDim, k, kvDim, v, vDim, att, s.scratch)
		s.mm.MatMul(&l.Wo, att, n, xb, &s.act)
		nn.ForRows(s.pool, n, func(i int) {
			row := xb[i*dim : (i+1)*dim]
			kernels.RMSNorm(row, row, l.postAttnNorm, c.NormEps)
			kernels.Add(x[i*dim:(i+1)*dim], row, x[i*dim:(i+1)*dim])
			kernels.RMSNorm(row, x[i*dim:(i+1)*dim], l.ffnNorm, c.NormEps)
		})
		g, u := s.g[:n*ffn], s.u[:n*ffn]
		s.mm.MatMul2(&l.Gate, &l.Up, xb, n, g, u)
		nn.ForRows(s.pool, n, func(i int) {
			nn.GeGLURows(g[i*ffn:(i+1)*ffn], u[i*ffn:(i+1)*ffn], 1, ffn)
		})
		s.mm.MatMul(&l.Down, g, n, xb, &s.act)
		nn.ForRows(s.pool, n, func(i int) {
			row := xb[i*dim : (i+1)*dim]
			kernels.RMSNorm(row, row, l.postFFNNorm, c.NormEps)
			kernels.Add(x[i*dim:(i+1)*dim], row, x[i*dim:(i+1)*dim])
		})
	}
	nn.ForRows(s.pool, n, func(i int) {
		kernels.RMSNorm(out[i*dim:(i+1)*dim], x[i*dim:(i+1)*dim], m.outNorm, c.NormEps)
	})
	return nil
}

// HeadOutputs returns dim when the model has its dense projections (for
// every pooling, none included: llama.cpp applies them to the token
// states then), else 0.
func (s *State) HeadOutputs(p nn.Pooling) int {
	if s.m.W.Dense2 == nil || p == nn.PoolRank {
		return 0
	}
	return s.m.cfg.Dim
}

// Head runs n vectors (pooled, or token states) through dense_2 then
// dense_3 into out (n x dim).
func (s *State) Head(p nn.Pooling, x []float32, n int, out []float32) error {
	dim := s.m.cfg.Dim
	if s.HeadOutputs(p) == 0 {
		return fmt.Errorf("gemmaembed: no layers after pooling %v", p)
	}
	if len(x) < n*dim || len(out) < n*dim {
		return fmt.Errorf("gemmaembed: head of %d vectors: buffers of %d and %d values", n, len(x), len(out))
	}
	d2 := s.m.W.Dense2.Rows()
	if cap(s.d2) < n*d2 {
		s.d2 = make([]float32, n*d2)
	}
	h := s.d2[:n*d2]
	s.mm.MatMul(s.m.W.Dense2, x, n, h, &s.act)
	s.mm.MatMul(s.m.W.Dense3, h, n, out[:n*dim], &s.act)
	return nil
}
