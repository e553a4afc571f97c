package runtime_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"
	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/server"
)

// An EmbedModel plugs into the server's /v1/embeddings as it is.
var (
	_ server.Embedder     = (*runtime.EmbedModel)(nil)
	_ server.TokenCounter = (*runtime.EmbedModel)(nil)
)

// bertRef is llama.cpp's reference for one tiny BERT file.
type bertRef struct {
	path      string
	sentences []string
	ids       [][]int
	emb       [][]float32 // pooled + L2-normalised
}

func needBert(t testing.TB, typ string) bertRef {
	t.Helper()
	base := filepath.Join(testutil.Shared(t, "testdata/bert"), "tiny-bert-"+typ)
	var j struct {
		Sentences []string `json:"sentences"`
		TokenIDs  [][]int  `json:"token_ids"`
		NEmbd     int      `json:"n_embd"`
	}
	b, err := os.ReadFile(base + ".ref.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(base + ".emb.f32")
	if err != nil {
		t.Fatal(err)
	}
	r := bertRef{path: base + ".gguf", sentences: j.Sentences, ids: j.TokenIDs}
	for i := range j.Sentences {
		v := make([]float32, j.NEmbd)
		for k := range v {
			v[k] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*(i*j.NEmbd+k):]))
		}
		r.emb = append(r.emb, v)
	}
	return r
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

func loadEmbedder(t testing.TB, path string, opts ...runtime.EmbedOption) *runtime.EmbedModel {
	t.Helper()
	m, err := runtime.LoadEmbedder(context.Background(), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestEmbedReference: Embed on the reference GGUFs gives llama.cpp's
// vectors and token ids, whether the texts come one by one or together.
func TestEmbedReference(t *testing.T) {
	for _, tc := range []struct {
		typ    string
		minCos float64
	}{{"F32", 0.9999}, {"Q8_0", 0.999}} {
		t.Run(tc.typ, func(t *testing.T) {
			r := needBert(t, tc.typ)
			m := loadEmbedder(t, r.path, runtime.WithEmbedThreads(2))
			info := m.Info()
			if info.Format != "gguf" || info.Architecture != "bert" || info.Dim != 128 || info.Pooling != "mean" || !info.Normalize || info.ContextLength != 512 {
				t.Errorf("info %+v", info)
			}
			for i, s := range r.sentences {
				ids, err := m.Tokenize(s)
				if err != nil || !slices.Equal(ids, r.ids[i]) {
					t.Fatalf("sentence %d: ids %v (%v), want %v", i, ids, err, r.ids[i])
				}
			}
			all, err := m.Embed(context.Background(), r.sentences)
			if err != nil {
				t.Fatal(err)
			}
			worst := 1.0
			for i, s := range r.sentences {
				one, err := m.Embed(context.Background(), []string{s})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(one[0], all[i]) {
					t.Errorf("sentence %d: alone and batched differ", i)
				}
				c := cosine(all[i], r.emb[i])
				worst = min(worst, c)
				if c < tc.minCos {
					t.Errorf("sentence %d: cosine %.9f < %g", i, c, tc.minCos)
				}
			}
			t.Logf("min cosine to llama.cpp: 1-%.3g", 1-worst)
		})
	}
}

// TestEmbedBatching runs more texts than fit one pass, concurrently, and
// checks every vector against the text embedded alone.
func TestEmbedBatching(t *testing.T) {
	r := needBert(t, "Q8_0")
	m := loadEmbedder(t, r.path, runtime.WithBatchTokens(512), runtime.WithEmbedThreads(2))
	var texts []string
	for i := 0; i < 40; i++ {
		texts = append(texts, strings.Repeat(r.sentences[i%4]+" ", 1+i%3))
	}
	want := make([][]float32, len(texts))
	for i, s := range texts {
		v, err := m.Embed(context.Background(), []string{s})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = v[0]
	}
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := m.Embed(context.Background(), texts)
			if err != nil {
				t.Error(err)
				return
			}
			for i := range got {
				if !slices.Equal(got[i], want[i]) {
					t.Errorf("text %d differs in a batch", i)
					return
				}
			}
		}()
	}
	wg.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Embed(ctx, texts); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestEmbedOptions covers truncation, pooling overrides and normalisation.
func TestEmbedOptions(t *testing.T) {
	r := needBert(t, "F32")
	ctx := context.Background()
	long := strings.Repeat("hello world ", 300) // 602 tokens with [CLS]/[SEP]
	m := loadEmbedder(t, r.path)
	if _, err := m.Embed(ctx, []string{"ok", long}); !errors.Is(err, runtime.ErrContextFull) || !strings.Contains(err.Error(), "text 1") {
		t.Errorf("over-long text: %v", err)
	}
	mt := loadEmbedder(t, r.path, runtime.WithTruncation(true))
	ids, err := mt.Tokenize(long)
	if err != nil || len(ids) != 512 || ids[0] != 101 || ids[511] != 102 {
		t.Fatalf("truncated ids: %d %v", len(ids), err)
	}
	if n, _ := mt.CountTokens(long); n != 512 {
		t.Errorf("CountTokens %d", n)
	}
	if _, err := mt.Embed(ctx, []string{long}); err != nil {
		t.Error(err)
	}

	raw := loadEmbedder(t, r.path, runtime.WithNormalize(false))
	cls := loadEmbedder(t, r.path, runtime.WithPooling("cls"), runtime.WithNormalize(false))
	last := loadEmbedder(t, r.path, runtime.WithPooling("last"), runtime.WithNormalize(false))
	none := loadEmbedder(t, r.path, runtime.WithPooling("none"), runtime.WithNormalize(false))
	texts := r.sentences[:2]
	toks, err := none.EmbedTokens(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := none.Embed(ctx, texts); err == nil {
		t.Error("Embed with pooling none did not fail")
	}
	mean, _ := raw.Embed(ctx, texts)
	first, _ := cls.Embed(ctx, texts)
	final, _ := last.Embed(ctx, texts)
	for i := range texts {
		if len(toks[i]) != len(r.ids[i]) {
			t.Fatalf("text %d: %d token vectors, want %d", i, len(toks[i]), len(r.ids[i]))
		}
		if !slices.Equal(first[i], toks[i][0]) || !slices.Equal(final[i], toks[i][len(toks[i])-1]) {
			t.Errorf("text %d: cls/last pooling is not the first/last token's state", i)
		}
		var norm float64
		for _, x := range mean[i] {
			norm += float64(x) * float64(x)
		}
		if math.Abs(norm-1) < 1e-3 {
			t.Errorf("text %d: WithNormalize(false) gave a unit vector", i)
		}
	}
	if _, err := runtime.LoadEmbedder(ctx, r.path, runtime.WithPooling("max")); err == nil {
		t.Error("pooling max accepted")
	}
}

func TestLoadEmbedderErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := runtime.LoadEmbedder(ctx, testutil.Stories(t)); !errors.Is(err, runtime.ErrNotEncoder) {
		t.Errorf("decoder: %v", err)
	}
	dir := t.TempDir()
	if _, err := runtime.LoadEmbedder(ctx, dir); err == nil || !strings.Contains(err.Error(), "model.onnx") {
		t.Errorf("empty dir: %v", err)
	}
	junk := filepath.Join(dir, "junk.onnx")
	os.WriteFile(junk, []byte("not a model"), 0o644)
	if _, err := runtime.LoadEmbedder(ctx, junk); err == nil {
		t.Error("junk accepted")
	}
	if _, err := runtime.LoadEmbedder(ctx, filepath.Join(dir, "missing.gguf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestEmbedIDs(t *testing.T) {
	r := needBert(t, "Q8_0")
	m := loadEmbedder(t, r.path)
	ctx := context.Background()
	want, err := m.Embed(ctx, r.sentences)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.EmbedIDs(ctx, r.ids)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("sentence %d: EmbedIDs differs from Embed", i)
		}
	}
	for _, bad := range [][][]int{{{}}, {{101, 30522, 102}}, {{101, -3}}, {make([]int, 513)}} {
		if _, err := m.EmbedIDs(ctx, bad); err == nil {
			t.Errorf("%d-token sequence accepted", len(bad[0]))
		}
	}
}

// BenchmarkEmbed is the figure `edgeai bench` reports for encoders:
// sentences per second through the public API, 128-token sequences in
// batches of 1, 8 and 32 (one pass each).
func BenchmarkEmbed(b *testing.B) {
	for _, typ := range []string{"F32", "Q8_0"} {
		r := needBert(b, typ)
		m := loadEmbedder(b, r.path, runtime.WithBatchTokens(32*128))
		for _, batch := range []int{1, 8, 32} {
			seqs := make([][]int, batch)
			for i := range seqs {
				s := make([]int, 128)
				s[0], s[127] = 101, 102
				for j := 1; j < 127; j++ {
					s[j] = 1000 + (i*7919+j*104729)%29000
				}
				seqs[i] = s
			}
			b.Run(fmt.Sprintf("%s/batch=%d/seq=128", typ, batch), func(b *testing.B) {
				for b.Loop() {
					if _, err := m.EmbedIDs(context.Background(), seqs); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "sent/s")
			})
		}
	}
}

// TestEmbedderExample checks what ExampleLoadEmbedder shows (the example is
// not run: its model is in ../shared).
func TestEmbedderExample(t *testing.T) {
	ctx := context.Background()
	m, err := runtime.LoadEmbedder(ctx, testutil.Shared(t, "testdata/bert/tiny-bert-Q8_0.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	vecs, err := m.Embed(ctx, []string{"hello world", "Hello, world!"})
	if err != nil {
		t.Fatal(err)
	}
	var dot float32
	for i := range vecs[0] {
		dot += vecs[0][i] * vecs[1][i]
	}
	info := m.Info()
	got := fmt.Sprintf("%d vectors of %d values, %s pooling, similarity %.2f", len(vecs), info.Dim, info.Pooling, dot)
	if want := "2 vectors of 128 values, mean pooling, similarity 0.80"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
