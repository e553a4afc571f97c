package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/quantize"
	"github.com/edgeai-go/edgeai/quant"
)

func init() {
	register(&command{name: "quantize", summary: "convert a GGUF model to Q4_K_M, Q8_0, ... (llama.cpp's rules)", run: runQuantize})
}

// convertFlags are the flags quantize and synth share.
type convertFlags struct {
	typ     string
	pure    bool
	outType string
	embType string
	threads int
	quiet   bool
	verbose bool
}

func (c *convertFlags) add(fs *flag.FlagSet, def string) {
	var names []string
	for _, ft := range quantize.FileTypes() {
		names = append(names, ft.String())
	}
	fs.StringVar(&c.typ, "type", def, "scheme: "+strings.Join(names, ", "))
	fs.BoolVar(&c.pure, "pure", false, "give every weight the scheme's type, without llama.cpp's mixing rules")
	fs.StringVar(&c.outType, "output-tensor-type", "", "type of output.weight (e.g. Q8_0)")
	fs.StringVar(&c.embType, "token-embedding-type", "", "type of token_embd.weight")
	fs.IntVar(&c.threads, "threads", 0, "worker threads (0 = all cores)")
	fs.IntVar(&c.threads, "t", 0, "short for --threads")
	fs.BoolVar(&c.quiet, "q", false, "no progress bar")
	fs.BoolVar(&c.verbose, "v", false, "list the type chosen for every tensor")
}

// options turns the flags into quantize.Options; warnings go to stderr.
func (c *convertFlags) options(stderr io.Writer) (quantize.Options, error) {
	if c.typ == "" {
		return quantize.Options{}, fmt.Errorf("%w: --type is required", errUsage)
	}
	ft, err := quantize.ParseFileType(c.typ)
	if err != nil {
		return quantize.Options{}, fmt.Errorf("%w: %v", errUsage, err)
	}
	o := quantize.Options{Type: ft, Pure: c.pure, Threads: c.threads,
		Warn: func(msg string) { fmt.Fprintln(stderr, "warning:", msg) }}
	for name, s := range map[string]string{"output.weight": c.outType, "token_embd.weight": c.embType} {
		if s == "" {
			continue
		}
		t, err := quant.ParseType(s)
		if err != nil {
			return o, fmt.Errorf("%w: %v", errUsage, err)
		}
		if o.Overrides == nil {
			o.Overrides = map[string]quant.Type{}
		}
		o.Overrides[name] = t
	}
	if !c.quiet {
		start := time.Now()
		shown := -1
		o.Progress = func(p quantize.Progress) {
			const mib = 1 << 20
			done, total := int(p.Done/mib), int(max((p.Total+mib-1)/mib, 1))
			if p.Done == p.Total {
				done = total
			}
			if done != shown { // redraw only when the figure changes
				shown = done
				progress(stderr, done, total, "MiB", time.Since(start))
			}
		}
	}
	return o, nil
}

// report prints the outcome of a conversion.
func (c *convertFlags) report(stdout, stderr io.Writer, rep *quantize.Report, out string, opts quantize.Options) {
	if !c.quiet {
		fmt.Fprintln(stderr)
	}
	if c.verbose {
		for i, ch := range rep.Tensors {
			note := ""
			switch {
			case ch.Fallback:
				note = fmt.Sprintf("  (fallback: %v needs rows of 256)", ch.Wanted)
			case !ch.Convert:
				note = "  (copied)"
			}
			fmt.Fprintf(stdout, "[%4d/%4d] %-32s %-16s %6s -> %-6s%s\n", i+1, len(rep.Tensors), ch.Name, infoShape(ch.Shape), ch.Type, ch.To, note)
		}
	}
	counts := map[quant.Type]int{}
	for _, ch := range rep.Tensors {
		counts[ch.To]++
	}
	var parts []string
	for _, t := range []quant.Type{quant.F32, quant.F16, quant.BF16, quant.Q8_0, quant.Q6_K, quant.Q5_K, quant.Q5_1, quant.Q5_0,
		quant.Q4_K, quant.Q4_1, quant.Q4_0, quant.IQ4_XS, quant.IQ4_NL, quant.Q3_K, quant.Q2_K} {
		if counts[t] > 0 {
			parts = append(parts, fmt.Sprintf("%d %v", counts[t], t))
		}
	}
	fmt.Fprintf(stdout, "%s: %v (%s), %d tensors: %s\n", out, opts.Type, gguf.FileTypeName(uint32(opts.Type)), len(rep.Tensors), strings.Join(parts, ", "))
	fmt.Fprintf(stdout, "size %s -> %s in %.1f s", infoBytes(rep.InBytes), infoBytes(rep.OutBytes), rep.Duration.Seconds())
	if rep.Fallbacks > 0 {
		fmt.Fprintf(stdout, "; %d fallbacks", rep.Fallbacks)
	}
	fmt.Fprintln(stdout)
}

// runQuantize converts a GGUF model. As llama-quantize, it also takes the
// type as a third argument: edgeai quantize IN.gguf OUT.gguf Q4_K_M.
func runQuantize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("quantize", stderr)
	var cf convertFlags
	cf.add(fs, "")
	dryRun := fs.Bool("dry-run", false, "print the plan (-v) without writing")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: edgeai quantize [flags] IN.gguf OUT.gguf [TYPE]\n\n"+
			"Converts an F32/F16/BF16 model (or a quantized one, decoded first, with a warning) to TYPE\n"+
			"with llama.cpp's rules for which tensors get which type (see docs/quantize.md).\n"+
			"OUT is written to a temporary file and renamed when complete.\n\nFlags:")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 3 && cf.typ == "" {
		cf.typ, pos = pos[2], pos[:2]
	}
	if len(pos) != 2 {
		return fmt.Errorf("%w: want IN.gguf OUT.gguf (and --type)", errUsage)
	}
	in, out := pos[0], pos[1]
	opts, err := cf.options(stderr)
	if err != nil {
		return err
	}
	if *dryRun {
		f, err := gguf.Open(in)
		if err != nil {
			return err
		}
		defer f.Close()
		src, err := quantize.FileSource(f)
		if err != nil {
			return err
		}
		plan, err := quantize.Plan(quantize.HparamsFromMetadata(f.KV), src.Tensors(), opts)
		if err != nil {
			return err
		}
		cf.verbose, cf.quiet = true, true
		cf.report(stdout, stderr, &quantize.Report{Tensors: plan}, out+" (dry run)", opts)
		return nil
	}
	rep, err := quantize.ConvertFile(ctx, in, out, opts)
	if err != nil {
		if !cf.quiet {
			fmt.Fprintln(stderr)
		}
		return err
	}
	cf.report(stdout, stderr, rep, out, opts)
	return nil
}
