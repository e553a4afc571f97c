package nn

import (
	"fmt"
	"math"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/gguf"
)

// ReadEncoderConfig reads, through h, the hyperparameters every encoder
// has: {arch}.embedding_length, block_count, attention.head_count,
// feed_forward_length and context_length (required), attention.causal
// (default false), pooling_type (default none; -1 also means none, as
// llama.cpp writes "unspecified"), and the norm epsilon {arch}.epsKey
// (attention.layer_norm_epsilon for LayerNorm models,
// attention.layer_norm_rms_epsilon for RMSNorm ones). HeadDim is
// embedding_length / head_count; Vocab and TokenTypes are left to the
// architecture (rows of its tensors). Errors go to h.
func ReadEncoderConfig(h *Hparams, f *gguf.File, epsKey string) EncoderConfig {
	c := EncoderConfig{Arch: f.Arch()}
	c.Dim = h.Int("embedding_length", 1, MaxDim)
	c.Layers = h.Int("block_count", 1, 4096)
	c.Heads = h.Int("attention.head_count", 1, 4096)
	c.FFN = h.Int("feed_forward_length", 1, MaxDim)
	c.ContextLength = h.Int("context_length", 1, 1<<20)
	c.NormEps = h.Float(epsKey, 0, 1)
	c.Causal = h.Bool("attention.causal", false)
	p := h.IntOr("pooling_type", 0, -1, int(PoolRank))
	c.Pooling = Pooling(max(p, 0))
	if c.Heads > 0 {
		h.Check(c.Dim%c.Heads == 0, "%s: %d heads do not divide %s %d", h.Key("attention.head_count"), c.Heads, h.Key("embedding_length"), c.Dim)
		c.HeadDim = max(c.Dim/c.Heads, 1)
	}
	return c
}

// HeadState is implemented by the EncoderStates of models with layers after
// the pooling: EmbeddingGemma's dense projections, a reranker's
// classification head.
type HeadState interface {
	EncoderState
	// HeadOutputs returns how many values Head writes per vector for
	// pooling p, or 0 when the model has nothing after p (the pooled
	// vector is then the output).
	HeadOutputs(p Pooling) int
	// Head runs the n vectors of x (n x Config().Dim: pooled vectors, or
	// token states for PoolNone) through the layers after pooling p into
	// out (n x HeadOutputs(p)).
	Head(p Pooling, x []float32, n int, out []float32) error
}

// RankInput is implemented by encoders whose classification head (pooling
// rank) reads another token than the first: Qwen3 rerankers read the last.
type RankInput interface {
	// RankPooling returns PoolCLS or PoolLast.
	RankPooling() Pooling
}

// ClassifierHead is a reranker's classification head, applied to one
// token's final state for pooling rank as llama.cpp does: s = tanh(Cls·x +
// ClsB) when Cls is present, then Out·s + OutB when Out is present (a bias
// absent adds nothing), then, with Softmax set, a softmax over the outputs
// (Qwen3 rerankers, whose two outputs are the "yes" and "no" logits). Bind
// it with Bind(f, &head, 0).
type ClassifierHead struct {
	Cls  *Tensor `gguf:"cls.weight,optional"`        // dim x dim (or outputs x dim without Out)
	ClsB *Tensor `gguf:"cls.bias,optional"`          // rows of Cls
	Out  *Tensor `gguf:"cls.output.weight,optional"` // outputs x rows of Cls (or dim)
	OutB *Tensor `gguf:"cls.output.bias,optional"`   // outputs

	Softmax bool

	clsB, outB []float32
	outputs    int
}

// Present reports whether the file has a classification head.
func (c *ClassifierHead) Present() bool { return c.Cls != nil || c.Out != nil }

// Check verifies the head's shapes for states of dim values and takes the
// float views of its biases.
func (c *ClassifierHead) Check(ck *Checker, dim int) {
	in := dim
	if c.Cls != nil {
		if !headShape(c.Cls, dim) {
			ck.Add(fmt.Errorf("nn: tensor %s has shape %v, want [%d n]", c.Cls.Name, c.Cls.Shape, dim))
			return
		}
		in = c.Cls.Rows()
		ck.Add(CheckProduct(c.Cls))
		ck.Shape(c.ClsB, in)
		c.clsB = ck.Floats(c.ClsB)
	}
	c.outputs = in
	if c.Out != nil {
		if !headShape(c.Out, in) {
			ck.Add(fmt.Errorf("nn: tensor %s has shape %v, want [%d n]", c.Out.Name, c.Out.Shape, in))
			return
		}
		c.outputs = c.Out.Rows()
		ck.Add(CheckProduct(c.Out))
		ck.Shape(c.OutB, c.outputs)
		c.outB = ck.Floats(c.OutB)
	}
}

// headShape reports whether t is a matrix of rows of cols values (a
// one-row matrix may be stored with one dimension, as ggml drops trailing
// ones).
func headShape(t *Tensor, cols int) bool {
	return (len(t.Shape) == 2 || len(t.Shape) == 1) && t.Shape[0] == int64(cols) && t.Rows() >= 1 && t.Rows() <= MaxDim
}

// CheckProduct returns an error unless Linear can multiply by t.
func CheckProduct(t *Tensor) error {
	if err := kernels.Check(t.Type); err != nil {
		return fmt.Errorf("nn: tensor %s: %w", t.Name, err)
	}
	if _, err := t.Type.RowBytes(t.Cols()); err != nil {
		return fmt.Errorf("nn: tensor %s: %w", t.Name, err)
	}
	if _, err := kernels.ActivationType(t.Type).RowBytes(t.Cols()); err != nil {
		return fmt.Errorf("nn: tensor %s: activations: %w", t.Name, err)
	}
	return nil
}

// Outputs returns the number of scores per input (after Check).
func (c *ClassifierHead) Outputs() int { return c.outputs }

// Apply runs the n states of x (n x dim) through the head into out (n x
// Outputs()), with lin's pool; tmp is grown as needed and reused.
func (c *ClassifierHead) Apply(lin *Linear, x []float32, n int, out []float32, tmp *[]float32, act *[]byte) {
	cur := x
	if c.Cls != nil {
		rows := c.Cls.Rows()
		if cap(*tmp) < n*rows {
			*tmp = make([]float32, n*rows)
		}
		s := (*tmp)[:n*rows]
		lin.MatMul(c.Cls, x, n, s, act)
		AddRows(s, c.clsB)
		for i, v := range s {
			s[i] = float32(math.Tanh(float64(v)))
		}
		cur = s
	}
	if c.Out != nil {
		lin.MatMul(c.Out, cur, n, out[:n*c.outputs], act)
		AddRows(out[:n*c.outputs], c.outB)
	} else {
		copy(out[:n*c.outputs], cur[:n*c.outputs])
	}
	if c.Softmax {
		for i := 0; i < n; i++ {
			softmaxRow(out[i*c.outputs : (i+1)*c.outputs])
		}
	}
}
