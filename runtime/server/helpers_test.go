package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeai-go/edgeai/internal/testutil"
	"github.com/edgeai-go/edgeai/runtime"
)

// loadStories loads stories260K with the chatml template (the file carries
// none) and one thread per session (the tests run several sessions at once).
func loadStories(t testing.TB, opts ...runtime.Option) *runtime.Model {
	t.Helper()
	opts = append([]runtime.Option{runtime.WithChatTemplate("chatml"), runtime.WithThreads(1)}, opts...)
	m, err := runtime.Load(context.Background(), testutil.Stories(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// records returns the JSON access-log records.
func (b *syncBuffer) records(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("access log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// testServer is a Server behind a real HTTP listener on 127.0.0.1.
type testServer struct {
	*Server
	http *httptest.Server
	url  string
	log  *syncBuffer
}

// start serves m as "stories" (and any extra models) with cfg on a loopback
// listener, closed when the test ends.
func start(t testing.TB, cfg Config, m *runtime.Model, extra ...Model) *testServer {
	t.Helper()
	lb := &syncBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(lb, nil))
	}
	if cfg.Sampling == nil {
		cfg.Sampling = &greedy
	}
	models := extra
	if m != nil {
		models = append([]Model{{ID: "stories", Decoder: m}}, extra...)
	}
	s, err := New(cfg, models...)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(s)
	hs.Config = s.HTTPServer("")
	hs.Config.Handler = s
	hs.Start()
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		s.Close()
	})
	return &testServer{Server: s, http: hs, url: hs.URL, log: lb}
}

// post sends a JSON body and returns the response (body read and closed).
func (ts *testServer) post(t testing.TB, path, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return do(t, req)
}

func (ts *testServer) get(t testing.TB, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return do(t, req)
}

func do(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL.Path, err)
	}
	return resp, b
}

// event is one server-sent event: its data field.
type event struct {
	data string
}

// readSSE parses a text/event-stream body per the WHATWG rules that matter
// here: "data:" lines (one optional space after the colon) joined by
// newlines, events separated by a blank line, comments (":") ignored. It
// stops at EOF.
func readSSE(r io.Reader) ([]event, error) {
	var evs []event
	var data []string
	inEvent := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if inEvent {
				evs = append(evs, event{data: strings.Join(data, "\n")})
			}
			data, inEvent = nil, false
		case strings.HasPrefix(line, ":"):
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			if field == "data" {
				data = append(data, value)
				inEvent = true
			}
		}
	}
	if inEvent {
		return evs, fmt.Errorf("stream ended inside an event (no blank line after %q)", strings.Join(data, "\n"))
	}
	return evs, sc.Err()
}

// streamResult is a parsed chat or text completion stream.
type streamResult struct {
	id, model    string
	text         string
	finish       string
	usage        *usage
	done         bool             // saw data: [DONE]
	errBody      *errorBody       // an error event
	chunks       []map[string]any // every chunk, decoded
	contentParts int
}

// parseStream checks the framing of a completion stream and collects it.
func parseStream(evs []event, chat bool) (*streamResult, error) {
	res := &streamResult{}
	for i, ev := range evs {
		if res.done {
			return res, fmt.Errorf("event %d after [DONE]: %q", i, ev.data)
		}
		if ev.data == "[DONE]" {
			res.done = true
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(ev.data), &m); err != nil {
			return res, fmt.Errorf("event %d: %v: %q", i, err, ev.data)
		}
		if _, ok := m["error"]; ok {
			var eb errorBody
			json.Unmarshal([]byte(ev.data), &eb)
			res.errBody = &eb
			continue
		}
		res.chunks = append(res.chunks, m)
		var c struct {
			ID      string `json:"id"`
			Object  string `json:"object"`
			Model   string `json:"model"`
			Choices []struct {
				Delta struct {
					Role    *string `json:"role"`
					Content *string `json:"content"`
				} `json:"delta"`
				Text         *string `json:"text"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *usage `json:"usage"`
		}
		if err := json.Unmarshal([]byte(ev.data), &c); err != nil {
			return res, fmt.Errorf("event %d: %v", i, err)
		}
		want := "text_completion"
		if chat {
			want = "chat.completion.chunk"
		}
		if c.Object != want {
			return res, fmt.Errorf("event %d: object %q, want %q", i, c.Object, want)
		}
		if res.id == "" {
			res.id, res.model = c.ID, c.Model
		} else if c.ID != res.id {
			return res, fmt.Errorf("event %d: id %q changed from %q", i, c.ID, res.id)
		}
		if res.finish != "" && len(c.Choices) > 0 {
			return res, fmt.Errorf("event %d: a choice after finish_reason", i)
		}
		if c.Usage != nil {
			if len(c.Choices) != 0 {
				return res, fmt.Errorf("event %d: usage on a chunk with choices", i)
			}
			res.usage = c.Usage
			continue
		}
		if len(c.Choices) != 1 {
			return res, fmt.Errorf("event %d: %d choices", i, len(c.Choices))
		}
		ch := c.Choices[0]
		if chat && i == 0 && (ch.Delta.Role == nil || *ch.Delta.Role != "assistant") {
			return res, fmt.Errorf("first chunk has no assistant role: %q", ev.data)
		}
		switch {
		case chat && ch.Delta.Content != nil:
			res.text += *ch.Delta.Content
			res.contentParts++
		case !chat && ch.Text != nil:
			res.text += *ch.Text
			res.contentParts++
		}
		if ch.FinishReason != nil {
			res.finish = *ch.FinishReason
		}
	}
	return res, nil
}

// postStream posts body and parses the event stream of the answer.
func (ts *testServer) postStream(t testing.TB, path, body string, chat bool, hdr ...string) (*http.Response, *streamResult) {
	t.Helper()
	resp, b := ts.post(t, path, body, hdr...)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: status %d: %s", path, resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("POST %s: Content-Type %q", path, ct)
	}
	evs, err := readSSE(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	res, err := parseStream(evs, chat)
	if err != nil {
		t.Fatalf("POST %s: %v\n%s", path, err, b)
	}
	return resp, res
}

// apiErr decodes an error body and checks its status and param.
func apiErr(t testing.TB, resp *http.Response, b []byte, status int, param string) errorDetail {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q", ct)
	}
	var eb errorBody
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&eb); err != nil {
		t.Fatalf("error body %s: %v", b, err)
	}
	if eb.Error.Message == "" || eb.Error.Type == "" {
		t.Errorf("error body lacks message or type: %s", b)
	}
	got := ""
	if eb.Error.Param != nil {
		got = *eb.Error.Param
	}
	if got != param {
		t.Errorf("error param %q, want %q: %s", got, param, b)
	}
	return eb.Error
}

// waitFor polls cond for up to d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
