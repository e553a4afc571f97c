package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/models/chat"
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

// TestOllamaContext: /api/generate answers with context, the token ids of
// the templated prompt and of the answer (closed by EOS when the model
// ended it); sent back with the next prompt, it continues the conversation:
// the model reads the context and then the new turn, and answers token for
// token what /v1/completions answers for those ids. A raw answer has no
// context, a raw request with one is a 400 (as in Ollama), and ids outside
// the vocabulary are a 400.
func TestOllamaContext(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{}, m)
	turn := func(system, prompt string) []int {
		var msgs []chat.Message
		if system != "" {
			msgs = append(msgs, chat.Message{Role: "system", Content: system})
		}
		tn, err := m.ChatTurn(context.Background(), append(msgs, chat.Message{Role: "user", Content: prompt}), chat.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return tn.IDs
	}
	ids := func(v []int) string {
		b, _ := json.Marshal(v)
		return string(b)
	}

	// The first turn: the context is the prompt's ids and the 20 ids the
	// model generates from them.
	var first ollamaAnswer
	postJSON(t, ts, "/api/generate", `{"model":"stories","stream":false,"system":"You are kind.","prompt":"Tell me a story.","options":{"num_predict":20}}`, &first)
	p1 := turn("You are kind.", "Tell me a story.")
	gen := directIDs(t, m, p1, 20)
	if want := slices.Concat(p1, gen); !slices.Equal(first.Context, want) || first.DoneReason != "length" {
		t.Fatalf("context %v (%s), want the prompt %v and the answer %v", first.Context, first.DoneReason, p1, gen)
	}

	// The second turn, streamed, continues it.
	_, b := ts.post(t, "/api/generate", `{"model":"stories","prompt":"And then?","context":`+ids(first.Context)+`,"options":{"num_predict":12}}`)
	lines := ndjson(t, b)
	text := ""
	for _, a := range lines {
		text += *a.Response
	}
	last := lines[len(lines)-1]
	second := turn("", "And then?")
	if bos := m.Tokenizer().BOS(); second[0] == bos {
		second = second[1:] // the context has its own
	}
	read := slices.Concat(first.Context, second)
	var tc textCompletion
	postJSON(t, ts, "/v1/completions", `{"model":"stories","prompt":`+ids(read)+`,"max_tokens":12}`, &tc)
	if last.PromptEvalCount != len(read) || text != tc.Choices[0].Text {
		t.Errorf("continued answer %q from %d prompt tokens; want %q from %d", text, last.PromptEvalCount, tc.Choices[0].Text, len(read))
	}
	if len(last.Context) != len(read)+12 || !slices.Equal(last.Context[:len(read)], read) {
		t.Errorf("second context %v, want %v and 12 more", last.Context, read)
	}
	var alone ollamaAnswer
	postJSON(t, ts, "/api/generate", `{"model":"stories","stream":false,"prompt":"And then?","options":{"num_predict":12}}`, &alone)
	if *alone.Response == text {
		t.Errorf("the context changed nothing: %q", text)
	}

	// An answer that ends (stories260K runs on after a ChatML prompt; a
	// format's JSON ends at its closing brace): the context closes with EOS.
	var ended ollamaAnswer
	postJSON(t, ts, "/api/generate", `{"model":"stories","stream":false,"prompt":"Is it?","format":{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"],"additionalProperties":false}}`, &ended)
	if n := len(ended.Context); ended.DoneReason != "stop" || n != ended.PromptEvalCount+ended.EvalCount+1 || ended.Context[n-1] != m.Tokenizer().EOS() {
		t.Errorf("ended answer (%s, %d + %d tokens): context ends %v, want EOS %d", ended.DoneReason, ended.PromptEvalCount, ended.EvalCount, ended.Context[max(n-3, 0):], m.Tokenizer().EOS())
	}

	// The audit record shows the context's text before the new turn.
	aud := &memAuditor{}
	ta := start(t, Config{Audit: aud, AuditText: true}, m)
	postJSON(t, ta, "/api/generate", `{"model":"stories","stream":false,"prompt":"And then?","context":`+ids(first.Context)+`,"options":{"num_predict":2}}`, new(ollamaAnswer))
	ctxMsg, _ := json.Marshal(m.Detokenize(first.Context))
	if r := aud.all(); len(r) != 1 || r[0].Prompt == nil || !strings.HasPrefix(*r[0].Prompt, `[{"role":"context","content":`+string(ctxMsg)+`},{"role":"user","content":"And then?"}`) {
		t.Errorf("audit record %+v", r)
	}

	// raw: no context out, none in; bad ids.
	_, b = ts.post(t, "/api/generate", `{"model":"stories","raw":true,"prompt":"Once upon a time","options":{"num_predict":4}}`)
	if lines := ndjson(t, b); lines[len(lines)-1].Context != nil {
		t.Errorf("raw answer with context %v", lines[len(lines)-1].Context)
	}
	vocab := m.Info().Vocab
	for body, word := range map[string]string{
		`{"model":"stories","raw":true,"prompt":"Once","context":[1,2]}`:                "context",
		`{"model":"stories","raw":true,"prompt":"Once","system":"Be brief."}`:           "system",
		`{"model":"stories","raw":true,"prompt":"Once","template":"{{ .Prompt }}"}`:     "template",
		`{"model":"stories","prompt":"Once","template":"{{ .Prompt }}"}`:                "template",
		`{"model":"stories","prompt":"Once","context":[1,` + strconv.Itoa(vocab) + `]}`: "context",
		`{"model":"stories","prompt":"Once","context":[1,-1]}`:                          "context",
		`{"model":"stories","prompt":"Once","context":"1,2"}`:                           "context",
	} {
		resp, b := ts.post(t, "/api/generate", body)
		var oe struct{ Error string }
		if json.Unmarshal(b, &oe); resp.StatusCode != 400 || !strings.Contains(oe.Error, word) {
			t.Errorf("%s: %d %s", body, resp.StatusCode, b)
		}
	}
}

// TestOllamaNumCtx: options.num_ctx is the request's context: the answer
// stops where prompt and answer fill it (done_reason "length"), a prompt
// that fills it is a 400 naming num_ctx, and a num_ctx above the server's
// context is capped to it (Ollama caps it to the model's), on /api/generate
// and /api/chat alike.
func TestOllamaNumCtx(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{}, m)
	tn, err := m.ChatTurn(context.Background(), []chat.Message{{Role: "user", Content: "Tell me a story."}}, chat.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := len(tn.IDs)
	body := func(path string, opts string) string {
		if path == "/api/chat" {
			return `{"model":"stories","stream":false,"messages":[{"role":"user","content":"Tell me a story."}],"options":{` + opts + `}}`
		}
		return `{"model":"stories","stream":false,"prompt":"Tell me a story.","options":{` + opts + `}}`
	}
	text := func(a ollamaAnswer) string {
		if a.Message != nil {
			return a.Message.Content
		}
		return *a.Response
	}
	for _, path := range []string{"/api/generate", "/api/chat"} {
		var full, cut, capped ollamaAnswer
		postJSON(t, ts, path, body(path, `"num_predict":30`), &full)
		postJSON(t, ts, path, body(path, `"num_ctx":`+strconv.Itoa(p+10)), &cut)
		if cut.EvalCount != 10 || cut.PromptEvalCount != p || cut.DoneReason != "length" || !strings.HasPrefix(text(full), text(cut)) || text(cut) == "" {
			t.Errorf("%s num_ctx %d: %d + %d tokens (%s) %q; want %d + 10, length, the start of %q", path, p+10, cut.PromptEvalCount, cut.EvalCount, cut.DoneReason, text(cut), p, text(full))
		}
		postJSON(t, ts, path, body(path, `"num_predict":30,"num_ctx":1000000`), &capped)
		if text(capped) != text(full) || capped.EvalCount != 30 {
			t.Errorf("%s num_ctx above the server's: %q (%d tokens), want %q", path, text(capped), capped.EvalCount, text(full))
		}
		resp, b := ts.post(t, path, body(path, `"num_ctx":`+strconv.Itoa(p)))
		var oe struct{ Error string }
		if json.Unmarshal(b, &oe); resp.StatusCode != 400 || !strings.Contains(oe.Error, "num_ctx is "+strconv.Itoa(p)) {
			t.Errorf("%s prompt of %d tokens, num_ctx %d: %d %s", path, p, p, resp.StatusCode, b)
		}
	}
	resp, b := ts.post(t, "/api/generate", body("", `"num_ctx":0`))
	if resp.StatusCode != 400 || !strings.Contains(string(b), "num_ctx") {
		t.Errorf("num_ctx 0: %d %s", resp.StatusCode, b)
	}
}
