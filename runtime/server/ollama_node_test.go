package server

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeai-go/edgeai/internal/testutil"
	"github.com/edgeai-go/edgeai/models/chat"
	"github.com/edgeai-go/edgeai/runtime"
)

// The official Ollama client for JavaScript that TestOllamaNodeClient runs
// against the server, unchanged, and its one dependency (a fetch polyfill
// it imports even under Node), both pinned.
const (
	ollamaJSVersion    = "0.6.4"
	whatwgFetchVersion = "3.6.20"
)

// ollamaJS returns the path of the ollama package's ES module, installing
// it once with npm (no install scripts, no lock file) into
// ${XDG_CACHE_HOME:-~/.cache}/edgeai/ollama-js/VERSION, or skips the test
// when node, npm or the registry is unavailable.
func ollamaJS(t *testing.T) (node, module string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the official Ollama JavaScript client cannot run")
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Skipf("no cache directory: %v", err)
		}
		cache = filepath.Join(home, ".cache")
	}
	dest := filepath.Join(cache, "edgeai", "ollama-js", ollamaJSVersion)
	module = filepath.Join(dest, "node_modules", "ollama", "dist", "index.mjs")
	ready := func(dir string) bool {
		for _, f := range []string{"node_modules/ollama/dist/index.mjs", "node_modules/whatwg-fetch/package.json"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				return false
			}
		}
		return true
	}
	if ready(dest) {
		return node, module
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skipf("npm is not installed and %s is absent: cannot fetch ollama@%s", dest, ollamaJSVersion)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		t.Skip(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dest), ".tmp")
	if err != nil {
		t.Skip(err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "install", "--silent", "--ignore-scripts", "--no-audit", "--no-fund", "--no-package-lock",
		"--fetch-retries=0", "--fetch-timeout=30000", "--prefix", tmp, "ollama@"+ollamaJSVersion, "whatwg-fetch@"+whatwgFetchVersion)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil || !ready(tmp) {
		t.Skipf("npm install ollama@%s failed (offline?): %v\n%s", ollamaJSVersion, err, out)
	}
	os.RemoveAll(dest)
	if err := os.Rename(tmp, dest); err != nil {
		t.Skip(err)
	}
	return node, module
}

// ollamaScript drives the official Ollama client; it prints one JSON object.
const ollamaScript = `
import { Ollama } from '%MODULE%';
const [host, key, embedder] = process.argv.slice(2);
const ollama = new Ollama({ host, headers: { Authorization: 'Bearer ' + key } });
const out = {};
const msgs = [{ role: 'system', content: 'Tell stories.' }, { role: 'user', content: 'A cat' }];
const opts = { num_predict: 12, temperature: 0 };
const c = await ollama.chat({ model: 'stories', messages: msgs, options: opts });
out.chat = { content: c.message.content, role: c.message.role, done: c.done, reason: c.done_reason, eval: c.eval_count, prompt: c.prompt_eval_count };
let text = '', parts = 0, last = null;
for await (const p of await ollama.chat({ model: 'stories', messages: msgs, options: opts, stream: true })) { parts++; text += p.message.content; last = p; }
out.chatStream = { text, parts, done: last.done, reason: last.done_reason, eval: last.eval_count };
const g = await ollama.generate({ model: 'stories', system: 'Tell stories.', prompt: 'A cat', options: opts });
out.generate = { response: g.response, done: g.done, reason: g.done_reason, context: g.context };
const g2 = await ollama.generate({ model: 'stories', prompt: 'And then?', context: g.context, options: opts });
out.generate2 = { response: g2.response, prompt: g2.prompt_eval_count, context: g2.context };
text = '';
for await (const p of await ollama.generate({ model: 'stories', prompt: 'Once upon a time', raw: true, options: { num_predict: 10 }, stream: true })) text += p.response;
out.generateRaw = text;
out.json = (await ollama.chat({ model: 'stories', messages: [{ role: 'user', content: 'Tell me about a person.' }], format: 'json', options: { num_predict: 40 } })).message.content;
out.schema = (await ollama.generate({ model: 'stories', prompt: 'Who?', format: JSON.parse(process.argv[5]), options: { num_predict: 80, temperature: 0.7, seed: 1 } })).response;
const e = await ollama.embed({ model: embedder, input: ['a cat sat', 'on the mat'] });
out.embed = { model: e.model, embeddings: e.embeddings };
out.embeddings = (await ollama.embeddings({ model: embedder, prompt: 'a cat sat' })).embedding;
out.list = (await ollama.list()).models.map(m => ({ name: m.name, model: m.model, family: m.details?.family ?? null }));
out.ps = (await ollama.ps()).models.map(m => m.name);
const s = await ollama.show({ model: 'stories' });
out.show = { capabilities: s.capabilities, family: s.details?.family ?? null };
out.version = (await ollama.version()).version;
try { await ollama.chat({ model: 'nope', messages: msgs }); out.unknown = { none: true }; }
catch (err) { out.unknown = { cls: err.constructor.name, status: err.status_code ?? null, error: err.error ?? String(err) }; }
try { await new Ollama({ host }).list(); out.noKey = { none: true }; }
catch (err) { out.noKey = { cls: err.constructor.name, status: err.status_code ?? null }; }
console.log(JSON.stringify(out));
`

// TestOllamaNodeClient: the official Ollama JavaScript client, unchanged,
// gets chat and generate answers (whole and streamed) equal to the
// runtime's greedy answers, format json and a JSON schema answers that
// validate, embeddings equal to the embedder's own vectors (the tiny BERT
// reference encoder when ../shared is there, else a stand-in), and the
// model list, running models, show and version; an unknown model and a
// missing key are its ResponseError with the status.
func TestOllamaNodeClient(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	m := loadStories(t)
	node, module := ollamaJS(t)
	var emb Embedder = fakeEmbedder{}
	embID := "stand-in"
	if testutil.HasShared(t, "testdata/bert/tiny-bert-F32.gguf") {
		em, err := runtime.LoadEmbedder(context.Background(), testutil.Shared(t, "testdata/bert/tiny-bert-F32.gguf"), runtime.WithEmbedThreads(1))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { em.Close() })
		emb, embID = em, "bert"
	} else {
		t.Log("../shared's tiny BERT is absent: /api/embed serves a stand-in embedder")
	}
	ts := start(t, Config{APIKey: "ollama-key"}, m, Model{ID: embID, Embedder: emb})
	script := filepath.Join(t.TempDir(), "client.mjs")
	if err := os.WriteFile(script, []byte(strings.ReplaceAll(ollamaScript, "%MODULE%", filepath.ToSlash(module))), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, script, ts.url, "ollama-key", embID, personSchema).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("node: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var r struct {
		Chat struct {
			Content, Role, Reason string
			Done                  bool
			Eval, Prompt          int
		}
		ChatStream struct {
			Text, Reason string
			Parts, Eval  int
			Done         bool
		}
		Generate struct {
			Response, Reason string
			Done             bool
			Context          []int
		}
		Generate2 struct {
			Response string
			Prompt   int
			Context  []int
		}
		GenerateRaw string
		JSON        string
		Schema      string
		Embed       struct {
			Model      string
			Embeddings [][]float32
		}
		Embeddings []float32
		List       []struct{ Name, Model, Family string }
		PS         []string
		Show       struct {
			Capabilities []string
			Family       string
		}
		Version string
		Unknown struct {
			Cls, Error string
			Status     int
			None       bool
		}
		NoKey struct {
			Cls    string
			Status int
			None   bool
		}
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}

	want, st := directChat(t, m, []chat.Message{{Role: "system", Content: "Tell stories."}, {Role: "user", Content: "A cat"}}, 12)
	if r.Chat.Content != want || r.Chat.Role != "assistant" || !r.Chat.Done || r.Chat.Reason != "length" || r.Chat.Eval != 12 || r.Chat.Prompt != st.PromptTokens+st.CachedTokens {
		t.Errorf("chat %+v, want %q (%d prompt tokens)", r.Chat, want, st.PromptTokens+st.CachedTokens)
	}
	if s := r.ChatStream; s.Text != want || s.Parts < 3 || !s.Done || s.Reason != "length" || s.Eval != 12 {
		t.Errorf("chat stream %+v, want %q", s, want)
	}
	if g := r.Generate; g.Response != want || !g.Done || g.Reason != "length" || len(g.Context) != st.PromptTokens+st.CachedTokens+12 {
		t.Errorf("generate %+v, want %q and a context of %d + 12 ids", g, want, st.PromptTokens+st.CachedTokens)
	}
	// The context the client got back continues the conversation.
	if g2 := r.Generate2; g2.Response == "" || g2.Prompt <= len(r.Generate.Context) || len(g2.Context) != g2.Prompt+12 || !slices.Equal(g2.Context[:len(r.Generate.Context)], r.Generate.Context) {
		t.Errorf("generate with the context %+v (first context: %d ids)", g2, len(r.Generate.Context))
	}
	if wantRaw, _ := directText(t, m, "Once upon a time", 10); r.GenerateRaw != wantRaw {
		t.Errorf("raw generate stream %q, want %q", r.GenerateRaw, wantRaw)
	}
	validates(t, validator(t, `{"type":"object"}`), r.JSON)
	validates(t, validator(t, personSchema), r.Schema)

	direct, err := emb.Embed(context.Background(), []string{"a cat sat", "on the mat"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Embed.Model != embID || len(r.Embed.Embeddings) != 2 || !slices.Equal(r.Embed.Embeddings[0], direct[0]) || !slices.Equal(r.Embed.Embeddings[1], direct[1]) {
		t.Errorf("embed %s %d vectors, want the embedder's %d (first %v vs %v)", r.Embed.Model, len(r.Embed.Embeddings), len(direct), head(r.Embed.Embeddings), direct[0][:min(4, len(direct[0]))])
	}
	if !slices.Equal(r.Embeddings, direct[0]) {
		t.Errorf("embeddings (legacy) %d values, want the embedder's %d", len(r.Embeddings), len(direct[0]))
	}

	if len(r.List) != 2 || r.List[0].Name != "stories" || r.List[0].Model != "stories" || r.List[0].Family != "llama" || r.List[1].Name != embID {
		t.Errorf("list %+v", r.List)
	}
	if !slices.Equal(r.PS, []string{"stories", embID}) {
		t.Errorf("ps %v", r.PS)
	}
	if !slices.Equal(r.Show.Capabilities, []string{"completion", "tools"}) || r.Show.Family != "llama" {
		t.Errorf("show %+v", r.Show)
	}
	if r.Version == "" {
		t.Error("no version")
	}
	if u := r.Unknown; u.Cls != "ResponseError" || u.Status != 404 || !strings.Contains(u.Error, "nope") {
		t.Errorf("unknown model %+v", u)
	}
	if k := r.NoKey; k.Cls != "ResponseError" || k.Status != 401 {
		t.Errorf("no key %+v", k)
	}
}

// head is the start of the first vector, for messages.
func head(v [][]float32) []float32 {
	if len(v) == 0 {
		return nil
	}
	return v[0][:min(4, len(v[0]))]
}
