package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// fakeSession records what the benchmark asks of it and takes a fixed time
// per token.
type fakeSession struct {
	vocab    int
	perToken time.Duration
	ctxLen   int
	pos      int
	evals    []int // tokens per Eval
	resets   int
	bad      string
}

func (s *fakeSession) Eval(ctx context.Context, ids []int) ([]float32, error) {
	if len(ids) == 0 {
		s.bad = "empty eval"
	}
	for _, id := range ids {
		if id < 0 || id >= s.vocab {
			s.bad = fmt.Sprintf("token id %d outside [0, %d)", id, s.vocab)
		}
	}
	if s.pos+len(ids) > s.ctxLen {
		return nil, errors.New("context full")
	}
	s.pos += len(ids)
	s.evals = append(s.evals, len(ids))
	time.Sleep(time.Duration(len(ids)) * s.perToken)
	return make([]float32, s.vocab), nil
}

func (s *fakeSession) Reset() { s.pos = 0; s.resets++ }

func TestRun(t *testing.T) {
	opened := map[int]*fakeSession{}
	released := 0
	var energyCalls int
	var progress []string
	cfg := Config{
		Prompt: []int{16, 0}, Gen: []int{8}, Threads: []int{1, 2}, Reps: 3, Vocab: 512,
		Open: func(ctx context.Context, th int) (Session, func(), error) {
			s := &fakeSession{vocab: 512, perToken: 200 * time.Microsecond, ctxLen: 64}
			opened[th] = s
			return s, func() { released++ }, nil
		},
		Energy: func() (func() (float64, error), error) {
			energyCalls++
			return func() (float64, error) { return 4.8, nil }, nil
		},
		IdleWatts: 0,
		Progress: func(done, total int, test string) {
			progress = append(progress, fmt.Sprintf("%d/%d %s", done, total, test))
		},
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res {
		got = append(got, fmt.Sprintf("%s/%d", r.Test, r.Threads))
	}
	if strings.Join(got, " ") != "pp16/1 tg8/1 pp16/2 tg8/2" {
		t.Fatalf("tests %v", got)
	}
	if len(opened) != 2 || released != 2 {
		t.Fatalf("opened %d sessions, released %d", len(opened), released)
	}
	if want := "0/4 pp16 t=1,1/4 tg8 t=1,2/4 pp16 t=2,3/4 tg8 t=2,4/4 done"; strings.Join(progress, ",") != want {
		t.Fatalf("progress %q", progress)
	}
	for th, s := range opened {
		if s.bad != "" {
			t.Fatal(s.bad)
		}
		// pp: warm-up 16 + 3×16 in single evals; tg: warm-up 1 + 3×8 one-token steps.
		want := []int{16, 16, 16, 16, 1}
		for range 24 {
			want = append(want, 1)
		}
		if fmt.Sprint(s.evals) != fmt.Sprint(want) {
			t.Fatalf("threads %d: evals %v, want %v", th, s.evals, want)
		}
		if s.resets != 8 { // once per repetition and warm-up
			t.Fatalf("%d resets", s.resets)
		}
	}
	if energyCalls != 4 {
		t.Fatalf("energy measured %d times, want once per test", energyCalls)
	}
	pp, tg := res[0], res[1]
	if len(pp.Samples) != 3 || pp.NPrompt != 16 || pp.NGen != 0 || tg.NGen != 8 || tg.NPrompt != 0 {
		t.Fatalf("%+v %+v", pp, tg)
	}
	// 200 µs per token: pp16 takes at least 3.2 ms, so at most 5000 t/s.
	if ts := pp.AvgTS(); ts <= 0 || ts > 5000 {
		t.Fatalf("pp t/s %v", ts)
	}
	if pp.TTFT < 3200*time.Microsecond || tg.TTFT < 200*time.Microsecond || tg.TTFT > tg.Samples[0] {
		t.Fatalf("TTFT pp %v tg %v", pp.TTFT, tg.TTFT)
	}
	if e := pp.Energy; e == nil || math.Abs(e.PerToken-4.8/48) > 1e-12 || e.AboveIdlePerTok != e.PerToken {
		t.Fatalf("energy %+v, want 0.1 J/token", pp.Energy)
	}
	if e := tg.Energy; math.Abs(e.PerToken-4.8/24) > 1e-12 {
		t.Fatalf("tg energy %+v, want 0.2 J/token", e)
	}
}

func TestIdleSubtraction(t *testing.T) {
	cfg := Config{Prompt: []int{4}, Threads: []int{1}, Reps: 1, Vocab: 8, NoWarm: true, IdleWatts: 2,
		Open: func(context.Context, int) (Session, func(), error) {
			return &fakeSession{vocab: 8, perToken: 5 * time.Millisecond, ctxLen: 8}, func() {}, nil
		},
		Energy: func() (func() (float64, error), error) { return func() (float64, error) { return 1.0, nil }, nil },
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := res[0].Energy
	want := (1.0 - 2*e.Duration.Seconds()) / 4
	if e.Duration < 20*time.Millisecond || math.Abs(e.AboveIdlePerTok-max(want, 0)) > 1e-12 || e.PerToken != 0.25 {
		t.Fatalf("%+v, above idle want %v", e, want)
	}
}

func TestStats(t *testing.T) {
	r := Result{NGen: 10, Samples: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}}
	// 10, 5, 2.5 t/s: mean 5.8333, sample std 3.8188
	if m, s := r.AvgTS(), r.StddevTS(); math.Abs(m-35.0/6) > 1e-12 || math.Abs(s-3.818813079129867) > 1e-12 {
		t.Fatalf("avg %v std %v", m, s)
	}
	if m, s := r.AvgNS(), r.StddevNS(); m != 7e9/3 || math.Abs(s-1.5275252316519468e9) > 1 {
		t.Fatalf("ns avg %v std %v", m, s)
	}
	one := Result{NPrompt: 4, Samples: []time.Duration{time.Second}}
	if one.StddevTS() != 0 || one.AvgTS() != 4 {
		t.Fatal("one repetition")
	}
}

func TestErrors(t *testing.T) {
	open := func(context.Context, int) (Session, func(), error) {
		return &fakeSession{vocab: 8, ctxLen: 8}, func() {}, nil
	}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Prompt: []int{4}, Threads: []int{1}, Vocab: 8}, "no Open"},
		{Config{Prompt: []int{4}, Threads: []int{0}, Vocab: 8, Open: open}, "threads"},
		{Config{Prompt: []int{-1}, Threads: []int{1}, Vocab: 8, Open: open}, "prompt size"},
		{Config{Threads: []int{1}, Vocab: 8, Open: open}, "nothing to run"},
		{Config{Prompt: []int{4}, Threads: []int{1}, Vocab: 0, Open: open}, "vocabulary"},
		{Config{Prompt: []int{4}, Threads: []int{1}, Vocab: 8, Reps: -2, Open: open}, "repetitions"},
		{Config{Prompt: []int{9}, Threads: []int{1}, Vocab: 8, Open: open}, "context full"},
		{Config{Prompt: []int{4}, Threads: []int{1}, Vocab: 8, Open: func(context.Context, int) (Session, func(), error) {
			return nil, nil, errors.New("no model")
		}}, "no model"},
		{Config{Prompt: []int{4}, Threads: []int{1}, Vocab: 8, Open: open, Energy: func() (func() (float64, error), error) {
			return func() (float64, error) { return 0, errors.New("meter gone") }, nil
		}}, "meter gone"},
	} {
		if _, err := Run(context.Background(), tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, Config{Prompt: []int{4}, Threads: []int{1}, Vocab: 8, Open: open}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestPeakRSS(t *testing.T) {
	if !resetPeakRSS() {
		t.Skip("the peak RSS mark cannot be reset on this platform")
	}
	before := peakRSS()
	b := make([]byte, 64<<20)
	for i := range b {
		b[i] = byte(i)
	}
	after := peakRSS()
	if before == 0 && after == 0 {
		t.Skip("peak RSS is not available on this platform")
	}
	if after < before+48<<20 {
		t.Fatalf("peak RSS %d -> %d after touching 64 MiB", before, after)
	}
	_ = b[len(b)-1]
}

// rewindSession is a fakeSession that keeps its tokens and can rewind them
// (as runtime.Session); stuck makes Truncate empty the context instead, as
// a model with a rolling state does.
type rewindSession struct {
	fakeSession
	toks  []int
	stuck bool
	cuts  int
}

func (s *rewindSession) Eval(ctx context.Context, ids []int) ([]float32, error) {
	l, err := s.fakeSession.Eval(ctx, ids)
	if err == nil {
		s.toks = append(s.toks, ids...)
	}
	return l, err
}

func (s *rewindSession) Reset() { s.fakeSession.Reset(); s.toks = s.toks[:0] }

func (s *rewindSession) Tokens() []int { return s.toks }

func (s *rewindSession) Truncate(n int) {
	s.cuts++
	if s.stuck {
		s.Reset()
		return
	}
	s.toks = s.toks[:n]
	s.pos = n
}

func TestDepth(t *testing.T) {
	for _, kind := range []string{"plain", "rewind", "stuck"} {
		t.Run(kind, func(t *testing.T) {
			var plain *fakeSession
			var rw *rewindSession
			cfg := Config{Gen: []int{4}, Depth: []int{0, 20}, Threads: []int{1}, Reps: 3, Vocab: 64,
				Open: func(context.Context, int) (Session, func(), error) {
					f := fakeSession{vocab: 64, perToken: 50 * time.Microsecond, ctxLen: 24}
					if kind == "plain" {
						plain = &f
						return plain, func() {}, nil
					}
					rw = &rewindSession{fakeSession: f, stuck: kind == "stuck"}
					return rw, func() {}, nil
				},
			}
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 2 || res[0].Test != "tg4" || res[1].Test != "tg4 @ d20" || res[1].NDepth != 20 || res[0].NDepth != 0 {
				t.Fatalf("results %+v", res)
			}
			s := plain
			if s == nil {
				s = &rw.fakeSession
			}
			if s.bad != "" {
				t.Fatal(s.bad)
			}
			// tg4: warm-up 1 + 3×4 single steps; tg4 @ d20: the depth (20 at once)
			// before the warm-up and before each repetition unless the session
			// rewinds to it.
			want := []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 20, 1}
			for range 3 {
				if kind != "rewind" {
					want = append(want, 20)
				}
				want = append(want, 1, 1, 1, 1)
			}
			if fmt.Sprint(s.evals) != fmt.Sprint(want) {
				t.Fatalf("evals %v, want %v", s.evals, want)
			}
			if kind != "plain" && rw.cuts != 3 {
				t.Fatalf("%d truncations, want one before each repetition", rw.cuts)
			}
		})
	}
}
