// Package qwen2 loads the qwen2 architecture (Qwen2, Qwen2.5): a llama-style
// decoder with Q/K/V biases and NEOX-style RoPE (pairs (i, i+d/2)), usually
// with tied embeddings.
package qwen2

import (
	"fmt"

	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
)

func init() { nn.RegisterDecoder("qwen2", Load) }

// Load builds a qwen2 decoder from f.
func Load(f *gguf.File) (*nn.Decoder, error) {
	c, err := nn.ReadDecoderConfig(f)
	if err != nil {
		return nil, fmt.Errorf("qwen2: %w", err)
	}
	c.RopeNeox = true
	d, err := nn.NewDecoder(f, c, true)
	if err != nil {
		return nil, fmt.Errorf("qwen2: %w", err)
	}
	return d, nil
}
