package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/edgeai-go/edgeai/models/quantize"
	"github.com/edgeai-go/edgeai/models/synth"
)

func init() {
	register(&command{name: "synth", summary: "write a random-weight model of a real shape (for benchmarks)", run: runSynth})
}

// runSynth writes a model of a real model's shape and architecture with
// random weights:
// edgeai synth --shape tinyllama -o tinyllama-F16.gguf [--type F16].
func runSynth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("synth", stderr)
	var cf convertFlags
	cf.add(fs, "F16")
	var names []string
	for _, s := range synth.Shapes() {
		names = append(names, s.Name)
	}
	shape := fs.String("shape", "", "model shape: "+strings.Join(names, ", "))
	out := fs.String("o", "", "output `file` (GGUF)")
	seed := fs.Uint64("seed", 1, "random seed of the weights")
	trained := fs.Int("context", 0, "trained context length to record (0: the shape's own), e.g. 8192 for memory tests at a longer -c")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: edgeai synth --shape NAME -o FILE.gguf [--type F16]\n\n"+
			"Writes a model with random weights and a synthetic SentencePiece vocabulary in the architecture and\n"+
			"shape of a real model, for speed and memory tests. Any --type of edgeai quantize works\n"+
			"(F32, F16, Q8_0, Q4_K_M ...). Generated text is gibberish.\n\nShapes:")
		for _, s := range synth.Shapes() {
			arch := s.Arch
			if arch == "" {
				arch = "llama"
			}
			fmt.Fprintf(stderr, "  %-14s %s (%s): %d layers, dim %d, %d heads of %d (%d KV), FFN %d, vocab %d, %s weights\n",
				s.Name, strings.TrimSuffix(s.Title, " shape, random weights"), arch, s.Layers, s.Dim, s.Heads, s.HeadDim(), s.KVHeads, s.FFN, s.Vocab, infoCount(s.Params()))
		}
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	if *shape == "" || *out == "" {
		return fmt.Errorf("%w: --shape and -o are required", errUsage)
	}
	s, err := synth.LookupShape(*shape)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *trained < 0 || *trained > 1<<20 {
		return fmt.Errorf("%w: --context %d is outside 0..%d", errUsage, *trained, 1<<20)
	}
	if *trained > 0 {
		s.Context = *trained
	}
	opts, err := cf.options(stderr)
	if err != nil {
		return err
	}
	m, err := synth.New(s, *seed)
	if err != nil {
		return err
	}
	rep, err := quantize.WriteFile(ctx, m, *out, opts)
	if err != nil {
		if !cf.quiet {
			fmt.Fprintln(stderr)
		}
		return err
	}
	cf.report(stdout, stderr, rep, *out, opts)
	return nil
}
