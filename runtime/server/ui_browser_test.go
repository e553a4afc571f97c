package server

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/edgeai-go/edgeai/internal/testutil"
	"github.com/edgeai-go/edgeai/models/chat"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/runtime"
)

// Hostile text the model will answer with (see hostileModel). As pieces
// of an SPM vocabulary, spaces are written "▁".
const (
	hostileImg  = `<img src=x onerror=document.title='pwned'>`
	hostileLink = ` [x](javascript:document.title='pwned2')`
	chatPrompt  = "hi"
)

// hostileModel writes a copy of stories260K whose vocabulary maps two of
// the tokens the model answers "hi" with (greedy, ChatML) to hostile
// pieces: the real model, the real server and the real generation then
// produce an answer that holds an HTML image with an onerror handler and a
// javascript: link. Only the text of those token ids changes; the prompt's
// tokens are checked to be the same.
func hostileModel(t *testing.T) string {
	t.Helper()
	src := testutil.Stories(t)
	ctx := context.Background()
	m, err := runtime.Load(ctx, src, runtime.WithChatTemplate("chatml"), runtime.WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	prompt, answer := greedyChat(t, m)
	m.Close()

	f, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tokens, _ := f.Strings("tokenizer.ggml.tokens")
	types, _ := f.Int32s("tokenizer.ggml.token_type")
	var picked []int
	for _, id := range answer {
		if types[id] == 1 && !slices.Contains(prompt, id) && !slices.Contains(picked, id) && len(picked) < 2 {
			picked = append(picked, id)
		}
	}
	if len(picked) < 2 {
		t.Fatalf("no two ordinary answer tokens outside the prompt in %v", answer)
	}
	tokens = slices.Clone(tokens)
	tokens[picked[0]] = strings.ReplaceAll(hostileImg, " ", "▁")
	tokens[picked[1]] = strings.ReplaceAll(hostileLink, " ", "▁")
	kv := slices.Clone(f.KV)
	for i := range kv {
		if kv[i].Key == "tokenizer.ggml.tokens" {
			kv[i].Value = gguf.NewStrings(tokens)
		}
	}
	var ts []gguf.WriteTensor
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		data, err := f.TensorData(ti)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, gguf.WriteTensor{Name: ti.Name, Type: ti.Type, Shape: ti.Shape, Data: data})
	}
	var buf bytes.Buffer
	if err := gguf.Write(&buf, kv, ts, f.Alignment); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "stories-hostile.gguf")
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	// The prompt tokenizes as before, so the answer's ids are the same.
	h, err := runtime.Load(ctx, out, runtime.WithChatTemplate("chatml"), runtime.WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	p2, a2 := greedyChat(t, h)
	if !slices.Equal(p2, prompt) || !slices.Equal(a2, answer) {
		t.Fatalf("the rewritten vocabulary changed the tokens: prompt %v -> %v", prompt, p2)
	}
	text := h.Detokenize(a2)
	if !strings.Contains(text, hostileImg) || !strings.Contains(text, strings.TrimSpace(hostileLink)) {
		t.Fatalf("the hostile model's answer lacks the hostile text: %q", text)
	}
	t.Logf("hostile answer (tokens %d and %d rewritten): %q", picked[0], picked[1], text)
	return out
}

// greedyChat returns the prompt ids of the ChatML conversation "hi" and
// the ids of the model's greedy 30-token answer.
func greedyChat(t *testing.T, m *runtime.Model) (prompt, answer []int) {
	t.Helper()
	ids, stops, err := m.ChatPrompt([]chat.Message{{Role: "user", Content: chatPrompt}})
	if err != nil {
		t.Fatal(err)
	}
	for tok, err := range m.GenerateTokens(context.Background(), ids, runtime.GenerateOptions{MaxTokens: 30, Sampling: greedy, Stop: stops}) {
		if err != nil {
			t.Fatal(err)
		}
		if tok.ID >= 0 {
			answer = append(answer, tok.ID)
		}
	}
	return ids, answer
}

// findChromium returns Debian's Chromium (or another Chrome) or skips.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium found (Debian: apt-get install chromium; .ci/run installs it)")
	return ""
}

// TestBrowserChat drives the web chat in headless Chromium against a real
// server: the API key dialog, the model list, a streamed answer, the
// hostile answer shown as text, the renderer on hostile Markdown, stopping
// a long answer, a new chat, and no Content-Security-Policy violation.
// Screenshots (desktop and phone) go to the test's artifact directory
// (go test -artifacts -outputdir DIR keeps them).
func TestBrowserChat(t *testing.T) {
	chromium := findChromium(t)
	path := hostileModel(t)
	m, err := runtime.Load(context.Background(), path, runtime.WithChatTemplate("chatml"), runtime.WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	const key = "browser-test-key"
	ts := start(t, Config{APIKey: key}, m)
	// Slow generation down so that a long answer can be stopped halfway.
	ts.hookToken = func(ctx context.Context, j *genJob, n int) {
		select {
		case <-time.After(15 * time.Millisecond):
		case <-ctx.Done():
		}
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 760),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	defer cancelT()

	t0 := time.Now()
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		t.Logf("%v %s", time.Since(t0).Round(time.Millisecond), what)
	}
	eval := func(what, js string, out any) {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s: %v: %s", what, err, b)
			}
		}
	}
	// Record CSP violations and the streamed states of the answer from the
	// start of every document.
	run("init script", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
			window.__csp = [];
			document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
		`})
		return err
	}))

	// The page asks for the key, keeps it in session storage only, lists
	// the models.
	run("load", chromedp.Navigate(ts.url+"/"),
		chromedp.WaitVisible(chromedp.ID(`key-input`)),
		chromedp.SendKeys(chromedp.ID(`key-input`), key+"\r"),
		chromedp.WaitNotVisible(chromedp.ID(`key-dialog`)),
		chromedp.WaitReady(chromedp.CSS(`#model option[value="stories"]`)))
	var storage struct {
		Session string `json:"session"`
		Local   int    `json:"local"`
		Cookie  string `json:"cookie"`
	}
	eval("storage", `({session: sessionStorage.getItem('edgeai-api-key'), local: localStorage.length, cookie: document.cookie})`, &storage)
	if storage.Session != key || storage.Local != 0 || storage.Cookie != "" {
		t.Errorf("key storage: %+v", storage)
	}

	// A short answer, streamed: watch the answer's text change.
	run("settings", chromedp.Click(chromedp.ID(`settings-toggle`)),
		chromedp.SendKeys(chromedp.ID(`max-tokens`), "30"),
		chromedp.Click(chromedp.ID(`settings-toggle`)))
	var settingsShown bool
	eval("settings hidden", `getComputedStyle(document.getElementById('settings')).display !== 'none'`, &settingsShown)
	if settingsShown {
		t.Error("the settings stay visible after Settings was pressed twice")
	}
	eval("observer", `
		window.__states = [];
		new MutationObserver(() => {
			const c = document.querySelector('#log .msg.assistant:last-of-type .content');
			if (c) { const s = c.textContent; if (window.__states[window.__states.length-1] !== s) window.__states.push(s); }
		}).observe(document.getElementById('log'), {subtree: true, childList: true, characterData: true});
		true`, nil)
	run("send", chromedp.SendKeys(chromedp.ID(`prompt`), chatPrompt+"\r"),
		chromedp.WaitVisible(chromedp.CSS(`#log article.msg.assistant[data-outcome]`)))
	var first struct {
		Outcome string   `json:"outcome"`
		Text    string   `json:"text"`
		States  []string `json:"states"`
		Imgs    int      `json:"imgs"`
		Links   []string `json:"links"`
		Title   string   `json:"title"`
		Focus   string   `json:"focus"`
	}
	eval("first answer", `(() => {
		const a = document.querySelector('#log .msg.assistant');
		return {outcome: a.dataset.outcome, text: a.querySelector('.content').textContent, states: window.__states,
			imgs: document.querySelectorAll('img, script:not([src="/ui/app.js"]), iframe, object, embed').length,
			links: [...document.querySelectorAll('#log a')].map((x) => x.getAttribute('href')),
			title: document.title, focus: document.activeElement.id};
	})()`, &first)
	t.Logf("first answer (%s, %d streamed states): %q", first.Outcome, len(first.States), first.Text)
	if first.Outcome != "length" || len(first.States) < 3 {
		t.Errorf("the answer was not streamed: outcome %q, states %q", first.Outcome, first.States)
	}
	if !strings.Contains(first.Text, hostileImg) || !strings.Contains(first.Text, strings.TrimSpace(hostileLink)) {
		t.Errorf("the hostile text is not shown as text: %q", first.Text)
	}
	if first.Imgs != 0 || first.Title != "edgeai chat" || len(first.Links) != 0 {
		t.Errorf("the hostile answer became markup: %d elements, links %q, title %q", first.Imgs, first.Links, first.Title)
	}
	if first.Focus != "prompt" {
		t.Errorf("focus after the answer: %q, want the prompt", first.Focus)
	}
	// Copy puts the answer on the clipboard (read back with the page's
	// clipboard permission granted).
	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: perm}, Setting: browser.PermissionSettingGranted, Origin: ts.url}); err != nil {
			t.Fatalf("granting %s: %v", perm, err)
		}
	}
	run("copy", chromedp.Click(chromedp.CSS(`#log .msg.assistant .copy`)))
	waitClip := time.Now().Add(10 * time.Second)
	for {
		clip, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
		if err == nil && strings.ReplaceAll(clip, "\n", "") == first.Text && strings.Contains(clip, "\n") {
			break
		}
		if time.Now().After(waitClip) {
			var status string
			eval("status", `document.getElementById('status').textContent`, &status)
			t.Fatalf("the clipboard holds %q (%v), want the answer; status %q", clip, err, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	shots := t.ArtifactDir()
	screenshot := func(name string) {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		p := filepath.Join(shots, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s (%d bytes)", p, len(png))
	}
	screenshot("chat-desktop.png")

	// The renderer on hostile Markdown, through the DevTools protocol.
	var rendered []struct {
		In    string   `json:"in"`
		Text  string   `json:"text"`
		Tags  []string `json:"tags"`
		Hrefs []string `json:"hrefs"`
		Attrs []string `json:"attrs"`
	}
	eval("renderer", `(() => {
		const cases = [
			"<img src=x onerror=document.title='r1'>",
			"[x](javascript:document.title='r2')",
			"[x](JaVaScRiPt:alert(1)) [y](data:text/html,<script>alert(1)</script>) [z](vbscript:x) [w](/relative)",
			"<script>document.title='r3'</script>",
			"**<b onmouseover=alert(1)>bold</b>** *<svg onload=alert(1)>*",
			"`+"```html\\n<iframe src=javascript:alert(1)></iframe>\\n```"+`",
			"[ok](https://example.org/a?b=1) and http://example.org/x.",
			"# <h1>title</h1>\n- <a href=javascript:alert(1)>item</a>\n> <img src=x>",
			"![img](https://example.org/i.png) &lt;escaped&gt; &amp;",
		];
		return cases.map((md) => {
			const d = window.edgeaiRender(md);
			const all = [...d.querySelectorAll('*')];
			return {in: md, text: d.textContent, tags: [...new Set(all.map((e) => e.tagName.toLowerCase()))],
				hrefs: all.filter((e) => e.hasAttribute('href')).map((e) => e.getAttribute('href')),
				attrs: all.flatMap((e) => [...e.attributes].map((a) => a.name))};
		});
	})()`, &rendered)
	allowed := map[string]bool{"p": true, "br": true, "strong": true, "em": true, "code": true, "pre": true, "a": true, "h3": true,
		"ul": true, "ol": true, "li": true, "blockquote": true, "hr": true}
	for _, r := range rendered {
		for _, tag := range r.Tags {
			if !allowed[tag] {
				t.Errorf("render(%q) made a <%s>", r.In, tag)
			}
		}
		for _, h := range r.Hrefs {
			if !strings.HasPrefix(h, "https://") && !strings.HasPrefix(h, "http://") {
				t.Errorf("render(%q) made a link to %q", r.In, h)
			}
		}
		for _, a := range r.Attrs {
			if !slices.Contains([]string{"href", "rel", "target", "class", "data-lang", "start"}, a) {
				t.Errorf("render(%q) set the attribute %s", r.In, a)
			}
		}
	}
	if rendered[0].Text != "<img src=x onerror=document.title='r1'>" || rendered[1].Text != "[x](javascript:document.title='r2')" ||
		len(rendered[6].Hrefs) != 2 {
		t.Errorf("renderer: %+v", rendered[:2])
	}

	// A long answer, stopped halfway with the Stop button.
	run("clear max tokens", chromedp.Click(chromedp.ID(`settings-toggle`)),
		chromedp.SetValue(chromedp.ID(`max-tokens`), ""),
		chromedp.Click(chromedp.ID(`settings-toggle`)))
	run("send a long one", chromedp.SendKeys(chromedp.ID(`prompt`), "Tell me a long story\r"))
	waitJS := func(what, js string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			var ok bool
			eval(what, js, &ok)
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitJS("the long answer to start", `(() => { const c = document.querySelectorAll('#log .msg.assistant .content'); return c.length === 2 && c[1].textContent.length > 150; })()`)
	run("stop", chromedp.Click(chromedp.ID(`stop`)))
	waitJS("the answer to stop", `document.querySelectorAll('#log .msg.assistant')[1].dataset.outcome === 'stopped'`)
	var lenAtStop, lenLater int
	eval("length", `document.querySelectorAll('#log .msg.assistant .content')[1].textContent.length`, &lenAtStop)
	time.Sleep(300 * time.Millisecond)
	eval("length", `document.querySelectorAll('#log .msg.assistant .content')[1].textContent.length`, &lenLater)
	if lenLater != lenAtStop {
		t.Errorf("the answer grew after Stop: %d -> %d", lenAtStop, lenLater)
	}
	waitFor(t, 5*time.Second, "the server to log the stopped request", func() bool { return strings.Contains(ts.log.String(), `"status":499`) })
	for _, r := range ts.log.records(t) {
		if r["status"] == float64(499) {
			if n, _ := r["completion_tokens"].(float64); n < 5 || n > 400 {
				t.Errorf("the stopped request generated %v tokens", n)
			}
			t.Logf("stopped after %v tokens (%d characters shown)", r["completion_tokens"], lenAtStop)
		}
	}
	// Phone-sized screen.
	run("phone", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 390, Height: 844, DeviceScaleFactor: 2, Mobile: true})
		return err
	}))
	var overflow bool
	eval("overflow", `document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow)
	if overflow {
		t.Error("the page is wider than a 390-pixel phone screen")
	}
	screenshot("chat-phone.png")
	run("desktop", chromedp.ResetViewport())

	// Every control has a name (keyboard and screen-reader use).
	var unnamed []string
	eval("names", `[...document.querySelectorAll('button, select, input, textarea')].filter((e) =>
		!(e.getAttribute('aria-label') || e.textContent.trim() || (e.id && document.querySelector('label[for="' + e.id + '"]')) || e.closest('label'))
	).map((e) => e.outerHTML)`, &unnamed)
	if len(unnamed) > 0 {
		t.Errorf("controls without a name: %q", unnamed)
	}
	// New chat empties the conversation.
	var msgs int
	run("new chat", chromedp.Click(chromedp.ID(`new-chat`)))
	eval("messages", `document.querySelectorAll('#log .msg').length`, &msgs)
	if msgs != 0 {
		t.Errorf("%d messages after New chat", msgs)
	}
	var csp []string
	eval("csp", `window.__csp`, &csp)
	if len(csp) > 0 {
		t.Errorf("Content-Security-Policy violations: %q", csp)
	}
}
