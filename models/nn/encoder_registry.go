package nn

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/gguf"
)

// Encoders (BERT-family embedding models) register here the way decoders do
// in registry.go: an architecture package calls RegisterEncoder from init,
// and LoadEncoder builds the encoder named by general.architecture.

// Pooling says how an encoder's per-token hidden states become one vector
// per text. The values are llama.cpp's llama_pooling_type, which GGUF files
// store as {arch}.pooling_type.
type Pooling int

// The pooling types.
const (
	PoolNone Pooling = 0 // no pooling: one vector per token
	PoolMean Pooling = 1 // the mean over all tokens of the text, [CLS] and [SEP] included
	PoolCLS  Pooling = 2 // the first token's state ([CLS])
	PoolLast Pooling = 3 // the last token's state
	PoolRank Pooling = 4 // a reranker's score: a classification head on one token's state (see ClassifierHead)
)

var poolingNames = map[Pooling]string{PoolNone: "none", PoolMean: "mean", PoolCLS: "cls", PoolLast: "last", PoolRank: "rank"}

// String returns "none", "mean", "cls", "last" or "rank".
func (p Pooling) String() string {
	if s, ok := poolingNames[p]; ok {
		return s
	}
	return fmt.Sprintf("pooling(%d)", int(p))
}

// ParsePooling returns the pooling called name ("none", "mean", "cls",
// "last", "rank"; case-insensitive).
func ParsePooling(name string) (Pooling, error) {
	for p, s := range poolingNames {
		if strings.EqualFold(name, s) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("nn: unknown pooling %q (want none, mean, cls, last or rank)", name)
}

// EncoderConfig holds the hyperparameters of a text encoder, read from the
// GGUF keys {arch}.*.
type EncoderConfig struct {
	Arch          string  // general.architecture
	Dim           int     // {arch}.embedding_length
	Layers        int     // {arch}.block_count
	Heads         int     // {arch}.attention.head_count
	HeadDim       int     // Dim / Heads
	FFN           int     // {arch}.feed_forward_length
	Vocab         int     // rows of token_embd.weight
	TokenTypes    int     // rows of token_types.weight (0 when the model has none)
	ContextLength int     // {arch}.context_length: positions the model was trained on
	NormEps       float32 // {arch}.attention.layer_norm_epsilon
	Causal        bool    // {arch}.attention.causal (default false)
	Pooling       Pooling // {arch}.pooling_type (default PoolNone, as llama.cpp)
}

// Encoder is a loaded text encoder: read-only weights shared by any number of
// EncoderStates.
type Encoder interface {
	// Config returns the encoder's hyperparameters.
	Config() EncoderConfig
	// NewState allocates the activations for passes of up to maxTokens
	// tokens in total, running on pool.
	NewState(maxTokens int, pool *parallel.Pool) (EncoderState, error)
}

// EncoderState is the activations of one encoder pass. It is not safe for
// concurrent use; make one per goroutine.
type EncoderState interface {
	// MaxTokens returns the most tokens one Forward takes, over all its
	// sequences.
	MaxTokens() int
	// Forward runs the sequences of token ids together (each attends only
	// to itself, as separate texts) and writes the final hidden state of
	// every token to out: sequence after sequence, Config().Dim values per
	// token, Σ len(seqs[i]) rows in all.
	Forward(seqs [][]int, out []float32) error
}

// EncoderLoader builds an encoder from an open GGUF file.
type EncoderLoader func(f *gguf.File) (Encoder, error)

var encoders = map[string]EncoderLoader{} // guarded by regMu

// RegisterEncoder makes an encoder architecture loadable; each architecture
// package calls it from init with its general.architecture name.
func RegisterEncoder(arch string, load EncoderLoader) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := encoders[arch]; dup {
		panic("nn: encoder architecture registered twice: " + arch)
	}
	encoders[arch] = load
}

// EncoderArchitectures lists the registered encoder architectures, sorted.
func EncoderArchitectures() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	names := make([]string, 0, len(encoders))
	for n := range encoders {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// IsEncoder reports whether arch is a registered encoder architecture.
func IsEncoder(arch string) bool {
	regMu.RLock()
	defer regMu.RUnlock()
	_, ok := encoders[arch]
	return ok
}

// LoadEncoder builds the encoder for the file's general.architecture.
func LoadEncoder(f *gguf.File) (Encoder, error) {
	arch := f.Arch()
	regMu.RLock()
	load, ok := encoders[arch]
	regMu.RUnlock()
	if !ok {
		if arch == "" {
			arch = "(general.architecture missing)"
		}
		return nil, fmt.Errorf("nn: %w %q for embeddings: edgeai's encoders are %s", ErrUnsupportedArch, arch, strings.Join(EncoderArchitectures(), ", "))
	}
	return load(f)
}

// ErrPooling is wrapped by Pool's error for a pooling that gives no single
// vector (PoolNone) or is unknown.
var ErrPooling = errors.New("nn: pooling")

// Pool writes the pooled vector of one text's n token states (hidden, n x
// dim, row-major) to dst (dim values), as llama.cpp computes it: the mean is
// each column of hidden dotted with n values of float32(1/n) by
// ggml_vec_dot_f32's order (kernels.AttnDot: llama.cpp multiplies the
// transposed states by a matrix of 1/n); CLS takes the first row and last
// the last.
func Pool(p Pooling, hidden []float32, n int, dst []float32) error {
	dim := len(dst)
	if n <= 0 || len(hidden) < n*dim {
		return fmt.Errorf("%w: %d tokens of %d values in %d", ErrPooling, n, dim, len(hidden))
	}
	switch p {
	case PoolMean:
		inv := make([]float32, 2*n)
		col := inv[n:]
		for t := range n {
			inv[t] = 1 / float32(n)
		}
		inv = inv[:n]
		for d := range dst {
			for t := range n {
				col[t] = hidden[t*dim+d]
			}
			dst[d] = kernels.AttnDot(col, inv)
		}
	case PoolCLS:
		copy(dst, hidden[:dim])
	case PoolLast:
		copy(dst, hidden[(n-1)*dim:n*dim])
	default:
		return fmt.Errorf("%w: %v gives no single vector per text", ErrPooling, p)
	}
	return nil
}

// Normalize scales v to unit Euclidean length in place, as llama.cpp's
// common_embd_normalize(…, 2): squares summed in float64, v multiplied by
// float32(1/√sum). An all-zero v stays zero.
func Normalize(v []float32) {
	var sum float64
	for _, x := range v {
		sum += float64(float32(x * x))
	}
	if sum <= 0 {
		clear(v)
		return
	}
	s := float32(1 / math.Sqrt(sum))
	for i := range v {
		v[i] *= s
	}
}
