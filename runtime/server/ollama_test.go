package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// ndjson splits an Ollama stream into its objects.
func ndjson(t *testing.T, b []byte) []ollamaAnswer {
	t.Helper()
	var out []ollamaAnswer
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var a ollamaAnswer
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, a)
	}
	return out
}

// TestOllamaAPI: /api/chat and /api/generate answer, whole and as NDJSON
// streams, exactly what the OpenAI endpoints answer for the same
// conversation (greedy); options map to the sampler and the token limit,
// unknown options are a 400 naming them; format json and a schema
// constrain the answer; tags, ps, show, version and embed answer in
// Ollama's shapes; pull is refused.
func TestOllamaAPI(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{}, m, Model{ID: "minilm", Embedder: fakeEmbedder{}})
	msgs := `[{"role":"system","content":"You are kind."},{"role":"user","content":"Tell me a story."}]`

	var oc chatCompletion
	postJSON(t, ts, "/v1/chat/completions", `{"model":"stories","max_tokens":20,"messages":`+msgs+`}`, &oc)
	want := oc.Choices[0].Message.Content

	var whole ollamaAnswer
	postJSON(t, ts, "/api/chat", `{"model":"stories","stream":false,"options":{"num_predict":20,"temperature":0},"messages":`+msgs+`}`, &whole)
	if whole.Message == nil || whole.Message.Content != want || !whole.Done || whole.DoneReason != "length" || whole.EvalCount != 20 || whole.PromptEvalCount != oc.Usage.PromptTokens {
		t.Fatalf("/api/chat %+v %+v; want %q", whole, whole.Message, want)
	}
	resp, b := ts.post(t, "/api/chat", `{"model":"stories","options":{"num_predict":20},"messages":`+msgs+`}`)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	lines := ndjson(t, b)
	text := ""
	for i, a := range lines {
		if a.Done != (i == len(lines)-1) {
			t.Fatalf("line %d done %t of %d", i, a.Done, len(lines))
		}
		text += a.Message.Content
	}
	if last := lines[len(lines)-1]; text != want || len(lines) < 3 || last.EvalCount != 20 || last.DoneReason != "length" {
		t.Errorf("stream %q in %d lines, last %+v; want %q", text, len(lines), last, want)
	}

	// /api/generate applies the template (system + prompt); raw does not.
	var gen ollamaAnswer
	postJSON(t, ts, "/api/generate", `{"model":"stories","stream":false,"system":"You are kind.","prompt":"Tell me a story.","options":{"num_predict":20}}`, &gen)
	if gen.Response == nil || *gen.Response != want {
		t.Errorf("/api/generate %+v; want %q", gen, want)
	}
	var tc textCompletion
	postJSON(t, ts, "/v1/completions", `{"model":"stories","prompt":"Once upon a time","max_tokens":12}`, &tc)
	_, b = ts.post(t, "/api/generate", `{"model":"stories","raw":true,"prompt":"Once upon a time","options":{"num_predict":12}}`)
	text = ""
	for _, a := range ndjson(t, b) {
		text += *a.Response
	}
	if text != tc.Choices[0].Text {
		t.Errorf("raw generate %q, completions %q", text, tc.Choices[0].Text)
	}

	// Options reach the sampler: a seed gives the same sampled answer twice,
	// unlike another seed.
	sampled := func(seed string) string {
		var a ollamaAnswer
		postJSON(t, ts, "/api/chat", `{"model":"stories","stream":false,"options":{"num_predict":30,"temperature":1.2,"top_k":40,"top_p":0.95,"min_p":0.01,"repeat_penalty":1.1,"repeat_last_n":32,"seed":`+seed+`,"num_ctx":512},"messages":`+msgs+`}`, &a)
		return a.Message.Content
	}
	if a, b, c := sampled("7"), sampled("7"), sampled("8"); a != b || a == c || a == want {
		t.Errorf("seeded answers %q %q %q", a, b, c)
	}
	resp, b = ts.post(t, "/api/chat", `{"model":"stories","options":{"mirostat":2},"messages":`+msgs+`}`)
	var oe struct{ Error string }
	if json.Unmarshal(b, &oe); resp.StatusCode != 400 || !strings.Contains(oe.Error, "mirostat") {
		t.Errorf("unknown option: %d %s", resp.StatusCode, b)
	}

	// format.
	var js ollamaAnswer
	postJSON(t, ts, "/api/chat", `{"model":"stories","stream":false,"format":"json","options":{"num_predict":40},"messages":`+msgs+`}`, &js)
	validates(t, validator(t, `{"type":"object"}`), js.Message.Content)
	postJSON(t, ts, "/api/generate", `{"model":"stories","stream":false,"format":`+personSchema+`,"prompt":"Who?","options":{"num_predict":80,"temperature":0.7,"seed":1}}`, &js)
	validates(t, validator(t, personSchema), *js.Response)

	// Metadata.
	var tags struct{ Models []ollamaModel }
	resp, b = ts.get(t, "/api/tags")
	if json.Unmarshal(b, &tags); resp.StatusCode != 200 || len(tags.Models) != 2 || tags.Models[0].Name != "stories" || tags.Models[0].Details.Family != "llama" {
		t.Errorf("/api/tags %d %s", resp.StatusCode, b)
	}
	resp, b = ts.get(t, "/api/ps")
	if json.Unmarshal(b, &tags); resp.StatusCode != 200 || len(tags.Models) != 2 || tags.Models[0].ExpiresAt == "" {
		t.Errorf("/api/ps %d %s", resp.StatusCode, b)
	}
	var show map[string]any
	postJSON(t, ts, "/api/show", `{"model":"stories"}`, &show)
	if show["details"] == nil || !reflect.DeepEqual(show["capabilities"], []any{"completion", "tools"}) {
		t.Errorf("/api/show %v", show)
	}
	var ver map[string]string
	_, b = ts.get(t, "/api/version")
	if json.Unmarshal(b, &ver); ver["version"] == "" {
		t.Errorf("/api/version %s", b)
	}
	resp, b = ts.post(t, "/api/pull", `{"model":"llama3"}`)
	if json.Unmarshal(b, &oe); resp.StatusCode != 501 || !strings.Contains(oe.Error, "-m") {
		t.Errorf("/api/pull %d %s", resp.StatusCode, b)
	}
	resp, b = ts.post(t, "/api/chat", `{"model":"nope","messages":`+msgs+`}`)
	if json.Unmarshal(b, &oe); resp.StatusCode != 404 || !strings.Contains(oe.Error, "nope") {
		t.Errorf("unknown model %d %s", resp.StatusCode, b)
	}

	// Embeddings: the same vectors as /v1/embeddings.
	var emb struct {
		Model      string
		Embeddings [][]float32
	}
	postJSON(t, ts, "/api/embed", `{"model":"minilm","input":["a b","c"]}`, &emb)
	var oemb embeddingList
	postJSON(t, ts, "/v1/embeddings", `{"model":"minilm","input":["a b","c"]}`, &oemb)
	if len(emb.Embeddings) != 2 || len(oemb.Data) != 2 {
		t.Fatalf("embed %+v", emb)
	}
	for i := range 2 {
		vb, _ := json.Marshal(oemb.Data[i].Embedding)
		eb, _ := json.Marshal(emb.Embeddings[i])
		if !bytes.Equal(vb, eb) {
			t.Errorf("embedding %d: %s vs %s", i, eb, vb)
		}
	}
	var old struct{ Embedding []float32 }
	postJSON(t, ts, "/api/embeddings", `{"model":"minilm","prompt":"a b"}`, &old)
	if !reflect.DeepEqual(old.Embedding, emb.Embeddings[0]) {
		t.Errorf("/api/embeddings %v", old.Embedding)
	}
}
