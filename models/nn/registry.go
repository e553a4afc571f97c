package nn

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/edgeai-go/edgeai/models/gguf"
)

// ErrUnsupportedArch is wrapped by LoadDecoder's error for an architecture no
// package registered.
var ErrUnsupportedArch = errors.New("unsupported architecture")

// DecoderLoader builds a decoder from an open GGUF file.
type DecoderLoader func(f *gguf.File) (*Decoder, error)

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
func LoadDecoder(f *gguf.File) (*Decoder, error) {
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
