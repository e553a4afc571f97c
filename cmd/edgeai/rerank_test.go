package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/runtime"
)

// TestRerankCommand: the documents of a file, blank lines skipped, printed
// from the most relevant down with runtime.RankDocuments' scores; -k and
// --json.
func TestRerankCommand(t *testing.T) {
	model := infoSharedPath(t, "testdata/encoders/bert-rank/tiny-bert-rank-F32.gguf")
	query := "what is a panda?"
	docs := []string{
		"Paris is the capital and largest city of France.",
		"The giant panda is a bear species endemic to China.",
		"Quantized weights let compact models run on a laptop without a network connection.",
	}
	file := filepath.Join(t.TempDir(), "docs.txt")
	os.WriteFile(file, []byte(docs[0]+"\n\n"+docs[1]+"\r\n"+docs[2]+"\n"), 0o644)
	lineOf := []int{1, 3, 4}
	m, err := runtime.LoadReranker(context.Background(), model)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	want, err := m.RankDocuments(context.Background(), query, docs, 0)
	if err != nil {
		t.Fatal(err)
	}
	out, errs, code := runCmd(t, "rerank", "-m", model, "-q", query, "-f", file, "-t", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("output %q", out)
	}
	for i, l := range lines {
		f := strings.SplitN(l, "\t", 4)
		if len(f) != 4 || f[3] != docs[want[i].Index] || f[2] != fmt.Sprintf("line %d", lineOf[want[i].Index]) {
			t.Errorf("line %d: %q, want document %d", i, l, want[i].Index)
		}
	}
	out, errs, code = runCmd(t, "rerank", "-m", model, "-q", query, "-f", file, "-k", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct {
		Rank, Index, Line int
		Score             float64
		Text              string
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &got); err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("--json -k 1: %q (%v)", out, err)
	}
	if got.Rank != 1 || got.Index != want[0].Index || got.Line != lineOf[want[0].Index] || got.Text != docs[want[0].Index] {
		t.Errorf("--json: %+v, want %+v", got, want[0])
	}
	embedder := infoSharedPath(t, "testdata/encoders/bert-mean/tiny-bert-mean-F32.gguf")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"rerank", "-m", model, "-f", file}, 2, "-q QUERY"},
		{[]string{"rerank", "-m", model, "-q", query}, 2, "-f DOCS"},
		{[]string{"rerank", "-m", model, "-q", query, "-f", file, "-k", "-1"}, 2, "negative"},
		{[]string{"rerank", "-m", embedder, "-q", query, "-f", file}, 1, "not a reranker"},
		{[]string{"rerank", "-m", model, "-q", query, "-f", filepath.Join(t.TempDir(), "none.txt")}, 1, "no such file"},
	} {
		_, errs, code := runCmd(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}
