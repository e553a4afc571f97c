// Package olmo2 runs the olmo2 architecture (OLMo 2 1B-32B): blocks with
// post-norms only (the attention's and the feed-forward network's outputs
// are RMS-normalised before each residual add, their inputs are not), an RMS
// norm over the whole query and the whole key vector (not per head) before
// NEOX RoPE, SwiGLU, an untied LM head.
package olmo2

import (
	"fmt"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
)

func init() { nn.RegisterDecoder("olmo2", func(f *gguf.File) (nn.Decoder, error) { return Load(f) }) }

// Config is the model's hyperparameters: nn.Transformer's keys
// (olmo2.embedding_length, block_count, attention.head_count,
// head_count_kv, key_length, value_length, feed_forward_length,
// context_length, attention.layer_norm_rms_epsilon, rope.freq_base,
// rope.scaling.*) with NEOX RoPE.
type Config struct {
	nn.Transformer
}

// Weights are the model's tensors, bound by name.
type Weights struct {
	TokEmbd nn.Tensor  `gguf:"token_embd.weight"`      // vocab x dim
	OutNorm nn.Tensor  `gguf:"output_norm.weight"`     // dim
	Output  *nn.Tensor `gguf:"output.weight,optional"` // vocab x dim; nil when tied to TokEmbd
	Layers  []Layer
}

// Layer is one transformer block.
type Layer struct {
	Wq       nn.Tensor `gguf:"blk.%d.attn_q.weight"`              // (heads·headDim) x dim
	Wk       nn.Tensor `gguf:"blk.%d.attn_k.weight"`              // (kvHeads·headDim) x dim
	Wv       nn.Tensor `gguf:"blk.%d.attn_v.weight"`              // (kvHeads·valueDim) x dim
	QNorm    nn.Tensor `gguf:"blk.%d.attn_q_norm.weight"`         // heads·headDim: the whole query's RMS norm
	KNorm    nn.Tensor `gguf:"blk.%d.attn_k_norm.weight"`         // kvHeads·headDim: the whole key's RMS norm
	Wo       nn.Tensor `gguf:"blk.%d.attn_output.weight"`         // dim x (heads·valueDim)
	AttnPost nn.Tensor `gguf:"blk.%d.post_attention_norm.weight"` // dim
	Gate     nn.Tensor `gguf:"blk.%d.ffn_gate.weight"`            // ffn x dim
	Up       nn.Tensor `gguf:"blk.%d.ffn_up.weight"`              // ffn x dim
	Down     nn.Tensor `gguf:"blk.%d.ffn_down.weight"`            // dim x ffn
	FFNPost  nn.Tensor `gguf:"blk.%d.post_ffw_norm.weight"`       // dim

	attnPost, ffnPost, qNorm, kNorm []float32 // float views
	attn                            nn.Attention
}

// Model is a loaded olmo2 model.
type Model struct {
	cfg     Config
	W       Weights
	outNorm []float32
	weights *nn.Weights
}

// Load reads the hyperparameters and binds the weights of an olmo2 model.
func Load(f *gguf.File) (*Model, error) {
	h := nn.NewHparams(f)
	m := &Model{cfg: Config{nn.ReadTransformer(h, f)}}
	c := &m.cfg
	c.Rope.Neox = true
	if err := h.Err(); err != nil {
		return nil, fmt.Errorf("olmo2: %w", err)
	}
	m.W.Layers = make([]Layer, c.Layers)
	if err := nn.BindModel(f, &m.W, m.W.Layers); err != nil {
		return nil, fmt.Errorf("olmo2: %w", err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("olmo2: %w", err)
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
		ck.Shape(&l.Wq, c.Dim, qDim)
		ck.Shape(&l.Wk, c.Dim, c.KVHeads[i]*c.HeadDim)
		ck.Shape(&l.Wv, c.Dim, c.KVHeads[i]*c.ValueDim)
		ck.Shape(&l.QNorm, qDim)
		ck.Shape(&l.KNorm, c.KVHeads[i]*c.HeadDim)
		ck.Shape(&l.Wo, oDim, c.Dim)
		ck.Shape(&l.AttnPost, c.Dim)
		ck.Shape(&l.Gate, c.Dim, c.FFN)
		ck.Shape(&l.Up, c.Dim, c.FFN)
		ck.Shape(&l.Down, c.FFN, c.Dim)
		ck.Shape(&l.FFNPost, c.Dim)
		l.attnPost, l.ffnPost = ck.Floats(&l.AttnPost), ck.Floats(&l.FFNPost)
		l.qNorm, l.kNorm = ck.Floats(&l.QNorm), ck.Floats(&l.KNorm)
		l.attn = c.Attention(i)
		ck.Add(l.attn.Check())
	}
	m.outNorm = ck.Floats(&w.OutNorm)
	ck.Add(c.Rope.Check(c.HeadDim))
	return ck.Err()
}

// Config returns the hyperparameters every decoder has.
func (m *Model) Config() *nn.Config { return &m.cfg.Config }

// Dims returns the buffer sizes of a forward pass.
func (m *Model) Dims() nn.Dims { return m.cfg.Dims(1) }

// NewCache allocates a sequence's KV cache of ctxLen positions.
func (m *Model) NewCache(ctxLen int, o nn.CacheOptions) (*nn.Cache, error) {
	return m.cfg.NewKVCache(ctxLen, o, nil)
}

// CacheBytes returns the memory of NewCache(ctxLen, o).
func (m *Model) CacheBytes(ctxLen int, o nn.CacheOptions) int64 {
	return m.cfg.KVCacheBytes(ctxLen, o, nil)
}

// Weights returns the model's weight matrices.
func (m *Model) Weights() *nn.Weights { return m.weights }

func (m *Model) output() *nn.Tensor {
	if m.W.Output != nil {
		return m.W.Output
	}
	return &m.W.TokEmbd
}

// Forward runs one pass: embeddings, then per block Q/K/V of the residual
// itself, the whole-vector Q and K norms, RoPE, the KV cache, attention, the
// output projection, its RMSNorm and the residual, the SwiGLU feed-forward
// network of the residual, its RMSNorm and the residual; then the final norm
// and the LM head.
func (m *Model) Forward(ws *nn.Workspace, p *nn.Pass) error {
	c := &m.cfg
	n, dim := p.N, c.Dim
	x, xb := ws.X[:n*dim], ws.XB[:n*dim]
	for i, t := range p.Tokens {
		if err := m.W.TokEmbd.Row(t, x[i*dim:(i+1)*dim]); err != nil {
			return err
		}
	}
	rope := &ws.Ropes[0]
	rope.Fill(&c.Rope, p.Pos)

	for li := range m.W.Layers {
		l := &m.W.Layers[li]
		kvh := l.attn.KVHeads
		q, k, v := ws.Q[:n*c.Heads*c.HeadDim], ws.K[:n*kvh*c.HeadDim], ws.V[:n*kvh*c.ValueDim]
		att := ws.Att[:n*c.Heads*c.ValueDim]

		// Attention, post-normed.
		ws.Lin.MatMul3(&l.Wq, &l.Wk, &l.Wv, x, n, q, k, v)
		nn.RMSNormRows(q, q, l.qNorm, n, c.NormEps)
		nn.RMSNormRows(k, k, l.kNorm, n, c.NormEps)
		rope.ApplyRows(&c.Rope, q, n, c.Heads, c.HeadDim)
		rope.ApplyRows(&c.Rope, k, n, kvh, c.HeadDim)
		nn.StoreKV(p, li, k, v)
		ws.AttendSegments(p, li, &l.attn, q, att)
		ws.Lin.MatMul(&l.Wo, att, n, xb, &ws.Act)
		nn.RMSNormRows(xb, xb, l.attnPost, n, c.NormEps)
		kernels.Add(x, x, xb)

		// Feed-forward, post-normed.
		hg, hu := ws.H1[:n*c.FFN], ws.H2[:n*c.FFN]
		ws.Lin.MatMul2(&l.Gate, &l.Up, x, n, hg, hu)
		nn.SwiGLURows(hg, hu, n, c.FFN)
		ws.Lin.MatMul(&l.Down, hg, n, xb, &ws.Act)
		nn.RMSNormRows(xb, xb, l.ffnPost, n, c.NormEps)
		kernels.Add(x, x, xb)
	}
	ws.Logits(p, x, m.outNorm, c.NormEps, m.output())
	return nil
}
