// Package gemma3 runs the gemma3 architecture (Gemma 3 270M-27B text):
// five sliding-window layers (rope base 10000, unscaled) for every global
// one (the file's rope base and linear scaling), RMS norms on every query
// and key head, pre- and post-norms around attention and the GELU-gated
// feed-forward network, the embeddings scaled by sqrt(embedding_length) and
// a tied LM head. The GGUF's norm weights already hold Gemma's 1 + w.
package gemma3

import (
	"fmt"
	"math"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
)

func init() { nn.RegisterDecoder("gemma3", func(f *gguf.File) (nn.Decoder, error) { return Load(f) }) }

// swaPattern is llama.cpp's set_swa_pattern(6) for gemma3: layer il slides
// when il % 6 < 5 (no GGUF key).
const swaPattern = 6

// Config is the model's hyperparameters: nn.Transformer's keys
// (gemma3.embedding_length, block_count, attention.head_count,
// head_count_kv, key_length, value_length, feed_forward_length,
// context_length, attention.layer_norm_rms_epsilon, rope.freq_base,
// rope.scaling.type/factor, attention.sliding_window) with NEOX RoPE.
type Config struct {
	nn.Transformer
	Sliding     []bool  // layers that attend within Window (none when attention.sliding_window is absent or 0)
	LocalRope   nn.Rope // the sliding-window layers' RoPE: base 10000, no scaling (llama.cpp's values for gemma3)
	QScale      float32 // queries are multiplied by it: 1/sqrt(head size), 1/sqrt(embedding/heads) for the 27B
	LogitCap    float32 // gemma3.final_logit_softcapping (default 0: none)
	EmbeddScale float32 // sqrtf(embedding_length)
}

// Weights are the model's tensors, bound by name.
type Weights struct {
	TokEmbd nn.Tensor  `gguf:"token_embd.weight"`      // vocab x dim, also the LM head
	OutNorm nn.Tensor  `gguf:"output_norm.weight"`     // dim
	Output  *nn.Tensor `gguf:"output.weight,optional"` // vocab x dim; nil when tied to TokEmbd (Gemma always is)
	Layers  []Layer
}

// Layer is one transformer block.
type Layer struct {
	AttnNorm nn.Tensor `gguf:"blk.%d.attn_norm.weight"`           // dim
	Wq       nn.Tensor `gguf:"blk.%d.attn_q.weight"`              // (heads·headDim) x dim
	Wk       nn.Tensor `gguf:"blk.%d.attn_k.weight"`              // (kvHeads·headDim) x dim
	Wv       nn.Tensor `gguf:"blk.%d.attn_v.weight"`              // (kvHeads·valueDim) x dim
	QNorm    nn.Tensor `gguf:"blk.%d.attn_q_norm.weight"`         // headDim
	KNorm    nn.Tensor `gguf:"blk.%d.attn_k_norm.weight"`         // headDim
	Wo       nn.Tensor `gguf:"blk.%d.attn_output.weight"`         // dim x (heads·valueDim)
	AttnPost nn.Tensor `gguf:"blk.%d.post_attention_norm.weight"` // dim
	FFNNorm  nn.Tensor `gguf:"blk.%d.ffn_norm.weight"`            // dim
	Gate     nn.Tensor `gguf:"blk.%d.ffn_gate.weight"`            // ffn x dim
	Up       nn.Tensor `gguf:"blk.%d.ffn_up.weight"`              // ffn x dim
	Down     nn.Tensor `gguf:"blk.%d.ffn_down.weight"`            // dim x ffn
	FFNPost  nn.Tensor `gguf:"blk.%d.post_ffw_norm.weight"`       // dim

	attnNorm, qNorm, kNorm, attnPost, ffnNorm, ffnPost []float32 // float views
	attn                                               nn.Attention
}

// Model is a loaded gemma3 model.
type Model struct {
	cfg     Config
	W       Weights
	outNorm []float32
	weights *nn.Weights
	windows []int // per layer: the window of sliding layers, 0 for global ones
}

// Load reads the hyperparameters and binds the weights of a gemma3 model.
func Load(f *gguf.File) (*Model, error) {
	h := nn.NewHparams(f)
	m := &Model{cfg: Config{Transformer: nn.ReadTransformer(h, f)}}
	c := &m.cfg
	c.Rope.Neox = true
	c.LogitCap = h.FloatOr("final_logit_softcapping", 0, 0, 1e6)
	c.LocalRope = nn.Rope{Dims: c.Rope.Dims, Base: 10000, FreqScale: 1, Neox: true}
	c.Sliding = make([]bool, c.Layers)
	for i := range c.Sliding {
		c.Sliding[i] = c.Window > 0 && i%swaPattern < swaPattern-1
	}
	c.QScale = nn.DefaultScale(c.HeadDim)
	if c.Layers == 62 { // the 27B: llama.cpp's (and gemma_pytorch's) query scale
		c.QScale = 1 / float32(math.Sqrt(float64(c.Dim/max(c.Heads, 1))))
	}
	c.EmbeddScale = float32(math.Sqrt(float64(c.Dim)))
	if err := h.Err(); err != nil {
		return nil, fmt.Errorf("gemma3: %w", err)
	}
	m.W.Layers = make([]Layer, c.Layers)
	if err := nn.BindModel(f, &m.W, m.W.Layers); err != nil {
		return nil, fmt.Errorf("gemma3: %w", err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("gemma3: %w", err)
	}
	m.weights = nn.NewWeights(f)
	m.weights.Add(m.W.Output == nil, &m.W.TokEmbd)
	m.weights.Add(true, m.W.Output)
	for i := range m.W.Layers {
		l := &m.W.Layers[i]
		m.weights.Add(true, &l.Wq, &l.Wk, &l.Wv, &l.Wo, &l.Gate, &l.Up, &l.Down)
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
	ck.Shape(&w.OutNorm, c.Dim)
	ck.Shape(w.Output, c.Dim, c.Vocab)
	qDim, oDim := c.Heads*c.HeadDim, c.Heads*c.ValueDim
	for i := range w.Layers {
		l := &w.Layers[i]
		ck.Shape(&l.AttnNorm, c.Dim)
		ck.Shape(&l.Wq, c.Dim, qDim)
		ck.Shape(&l.Wk, c.Dim, c.KVHeads[i]*c.HeadDim)
		ck.Shape(&l.Wv, c.Dim, c.KVHeads[i]*c.ValueDim)
		ck.Shape(&l.QNorm, c.HeadDim)
		ck.Shape(&l.KNorm, c.HeadDim)
		ck.Shape(&l.Wo, oDim, c.Dim)
		ck.Shape(&l.AttnPost, c.Dim)
		ck.Shape(&l.FFNNorm, c.Dim)
		ck.Shape(&l.Gate, c.Dim, c.FFN)
		ck.Shape(&l.Up, c.Dim, c.FFN)
		ck.Shape(&l.Down, c.FFN, c.Dim)
		ck.Shape(&l.FFNPost, c.Dim)
		l.attnNorm, l.qNorm, l.kNorm = ck.Floats(&l.AttnNorm), ck.Floats(&l.QNorm), ck.Floats(&l.KNorm)
		l.attnPost, l.ffnNorm, l.ffnPost = ck.Floats(&l.AttnPost), ck.Floats(&l.FFNNorm), ck.Floats(&l.FFNPost)
		l.attn = c.Attention(i)
		l.attn.Scale = 1 // the queries are scaled beforehand
		if c.Sliding[i] {
			l.attn.Window = c.Window
		}
		m.windows = append(m.windows, l.attn.Window)
		ck.Add(l.attn.Check())
	}
	m.outNorm = ck.Floats(&w.OutNorm)
	ck.Add(c.Rope.Check(c.HeadDim))
	return ck.Err()
}

// Config returns the hyperparameters every decoder has.
func (m *Model) Config() *nn.Config { return &m.cfg.Config }

// Dims returns the buffer sizes of a forward pass (two RoPE tables: local
// and global).
func (m *Model) Dims() nn.Dims { return m.cfg.Dims(2) }

// NewCache allocates a sequence's KV cache of ctxLen positions: the
// sliding-window layers keep a ring of their window.
func (m *Model) NewCache(ctxLen int, o nn.CacheOptions) (*nn.Cache, error) {
	return m.cfg.NewKVCache(ctxLen, o, m.windows)
}

// CacheBytes returns the memory of NewCache(ctxLen, o).
func (m *Model) CacheBytes(ctxLen int, o nn.CacheOptions) int64 {
	return m.cfg.KVCacheBytes(ctxLen, o, m.windows)
}

// Weights returns the model's weight matrices.
func (m *Model) Weights() *nn.Weights { return m.weights }

func (m *Model) output() *nn.Tensor {
	if m.W.Output != nil {
		return m.W.Output
	}
	return &m.W.TokEmbd
}

// Forward runs one pass: embeddings times sqrt(embedding_length), then per
// block RMSNorm, Q/K/V, the per-head Q and K norms, the layer's RoPE (local
// or global), the query scale, the KV cache, attention (within the window
// on sliding layers), the output projection, its post-norm and the
// residual, RMSNorm, the GELU-gated feed-forward network, its post-norm and
// the residual; then the final norm, the LM head and any soft-capping.
func (m *Model) Forward(ws *nn.Workspace, p *nn.Pass) error {
	c := &m.cfg
	n, dim := p.N, c.Dim
	x, xb := ws.X[:n*dim], ws.XB[:n*dim]
	for i, t := range p.Tokens {
		if err := m.W.TokEmbd.Row(t, x[i*dim:(i+1)*dim]); err != nil {
			return err
		}
	}
	nn.Scale(x, c.EmbeddScale)
	local, global := &ws.Ropes[0], &ws.Ropes[1]
	local.Fill(&c.LocalRope, p.Pos)
	global.Fill(&c.Rope, p.Pos)

	for li := range m.W.Layers {
		l := &m.W.Layers[li]
		kvh := l.attn.KVHeads
		q, k, v := ws.Q[:n*c.Heads*c.HeadDim], ws.K[:n*kvh*c.HeadDim], ws.V[:n*kvh*c.ValueDim]
		att := ws.Att[:n*c.Heads*c.ValueDim]
		rope, r := global, &c.Rope
		if c.Sliding[li] {
			rope, r = local, &c.LocalRope
		}

		// Attention, pre- and post-normed.
		nn.RMSNormRows(xb, x, l.attnNorm, n, c.NormEps)
		ws.Lin.MatMul3(&l.Wq, &l.Wk, &l.Wv, xb, n, q, k, v)
		nn.HeadNormRows(q, l.qNorm, n, c.Heads, c.NormEps)
		nn.HeadNormRows(k, l.kNorm, n, kvh, c.NormEps)
		rope.ApplyRows(r, q, n, c.Heads, c.HeadDim)
		rope.ApplyRows(r, k, n, kvh, c.HeadDim)
		nn.Scale(q, c.QScale)
		nn.StoreKV(p, li, k, v)
		ws.AttendSegments(p, li, &l.attn, q, att)
		ws.Lin.MatMul(&l.Wo, att, n, xb, &ws.Act)
		nn.RMSNormRows(xb, xb, l.attnPost, n, c.NormEps)
		kernels.Add(x, x, xb)

		// Feed-forward, pre- and post-normed.
		nn.RMSNormRows(xb, x, l.ffnNorm, n, c.NormEps)
		hg, hu := ws.H1[:n*c.FFN], ws.H2[:n*c.FFN]
		ws.Lin.MatMul2(&l.Gate, &l.Up, xb, n, hg, hu)
		nn.GeGLURows(hg, hu, n, c.FFN)
		ws.Lin.MatMul(&l.Down, hg, n, xb, &ws.Act)
		nn.RMSNormRows(xb, xb, l.ffnPost, n, c.NormEps)
		kernels.Add(x, x, xb)
	}
	ws.Logits(p, x, m.outNorm, c.NormEps, m.output())
	if c.LogitCap > 0 {
		p.OutRows(c.Vocab, func(l []float32) { nn.Softcap(l, c.LogitCap) })
	}
	return nil
}
