// Package all registers every architecture edgeai supports; import it for its
// side effect.
package all

import (
	_ "github.com/edgeai-go/edgeai/models/bert"  // BERT-family encoders (embeddings)
	_ "github.com/edgeai-go/edgeai/models/llama" // llama, Mistral, TinyLlama, SmolLM
	_ "github.com/edgeai-go/edgeai/models/qwen2" // Qwen2, Qwen2.5
)
