package runtime_test

import (
	"context"
	"fmt"
	"log"

	"github.com/edgeai-go/edgeai/models/chat"
	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/sample"
)

// Load a model and print what it is.
func ExampleLoad() {
	m, err := runtime.Load(context.Background(), "../models/testdata/stories260K.gguf", runtime.WithThreads(1))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	info := m.Info()
	fmt.Println(info.Architecture, info.Layers, "layers,", info.Vocab, "tokens, context", info.ContextLength)
	// Output: llama 5 layers, 512 tokens, context 512
}

// Stream a greedy continuation token by token.
func ExampleModel_Generate() {
	m, err := runtime.Load(context.Background(), "../models/testdata/stories260K.gguf")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	fmt.Print("Once upon a time")
	for tok, err := range m.Generate(context.Background(), "Once upon a time", runtime.GenerateOptions{MaxTokens: 12}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(tok.Text)
	}
	fmt.Println()
	// Output: Once upon a time, there was a little girl named Lily. She
}

// Sample with a temperature and a seed: the same seed gives the same text.
func ExampleModel_Generate_sampling() {
	m, err := runtime.Load(context.Background(), "../models/testdata/stories260K.gguf")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	p := sample.DefaultParams()
	p.Seed = 42
	var texts [2]string
	for i := range texts {
		for tok, err := range m.Generate(context.Background(), "Tom had a", runtime.GenerateOptions{MaxTokens: 20, Sampling: p}) {
			if err != nil {
				log.Fatal(err)
			}
			texts[i] += tok.Text
		}
	}
	fmt.Println(texts[0] == texts[1])
	// Output: true
}

// Tokenize and detokenize.
func ExampleModel_Tokenize() {
	m, err := runtime.Load(context.Background(), "../models/testdata/stories260K.gguf")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	ids, err := m.Tokenize("Once upon a time", true, false)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ids, m.Detokenize(ids))
	// Output: [1 403 407 261 378] Once upon a time
}

// Chat with a model through its chat template (here forced to ChatML, since
// the tiny story model carries none).
func ExampleModel_Chat() {
	m, err := runtime.Load(context.Background(), "model.gguf", runtime.WithChatTemplate("chatml"))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	msgs := []chat.Message{
		{Role: "system", Content: "You answer in one sentence."},
		{Role: "user", Content: "Why run models offline?"},
	}
	for tok, err := range m.Chat(context.Background(), msgs, runtime.GenerateOptions{MaxTokens: 64, Sampling: sample.DefaultParams()}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(tok.Text)
	}
	fmt.Println()
}
