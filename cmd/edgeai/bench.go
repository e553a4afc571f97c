package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/bench"
	"github.com/edgeai-go/edgeai/runtime/cloud"
	"github.com/edgeai-go/edgeai/runtime/energy"
)

func init() {
	register(&command{name: "bench", summary: "measure prompt and generation speed and energy per token (llama-bench style), optionally against a cloud API", run: runBench})
}

// benchCloudKeyEnv holds the cloud API key (never a flag: flags show in ps).
const benchCloudKeyEnv = "EDGEAI_CLOUD_API_KEY"

// intsFlag is a comma-separated (and repeatable) list of integers.
type intsFlag []int

func (f *intsFlag) String() string {
	s := make([]string, len(*f))
	for i, v := range *f {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}

func (f *intsFlag) Set(v string) error {
	*f = nil // a flag given on the command line replaces the default
	for _, p := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 {
			return fmt.Errorf("%q is not a non-negative integer", p)
		}
		*f = append(*f, n)
	}
	return nil
}

// benchOptions are bench's parsed flags.
type benchOptions struct {
	mf                   modelFlags
	prompt, gen, threads intsFlag
	depth                intsFlag
	reps                 int
	noWarm               bool
	asJSON, asCSV        bool
	svg, html            string
	quiet                bool

	meter     string
	watts     float64
	idleWatts float64
	tdp       float64
	idle      time.Duration

	cloudEndpoint, cloudModel string
	cloudCalls                int
	compare                   bool
	priceKWh, gridGCO2        float64
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	var o benchOptions
	o.prompt, o.gen, o.threads = intsFlag{512}, intsFlag{128}, intsFlag{defaultBenchThreads()}
	fs.StringVar(&o.mf.model, "m", "", "model `file` (GGUF)")
	fs.IntVar(&o.mf.ctx, "ctx", 0, "context size in tokens (0 = the model's trained context)")
	fs.IntVar(&o.mf.batch, "batch", 64, "prompt tokens per layer pass")
	fs.BoolVar(&o.mf.mmap, "mmap", false, "read the weights in place from the memory-mapped file (as llama-bench -mmp 1)")
	fs.BoolVar(&o.mf.noMmap, "no-mmap", false, "copy the weights into huge-page memory, packed where faster (as llama-bench -mmp 0; the default when memory allows)")
	for _, n := range []string{"ctk", "cache-type-k"} {
		fs.StringVar(&o.mf.ctk, n, "f16", "KV cache `type` of the keys: f32, f16, q8_0, q4_0 (as llama-bench -ctk)")
	}
	for _, n := range []string{"ctv", "cache-type-v"} {
		fs.StringVar(&o.mf.ctv, n, "f16", "KV cache `type` of the values: f32, f16, q8_0, q4_0 (as llama-bench -ctv)")
	}
	fs.Var(&o.prompt, "p", "prompt sizes: one ppN test each (comma-separated; 0 = none)")
	fs.Var(&o.gen, "n", "generation lengths: one tgN test each (comma-separated; 0 = none)")
	fs.Var(&o.depth, "d", "context depths: each test runs after this many tokens fill the cache, not timed (comma-separated, as llama-bench -d)")
	fs.Var(&o.depth, "depth", "same as -d")
	fs.Var(&o.threads, "t", "thread counts (comma-separated)")
	fs.Var(&o.threads, "threads", "same as -t")
	fs.IntVar(&o.reps, "r", 5, "repetitions of each test")
	fs.BoolVar(&o.noWarm, "no-warmup", false, "skip the warm-up run of each test")
	fs.BoolVar(&o.asJSON, "json", false, "write JSON lines (llama-bench's fields plus energy) instead of the table")
	fs.BoolVar(&o.asCSV, "csv", false, "write CSV instead of the table")
	fs.StringVar(&o.svg, "svg", "", "also write a chart of tokens/s and J/token, local against the cloud, to this `file`")
	fs.StringVar(&o.html, "html", "", "also write an HTML report (table, chart, verdict) to this `file`")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress bar on standard error")
	fs.StringVar(&o.meter, "power-meter", "auto", "power `meter`: auto, rapl, hwmon, jetson, pi5-pmic, battery, estimate, none (edgeai info lists them)")
	fs.Float64Var(&o.watts, "watts", 0, "use this constant power in `W` (read from an external wall meter during the run) instead of a meter")
	fs.Float64Var(&o.idleWatts, "idle-watts", -1, "idle power in `W` (from an external meter) instead of measuring it")
	fs.Float64Var(&o.tdp, "tdp", 0, "full-load power in `W` of all CPUs for the estimate (default: a small table by CPU model)")
	fs.DurationVar(&o.idle, "idle", 3*time.Second, "how long to measure the idle power before the run (0 = do not)")
	fs.StringVar(&o.cloudEndpoint, "cloud-endpoint", "", "OpenAI-compatible API `URL` to compare with, e.g. https://api.openai.com/v1 (key from $"+benchCloudKeyEnv+"); sends synthetic prompts only")
	fs.StringVar(&o.cloudModel, "cloud-model", "", "model `name` for --cloud-endpoint")
	fs.IntVar(&o.cloudCalls, "cloud-calls", 0, "streaming calls to make (0 = -r)")
	fs.BoolVar(&o.compare, "compare", false, "with --json: add the comparison line even without --cloud-endpoint")
	fs.Float64Var(&o.priceKWh, "price-kwh", 0, "electricity price per kWh (default: the assumptions file's, USD)")
	fs.Float64Var(&o.gridGCO2, "grid-gco2", 0, "grid carbon intensity in gCO2/kWh (default: the assumptions file's world average)")
	var eb embedBenchFlags // encoders: bench_embed.go
	eb.add(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: edgeai bench -m MODEL [-p 512] [-n 128] [-d 0] [-t 1,2] [-r 5] [--json|--csv] [--svg FILE]")
		fmt.Fprintln(stderr, "\nMeasures prompt processing (ppN) and generation (tgN) with synthetic tokens, like")
		fmt.Fprintln(stderr, "llama-bench, with the energy per token from a power meter (measured, or an estimate")
		fmt.Fprintln(stderr, "labelled as such), and compares it with a cloud API's published energy figures.")
		fmt.Fprintln(stderr, "For an encoder (BERT GGUF, ONNX): sentences/s of embedding calls at -b batch sizes")
		fmt.Fprintln(stderr, "and --seq tokens per sentence (embed bB sS tests).")
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
	if err := o.check(); err != nil {
		return err
	}
	if isEncoderModel(o.mf.model) {
		return o.runEmbed(ctx, &eb, stdout, stderr)
	}
	if eb.given(fs) {
		return fmt.Errorf("%w: %w", errUsage, errNotEncoderBench)
	}
	return o.run(ctx, stdout, stderr)
}

// defaultBenchThreads is the default thread count: every usable CPU.
func defaultBenchThreads() int { return max(1, goruntime.NumCPU()) }

func (o *benchOptions) check() error {
	switch {
	case o.mf.model == "":
		return fmt.Errorf("%w: -m MODEL is required", errUsage)
	case o.asJSON && o.asCSV:
		return fmt.Errorf("%w: --json and --csv both write standard output; choose one", errUsage)
	case o.reps < 1 || o.reps > 1000:
		return fmt.Errorf("%w: -r %d: want 1 to 1000", errUsage, o.reps)
	case len(o.threads) == 0:
		return fmt.Errorf("%w: -t: no thread count", errUsage)
	case o.watts < 0 || o.tdp < 0 || o.priceKWh < 0 || o.gridGCO2 < 0 || o.idle < 0:
		return fmt.Errorf("%w: --watts, --tdp, --price-kwh, --grid-gco2 and --idle must not be negative", errUsage)
	case (o.cloudEndpoint == "") != (o.cloudModel == ""):
		return fmt.Errorf("%w: --cloud-endpoint and --cloud-model go together", errUsage)
	case o.cloudCalls < 0 || o.cloudCalls > 1000:
		return fmt.Errorf("%w: --cloud-calls %d: want 0 to 1000", errUsage, o.cloudCalls)
	}
	for _, t := range o.threads {
		if t < 1 || t > 1024 {
			return fmt.Errorf("%w: -t %d: want 1 to 1024", errUsage, t)
		}
	}
	if max(sliceMax(o.prompt), sliceMax(o.gen)) == 0 {
		return fmt.Errorf("%w: -p and -n are all 0: nothing to measure", errUsage)
	}
	return nil
}

func sliceMax(x []int) int {
	m := 0
	for _, v := range x {
		m = max(m, v)
	}
	return m
}

// benchModel describes the model file as llama-bench does.
type benchModel struct {
	Path   string
	Type   string // "llama 260K F32": architecture, size class, file type
	Size   int64  // bytes of tensor data
	Params int64
	Vocab  int
	Ctx    int
}

func describeModel(path string, info runtime.Info) (benchModel, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return benchModel{}, err
	}
	defer f.Close()
	var size int64
	for i := range f.Tensors {
		size += f.Tensors[i].Size
	}
	ft := ""
	if _, name, ok := f.FileType(); ok {
		ft = strings.TrimPrefix(name, "MOSTLY_") // llama.cpp's model types say Q8_0
	} else {
		// No general.file_type: name the type holding most of the bytes.
		bytes := map[string]int64{}
		for i := range f.Tensors {
			t := f.Tensors[i].Type.String()
			bytes[t] += f.Tensors[i].Size
			if ft == "" || bytes[t] > bytes[ft] {
				ft = t
			}
		}
	}
	return benchModel{Path: path, Type: fmt.Sprintf("%s %s %s", info.Architecture, sizeClass(info.Params), ft),
		Size: size, Params: info.Params, Vocab: info.Vocab, Ctx: info.ContextSize}, nil
}

// sizeClass names a parameter count as llama.cpp's model types do: 260K, 135M, 1.1B.
func sizeClass(n int64) string {
	x := float64(n)
	switch {
	case x >= 1e9:
		return strconv.FormatFloat(math.Round(x/1e8)/10, 'f', -1, 64) + "B"
	case x >= 1e6:
		return strconv.FormatFloat(math.Round(x/1e6), 'f', -1, 64) + "M"
	default:
		return strconv.FormatFloat(math.Round(x/1e3), 'f', -1, 64) + "K"
	}
}

// benchReport is everything bench measured, for every output format.
type benchReport struct {
	Model      benchModel
	Kernels    string
	Mapped     bool // the weights are read from the mapped file (else copied: --no-mmap or the default)
	CPU        string
	Build      buildInfo
	Results    []bench.Result
	Meter      *energy.Info // nil: no energy measured
	IdleWatts  float64
	IdleSource string // "measured over 3s", "--idle-watts", "not measured"
	Cloud      *cloud.Summary
	Compare    *cloud.Comparison
	Assume     *cloud.Assumptions
	TypeK      string // the KV cache's types
	TypeV      string
	KVPerToken float64 // bytes of KV cache per context position (the session's cache / its context)
	CtxSize    int
}

// chooseMeter returns the meter the flags ask for (nil for none).
func (o *benchOptions) chooseMeter(ctx context.Context, sys *energy.System) (energy.Meter, error) {
	switch {
	case o.watts > 0:
		return sys.NewFixed(o.watts, "")
	case o.meter == "none":
		return nil, nil
	case o.meter == "estimate" || (o.tdp > 0 && (o.meter == "auto" || o.meter == "")):
		return sys.NewEstimate(o.tdp, "")
	}
	return energy.Select(sys.Detect(ctx), o.meter)
}

func (o *benchOptions) run(ctx context.Context, stdout, stderr io.Writer) error {
	progress := newProgressBar(stderr, o.quiet)
	sys := hostSystem()
	meter, err := o.chooseMeter(ctx, sys)
	if err != nil {
		return err
	}
	first, err := o.load(ctx, o.threads[0])
	if err != nil {
		return err
	}
	info, mapped := first.Info(), first.WeightsMapped()
	first.Close()
	need := max(sliceMax(o.prompt), sliceMax(o.gen)) + sliceMax(o.depth)
	if need > info.ContextSize {
		return fmt.Errorf("%w: a test of %d tokens (with its depth) does not fit in the context of %d (raise --ctx up to the model's %d)",
			errUsage, need, info.ContextSize, info.ContextLength)
	}
	model, err := describeModel(o.mf.model, info)
	if err != nil {
		return err
	}
	rep := &benchReport{Model: model, Kernels: kernels.Path(), Mapped: mapped, CPU: sys.CPUBrand, Build: readBuildInfo(), IdleSource: "not measured",
		TypeK: info.CacheTypeK, TypeV: info.CacheTypeV, KVPerToken: float64(info.CacheBytes) / float64(max(info.ContextSize, 1)), CtxSize: info.ContextSize}
	if rep.Assume, err = cloud.DefaultAssumptions(); err != nil {
		return err
	}

	cfg := bench.Config{Prompt: o.prompt, Gen: o.gen, Depth: o.depth, Threads: o.threads, Reps: o.reps, Vocab: info.Vocab, NoWarm: o.noWarm,
		Open: func(ctx context.Context, threads int) (bench.Session, func(), error) {
			m, err := o.load(ctx, threads)
			if err != nil {
				return nil, nil, err
			}
			s, err := m.NewSession()
			if err != nil {
				m.Close()
				return nil, nil, err
			}
			return s, func() { s.Close(); m.Close() }, nil
		},
		Progress: progress.bench,
	}
	if meter != nil {
		mi := meter.Info()
		rep.Meter = &mi
		fmt.Fprintf(stderr, "power meter: %s\n", mi)
		switch {
		case o.idleWatts >= 0:
			rep.IdleWatts, rep.IdleSource = o.idleWatts, "given with --idle-watts"
		case o.watts > 0:
			rep.IdleSource = "not measured (--watts; give --idle-watts)"
		case o.idle > 0:
			progress.message(fmt.Sprintf("measuring idle power for %s", o.idle))
			m, err := energy.MeasureIdle(ctx, meter, o.idle)
			if err != nil {
				return fmt.Errorf("idle power: %w", err)
			}
			rep.IdleWatts, rep.IdleSource = m.Watts(), fmt.Sprintf("measured over %s before the run", o.idle)
		}
		cfg.IdleWatts = rep.IdleWatts
		cfg.Energy = func() (func() (float64, error), error) {
			sp, err := meter.Start()
			if err != nil {
				return nil, err
			}
			return func() (float64, error) {
				m, err := sp.Stop()
				return m.Joules, err
			}, nil
		}
	}
	rep.Results, err = bench.Run(ctx, cfg)
	progress.done()
	if err != nil {
		return err
	}

	if o.cloudEndpoint != "" {
		c := &cloud.Client{Endpoint: o.cloudEndpoint, Model: o.cloudModel, APIKey: os.Getenv(benchCloudKeyEnv)}
		url, err := c.URL()
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		calls := o.cloudCalls
		if calls == 0 {
			calls = o.reps
		}
		maxTok := sliceMax(o.gen)
		if maxTok == 0 {
			maxTok = 16
		}
		fmt.Fprintf(stderr, "cloud: %d streaming calls to %s (%s), synthetic prompts only (never your data), up to %d tokens each\n", calls, url, o.cloudModel, maxTok)
		rep.Cloud, err = c.Run(ctx, calls, max(sliceMax(o.prompt), 8), maxTok, progress.cloud)
		progress.done()
		if err != nil {
			return fmt.Errorf("cloud comparison: %w", err)
		}
	}
	if tg := bestGen(rep.Results); tg != nil && tg.Energy != nil {
		l := cloud.Local{JPerToken: tg.Energy.PerToken, JPerTokenAboveIdle: tg.Energy.AboveIdlePerTok, Kind: string(rep.Meter.Kind),
			Meter: rep.Meter.Name, TokensPerSecond: tg.AvgTS(), TTFT: firstTokenTime(rep.Results, tg.Threads)}
		if rep.Compare, err = cloud.Compare(rep.Assume, l, rep.Cloud, o.priceKWh, o.gridGCO2); err != nil {
			return err
		}
	}

	switch {
	case o.asJSON:
		err = writeBenchJSON(stdout, rep, o.cloudEndpoint != "" || o.compare)
	case o.asCSV:
		err = writeBenchCSV(stdout, rep)
		if err == nil && rep.Compare != nil {
			writeVerdict(stderr, rep)
		}
	default:
		err = writeBenchTable(stdout, rep)
	}
	if err != nil {
		return err
	}
	if o.svg != "" {
		if err := writeFileAtomic(o.svg, func(w io.Writer) error { return writeBenchSVG(w, rep) }); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "chart written to %s\n", o.svg)
	}
	if o.html != "" {
		if err := writeFileAtomic(o.html, func(w io.Writer) error { return writeBenchHTML(w, rep) }); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "report written to %s\n", o.html)
	}
	return nil
}

func (o *benchOptions) load(ctx context.Context, threads int) (*runtime.Model, error) {
	m, _, err := o.mf.load(ctx, runtime.WithThreads(threads))
	return m, err
}

// bestGen returns the fastest generation test (the configuration a user
// would run), or nil.
func bestGen(rs []bench.Result) *bench.Result {
	var best *bench.Result
	for i := range rs {
		r := &rs[i]
		if r.NGen > 0 && (best == nil || r.AvgTS() > best.AvgTS()) {
			best = r
		}
	}
	return best
}

// firstTokenTime returns the time to first token of the largest prompt test
// at threads, or the generation test's own first step.
func firstTokenTime(rs []bench.Result, threads int) time.Duration {
	var ttft time.Duration
	size := -1
	for _, r := range rs {
		if r.Threads == threads && r.NPrompt > size {
			ttft, size = r.TTFT, r.NPrompt
		}
	}
	if size <= 0 {
		for _, r := range rs {
			if r.Threads == threads && r.NGen > 0 {
				return r.TTFT
			}
		}
	}
	return ttft
}

// writeFileAtomic writes a file through a temporary one in the same folder.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".edgeai-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// progressBar draws bench's progress on standard error.
type progressBar struct {
	w     io.Writer
	quiet bool
	shown bool
	start time.Time
}

func newProgressBar(w io.Writer, quiet bool) *progressBar {
	return &progressBar{w: w, quiet: quiet, start: time.Now()}
}

func (p *progressBar) draw(done, total int, label string) {
	if p.quiet || total <= 0 {
		return
	}
	const width = 24
	fill := done * width / total
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d %-24s %5.1fs", strings.Repeat("#", fill), strings.Repeat("-", width-fill), done, total, label, time.Since(p.start).Seconds())
	p.shown = true
}

func (p *progressBar) bench(done, total int, test string) { p.draw(done, total, test) }

func (p *progressBar) cloud(i, n int) { p.draw(i, n, "cloud call") }

func (p *progressBar) message(s string) {
	if !p.quiet {
		fmt.Fprintf(p.w, "%s\n", s)
	}
}

func (p *progressBar) done() {
	if p.shown {
		fmt.Fprintln(p.w)
		p.shown = false
	}
}
