package server

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"

	"github.com/edgeai-go/edgeai/runtime"
)

// fakeEmbedder stands in for an encoder model (they come with a later
// issue): it maps a text to (length, number of spaces, 1) and counts words
// as tokens, enough to check the endpoint's wiring and wire shape.
type fakeEmbedder struct{}

func (fakeEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = []float32{float32(len(t)), float32(strings.Count(t, " ")), 1}
	}
	return out, ctx.Err()
}

func (fakeEmbedder) CountTokens(text string) (int, error) { return len(strings.Fields(text)), nil }

func TestEmbeddings(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{}, m, Model{ID: "minilm", Embedder: fakeEmbedder{}})
	resp, b := ts.post(t, "/v1/embeddings", `{"model":"minilm","input":["hello world","a b c"]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	golden(t, "embeddings", b)
	resp, b = ts.post(t, "/v1/embeddings", `{"model":"minilm","input":"hello world","encoding_format":"base64"}`)
	var el struct {
		Data []struct {
			Embedding string `json:"embedding"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &el); err != nil || resp.StatusCode != 200 {
		t.Fatalf("base64: %d %s %v", resp.StatusCode, b, err)
	}
	raw, err := base64.StdEncoding.DecodeString(el.Data[0].Embedding)
	if err != nil || len(raw) != 12 {
		t.Fatalf("base64 payload %q: %v", el.Data[0].Embedding, err)
	}
	for i, want := range []float32{11, 1, 1} {
		if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); got != want {
			t.Errorf("base64 value %d = %v, want %v", i, got, want)
		}
	}
	// A text model cannot embed; an unknown model does not exist; both say
	// which embedding models there are.
	resp, b = ts.post(t, "/v1/embeddings", `{"model":"stories","input":"x"}`)
	if e := apiErr(t, resp, b, 400, "model"); !strings.Contains(e.Message, "minilm") {
		t.Errorf("message %q does not name the embedding models", e.Message)
	}
	resp, b = ts.post(t, "/v1/embeddings", `{"model":"text-embedding-3-small","input":"x"}`)
	apiErr(t, resp, b, 404, "model")
	// And the embedding model cannot generate.
	resp, b = ts.post(t, "/v1/chat/completions", `{"model":"minilm","messages":[{"role":"user","content":"x"}]}`)
	apiErr(t, resp, b, 400, "model")
	resp, b = ts.post(t, "/v1/embeddings", `{"model":"minilm","input":"x","dimensions":2}`)
	apiErr(t, resp, b, 400, "dimensions")
}

// TestEmbeddingsNoEncoder: with only a decoder loaded, /v1/embeddings says
// that no encoder model is loaded.
func TestEmbeddingsNoEncoder(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{}, m)
	for _, model := range []string{"stories", "text-embedding-3-small"} {
		resp, b := ts.post(t, "/v1/embeddings", `{"model":"`+model+`","input":"hello"}`)
		status := 400
		if model != "stories" {
			status = 404
		}
		e := apiErr(t, resp, b, status, "model")
		if !strings.Contains(e.Message, "no encoder (embedding) model is loaded") {
			t.Errorf("%s: message %q", model, e.Message)
		}
		golden(t, "embeddings_no_encoder_"+map[bool]string{true: "decoder", false: "unknown"}[model == "stories"], b)
	}
}

// TestEmbeddingsBERT serves the tiny BERT reference encoder: the vectors are
// exactly the runtime's (float32 survives the JSON round trip), within
// cosine 0.9999 of llama.cpp's, and a text longer than the context is a 400.
func TestEmbeddingsBERT(t *testing.T) {
	dir := testutil.Shared(t, "testdata/bert")
	var ref struct {
		Sentences []string `json:"sentences"`
		NEmbd     int      `json:"n_embd"`
		NTokens   []int    `json:"n_tokens"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "tiny-bert-F32.ref.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "tiny-bert-F32.emb.f32"))
	if err != nil || len(raw) != 4*ref.NEmbd*len(ref.Sentences) {
		t.Fatalf("reference vectors: %d bytes, %v", len(raw), err)
	}
	em, err := runtime.LoadEmbedder(context.Background(), filepath.Join(dir, "tiny-bert-F32.gguf"), runtime.WithEmbedThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	ts := start(t, Config{}, nil, Model{ID: "bert", Embedder: em})
	in, _ := json.Marshal(ref.Sentences)
	resp, body := ts.post(t, "/v1/embeddings", `{"model":"bert","input":`+string(in)+`}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var el struct {
		Object string `json:"object"`
		Data   []struct {
			Object    string    `json:"object"`
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
		Model string         `json:"model"`
		Usage embeddingUsage `json:"usage"`
	}
	if err := json.Unmarshal(body, &el); err != nil {
		t.Fatal(err)
	}
	direct, err := em.Embed(context.Background(), ref.Sentences)
	if err != nil {
		t.Fatal(err)
	}
	tokens := 0
	for i := range ref.Sentences {
		tokens += ref.NTokens[i]
		d := el.Data[i]
		if d.Object != "embedding" || d.Index != i || !slices.Equal(d.Embedding, direct[i]) {
			t.Errorf("sentence %d: the served vector differs from runtime's Embed", i)
		}
		want := make([]float32, ref.NEmbd)
		for k := range want {
			want[k] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*(i*ref.NEmbd+k):]))
		}
		var ab, aa, bb float64
		for k := range want {
			a, b := float64(d.Embedding[k]), float64(want[k])
			ab, aa, bb = ab+a*b, aa+a*a, bb+b*b
		}
		if c := ab / math.Sqrt(aa*bb); c < 0.9999 {
			t.Errorf("sentence %d: cosine to llama.cpp %.6f", i, c)
		}
	}
	if el.Object != "list" || el.Model != "bert" || el.Usage.PromptTokens != tokens || el.Usage.TotalTokens != tokens {
		t.Errorf("list %q model %q usage %+v (want %d tokens)", el.Object, el.Model, el.Usage, tokens)
	}
	long := strings.Repeat("word ", 600)
	resp, body = ts.post(t, "/v1/embeddings", `{"model":"bert","input":["short","`+long+`"]}`)
	e := apiErr(t, resp, body, 400, "input[1]")
	if e.Code == nil || *e.Code != "context_length_exceeded" {
		t.Errorf("long input: %s", body)
	}
	// The completions endpoints know it is not a text model.
	resp, body = ts.post(t, "/v1/completions", `{"model":"bert","prompt":"x"}`)
	apiErr(t, resp, body, 400, "model")
}
