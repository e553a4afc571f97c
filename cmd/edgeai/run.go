package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/sample"
)

func init() {
	register(&command{name: "run", summary: "generate text from a prompt (-p, or standard input)", run: runRun})
}

// modelFlags are the flags every command that loads a decoder shares.
type modelFlags struct {
	model   string
	threads int
	ctx     int
	batch   int
	mmap    bool // --mmap: read the weights in place from the mapped file
	noMmap  bool // --no-mmap: copy them into (huge-page) memory
}

func (m *modelFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&m.model, "m", "", "model `file` (GGUF)")
	fs.IntVar(&m.threads, "threads", 0, "worker threads (0 = all cores)")
	fs.IntVar(&m.threads, "t", 0, "short for --threads")
	fs.IntVar(&m.ctx, "ctx", 0, "context size in tokens (0 = the model's trained context)")
	fs.IntVar(&m.batch, "batch", 64, "prompt tokens per layer pass")
	fs.BoolVar(&m.mmap, "mmap", false, "read the weights in place from the memory-mapped file (fastest load)")
	fs.BoolVar(&m.noMmap, "no-mmap", false, "copy the weights into huge-page memory (faster decoding; the default when memory allows)")
}

func (m *modelFlags) load(ctx context.Context, extra ...runtime.Option) (*runtime.Model, time.Duration, error) {
	if m.model == "" {
		return nil, 0, fmt.Errorf("%w: -m MODEL is required", errUsage)
	}
	if m.mmap && m.noMmap {
		return nil, 0, fmt.Errorf("%w: --mmap and --no-mmap exclude each other", errUsage)
	}
	start := time.Now()
	opts := []runtime.Option{runtime.WithThreads(m.threads), runtime.WithContextSize(m.ctx), runtime.WithBatchSize(m.batch)}
	if m.mmap || m.noMmap {
		opts = append(opts, runtime.WithMmap(m.mmap))
	}
	opts = append(opts, extra...)
	model, err := runtime.Load(ctx, m.model, opts...)
	return model, time.Since(start), err
}

// samplingFlags are the sampling flags of run, chat and serve.
type samplingFlags struct {
	p    sample.Params
	seed int64
}

func (s *samplingFlags) add(fs *flag.FlagSet) {
	d := sample.DefaultParams()
	s.p = d
	fs.Func("temp", fmt.Sprintf("temperature; 0 = greedy (default %g)", d.Temperature), floatFlag(&s.p.Temperature))
	fs.IntVar(&s.p.TopK, "top-k", d.TopK, "keep the k most likely tokens (0 = off)")
	fs.Func("top-p", fmt.Sprintf("nucleus sampling threshold, 1 = off (default %g)", d.TopP), floatFlag(&s.p.TopP))
	fs.Func("min-p", fmt.Sprintf("drop tokens below min-p x the top probability, 0 = off (default %g)", d.MinP), floatFlag(&s.p.MinP))
	fs.Func("repeat-penalty", fmt.Sprintf("penalty for repeated tokens, 1 = off (default %g)", d.RepeatPenalty), floatFlag(&s.p.RepeatPenalty))
	fs.IntVar(&s.p.RepeatLastN, "repeat-last-n", d.RepeatLastN, "tokens the penalties look back over (-1 = all)")
	fs.Func("presence-penalty", "presence penalty (default 0)", floatFlag(&s.p.PresencePenalty))
	fs.Func("frequency-penalty", "frequency penalty (default 0)", floatFlag(&s.p.FrequencyPenalty))
	fs.Int64Var(&s.seed, "seed", -1, "random seed (-1 = pick one and print it)")
}

// params returns the sampling parameters, choosing a seed if none was given.
func (s *samplingFlags) params(stderr io.Writer) sample.Params {
	p := s.p
	if s.seed < 0 {
		p.Seed = uint64(time.Now().UnixNano()) & (1<<31 - 1)
		if p.Temperature > 0 {
			fmt.Fprintf(stderr, "seed: %d\n", p.Seed)
		}
	} else {
		p.Seed = uint64(s.seed)
	}
	return p
}

func floatFlag(dst *float32) func(string) error {
	return func(s string) error {
		v, err := strconv.ParseFloat(s, 32)
		if err != nil {
			return err
		}
		*dst = float32(v)
		return nil
	}
}

// stringsFlag collects a repeatable string flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

func parseIDs(s string) ([]int, error) {
	var ids []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%w: token id %q: %v", errUsage, f, err)
		}
		ids = append(ids, v)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: no token ids in %q", errUsage, s)
	}
	return ids, nil
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	var mf modelFlags
	var sf samplingFlags
	mf.add(fs)
	sf.add(fs)
	au := addAuditFlags(fs)
	prompt := fs.String("p", "", "prompt text (default: read standard input)")
	promptIDs := fs.String("prompt-ids", "", "prompt as comma-separated token `ids` instead of text")
	n := fs.Int("n", 0, "length in tokens of the printed text, prompt included, as llama2.c's -n (0 = until end of text or a full context)")
	maxNew := fs.Int("max-new", 0, "at most this many new tokens (0 = no limit)")
	printIDs := fs.Bool("print-ids", false, "print the generated token ids on standard error")
	noEcho := fs.Bool("no-echo", false, "do not print the prompt before the continuation")
	ignoreEOS := fs.Bool("ignore-eos", false, "keep generating past end-of-text tokens")
	var stops stringsFlag
	fs.Var(&stops, "stop", "stop at this `string` (repeatable)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	model, loadTime, err := au.load(ctx, &mf)
	if err != nil {
		return err
	}
	defer model.Close()

	var ids []int
	switch {
	case *promptIDs != "":
		if ids, err = parseIDs(*promptIDs); err != nil {
			return err
		}
	default:
		text := *prompt
		if !flagSet(fs, "p") {
			b, err := io.ReadAll(io.LimitReader(stdin, 16<<20))
			if err != nil {
				return fmt.Errorf("reading the prompt: %w", err)
			}
			text = string(b)
		}
		if ids, err = model.Tokenize(text, true, false); err != nil {
			return err
		}
	}
	opts := runtime.GenerateOptions{Sampling: sf.params(stderr), Stop: stops, IgnoreEOS: *ignoreEOS, MaxTokens: *maxNew}
	if *n > 0 {
		// llama2.c counts the printed tokens: the prompt (without BOS) and the continuation.
		shown := len(ids)
		if bos := model.Tokenizer().BOS(); bos >= 0 && len(ids) > 0 && ids[0] == bos {
			shown--
		}
		left := *n - shown
		if left <= 0 {
			return fmt.Errorf("%w: -n %d leaves no room: the prompt is already %d tokens", errUsage, *n, shown)
		}
		if opts.MaxTokens == 0 || left < opts.MaxTokens {
			opts.MaxTokens = left
		}
	}
	var stats runtime.Stats
	opts.Stats = &stats
	if !*noEcho {
		fmt.Fprint(stdout, model.Detokenize(ids))
	}
	var gen []int
	var genErr error
	for tok, err := range model.GenerateTokens(ctx, ids, opts) {
		if err != nil {
			genErr = err
			break
		}
		if tok.ID >= 0 {
			gen = append(gen, tok.ID)
		}
		if _, err := io.WriteString(stdout, tok.Text); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout)
	if *printIDs {
		fmt.Fprintln(stderr, "ids:", joinInts(gen))
	}
	fmt.Fprintf(stderr, "load %.0f ms | prompt %d tokens, %.1f tok/s | generated %d tokens, %.1f tok/s | stop: %s\n",
		loadTime.Seconds()*1000, stats.PromptTokens, stats.PromptTokensPerSecond(),
		stats.GeneratedTokens, stats.GenerateTokensPerSecond(), stats.StopReason)
	if err := au.record(model, opts, auditEntry{Event: "run", Prompt: model.Detokenize(ids), Err: genErr}); err != nil {
		return err
	}
	if genErr != nil && errors.Is(genErr, context.Canceled) {
		return nil // Ctrl-C: stop quietly with what was printed
	}
	return genErr
}

func joinInts(ids []int) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(id))
	}
	return b.String()
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}
