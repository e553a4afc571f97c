// Package llama loads the llama architecture (Llama 2/3/3.x, TinyLlama,
// SmolLM/SmolLM2, Mistral): RMSNorm, RoPE on adjacent pairs (with Llama 3
// frequency factors or linear scaling when the file has them), grouped-query
// attention, SwiGLU, tied or untied output head.
package llama

import (
	"fmt"

	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
)

func init() { nn.RegisterDecoder("llama", Load) }

// Load builds a llama decoder from f.
func Load(f *gguf.File) (*nn.Decoder, error) {
	c, err := nn.ReadDecoderConfig(f)
	if err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	c.RopeNeox = false
	d, err := nn.NewDecoder(f, c, false)
	if err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	return d, nil
}
