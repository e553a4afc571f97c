package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"
	"github.com/edgeai-go/edgeai/runtime"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// memAuditor keeps audit records in memory; fail makes Audit fail.
type memAuditor struct {
	mu   sync.Mutex
	recs []*AuditRecord
	fail bool
}

func (a *memAuditor) Audit(r *AuditRecord) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail {
		return errors.New("disk full")
	}
	a.recs = append(a.recs, r)
	return nil
}

func (a *memAuditor) all() []*AuditRecord {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*AuditRecord(nil), a.recs...)
}

func jsonUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestAuditRecords: one record per API request, written before the answer,
// with hashes and no text, the key's fingerprint and not the key; with
// AuditText the text; a failing Auditor withholds the answer.
func TestAuditRecords(t *testing.T) {
	m := loadStories(t)
	aud := &memAuditor{}
	const key = "clinic-key-123"
	ts := start(t, Config{APIKey: key, Audit: aud}, m)
	auth := []string{"Authorization", "Bearer " + key}
	body := `{"model":"stories","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}],"max_tokens":5,"temperature":0}`
	resp, b := ts.post(t, "/v1/chat/completions", body, auth...)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	_, res := ts.postStream(t, "/v1/chat/completions", strings.Replace(body, `"max_tokens":5`, `"max_tokens":6,"stream":true`, 1), true, auth...)
	ts.post(t, "/v1/completions", `{"model":"stories","prompt":"Once upon","max_tokens":3}`, auth...)
	ts.post(t, "/v1/chat/completions", body)                                                                   // no key: 401
	ts.post(t, "/v1/chat/completions", `{"model":"nope","messages":[{"role":"user","content":"x"}]}`, auth...) // 400
	ts.get(t, "/health")
	ts.get(t, "/", auth...)
	ts.get(t, "/metrics", auth...)
	recs := aud.all()
	if len(recs) != 5 {
		for _, r := range recs {
			t.Logf("%+v", r)
		}
		t.Fatalf("%d records, want 5: chat, stream, completion, 401, 404", len(recs))
	}
	if res.finish != "length" {
		t.Errorf("stream: %+v", res)
	}
	chat := recs[0]
	wantPrompt := `[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}]`
	if chat.Path != "/v1/chat/completions" || chat.Method != "POST" || chat.Status != 200 || chat.Model != "stories" ||
		chat.KeyID != KeyID(key) || !strings.HasPrefix(chat.Client, "127.0.0.1:") || chat.PromptSHA256 != sha(wantPrompt) ||
		chat.CompletionTokens != 5 || chat.PromptTokens == 0 || chat.Finish != "length" || chat.Params["temperature"] != float32(0) ||
		chat.Prompt != nil || chat.Response != nil || chat.Duration <= 0 || chat.Time.IsZero() {
		t.Errorf("chat record %+v", chat)
	}
	var cc struct {
		Choices []struct{ Message struct{ Content string } }
	}
	jsonUnmarshal(t, b, &cc)
	if chat.ResponseSHA256 != sha(cc.Choices[0].Message.Content) {
		t.Errorf("response hash %s, want the hash of %q", chat.ResponseSHA256, cc.Choices[0].Message.Content)
	}
	if st := recs[1]; !st.Stream || st.Status != 200 || st.CompletionTokens != 6 || st.Finish != "length" {
		t.Errorf("stream record %+v", st)
	}
	if c := recs[2]; c.Path != "/v1/completions" || c.PromptSHA256 != sha("Once upon") || c.CompletionTokens != 3 {
		t.Errorf("completion record %+v", c)
	}
	if r := recs[3]; r.Status != 401 || r.KeyID != "" || r.Error == "" {
		t.Errorf("401 record %+v", r)
	}
	if r := recs[4]; r.Status != 404 || r.Model != "nope" {
		t.Errorf("404 record %+v", r)
	}
	for _, r := range recs {
		if strings.Contains(r.KeyID, key) || strings.Contains(r.Error, key) {
			t.Errorf("a record holds the key: %+v", r)
		}
	}

	// With AuditText the text is there.
	aud2 := &memAuditor{}
	ts2 := start(t, Config{Audit: aud2, AuditText: true}, m)
	_, b = ts2.post(t, "/v1/chat/completions", body)
	jsonUnmarshal(t, b, &cc)
	if r := aud2.all(); len(r) != 1 || r[0].Prompt == nil || *r[0].Prompt != wantPrompt || r[0].Response == nil || *r[0].Response != cc.Choices[0].Message.Content || r[0].KeyID != "" {
		t.Errorf("text record %+v", r)
	}

	// A failing Auditor: no answer without its record.
	aud2.fail = true
	resp, b = ts2.post(t, "/v1/chat/completions", body)
	if e := apiErr(t, resp, b, 500, ""); e.Code == nil || *e.Code != "audit_failed" {
		t.Errorf("audit failure: %s", b)
	}
	_, res = ts2.postStream(t, "/v1/chat/completions", strings.Replace(body, `"max_tokens":5`, `"max_tokens":5,"stream":true`, 1), true)
	if res.done || res.errBody == nil || res.finish != "" {
		t.Errorf("stream with audit failure: done %v, error %v, finish %q", res.done, res.errBody, res.finish)
	}
}

// TestMetrics parses /metrics with the Prometheus parser after some
// traffic: request counts by endpoint and status, tokens, latency
// histograms, queue depth, KV memory, model state; behind the key.
func TestMetrics(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{APIKey: "k", Parallel: 2}, m)
	auth := []string{"Authorization", "Bearer k"}
	for range 2 {
		ts.post(t, "/v1/completions", `{"model":"stories","prompt":"Once upon a time","max_tokens":7}`, auth...)
	}
	ts.post(t, "/v1/completions", `{"model":"stories","prompt":"x","max_tokens":7}`) // 401
	resp, _ := ts.get(t, "/metrics")
	if resp.StatusCode != 401 {
		t.Fatalf("/metrics without the key: %d", resp.StatusCode)
	}
	resp, b := ts.get(t, "/metrics", auth...)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, b)
	}
	value := func(name string, labels map[string]string) (float64, bool) {
		f := fams[name]
		if f == nil {
			return 0, false
		}
	next:
		for _, mm := range f.Metric {
			for k, v := range labels {
				found := false
				for _, lp := range mm.Label {
					if lp.GetName() == k && lp.GetValue() == v {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				return mm.Counter.GetValue(), true
			case dto.MetricType_GAUGE:
				return mm.Gauge.GetValue(), true
			case dto.MetricType_HISTOGRAM:
				return float64(mm.Histogram.GetSampleCount()), true
			}
		}
		return 0, false
	}
	stories := map[string]string{"model": "stories"}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   func(float64) bool
	}{
		{"edgeai_http_requests_total", map[string]string{"endpoint": "/v1/completions", "status": "200"}, func(v float64) bool { return v == 2 }},
		{"edgeai_http_requests_total", map[string]string{"endpoint": "/v1/completions", "status": "401"}, func(v float64) bool { return v == 1 }},
		{"edgeai_http_requests_total", map[string]string{"endpoint": "/metrics", "status": "401"}, func(v float64) bool { return v == 1 }},
		{"edgeai_completion_tokens_total", stories, func(v float64) bool { return v == 14 }},
		{"edgeai_prompt_tokens_total", stories, func(v float64) bool { return v > 0 }},
		{"edgeai_time_to_first_token_seconds", stories, func(v float64) bool { return v == 2 }},
		{"edgeai_time_per_output_token_seconds", stories, func(v float64) bool { return v == 12 }},
		{"edgeai_queue_depth", stories, func(v float64) bool { return v == 0 }},
		{"edgeai_sequences_busy", stories, func(v float64) bool { return v == 0 }},
		{"edgeai_kv_cache_bytes", stories, func(v float64) bool { return v >= float64(m.KVCacheBytes()) && v <= 2*float64(m.KVCacheBytes()) }},
		{"edgeai_kv_cache_max_bytes", stories, func(v float64) bool { return v == 2*float64(m.KVCacheBytes()) }},
		{"edgeai_model_loaded", map[string]string{"model": "stories", "kind": "decoder"}, func(v float64) bool { return v == 1 }},
		{"go_goroutines", nil, func(v float64) bool { return v > 0 }},
	} {
		v, ok := value(c.name, c.labels)
		if !ok || !c.want(v) {
			t.Errorf("%s%v = %v (present %v)", c.name, c.labels, v, ok)
		}
	}
	ts.Close()
	if v, _ := value("edgeai_model_loaded", nil); v != 1 {
		t.Errorf("model_loaded before close: %v", v)
	}
	rec := ts.Server.metrics
	fams2, _ := rec.reg.Gather()
	for _, f := range fams2 {
		if f.GetName() == "edgeai_model_loaded" && f.Metric[0].Gauge.GetValue() != 0 {
			t.Errorf("model_loaded after close: %v", f.Metric[0].Gauge.GetValue())
		}
	}
}

func TestSecurityHeadersAndUI(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{APIKey: "k"}, m)
	for _, path := range []string{"/", "/ui/app.js", "/ui/style.css", "/health", "/v1/models", "/nope"} {
		resp, b := ts.get(t, path)
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", path, h)
		}
		switch path {
		case "/", "/ui/app.js", "/ui/style.css":
			if resp.StatusCode != 200 || len(b) < 100 {
				t.Errorf("%s without a key: %d, %d bytes", path, resp.StatusCode, len(b))
			}
		}
	}
	resp, b := ts.get(t, "/")
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" || !bytes.Contains(b, []byte(`<script src="/ui/app.js"`)) {
		t.Errorf("/: %s", ct)
	}
	// No inline script or style anywhere in the page, no other origin.
	for _, bad := range []string{"<script>", "style=", "onclick", "http://", "https://"} {
		if bytes.Contains(b, []byte(bad)) {
			t.Errorf("the page contains %q", bad)
		}
	}
	if resp, _ := ts.get(t, "/ui/../server.go"); resp.StatusCode != 404 {
		t.Errorf("/ui/../server.go: %d", resp.StatusCode)
	}
	if resp, _ := ts.get(t, "/ui/nothing.js"); resp.StatusCode != 404 {
		t.Errorf("/ui/nothing.js: %d", resp.StatusCode)
	}
	// The page's own POSTs carry its Origin: accepted as same-origin.
	resp, b = ts.post(t, "/v1/completions", `{"model":"stories","prompt":"a","max_tokens":1}`, "Authorization", "Bearer k", "Origin", ts.url)
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("same-origin POST: %d %s", resp.StatusCode, b)
	}
	resp, _ = ts.post(t, "/v1/completions", `{"model":"stories","prompt":"a","max_tokens":1}`, "Authorization", "Bearer k", "Origin", "http://evil.example")
	if resp.StatusCode != 403 {
		t.Errorf("cross-origin POST: %d", resp.StatusCode)
	}
	// HEAD /health without the key, like GET.
	req, _ := http.NewRequest(http.MethodHead, ts.url+"/health", nil)
	if resp, _ := do(t, req); resp.StatusCode != 200 {
		t.Errorf("HEAD /health: %d", resp.StatusCode)
	}
	// DisableUI: / is an unknown URL (behind the key like the rest).
	ts2 := start(t, Config{DisableUI: true}, m)
	for _, p := range []string{"/", "/ui/app.js"} {
		if resp, _ := ts2.get(t, p); resp.StatusCode != 404 {
			t.Errorf("DisableUI %s: %d", p, resp.StatusCode)
		}
	}
}

// TestNoPathInErrors: a model without a chat template answers chat with a
// 400 that names it by its ID, never by its file path.
func TestNoPathInErrors(t *testing.T) {
	path := testutil.Stories(t)
	m, err := runtime.Load(context.Background(), path, runtime.WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, _, err := m.ChatPrompt(nil); err == nil || !strings.Contains(err.Error(), path) {
		t.Skipf("the runtime's error no longer names the path (%v): nothing to hide", err)
	}
	ts := start(t, Config{}, m)
	resp, b := ts.post(t, "/v1/chat/completions", okChat)
	e := apiErr(t, resp, b, 400, "messages")
	dir := filepath.Dir(path)
	if strings.Contains(string(b), dir) || strings.Contains(string(b), "stories260K.gguf") || strings.Contains(e.Message, "/") {
		t.Errorf("the error names a server path: %s", b)
	}
	if !strings.Contains(e.Message, `model \"stories\"`) && !strings.Contains(e.Message, `model "stories"`) {
		t.Errorf("the error does not name the model by its ID: %s", e.Message)
	}
	t.Logf("answer: %s", e.Message)
	if got := clientMessage(nil, errors.New(`open /srv/models/x.gguf: no such file; C:\models\y.gguf too`)); strings.Contains(got, "/srv") || strings.Contains(got, `C:\`) {
		t.Errorf("clientMessage left a path: %s", got)
	}
}
