// Package phi3 runs the phi3 architecture (Phi-3/3.5-mini, Phi-4-mini):
// llama-style pre-RMSNorm blocks with a fused Q/K/V projection (attn_qkv)
// and a fused [gate; up] projection, NEOX RoPE on the first
// rope.dimension_count values of each head (Phi-4-mini rotates 3/4 of
// them) with LongRoPE: per-frequency factors, long ones when the context
// exceeds rope.scaling.original_context_length, short ones otherwise, and
// cos/sin scaled by rope.scaling.attn_factor. The queries are scaled by
// 1/sqrt(head size) before the scores, as llama.cpp does.
package phi3

import (
	"fmt"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
)

func init() { nn.RegisterDecoder("phi3", func(f *gguf.File) (nn.Decoder, error) { return Load(f) }) }

// Config is the model's hyperparameters: nn.Transformer's keys
// (phi3.embedding_length, block_count, attention.head_count,
// head_count_kv, feed_forward_length, context_length,
// attention.layer_norm_rms_epsilon, rope.dimension_count, rope.freq_base)
// with NEOX RoPE, and LongRoPE's.
type Config struct {
	nn.Transformer
	OrigContext int     // phi3.rope.scaling.original_context_length (default context_length): above it the long factors apply
	AttnFactor  float32 // phi3.rope.scaling.attn_factor (default 1): multiplies cos and sin
	// phi3.attention.sliding_window is ignored, as llama.cpp does (it
	// disables Phi's sliding window).
}

// Weights are the model's tensors, bound by name.
type Weights struct {
	TokEmbd   nn.Tensor  `gguf:"token_embd.weight"`                  // vocab x dim
	OutNorm   nn.Tensor  `gguf:"output_norm.weight"`                 // dim
	Output    *nn.Tensor `gguf:"output.weight,optional"`             // vocab x dim; nil when tied to TokEmbd
	RopeLong  *nn.Tensor `gguf:"rope_factors_long.weight,optional"`  // ropeDim/2 LongRoPE factors above the original context
	RopeShort *nn.Tensor `gguf:"rope_factors_short.weight,optional"` // ropeDim/2 factors within it
	Layers    []Layer
	ropeLong  []float32
	ropeShort []float32
}

// Layer is one transformer block.
type Layer struct {
	AttnNorm nn.Tensor `gguf:"blk.%d.attn_norm.weight"`   // dim
	QKV      nn.Tensor `gguf:"blk.%d.attn_qkv.weight"`    // (heads + 2·kvHeads)·headDim x dim: [q; k; v]
	Wo       nn.Tensor `gguf:"blk.%d.attn_output.weight"` // dim x (heads·headDim)
	FFNNorm  nn.Tensor `gguf:"blk.%d.ffn_norm.weight"`    // dim
	GateUp   nn.Tensor `gguf:"blk.%d.ffn_up.weight"`      // 2·ffn x dim: [gate; up]
	Down     nn.Tensor `gguf:"blk.%d.ffn_down.weight"`    // dim x ffn

	wq, wk, wv, gate, up nn.Tensor // row views of QKV and GateUp
	attnNorm, ffnNorm    []float32 // float views
	attn                 nn.Attention
}

// Model is a loaded phi3 model.
type Model struct {
	cfg       Config
	W         Weights
	outNorm   []float32
	weights   *nn.Weights
	qScale    float32
	ropeLong  nn.Rope // with the long factors
	ropeShort nn.Rope // with the short factors (or none)
}

// Load reads the hyperparameters and binds the weights of a phi3 model.
func Load(f *gguf.File) (*Model, error) {
	h := nn.NewHparams(f)
	m := &Model{cfg: Config{Transformer: nn.ReadTransformer(h, f)}}
	c := &m.cfg
	c.Rope.Neox = true
	c.OrigContext = h.IntOr("rope.scaling.original_context_length", c.ContextLength, 1, 1<<30)
	c.AttnFactor = h.FloatOr("rope.scaling.attn_factor", 1, 1e-3, 1e3)
	c.Window = 0
	if err := h.Err(); err != nil {
		return nil, fmt.Errorf("phi3: %w", err)
	}
	m.W.Layers = make([]Layer, c.Layers)
	if err := nn.BindModel(f, &m.W, m.W.Layers); err != nil {
		return nil, fmt.Errorf("phi3: %w", err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("phi3: %w", err)
	}
	m.weights = nn.NewWeights(f)
	m.weights.Add(m.W.Output == nil, &m.W.TokEmbd)
	m.weights.Add(true, m.W.Output)
	for i := range m.W.Layers {
		l := &m.W.Layers[i]
		m.weights.Add(true, &l.wq, &l.wk, &l.wv, &l.Wo, &l.gate, &l.up, &l.Down)
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
	ck.Shape(w.RopeLong, c.Rope.Dims/2)
	ck.Shape(w.RopeShort, c.Rope.Dims/2)
	ck.Add(nn.ErrIf(c.HeadDim != c.ValueDim, "key and value head sizes differ (%d, %d)", c.HeadDim, c.ValueDim))
	qDim := c.Heads * c.HeadDim
	for i := range w.Layers {
		l := &w.Layers[i]
		kvDim := c.KVHeads[i] * c.HeadDim
		ck.Shape(&l.AttnNorm, c.Dim)
		ck.Shape(&l.QKV, c.Dim, qDim+2*kvDim)
		ck.Shape(&l.Wo, qDim, c.Dim)
		ck.Shape(&l.FFNNorm, c.Dim)
		ck.Shape(&l.GateUp, c.Dim, 2*c.FFN)
		ck.Shape(&l.Down, c.FFN, c.Dim)
		if ck.Err() != nil {
			continue
		}
		var err error
		views := []struct {
			dst    *nn.Tensor
			src    *nn.Tensor
			name   string
			r0, r1 int
		}{{&l.wq, &l.QKV, "q", 0, qDim}, {&l.wk, &l.QKV, "k", qDim, qDim + kvDim}, {&l.wv, &l.QKV, "v", qDim + kvDim, qDim + 2*kvDim},
			{&l.gate, &l.GateUp, "gate", 0, c.FFN}, {&l.up, &l.GateUp, "up", c.FFN, 2 * c.FFN}}
		for _, v := range views {
			*v.dst, err = v.src.RowsView(v.name, v.r0, v.r1)
			ck.Add(err)
		}
		l.attnNorm, l.ffnNorm = ck.Floats(&l.AttnNorm), ck.Floats(&l.FFNNorm)
		l.attn = c.Attention(i)
		l.attn.Scale = 1 // the queries are scaled beforehand
		ck.Add(l.attn.Check())
	}
	m.outNorm = ck.Floats(&w.OutNorm)
	w.ropeLong, w.ropeShort = ck.Floats(w.RopeLong), ck.Floats(w.RopeShort)
	m.qScale = nn.DefaultScale(c.HeadDim)
	m.ropeShort, m.ropeLong = c.Rope, c.Rope
	m.ropeShort.AttnFactor, m.ropeLong.AttnFactor = c.AttnFactor, c.AttnFactor
	m.ropeShort.Factors, m.ropeLong.Factors = w.ropeShort, w.ropeLong
	if w.ropeLong == nil {
		m.ropeLong.Factors = w.ropeShort
	}
	ck.Add(m.ropeShort.Check(c.HeadDim))
	ck.Add(m.ropeLong.Check(c.HeadDim))
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

// rope returns the RoPE of a pass: LongRoPE's long factors when the
// sequences' context (their caches' size, llama.cpp's n_ctx_seq) exceeds
// the original context, the short ones otherwise.
func (m *Model) rope(p *nn.Pass) (*nn.Rope, error) {
	long := p.Segs[0].Cache.Cap() > m.cfg.OrigContext
	for _, s := range p.Segs[1:] {
		if (s.Cache.Cap() > m.cfg.OrigContext) != long {
			return nil, fmt.Errorf("phi3: sequences of one pass need the same LongRoPE factors (contexts %d and %d around %d)",
				p.Segs[0].Cache.Cap(), s.Cache.Cap(), m.cfg.OrigContext)
		}
	}
	if long {
		return &m.ropeLong, nil
	}
	return &m.ropeShort, nil
}

// Forward runs one pass: embeddings, then per block RMSNorm, the fused
// Q/K/V product, LongRoPE, the query scale, the KV cache, attention, the
// output projection and the residual, RMSNorm, the fused gate/up product,
// SwiGLU, the down projection and the residual; then the final norm and the
// LM head.
func (m *Model) Forward(ws *nn.Workspace, p *nn.Pass) error {
	c := &m.cfg
	n, dim := p.N, c.Dim
	r, err := m.rope(p)
	if err != nil {
		return err
	}
	x, xb := ws.X[:n*dim], ws.XB[:n*dim]
	for i, t := range p.Tokens {
		if err := m.W.TokEmbd.Row(t, x[i*dim:(i+1)*dim]); err != nil {
			return err
		}
	}
	rope := &ws.Ropes[0]
	rope.Fill(r, p.Pos)

	for li := range m.W.Layers {
		l := &m.W.Layers[li]
		qDim, kvDim := c.Heads*c.HeadDim, l.attn.KVHeads*c.HeadDim
		q, k, v, att := ws.Q[:n*qDim], ws.K[:n*kvDim], ws.V[:n*kvDim], ws.Att[:n*qDim]

		// Attention.
		nn.RMSNormRows(xb, x, l.attnNorm, n, c.NormEps)
		ws.Lin.MatMul3(&l.wq, &l.wk, &l.wv, xb, n, q, k, v)
		rope.ApplyRows(r, q, n, c.Heads, c.HeadDim)
		rope.ApplyRows(r, k, n, l.attn.KVHeads, c.HeadDim)
		nn.Scale(q, m.qScale)
		nn.StoreKV(p, li, k, v)
		ws.AttendSegments(p, li, &l.attn, q, att)
		ws.Lin.MatMul(&l.Wo, att, n, xb, &ws.Act)
		kernels.Add(x, x, xb)

		// Feed-forward.
		nn.RMSNormRows(xb, x, l.ffnNorm, n, c.NormEps)
		hg, hu := ws.H1[:n*c.FFN], ws.H2[:n*c.FFN]
		ws.Lin.MatMul2(&l.gate, &l.up, xb, n, hg, hu)
		nn.SwiGLURows(hg, hu, n, c.FFN)
		ws.Lin.MatMul(&l.Down, hg, n, xb, &ws.Act)
		kernels.Add(x, x, xb)
	}
	ws.Logits(p, x, m.outNorm, c.NormEps, m.output())
	return nil
}
