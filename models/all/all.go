// Package all registers every architecture edgeai supports; import it for its
// side effect.
package all

import (
	_ "github.com/edgeai-go/edgeai/models/bert"       // BERT-family encoders (embeddings, rerankers)
	_ "github.com/edgeai-go/edgeai/models/gemma2"     // Gemma 2
	_ "github.com/edgeai-go/edgeai/models/gemma3"     // Gemma 3
	_ "github.com/edgeai-go/edgeai/models/gemmaembed" // EmbeddingGemma (encoder)
	_ "github.com/edgeai-go/edgeai/models/granite"    // IBM Granite 3.x
	_ "github.com/edgeai-go/edgeai/models/jinabert2"  // jina-embeddings-v2 (encoder)
	_ "github.com/edgeai-go/edgeai/models/jinabert3"  // jina-embeddings-v3 (encoder)
	_ "github.com/edgeai-go/edgeai/models/lfm2"       // LFM2
	_ "github.com/edgeai-go/edgeai/models/llama"      // llama, Mistral, TinyLlama, SmolLM
	_ "github.com/edgeai-go/edgeai/models/neobert"    // NeoBERT (encoder)
	_ "github.com/edgeai-go/edgeai/models/nomicbert"  // nomic-embed-text (encoder)
	_ "github.com/edgeai-go/edgeai/models/olmo2"      // OLMo 2
	_ "github.com/edgeai-go/edgeai/models/phi3"       // Phi-3, Phi-3.5, Phi-4-mini
	_ "github.com/edgeai-go/edgeai/models/qwen2"      // Qwen2, Qwen2.5
	_ "github.com/edgeai-go/edgeai/models/qwen3"      // Qwen3 (also Qwen3-Embedding and -Reranker, see nn.DecoderEncoder)
	_ "github.com/edgeai-go/edgeai/models/smollm3"    // SmolLM3
)
