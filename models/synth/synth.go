// Package synth makes decoder models of real shapes with random weights,
// for speed and memory measurements where a trained model's numbers do not
// matter: TinyLlama-1.1B, SmolLM2-135M, Qwen3-0.6B, Gemma-3-1B and the other
// families edgeai runs (Shapes), or any other Shape of a supported
// architecture.
//
// A Model is a source of metadata and tensors whose rows are generated on
// demand, deterministically from (seed, tensor, row): it never holds the
// weights, so any size can be written in bounded memory, by any number of
// threads, always with the same bytes. Write it to a GGUF file, in F32, F16 or
// any quantization scheme, with models/quantize:
//
//	m, _ := synth.New(synth.TinyLlama, 1)
//	quantize.WriteFile(ctx, m, "tinyllama-random-F16.gguf", quantize.Options{Type: quantize.F16})
//
// Its vocabulary is synthetic but valid SentencePiece ("llama") data of the
// shape's size: the control tokens, 256 byte tokens and pieces built from
// letters, so text tokenizes into plausible pieces and runtime.Load accepts
// the file. The weights are random: generated text is gibberish.
package synth

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/quant"
)

// Shape holds a decoder's hyperparameters.
type Shape struct {
	Name     string  // short name, e.g. "tinyllama"
	Title    string  // general.name
	Arch     string  // general.architecture; "" is llama
	Vocab    int     // tokens
	Dim      int     // embedding length
	Layers   int     // transformer blocks
	Heads    int     // query heads
	KVHeads  int     // key/value heads (grouped-query attention)
	HeadSize int     // values per head; 0 = Dim/Heads
	FFN      int     // feed-forward length
	Context  int     // trained context length
	RopeBase float32 // RoPE frequency base
	RopeDims int     // rotated values per head; 0 = the head size
	NormEps  float32 // RMSNorm epsilon
	Tied     bool    // the output head is token_embd (no output.weight)
	Window   int     // attention.sliding_window (gemma2, gemma3); 0 = none
	// ConvLayers are lfm2's short-convolution layers (the others attend).
	ConvLayers []int
}

// The shapes of real models (from their published configurations).
var (
	// TinyLlama is TinyLlama-1.1B's shape (1,100,048,384 weights).
	TinyLlama = Shape{Name: "tinyllama", Title: "TinyLlama-1.1B shape, random weights", Vocab: 32000, Dim: 2048,
		Layers: 22, Heads: 32, KVHeads: 4, FFN: 5632, Context: 2048, RopeBase: 10000, NormEps: 1e-5}
	// SmolLM2_135M is SmolLM2-135M's shape (134,515,008 weights, tied
	// embeddings).
	SmolLM2_135M = Shape{Name: "smollm2-135m", Title: "SmolLM2-135M shape, random weights", Vocab: 49152, Dim: 576,
		Layers: 30, Heads: 9, KVHeads: 3, FFN: 1536, Context: 8192, RopeBase: 100000, NormEps: 1e-5, Tied: true}
	// Qwen3_0_6B is Qwen3-0.6B's shape: 128-value heads wider than the
	// embedding, q/k norms, tied embeddings.
	Qwen3_0_6B = Shape{Name: "qwen3-0.6b", Title: "Qwen3-0.6B shape, random weights", Arch: "qwen3", Vocab: 151936, Dim: 1024,
		Layers: 28, Heads: 16, KVHeads: 8, HeadSize: 128, FFN: 3072, Context: 40960, RopeBase: 1e6, NormEps: 1e-6, Tied: true}
	// Gemma3_1B is Gemma-3-1B's shape: a 262k vocabulary, one KV head of 256,
	// sliding windows of 512 on 5 layers of 6.
	Gemma3_1B = Shape{Name: "gemma3-1b", Title: "Gemma-3-1B shape, random weights", Arch: "gemma3", Vocab: 262144, Dim: 1152,
		Layers: 26, Heads: 4, KVHeads: 1, HeadSize: 256, FFN: 6912, Context: 32768, RopeBase: 1e6, NormEps: 1e-6, Tied: true, Window: 512}
	// Gemma3_270M is Gemma-3-270M's shape.
	Gemma3_270M = Shape{Name: "gemma3-270m", Title: "Gemma-3-270M shape, random weights", Arch: "gemma3", Vocab: 262144, Dim: 640,
		Layers: 18, Heads: 4, KVHeads: 1, HeadSize: 256, FFN: 2048, Context: 32768, RopeBase: 1e6, NormEps: 1e-6, Tied: true, Window: 512}
	// Gemma2_2B is Gemma-2-2B's shape.
	Gemma2_2B = Shape{Name: "gemma2-2b", Title: "Gemma-2-2B shape, random weights", Arch: "gemma2", Vocab: 256000, Dim: 2304,
		Layers: 26, Heads: 8, KVHeads: 4, HeadSize: 256, FFN: 9216, Context: 8192, RopeBase: 10000, NormEps: 1e-6, Tied: true, Window: 4096}
	// Phi4Mini is Phi-4-mini's shape: fused projections, 3/4 of each head
	// rotated, tied embeddings.
	Phi4Mini = Shape{Name: "phi4-mini", Title: "Phi-4-mini shape, random weights", Arch: "phi3", Vocab: 200064, Dim: 3072,
		Layers: 32, Heads: 24, KVHeads: 8, HeadSize: 128, FFN: 8192, Context: 131072, RopeBase: 10000, RopeDims: 96, NormEps: 1e-5, Tied: true}
	// SmolLM3_3B is SmolLM3-3B's shape (NoPE every fourth layer).
	SmolLM3_3B = Shape{Name: "smollm3-3b", Title: "SmolLM3-3B shape, random weights", Arch: "smollm3", Vocab: 128256, Dim: 2048,
		Layers: 36, Heads: 16, KVHeads: 4, FFN: 11008, Context: 65536, RopeBase: 5e6, NormEps: 1e-6, Tied: true}
	// Granite3_2B is Granite-3.3-2B's shape, with its multipliers.
	Granite3_2B = Shape{Name: "granite3-2b", Title: "Granite-3.3-2B shape, random weights", Arch: "granite", Vocab: 49159, Dim: 2048,
		Layers: 40, Heads: 32, KVHeads: 8, FFN: 8192, Context: 131072, RopeBase: 1e7, NormEps: 1e-5, Tied: true}
	// LFM2_350M is LFM2-350M's shape: 10 short-convolution and 6 attention
	// layers.
	LFM2_350M = Shape{Name: "lfm2-350m", Title: "LFM2-350M shape, random weights", Arch: "lfm2", Vocab: 65536, Dim: 1024,
		Layers: 16, Heads: 16, KVHeads: 8, FFN: 4608, Context: 128000, RopeBase: 1e6, NormEps: 1e-5, Tied: true,
		ConvLayers: []int{0, 1, 3, 4, 6, 7, 9, 11, 13, 15}}
	// OLMo2_1B is OLMo-2-1B's shape (post-norms, untied head).
	OLMo2_1B = Shape{Name: "olmo2-1b", Title: "OLMo-2-1B shape, random weights", Arch: "olmo2", Vocab: 100352, Dim: 2048,
		Layers: 16, Heads: 16, KVHeads: 16, FFN: 8192, Context: 4096, RopeBase: 500000, NormEps: 1e-6}
	// Qwen2_5_0_5B is Qwen2.5-0.5B's shape (Q/K/V biases, tied embeddings).
	Qwen2_5_0_5B = Shape{Name: "qwen2.5-0.5b", Title: "Qwen2.5-0.5B shape, random weights", Arch: "qwen2", Vocab: 151936, Dim: 896,
		Layers: 24, Heads: 14, KVHeads: 2, FFN: 4864, Context: 32768, RopeBase: 1e6, NormEps: 1e-6, Tied: true}
)

// Shapes returns the named shapes.
func Shapes() []Shape {
	return []Shape{TinyLlama, SmolLM2_135M, Qwen2_5_0_5B, Qwen3_0_6B, Gemma3_270M, Gemma3_1B, Gemma2_2B, Phi4Mini,
		SmolLM3_3B, Granite3_2B, LFM2_350M, OLMo2_1B}
}

// LookupShape returns the named shape with the given name.
func LookupShape(name string) (Shape, error) {
	var names []string
	for _, s := range Shapes() {
		if strings.EqualFold(s.Name, name) {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return Shape{}, fmt.Errorf("synth: unknown shape %q (want one of %s)", name, strings.Join(names, ", "))
}

// minVocab is the smallest vocabulary: 3 control tokens and 256 bytes.
const minVocab = 3 + 256

// Check reports whether the shape describes a model edgeai can load.
func (s Shape) Check() error {
	switch {
	case s.Vocab < minVocab || s.Vocab > 1<<20:
		return fmt.Errorf("synth: vocabulary of %d tokens (want %d to %d)", s.Vocab, minVocab, 1<<20)
	case s.Dim <= 0 || s.Layers <= 0 || s.Heads <= 0 || s.KVHeads <= 0 || s.FFN <= 0 || s.Context <= 0:
		return errors.New("synth: every dimension must be positive")
	case s.Dim > 1<<16 || s.FFN > 1<<18 || s.Layers > 1024 || s.Context > 1<<20:
		return errors.New("synth: dimensions too large")
	case s.HeadSize == 0 && s.Dim%s.Heads != 0 || s.Heads%s.KVHeads != 0:
		return fmt.Errorf("synth: %d heads do not divide dim %d, or %d KV heads do not divide them", s.Heads, s.Dim, s.KVHeads)
	case s.HeadDim()%2 != 0 || s.ropeDims()%2 != 0 || s.ropeDims() > s.HeadDim():
		return fmt.Errorf("synth: head size %d or rotated size %d is odd or too large (RoPE rotates pairs)", s.HeadDim(), s.ropeDims())
	case !(s.RopeBase > 0) || !(s.NormEps > 0):
		return errors.New("synth: RopeBase and NormEps must be positive")
	case !archs[s.arch()]:
		return fmt.Errorf("synth: architecture %q is not one synth writes", s.Arch)
	}
	for _, l := range s.ConvLayers {
		if l < 0 || l >= s.Layers {
			return fmt.Errorf("synth: convolution layer %d of %d", l, s.Layers)
		}
	}
	return nil
}

// archs are the architectures synth writes.
var archs = map[string]bool{"llama": true, "qwen2": true, "qwen3": true, "gemma2": true, "gemma3": true, "phi3": true,
	"smollm3": true, "granite": true, "lfm2": true, "olmo2": true}

func (s Shape) arch() string {
	if s.Arch == "" {
		return "llama"
	}
	return s.Arch
}

// HeadDim returns the size of one attention head.
func (s Shape) HeadDim() int {
	if s.HeadSize > 0 {
		return s.HeadSize
	}
	return s.Dim / s.Heads
}

func (s Shape) ropeDims() int {
	if s.RopeDims > 0 {
		return s.RopeDims
	}
	return s.HeadDim()
}

// Params returns the number of weights.
func (s Shape) Params() int64 {
	var n int64
	for _, t := range s.tensors() {
		n += t.rows * t.cols
	}
	return n
}

// kind selects a tensor's value distribution.
type kind uint8

const (
	kindEmbed  kind = iota // N(0, 1)
	kindMatrix             // N(0, 1/cols): keeps activations of order 1
	kindNorm               // U(0.9, 1.1)
	kindBias               // N(0, 0.1)
	kindConv               // N(0, 1/3): a short convolution's taps
)

// tensorSpec is one tensor: rows of cols values.
type tensorSpec struct {
	name       string
	cols, rows int64
	kind       kind
}

// tensors lists the model's tensors in the order convert_hf_to_gguf.py
// writes them (by block), with the names and shapes the architecture's
// loader binds.
func (s Shape) tensors() []tensorSpec {
	d, f, v := int64(s.Dim), int64(s.FFN), int64(s.Vocab)
	hd := int64(s.HeadDim())
	q, kv := int64(s.Heads)*hd, int64(s.KVHeads)*hd
	ts := []tensorSpec{{"token_embd.weight", d, v, kindEmbed}}
	arch := s.arch()
	for l := range s.Layers {
		p := fmt.Sprintf("blk.%d.", l)
		add := func(name string, cols, rows int64, k kind) { ts = append(ts, tensorSpec{p + name, cols, rows, k}) }
		if arch != "olmo2" {
			add("attn_norm.weight", d, 1, kindNorm)
		}
		switch {
		case arch == "lfm2" && slices.Contains(s.ConvLayers, l):
			add("shortconv.conv.weight", 3, d, kindConv)
			add("shortconv.in_proj.weight", d, 3*d, kindMatrix)
			add("shortconv.out_proj.weight", d, d, kindMatrix)
		case arch == "phi3":
			add("attn_qkv.weight", d, q+2*kv, kindMatrix)
			add("attn_output.weight", q, d, kindMatrix)
		default:
			add("attn_q.weight", d, q, kindMatrix)
			add("attn_k.weight", d, kv, kindMatrix)
			add("attn_v.weight", d, kv, kindMatrix)
			if arch == "qwen2" {
				add("attn_q.bias", q, 1, kindBias)
				add("attn_k.bias", kv, 1, kindBias)
				add("attn_v.bias", kv, 1, kindBias)
			}
			switch arch {
			case "qwen3", "gemma3", "lfm2":
				add("attn_q_norm.weight", hd, 1, kindNorm)
				add("attn_k_norm.weight", hd, 1, kindNorm)
			case "olmo2":
				add("attn_q_norm.weight", q, 1, kindNorm)
				add("attn_k_norm.weight", kv, 1, kindNorm)
			}
			add("attn_output.weight", q, d, kindMatrix)
		}
		switch arch {
		case "gemma2", "gemma3", "olmo2":
			add("post_attention_norm.weight", d, 1, kindNorm)
		}
		if arch != "olmo2" {
			add("ffn_norm.weight", d, 1, kindNorm)
		}
		if arch == "phi3" {
			add("ffn_up.weight", d, 2*f, kindMatrix)
		} else {
			add("ffn_gate.weight", d, f, kindMatrix)
			add("ffn_up.weight", d, f, kindMatrix)
		}
		add("ffn_down.weight", f, d, kindMatrix)
		switch arch {
		case "gemma2", "gemma3", "olmo2":
			add("post_ffw_norm.weight", d, 1, kindNorm)
		}
	}
	// The final norm: llama.cpp's converter names LFM2's
	// token_embd_norm.weight, as the published LFM2 GGUFs have it. (The
	// llama.cpp of ec98e2002 loads no LFM2 file: its loader asks for a
	// tensor named just "output_norm", without ".weight"; BENCHMARKS.md
	// says how the speed comparison works around that.)
	outNorm := "output_norm.weight"
	if arch == "lfm2" {
		outNorm = "token_embd_norm.weight"
	}
	ts = append(ts, tensorSpec{outNorm, d, 1, kindNorm})
	if !s.Tied {
		ts = append(ts, tensorSpec{"output.weight", d, v, kindMatrix})
	}
	return ts
}

// Model is a random-weight model of a Shape. It implements
// models/quantize's Source: Metadata, Tensors and ReadRows. It is safe for
// concurrent use.
type Model struct {
	shape   Shape
	seed    uint64
	kv      []gguf.KV
	specs   []tensorSpec
	tensors []gguf.TensorInfo
}

// New returns the model of shape s whose weights are drawn from seed.
func New(s Shape, seed uint64) (*Model, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	m := &Model{shape: s, seed: seed, specs: s.tensors()}
	for _, t := range m.specs {
		shape := []int64{t.cols, t.rows}
		if t.rows == 1 {
			shape = shape[:1]
		}
		m.tensors = append(m.tensors, gguf.TensorInfo{Name: t.name, Type: quant.F32, Shape: shape})
	}
	tokens, scores, types := Vocabulary(s.Vocab)
	a := s.arch() + "."
	m.kv = []gguf.KV{
		{Key: "general.architecture", Value: gguf.NewString(s.arch())},
		{Key: "general.name", Value: gguf.NewString(s.Title)},
		{Key: "general.description", Value: gguf.NewString(fmt.Sprintf("edgeai synth: random weights (seed %d) in the shape of a real model, for speed tests; not a trained model", seed))},
		{Key: a + "context_length", Value: gguf.NewUint32(uint32(s.Context))},
		{Key: a + "embedding_length", Value: gguf.NewUint32(uint32(s.Dim))},
		{Key: a + "block_count", Value: gguf.NewUint32(uint32(s.Layers))},
		{Key: a + "feed_forward_length", Value: gguf.NewUint32(uint32(s.FFN))},
		{Key: a + "rope.dimension_count", Value: gguf.NewUint32(uint32(s.ropeDims()))},
		{Key: a + "attention.head_count", Value: gguf.NewUint32(uint32(s.Heads))},
		{Key: a + "attention.head_count_kv", Value: s.kvHeadsValue()},
		{Key: a + "attention.key_length", Value: gguf.NewUint32(uint32(s.HeadDim()))},
		{Key: a + "attention.value_length", Value: gguf.NewUint32(uint32(s.HeadDim()))},
		{Key: a + "attention.layer_norm_rms_epsilon", Value: gguf.NewFloat32(s.NormEps)},
		{Key: a + "rope.freq_base", Value: gguf.NewFloat32(s.RopeBase)},
		{Key: a + "vocab_size", Value: gguf.NewUint32(uint32(s.Vocab))},
		{Key: "general.file_type", Value: gguf.NewUint32(0)},
		{Key: "tokenizer.ggml.model", Value: gguf.NewString("llama")},
		{Key: "tokenizer.ggml.tokens", Value: gguf.NewStrings(tokens)},
		{Key: "tokenizer.ggml.scores", Value: gguf.NewFloat32s(scores)},
		{Key: "tokenizer.ggml.token_type", Value: gguf.NewInt32s(types)},
		{Key: "tokenizer.ggml.bos_token_id", Value: gguf.NewUint32(1)},
		{Key: "tokenizer.ggml.eos_token_id", Value: gguf.NewUint32(2)},
		{Key: "tokenizer.ggml.unknown_token_id", Value: gguf.NewUint32(0)},
		{Key: "tokenizer.ggml.add_bos_token", Value: gguf.NewBool(true)},
		{Key: "tokenizer.ggml.add_eos_token", Value: gguf.NewBool(false)},
	}
	switch s.arch() {
	case "gemma2", "gemma3":
		m.kv = append(m.kv, gguf.KV{Key: a + "attention.sliding_window", Value: gguf.NewUint32(uint32(s.Window))})
	case "granite": // Granite-3.3's multipliers
		m.kv = append(m.kv,
			gguf.KV{Key: a + "embedding_scale", Value: gguf.NewFloat32(12)},
			gguf.KV{Key: a + "attention.scale", Value: gguf.NewFloat32(0.015625)},
			gguf.KV{Key: a + "residual_scale", Value: gguf.NewFloat32(0.22)},
			gguf.KV{Key: a + "logit_scale", Value: gguf.NewFloat32(8)})
	case "lfm2":
		m.kv = append(m.kv, gguf.KV{Key: a + "shortconv.l_cache", Value: gguf.NewUint32(3)})
	}
	return m, nil
}

// kvHeadsValue is attention.head_count_kv: one number, or (lfm2) one per
// layer, 0 for the convolutions.
func (s Shape) kvHeadsValue() gguf.Value {
	if len(s.ConvLayers) == 0 {
		return gguf.NewUint32(uint32(s.KVHeads))
	}
	per := make([]int32, s.Layers)
	for i := range per {
		if !slices.Contains(s.ConvLayers, i) {
			per[i] = int32(s.KVHeads)
		}
	}
	return gguf.NewInt32s(per)
}

// Shape returns the model's shape.
func (m *Model) Shape() Shape { return m.shape }

// Metadata returns the model's GGUF key/values (llama architecture keys and
// the tokenizer), with general.file_type 0 (F32, the values' precision).
func (m *Model) Metadata() []gguf.KV { return m.kv }

// Tensors describes the tensors, all F32 (Offset and Size are zero).
func (m *Model) Tensors() []gguf.TensorInfo { return m.tensors }

// ReadRows generates rows [first, first+n) of tensor i into dst (n rows).
func (m *Model) ReadRows(i int, first, n int64, dst []float32) error {
	if i < 0 || i >= len(m.specs) {
		return fmt.Errorf("synth: tensor %d of %d", i, len(m.specs))
	}
	t := &m.specs[i]
	if first < 0 || n < 0 || first+n > t.rows || int64(len(dst)) != n*t.cols {
		return fmt.Errorf("synth: %s: rows [%d, %d) into %d values (tensor has %d rows of %d)", t.name, first, first+n, len(dst), t.rows, t.cols)
	}
	for r := range n {
		fill(dst[r*t.cols:(r+1)*t.cols], t.kind, t.cols, mix(m.seed^uint64(i)<<40^uint64(first+r)))
	}
	return nil
}

// mix is splitmix64's finaliser: a well-spread 64-bit hash of x.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// fill writes one row of random values of kind k, from state.
func fill(row []float32, k kind, cols int64, state uint64) {
	// Irwin-Hall: the sum of four uniform 16-bit values, centred and scaled
	// to unit variance, is close enough to a normal distribution for
	// weights nobody trains.
	const mean = 4 * 65535.0 / 2
	unit := float32(1 / math.Sqrt(4*(65536.0*65536.0-1)/12))
	std := float32(1)
	switch k {
	case kindMatrix, kindConv:
		std = float32(1 / math.Sqrt(float64(cols)))
	case kindBias:
		std = 0.1
	}
	for j := range row {
		state += 0x9e3779b97f4a7c15
		z := state
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		z ^= z >> 31
		if k == kindNorm {
			row[j] = 0.9 + 0.2*float32(z>>40)/(1<<24)
			continue
		}
		s := float32(z&0xffff) + float32(z>>16&0xffff) + float32(z>>32&0xffff) + float32(z>>48)
		row[j] = (s - mean) * unit * std
	}
}

// Vocabulary returns a synthetic SentencePiece vocabulary of n tokens (n >=
// 259): <unk>, <s>, </s>, the 256 byte tokens <0x00>..<0xFF>, then pieces in
// order of length: "▁" and single characters (each also with the "▁" word
// prefix), then lower-case letter pairs, triples ..., each alone and after
// "▁". Every piece longer than one character is the merge of two shorter
// pieces, so SentencePiece's merging reaches it. Scores fall with the index;
// token types are llama.cpp's (2 unknown, 3 control, 6 byte, 1 normal).
func Vocabulary(n int) (tokens []string, scores []float32, types []int32) {
	n = max(n, minVocab)
	tokens = make([]string, 0, n)
	types = make([]int32, 0, n)
	add := func(s string, typ int32) bool {
		if len(tokens) == n {
			return false
		}
		tokens = append(tokens, s)
		types = append(types, typ)
		return true
	}
	add("<unk>", 2)
	add("<s>", 3)
	add("</s>", 3)
	for b := range 256 {
		add(fmt.Sprintf("<0x%02X>", b), 6)
	}
	const space = "▁"
	single := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'\"-:;()"
	if !add(space, 1) {
		return tokens, makeScores(len(tokens)), types
	}
	for _, c := range single {
		if !add(string(c), 1) || !add(space+string(c), 1) {
			return tokens, makeScores(len(tokens)), types
		}
	}
	const letters = "abcdefghijklmnopqrstuvwxyz"
	for length := 2; len(tokens) < n; length++ {
		idx := make([]int, length)
		buf := make([]byte, length)
		for {
			for k, x := range idx {
				buf[k] = letters[x]
			}
			if !add(string(buf), 1) || !add(space+string(buf), 1) {
				break
			}
			// Next combination, odometer style.
			k := length - 1
			for k >= 0 {
				idx[k]++
				if idx[k] < len(letters) {
					break
				}
				idx[k] = 0
				k--
			}
			if k < 0 {
				break
			}
		}
	}
	return tokens, makeScores(len(tokens)), types
}

// makeScores gives token i the score -i (0 for the control and byte tokens).
func makeScores(n int) []float32 {
	s := make([]float32, n)
	for i := minVocab; i < n; i++ {
		s[i] = -float32(i - minVocab)
	}
	return s
}
