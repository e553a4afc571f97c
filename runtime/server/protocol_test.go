package server

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/models/chat"
	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/sample"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// greedy is the servers' default sampling in tests: temperature 0, no penalties.
var greedy = sample.Params{}

// normalize replaces the fields that change on every request (id, created)
// and re-indents, so wire shapes compare byte for byte.
func normalize(t testing.TB, b []byte) []byte {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				switch k {
				case "id":
					if s, ok := e.(string); ok && (strings.HasPrefix(s, "chatcmpl-") || strings.HasPrefix(s, "cmpl-")) {
						x[k] = strings.SplitAfter(s, "-")[0] + "ID"
						continue
					}
				case "created":
					x[k] = 0
					continue
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

// golden compares got (normalized) with testdata/golden/name.json.
func golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".json")
	got = normalize(t, got)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s--- want\n%s", name, got, want)
	}
}

// directChat is the greedy answer of the runtime itself, without the server.
func directChat(t testing.TB, m *runtime.Model, msgs []chat.Message, maxTokens int) (string, runtime.Stats) {
	t.Helper()
	var st runtime.Stats
	var b strings.Builder
	for tok, err := range m.Chat(context.Background(), msgs, runtime.GenerateOptions{MaxTokens: maxTokens, Stats: &st}) {
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(tok.Text)
	}
	return b.String(), st
}

// directIDs is the greedy answer's token ids for prompt's ids, from the
// runtime itself.
func directIDs(t testing.TB, m *runtime.Model, prompt []int, maxTokens int) []int {
	t.Helper()
	var ids []int
	for tok, err := range m.GenerateTokens(context.Background(), prompt, runtime.GenerateOptions{MaxTokens: maxTokens}) {
		if err != nil {
			t.Fatal(err)
		}
		if tok.ID >= 0 {
			ids = append(ids, tok.ID)
		}
	}
	return ids
}

func directText(t testing.TB, m *runtime.Model, prompt string, maxTokens int) (string, runtime.Stats) {
	t.Helper()
	var st runtime.Stats
	var b strings.Builder
	for tok, err := range m.Generate(context.Background(), prompt, runtime.GenerateOptions{MaxTokens: maxTokens, Stats: &st}) {
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(tok.Text)
	}
	return b.String(), st
}

func TestChatCompletion(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{}, m)
	msgs := []chat.Message{{Role: "system", Content: "You tell short stories."}, {Role: "user", Content: "Tell me about a cat."}}
	want, st := directChat(t, m, msgs, 40)
	if st.GeneratedTokens == 0 || want == "" {
		t.Fatalf("the direct answer is empty (%+v)", st)
	}
	body := `{"model":"stories","messages":[{"role":"system","content":"You tell short stories."},{"role":"user","content":"Tell me about a cat."}],"max_tokens":40,"temperature":0}`
	resp, b := ts.post(t, "/v1/chat/completions", body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var cc chatCompletion
	if err := json.Unmarshal(b, &cc); err != nil {
		t.Fatal(err)
	}
	if got := cc.Choices[0].Message.Content; got != want {
		t.Errorf("content %q, want the runtime's %q", got, want)
	}
	if cc.Usage.CompletionTokens != st.GeneratedTokens || cc.Usage.PromptTokens != st.PromptTokens+st.CachedTokens {
		t.Errorf("usage %+v, runtime stats %+v", cc.Usage, st)
	}
	wantFinish := "stop"
	if st.StopReason == runtime.StopLength {
		wantFinish = "length"
	}
	if cc.Choices[0].FinishReason != wantFinish {
		t.Errorf("finish_reason %q, want %q (runtime %s)", cc.Choices[0].FinishReason, wantFinish, st.StopReason)
	}
	if !strings.HasPrefix(cc.ID, "chatcmpl-") || cc.Created == 0 {
		t.Errorf("id %q created %d", cc.ID, cc.Created)
	}
	golden(t, "chat", b)

	// The same request streamed: the chunks add up to the same text.
	body = `{"model":"stories","messages":[{"role":"system","content":"You tell short stories."},{"role":"user","content":"Tell me about a cat."}],"max_completion_tokens":40,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}`
	_, res := ts.postStream(t, "/v1/chat/completions", body, true)
	if res.text != want || res.finish != wantFinish || !res.done || res.usage == nil {
		t.Fatalf("stream: text %q finish %q done %v usage %v; want %q %q", res.text, res.finish, res.done, res.usage, want, wantFinish)
	}
	if res.usage.CompletionTokens != cc.Usage.CompletionTokens || res.usage.PromptTokens != cc.Usage.PromptTokens {
		t.Errorf("stream usage %+v, non-stream %+v", *res.usage, cc.Usage)
	}
	if res.contentParts < 3 {
		t.Errorf("the stream came in %d content chunks; want one per token", res.contentParts)
	}
	// The golden stream: first (role), second (content), finish and usage chunks.
	n := len(res.chunks)
	for i, c := range [][2]any{{"chat_chunk_first", res.chunks[0]}, {"chat_chunk_content", res.chunks[1]}, {"chat_chunk_finish", res.chunks[n-2]}, {"chat_chunk_usage", res.chunks[n-1]}} {
		b, _ := json.Marshal(c[1])
		golden(t, c[0].(string), b)
		_ = i
	}
	// Without include_usage there is no usage key at all.
	body = strings.Replace(body, `,"stream_options":{"include_usage":true}`, "", 1)
	_, res = ts.postStream(t, "/v1/chat/completions", body, true)
	if res.usage != nil || res.text != want {
		t.Errorf("stream without include_usage: usage %v, text %q", res.usage, res.text)
	}
	for _, c := range res.chunks {
		if _, ok := c["usage"]; ok {
			t.Fatalf("a chunk has usage without include_usage: %v", c)
		}
	}
}

func TestTextCompletion(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{}, m)
	want, st := directText(t, m, "Once upon a time", 30)
	resp, b := ts.post(t, "/v1/completions", `{"model":"stories","prompt":"Once upon a time","max_tokens":30,"temperature":0}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var tc struct {
		Object  string `json:"object"`
		Choices []struct {
			Text         string `json:"text"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage usage `json:"usage"`
	}
	if err := json.Unmarshal(b, &tc); err != nil {
		t.Fatal(err)
	}
	if tc.Object != "text_completion" || tc.Choices[0].Text != want {
		t.Fatalf("object %q text %q, want the runtime's %q", tc.Object, tc.Choices[0].Text, want)
	}
	if tc.Usage.CompletionTokens != st.GeneratedTokens || tc.Usage.PromptTokens != 5 {
		t.Errorf("usage %+v; runtime generated %d, prompt is BOS + 4 tokens", tc.Usage, st.GeneratedTokens)
	}
	golden(t, "completion", b)

	// Token-id prompt, echo, and the default of 16 tokens.
	ids, err := m.Tokenize("Once upon a time", true, false)
	if err != nil {
		t.Fatal(err)
	}
	want16, _ := directText(t, m, "Once upon a time", DefaultCompletionMaxTokens)
	idsJSON, _ := json.Marshal(ids)
	resp, b = ts.post(t, "/v1/completions", `{"model":"stories","prompt":`+string(idsJSON)+`,"echo":true}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	json.Unmarshal(b, &tc)
	if got := tc.Choices[0].Text; got != "Once upon a time"+want16 || tc.Choices[0].FinishReason != "length" || tc.Usage.CompletionTokens != 16 {
		t.Errorf("ids + echo: %q %q %+v; want %q", got, tc.Choices[0].FinishReason, tc.Usage, "Once upon a time"+want16)
	}

	// Streamed.
	_, res := ts.postStream(t, "/v1/completions", `{"model":"stories","prompt":["Once upon a time"],"max_tokens":30,"stream":true,"stream_options":{"include_usage":true}}`, false)
	if res.text != want || !res.done || res.usage == nil || res.usage.CompletionTokens != st.GeneratedTokens {
		t.Errorf("stream: %q done %v usage %+v", res.text, res.done, res.usage)
	}
	n := len(res.chunks)
	for _, c := range [][2]any{{"completion_chunk_content", res.chunks[0]}, {"completion_chunk_finish", res.chunks[n-2]}, {"completion_chunk_usage", res.chunks[n-1]}} {
		b, _ := json.Marshal(c[1])
		golden(t, c[0].(string), b)
	}
}

// TestLengthAndContext: max_tokens ends with "length"; a completion that
// would run past the context stops there with "length"; a prompt that fills
// the context is a 400 naming it.
func TestLengthAndContext(t *testing.T) {
	m := loadStories(t, runtime.WithContextSize(64))
	ts := start(t, Config{}, m)
	var tc struct {
		Choices []struct {
			Text         string `json:"text"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage usage `json:"usage"`
	}
	resp, b := ts.post(t, "/v1/completions", `{"model":"stories","prompt":"Once upon a time","max_tokens":3}`)
	json.Unmarshal(b, &tc)
	if resp.StatusCode != 200 || tc.Choices[0].FinishReason != "length" || tc.Usage.CompletionTokens != 3 {
		t.Fatalf("max_tokens 3: %d %s", resp.StatusCode, b)
	}
	// 5 prompt tokens in a context of 64: at most 59 new ones, whatever is asked.
	resp, b = ts.post(t, "/v1/completions", `{"model":"stories","prompt":"Once upon a time","max_tokens":60}`)
	json.Unmarshal(b, &tc)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if tc.Usage.CompletionTokens > 59 || (tc.Usage.CompletionTokens == 59) != (tc.Choices[0].FinishReason == "length") {
		t.Errorf("context 64, prompt 5: %d tokens, finish %q", tc.Usage.CompletionTokens, tc.Choices[0].FinishReason)
	}
	// Over the server's max tokens (the context, 64): 400 naming the parameter.
	resp, b = ts.post(t, "/v1/chat/completions", `{"model":"stories","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":65}`)
	apiErr(t, resp, b, 400, "max_completion_tokens")
	long := strings.Repeat("Once upon a time there was a dog. ", 20)
	resp, b = ts.post(t, "/v1/completions", `{"model":"stories","prompt":"`+long+`"}`)
	e := apiErr(t, resp, b, 400, "prompt")
	if e.Code == nil || *e.Code != "context_length_exceeded" || !strings.Contains(e.Message, "64") {
		t.Errorf("long prompt: %s", b)
	}
	resp, b = ts.post(t, "/v1/chat/completions", `{"model":"stories","messages":[{"role":"user","content":"`+long+`"}]}`)
	apiErr(t, resp, b, 400, "messages")
}

func TestModelsAndHealth(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{}, m, Model{ID: "minilm", Embedder: fakeEmbedder{}})
	resp, b := ts.get(t, "/v1/models")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	golden(t, "models", b)
	resp, b = ts.get(t, "/v1/models/stories")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	golden(t, "model", b)
	resp, b = ts.get(t, "/v1/models/gpt-4")
	apiErr(t, resp, b, 404, "model")
	resp, b = ts.get(t, "/health")
	if resp.StatusCode != 200 || string(b) != `{"status":"ok","models":["stories","minilm"]}`+"\n" {
		t.Errorf("health: %d %s", resp.StatusCode, b)
	}
}

// TestResponseFormatText: the neutral values of unsupported features pass.
func TestNeutralValues(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{}, m)
	body := `{"model":"stories","messages":[{"role":"developer","content":[{"type":"text","text":"Be brief."}]},{"role":"user","content":"hi","name":"ann"}],` +
		`"max_tokens":2,"n":1,"logprobs":false,"response_format":{"type":"text"},"logit_bias":{},"tools":[],"tool_choice":"none",` +
		`"user":"u1","seed":7,"top_p":1,"presence_penalty":0,"frequency_penalty":0,"stop":null,"metadata":{"a":"b"},"store":false}`
	resp, b := ts.post(t, "/v1/chat/completions", body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
}

// TestSampling: with a seed and temperature > 0, answers repeat exactly;
// different seeds give (for this prompt) different answers.
func TestSampling(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{}, m)
	get := func(seed string) string {
		resp, b := ts.post(t, "/v1/completions", `{"model":"stories","prompt":"Once upon a time","max_tokens":40,"temperature":1.2,"top_p":0.95,"seed":`+seed+`}`)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		var tc textCompletion
		json.Unmarshal(b, &tc)
		return tc.Choices[0].Text
	}
	a, b, c := get("1"), get("1"), get("2")
	if a != b {
		t.Errorf("seed 1 twice: %q and %q", a, b)
	}
	if a == c {
		t.Errorf("seeds 1 and 2 gave the same 40 tokens %q", a)
	}
	// The sampler is the runtime's: the same params give the same text.
	p := greedy
	p.Temperature, p.TopP, p.Seed = 1.2, 0.95, 1
	var want strings.Builder
	for tok, err := range m.Generate(context.Background(), "Once upon a time", runtime.GenerateOptions{MaxTokens: 40, Sampling: p}) {
		if err != nil {
			t.Fatal(err)
		}
		want.WriteString(tok.Text)
	}
	if a != want.String() {
		t.Errorf("server %q, runtime %q", a, want.String())
	}
}

func TestStopStrings(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{}, m)
	full, _ := directText(t, m, "Once upon a time", 40)
	i := strings.Index(full, " the")
	if i < 0 {
		t.Skipf("the greedy text %q has no \" the\"", full)
	}
	resp, b := ts.post(t, "/v1/completions", `{"model":"stories","prompt":"Once upon a time","max_tokens":40,"stop":[" the","zzz"]}`)
	var tc textCompletion
	json.Unmarshal(b, &tc)
	if resp.StatusCode != 200 || tc.Choices[0].Text != full[:i] || *tc.Choices[0].FinishReason != "stop" {
		t.Errorf("stop: %d %s; want text %q", resp.StatusCode, b, full[:i])
	}
}

var _ = http.StatusOK
