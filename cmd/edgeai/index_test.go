package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeSearchCorpus writes a folder of 12 Markdown files of random words
// from a small vocabulary, with one planted section about the vaccine
// fridge in file 07, and returns the folder.
func writeSearchCorpus(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "guidelines")
	rng := rand.New(rand.NewPCG(11, 12))
	words := strings.Fields("the cat dog girl boy tree park ball sun rain happy big small red blue went saw played ran jumped mom dad friend house garden flower bird sky water cake")
	for f := range 12 {
		var b strings.Builder
		fmt.Fprintf(&b, "# Notes %d\n\n", f)
		for s := range 5 {
			if f == 7 && s == 3 {
				b.WriteString("## Cold chain\nKeep the vaccine fridge between two and eight degrees and write the temperature in the log twice a day.\n\n")
			}
			fmt.Fprintf(&b, "## Part %d\n", s)
			for range 4 {
				for w := range 6 + rng.IntN(8) {
					if w > 0 {
						b.WriteByte(' ')
					}
					b.WriteString(words[rng.IntN(len(words))])
				}
				b.WriteString(".\n")
			}
			b.WriteString("\n")
		}
		p := filepath.Join(dir, fmt.Sprintf("part%d", f%3), fmt.Sprintf("file%02d.md", f))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "scan.pdf"), []byte("vaccine fridge"), 0o644)
	return dir
}

// TestIndexSearchCommands indexes a generated folder with a tiny embedder
// and finds the planted section first (the question repeats its words:
// the tiny models have random weights, so only near-identical texts are
// near); a second run embeds nothing, a changed file alone is embedded
// again; --json and --rerank; the errors.
func TestIndexSearchCommands(t *testing.T) {
	model := infoSharedPath(t, "testdata/encoders/bert-mean/tiny-bert-mean-F32.gguf")
	reranker := infoSharedPath(t, "testdata/encoders/bert-rank/tiny-bert-rank-F32.gguf")
	dir := writeSearchCorpus(t)
	idx := filepath.Join(t.TempDir(), "guide.idx")
	args := []string{"index", "-m", model, dir, "-o", idx, "--chunk", "300", "--overlap", "50", "-t", "2"}
	out, errs, code := runCmd(t, args...)
	if code != 0 || !strings.Contains(out, "12 files") || !strings.Contains(out, "(12 files embedded, 0 unchanged, 0 removed") {
		t.Fatalf("index: exit %d: %s%s", code, out, errs)
	}
	if !strings.Contains(errs, "chunks/s") {
		t.Errorf("no progress bar: %q", errs)
	}
	question := "Keep the vaccine fridge between two and eight degrees."
	out, errs, code = runCmd(t, "search", idx, question, "-k", "3")
	if code != 0 {
		t.Fatalf("search: exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "1. part1/file07.md:") || !strings.Contains(lines[1], "vaccine fridge") {
		t.Fatalf("search: the planted section is not first:\n%s", out)
	}
	out, _, code = runCmd(t, "search", idx, question, "-k", "1", "--json")
	var hit struct {
		Rank      int
		File      string
		FirstLine int `json:"first_line"`
		Score     float64
		Text      string
	}
	if err := json.Unmarshal([]byte(out), &hit); err != nil || code != 0 || hit.Rank != 1 || hit.File != "part1/file07.md" || !strings.HasPrefix(hit.Text, "## Cold chain") {
		t.Fatalf("--json: %q (%v)", out, err)
	}
	out, errs, code = runCmd(t, "search", idx, question, "-k", "2", "--rerank", reranker)
	if code != 0 || strings.Count(out, "\n   ") != 2 {
		t.Fatalf("--rerank: exit %d: %s%s", code, out, errs)
	}
	// Again: nothing to embed. Then one file changed.
	out, errs, code = runCmd(t, args...)
	if code != 0 || !strings.Contains(out, "(0 files embedded, 12 unchanged, 0 removed; 0 chunks") {
		t.Fatalf("second index: exit %d: %s%s", code, out, errs)
	}
	changed := filepath.Join(dir, "part2", "file05.md")
	f, _ := os.OpenFile(changed, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("A new line about the garden.\n")
	f.Close()
	os.Remove(filepath.Join(dir, "part0", "file00.md"))
	out, errs, code = runCmd(t, args...)
	if code != 0 || !strings.Contains(out, "11 files") || !strings.Contains(out, "(1 files embedded, 10 unchanged, 1 removed") {
		t.Fatalf("third index: exit %d: %s%s", code, out, errs)
	}
	other := infoSharedPath(t, "testdata/encoders/jina-bert-v2/tiny-jina-bert-v2-F32.gguf")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"index", "-m", model, dir}, 2, "-o IDX"},
		{[]string{"index", "-m", model, filepath.Join(dir, "nope"), "-o", idx}, 1, "not a folder"},
		{[]string{"index", "-m", reranker, dir, "-o", idx}, 1, "is a reranker"},
		{[]string{"index", "-m", model, dir, "-o", idx, "--chunk", "100", "--overlap", "100"}, 2, "--overlap"},
		{[]string{"search", idx}, 2, "question"},
		{[]string{"search", idx, "q", "-m", other}, 1, "another model"},
		{[]string{"search", filepath.Join(dir, "part1", "file07.md"), "q"}, 1, "not a valid index"},
	} {
		_, errs, code := runCmd(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}
