package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/edgeai-go/edgeai/internal/safeopen"
	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/sample"
)

func init() {
	register(&command{name: "run", summary: "generate text from a prompt (-p, or standard input)", run: runRun})
}

// modelFlags are the flags every command that loads a decoder shares, under
// llama.cpp's names (-m/--model, -t/--threads, -c/--ctx-size, -b/--batch-size)
// and edgeai's older ones (--ctx, --batch).
type modelFlags struct {
	model   string
	threads int
	ctx     int
	batch   int
	mmap    bool // --mmap: read the weights in place from the mapped file
	noMmap  bool // --no-mmap: copy them into (huge-page) memory
	ctk     string
	ctv     string
	notes   io.Writer
}

func (m *modelFlags) add(fs *flag.FlagSet) {
	m.notes = fs.Output()
	fs.StringVar(&m.model, "m", "", "model `file` (GGUF)")
	fs.StringVar(&m.model, "model", "", "same as -m")
	fs.IntVar(&m.threads, "threads", 0, "worker threads (0 = all cores)")
	fs.IntVar(&m.threads, "t", 0, "short for --threads")
	ctxUsage := fmt.Sprintf("context size in tokens (0 = the model's trained context, at most %d)", runtime.DefaultContextSize)
	fs.IntVar(&m.ctx, "c", 0, ctxUsage)
	fs.IntVar(&m.ctx, "ctx-size", 0, "same as -c")
	fs.IntVar(&m.ctx, "ctx", 0, "same as -c")
	fs.IntVar(&m.batch, "b", 64, "prompt tokens per layer pass")
	fs.IntVar(&m.batch, "batch-size", 64, "same as -b")
	fs.IntVar(&m.batch, "batch", 64, "same as -b")
	fs.IntVar(&m.batch, "ub", 64, "same as -b (llama.cpp's physical batch)")
	fs.IntVar(&m.batch, "ubatch-size", 64, "same as -b")
	fs.BoolVar(&m.mmap, "mmap", false, "read the weights in place from the memory-mapped file (fastest load, least memory, shared between processes)")
	fs.BoolVar(&m.noMmap, "no-mmap", false, "copy the weights into huge-page memory (faster decoding; the default when memory allows)")
	m.ctk, m.ctv = "f16", "f16"
	for _, n := range []string{"cache-type-k", "ctk"} {
		fs.StringVar(&m.ctk, n, "f16", "KV cache `type` of the keys: f32, f16, q8_0, q4_0")
	}
	for _, n := range []string{"cache-type-v", "ctv"} {
		fs.StringVar(&m.ctv, n, "f16", "KV cache `type` of the values: f32, f16, q8_0, q4_0")
	}
	addCompat(fs, modelCompat)
}

// errNoModel says where models come from.
var errNoModel = fmt.Errorf("%w: -m MODEL is required: a GGUF file (docs/models.md lists files that work; models/testdata/stories260K.gguf is a tiny one to try)", errUsage)

func (m *modelFlags) load(ctx context.Context, extra ...runtime.Option) (*runtime.Model, time.Duration, error) {
	if m.model == "" {
		return nil, 0, errNoModel
	}
	if m.mmap && m.noMmap {
		return nil, 0, fmt.Errorf("%w: --mmap and --no-mmap exclude each other", errUsage)
	}
	start := time.Now()
	for _, t := range []string{m.ctk, m.ctv} {
		if _, err := runtime.ParseCacheType(t); err != nil {
			return nil, 0, fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	opts := []runtime.Option{runtime.WithThreads(m.threads), runtime.WithContextSize(m.ctx), runtime.WithBatchSize(m.batch),
		runtime.WithCacheTypes(m.ctk, m.ctv)}
	if m.mmap || m.noMmap {
		opts = append(opts, runtime.WithMmap(m.mmap))
	}
	opts = append(opts, extra...)
	model, err := runtime.Load(ctx, m.model, opts...)
	if err == nil && m.notes != nil {
		info := model.Info()
		switch {
		case m.ctx == 0 && info.ContextSize < info.ContextLength:
			fmt.Fprintf(m.notes, "note: context %d tokens of the model's %d (raise it with -c N)\n", info.ContextSize, info.ContextLength)
		case m.ctx > info.ContextSize:
			// llama.cpp runs past the trained context (and its RoPE's
			// range) with a warning; edgeai caps it, and says so.
			fmt.Fprintf(m.notes, "note: context %d tokens: -c %d is beyond the model's trained context\n", info.ContextSize, m.ctx)
		}
	}
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
	fs.Int64Var(&s.seed, "s", -1, "short for --seed")
	fs.Func("temperature", "same as --temp", floatFlag(&s.p.Temperature))
}

// params returns the sampling parameters, choosing a seed if none was given
// (random reports that choice: print it so the run can be repeated).
func (s *samplingFlags) params() (p sample.Params, random bool) {
	p = s.p
	if s.seed < 0 {
		p.Seed = uint64(time.Now().UnixNano()) & (1<<31 - 1)
		return p, p.Temperature > 0
	}
	p.Seed = uint64(s.seed)
	return p, false
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
	addCompat(fs, generateCompat)
	au := addAuditFlags(fs)
	var prompt string
	fs.StringVar(&prompt, "p", "", "prompt `text` (default: -f, or standard input)")
	fs.StringVar(&prompt, "prompt", "", "same as -p")
	var file string
	fs.StringVar(&file, "f", "", "read the prompt from this `file`")
	fs.StringVar(&file, "file", "", "same as -f")
	promptIDs := fs.String("prompt-ids", "", "prompt as comma-separated token `ids` instead of text")
	var n int
	fs.IntVar(&n, "n", -1, "new tokens to generate, as llama.cpp's -n (-1 = until end of text or a full context)")
	fs.IntVar(&n, "n-predict", -1, "same as -n")
	fs.IntVar(&n, "max-new", -1, "same as -n")
	escape := true
	fs.BoolVar(&escape, "e", true, `turn \n, \t, \", \xHH ... in -p into their characters (llama.cpp's default)`)
	fs.BoolVar(&escape, "escape", true, "same as -e")
	fs.BoolFunc("no-escape", "keep backslashes in -p as typed", func(string) error { escape = false; return nil })
	printIDs := fs.Bool("print-ids", false, "print the generated token ids on standard error")
	noEcho := fs.Bool("no-echo", false, "do not print the prompt before the continuation")
	fs.BoolVar(noEcho, "no-display-prompt", false, "same as --no-echo")
	ignoreEOS := fs.Bool("ignore-eos", false, "keep generating past end-of-text tokens")
	promptCache := fs.String("prompt-cache", "", "keep the prompt's evaluated state in this `file`: a later run whose prompt starts the same way starts from it (llama.cpp's --prompt-cache)")
	var stops stringsFlag
	fs.Var(&stops, "stop", "stop at this `string` (repeatable)")
	fs.Var(&stops, "r", "same as --stop (llama.cpp's reverse prompt)")
	fs.Var(&stops, "reverse-prompt", "same as --stop")
	gf := addGrammarFlags(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := gf.load(); err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q (give the prompt with -p; a flag's value goes as -flag=value or -flag value)", errUsage, pos[0])
	}
	if n < -1 {
		return fmt.Errorf("%w: -n %d: give a number of new tokens, or -1 for no limit", errUsage, n)
	}
	given := 0
	for _, set := range []bool{flagSet(fs, "p") || flagSet(fs, "prompt"), file != "", *promptIDs != ""} {
		if set {
			given++
		}
	}
	if given > 1 {
		return fmt.Errorf("%w: give the prompt once: -p, -f or --prompt-ids", errUsage)
	}
	if mf.model == "" {
		return errNoModel
	}

	// The prompt, before loading the model: a script with no input fails fast.
	var text string
	switch {
	case *promptIDs != "":
	case flagSet(fs, "p") || flagSet(fs, "prompt"):
		text = prompt
		if escape {
			text = unescape(text)
		}
	default:
		src, name := stdin, "standard input"
		if file != "" {
			f, err := safeopen.Open(file)
			if err != nil {
				return err
			}
			defer f.Close()
			src, name = f, file
		}
		b, err := io.ReadAll(io.LimitReader(src, maxPrompt+1))
		if err != nil {
			return fmt.Errorf("reading the prompt from %s: %w", name, err)
		}
		if len(b) > maxPrompt {
			return fmt.Errorf("%w: the prompt in %s is longer than %d MiB", errUsage, name, maxPrompt>>20)
		}
		// A lone newline (echo "$EMPTY" | edgeai run) is as empty as no input.
		if text = trimFinalNewline(string(b)); text == "" {
			return fmt.Errorf("%w: no prompt: %s is empty (give -p TEXT, -f FILE, or text on standard input)", errUsage, name)
		}
	}

	model, loadTime, err := au.load(ctx, &mf)
	if err != nil {
		return err
	}
	defer model.Close()

	var ids []int
	if *promptIDs != "" {
		if ids, err = parseIDs(*promptIDs); err != nil {
			return err
		}
	} else if ids, err = model.Tokenize(text, true, false); err != nil {
		return err
	}
	params, randomSeed := sf.params()
	opts := runtime.GenerateOptions{Sampling: params, Stop: stops, IgnoreEOS: *ignoreEOS, MaxTokens: max(n, 0), Grammar: gf.grammar}
	var stats runtime.Stats
	opts.Stats = &stats
	if !*noEcho {
		fmt.Fprint(stdout, model.Detokenize(ids))
	}
	var gen []int
	var genErr error
	seq := model.GenerateTokens(ctx, ids, opts)
	var cached, cacheEval int   // prompt tokens from the cache file, and evaluated for it
	var cacheTime time.Duration // loading, evaluating and saving the cache
	if *promptCache != "" {
		sess, err := model.NewSession()
		if err != nil {
			return err
		}
		defer sess.Close()
		start := time.Now()
		if cached, cacheEval, err = usePromptCache(ctx, sess, *promptCache, ids); err != nil {
			return err
		}
		cacheTime = time.Since(start)
		seq = sess.Generate(ctx, ids, opts)
	}
	if n != 0 {
		for tok, err := range seq {
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
	} else {
		stats.StopReason = runtime.StopLength // -n 0: nothing to generate
	}
	fmt.Fprintln(stdout)
	if *printIDs {
		fmt.Fprintln(stderr, "ids:", joinInts(gen))
	}
	seed := ""
	if randomSeed {
		seed = fmt.Sprintf(" | seed %d", params.Seed)
	}
	reason := stats.StopReason
	if reason == runtime.StopContext {
		reason += fmt.Sprintf(" (the context of %d tokens is full; raise it with -c)", model.Info().ContextSize)
	}
	if genErr == nil || stats.PromptTokens > 0 { // not when the prompt itself failed
		fromCache := ""
		promptStats := stats // the prompt's figures count the tokens evaluated for the cache file too
		if *promptCache != "" {
			fromCache = fmt.Sprintf(" (%d from the prompt cache)", cached)
			promptStats.PromptTokens += cacheEval
			promptStats.PromptDuration += cacheTime
		}
		fmt.Fprintf(stderr, "load %.0f ms | prompt %d tokens%s, %.1f tok/s | generated %d tokens, %.1f tok/s%s | stop: %s\n",
			loadTime.Seconds()*1000, promptStats.PromptTokens, fromCache, promptStats.PromptTokensPerSecond(),
			stats.GeneratedTokens, stats.GenerateTokensPerSecond(), seed, reason)
		gf.report(stderr, &stats)
	}
	if err := au.record(model, opts, auditEntry{Event: "run", Prompt: model.Detokenize(ids), Err: genErr}); err != nil {
		return err
	}
	if genErr != nil && errors.Is(genErr, context.Canceled) {
		return nil // Ctrl-C: stop quietly with what was printed
	}
	return genErr
}

// usePromptCache loads the state saved in path (if the file exists) into
// sess, keeps what it shares with the prompt ids, evaluates the rest of the
// prompt but its last token, and saves that state back to path when it
// changed. It returns how many prompt tokens came from the file and how
// many it evaluated. A file of
// another model or of other options, or a damaged one, is an error: the
// user removes it or names another.
func usePromptCache(ctx context.Context, sess *runtime.Session, path string, ids []int) (fromFile, evaluated int, err error) {
	loaded := false
	if _, err := os.Stat(path); err == nil {
		if err := sess.LoadStateFile(path); err != nil {
			return 0, 0, fmt.Errorf("--prompt-cache %s: %w (remove the file to start a new cache)", path, err)
		}
		loaded = true
	}
	have := sess.Tokens()
	common := 0
	for common < len(have) && common < len(ids)-1 && have[common] == ids[common] {
		common++
	}
	sess.Truncate(common)
	common = len(sess.Tokens())
	if len(ids)-1 > common {
		if _, err := sess.Eval(ctx, ids[common:len(ids)-1]); err != nil {
			return 0, 0, err
		}
		evaluated = len(ids) - 1 - common
	}
	if !loaded || len(ids)-1 != common || len(have) != common {
		if err := sess.SaveStateFile(path); err != nil {
			return 0, 0, fmt.Errorf("--prompt-cache %s: %w", path, err)
		}
	}
	return common, evaluated, nil
}

// maxPrompt bounds a prompt read from a file or standard input.
const maxPrompt = 16 << 20

// trimFinalNewline drops one final newline ("\n" or "\r\n"): what echo, a
// heredoc or an editor adds at the end of a prompt is not meant as a token
// (llama.cpp's -f drops it too).
func trimFinalNewline(s string) string {
	s, ok := strings.CutSuffix(s, "\n")
	if ok {
		s = strings.TrimSuffix(s, "\r")
	}
	return s
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
