// Command embed shows how a Go program embeds edgeai: load a GGUF model once,
// then stream generated text from it through the runtime API.
//
//	go run ./examples/embed models/testdata/stories260K.gguf "Once upon a time"
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/sample"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: embed MODEL.gguf PROMPT")
		os.Exit(2)
	}
	if err := generate(context.Background(), os.Args[1], os.Args[2], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

// generate loads the model at path and writes prompt followed by a greedy
// (temperature 0, so reproducible) continuation of at most 56 tokens to w.
func generate(ctx context.Context, path, prompt string, w io.Writer) error {
	m, err := runtime.Load(ctx, path)
	if err != nil {
		return err
	}
	defer m.Close()

	opts := runtime.GenerateOptions{MaxTokens: 56, Sampling: sample.Params{Temperature: 0}}
	fmt.Fprint(w, prompt)
	for tok, err := range m.Generate(ctx, prompt, opts) {
		if err != nil {
			return err
		}
		fmt.Fprint(w, tok.Text)
	}
	_, err = fmt.Fprintln(w)
	return err
}
