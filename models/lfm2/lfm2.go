// Package lfm2 runs the lfm2 architecture (Liquid AI's LFM2 350M-2.6B): a
// hybrid of short-convolution layers and grouped-query attention layers
// (the file's per-layer KV head counts say which: 0 is a convolution), each
// followed by a SwiGLU feed-forward network, all pre-RMSNormed; a tied LM
// head. A convolution layer projects its input to B, C and x, convolves
// B·x over the last shortconv.l_cache positions channel by channel (a
// rolling state the sequence's cache keeps, like the KV cache), multiplies
// by C and projects back. Attention layers norm each query and key head
// before NEOX RoPE.
package lfm2

import (
	"fmt"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
)

func init() { nn.RegisterDecoder("lfm2", func(f *gguf.File) (nn.Decoder, error) { return Load(f) }) }

// Config is the model's hyperparameters: nn.Transformer's keys
// (lfm2.embedding_length, block_count, attention.head_count,
// head_count_kv (an array: 0 marks a convolution layer), feed_forward_length,
// context_length, attention.layer_norm_rms_epsilon, rope.freq_base) with
// NEOX RoPE, and the convolution's length.
type Config struct {
	nn.Transformer
	ConvLen int // lfm2.shortconv.l_cache: taps of the short convolution (3)
}

// Weights are the model's tensors, bound by name.
type Weights struct {
	TokEmbd  nn.Tensor  `gguf:"token_embd.weight"`               // vocab x dim, also the LM head unless output.weight
	OutNorm  *nn.Tensor `gguf:"output_norm.weight,optional"`     // dim (newer files)
	EmbdNorm *nn.Tensor `gguf:"token_embd_norm.weight,optional"` // dim: the final norm under its older name
	Output   *nn.Tensor `gguf:"output.weight,optional"`          // vocab x dim; nil when tied
	Layers   []Layer
}

// Layer is one block: a short convolution or attention, then the
// feed-forward network.
type Layer struct {
	Norm    nn.Tensor  `gguf:"blk.%d.attn_norm.weight"`                  // dim: the operator's pre-norm
	ConvW   *nn.Tensor `gguf:"blk.%d.shortconv.conv.weight,optional"`    // dim x convLen (ggml ne {convLen, dim}): per channel taps
	InProj  *nn.Tensor `gguf:"blk.%d.shortconv.in_proj.weight,optional"` // 3·dim x dim: B, C, x
	OutProj *nn.Tensor `gguf:"blk.%d.shortconv.out_proj.weight,optional"`
	Wq      *nn.Tensor `gguf:"blk.%d.attn_q.weight,optional"`      // (heads·headDim) x dim
	Wk      *nn.Tensor `gguf:"blk.%d.attn_k.weight,optional"`      // (kvHeads·headDim) x dim
	Wv      *nn.Tensor `gguf:"blk.%d.attn_v.weight,optional"`      // (kvHeads·headDim) x dim
	QNorm   *nn.Tensor `gguf:"blk.%d.attn_q_norm.weight,optional"` // headDim
	KNorm   *nn.Tensor `gguf:"blk.%d.attn_k_norm.weight,optional"` // headDim
	Wo      *nn.Tensor `gguf:"blk.%d.attn_output.weight,optional"` // dim x (heads·headDim)
	FFNNorm nn.Tensor  `gguf:"blk.%d.ffn_norm.weight"`             // dim
	Gate    nn.Tensor  `gguf:"blk.%d.ffn_gate.weight"`             // ffn x dim
	Up      nn.Tensor  `gguf:"blk.%d.ffn_up.weight"`               // ffn x dim
	Down    nn.Tensor  `gguf:"blk.%d.ffn_down.weight"`             // dim x ffn

	conv                           bool      // a short-convolution layer
	norm, convW, qNorm, kNorm, ffn []float32 // float views
	attn                           nn.Attention
}

// Model is a loaded lfm2 model.
type Model struct {
	cfg     Config
	W       Weights
	outNorm []float32
	weights *nn.Weights
}

// Load reads the hyperparameters and binds the weights of an lfm2 model.
func Load(f *gguf.File) (*Model, error) {
	h := nn.NewHparams(f)
	m := &Model{cfg: Config{Transformer: nn.ReadTransformer(h, f)}}
	c := &m.cfg
	c.Rope.Neox = true
	c.ConvLen = h.Int("shortconv.l_cache", 2, 64)
	if err := h.Err(); err != nil {
		return nil, fmt.Errorf("lfm2: %w", err)
	}
	m.W.Layers = make([]Layer, c.Layers)
	if err := nn.BindModel(f, &m.W, m.W.Layers); err != nil {
		return nil, fmt.Errorf("lfm2: %w", err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("lfm2: %w", err)
	}
	m.weights = nn.NewWeights(f)
	m.weights.Add(m.W.Output == nil, &m.W.TokEmbd)
	m.weights.Add(true, m.W.Output)
	for i := range m.W.Layers {
		l := &m.W.Layers[i]
		m.weights.Add(true, l.InProj, l.OutProj, l.Wq, l.Wk, l.Wv, l.Wo, &l.Gate, &l.Up, &l.Down)
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
	norm := w.OutNorm
	if norm == nil {
		norm = w.EmbdNorm
	}
	if norm == nil {
		return &nn.MissingTensorsError{Names: []string{"output_norm.weight (or token_embd_norm.weight)"}}
	}
	ck.Shape(norm, c.Dim)
	ck.Shape(w.Output, c.Dim, c.Vocab)
	qDim := c.Heads * c.HeadDim
	var missing []string
	need := func(t *nn.Tensor, name string, i int) {
		if t == nil {
			missing = append(missing, fmt.Sprintf("blk.%d.%s.weight", i, name))
		}
	}
	for i := range w.Layers {
		l := &w.Layers[i]
		l.conv = c.KVHeads[i] == 0
		ck.Shape(&l.Norm, c.Dim)
		if l.conv {
			need(l.ConvW, "shortconv.conv", i)
			need(l.InProj, "shortconv.in_proj", i)
			need(l.OutProj, "shortconv.out_proj", i)
			ck.Shape(l.ConvW, c.ConvLen, c.Dim)
			ck.Shape(l.InProj, c.Dim, 3*c.Dim)
			ck.Shape(l.OutProj, c.Dim, c.Dim)
			l.convW = ck.Floats(l.ConvW)
		} else {
			kvDim := c.KVHeads[i] * c.HeadDim
			for _, t := range []struct {
				t    *nn.Tensor
				name string
			}{{l.Wq, "attn_q"}, {l.Wk, "attn_k"}, {l.Wv, "attn_v"}, {l.QNorm, "attn_q_norm"}, {l.KNorm, "attn_k_norm"}, {l.Wo, "attn_output"}} {
				need(t.t, t.name, i)
			}
			ck.Shape(l.Wq, c.Dim, qDim)
			ck.Shape(l.Wk, c.Dim, kvDim)
			ck.Shape(l.Wv, c.Dim, kvDim)
			ck.Shape(l.QNorm, c.HeadDim)
			ck.Shape(l.KNorm, c.HeadDim)
			ck.Shape(l.Wo, qDim, c.Dim)
			l.qNorm, l.kNorm = ck.Floats(l.QNorm), ck.Floats(l.KNorm)
			l.attn = c.Attention(i)
			ck.Add(l.attn.Check())
		}
		ck.Shape(&l.FFNNorm, c.Dim)
		ck.Shape(&l.Gate, c.Dim, c.FFN)
		ck.Shape(&l.Up, c.Dim, c.FFN)
		ck.Shape(&l.Down, c.FFN, c.Dim)
		l.norm, l.ffn = ck.Floats(&l.Norm), ck.Floats(&l.FFNNorm)
	}
	if len(missing) > 0 {
		return &nn.MissingTensorsError{Names: missing}
	}
	ck.Add(nn.ErrIf(c.HeadDim != c.ValueDim, "key and value head sizes differ (%d, %d)", c.HeadDim, c.ValueDim))
	m.outNorm = ck.Floats(norm)
	ck.Add(c.Rope.Check(c.HeadDim))
	return ck.Err()
}

// Config returns the hyperparameters every decoder has.
func (m *Model) Config() *nn.Config { return &m.cfg.Config }

// Dims returns the buffer sizes of a forward pass; Extra holds the
// convolution's B, C, x (3·dim), B·x and its convolution (dim each).
func (m *Model) Dims() nn.Dims {
	d := m.cfg.Dims(1)
	d.Extra = 5 * m.cfg.Dim
	return d
}

// NewCache allocates a sequence's cache: a KV cache of ctxLen positions for
// each attention layer, the last convLen-1 inputs for each convolution.
func (m *Model) NewCache(ctxLen int, o nn.CacheOptions) (*nn.Cache, error) {
	c, err := m.cfg.NewKVCache(ctxLen, o, nil)
	if err != nil {
		return nil, err
	}
	for i, l := range m.W.Layers {
		if l.conv {
			c.Conv[i] = make([]float32, (m.cfg.ConvLen-1)*m.cfg.Dim)
		}
	}
	return c, nil
}

// CacheBytes returns the memory of NewCache(ctxLen, o).
func (m *Model) CacheBytes(ctxLen int, o nn.CacheOptions) int64 {
	b := m.cfg.KVCacheBytes(ctxLen, o, nil)
	for _, l := range m.W.Layers {
		if l.conv {
			b += 4 * int64((m.cfg.ConvLen-1)*m.cfg.Dim)
		}
	}
	return b
}

// Weights returns the model's weight matrices.
func (m *Model) Weights() *nn.Weights { return m.weights }

func (m *Model) output() *nn.Tensor {
	if m.W.Output != nil {
		return m.W.Output
	}
	return &m.W.TokEmbd
}

// Forward runs one pass: embeddings, then per block RMSNorm and either the
// short convolution or attention (Q/K/V, per-head norms, RoPE, the KV
// cache), the residual, RMSNorm, the SwiGLU feed-forward network and the
// residual; then the final norm and the LM head.
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
		nn.RMSNormRows(xb, x, l.norm, n, c.NormEps)
		if l.conv {
			m.shortConv(ws, p, li, xb)
		} else {
			kvh := l.attn.KVHeads
			q, k, v := ws.Q[:n*c.Heads*c.HeadDim], ws.K[:n*kvh*c.HeadDim], ws.V[:n*kvh*c.HeadDim]
			att := ws.Att[:n*c.Heads*c.HeadDim]
			ws.Lin.MatMul3(l.Wq, l.Wk, l.Wv, xb, n, q, k, v)
			nn.HeadNormRows(q, l.qNorm, n, c.Heads, c.NormEps)
			nn.HeadNormRows(k, l.kNorm, n, kvh, c.NormEps)
			rope.ApplyRows(&c.Rope, q, n, c.Heads, c.HeadDim)
			rope.ApplyRows(&c.Rope, k, n, kvh, c.HeadDim)
			nn.StoreKV(p, li, k, v)
			ws.AttendSegments(p, li, &l.attn, q, att)
			ws.Lin.MatMul(l.Wo, att, n, xb, &ws.Act)
		}
		kernels.Add(x, x, xb)

		// Feed-forward.
		nn.RMSNormRows(xb, x, l.ffn, n, c.NormEps)
		hg, hu := ws.H1[:n*c.FFN], ws.H2[:n*c.FFN]
		ws.Lin.MatMul2(&l.Gate, &l.Up, xb, n, hg, hu)
		nn.SwiGLURows(hg, hu, n, c.FFN)
		ws.Lin.MatMul(&l.Down, hg, n, xb, &ws.Act)
		kernels.Add(x, x, xb)
	}
	ws.Logits(p, x, m.outNorm, c.NormEps, m.output())
	return nil
}

// shortConv replaces h (the normed input, n rows) by the convolution block's
// output: in_proj to B, C, x; B·x convolved over each sequence's last
// positions (its rolling state, then its rows in order) channel by channel;
// C times that; out_proj.
func (m *Model) shortConv(ws *nn.Workspace, p *nn.Pass, li int, h []float32) {
	c := &m.cfg
	l := &m.W.Layers[li]
	n, dim, taps := p.N, c.Dim, c.ConvLen
	bcx := ws.Extra[:n*3*dim]
	bx := ws.Extra[n*3*dim : n*4*dim]
	y := ws.Extra[n*4*dim : n*5*dim]
	ws.Lin.MatMul(l.InProj, h, n, bcx, &ws.Act)
	for r := 0; r < n; r++ {
		kernels.Mul(bx[r*dim:(r+1)*dim], bcx[r*3*dim:r*3*dim+dim], bcx[r*3*dim+2*dim:r*3*dim+3*dim])
	}
	for _, s := range p.Segs {
		state := s.Cache.Conv[li] // (taps-1) x dim: the inputs before the segment, oldest first
		// tap returns input j of the window ending at row t of the segment
		// (j = taps-1 is row t itself), from the state before the segment.
		tap := func(t, j, ch int) float32 {
			if k := t - (taps - 1) + j; k >= 0 {
				return bx[(s.Row+k)*dim+ch]
			} else {
				return state[(k+taps-1)*dim+ch]
			}
		}
		for t := 0; t < s.N; t++ {
			row := (s.Row + t) * dim
			for ch := 0; ch < dim; ch++ {
				w := l.convW[ch*taps : (ch+1)*taps]
				var sum float32
				for j := 0; j < taps; j++ { // ggml_ssm_conv: a float32 sum, tap by tap
					sum = float32(sum + float32(w[j]*tap(t, j, ch)))
				}
				y[row+ch] = float32(sum * bcx[(s.Row+t)*3*dim+dim+ch])
			}
		}
		// The new state: the last taps-1 inputs.
		for j := 0; j < taps-1; j++ {
			for ch := 0; ch < dim; ch++ {
				state[j*dim+ch] = tap(s.N-1, j+1, ch)
			}
		}
	}
	ws.Lin.MatMul(l.OutProj, y, n, h, &ws.Act)
}
