package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const storiesModel = "../../../shared/models/stories260K.gguf"

func needStories(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(storiesModel); err != nil {
		t.Skipf("reference model not found at %s: %v", storiesModel, err)
	}
}

func runCLI(t *testing.T, in string, args ...string) (string, string, int) {
	t.Helper()
	stdin = strings.NewReader(in)
	defer func() { stdin = os.Stdin }()
	var out, errb bytes.Buffer
	code := runMain(args, &out, &errb)
	return out.String(), errb.String(), code
}

// TestRunGolden is the README's main job: it must print llama2.c's story.
func TestRunGolden(t *testing.T) {
	needStories(t)
	b, err := os.ReadFile("../../../shared/testdata/stories260K/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []struct {
			Prompt string `json:"prompt"`
			Steps  int    `json:"steps"`
			Text   string `json:"text"`
			AllIDs []int  `json:"all_ids"`
			PIDs   []int  `json:"prompt_ids"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	c := g.Cases[0]
	out, errs, code := runCLI(t, "", "run", "-m", storiesModel, "-p", c.Prompt, "-n", "60", "--temp", "0", "--print-ids")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if out != c.Text+"\n" {
		t.Errorf("stdout\n got %q\nwant %q", out, c.Text+"\n")
	}
	if !strings.Contains(errs, "ids: "+joinInts(c.AllIDs[len(c.PIDs):])) || !strings.Contains(errs, "tok/s") {
		t.Errorf("stderr %q lacks the generated ids or the timing", errs)
	}
	// The prompt from standard input, as ids, gives the same story.
	out2, errs, code := runCLI(t, c.Prompt, "run", "-m", storiesModel, "-n", "60", "--temp", "0")
	if code != 0 || out2 != out {
		t.Errorf("prompt from stdin: exit %d, %q (%s)", code, out2, errs)
	}
	out3, errs, code := runCLI(t, "", "run", "-m", storiesModel, "--prompt-ids", joinInts(c.PIDs), "-n", "60", "--temp", "0")
	if code != 0 || out3 != out {
		t.Errorf("--prompt-ids: exit %d, %q (%s)", code, out3, errs)
	}
}

func TestRunErrors(t *testing.T) {
	needStories(t)
	for _, args := range [][]string{
		{"run", "-p", "x"}, // no model
		{"run", "-m", storiesModel, "--prompt-ids", "1,x"},               // bad ids
		{"run", "-m", storiesModel, "-p", "Once upon a time", "-n", "2"}, // no room
		{"run", "-m", "/nonexistent.gguf", "-p", "x"},
		{"run", "-m", storiesModel, "-p", "x", "--temp", "abc"},
	} {
		_, errs, code := runCLI(t, "", args...)
		if code == 0 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want an error", args, code, errs)
		}
	}
	// A prompt longer than the context is refused, not truncated.
	_, errs, code := runCLI(t, "", "run", "-m", storiesModel, "--ctx", "8", "-p", "Once upon a time there was a big dog")
	if code == 0 || !strings.Contains(errs, "context full") {
		t.Errorf("long prompt: exit %d, %q", code, errs)
	}
}

func TestTokenizeAndLogits(t *testing.T) {
	needStories(t)
	out, errs, code := runCLI(t, "", "tokenize", "-m", storiesModel, "Once upon a time")
	if code != 0 || out != "1 403 407 261 378\n" {
		t.Fatalf("tokenize: exit %d, %q (%s)", code, out, errs)
	}
	out, _, _ = runCLI(t, "", "tokenize", "-m", storiesModel, "--no-bos", "--pieces", "Once")
	if !strings.HasPrefix(out, "403\t") {
		t.Errorf("tokenize --pieces: %q", out)
	}
	f := filepath.Join(t.TempDir(), "l.f32")
	if _, errs, code := runCLI(t, "", "logits", "-m", storiesModel, "--ids", "1,403,407", "-o", f); code != 0 {
		t.Fatalf("logits: %s", errs)
	}
	b, err := os.ReadFile(f)
	if err != nil || len(b) != 3*512*4 {
		t.Fatalf("logits file: %d bytes, %v", len(b), err)
	}
	// Row 0 is the logits after BOS: llama2.c gives 8.404 for token 1's successor slot 1.
	if v := math.Float32frombits(binary.LittleEndian.Uint32(b[4:])); math.Abs(float64(v)-8.404342651367188) > 1e-4 {
		t.Errorf("logit[0][1] = %v, want 8.4043", v)
	}
}

func TestChatSession(t *testing.T) {
	needStories(t)
	out, errs, code := runCLI(t, "Hello\nHow are you?\n", "chat", "-m", storiesModel, "--chat-template", "chatml", "--temp", "0", "--max-new", "8")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if lines := strings.Count(out, "\n"); lines != 2 {
		t.Errorf("want two answers, got %q", out)
	}
	_, errs, code = runCLI(t, "Hello\n", "chat", "-m", storiesModel)
	if code == 0 || !strings.Contains(errs, "--chat-template") {
		t.Errorf("no template: exit %d, %q", code, errs)
	}
}

func TestPerplexity(t *testing.T) {
	needStories(t)
	f := filepath.Join(t.TempDir(), "text.txt")
	text := strings.Repeat("Once upon a time, there was a little girl named Lily. She loved to play outside in the park. ", 30)
	os.WriteFile(f, []byte(text), 0o644)
	out, errs, code := runCLI(t, "", "perplexity", "-m", storiesModel, "-f", f, "--ctx", "128")
	if code != 0 || !strings.Contains(out, "perplexity: ") {
		t.Fatalf("exit %d, %q, %s", code, out, errs)
	}
	var ppl float64
	if _, err := fmtSscanf(out, &ppl); err != nil || ppl < 1 || ppl > 20 {
		t.Errorf("perplexity of a repeated story %v (%v): want a small number", ppl, err)
	}
}

func fmtSscanf(s string, v *float64) (int, error) {
	return fmt.Sscanf(strings.TrimPrefix(s, "perplexity: "), "%g", v)
}
