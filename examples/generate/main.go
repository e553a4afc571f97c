// Command generate is the smallest program that uses edgeai as a library: it
// loads a GGUF model and streams a continuation of a prompt.
//
//	go run ./examples/generate -m models/testdata/stories260K.gguf "Once upon a time"
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"

	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/sample"
)

func main() {
	model := flag.String("m", "", "GGUF model file")
	n := flag.Int("n", 64, "new tokens at most")
	temp := flag.Float64("temp", 0, "temperature (0 = greedy)")
	flag.Parse()
	if *model == "" {
		log.Fatal("usage: generate -m MODEL.gguf PROMPT")
	}
	prompt := strings.Join(flag.Args(), " ")

	// Ctrl-C cancels the context; generation stops within one token.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	m, err := runtime.Load(ctx, *model)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	p := sample.DefaultParams()
	p.Temperature = float32(*temp)
	fmt.Print(prompt)
	for tok, err := range m.Generate(ctx, prompt, runtime.GenerateOptions{MaxTokens: *n, Sampling: p}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(tok.Text)
	}
	fmt.Println()
}
