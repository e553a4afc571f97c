package nn

import (
	"github.com/edgeai-go/edgeai/models/gguf"
)

// Transformer holds the hyperparameters most decoders share, read from the
// keys llama.cpp's loader reads for them. Architectures embed it and add
// their own.
type Transformer struct {
	Config
	Heads    int     // {arch}.attention.head_count
	KVHeads  []int   // {arch}.attention.head_count_kv: one number or one per layer (0: a layer without attention); default Heads
	HeadDim  int     // {arch}.attention.key_length; default Dim/Heads
	ValueDim int     // {arch}.attention.value_length; default HeadDim
	FFN      int     // {arch}.feed_forward_length
	NormEps  float32 // {arch}.attention.layer_norm_rms_epsilon
	Window   int     // {arch}.attention.sliding_window; 0 = none
	// Rope: {arch}.rope.dimension_count (default HeadDim), rope.freq_base
	// (default 10000), rope.scaling.type (default linear) with
	// rope.scaling.factor or rope.scale_linear (FreqScale = 1/factor; none
	// = 1); NEOX or not is the architecture's to set.
	Rope Rope
}

// ReadTransformer reads t's keys from h (Vocab stays 0: it is the row count
// of token_embd.weight, known once the weights are bound). Errors go to h.
func ReadTransformer(h *Hparams, f *gguf.File) Transformer {
	var t Transformer
	t.Arch = f.Arch()
	t.Dim = h.Int("embedding_length", 1, MaxDim)
	t.Layers = h.Int("block_count", 1, 4096)
	t.Heads = h.Int("attention.head_count", 1, 4096)
	t.FFN = h.Int("feed_forward_length", 1, MaxDim)
	t.ContextLength = h.Int("context_length", 1, 1<<30)
	t.NormEps = h.Float("attention.layer_norm_rms_epsilon", 0, 1)
	heads := max(t.Heads, 1)
	t.KVHeads = h.PerLayer("attention.head_count_kv", max(t.Layers, 0), heads, 0, heads)
	t.HeadDim = h.IntOr("attention.key_length", max(t.Dim/heads, 1), 1, MaxDim)
	t.ValueDim = h.IntOr("attention.value_length", t.HeadDim, 1, MaxDim)
	t.Window = h.IntOr("attention.sliding_window", 0, 0, 1<<30)
	t.Rope = Rope{
		Dims:      h.IntOr("rope.dimension_count", t.HeadDim, 2, MaxDim),
		Base:      h.FloatOr("rope.freq_base", 10000, 1e-3, 1e12),
		FreqScale: 1,
	}
	// As llama.cpp: the type defaults to linear, the factor (or the older
	// rope.scale_linear) to none; type none ignores the factor.
	factor := h.FloatOr("rope.scaling.factor", 0, 0, 1e6)
	if factor == 0 {
		factor = h.FloatOr("rope.scale_linear", 0, 0, 1e6)
	}
	switch typ := h.String("rope.scaling.type", "linear"); typ {
	case "none":
	case "linear", "":
		if factor != 0 {
			t.Rope.FreqScale = 1 / factor
		}
	default:
		h.Check(false, "%s: %q is not supported (none and linear are; Phi-3's LongRoPE is read by phi3)", h.Key("rope.scaling.type"), typ)
	}
	for i, kv := range t.KVHeads {
		h.Check(kv == 0 || t.Heads%kv == 0, "%s: layer %d: %d KV heads do not divide %d heads (%s)",
			h.Key("attention.head_count_kv"), i, kv, t.Heads, h.Key("attention.head_count"))
	}
	h.Check(t.Rope.Dims <= t.HeadDim && t.Rope.Dims%2 == 0, "%s: %d does not fit a head of %d values (even, at most the head)",
		h.Key("rope.dimension_count"), t.Rope.Dims, t.HeadDim)
	return t
}

// MaxKVHeads returns the most KV heads of any layer.
func (t *Transformer) MaxKVHeads() int {
	n := 0
	for _, k := range t.KVHeads {
		n = max(n, k)
	}
	return n
}

// Dims returns the buffer sizes of a llama-style forward pass of t with
// ropes rope tables.
func (t *Transformer) Dims(ropes int) Dims {
	kv := t.MaxKVHeads()
	return Dims{Dim: t.Dim, Q: t.Heads * t.HeadDim, KV: kv * t.HeadDim, VOut: t.Heads * t.ValueDim, Value: kv * t.ValueDim,
		FFN: t.FFN, Heads: t.Heads, Vocab: t.Vocab, Ropes: ropes}
}

// NewKVCache returns a cache of ctxLen positions with a KV cache for every
// layer that has KV heads, of o's types; layers with windows[i] > 0 (nil:
// none) keep a sliding-window ring instead of the whole context.
func (t *Transformer) NewKVCache(ctxLen int, o CacheOptions, windows []int) (*Cache, error) {
	c := NewCache(t.Layers, ctxLen)
	c.batch = o.Batch
	for i, kvh := range t.KVHeads {
		if kvh == 0 {
			continue
		}
		slots, w := o.slots(ctxLen, windowOf(windows, i))
		kv, err := NewKV(slots, kvh, t.HeadDim, t.ValueDim, o.K, o.V, w)
		if err != nil {
			return nil, err
		}
		c.KV[i] = kv
	}
	return c, nil
}

// KVCacheBytes returns the memory of NewKVCache(ctxLen, o, windows).
func (t *Transformer) KVCacheBytes(ctxLen int, o CacheOptions, windows []int) int64 {
	var b int64
	for i, kvh := range t.KVHeads {
		if kvh > 0 {
			slots, w := o.slots(ctxLen, windowOf(windows, i))
			b += KVBytes(slots, kvh, t.HeadDim, t.ValueDim, o.K, o.V, w)
		}
	}
	return b
}

func windowOf(windows []int, i int) int {
	if i < len(windows) {
		return windows[i]
	}
	return 0
}

// Attention returns layer i's attention with the default scale.
func (t *Transformer) Attention(i int) Attention {
	return Attention{Heads: t.Heads, KVHeads: t.KVHeads[i], HeadDim: t.HeadDim, ValueDim: t.ValueDim, Scale: DefaultScale(t.HeadDim)}
}
