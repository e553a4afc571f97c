package nn

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/gguf"
)

// DecoderConfig holds the hyperparameters of a llama-family decoder, read from
// the GGUF keys {arch}.*.
type DecoderConfig struct {
	Arch          string  // general.architecture
	Dim           int     // {arch}.embedding_length
	Layers        int     // {arch}.block_count
	Heads         int     // {arch}.attention.head_count
	KVHeads       int     // {arch}.attention.head_count_kv (default: Heads)
	HeadDim       int     // {arch}.attention.key_length (default: Dim/Heads)
	FFN           int     // {arch}.feed_forward_length
	Vocab         int     // rows of token_embd.weight
	ContextLength int     // {arch}.context_length: the trained context
	NormEps       float32 // {arch}.attention.layer_norm_rms_epsilon
	RopeDim       int     // {arch}.rope.dimension_count (default: HeadDim)
	RopeBase      float32 // {arch}.rope.freq_base (default 10000)
	RopeFreqScale float32 // 1/{arch}.rope.scaling.factor when rope.scaling.type is linear (default 1)
	RopeNeox      bool    // rotate pairs (i, i+RopeDim/2) (Qwen2) instead of (2i, 2i+1) (Llama)
}

// ErrMissingKey is wrapped by ReadDecoderConfig's error for absent required keys.
var ErrMissingKey = errors.New("missing metadata keys")

// ReadDecoderConfig reads the decoder hyperparameters from f. Every missing
// required key is named in one error.
func ReadDecoderConfig(f *gguf.File) (DecoderConfig, error) {
	c := DecoderConfig{Arch: f.Arch()}
	var missing []string
	req := func(suffix string) int {
		v, ok := f.Uint(f.ArchKey(suffix))
		if !ok {
			missing = append(missing, f.ArchKey(suffix))
			return 0
		}
		if v > 1<<30 {
			missing = append(missing, f.ArchKey(suffix)+" (out of range)")
			return 0
		}
		return int(v)
	}
	opt := func(suffix string, def int) int {
		v, ok := f.Uint(f.ArchKey(suffix))
		if !ok || v > 1<<30 {
			return def
		}
		return int(v)
	}
	c.Dim = req("embedding_length")
	c.Layers = req("block_count")
	c.Heads = req("attention.head_count")
	c.FFN = req("feed_forward_length")
	c.ContextLength = req("context_length")
	eps, ok := f.Float(f.ArchKey("attention.layer_norm_rms_epsilon"))
	if !ok {
		missing = append(missing, f.ArchKey("attention.layer_norm_rms_epsilon"))
	}
	c.NormEps = float32(eps)
	if len(missing) > 0 {
		return c, fmt.Errorf("nn: %s: %w: %s", c.Arch, ErrMissingKey, strings.Join(missing, ", "))
	}
	if c.Heads == 0 || c.Dim == 0 || c.Layers == 0 || c.FFN == 0 {
		return c, fmt.Errorf("nn: %s: zero dimension in embedding_length/block_count/head_count/feed_forward_length", c.Arch)
	}
	c.KVHeads = opt("attention.head_count_kv", c.Heads)
	c.HeadDim = opt("attention.key_length", c.Dim/c.Heads)
	c.RopeDim = opt("rope.dimension_count", c.HeadDim)
	c.RopeBase = 10000
	if v, ok := f.Float(f.ArchKey("rope.freq_base")); ok {
		c.RopeBase = float32(v)
	}
	c.RopeFreqScale = 1
	if typ, _ := f.String(f.ArchKey("rope.scaling.type")); typ == "linear" {
		if v, ok := f.Float(f.ArchKey("rope.scaling.factor")); ok && v > 0 {
			c.RopeFreqScale = float32(1 / v)
		}
	} else if typ != "" && typ != "none" {
		return c, fmt.Errorf("nn: %s: rope.scaling.type %q is not supported (linear and none are)", c.Arch, typ)
	}
	if c.KVHeads == 0 || c.Heads%c.KVHeads != 0 {
		return c, fmt.Errorf("nn: %s: head_count %d is not a multiple of head_count_kv %d", c.Arch, c.Heads, c.KVHeads)
	}
	if c.RopeDim > c.HeadDim || c.RopeDim%2 != 0 {
		return c, fmt.Errorf("nn: %s: rope.dimension_count %d does not fit head size %d", c.Arch, c.RopeDim, c.HeadDim)
	}
	return c, nil
}

// DecoderWeights are the tensors of a llama-family decoder, bound by name.
type DecoderWeights struct {
	TokEmbd   Tensor  `gguf:"token_embd.weight"`          // vocab x dim
	OutNorm   Tensor  `gguf:"output_norm.weight"`         // dim
	Output    *Tensor `gguf:"output.weight,optional"`     // vocab x dim; nil when tied to TokEmbd
	RopeFreqs *Tensor `gguf:"rope_freqs.weight,optional"` // RopeDim/2 frequency factors (Llama 3.1)
	Layers    []DecoderLayer
}

// DecoderLayer is one transformer block.
type DecoderLayer struct {
	AttnNorm Tensor  `gguf:"blk.%d.attn_norm.weight"`     // dim
	Wq       Tensor  `gguf:"blk.%d.attn_q.weight"`        // (heads*headDim) x dim
	Wk       Tensor  `gguf:"blk.%d.attn_k.weight"`        // (kvHeads*headDim) x dim
	Wv       Tensor  `gguf:"blk.%d.attn_v.weight"`        // (kvHeads*headDim) x dim
	Wo       Tensor  `gguf:"blk.%d.attn_output.weight"`   // dim x (heads*headDim)
	Bq       *Tensor `gguf:"blk.%d.attn_q.bias,optional"` // heads*headDim (Qwen2)
	Bk       *Tensor `gguf:"blk.%d.attn_k.bias,optional"` // kvHeads*headDim
	Bv       *Tensor `gguf:"blk.%d.attn_v.bias,optional"` // kvHeads*headDim
	FFNNorm  Tensor  `gguf:"blk.%d.ffn_norm.weight"`      // dim
	Gate     Tensor  `gguf:"blk.%d.ffn_gate.weight"`      // ffn x dim
	Up       Tensor  `gguf:"blk.%d.ffn_up.weight"`        // ffn x dim
	Down     Tensor  `gguf:"blk.%d.ffn_down.weight"`      // dim x ffn

	attnNorm, ffnNorm, bq, bk, bv []float32 // float views of the small tensors
}

// Decoder is a loaded llama-family decoder: read-only weights, shared by all
// its States.
type Decoder struct {
	Config  DecoderConfig
	W       DecoderWeights
	outNorm []float32
	ropeFF  []float32 // frequency factors, nil when absent
}

// NewDecoder binds and checks the weights of a decoder with config c. With
// biases, the Q/K/V biases are required (Qwen2).
func NewDecoder(f *gguf.File, c DecoderConfig, biases bool) (*Decoder, error) {
	d := &Decoder{Config: c}
	var missing []string
	collect := func(err error) error {
		if errors.Is(err, ErrMissingTensors) {
			_, list, _ := strings.Cut(err.Error(), ErrMissingTensors.Error()+": ")
			missing = append(missing, list)
			return nil
		}
		return err
	}
	if err := collect(Bind(f, &d.W, 0)); err != nil {
		return nil, err
	}
	d.W.Layers = make([]DecoderLayer, c.Layers)
	for i := range d.W.Layers {
		l := &d.W.Layers[i]
		if err := collect(Bind(f, l, i)); err != nil {
			return nil, err
		}
		if biases {
			for _, b := range []struct {
				t    *Tensor
				name string
			}{{l.Bq, "attn_q"}, {l.Bk, "attn_k"}, {l.Bv, "attn_v"}} {
				if b.t == nil {
					missing = append(missing, fmt.Sprintf("blk.%d.%s.bias", i, b.name))
				}
			}
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("nn: %s: %w: %s", c.Arch, ErrMissingTensors, strings.Join(missing, ", "))
	}
	if err := d.check(); err != nil {
		return nil, fmt.Errorf("nn: %s: %w", c.Arch, err)
	}
	return d, nil
}

func (d *Decoder) check() error {
	c := &d.Config
	w := &d.W
	if len(w.TokEmbd.Shape) != 2 || w.TokEmbd.Shape[0] != int64(c.Dim) {
		return fmt.Errorf("token_embd.weight has shape %v, want [%d vocab]", w.TokEmbd.Shape, c.Dim)
	}
	c.Vocab = w.TokEmbd.Rows()
	qDim, kvDim := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	check := func(t *Tensor, shape ...int) error {
		if t == nil {
			return nil
		}
		return t.CheckShape(shape...)
	}
	var err error
	floats := func(t *Tensor) []float32 {
		if t == nil || err != nil {
			return nil
		}
		var f []float32
		f, err = t.Floats()
		return f
	}
	errs := []error{check(&w.OutNorm, c.Dim), check(w.Output, c.Dim, c.Vocab)}
	if w.RopeFreqs != nil {
		errs = append(errs, check(w.RopeFreqs, c.RopeDim/2))
	}
	for i := range w.Layers {
		l := &w.Layers[i]
		errs = append(errs,
			check(&l.AttnNorm, c.Dim), check(&l.Wq, c.Dim, qDim), check(&l.Wk, c.Dim, kvDim),
			check(&l.Wv, c.Dim, kvDim), check(&l.Wo, qDim, c.Dim), check(l.Bq, qDim), check(l.Bk, kvDim),
			check(l.Bv, kvDim), check(&l.FFNNorm, c.Dim), check(&l.Gate, c.Dim, c.FFN),
			check(&l.Up, c.Dim, c.FFN), check(&l.Down, c.FFN, c.Dim))
		l.attnNorm, l.ffnNorm = floats(&l.AttnNorm), floats(&l.FFNNorm)
		l.bq, l.bk, l.bv = floats(l.Bq), floats(l.Bk), floats(l.Bv)
	}
	d.outNorm = floats(&w.OutNorm)
	d.ropeFF = floats(w.RopeFreqs)
	errs = append(errs, err)
	return errors.Join(errs...)
}

// Output returns the LM head (output.weight, or token_embd.weight when tied).
func (d *Decoder) Output() *Tensor {
	if d.W.Output != nil {
		return d.W.Output
	}
	return &d.W.TokEmbd
}

// Matrices returns the decoder's weight matrices, each once: the token
// embeddings (also the LM head when it is tied), the LM head if separate,
// then every layer's projections.
func (d *Decoder) Matrices() []*Tensor {
	w := &d.W
	ts := []*Tensor{&w.TokEmbd}
	if w.Output != nil {
		ts = append(ts, w.Output)
	}
	for i := range w.Layers {
		l := &w.Layers[i]
		ts = append(ts, &l.Wq, &l.Wk, &l.Wv, &l.Wo, &l.Gate, &l.Up, &l.Down)
	}
	return ts
}

// StateBytes returns the memory NewState(ctxLen, maxBatch, ...) allocates:
// the KV cache (layers x ctxLen x 2 x KV width x 4 bytes) and the
// activations of a batch, so a caller can refuse a context that cannot fit
// before allocating it.
func (d *Decoder) StateBytes(ctxLen, maxBatch int) int64 {
	c := &d.Config
	if maxBatch <= 0 {
		maxBatch = 64
	}
	maxBatch = min(maxBatch, ctxLen)
	qDim, kvDim := int64(c.Heads*c.HeadDim), int64(c.KVHeads*c.HeadDim)
	kv := int64(c.Layers) * int64(ctxLen) * 2 * kvDim
	act := int64(maxBatch) * (2*int64(c.Dim) + 2*qDim + 2*kvDim + 2*int64(c.FFN) + int64(c.RopeDim))
	return 4 * (kv + act + int64(c.Heads)*int64(ctxLen))
}

// ErrContextFull is returned when a Forward would write past the KV cache.
var ErrContextFull = errors.New("context full")

// State is one sequence's activations and KV cache. It is not safe for
// concurrent use; several States may share one Decoder.
type State struct {
	d        *Decoder
	pool     *parallel.Pool
	ctxLen   int // KV cache capacity in positions
	maxBatch int // tokens per Forward chunk

	kc, vc [][]float32 // (layer) ctxLen x kvDim, F32 KV cache
	x      []float32   // maxBatch x dim: the residual stream
	xb     []float32   // maxBatch x dim: normed input / layer output
	q      []float32   // maxBatch x qDim
	k, v   []float32   // maxBatch x kvDim
	att    []float32   // maxBatch x qDim: attention output
	hg, hu []float32   // maxBatch x ffn
	scores []float32   // heads x ctxLen: attention scores, one row per head
	rcos   []float32   // maxBatch x ropeDim/2
	rsin   []float32   // maxBatch x ropeDim/2
	act    []byte      // quantized activations, maxBatch rows
	mm     Linear      // the weight products

	fusedW   [3]*Tensor   // the products of one fused loop (Q/K/V or gate/up)
	fusedOut [3][]float32 // their outputs

	attnLayer, attnN, attnPos int              // the chunk attnHeads works on
	attnHeads                 func(lo, hi int) // s.attnHeads, bound once
}

// NewState allocates a State with a KV cache of ctxLen positions, processing
// up to maxBatch tokens per layer pass, on pool.
func (d *Decoder) NewState(ctxLen, maxBatch int, pool *parallel.Pool) (*State, error) {
	c := &d.Config
	if ctxLen <= 0 {
		return nil, fmt.Errorf("nn: context length %d must be positive", ctxLen)
	}
	if maxBatch <= 0 {
		maxBatch = 64
	}
	maxBatch = min(maxBatch, ctxLen)
	qDim, kvDim := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	s := &State{d: d, pool: pool, ctxLen: ctxLen, maxBatch: maxBatch}
	s.kc = make([][]float32, c.Layers)
	s.vc = make([][]float32, c.Layers)
	for i := range s.kc {
		s.kc[i] = make([]float32, ctxLen*kvDim)
		s.vc[i] = make([]float32, ctxLen*kvDim)
	}
	s.x = make([]float32, maxBatch*c.Dim)
	s.xb = make([]float32, maxBatch*c.Dim)
	s.q = make([]float32, maxBatch*qDim)
	s.k = make([]float32, maxBatch*kvDim)
	s.v = make([]float32, maxBatch*kvDim)
	s.att = make([]float32, maxBatch*qDim)
	s.hg = make([]float32, maxBatch*c.FFN)
	s.hu = make([]float32, maxBatch*c.FFN)
	s.scores = make([]float32, c.Heads*ctxLen)
	s.rcos = make([]float32, maxBatch*c.RopeDim/2)
	s.rsin = make([]float32, maxBatch*c.RopeDim/2)
	s.mm = Linear{Pool: pool}
	s.attnHeads = s.heads
	return s, nil
}

// ContextLen returns the KV cache capacity in positions.
func (s *State) ContextLen() int { return s.ctxLen }

// Vocab returns the number of logits per position.
func (s *State) Vocab() int { return s.d.Config.Vocab }

// Forward runs tokens at positions pos, pos+1, ... through the model, storing
// their keys and values in the cache. Logits go to logits: for every token
// (len(tokens) x vocab) when all is set, else for the last token only (vocab);
// with nil logits no logits are computed.
// Tokens are processed in chunks of the State's batch size, each chunk through
// every layer together.
func (s *State) Forward(tokens []int, pos int, logits []float32, all bool) error {
	c := &s.d.Config
	if pos < 0 || len(tokens) > s.ctxLen-pos {
		return fmt.Errorf("nn: %w: %d tokens at position %d exceed the context of %d", ErrContextFull, len(tokens), pos, s.ctxLen)
	}
	want := c.Vocab
	if all {
		want *= len(tokens)
	}
	if logits != nil && len(logits) < want {
		return fmt.Errorf("nn: logits buffer holds %d values, need %d", len(logits), want)
	}
	for _, t := range tokens {
		if t < 0 || t >= c.Vocab {
			return fmt.Errorf("nn: token id %d out of range [0,%d)", t, c.Vocab)
		}
	}
	for start := 0; start < len(tokens); start += s.maxBatch {
		end := min(start+s.maxBatch, len(tokens))
		var out []float32
		switch {
		case logits == nil:
		case all:
			out = logits[start*c.Vocab : end*c.Vocab]
		case end == len(tokens):
			out = logits[:c.Vocab]
		}
		if err := s.forward(tokens[start:end], pos+start, out, all); err != nil {
			return err
		}
	}
	return nil
}

// forward runs one chunk of at most maxBatch tokens.
func (s *State) forward(tokens []int, pos int, logits []float32, all bool) error {
	d, c := s.d, &s.d.Config
	n := len(tokens)
	dim, qDim, kvDim := c.Dim, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	x, xb := s.x[:n*dim], s.xb[:n*dim]

	for i, t := range tokens {
		if err := d.W.TokEmbd.Row(t, x[i*dim:(i+1)*dim]); err != nil {
			return err
		}
	}
	s.ropeTables(n, pos)

	for li := range d.W.Layers {
		l := &d.W.Layers[li]
		// Attention: norm, Q/K/V projections (+bias), RoPE, cache, attend, project.
		for i := 0; i < n; i++ {
			kernels.RMSNorm(xb[i*dim:(i+1)*dim], x[i*dim:(i+1)*dim], l.attnNorm, c.NormEps)
		}
		q, k, v := s.q[:n*qDim], s.k[:n*kvDim], s.v[:n*kvDim]
		s.fusedW = [3]*Tensor{&l.Wq, &l.Wk, &l.Wv}
		s.fusedOut = [3][]float32{q, k, v}
		s.mm.MatMulFused(s.fusedW[:], xb, n, s.fusedOut[:])
		addBias(q, l.bq)
		addBias(k, l.bk)
		addBias(v, l.bv)
		for i := 0; i < n; i++ {
			s.rope(q[i*qDim:(i+1)*qDim], c.Heads, i)
			s.rope(k[i*kvDim:(i+1)*kvDim], c.KVHeads, i)
		}
		copy(s.kc[li][pos*kvDim:], k)
		copy(s.vc[li][pos*kvDim:], v)
		s.attention(li, n, pos)
		s.mm.MatMul(&l.Wo, s.att[:n*qDim], n, xb, &s.act)
		kernels.Add(x, x, xb)

		// Feed-forward: norm, SwiGLU, down projection.
		for i := 0; i < n; i++ {
			kernels.RMSNorm(xb[i*dim:(i+1)*dim], x[i*dim:(i+1)*dim], l.ffnNorm, c.NormEps)
		}
		hg, hu := s.hg[:n*c.FFN], s.hu[:n*c.FFN]
		s.fusedW = [3]*Tensor{&l.Gate, &l.Up}
		s.fusedOut = [3][]float32{hg, hu}
		s.mm.MatMulFused(s.fusedW[:2], xb, n, s.fusedOut[:2])
		for i := 0; i < n; i++ { // row by row, as ggml: the vector/tail split is per row
			kernels.SwiGLU(hg[i*c.FFN:(i+1)*c.FFN], hg[i*c.FFN:(i+1)*c.FFN], hu[i*c.FFN:(i+1)*c.FFN])
		}
		s.mm.MatMul(&l.Down, hg, n, xb, &s.act)
		kernels.Add(x, x, xb)
	}

	// Final norm and LM head, for the rows whose logits are wanted.
	if logits == nil {
		return nil
	}
	first := 0
	if !all {
		first = n - 1
	}
	for i := first; i < n; i++ {
		kernels.RMSNorm(xb[i*dim:(i+1)*dim], x[i*dim:(i+1)*dim], d.outNorm, c.NormEps)
	}
	s.mm.MatMul(d.Output(), xb[first*dim:n*dim], n-first, logits, &s.act)
	return nil
}

func addBias(x, b []float32) {
	if b == nil {
		return
	}
	for i := 0; i < len(x); i += len(b) {
		kernels.Add(x[i:i+len(b)], x[i:i+len(b)], b)
	}
}

// ropeTables fills the cos/sin tables for positions pos..pos+n-1 the way ggml
// does: theta = p * base^(-2i/ropeDim), built by repeated float32
// multiplication, divided by the frequency factor and scaled by freq_scale.
func (s *State) ropeTables(n, pos int) {
	c := &s.d.Config
	half := c.RopeDim / 2
	thetaScale := float32(math.Pow(float64(c.RopeBase), -2.0/float64(c.RopeDim)))
	for i := 0; i < n; i++ {
		theta := float32(pos + i)
		for j := 0; j < half; j++ {
			t := theta
			if s.d.ropeFF != nil {
				t /= s.d.ropeFF[j]
			}
			t *= c.RopeFreqScale
			s.rcos[i*half+j] = float32(math.Cos(float64(t)))
			s.rsin[i*half+j] = float32(math.Sin(float64(t)))
			theta *= thetaScale
		}
	}
}

// rope rotates the first RopeDim values of each of heads heads of x, for the
// i-th token of the chunk.
func (s *State) rope(x []float32, heads, i int) {
	c := &s.d.Config
	half := c.RopeDim / 2
	cos, sin := s.rcos[i*half:(i+1)*half], s.rsin[i*half:(i+1)*half]
	for h := 0; h < heads; h++ {
		hx := x[h*c.HeadDim : (h+1)*c.HeadDim]
		for j := 0; j < half; j++ {
			a, b := 2*j, 2*j+1
			if c.RopeNeox {
				a, b = j, j+half
			}
			x0, x1 := hx[a], hx[b]
			// Explicit conversions keep Go from fusing these into FMAs on
			// arm64, so every platform computes the same bits.
			hx[a] = float32(x0*cos[j]) - float32(x1*sin[j])
			hx[b] = float32(x0*sin[j]) + float32(x1*cos[j])
		}
	}
}

// attention computes causal grouped-query attention of the chunk's n queries
// (at positions pos..pos+n-1) over the cache of layer li, into s.att. The
// arithmetic follows ggml's (see kernels.AttnDot, Softmax, AttnValues): the
// scores are the dot products times the float32 1/sqrtf(headDim).
func (s *State) attention(li, n, pos int) {
	s.attnLayer, s.attnN, s.attnPos = li, n, pos
	s.pool.For(s.d.Config.Heads, 1, s.attnHeads)
}

// heads runs attention heads [lo,hi) for the chunk set up by attention. It
// is bound once per State (attnHeads), so attention allocates nothing.
func (s *State) heads(lo, hi int) {
	c := &s.d.Config
	li, n, pos := s.attnLayer, s.attnN, s.attnPos
	hd, qDim, kvDim := c.HeadDim, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	group := c.Heads / c.KVHeads
	scale := 1 / float32(math.Sqrt(float64(hd))) // 1.0f/sqrtf(head_dim), as llama.cpp
	kc, vc := s.kc[li], s.vc[li]
	for h := lo; h < hi; h++ {
		kvh := h / group
		scores := s.scores[h*s.ctxLen : (h+1)*s.ctxLen]
		for i := 0; i < n; i++ {
			q := s.q[i*qDim+h*hd : i*qDim+(h+1)*hd]
			T := pos + i + 1
			for t := 0; t < T; t++ {
				scores[t] = kernels.AttnDot(q, kc[t*kvDim+kvh*hd:t*kvDim+(kvh+1)*hd]) * scale
			}
			kernels.Softmax(scores[:T])
			kernels.AttnValues(s.att[i*qDim+h*hd:i*qDim+(h+1)*hd], scores[:T], vc[kvh*hd:], kvDim)
		}
	}
}
