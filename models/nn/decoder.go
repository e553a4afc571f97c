package nn

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/models/gguf"
)

// Config holds what every decoder has, whatever its architecture.
type Config struct {
	Arch          string // general.architecture
	Dim           int    // {arch}.embedding_length
	Layers        int    // {arch}.block_count
	Vocab         int    // rows of token_embd.weight
	ContextLength int    // {arch}.context_length: the trained context
}

// Decoder is a loaded decoder-only language model: read-only weights, shared
// by any number of Caches (one per sequence) and Workspaces (one per
// concurrent forward pass). Each architecture package implements it with a
// Forward that reads top to bottom.
type Decoder interface {
	Forwarder
	// Config returns the hyperparameters every decoder has.
	Config() *Config
	// Dims returns the buffer sizes of a forward pass (for NewWorkspace).
	Dims() Dims
	// NewCache allocates one sequence's cache of ctxLen positions.
	NewCache(ctxLen int, o CacheOptions) (*Cache, error)
	// CacheBytes returns the memory NewCache(ctxLen, o) allocates.
	CacheBytes(ctxLen int, o CacheOptions) int64
	// Weights returns the model's weight matrices and where they live.
	Weights() *Weights
}

// NewWorkspace allocates a workspace for d (see the function NewWorkspace).
func NewDecoderWorkspace(d Decoder, maxTokens, maxCtx int, pool *parallel.Pool) (*Workspace, error) {
	return NewWorkspace(d.Dims(), maxTokens, maxCtx, pool)
}

// ErrUnsupportedArch is wrapped by LoadDecoder's error for an architecture no
// package registered.
var ErrUnsupportedArch = errors.New("unsupported architecture")

// DecoderLoader builds a decoder from an open GGUF file.
type DecoderLoader func(f *gguf.File) (Decoder, error)

var (
	regMu    sync.RWMutex
	decoders = map[string]DecoderLoader{}
)

// RegisterDecoder makes an architecture loadable; each architecture package
// calls it from init with its general.architecture name.
func RegisterDecoder(arch string, load DecoderLoader) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := decoders[arch]; dup {
		panic("nn: architecture registered twice: " + arch)
	}
	decoders[arch] = load
}

// Architectures lists the registered decoder architectures, sorted.
func Architectures() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	names := make([]string, 0, len(decoders))
	for n := range decoders {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LoadDecoder builds the decoder for the file's general.architecture.
func LoadDecoder(f *gguf.File) (Decoder, error) {
	arch := f.Arch()
	regMu.RLock()
	load, ok := decoders[arch]
	regMu.RUnlock()
	if !ok {
		if arch == "" {
			arch = "(general.architecture missing)"
		}
		return nil, fmt.Errorf("nn: %w %q: edgeai supports %s", ErrUnsupportedArch, arch, strings.Join(Architectures(), ", "))
	}
	return load(f)
}
