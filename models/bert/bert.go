// Package bert loads BERT-style text encoders from GGUF files as llama.cpp
// writes them (general.architecture "bert": BGE, MiniLM, E5, GTE and the
// other BertModel conversions) and runs them on edgeai's own kernels:
// token + position + token-type embeddings, a LayerNorm, then post-norm
// blocks of bidirectional multi-head attention and a GELU feed-forward
// network, every projection with a bias. Weights stay in the memory map,
// quantized ones included; activations are quantized for the weight type's
// dot product the way ggml does.
//
// A State runs many texts in one pass: their tokens are packed back to back
// (no padding), every matrix product covers all of them at once, and each
// text attends only to its own tokens. The work is split across the worker
// pool: the weight rows of every product, the (text, head) pairs of the
// attention, the tokens of the norms and activations.
//
// The arithmetic follows ggml-cpu (llama.cpp c392e50) so that the vectors
// agree with llama.cpp's: LayerNorm with float64 sums, GELU in its tanh form
// read from a float16 table, softmax with float64 sums, mean pooling over
// all tokens.
package bert

import (
	"errors"
	"fmt"
	"strings"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
)

func init() { nn.RegisterEncoder("bert", func(f *gguf.File) (nn.Encoder, error) { return Load(f) }) }

// ErrMissingKey is wrapped by Load's error for absent required metadata.
var ErrMissingKey = errors.New("missing metadata keys")

// Weights are the tensors of a BERT encoder, bound by name.
type Weights struct {
	TokEmbd  nn.Tensor `gguf:"token_embd.weight"`      // vocab x dim
	TypeEmbd nn.Tensor `gguf:"token_types.weight"`     // tokenTypes x dim (row 0 is used: single texts)
	PosEmbd  nn.Tensor `gguf:"position_embd.weight"`   // contextLength x dim
	EmbNorm  nn.Tensor `gguf:"token_embd_norm.weight"` // dim
	EmbNormB nn.Tensor `gguf:"token_embd_norm.bias"`   // dim
	Layers   []Layer
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

	type0             []float32 // dim: row 0 of token_types.weight
	embNorm, embNormB []float32 // dim
}

// Config returns the model's hyperparameters.
func (m *Model) Config() nn.EncoderConfig { return m.config }

// ReadConfig reads the encoder hyperparameters of f ({arch}.* keys). Every
// missing required key is named in one error. Absent optional keys take
// llama.cpp's defaults: attention.causal false, pooling_type none.
func ReadConfig(f *gguf.File) (nn.EncoderConfig, error) {
	c := nn.EncoderConfig{Arch: f.Arch()}
	var missing []string
	req := func(suffix string) int {
		v, ok := f.Uint(f.ArchKey(suffix))
		switch {
		case !ok:
			missing = append(missing, f.ArchKey(suffix))
		case v == 0 || v > 1<<24:
			missing = append(missing, fmt.Sprintf("%s (%d is out of range)", f.ArchKey(suffix), v))
		default:
			return int(v)
		}
		return 0
	}
	c.Dim = req("embedding_length")
	c.Layers = req("block_count")
	c.Heads = req("attention.head_count")
	c.FFN = req("feed_forward_length")
	c.ContextLength = req("context_length")
	eps, ok := f.Float(f.ArchKey("attention.layer_norm_epsilon"))
	if !ok {
		missing = append(missing, f.ArchKey("attention.layer_norm_epsilon"))
	}
	c.NormEps = float32(eps)
	if len(missing) > 0 {
		return c, fmt.Errorf("bert: %s: %w: %s", c.Arch, ErrMissingKey, strings.Join(missing, ", "))
	}
	if c.Layers > 1024 || c.Heads > c.Dim || c.Dim%c.Heads != 0 {
		return c, fmt.Errorf("bert: %s: %d layers, %d heads for embedding length %d: not a BERT shape", c.Arch, c.Layers, c.Heads, c.Dim)
	}
	c.HeadDim = c.Dim / c.Heads
	if kv, ok := f.Uint(f.ArchKey("attention.head_count_kv")); ok && int(kv) != c.Heads {
		return c, fmt.Errorf("bert: %s: attention.head_count_kv %d differs from head_count %d (grouped-query attention is not BERT)", c.Arch, kv, c.Heads)
	}
	if _, ok := f.Lookup(f.ArchKey("attention.causal")); ok {
		v, ok := f.Bool(f.ArchKey("attention.causal"))
		if !ok {
			return c, fmt.Errorf("bert: %s is not a bool", f.ArchKey("attention.causal"))
		}
		c.Causal = v
	}
	if _, ok := f.Lookup(f.ArchKey("pooling_type")); ok {
		v, ok := f.Uint(f.ArchKey("pooling_type"))
		if !ok {
			if i, isInt := f.Int(f.ArchKey("pooling_type")); !isInt || i != -1 {
				return c, fmt.Errorf("bert: %s is not a pooling type", f.ArchKey("pooling_type"))
			}
			v = 0 // -1: unspecified, llama.cpp's default (none)
		}
		switch nn.Pooling(v) {
		case nn.PoolNone, nn.PoolMean, nn.PoolCLS, nn.PoolLast:
			c.Pooling = nn.Pooling(v)
		case 4:
			return c, fmt.Errorf("bert: %s: pooling_type 4 (rank: a reranker's classification head) is not supported", c.Arch)
		default:
			return c, fmt.Errorf("bert: %s: unknown pooling_type %d", c.Arch, v)
		}
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
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("bert: %s: %w", c.Arch, err)
	}
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
	if len(w.TypeEmbd.Shape) != 2 || w.TypeEmbd.Shape[0] != int64(c.Dim) || w.TypeEmbd.Shape[1] < 1 {
		return fmt.Errorf("token_types.weight has shape %v, want [%d types]", w.TypeEmbd.Shape, c.Dim)
	}
	c.TokenTypes = w.TypeEmbd.Rows()
	var errs []error
	var err error
	floats := func(t *nn.Tensor, n int) []float32 {
		if e := t.CheckShape(n); e != nil {
			errs = append(errs, e)
			return nil
		}
		var v []float32
		v, err = t.Floats()
		errs = append(errs, err)
		return v
	}
	matrix := func(t *nn.Tensor, cols, rows int) {
		if e := t.CheckShape(cols, rows); e != nil {
			errs = append(errs, e)
			return
		}
		if e := kernels.Check(t.Type); e != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.Name, e))
			return
		}
		if _, e := t.Type.RowBytes(cols); e != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.Name, e))
			return
		}
		if _, e := kernels.ActivationType(t.Type).RowBytes(cols); e != nil {
			errs = append(errs, fmt.Errorf("%s: activations: %w", t.Name, e))
		}
	}
	// The embedding tables are read row by row (dequantized), any type.
	for _, t := range []*nn.Tensor{&w.TokEmbd, &w.TypeEmbd, &w.PosEmbd} {
		if _, e := t.Type.RowBytes(c.Dim); e != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.Name, e))
		}
	}
	errs = append(errs, w.PosEmbd.CheckShape(c.Dim, c.ContextLength))
	m.embNorm, m.embNormB = floats(&w.EmbNorm, c.Dim), floats(&w.EmbNormB, c.Dim)
	for i := range w.Layers {
		l := &w.Layers[i]
		matrix(&l.Wq, c.Dim, c.Dim)
		matrix(&l.Wk, c.Dim, c.Dim)
		matrix(&l.Wv, c.Dim, c.Dim)
		matrix(&l.Wo, c.Dim, c.Dim)
		matrix(&l.Up, c.Dim, c.FFN)
		matrix(&l.Down, c.FFN, c.Dim)
		l.bq, l.bk, l.bv, l.bo = floats(&l.Bq, c.Dim), floats(&l.Bk, c.Dim), floats(&l.Bv, c.Dim), floats(&l.Bo, c.Dim)
		l.attnNorm, l.attnNormB = floats(&l.AttnNorm, c.Dim), floats(&l.AttnNormB, c.Dim)
		l.upB, l.downB = floats(&l.UpB, c.FFN), floats(&l.DownB, c.Dim)
		l.outNorm, l.outNormB = floats(&l.OutNorm, c.Dim), floats(&l.OutNormB, c.Dim)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	m.type0 = make([]float32, c.Dim)
	return w.TypeEmbd.Row(0, m.type0)
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
	s.vt = make([]float32, n*c.Dim)
	s.att = make([]float32, n*c.Dim)
	s.h = make([]float32, n*c.FFN)
	s.scores = make([]float32, c.Heads*n)
	return s, nil
}
