package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/grammar"
	"github.com/edgeai-go/edgeai/runtime/sample"
)

// batchCase is one generation of TestBatchMatchesSession.
type batchCase struct {
	prompt string
	opts   runtime.GenerateOptions
	join   int // the step before which it joins the batch
}

// run is what a generation gave: its tokens and the end.
type run struct {
	ids   []int
	text  string
	stats runtime.Stats
	err   error
}

func (r run) String() string {
	return fmt.Sprintf("ids %v text %q stop %q gen %d prompt %d cached %d err %v", r.ids, r.text, r.stats.StopReason,
		r.stats.GeneratedTokens, r.stats.PromptTokens, r.stats.CachedTokens, r.err)
}

func same(a, b run) bool {
	return slices.Equal(a.ids, b.ids) && a.text == b.text && a.stats.StopReason == b.stats.StopReason &&
		a.stats.GeneratedTokens == b.stats.GeneratedTokens && a.stats.Text == b.stats.Text &&
		a.stats.GrammarComplete == b.stats.GrammarComplete &&
		a.stats.PromptTokens+a.stats.CachedTokens == b.stats.PromptTokens+b.stats.CachedTokens && errors.Is(a.err, b.err) == errors.Is(b.err, a.err)
}

// schemaGrammar is a small JSON Schema's grammar for the constrained cases.
var schemaGrammar = func() *grammar.Grammar {
	g, err := grammar.FromJSONSchema([]byte(`{"type":"object","properties":{"name":{"type":"string","maxLength":8},"age":{"type":"integer"}},"required":["name","age"],"additionalProperties":false}`))
	if err != nil {
		panic(err)
	}
	return g
}()

func batchCases() []batchCase {
	sampled := func(seed uint64) sample.Params {
		p := sample.DefaultParams()
		p.Seed = seed
		p.RepeatPenalty = 1.1
		return p
	}
	long := "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends. One day"
	return []batchCase{
		{prompt: "Once upon a time", opts: runtime.GenerateOptions{MaxTokens: 40}},
		{prompt: long, opts: runtime.GenerateOptions{MaxTokens: 30, Sampling: sampled(7)}, join: 0},
		{prompt: "Once upon a time", opts: runtime.GenerateOptions{MaxTokens: 60, Stop: []string{"ball", "park"}}, join: 3},
		{prompt: "The cat", opts: runtime.GenerateOptions{MaxTokens: 25, Sampling: sampled(99)}, join: 5},
		{prompt: long, opts: runtime.GenerateOptions{MaxTokens: 12}, join: 5},
		{prompt: "Tom had a", opts: runtime.GenerateOptions{Sampling: sampled(3)}, join: 9}, // to the end of text or context
		{prompt: "A", opts: runtime.GenerateOptions{MaxTokens: 1}, join: 1},
		// Constrained generations (each Start gets its own matcher).
		{prompt: "Once upon a time", opts: runtime.GenerateOptions{MaxTokens: 40, Grammar: grammar.JSONObject(), Sampling: sampled(5)}, join: 2},
		{prompt: "The cat", opts: runtime.GenerateOptions{MaxTokens: 24, Grammar: schemaGrammar, FinishGrammar: true, Sampling: sampled(11)}, join: 4},
	}
}

// alone runs a case with Session.Generate.
func alone(t *testing.T, m *runtime.Model, c batchCase) run {
	t.Helper()
	ids, err := m.Tokenize(c.prompt, true, false)
	if err != nil {
		t.Fatal(err)
	}
	var r run
	o := c.opts
	o.Stats = &r.stats
	for tok, err := range m.GenerateTokens(context.Background(), ids, o) {
		if err != nil {
			r.err = err
			break
		}
		if tok.ID >= 0 {
			r.ids = append(r.ids, tok.ID)
		}
		r.text += tok.Text
	}
	return r
}

// TestBatchMatchesSession: generations decoded together in a Batch, joining
// at different steps, with prompts read in chunks between decode steps,
// give token for token, stop for stop, what each gives alone through
// Session.Generate (greedy, sampled with penalties, stop strings, limits,
// end of text).
func TestBatchMatchesSession(t *testing.T) {
	for _, bs := range []int{64, 8, 3} {
		t.Run(fmt.Sprintf("batch%d", bs), func(t *testing.T) {
			m := loadStories(t, runtime.WithBatchSize(bs), runtime.WithContextSize(256), runtime.WithThreads(2))
			cases := batchCases()
			want := make([]run, len(cases))
			for i, c := range cases {
				want[i] = alone(t, m, c)
			}
			b, err := m.NewBatch(0)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			got := make([]run, len(cases))
			done := make([]bool, len(cases))
			start := func(i int) {
				c := cases[i]
				q, err := m.NewSequence()
				if err != nil {
					t.Fatal(err)
				}
				ids, _ := m.Tokenize(c.prompt, true, false)
				o := c.opts
				o.Stats = &got[i].stats
				err = b.Start(context.Background(), q, ids, o, runtime.BatchEvents{
					Token: func(tok runtime.Token) bool {
						if tok.ID >= 0 {
							got[i].ids = append(got[i].ids, tok.ID)
							if l := q.Logits(); len(l) != m.Info().Vocab {
								t.Errorf("case %d: logits of %d values", i, len(l))
							}
						}
						got[i].text += tok.Text
						return true
					},
					Done: func(err error) { got[i].err, done[i] = err, true },
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			maxLen := 0
			for step := 0; ; step++ {
				for i, c := range cases {
					if c.join == step {
						start(i)
					}
				}
				maxLen = max(maxLen, b.Len())
				if b.Step() == 0 && step > 10 {
					break
				}
				if step > 2000 {
					t.Fatal("the batch does not end")
				}
			}
			if maxLen < 5 {
				t.Errorf("at most %d generations ran together", maxLen)
			}
			for i := range cases {
				if !done[i] {
					t.Errorf("case %d: Done not called", i)
				}
				if !same(got[i], want[i]) {
					t.Errorf("case %d:\nbatch %v\nalone %v", i, got[i], want[i])
				}
			}
		})
	}
}

// TestBatchReuseAndCancel: a sequence keeps its context for the next
// generation (the common prefix is reused and the answer is unchanged); a
// cancelled context or a Token callback returning false ends a generation
// without disturbing the others; bad starts fail at once.
func TestBatchReuseAndCancel(t *testing.T) {
	m := loadStories(t, runtime.WithBatchSize(8), runtime.WithContextSize(128), runtime.WithThreads(1))
	b, err := m.NewBatch(1)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	q, _ := m.NewSequence()
	other, _ := m.NewSequence()
	ids, _ := m.Tokenize("Once upon a time, there was a big dog", true, false)
	want := alone(t, m, batchCase{prompt: "Once upon a time, there was a big dog", opts: runtime.GenerateOptions{MaxTokens: 20}})

	collect := func(q *runtime.Sequence, ctx context.Context, ids []int, o runtime.GenerateOptions, stopAfter int) *run {
		r := &run{}
		o.Stats = &r.stats
		err := b.Start(ctx, q, ids, o, runtime.BatchEvents{
			Token: func(tok runtime.Token) bool {
				if tok.ID >= 0 {
					r.ids = append(r.ids, tok.ID)
				}
				r.text += tok.Text
				return stopAfter == 0 || len(r.ids) < stopAfter
			},
			Done: func(err error) { r.err = err },
		})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	first := collect(q, context.Background(), ids, runtime.GenerateOptions{MaxTokens: 20}, 0)
	for b.Step() > 0 {
	}
	if !same(*first, want) {
		t.Fatalf("first:\n%v\nwant\n%v", first, want)
	}
	// The same prompt again: all but its last token come from the cache.
	ctx, cancel := context.WithCancel(context.Background())
	again := collect(q, context.Background(), ids, runtime.GenerateOptions{MaxTokens: 20}, 0)
	victim := collect(other, ctx, ids, runtime.GenerateOptions{MaxTokens: 20}, 0)
	for range 3 {
		b.Step()
	}
	cancel()
	for b.Step() > 0 {
	}
	if !same(*again, want) || again.stats.CachedTokens != len(ids)-1 || again.stats.PromptTokens != 1 {
		t.Errorf("again:\n%v\nwant\n%v", again, want)
	}
	if !errors.Is(victim.err, context.Canceled) || victim.stats.StopReason != runtime.StopCancelled || len(victim.ids) > 3 {
		t.Errorf("cancelled: %v", victim)
	}
	// Stopped by its callback after 4 tokens.
	stopped := collect(other, context.Background(), ids, runtime.GenerateOptions{MaxTokens: 20}, 4)
	for b.Step() > 0 {
	}
	if stopped.err != nil || len(stopped.ids) != 4 || stopped.stats.StopReason != runtime.StopCancelled || !slices.Equal(stopped.ids, want.ids[:4]) {
		t.Errorf("stopped: %v", stopped)
	}

	ev := runtime.BatchEvents{Token: func(runtime.Token) bool { return true }, Done: func(error) {}}
	if err := b.Start(context.Background(), q, nil, runtime.GenerateOptions{}, ev); err == nil {
		t.Error("empty prompt accepted")
	}
	if err := b.Start(context.Background(), q, make([]int, 129), runtime.GenerateOptions{}, ev); !errors.Is(err, runtime.ErrContextFull) {
		t.Errorf("long prompt: %v", err)
	}
	if err := b.Start(context.Background(), q, []int{1, 1 << 20}, runtime.GenerateOptions{}, ev); err == nil {
		t.Error("token outside the vocabulary accepted")
	}
	if err := b.Start(context.Background(), q, ids, runtime.GenerateOptions{}, ev); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background(), q, ids, runtime.GenerateOptions{}, ev); err == nil {
		t.Error("a sequence in two generations")
	}
	m2 := loadStories(t)
	q2, _ := m2.NewSequence()
	if err := b.Start(context.Background(), q2, ids, runtime.GenerateOptions{}, ev); err == nil {
		t.Error("a sequence of another model accepted")
	}
}
