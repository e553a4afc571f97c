package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/models/chat"
	"github.com/edgeai-go/edgeai/runtime"
)

// modelPath is the model the repository carries.
var modelPath = filepath.Join("..", "..", "models", "testdata", "stories260K.gguf")

// TestRun serves stories260K in-process and streams a greedy chat answer
// through plain net/http: the text equals the runtime's own answer.
func TestRun(t *testing.T) {
	t.Setenv("EDGEAI_API_KEY", "example-key")
	var out strings.Builder
	if err := run(context.Background(), []string{"-m", modelPath, "-chat-template", "chatml", "-n", "12", "Tell me a story."}, &out); err != nil {
		t.Fatal(err)
	}
	m, err := runtime.Load(context.Background(), modelPath, runtime.WithChatTemplate("chatml"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var want strings.Builder
	for tok, err := range m.Chat(context.Background(), []chat.Message{{Role: "user", Content: "Tell me a story."}}, runtime.GenerateOptions{MaxTokens: 12}) {
		if err != nil {
			t.Fatal(err)
		}
		want.WriteString(tok.Text)
	}
	got := out.String()
	if !strings.HasPrefix(got, want.String()+"\n[") || !strings.Contains(got, "12 completion tokens]") || !strings.HasSuffix(got, "[finish_reason: length]\n") {
		t.Errorf("output %q; want the answer %q, usage and finish_reason", got, want.String())
	}
}
