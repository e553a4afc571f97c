package server

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"strings"
	"testing"
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
