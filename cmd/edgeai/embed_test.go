package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/runtime"
)

func embedModelPath(t *testing.T) string {
	t.Helper()
	return infoSharedPath(t, "testdata/bert/tiny-bert-Q8_0.gguf")
}

func runCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runMain(args, &out, &errb)
	return out.String(), errb.String(), code
}

// TestEmbedCommand: one JSON line per text, in order, with the vectors
// runtime.Embed gives; from arguments and from a file.
func TestEmbedCommand(t *testing.T) {
	model := embedModelPath(t)
	texts := []string{"hello world", "", "The patient reports mild headache.", "Raspberry Pi runs small models offline."}
	m, err := runtime.LoadEmbedder(context.Background(), model)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	want, err := m.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "texts.txt")
	os.WriteFile(file, []byte(strings.Join(texts, "\r\n")+"\n"), 0o644)
	for _, args := range [][]string{
		append([]string{"embed", "-m", model}, texts...),
		{"embed", "-m", model, "-f", file, "-t", "1"},
	} {
		out, errs, code := runCmd(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != len(texts) {
			t.Fatalf("%d lines, want %d", len(lines), len(texts))
		}
		for i, l := range lines {
			var got struct {
				Index     int       `json:"index"`
				Embedding []float32 `json:"embedding"`
			}
			if err := json.Unmarshal([]byte(l), &got); err != nil {
				t.Fatal(err)
			}
			if got.Index != i || !slices.Equal(got.Embedding, want[i]) {
				t.Errorf("line %d: index %d, vector differs: %v", i, got.Index, !slices.Equal(got.Embedding, want[i]))
			}
		}
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"embed", "-m", model}, 2, "no texts"},
		{[]string{"embed", "x"}, 2, "-m MODEL"},
		{[]string{"embed", "-m", model, "-f", file, "x"}, 2, "not both"},
		{[]string{"embed", "-m", model, "--pooling", "none", "x"}, 2, "per token"},
		{[]string{"embed", "-m", model, strings.Repeat("word ", 600)}, 1, "text 0"},
		{[]string{"embed", "-m", filepath.Join(t.TempDir(), "none.gguf"), "x"}, 1, "no such file"},
	} {
		_, errs, code := runCmd(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args[:min(4, len(tc.args))], code, errs, tc.code, tc.want)
		}
	}
	if _, errs, code := runCmd(t, "embed", "-m", model, "--truncate", strings.Repeat("word ", 600)); code != 0 {
		t.Errorf("--truncate: exit %d: %s", code, errs)
	}
}

// TestSimilarCommand: the query's own line ranks first with similarity 1;
// -k limits the lines; blank lines are skipped but line numbers kept.
func TestSimilarCommand(t *testing.T) {
	model := embedModelPath(t)
	docs := filepath.Join(t.TempDir(), "docs.txt")
	os.WriteFile(docs, []byte("Keep vaccines cold.\n\nThe patient reports mild headache.\nSolar panels charge the battery.\n"), 0o644)
	out, errs, code := runCmd(t, "similar", "-m", model, "-q", "The patient reports mild headache.", "-f", docs, "-k", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "1\t1.0000\tline 3\tThe patient reports mild headache.") {
		t.Errorf("output:\n%s", out)
	}
	out, _, code = runCmd(t, "similar", "-m", model, "-q", "battery", "-f", docs, "-k", "0", "-json")
	if code != 0 || strings.Count(out, "\n") != 3 || !strings.Contains(out, `"rank":1`) {
		t.Errorf("json output:\n%s", out)
	}
	for _, args := range [][]string{
		{"similar", "-m", model, "-f", docs},
		{"similar", "-m", model, "-q", "x"},
		{"similar", "-m", model, "-q", "x", "-f", docs, "-k", "-1"},
		{"similar", "-m", model, "-q", "x", "-f", docs, "extra"},
	} {
		if _, _, code := runCmd(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
