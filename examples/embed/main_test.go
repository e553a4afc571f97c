package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"
)

// model is the model the repository carries.
const model = "../../models/testdata/stories260K.gguf"

// goldenText returns the reference text of the "Once upon a time" case of
// golden.json: llama2.c greedy for 60 steps, that is BOS, 4 prompt ids and
// 56 new tokens, which is what generate asks for.
func goldenText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(testutil.Shared(t, "testdata/stories260K/golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []struct {
			Prompt string `json:"prompt"`
			Steps  int    `json:"steps"`
			Text   string `json:"text"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	for _, c := range g.Cases {
		if c.Prompt == "Once upon a time" && c.Steps == 60 {
			return c.Text
		}
	}
	t.Fatal("golden.json has no 'Once upon a time' case of 60 steps")
	return ""
}

// TestGolden runs the example on stories260K and compares its output with
// llama2.c's greedy reference text.
func TestGolden(t *testing.T) {
	want := goldenText(t)
	if !strings.HasPrefix(want, "Once upon a time, there was a little girl named Lily") {
		t.Fatalf("unexpected golden text %q", want)
	}
	var out bytes.Buffer
	if err := generate(context.Background(), model, "Once upon a time", &out); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSuffix(out.String(), "\n"); got != want {
		t.Errorf("output\n%q\nwant\n%q", got, want)
	}
}

// TestBadModel checks that a missing or non-GGUF file is an error, not a
// panic.
func TestBadModel(t *testing.T) {
	var out bytes.Buffer
	if err := generate(context.Background(), "testdata-does-not-exist.gguf", "x", &out); err == nil {
		t.Error("missing model accepted")
	}
	if err := generate(context.Background(), "main.go", "x", &out); err == nil {
		t.Error("main.go accepted as a model")
	}
}
