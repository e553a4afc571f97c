// Package smollm3 runs the smollm3 architecture (SmolLM3 3B): llama's
// blocks, but every fourth layer attends without positions (NoPE: no RoPE on
// layers il with (il+1) % 4 == 0, the step llama.cpp fixes for smollm3),
// RoPE on adjacent pairs elsewhere; a tied LM head.
package smollm3

import (
	"fmt"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
)

func init() { nn.RegisterDecoder("smollm3", func(f *gguf.File) (nn.Decoder, error) { return Load(f) }) }

// Config is the model's hyperparameters: nn.Transformer's keys
// (smollm3.embedding_length, block_count, attention.head_count,
// head_count_kv, key_length, feed_forward_length, context_length,
// attention.layer_norm_rms_epsilon, rope.dimension_count, rope.freq_base,
// rope.scaling.type/factor) with RoPE on adjacent pairs.
type Config struct {
	nn.Transformer
	NoRopeStep int // layers il with (il+1) % NoRopeStep == 0 have no RoPE (4, fixed)
}

// noRopeStep is llama.cpp's n_no_rope_layer_step for smollm3 (no GGUF key).
const noRopeStep = 4

// Weights are the model's tensors, bound by name.
type Weights struct {
	TokEmbd   nn.Tensor  `gguf:"token_embd.weight"`          // vocab x dim
	OutNorm   nn.Tensor  `gguf:"output_norm.weight"`         // dim
	Output    *nn.Tensor `gguf:"output.weight,optional"`     // vocab x dim; nil when tied to TokEmbd
	RopeFreqs *nn.Tensor `gguf:"rope_freqs.weight,optional"` // ropeDim/2 frequency factors (Llama 3.1)
	Layers    []Layer
}

// Layer is one transformer block.
type Layer struct {
	AttnNorm nn.Tensor `gguf:"blk.%d.attn_norm.weight"`   // dim
	Wq       nn.Tensor `gguf:"blk.%d.attn_q.weight"`      // (heads·headDim) x dim
	Wk       nn.Tensor `gguf:"blk.%d.attn_k.weight"`      // (kvHeads·headDim) x dim
	Wv       nn.Tensor `gguf:"blk.%d.attn_v.weight"`      // (kvHeads·headDim) x dim
	Wo       nn.Tensor `gguf:"blk.%d.attn_output.weight"` // dim x (heads·headDim)
	FFNNorm  nn.Tensor `gguf:"blk.%d.ffn_norm.weight"`    // dim
	Gate     nn.Tensor `gguf:"blk.%d.ffn_gate.weight"`    // ffn x dim
	Up       nn.Tensor `gguf:"blk.%d.ffn_up.weight"`      // ffn x dim
	Down     nn.Tensor `gguf:"blk.%d.ffn_down.weight"`    // dim x ffn

	attnNorm, ffnNorm []float32 // float views
	attn              nn.Attention
}

// Model is a loaded smollm3 model.
type Model struct {
	cfg     Config
	W       Weights
	outNorm []float32
	weights *nn.Weights
}

// Load reads the hyperparameters and binds the weights of a smollm3 model.
func Load(f *gguf.File) (*Model, error) {
	h := nn.NewHparams(f)
	m := &Model{cfg: Config{Transformer: nn.ReadTransformer(h, f), NoRopeStep: noRopeStep}}
	c := &m.cfg
	if err := h.Err(); err != nil {
		return nil, fmt.Errorf("smollm3: %w", err)
	}
	m.W.Layers = make([]Layer, c.Layers)
	if err := nn.BindModel(f, &m.W, m.W.Layers); err != nil {
		return nil, fmt.Errorf("smollm3: %w", err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("smollm3: %w", err)
	}
	m.weights = nn.NewWeights(f)
	m.weights.Add(m.W.Output == nil, &m.W.TokEmbd) // rows only, unless it is also the head
	m.weights.Add(true, m.W.Output)
	for i := range m.W.Layers {
		l := &m.W.Layers[i]
		m.weights.Add(true, &l.Wq, &l.Wk, &l.Wv, &l.Wo, &l.Gate, &l.Up, &l.Down)
	}
	return m, nil
}

// check verifies every shape and takes the float views.
func (m *Model) check() error {
	c, w := &m.cfg, &m.W
	if len(w.TokEmbd.Shape) != 2 || w.TokEmbd.Shape[0] != int64(c.Dim) {
		return fmt.Errorf("token_embd.weight has shape %v, want [%d vocab]", w.TokEmbd.Shape, c.Dim)
	}
	c.Vocab = w.TokEmbd.Rows()
	var ck nn.Checker
	ck.Shape(&w.OutNorm, c.Dim)
	ck.Shape(w.Output, c.Dim, c.Vocab)
	ck.Shape(w.RopeFreqs, c.Rope.Dims/2)
	qDim := c.Heads * c.HeadDim
	for i := range w.Layers {
		l := &w.Layers[i]
		kvDim := c.KVHeads[i] * c.HeadDim
		ck.Shape(&l.AttnNorm, c.Dim)
		ck.Shape(&l.Wq, c.Dim, qDim)
		ck.Shape(&l.Wk, c.Dim, kvDim)
		ck.Shape(&l.Wv, c.Dim, kvDim)
		ck.Shape(&l.Wo, qDim, c.Dim)
		ck.Shape(&l.FFNNorm, c.Dim)
		ck.Shape(&l.Gate, c.Dim, c.FFN)
		ck.Shape(&l.Up, c.Dim, c.FFN)
		ck.Shape(&l.Down, c.FFN, c.Dim)
		l.attnNorm, l.ffnNorm = ck.Floats(&l.AttnNorm), ck.Floats(&l.FFNNorm)
		l.attn = c.Attention(i)
		ck.Add(l.attn.Check())
	}
	m.outNorm = ck.Floats(&w.OutNorm)
	c.Rope.Factors = ck.Floats(w.RopeFreqs)
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

// output returns the LM head: output.weight, or the token embeddings when tied.
func (m *Model) output() *nn.Tensor {
	if m.W.Output != nil {
		return m.W.Output
	}
	return &m.W.TokEmbd
}

// Forward runs one pass: embeddings, then per block RMSNorm, Q/K/V, RoPE
// (not on the NoPE layers),
// the KV cache, attention, the output projection and the residual, RMSNorm,
// the SwiGLU feed-forward network and the residual; then the final norm and
// the LM head for the rows whose logits are wanted. The weight products
// (ws.Lin) are the hot spot.
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
		qDim, kvDim := c.Heads*c.HeadDim, l.attn.KVHeads*c.HeadDim
		q, k, v, att := ws.Q[:n*qDim], ws.K[:n*kvDim], ws.V[:n*kvDim], ws.Att[:n*qDim]

		// Attention.
		nn.RMSNormRows(xb, x, l.attnNorm, n, c.NormEps)
		ws.Lin.MatMul3(&l.Wq, &l.Wk, &l.Wv, xb, n, q, k, v)
		if (li+1)%c.NoRopeStep != 0 {
			rope.ApplyRows(&c.Rope, q, n, c.Heads, c.HeadDim)
			rope.ApplyRows(&c.Rope, k, n, l.attn.KVHeads, c.HeadDim)
		}
		nn.StoreKV(p, li, k, v)
		ws.AttendSegments(p, li, &l.attn, q, att)
		ws.Lin.MatMul(&l.Wo, att, n, xb, &ws.Act)
		kernels.Add(x, x, xb)

		// Feed-forward.
		nn.RMSNormRows(xb, x, l.ffnNorm, n, c.NormEps)
		hg, hu := ws.H1[:n*c.FFN], ws.H2[:n*c.FFN]
		ws.Lin.MatMul2(&l.Gate, &l.Up, xb, n, hg, hu)
		nn.SwiGLURows(hg, hu, n, c.FFN)
		ws.Lin.MatMul(&l.Down, hg, n, xb, &ws.Act)
		kernels.Add(x, x, xb)
	}
	ws.Logits(p, x, m.outNorm, c.NormEps, m.output())
	return nil
}
