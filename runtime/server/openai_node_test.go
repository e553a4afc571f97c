package server

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeai-go/edgeai/models/chat"
)

// openaiNodeVersion is the official OpenAI client for JavaScript that
// TestOfficialNodeClient runs against the server, unchanged.
const openaiNodeVersion = "6.49.0"

// openaiNode returns the directory of the openai npm package, fetching it
// once with `npm pack` (no install scripts; the package has no required
// dependencies) into ${XDG_CACHE_HOME:-~/.cache}/edgeai/openai-node/VERSION,
// or skips the test when node, npm or the registry is unavailable.
func openaiNode(t *testing.T) (node, pkg string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the official OpenAI JavaScript client cannot run")
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Skipf("no cache directory: %v", err)
		}
		cache = filepath.Join(home, ".cache")
	}
	dest := filepath.Join(cache, "edgeai", "openai-node", openaiNodeVersion)
	pkg = filepath.Join(dest, "package")
	if _, err := os.Stat(filepath.Join(pkg, "index.mjs")); err == nil {
		return node, pkg
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skipf("npm is not installed and %s is absent: cannot fetch openai@%s", pkg, openaiNodeVersion)
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
	cmd := exec.CommandContext(ctx, npm, "pack", "--silent", "--fetch-retries=0", "--fetch-timeout=30000", "openai@"+openaiNodeVersion)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("npm pack openai@%s failed (offline?): %v\n%s", openaiNodeVersion, err, out)
	}
	out := filepath.Join(tmp, "out")
	os.Mkdir(out, 0o755)
	if b, err := exec.CommandContext(ctx, "tar", "-xzf", filepath.Join(tmp, "openai-"+openaiNodeVersion+".tgz"), "-C", out).CombinedOutput(); err != nil {
		t.Skipf("unpacking openai@%s: %v\n%s", openaiNodeVersion, err, b)
	}
	os.RemoveAll(dest)
	if err := os.Rename(out, dest); err != nil {
		t.Skip(err)
	}
	return node, pkg
}

// nodeScript drives the official client; it prints one JSON object.
const nodeScript = `
import OpenAI from '%PKG%/index.mjs';
const [base, key] = process.argv.slice(2);
const client = new OpenAI({ baseURL: base + '/v1', apiKey: key, maxRetries: 0 });
const out = {};
out.models = (await client.models.list()).data.map(m => m.id);
const msgs = [{ role: 'system', content: 'Tell stories.' }, { role: 'user', content: 'A cat' }];
const c = await client.chat.completions.create({ model: 'stories', messages: msgs, max_tokens: 12, temperature: 0 });
out.chat = { content: c.choices[0].message.content, finish: c.choices[0].finish_reason, usage: c.usage, object: c.object, id: c.id };
const s = await client.chat.completions.create({ model: 'stories', messages: msgs, max_tokens: 12, temperature: 0, stream: true, stream_options: { include_usage: true } });
let text = '', finish = null, usage = null, chunks = 0;
for await (const ch of s) { chunks++; if (ch.choices.length) { text += ch.choices[0].delta.content ?? ''; finish = ch.choices[0].finish_reason ?? finish; } if (ch.usage) usage = ch.usage; }
out.stream = { text, finish, usage, chunks };
const t = await client.completions.create({ model: 'stories', prompt: 'Once upon a time', max_tokens: 10, temperature: 0 });
out.completion = { text: t.choices[0].text, finish: t.choices[0].finish_reason, usage: t.usage };
let tt = '';
for await (const ch of await client.completions.create({ model: 'stories', prompt: 'Once upon a time', max_tokens: 10, temperature: 0, stream: true })) tt += ch.choices[0]?.text ?? '';
out.completionStream = tt;
out.errors = [];
for (const bad of [{ n: 2 }, { logit_bias: { '50': -100 } }, { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', format: 'email' } } } }, { model: 'gpt-4o' }]) {
  try { await client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'x' }], ...bad }); out.errors.push({ none: true }); }
  catch (e) { out.errors.push({ status: e.status, cls: e.constructor.name, param: e.param ?? null, code: e.code ?? null }); }
}
try { await client.embeddings.create({ model: 'stories', input: 'hi' }); out.embed = { none: true }; }
catch (e) { out.embed = { status: e.status, cls: e.constructor.name, param: e.param ?? null }; }
try { await new OpenAI({ baseURL: base + '/v1', apiKey: 'wrong', maxRetries: 0 }).models.list(); out.wrongKey = { none: true }; }
catch (e) { out.wrongKey = { status: e.status, cls: e.constructor.name }; }
console.log(JSON.stringify(out));
`

// TestOfficialNodeClient: the official OpenAI JavaScript client, unchanged,
// lists the models, gets chat and text completions (plain and streamed,
// with usage) equal to the runtime's greedy answers, and raises the
// documented error classes for unsupported parameters, unknown models and a
// wrong key.
func TestOfficialNodeClient(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	m := loadStories(t)
	node, pkg := openaiNode(t)
	ts := start(t, Config{APIKey: "node-key"}, m)
	dir := t.TempDir()
	script := filepath.Join(dir, "client.mjs")
	if err := os.WriteFile(script, []byte(strings.ReplaceAll(nodeScript, "%PKG%", filepath.ToSlash(pkg))), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, ts.url, "node-key")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("node: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var r struct {
		Models []string
		Chat   struct {
			Content, Finish, Object, ID string
			Usage                       usage
		}
		Stream struct {
			Text, Finish string
			Usage        *usage
			Chunks       int
		}
		Completion struct {
			Text, Finish string
			Usage        usage
		}
		CompletionStream string
		Errors           []struct {
			Status      int
			Cls         string
			Param, Code *string
			None        bool
		}
		Embed struct {
			Status int
			Cls    string
			Param  *string
		}
		WrongKey struct {
			Status int
			Cls    string
		}
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	wantChat, _ := directChat(t, m, []chat.Message{{Role: "system", Content: "Tell stories."}, {Role: "user", Content: "A cat"}}, 12)
	wantText, _ := directText(t, m, "Once upon a time", 10)
	if len(r.Models) != 1 || r.Models[0] != "stories" {
		t.Errorf("models %v", r.Models)
	}
	if r.Chat.Content != wantChat || r.Chat.Finish != "length" || r.Chat.Object != "chat.completion" || r.Chat.Usage.CompletionTokens != 12 {
		t.Errorf("chat %+v, want %q", r.Chat, wantChat)
	}
	if r.Stream.Text != wantChat || r.Stream.Finish != "length" || r.Stream.Usage == nil || r.Stream.Usage.CompletionTokens != 12 || r.Stream.Chunks < 12 {
		t.Errorf("stream %+v, want %q", r.Stream, wantChat)
	}
	if r.Completion.Text != wantText || r.Completion.Finish != "length" || r.CompletionStream != wantText {
		t.Errorf("completion %+v, stream %q; want %q", r.Completion, r.CompletionStream, wantText)
	}
	wantErr := []struct {
		status     int
		cls, param string
	}{{400, "BadRequestError", "n"}, {400, "BadRequestError", "logit_bias"}, {400, "BadRequestError", "response_format.json_schema.schema"}, {404, "NotFoundError", "model"}}
	for i, w := range wantErr {
		if i >= len(r.Errors) {
			t.Fatalf("errors %+v", r.Errors)
		}
		e := r.Errors[i]
		if e.Status != w.status || e.Cls != w.cls || e.Param == nil || *e.Param != w.param {
			t.Errorf("error %d: %+v, want %+v", i, e, w)
		}
	}
	if r.Embed.Status != 400 || r.Embed.Cls != "BadRequestError" || r.Embed.Param == nil || *r.Embed.Param != "model" {
		t.Errorf("embeddings %+v", r.Embed)
	}
	if r.WrongKey.Status != 401 || r.WrongKey.Cls != "AuthenticationError" {
		t.Errorf("wrong key %+v", r.WrongKey)
	}
}
