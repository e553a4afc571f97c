package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"
)

// storiesModel is the model the repository carries, relative to this
// package's directory.
var storiesModel = filepath.Join("..", "..", "models", "testdata", "stories260K.gguf")

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
	b, err := os.ReadFile(testutil.Shared(t, "testdata/stories260K/golden.json"))
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
	// llama2.c's 60 steps are positions: BOS, the prompt, and the new tokens.
	newTokens := strconv.Itoa(len(c.AllIDs) - len(c.PIDs))
	out, errs, code := runCLI(t, "", "run", "-m", storiesModel, "-p", c.Prompt, "-n", newTokens, "--temp", "0", "--print-ids")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if out != c.Text+"\n" {
		t.Errorf("stdout\n got %q\nwant %q", out, c.Text+"\n")
	}
	if !strings.Contains(errs, "ids: "+joinInts(c.AllIDs[len(c.PIDs):])) || !strings.Contains(errs, "tok/s") {
		t.Errorf("stderr %q lacks the generated ids or the timing", errs)
	}
	// The prompt from standard input (as echo sends it, with a final
	// newline that is not a token), from a file, and as ids gives the same story.
	out2, errs, code := runCLI(t, c.Prompt+"\n", "run", "-m", storiesModel, "-n", newTokens, "--temp", "0")
	if code != 0 || out2 != out {
		t.Errorf("prompt from stdin: exit %d, %q (%s)", code, out2, errs)
	}
	file := filepath.Join(t.TempDir(), "prompt.txt")
	if err := os.WriteFile(file, []byte(c.Prompt+"\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out3, errs, code := runCLI(t, "", "run", "-m", storiesModel, "-f", file, "--n-predict", newTokens, "--temp", "0")
	if code != 0 || out3 != out {
		t.Errorf("prompt from -f: exit %d, %q (%s)", code, out3, errs)
	}
	out4, errs, code := runCLI(t, "", "run", "-m", storiesModel, "--prompt-ids", joinInts(c.PIDs), "-n", newTokens, "--temp", "0")
	if code != 0 || out4 != out {
		t.Errorf("--prompt-ids: exit %d, %q (%s)", code, out4, errs)
	}
}

// TestRunNewTokens: -n counts new tokens, as llama.cpp's does, whatever the
// prompt's length; the README's first command works on a bare clone.
func TestRunNewTokens(t *testing.T) {
	long := strings.Repeat("Tom and Lily went to the park to play. ", 4) // 40+ tokens
	for _, tc := range []struct {
		prompt string
		n      int
	}{{"Once upon a time", 56}, {long, 32}, {long, 1}} {
		_, errs, code := runCLI(t, "", "run", "-m", storiesModel, "-p", tc.prompt, "-n", strconv.Itoa(tc.n), "--temp", "0", "--ignore-eos", "--print-ids")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		ids, _, _ := strings.Cut(strings.TrimPrefix(errs, "ids: "), "\n")
		if got := len(strings.Fields(ids)); got != tc.n || !strings.Contains(errs, fmt.Sprintf("generated %d tokens", tc.n)) {
			t.Errorf("-n %d after a %d-byte prompt: %d new tokens (%q)", tc.n, len(tc.prompt), got, errs)
		}
	}
	// -n 0 prints the prompt and generates nothing.
	out, errs, code := runCLI(t, "", "run", "-m", storiesModel, "-p", "Once upon a time", "-n", "0")
	if code != 0 || out != "Once upon a time\n" {
		t.Errorf("-n 0: exit %d, %q (%s)", code, out, errs)
	}
}

// TestRunScripting: what a cron job or a pipe sees.
func TestRunScripting(t *testing.T) {
	// Empty standard input and no -p: a usage error (exit 2), before loading.
	for _, in := range []string{"", "\n", "\r\n"} { // echo "$EMPTY" | edgeai run
		_, errs, code := runCLI(t, in, "run", "-m", storiesModel)
		if code != 2 || !strings.Contains(errs, "no prompt") {
			t.Errorf("stdin %q: exit %d, %q", in, code, errs)
		}
	}
	// An explicit empty -p generates from BOS, as llama.cpp does.
	if _, errs, code := runCLI(t, "", "run", "-m", storiesModel, "-p", "", "-n", "4", "--temp", "0"); code != 0 {
		t.Errorf("-p '': exit %d, %q", code, errs)
	}
	// Reaching the context limit ends like a length stop: exit 0, reason on stderr.
	out, errs, code := runCLI(t, "", "run", "-m", storiesModel, "-c", "16", "-p", "Once upon a time", "--temp", "0", "--ignore-eos")
	if code != 0 || !strings.Contains(errs, "stop: context") || !strings.Contains(errs, "generated 12 tokens") || len(out) < 20 {
		t.Errorf("full context: exit %d, %q, stderr %q", code, out, errs)
	}
	// A random seed is printed in the timing line, so the run can be repeated.
	_, errs, code = runCLI(t, "", "run", "-m", storiesModel, "-p", "Tom had a", "-n", "8", "--temp", "0.8")
	var seed int
	if i := strings.Index(errs, "| seed "); code != 0 || i < 0 {
		t.Fatalf("random seed not reported: %q", errs)
	} else if _, err := fmt.Sscanf(errs[i:], "| seed %d", &seed); err != nil {
		t.Fatal(err)
	}
	first, _, _ := runCLI(t, "", "run", "-m", storiesModel, "-p", "Tom had a", "-n", "8", "--temp", "0.8", "-s", strconv.Itoa(seed))
	again, errs, _ := runCLI(t, "", "run", "-m", storiesModel, "-p", "Tom had a", "-n", "8", "--temp", "0.8", "--seed", strconv.Itoa(seed))
	if first != again || strings.Contains(errs, "| seed") {
		t.Errorf("seed %d: %q then %q (%s)", seed, first, again, errs)
	}
}

// TestRunLlamaFlags: what llama.cpp users type works, or says why not.
func TestRunLlamaFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "p.txt")
	if err := os.WriteFile(file, []byte("Once upon a time\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs, code := runCLI(t, "", "run", "--model", storiesModel, "-f", file, "-n", "16", "-c", "256", "--ctx-size", "128",
		"-t", "1", "--threads", "1", "-s", "7", "--temp", "0.7", "--top-k", "20", "--top-p", "0.9", "--min-p", "0.1",
		"--repeat-penalty", "1.1", "--repeat-last-n", "32", "-b", "32", "-ngl", "99", "--color", "-fa", "--no-display-prompt", "-r", "zzz")
	if code != 0 || !strings.Contains(errs, "note: -ngl: edgeai runs on the CPU only") {
		t.Errorf("llama.cpp flags: exit %d, %q", code, errs)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "-m", storiesModel, "-p", "x", "--hf-repo", "org/model"}, "never downloads"},
		{[]string{"run", "-m", storiesModel, "-p", "x", "-cnv"}, "edgeai chat"},
		{[]string{"run", "-p", "x"}, "docs/models.md"},
		{[]string{"run", "-m", storiesModel, "-p", "x", "-n", "-2"}, "-n -2"},
		{[]string{"run", "-m", storiesModel, "-p", "x", "stray"}, `unexpected argument "stray"`},
	} {
		_, errs, code := runCLI(t, "", tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %q; want a usage error with %q", tc.args, code, errs, tc.want)
		}
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:             "plain",
		`a\nb\tc`:           "a\nb\tc",
		`q\"x\'y\\z`:        `q"x'y\z`,
		`\x41\x4a\xzz`:      `AJ\xzz`,
		`\q and trailing \`: `\q and trailing \`,
		`end\\`:             `end\`,
	} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRunErrors(t *testing.T) {
	for _, args := range [][]string{
		{"run", "-p", "x"}, // no model
		{"run", "-m", storiesModel, "--prompt-ids", "1,x"}, // bad ids
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
	out, errs, code := runCLI(t, "", "tokenize", "-m", storiesModel, "Once upon a time")
	if code != 0 || out != "1 403 407 261 378\n" {
		t.Fatalf("tokenize: exit %d, %q (%s)", code, out, errs)
	}
	out, _, _ = runCLI(t, "", "tokenize", "-m", storiesModel, "--no-bos", "--pieces", "Once")
	if !strings.HasPrefix(out, "403\t") {
		t.Errorf("tokenize --pieces: %q", out)
	}
	f := filepath.Join(t.TempDir(), "l.f32")
	if _, errs, code := runCLI(t, "", "logits", "-m", storiesModel, "--ids", "1,403,407", "-o", f, "-ctk", "f32", "-ctv", "f32"); code != 0 {
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

// TestRunPromptCache: the second run with the same prompt starts from the
// saved state and prints the same text; a damaged cache file is a clear error.
func TestRunPromptCache(t *testing.T) {
	pc := filepath.Join(t.TempDir(), "prompt.cache")
	prompt := "Once upon a time, there was a little girl named Lily. She loved to play"
	first, errs, code := runCLI(t, "", "run", "-m", storiesModel, "-p", prompt, "-n", "16", "--temp", "0", "--prompt-cache", pc)
	if code != 0 || !strings.Contains(errs, "(0 from the prompt cache)") {
		t.Fatalf("first run: exit %d, %q", code, errs)
	}
	second, errs, code := runCLI(t, "", "run", "-m", storiesModel, "-p", prompt, "-n", "16", "--temp", "0", "--prompt-cache", pc)
	if code != 0 || !strings.Contains(errs, "prompt 1 tokens (20 from the prompt cache)") || second != first {
		t.Fatalf("second run: exit %d, %q, %q vs %q", code, errs, second, first)
	}
	plain, _, _ := runCLI(t, "", "run", "-m", storiesModel, "-p", prompt, "-n", "16", "--temp", "0")
	if plain != first {
		t.Errorf("with the cache %q, without %q", first, plain)
	}
	b, _ := os.ReadFile(pc)
	b[len(b)/2] ^= 1
	os.WriteFile(pc, b, 0o600)
	_, errs, code = runCLI(t, "", "run", "-m", storiesModel, "-p", prompt, "-n", "4", "--prompt-cache", pc)
	if code == 0 || !strings.Contains(errs, "remove the file") {
		t.Errorf("damaged cache: exit %d, %q", code, errs)
	}
}

// TestChatContextShift: a 30-turn scripted chat in a context of 128 goes on
// with --context-shift, reporting each drop (the system prompt stays);
// without it, it stops with a clear error once the conversation no longer
// fits.
func TestChatContextShift(t *testing.T) {
	var in strings.Builder
	for i := range 30 {
		fmt.Fprintf(&in, "Tell me about turn %d and the little dog\n", i)
	}
	out, errs, code := runCLI(t, in.String(), "chat", "-m", storiesModel, "--chat-template", "chatml", "--temp", "0", "-n", "12",
		"-c", "128", "--system", "You tell short stories.", "--context-shift")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if n := strings.Count(errs, "> "); n != 31 || len(out) < 30*10 { // a prompt per turn, and one at the end of the input
		t.Errorf("%d prompts and %d bytes of answers, want 30 turns", n, len(out))
	}
	drops := strings.Count(errs, "[context shift: dropped")
	if drops == 0 || !strings.Contains(errs, "the system prompt and the last") {
		t.Errorf("no drop reported: %q", errs)
	}
	_, errs, code = runCLI(t, in.String(), "chat", "-m", storiesModel, "--chat-template", "chatml", "--temp", "0", "-n", "12",
		"-c", "128", "--system", "You tell short stories.")
	if code == 0 || !strings.Contains(errs, "--context-shift") || !strings.Contains(errs, "context full") {
		t.Errorf("without --context-shift: exit %d, %q", code, errs)
	}
	t.Logf("%d drops over 30 turns", drops)
}

// TestRunContextBeyondTrained: a -c above the model's trained context is
// capped, never silently.
func TestRunContextBeyondTrained(t *testing.T) {
	_, errs, code := runCLI(t, "", "run", "-m", storiesModel, "-p", "Once", "-n", "2", "-c", "100000", "--temp", "0")
	if code != 0 || !strings.Contains(errs, "-c 100000 is beyond the model's trained context") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}
