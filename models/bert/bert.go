// Package bert loads BERT-style text encoders from GGUF files as llama.cpp
// writes them (general.architecture "bert": BGE, MiniLM, E5, GTE and the
// other BertModel conversions) and runs them on edgeai's own kernels:
// token + position + token-type embeddings, a LayerNorm, then post-norm
// blocks of bidirectional multi-head attention and a GELU feed-forward
// network, every projection with a bias; cross-encoders (rerankers such as
// bge-reranker and the ms-marco MiniLMs, pooling type 4 "rank") add a
// classification head on the [CLS] state. Weights stay in the memory map,
// quantized ones included; activations are quantized for the weight type's
// dot product the way ggml does.
//
// A State runs many texts in one pass: their tokens are packed back to back
// (no padding), every matrix product covers all of them at once, and each
// text attends only to its own tokens. The work is split across the worker
// pool: the weight rows of every product, the (text, head) pairs of the
// attention, the tokens of the norms and activations.
//
// The arithmetic follows ggml-cpu (llama.cpp ec98e2002) so that the vectors
// agree with llama.cpp's: LayerNorm with float64 sums, GELU in its tanh form
// read from a float16 table, attention as nn.EncoderAttention computes it,
// mean pooling over all tokens.
package bert

import (
	"errors"
	"fmt"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
)

func init() { nn.RegisterEncoder("bert", func(f *gguf.File) (nn.Encoder, error) { return Load(f) }) }

// ErrMissingKey is matched by Load's error for absent required metadata
// (it is nn.ErrMissingKey).
var ErrMissingKey = nn.ErrMissingKey

// Weights are the tensors of a BERT encoder, bound by name.
type Weights struct {
	TokEmbd  nn.Tensor  `gguf:"token_embd.weight"`           // vocab x dim
	TypeEmbd *nn.Tensor `gguf:"token_types.weight,optional"` // tokenTypes x dim (row 0 is used: llama.cpp's "sentence A")
	PosEmbd  nn.Tensor  `gguf:"position_embd.weight"`        // contextLength x dim
	EmbNorm  nn.Tensor  `gguf:"token_embd_norm.weight"`      // dim
	EmbNormB nn.Tensor  `gguf:"token_embd_norm.bias"`        // dim
	Layers   []Layer

	// Head is the classification head of a reranker (cls, cls.output).
	Head nn.ClassifierHead
}

// Layer is one post-norm transformer block.
type Layer struct {
	Wq        nn.Tensor `gguf:"blk.%d.attn_q.weight"`            // dim x dim
	Bq        nn.Tensor `gguf:"blk.%d.attn_q.bias"`              // dim
	Wk        nn.Tensor `gguf:"blk.%d.attn_k.weight"`            // dim x dim
	Bk        nn.Tensor `gguf:"blk.%d.attn_k.bias"`              // dim
	Wv        nn.Tensor `gguf:"blk.%d.attn_v.weight"`            // dim x dim
	Bv        nn.Tensor `gguf:"blk.%d.attn_v.bias"`              // dim
	Wo        nn.Tensor `gguf:"blk.%d.attn_output.weight"`       // dim x dim
	Bo        nn.Tensor `gguf:"blk.%d.attn_output.bias"`         // dim
	AttnNorm  nn.Tensor `gguf:"blk.%d.attn_output_norm.weight"`  // dim
	AttnNormB nn.Tensor `gguf:"blk.%d.attn_output_norm.bias"`    // dim
	Up        nn.Tensor `gguf:"blk.%d.ffn_up.weight"`            // ffn x dim
	UpB       nn.Tensor `gguf:"blk.%d.ffn_up.bias"`              // ffn
	Down      nn.Tensor `gguf:"blk.%d.ffn_down.weight"`          // dim x ffn
	DownB     nn.Tensor `gguf:"blk.%d.ffn_down.bias"`            // dim
	OutNorm   nn.Tensor `gguf:"blk.%d.layer_output_norm.weight"` // dim
	OutNormB  nn.Tensor `gguf:"blk.%d.layer_output_norm.bias"`   // dim

	// Float views of the small tensors.
	bq, bk, bv, bo, attnNorm, attnNormB, upB, downB, outNorm, outNormB []float32
}

// Model is a loaded BERT encoder: read-only weights shared by its States.
type Model struct {
	config nn.EncoderConfig
	W      Weights
	attn   nn.EncoderAttention

	type0             []float32 // dim: row 0 of token_types.weight (nil without token types)
	embNorm, embNormB []float32 // dim
}

// Config returns the model's hyperparameters.
func (m *Model) Config() nn.EncoderConfig { return m.config }

// ReadConfig reads the encoder hyperparameters of f ({arch}.* keys, see
// nn.ReadEncoderConfig; the norm epsilon is attention.layer_norm_epsilon).
// Every missing or invalid key is named in one error.
func ReadConfig(f *gguf.File) (nn.EncoderConfig, error) {
	h := nn.NewHparams(f)
	c := nn.ReadEncoderConfig(h, f, "attention.layer_norm_epsilon")
	if kv := h.IntOr("attention.head_count_kv", c.Heads, 1, nn.MaxDim); kv != c.Heads {
		h.Check(false, "%s %d differs from %s %d (grouped-query attention is not BERT)",
			h.Key("attention.head_count_kv"), kv, h.Key("attention.head_count"), c.Heads)
	}
	if err := h.Err(); err != nil {
		return c, fmt.Errorf("bert: %w", err)
	}
	return c, nil
}

// Load binds and checks the weights of a BERT encoder.
func Load(f *gguf.File) (*Model, error) {
	c, err := ReadConfig(f)
	if err != nil {
		return nil, err
	}
	m := &Model{config: c}
	m.W.Layers = make([]Layer, c.Layers)
	if err := nn.BindModel(f, &m.W, m.W.Layers); err != nil {
		return nil, fmt.Errorf("bert: %s: %w", c.Arch, err)
	}
	if err := nn.Bind(f, &m.W.Head, 0); err != nil {
		return nil, fmt.Errorf("bert: %s: %w", c.Arch, err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("bert: %s: %w", c.Arch, err)
	}
	m.attn = nn.EncoderAttention{Heads: c.Heads, KVHeads: c.Heads, HeadDim: c.HeadDim, ValueDim: c.HeadDim,
		Scale: nn.DefaultScale(c.HeadDim), Causal: c.Causal}
	return m, nil
}

// check verifies every shape and type and takes the float views.
func (m *Model) check() error {
	c := &m.config
	w := &m.W
	if len(w.TokEmbd.Shape) != 2 || w.TokEmbd.Shape[0] != int64(c.Dim) || w.TokEmbd.Shape[1] < 1 {
		return fmt.Errorf("token_embd.weight has shape %v, want [%d vocab]", w.TokEmbd.Shape, c.Dim)
	}
	c.Vocab = w.TokEmbd.Rows()
	if w.TypeEmbd != nil {
		if len(w.TypeEmbd.Shape) != 2 || w.TypeEmbd.Shape[0] != int64(c.Dim) || w.TypeEmbd.Shape[1] < 1 {
			return fmt.Errorf("token_types.weight has shape %v, want [%d types]", w.TypeEmbd.Shape, c.Dim)
		}
		c.TokenTypes = w.TypeEmbd.Rows()
	}
	var ck nn.Checker
	matrix := func(t *nn.Tensor, cols, rows int) {
		ck.Shape(t, cols, rows)
		ck.Add(nn.CheckProduct(t))
	}
	// The embedding tables are read row by row (dequantized), any type.
	for _, t := range []*nn.Tensor{&w.TokEmbd, w.TypeEmbd, &w.PosEmbd} {
		if t == nil {
			continue
		}
		if _, e := t.Type.RowBytes(c.Dim); e != nil {
			ck.Add(fmt.Errorf("%s: %w", t.Name, e))
		}
	}
	ck.Shape(&w.PosEmbd, c.Dim, c.ContextLength)
	ck.Shape(&w.EmbNorm, c.Dim)
	ck.Shape(&w.EmbNormB, c.Dim)
	m.embNorm, m.embNormB = ck.Floats(&w.EmbNorm), ck.Floats(&w.EmbNormB)
	for i := range w.Layers {
		l := &w.Layers[i]
		matrix(&l.Wq, c.Dim, c.Dim)
		matrix(&l.Wk, c.Dim, c.Dim)
		matrix(&l.Wv, c.Dim, c.Dim)
		matrix(&l.Wo, c.Dim, c.Dim)
		matrix(&l.Up, c.Dim, c.FFN)
		matrix(&l.Down, c.FFN, c.Dim)
		for _, b := range []struct {
			t *nn.Tensor
			n int
			v *[]float32
		}{
			{&l.Bq, c.Dim, &l.bq}, {&l.Bk, c.Dim, &l.bk}, {&l.Bv, c.Dim, &l.bv}, {&l.Bo, c.Dim, &l.bo},
			{&l.AttnNorm, c.Dim, &l.attnNorm}, {&l.AttnNormB, c.Dim, &l.attnNormB},
			{&l.UpB, c.FFN, &l.upB}, {&l.DownB, c.Dim, &l.downB},
			{&l.OutNorm, c.Dim, &l.outNorm}, {&l.OutNormB, c.Dim, &l.outNormB},
		} {
			ck.Shape(b.t, b.n)
			*b.v = ck.Floats(b.t)
		}
	}
	w.Head.Check(&ck, c.Dim)
	if c.Pooling == nn.PoolRank && !w.Head.Present() {
		ck.Add(fmt.Errorf("pooling_type 4 (rank) needs a classification head (cls.weight or cls.output.weight), the file has none"))
	}
	if err := ck.Err(); err != nil {
		return err
	}
	if w.TypeEmbd != nil {
		m.type0 = make([]float32, c.Dim)
		return w.TypeEmbd.Row(0, m.type0)
	}
	return nil
}

// NewState allocates the activations for passes of up to maxTokens tokens
// (all texts of one Forward together), running on pool. maxTokens <= 0
// means the model's context length.
func (m *Model) NewState(maxTokens int, pool *parallel.Pool) (nn.EncoderState, error) {
	return m.newState(maxTokens, pool)
}

func (m *Model) newState(maxTokens int, pool *parallel.Pool) (*State, error) {
	c := &m.config
	if maxTokens <= 0 {
		maxTokens = c.ContextLength
	}
	if maxTokens > 1<<20 {
		return nil, fmt.Errorf("bert: %d tokens per pass is too many", maxTokens)
	}
	if pool == nil {
		return nil, errors.New("bert: NewState needs a worker pool")
	}
	n := maxTokens
	s := &State{m: m, pool: pool, maxTokens: n, mm: nn.Linear{Pool: pool}}
	s.x = make([]float32, n*c.Dim)
	s.xb = make([]float32, n*c.Dim)
	s.q = make([]float32, n*c.Dim)
	s.k = make([]float32, n*c.Dim)
	s.v = make([]float32, n*c.Dim)
	s.att = make([]float32, n*c.Dim)
	s.h = make([]float32, n*c.FFN)
	s.scratch = nn.NewEncoderAttnScratch(&m.attn, n)
	return s, nil
}
