// Package bench measures a decoder's speed the way llama-bench does: a
// warm-up, then prompt processing (ppN: N prompt tokens evaluated at once)
// and generation (tgN: N single-token steps) tests at the given thread
// counts, each repeated, with synthetic token ids. It also records the time
// to the first token, the peak resident memory, and the energy from a meter.
// A test can run at a depth (llama-bench -d): the context first holds that
// many tokens, evaluated outside the timed part, so generation is measured
// over a filled cache ("tg64 @ d1500").
//
// The package drives any Session (runtime.Session satisfies it) so that it
// sits below runtime in the import layering; the CLI (edgeai bench) plugs in
// runtime models and an energy meter.
package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Session is one sequence of a model: runtime.Session satisfies it.
type Session interface {
	// Eval appends ids to the context and returns the logits after the last.
	Eval(ctx context.Context, ids []int) ([]float32, error)
	// Reset empties the context.
	Reset()
}

// Truncater is a Session that can rewind its context to a prefix
// (runtime.Session satisfies it). A test at a depth then evaluates the depth
// tokens once and rewinds to them before each repetition, where a plain
// Session evaluates them again each time. A session that cannot rewind
// reports a shorter Tokens, and the depth is evaluated again.
type Truncater interface {
	Truncate(n int)
	Tokens() []int
}

// Config describes a benchmark run.
type Config struct {
	Prompt []int // prompt sizes: one ppN test each (0 entries are skipped)
	Gen    []int // generation lengths: one tgN test each (0 entries are skipped)
	// Depth lists context depths (llama-bench -d): every test runs at each,
	// after that many tokens fill the context (not timed). Empty means 0.
	Depth   []int
	Threads []int // thread counts; every test runs at each
	Reps    int   // repetitions of each test (llama-bench -r); 0 = 5
	Vocab   int   // token ids are drawn from [0, Vocab)
	NoWarm  bool  // skip the warm-up run of each test
	Seed    uint64

	// Open returns a session running with the given number of threads and
	// a function that releases it.
	Open func(ctx context.Context, threads int) (Session, func(), error)
	// Energy, when not nil, starts an energy measurement; the returned stop
	// function ends it and returns the joules.
	Energy func() (stop func() (joules float64, err error), err error)
	// IdleWatts is the power measured at rest before the run, subtracted
	// for the "above idle" figures.
	IdleWatts float64
	// Progress, when not nil, is called before each test and at the end
	// (done == total).
	Progress func(done, total int, test string)
}

// Result is one test at one thread count.
type Result struct {
	Test    string          // "pp128" or "tg64"
	NPrompt int             // prompt tokens per repetition (0 for tg)
	NGen    int             // generated tokens per repetition (0 for pp)
	NDepth  int             // tokens in the context before each repetition (not timed)
	Threads int             // worker threads
	Samples []time.Duration // the duration of each repetition
	// TTFT is the mean time to the first token: the prompt's evaluation
	// for pp, the first one-token step for tg.
	TTFT time.Duration
	// PeakRSS is the process's peak resident memory in bytes during the
	// test (since the start of the process where it cannot be reset); 0
	// when unknown.
	PeakRSS int64
	// Energy is set when a meter was given.
	Energy *Energy
	Time   time.Time // when the test started
}

// Energy is the energy of all repetitions of a test.
type Energy struct {
	Joules          float64       // measured over the repetitions (not the warm-up)
	Duration        time.Duration // of the measurement
	PerToken        float64       // Joules / tokens
	AboveIdlePerTok float64       // (Joules - IdleWatts × Duration) / tokens, at least 0
	IdleWatts       float64
}

// Tokens returns the tokens of one repetition.
func (r *Result) Tokens() int { return r.NPrompt + r.NGen }

// TokensPerSecond returns the speed of each repetition.
func (r *Result) TokensPerSecond() []float64 {
	ts := make([]float64, len(r.Samples))
	for i, d := range r.Samples {
		if d > 0 {
			ts[i] = float64(r.Tokens()) / d.Seconds()
		}
	}
	return ts
}

// AvgTS and StddevTS are the mean and sample standard deviation of the
// speeds of the repetitions in tokens per second (llama-bench's avg_ts,
// stddev_ts).
func (r *Result) AvgTS() float64 { m, _ := meanStd(r.TokensPerSecond()); return m }

// StddevTS is the sample standard deviation of the speeds (0 for one repetition).
func (r *Result) StddevTS() float64 { _, s := meanStd(r.TokensPerSecond()); return s }

// AvgNS and StddevNS are the mean and sample standard deviation of the
// repetitions' durations in nanoseconds (llama-bench's avg_ns, stddev_ns).
func (r *Result) AvgNS() float64 { m, _ := meanStd(r.samplesNS()); return m }

// StddevNS is the sample standard deviation of the durations in nanoseconds.
func (r *Result) StddevNS() float64 { _, s := meanStd(r.samplesNS()); return s }

func (r *Result) samplesNS() []float64 {
	ns := make([]float64, len(r.Samples))
	for i, d := range r.Samples {
		ns[i] = float64(d.Nanoseconds())
	}
	return ns
}

// meanStd returns the mean and the sample (n-1) standard deviation.
func meanStd(x []float64) (float64, float64) {
	if len(x) == 0 {
		return 0, 0
	}
	var s float64
	for _, v := range x {
		s += v
	}
	m := s / float64(len(x))
	if len(x) == 1 {
		return m, 0
	}
	var q float64
	for _, v := range x {
		q += (v - m) * (v - m)
	}
	return m, math.Sqrt(q / float64(len(x)-1))
}

// test is one planned test.
type test struct {
	pp, tg, threads, depth int
}

func (t test) name() string {
	n := fmt.Sprintf("tg%d", t.tg)
	if t.pp > 0 {
		n = fmt.Sprintf("pp%d", t.pp)
	}
	if t.depth > 0 {
		n += fmt.Sprintf(" @ d%d", t.depth) // llama-bench's name
	}
	return n
}

// maxTokens bounds a test's size (llama-bench allows any; a context is the
// real bound and Eval reports it).
const maxTokens = 1 << 20

// Run runs the tests of cfg in order (for each thread count: the pp tests,
// then the tg tests) and returns their results. A cancelled ctx stops it
// with the results so far and ctx's error.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	if cfg.Open == nil {
		return nil, errors.New("bench: no Open function")
	}
	if cfg.Reps == 0 {
		cfg.Reps = 5
	}
	if cfg.Reps < 0 || cfg.Reps > 1000 {
		return nil, fmt.Errorf("bench: %d repetitions: want 1 to 1000", cfg.Reps)
	}
	if cfg.Vocab <= 0 {
		return nil, fmt.Errorf("bench: vocabulary size %d", cfg.Vocab)
	}
	depths := cfg.Depth
	if len(depths) == 0 {
		depths = []int{0}
	}
	for _, d := range depths {
		if d < 0 || d > maxTokens {
			return nil, fmt.Errorf("bench: depth %d", d)
		}
	}
	var tests []test
	for _, th := range cfg.Threads {
		if th <= 0 || th > 1024 {
			return nil, fmt.Errorf("bench: %d threads: want 1 to 1024", th)
		}
		for _, p := range cfg.Prompt {
			if p < 0 || p > maxTokens {
				return nil, fmt.Errorf("bench: prompt size %d", p)
			}
			if p > 0 {
				for _, d := range depths {
					tests = append(tests, test{pp: p, threads: th, depth: d})
				}
			}
		}
		for _, g := range cfg.Gen {
			if g < 0 || g > maxTokens {
				return nil, fmt.Errorf("bench: generation length %d", g)
			}
			if g > 0 {
				for _, d := range depths {
					tests = append(tests, test{tg: g, threads: th, depth: d})
				}
			}
		}
	}
	if len(tests) == 0 {
		return nil, errors.New("bench: nothing to run: give a prompt size or a generation length, and a thread count")
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	var out []Result
	var sess Session
	var release func()
	curThreads := 0
	defer func() {
		if release != nil {
			release()
		}
	}()
	for i, t := range tests {
		if cfg.Progress != nil {
			cfg.Progress(i, len(tests), fmt.Sprintf("%s t=%d", t.name(), t.threads))
		}
		if err := ctx.Err(); err != nil {
			return out, err
		}
		if t.threads != curThreads {
			if release != nil {
				release()
				release = nil
			}
			var err error
			sess, release, err = cfg.Open(ctx, t.threads)
			if err != nil {
				return out, fmt.Errorf("bench: %d threads: %w", t.threads, err)
			}
			curThreads = t.threads
		}
		r, err := runTest(ctx, cfg, sess, t, rng)
		if err != nil {
			return out, fmt.Errorf("bench: %s at %d threads: %w", t.name(), t.threads, err)
		}
		out = append(out, r)
	}
	if cfg.Progress != nil {
		cfg.Progress(len(tests), len(tests), "done")
	}
	return out, nil
}

// ids returns n synthetic token ids (as llama-bench: random ids, no text).
func ids(rng *rand.Rand, n, vocab int) []int {
	x := make([]int, n)
	for i := range x {
		x[i] = rng.IntN(vocab)
	}
	return x
}

// prefill makes the context hold exactly the depth tokens: by rewinding to
// them when the session can and already holds them, else by emptying it and
// evaluating them. It is not part of the timed test.
func prefill(ctx context.Context, s Session, depth []int) error {
	if tr, ok := s.(Truncater); ok && len(depth) > 0 {
		if held := tr.Tokens(); len(held) >= len(depth) && equalInts(held[:len(depth)], depth) {
			tr.Truncate(len(depth))
			if len(tr.Tokens()) == len(depth) {
				return nil
			}
		}
	}
	s.Reset()
	if len(depth) == 0 {
		return nil
	}
	_, err := s.Eval(ctx, depth)
	return err
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// once runs one repetition of t after the depth tokens and returns its
// duration and its time to the first token.
func once(ctx context.Context, s Session, t test, depth, toks []int) (time.Duration, time.Duration, error) {
	if err := prefill(ctx, s, depth); err != nil {
		return 0, 0, fmt.Errorf("filling the context to depth %d: %w", len(depth), err)
	}
	start := time.Now()
	if t.pp > 0 {
		if _, err := s.Eval(ctx, toks); err != nil {
			return 0, 0, err
		}
		d := time.Since(start)
		return d, d, nil
	}
	var first time.Duration
	for i := range toks {
		if _, err := s.Eval(ctx, toks[i:i+1:i+1]); err != nil {
			return 0, 0, err
		}
		if i == 0 {
			first = time.Since(start)
		}
	}
	return time.Since(start), first, nil
}

func runTest(ctx context.Context, cfg Config, s Session, t test, rng *rand.Rand) (Result, error) {
	n := t.pp + t.tg
	r := Result{Test: t.name(), NPrompt: t.pp, NGen: t.tg, NDepth: t.depth, Threads: t.threads, Time: time.Now()}
	depth := ids(rng, t.depth, cfg.Vocab)
	toks := ids(rng, n, cfg.Vocab)
	resetPeakRSS()
	if !cfg.NoWarm {
		w := toks
		if t.tg > 0 {
			w = toks[:1] // llama-bench warms generation up with one token
		}
		if _, _, err := once(ctx, s, test{pp: len(w), threads: t.threads}, depth, w); err != nil {
			return r, err
		}
	}
	var stop func() (float64, error)
	if cfg.Energy != nil {
		var err error
		if stop, err = cfg.Energy(); err != nil {
			return r, err
		}
	}
	eStart := time.Now()
	var ttft time.Duration
	for range cfg.Reps {
		d, first, err := once(ctx, s, t, depth, toks)
		if err != nil {
			if stop != nil {
				stop()
			}
			return r, err
		}
		r.Samples = append(r.Samples, d)
		ttft += first
	}
	if stop != nil {
		j, err := stop()
		if err != nil {
			return r, err
		}
		e := &Energy{Joules: j, Duration: time.Since(eStart), IdleWatts: cfg.IdleWatts}
		tokens := float64(n * cfg.Reps)
		e.PerToken = j / tokens
		e.AboveIdlePerTok = max(j-cfg.IdleWatts*e.Duration.Seconds(), 0) / tokens
		r.Energy = e
	}
	r.TTFT = ttft / time.Duration(cfg.Reps)
	r.PeakRSS = peakRSS()
	return r, nil
}
