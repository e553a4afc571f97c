package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgeai-go/edgeai/internal/testutil"
)

// serveModel is the model the repository carries.
var serveModel = storiesModel

// serveBert returns the tiny reference BERT encoder (4 + 8 tokens for the
// two sentences TestServeCommand embeds), or skips.
func serveBert(t *testing.T) string {
	t.Helper()
	return testutil.Shared(t, "testdata/bert/tiny-bert-F32.gguf")
}

// lockedBuffer collects a command's standard error across goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var listenRE = regexp.MustCompile(`listening on (http://[0-9.:\[\]]+)`)

// waitListening returns the URL the server printed.
func waitListening(t *testing.T, out func() string, done <-chan error) string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if m := listenRE.FindStringSubmatch(out()); m != nil {
			return m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended before listening: %v\n%s", err, out())
		case <-deadline:
			t.Fatalf("serve did not start listening:\n%s", out())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestServeCommand runs `edgeai serve` in-process on a loopback port, talks
// to it with a plain HTTP client, then cancels its context as SIGTERM does.
func TestServeCommand(t *testing.T) {
	t.Setenv("EDGEAI_API_KEY", "test-key")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bert := serveBert(t) // skips here, in the test's goroutine, when ../shared is absent
	var stderr lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"-m", "tiny=" + serveModel, "-m", serveModel, "--addr", "127.0.0.1:0", "--chat-template", "chatml",
			"--parallel", "2", "--temp", "0", "--log-format", "json", "--embed", "bert=" + bert}, io.Discard, &stderr)
	}()
	url := waitListening(t, stderr.String, done)
	if strings.Contains(stderr.String(), "WARNING") {
		t.Errorf("a warning on loopback:\n%s", stderr.String())
	}
	post := func(path, body, key string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, b := post("/v1/completions", `{"model":"tiny","prompt":"Once upon a time","max_tokens":8}`, ""); code != 401 {
		t.Errorf("without the key from EDGEAI_API_KEY: %d %s", code, b)
	}
	code, b := post("/v1/completions", `{"model":"tiny","prompt":"Once upon a time","max_tokens":8}`, "test-key")
	var tc struct {
		Choices []struct{ Text string } `json:"choices"`
	}
	if json.Unmarshal([]byte(b), &tc); code != 200 || len(tc.Choices) != 1 || !strings.HasPrefix(tc.Choices[0].Text, ", there was a little girl") {
		t.Errorf("completion: %d %s", code, b)
	}
	code, b = post("/v1/chat/completions", `{"model":"stories260K","messages":[{"role":"user","content":"hi"}],"max_tokens":4,"stream":true}`, "test-key")
	if code != 200 || !strings.HasSuffix(b, "data: [DONE]\n\n") {
		t.Errorf("stream: %d %s", code, b)
	}
	code, b = post("/v1/embeddings", `{"model":"bert","input":["hello world","The patient reports mild headache."]}`, "test-key")
	var el struct {
		Data []struct {
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
		} `json:"usage"`
	}
	if json.Unmarshal([]byte(b), &el); code != 200 || len(el.Data) != 2 || len(el.Data[0].Embedding) != 128 || el.Usage.PromptTokens != 12 {
		t.Errorf("embeddings: %d %.300s", code, b)
	}
	cancel() // what SIGINT/SIGTERM do through main's signal.NotifyContext
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v after the shutdown signal", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop within 20 s of the shutdown signal")
	}
	out := stderr.String()
	for _, want := range []string{`"msg":"model loaded","id":"tiny"`, `"id":"stories260K"`, `"msg":"encoder loaded","id":"bert"`, `"path":"/v1/completions","status":401`, "shutting down", "stopped"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Once upon a time") {
		t.Error("the log contains the prompt")
	}
}

func TestServeFlags(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-m", serveModel, "--parallel", "0"},
		{"-m", serveModel, "--max-body", "lots"},
		{"-m", serveModel, "--kv-cache-mem", "3 parsecs"},
		{"-m", serveModel, "--log-format", "xml"},
		{"-m", serveModel, "--timeout", "0s"},
	} {
		err := runServe(context.Background(), args, io.Discard, io.Discard)
		if !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	// A KV bound the caches exceed: refused before listening.
	err := runServe(context.Background(), []string{"-m", serveModel, "--addr", "127.0.0.1:0", "--parallel", "4", "--kv-cache-mem", "1MiB"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "KV caches") {
		t.Errorf("KV bound: %v", err)
	}
	if err := runServe(context.Background(), []string{"-m", "nonexistent.gguf", "--addr", "127.0.0.1:0"}, io.Discard, io.Discard); err == nil {
		t.Error("a missing model file: no error")
	}
}

func TestExposureWarning(t *testing.T) {
	for addr, warn := range map[string]bool{
		"127.0.0.1:8080": false, "[::1]:8080": false, "localhost:8080": false, "127.0.0.2:80": false,
		"0.0.0.0:8080": true, "[::]:8080": true, "192.168.1.5:8080": true, ":8080": true,
	} {
		if got := exposureWarning(addr, false) != ""; got != warn {
			t.Errorf("%s without a key: warning %v, want %v", addr, got, warn)
		}
		if exposureWarning(addr, true) != "" {
			t.Errorf("%s with a key: a warning", addr)
		}
	}
	if w := exposureWarning("0.0.0.0:8080", false); !strings.Contains(w, "WITHOUT AN API KEY") || !strings.Contains(w, "EDGEAI_API_KEY") {
		t.Errorf("warning text %q", w)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "512": 512, "4MiB": 4 << 20, "4mib": 4 << 20, "2G": 2 << 30, "1GB": 1e9, "10 KiB": 10 << 10, "3kb": 3000} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.5GiB", "4XB", "MiB", "99999999999TiB"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q): no error", in)
		}
	}
}

func TestModelSpec(t *testing.T) {
	for spec, want := range map[string][2]string{
		"a/b/stories260K.gguf":    {"stories260K", "a/b/stories260K.gguf"},
		"tiny=a/b/x.gguf":         {"tiny", "a/b/x.gguf"},
		"dir=x/model.gguf":        {"dir", "x/model.gguf"},
		"./odd=name/model.gguf":   {"model", "./odd=name/model.gguf"},
		"qwen2.5-0.5b-q4_k_m.bin": {"qwen2.5-0.5b-q4_k_m", "qwen2.5-0.5b-q4_k_m.bin"},
	} {
		if id, path := modelSpec(spec); id != want[0] || path != want[1] {
			t.Errorf("modelSpec(%q) = %q, %q; want %q, %q", spec, id, path, want[0], want[1])
		}
	}
}

// TestServeSignal runs the real CLI in a child process (this test binary)
// and sends it SIGTERM in the middle of a stream: it stops accepting, lets
// the stream finish or cancels it at the deadline, and exits with status 0.
func TestServeSignal(t *testing.T) {
	if args := os.Getenv("EDGEAI_SERVE_CHILD"); args != "" {
		os.Exit(runMain(strings.Split(args, "\n"), os.Stdout, os.Stderr))
	}
	if goruntime.GOOS == "windows" {
		t.Skip("no SIGTERM on Windows")
	}
	abs, err := filepath.Abs(serveModel)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeSignal$")
	cmd.Env = append(os.Environ(), "EDGEAI_SERVE_CHILD="+strings.Join([]string{"serve", "-m", abs, "--addr", "127.0.0.1:0",
		"--chat-template", "chatml", "--temp", "0", "--shutdown-timeout", "300ms", "-t", "1"}, "\n"))
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	gone := make(chan struct{})
	go func() { exited <- cmd.Wait(); close(gone) }()
	defer func() {
		select {
		case <-gone:
		default:
			cmd.Process.Kill()
			<-gone
		}
	}()
	url := waitListening(t, stderr.String, exited)
	// A long stream: 500 tokens.
	resp, err := http.Post(url+"/v1/completions", "application/json",
		strings.NewReader(`{"model":"stories260K","prompt":"Once upon a time","max_tokens":500,"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(br)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not exit within 20 s of SIGTERM:\n%s", stderr.String())
	}
	// Either the stream finished within 300 ms or it ended with an error
	// event; it never just breaks off.
	s := string(rest)
	if !strings.HasSuffix(s, "data: [DONE]\n\n") && !strings.Contains(s, `"code":"shutting_down"`) {
		t.Errorf("the stream ended neither with [DONE] nor with an error event: ...%s", s[max(0, len(s)-300):])
	}
	if !strings.Contains(stderr.String(), "stopped") {
		t.Errorf("no stop message:\n%s", stderr.String())
	}
}
