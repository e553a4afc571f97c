package main

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"
)

// TestREADME runs the example as its README shows and compares the output
// with the README's (scores to the printed precision).
func TestREADME(t *testing.T) {
	model := testutil.Shared(t, "testdata/bert/tiny-bert-Q8_0.gguf")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-m", model, "-f", "docs.txt", "the patient has a headache"}, &out); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	i := strings.Index(string(readme), "10 documents\n")
	if i < 0 {
		t.Fatal("README has no example output")
	}
	want := strings.Split(string(readme)[i+len("10 documents\n"):], "\n")[:3]
	if !strings.HasSuffix(got[0], "(gguf, 128 dims, mean pooling), 10 documents") || len(got) != 4 {
		t.Fatalf("output:\n%s", out.String())
	}
	for k, line := range got[1:] {
		g, w := strings.Fields(line), strings.Fields(want[k])
		gs, _ := strconv.ParseFloat(g[1], 64)
		ws, _ := strconv.ParseFloat(w[1], 64)
		if g[0] != w[0] || strings.Join(g[2:], " ") != strings.Join(w[2:], " ") || gs-ws > 2e-4 || ws-gs > 2e-4 {
			t.Errorf("line %d: %q, README has %q", k+1, line, want[k])
		}
	}
	if err := run(context.Background(), []string{"-m", model}, &out); err == nil {
		t.Error("missing -f accepted")
	}
}
