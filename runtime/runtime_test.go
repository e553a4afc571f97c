package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/edgeai-go/edgeai/internal/mmap"
	"github.com/edgeai-go/edgeai/internal/testutil"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/sample"
)

type golden struct {
	Cases []struct {
		Prompt    string `json:"prompt"`
		Steps     int    `json:"steps"`
		PromptIDs []int  `json:"prompt_ids"`
		AllIDs    []int  `json:"all_ids"`
		Text      string `json:"text"`
	} `json:"cases"`
	LogitsCase struct {
		IDs    []int       `json:"ids"`
		Logits [][]float32 `json:"logits_per_position"`
	} `json:"logits_case"`
}

func loadStories(t testing.TB, opts ...runtime.Option) *runtime.Model {
	t.Helper()
	m, err := runtime.Load(context.Background(), testutil.Stories(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func readGolden(t *testing.T) golden {
	t.Helper()
	b, err := os.ReadFile(testutil.Shared(t, "testdata/stories260K/golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestStoriesGolden reproduces llama2.c's greedy stories token for token.
func TestStoriesGolden(t *testing.T) {
	m := loadStories(t)
	g := readGolden(t)
	for _, c := range g.Cases {
		ids, err := m.Tokenize(c.Prompt, true, false)
		if err != nil {
			t.Fatal(err)
		}
		if !equalInts(ids, c.PromptIDs) {
			t.Errorf("%q: prompt ids %v, want %v", c.Prompt, ids, c.PromptIDs)
			continue
		}
		// run.c: steps counts positions, so steps+1 ids in all (BOS included).
		opts := runtime.GenerateOptions{MaxTokens: c.Steps + 1 - len(ids)}
		var text strings.Builder
		text.WriteString(m.Detokenize(ids))
		all := append([]int(nil), ids...)
		for tok, err := range m.GenerateTokens(context.Background(), ids, opts) {
			if err != nil {
				t.Fatal(err)
			}
			if tok.ID >= 0 {
				all = append(all, tok.ID)
			}
			text.WriteString(tok.Text)
		}
		if !equalInts(all, c.AllIDs) {
			t.Errorf("%q: ids\n got %v\nwant %v", c.Prompt, all, c.AllIDs)
		}
		if text.String() != c.Text {
			t.Errorf("%q: text\n got %q\nwant %q", c.Prompt, text.String(), c.Text)
		}
	}
}

// TestStoriesLogits compares the first positions' logits with llama2.c's.
func TestStoriesLogits(t *testing.T) {
	m := loadStories(t, runtime.WithCacheTypes("f32", "f32")) // llama2.c keeps its cache in float32
	g := readGolden(t)
	s, err := m.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	logits, err := s.EvalAll(context.Background(), g.LogitsCase.IDs)
	if err != nil {
		t.Fatal(err)
	}
	v := m.Info().Vocab
	var worst float64
	for p, want := range g.LogitsCase.Logits {
		for i, w := range want {
			worst = math.Max(worst, math.Abs(float64(logits[p*v+i]-w)))
		}
	}
	t.Logf("max |logit - llama2.c| over %d positions: %.2g", len(g.LogitsCase.Logits), worst)
	if worst > 1e-4 {
		t.Errorf("max logit difference %.3g > 1e-4", worst)
	}
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

func generateText(t *testing.T, m *runtime.Model, ctx context.Context, prompt string, opts runtime.GenerateOptions) (string, error) {
	t.Helper()
	var b strings.Builder
	for tok, err := range m.Generate(ctx, prompt, opts) {
		if err != nil {
			return b.String(), err
		}
		b.WriteString(tok.Text)
	}
	return b.String(), nil
}

// TestConcurrentGenerate runs several generations at once on one Model: each
// must produce what a lone generation produces.
func TestConcurrentGenerate(t *testing.T) {
	m := loadStories(t, runtime.WithThreads(1))
	opts := func() runtime.GenerateOptions {
		return runtime.GenerateOptions{MaxTokens: 40, Sampling: samplingSeed(7)}
	}
	want, err := generateText(t, m, context.Background(), "Lily and Tom", opts())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([]string, 6)
	errs := make([]error, 6)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = generateText(t, m, context.Background(), "Lily and Tom", opts())
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil || got[i] != want {
			t.Errorf("goroutine %d: %q, %v; want %q", i, got[i], errs[i], want)
		}
	}
}

// TestCancel stops a generation within one token of cancelling.
func TestCancel(t *testing.T) {
	m := loadStories(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	var last error
	for _, err := range m.Generate(ctx, "Once upon a time", runtime.GenerateOptions{IgnoreEOS: true}) {
		if err != nil {
			last = err
			break
		}
		n++
		if n == 5 {
			cancel()
		}
	}
	if !errors.Is(last, context.Canceled) {
		t.Fatalf("got error %v, want context.Canceled", last)
	}
	if n != 5 {
		t.Fatalf("%d tokens after cancelling at 5", n)
	}
}

// TestContextFull: a prompt longer than the context is an error, never truncated;
// a generation that fills the context ends like a length stop (StopContext),
// its text complete.
func TestContextFull(t *testing.T) {
	m := loadStories(t, runtime.WithContextSize(16))
	long := strings.Repeat("Once upon a time there was a dog. ", 10)
	_, err := generateText(t, m, context.Background(), long, runtime.GenerateOptions{MaxTokens: 4})
	if !errors.Is(err, runtime.ErrContextFull) {
		t.Fatalf("long prompt: got %v, want ErrContextFull", err)
	}
	var st runtime.Stats
	text, err := generateText(t, m, context.Background(), "Once upon a time", runtime.GenerateOptions{IgnoreEOS: true, Stats: &st})
	if err != nil {
		t.Fatalf("long generation: got %v, want a normal stop", err)
	}
	if st.StopReason != runtime.StopContext || st.GeneratedTokens != 16-5+1 || text != st.Text {
		t.Fatalf("stats %+v, text %q", st, text)
	}
}

// TestStopStrings cuts the text before the stop string and emits nothing of it.
func TestStopStrings(t *testing.T) {
	m := loadStories(t)
	full, err := generateText(t, m, context.Background(), "Once upon a time", runtime.GenerateOptions{MaxTokens: 56})
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(full, "ball")
	if i < 0 {
		t.Fatalf("test premise: %q has no 'ball'", full)
	}
	var st runtime.Stats
	got, err := generateText(t, m, context.Background(), "Once upon a time", runtime.GenerateOptions{MaxTokens: 56, Stop: []string{"ball", "never appears"}, Stats: &st})
	if err != nil {
		t.Fatal(err)
	}
	if got != full[:i] || st.StopReason != runtime.StopString {
		t.Fatalf("got %q (%s), want %q", got, st.StopReason, full[:i])
	}
}

func samplingSeed(seed uint64) sample.Params {
	p := sample.DefaultParams()
	p.Seed = seed
	return p
}

// storiesWithContext writes stories260K with llama.context_length set to n.
func storiesWithContext(t *testing.T, n uint32) string {
	t.Helper()
	f, err := gguf.Open(testutil.Stories(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	err = gguf.Rewrite(&buf, f, func(kv []gguf.KV) []gguf.KV {
		for i := range kv {
			if kv[i].Key == "llama.context_length" {
				kv[i].Value = gguf.NewUint32(n)
			}
		}
		return kv
	})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "stories-long.gguf")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDefaultContext: without WithContextSize a session holds 4096
// positions of a model trained for more; a context whose KV cache cannot
// fit in memory is refused at load, before it is allocated.
func TestDefaultContext(t *testing.T) {
	path := storiesWithContext(t, 1<<30)
	m, err := runtime.Load(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if info := m.Info(); info.ContextSize != runtime.DefaultContextSize || info.ContextLength != 1<<30 {
		t.Errorf("context %d of %d, want %d", info.ContextSize, info.ContextLength, runtime.DefaultContextSize)
	}
	m.Close()
	// 2^30 positions of 5 layers x 2 x 128 floats: 5 TiB of KV cache.
	_, err = runtime.Load(context.Background(), path, runtime.WithContextSize(1<<30))
	if _, ok := mmap.Available(); !ok {
		if _, ok := mmap.AddressSpace(); !ok {
			t.Skipf("no memory figures on this platform (got %v)", err)
		}
	}
	if !errors.Is(err, runtime.ErrMemory) || !strings.Contains(err.Error(), "-c") {
		t.Fatalf("a 5 TiB context: got %v, want ErrMemory naming -c", err)
	}
}
