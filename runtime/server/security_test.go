package server

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

const okChat = `{"model":"stories","messages":[{"role":"user","content":"hi"}],"max_tokens":2}`

func TestAPIKey(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{APIKey: "s3cret-key"}, m)
	for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer wrong", "Bearer s3cret-ke", "Bearer s3cret-key2", "Basic s3cret-key", "s3cret-key"} {
		resp, b := ts.post(t, "/v1/chat/completions", okChat, "Authorization", auth)
		e := apiErr(t, resp, b, http.StatusUnauthorized, "")
		if e.Code == nil || *e.Code != "invalid_api_key" || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%q: %s %v", auth, b, resp.Header)
		}
		if strings.Contains(string(b), "s3cret") {
			t.Errorf("the error body leaks the key: %s", b)
		}
	}
	resp, b := ts.get(t, "/v1/models", "Authorization", "Bearer nope")
	apiErr(t, resp, b, http.StatusUnauthorized, "")
	for _, auth := range []string{"Bearer s3cret-key", "bearer s3cret-key"} {
		resp, b = ts.post(t, "/v1/chat/completions", okChat, "Authorization", auth)
		if resp.StatusCode != 200 {
			t.Errorf("%q: %d %s", auth, resp.StatusCode, b)
		}
	}
	// /health answers without the key but lists the models only with it.
	resp, b = ts.get(t, "/health")
	if resp.StatusCode != 200 || string(b) != `{"status":"ok"}`+"\n" {
		t.Errorf("health without key: %d %s", resp.StatusCode, b)
	}
	resp, b = ts.get(t, "/health", "Authorization", "Bearer s3cret-key")
	if resp.StatusCode != 200 || !strings.Contains(string(b), "stories") {
		t.Errorf("health with key: %d %s", resp.StatusCode, b)
	}
}

// TestHostAllowlist: a Host header naming a domain (what a DNS-rebinding
// attack sends) is refused unless allowed; IP literals and localhost pass.
func TestHostAllowlist(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{AllowedHosts: []string{"edge.lan"}}, m)
	for host, want := range map[string]int{
		"attacker.example:8080": 403,
		"attacker.example":      403,
		"localhost.attacker.io": 403,
		"127.0.0.1.nip.io":      403,
		"localhost:1234":        200,
		"LOCALHOST":             200,
		"api.localhost":         200,
		"127.0.0.1:9":           200,
		"[::1]:8080":            200,
		"192.168.1.20:8080":     200,
		"edge.lan:8080":         200,
		"EDGE.LAN.":             200,
	} {
		req, _ := http.NewRequest(http.MethodPost, ts.url+"/v1/chat/completions", strings.NewReader(okChat))
		req.Host = host
		resp, b := do(t, req)
		if resp.StatusCode != want {
			t.Errorf("Host %q: status %d, want %d: %s", host, resp.StatusCode, want, b)
		} else if want == 403 {
			e := apiErr(t, resp, b, 403, "")
			if e.Code == nil || *e.Code != "host_not_allowed" {
				t.Errorf("Host %q: %s", host, b)
			}
		}
	}
	// HTTP/1.0 without a Host header: refused too.
	conn, err := net.Dial("tcp", ts.http.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("GET /v1/models HTTP/1.0\r\n\r\n"))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 403 {
		t.Errorf("no Host header: %v %v", resp, err)
	}
	ts2 := start(t, Config{AllowedHosts: []string{"*"}}, m)
	req, _ := http.NewRequest(http.MethodPost, ts2.url+"/v1/chat/completions", strings.NewReader(okChat))
	req.Host = "anything.example"
	if resp, b := do(t, req); resp.StatusCode != 200 {
		t.Errorf("AllowedHosts *: %d %s", resp.StatusCode, b)
	}
}

// TestCORS: without CORSOrigins no CORS header is sent and browser requests
// (they carry Origin) are refused; with them, the named origins get CORS.
func TestCORS(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{}, m)
	resp, b := ts.post(t, "/v1/chat/completions", okChat, "Origin", "https://evil.example")
	apiErr(t, resp, b, 403, "")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS header without CORSOrigins: %v", resp.Header)
	}
	resp, _ = ts.post(t, "/v1/chat/completions", okChat)
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("plain request: %d %v", resp.StatusCode, resp.Header)
	}
	req, _ := http.NewRequest(http.MethodOptions, ts.url+"/v1/chat/completions", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	if resp, _ := do(t, req); resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight without CORSOrigins: %d %v", resp.StatusCode, resp.Header)
	}

	ts = start(t, Config{CORSOrigins: []string{"https://app.example"}, APIKey: "k"}, m)
	req, _ = http.NewRequest(http.MethodOptions, ts.url+"/v1/chat/completions", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	resp, _ = do(t, req)
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp, b = ts.post(t, "/v1/chat/completions", okChat, "Origin", "https://app.example", "Authorization", "Bearer k")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("allowed origin: %d %v %s", resp.StatusCode, resp.Header, b)
	}
	resp, b = ts.post(t, "/v1/chat/completions", okChat, "Origin", "https://app.example.evil.io", "Authorization", "Bearer k")
	apiErr(t, resp, b, 403, "")
}

func TestBodyLimit(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{MaxBodyBytes: 1000}, m)
	big := `{"model":"stories","messages":[{"role":"user","content":"` + strings.Repeat("a", 2000) + `"}]}`
	resp, b := ts.post(t, "/v1/chat/completions", big)
	e := apiErr(t, resp, b, http.StatusRequestEntityTooLarge, "")
	if !strings.Contains(e.Message, "1000") {
		t.Errorf("message %q", e.Message)
	}
	// Chunked (no Content-Length): cut while reading.
	req, _ := http.NewRequest(http.MethodPost, ts.url+"/v1/chat/completions", struct{ *strings.Reader }{strings.NewReader(big)})
	req.ContentLength = -1
	resp, b = do(t, req)
	apiErr(t, resp, b, http.StatusRequestEntityTooLarge, "")
	resp, b = ts.post(t, "/v1/chat/completions", okChat)
	if resp.StatusCode != 200 {
		t.Errorf("small request after big ones: %d %s", resp.StatusCode, b)
	}
}

// TestAccessLog: one structured record per request with method, path,
// status, model, tokens and duration, never the prompt or the answer.
func TestAccessLog(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{}, m)
	secret := "purple elephant secret"
	resp, b := ts.post(t, "/v1/chat/completions", `{"model":"stories","messages":[{"role":"user","content":"`+secret+`"}],"max_tokens":5}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	var cc chatCompletion
	if err := json.Unmarshal(b, &cc); err != nil {
		t.Fatal(err)
	}
	ts.post(t, "/v1/chat/completions", `{"model":"stories","messages":[{"role":"user","content":"`+secret+`"}],"n":3}`)
	ts.post(t, "/v1/completions", `{"model":"stories","prompt":"`+secret+`","stream":true,"max_tokens":3}`)
	waitFor(t, 2*time.Second, "three log records", func() bool { return strings.Count(ts.log.String(), "\n") >= 3 })
	logText := ts.log.String()
	if strings.Contains(logText, "elephant") || (cc.Choices[0].Message.Content != "" && strings.Contains(logText, cc.Choices[0].Message.Content)) {
		t.Fatalf("the access log contains prompt or completion text:\n%s", logText)
	}
	recs := ts.log.records(t)
	r := recs[0]
	for _, k := range []string{"time", "level", "msg", "method", "path", "status", "duration", "remote", "id", "model", "stream", "prompt_tokens", "completion_tokens", "finish"} {
		if _, ok := r[k]; !ok {
			t.Errorf("the record lacks %q: %v", k, r)
		}
	}
	if r["method"] != "POST" || r["path"] != "/v1/chat/completions" || r["status"] != float64(200) || r["completion_tokens"] != float64(cc.Usage.CompletionTokens) || r["id"] != cc.ID {
		t.Errorf("record %v", r)
	}
	if recs[1]["status"] != float64(400) || recs[1]["error"] == nil {
		t.Errorf("error record %v", recs[1])
	}
	if recs[2]["stream"] != true || recs[2]["completion_tokens"] != float64(3) {
		t.Errorf("stream record %v", recs[2])
	}
}
