package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"

	"github.com/edgeai-go/edgeai/internal/audit"
	"github.com/edgeai-go/edgeai/runtime"
)

// sharedDir returns ../shared (skipping the test when rel is not in it).
func sharedDir(t *testing.T, rel string) string {
	t.Helper()
	testutil.Shared(t, rel)
	return testutil.SharedPath(t, ".")
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestQuantizeCmd runs edgeai quantize on llama.cpp's F32 test model: the
// output is llama-quantize's file, byte for byte.
func TestQuantizeCmd(t *testing.T) {
	deployShared := sharedDir(t, "testdata/llama")
	dir := t.TempDir()
	for _, c := range []struct {
		typ  string
		args []string
	}{
		{"Q4_K_M", []string{"--type", "Q4_K_M"}},
		{"Q8_0", []string{"--type", "Q8_0", "--pure"}},
		{"Q4_0", []string{"Q4_0", "--pure"}}, // the type as llama-quantize's third argument
	} {
		typ := c.typ
		out := filepath.Join(dir, typ+".gguf")
		args := append([]string{"quantize", "-q", deployShared + "/testdata/llama/tiny-llama-F32.gguf", out}, c.args...)
		code, stdout, stderr := edgeai(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		if !strings.Contains(stdout, "39 tensors") {
			t.Errorf("%v: report %q", args, stdout)
		}
		var ref struct {
			SHA string `json:"model_sha256"`
		}
		b, _ := os.ReadFile(deployShared + "/testdata/llama/tiny-llama-" + typ + ".ref.json")
		json.Unmarshal(b, &ref)
		if got := fileSHA256(t, out); got != ref.SHA {
			t.Errorf("%s: sha256 %s, llama.cpp's %s", typ, got, ref.SHA)
		}
	}
	// The result runs and has a perplexity.
	text := filepath.Join(dir, "text.txt")
	os.WriteFile(text, []byte(strings.Repeat("Once upon a time, there was a little girl named Lily. She loved to play outside. ", 12)), 0o644)
	code, stdout, stderr := edgeai("perplexity", "-m", filepath.Join(dir, "Q4_K_M.gguf"), "-f", text, "--ctx", "64")
	if code != 0 || !strings.Contains(stdout+stderr, "perplexity") {
		t.Errorf("perplexity: exit %d: %s %s", code, stdout, stderr)
	}
}

func TestQuantizeCmdErrors(t *testing.T) {
	deployShared := sharedDir(t, "testdata/llama/tiny-llama-F32.gguf")
	in := deployShared + "/testdata/llama/tiny-llama-F32.gguf"
	dir := t.TempDir()
	for _, args := range [][]string{
		{"quantize", in, filepath.Join(dir, "o.gguf")},                   // no type
		{"quantize", in, filepath.Join(dir, "o.gguf"), "--type", "Q9_X"}, // bad type
		{"quantize", in, "--type", "Q8_0"},                               // no output
		{"quantize", in, filepath.Join(dir, "o.gguf"), "--type", "Q4_K_M", // bad override
			"--output-tensor-type", "Q7"},
	} {
		if code, _, _ := edgeai(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, _, stderr := edgeai("quantize", "-q", filepath.Join(dir, "absent.gguf"), filepath.Join(dir, "o.gguf"), "--type", "Q8_0"); code != 1 {
		t.Errorf("absent input: exit %d %s", code, stderr)
	}
	// --pure Q4_K on the 128-wide rows of the qwen2 model cannot work.
	if code, _, stderr := edgeai("quantize", "-q", deployShared+"/testdata/qwen2/tiny-qwen2-F32.gguf", filepath.Join(dir, "o.gguf"), "--type", "Q4_K_M", "--pure"); code != 1 || !strings.Contains(stderr, "not a whole number") {
		t.Errorf("pure Q4_K_M on qwen2: exit %d %s", code, stderr)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("failed conversions left %d files", len(ents))
	}
	// --dry-run lists the plan and writes nothing.
	code, stdout, _ := edgeai("quantize", "--dry-run", deployShared+"/testdata/qwen2/tiny-qwen2-F32.gguf", filepath.Join(dir, "o.gguf"), "Q4_K_M")
	if code != 0 || !strings.Contains(stdout, "fallback: Q4_K") || !strings.Contains(stdout, "token_embd.weight") {
		t.Errorf("dry run: exit %d\n%s", code, stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "o.gguf")); err == nil {
		t.Error("dry run wrote the output")
	}
}

func TestVersionCmd(t *testing.T) {
	code, stdout, _ := edgeai("version")
	if code != 0 || !strings.HasPrefix(stdout, "edgeai ") || !strings.Contains(stdout, "go1.") || !strings.Contains(stdout, "kernels  ") {
		t.Fatalf("exit %d: %q", code, stdout)
	}
	old := version
	version = "v9.9.9-test"
	defer func() { version = old }()
	code, stdout, _ = edgeai("version", "--json")
	var b buildInfo
	if code != 0 || json.Unmarshal([]byte(stdout), &b) != nil || b.Version != "v9.9.9-test" || b.OS == "" || b.Kernels == "" {
		t.Fatalf("exit %d: %q", code, stdout)
	}
	if edgeaiVersion() != "v9.9.9-test" {
		t.Errorf("edgeaiVersion() = %q", edgeaiVersion())
	}
}

func TestSynthCmd(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 137 MB model")
	}
	out := filepath.Join(t.TempDir(), "smol.gguf")
	code, stdout, stderr := edgeai("synth", "--shape", "smollm2-135m", "-o", out, "--type", "Q8_0", "-q")
	if code != 0 || !strings.Contains(stdout, "211 Q8_0") {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	code, stdout, stderr = edgeai("run", "-m", out, "-p", "hello", "-n", "6", "--temp", "0")
	if code != 0 || !strings.HasPrefix(stdout, "hello") {
		t.Fatalf("run: exit %d: %q %s", code, stdout, stderr)
	}
	if code, _, _ := edgeai("synth", "--shape", "gpt9", "-o", out); code != 2 {
		t.Errorf("unknown shape: exit %d", code)
	}
}

// TestAuditHook drives the helpers run and chat use: pinning, one record per
// generation with hashes only, and audit verify.
func TestAuditHook(t *testing.T) {
	model := storiesModel
	sum := fileSHA256(t, model)
	logPath := filepath.Join(t.TempDir(), "audit.jsonl")
	ctx := context.Background()

	setup := func(args ...string) (*auditFlags, *modelFlags) {
		fs := newFlags("run", os.Stderr)
		var mf modelFlags
		mf.add(fs)
		au := addAuditFlags(fs)
		if _, err := parseFlags(fs, append([]string{"-m", model}, args...)); err != nil {
			t.Fatal(err)
		}
		return au, &mf
	}
	// A wrong pin refuses to load.
	au, mf := setup("--model-sha256", strings.Repeat("ab", 32))
	if _, _, err := au.load(ctx, mf); !errors.Is(err, errModelHash) {
		t.Fatalf("wrong pin: err = %v", err)
	}
	au, mf = setup("--model-sha256", "xyz")
	if _, _, err := au.load(ctx, mf); !errors.Is(err, errUsage) {
		t.Fatalf("malformed pin: err = %v", err)
	}
	// The right pin (any case) loads; two generations make two records.
	au, mf = setup("--model-sha256", strings.ToUpper(sum), "--audit-log", logPath)
	m, _, err := au.load(ctx, mf)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	prompt := "Once upon a time"
	var texts []string
	for i := range 2 {
		var stats runtime.Stats
		opts := runtime.GenerateOptions{MaxTokens: 10 + i, Stats: &stats}
		var genErr error
		for _, err := range m.Generate(ctx, prompt, opts) {
			genErr = err
		}
		texts = append(texts, stats.Text)
		if err := au.record(m, opts, auditEntry{Event: "run", Prompt: prompt, Err: genErr}); err != nil {
			t.Fatal(err)
		}
	}
	raw, _ := os.ReadFile(logPath)
	if strings.Contains(string(raw), prompt) || strings.Contains(string(raw), texts[0]) {
		t.Fatalf("the log holds the text:\n%s", raw)
	}
	var recs []*audit.Record
	if _, err := audit.VerifyFile(logPath, func(r *audit.Record) { recs = append(recs, r) }); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[1]
	if r.ModelSHA256 != sum || r.PromptSHA256 != audit.HashText(prompt) || r.ResponseSHA256 != audit.HashText(texts[1]) ||
		r.GeneratedTokens != 11 || r.PromptTokens == 0 || r.Version == "" || r.Kernels == "" || r.StopReason != runtime.StopLength || r.Params["max_tokens"] != float64(11) {
		t.Errorf("record %+v", r)
	}
	// With --audit-include-text the text is there.
	au.includeText = true
	if err := au.record(m, runtime.GenerateOptions{}, auditEntry{Event: "chat", Prompt: "hello there", Response: "general kenobi"}); err != nil {
		t.Fatal(err)
	}
	raw, _ = os.ReadFile(logPath)
	if !strings.Contains(string(raw), "general kenobi") {
		t.Error("included text missing")
	}
	code, stdout, stderr := edgeai("audit", "verify", "-v", logPath)
	if code != 0 || !strings.Contains(stdout, "OK, 3 records") {
		t.Fatalf("audit verify: exit %d: %s %s", code, stdout, stderr)
	}
	// Tampering is caught.
	os.WriteFile(logPath, []byte(strings.Replace(string(raw), `"generated_tokens":10`, `"generated_tokens":12`, 1)), 0o600)
	if code, _, stderr := edgeai("audit", "verify", logPath); code != 1 || !strings.Contains(stderr, "integrity") {
		t.Errorf("tampered log: exit %d: %s", code, stderr)
	}
	if code, _, _ := edgeai("audit", "check", logPath); code != 2 {
		t.Errorf("audit check: exit %d, want 2", code)
	}
}
