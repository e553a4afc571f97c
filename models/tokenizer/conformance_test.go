package tokenizer

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"

	"github.com/edgeai-go/edgeai/models/gguf"
)

// shared is the reference data folder, relative to this package (for the
// vocabularies loaded outside a test; tests go through sharedPath).
const shared = "../../../shared"

// sharedPath returns a path under ../shared, skipping the test when the
// folder is absent.
func sharedPath(t testing.TB, rel string) string {
	t.Helper()
	return testutil.Shared(t, rel)
}

// loadTokenizer opens a GGUF file and builds its tokenizer.
func loadTokenizer(t testing.TB, path string) *Tokenizer {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	tok, err := FromGGUF(f)
	if err != nil {
		t.Fatalf("FromGGUF(%s): %v", path, err)
	}
	return tok
}

// tokenizerFromFile opens a GGUF file and builds its tokenizer.
func tokenizerFromFile(path string) (*Tokenizer, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return FromGGUF(f)
}

// readVocabTests reads llama.cpp's test-tokenizer-0 cases: the .inp file is
// split at "\n__ggml_vocab_test__\n" (the text after the last separator, if
// any, is one more case), the .out file has one line of space-separated ids
// per case, stripped.
func readVocabTests(t testing.TB, base string) (inputs []string, want [][]int) {
	t.Helper()
	inp, err := os.ReadFile(base + ".inp")
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(base + ".out")
	if err != nil {
		t.Fatal(err)
	}
	const sep = "\n__ggml_vocab_test__\n"
	raw := string(inp)
	for pos := 0; pos < len(raw); {
		i := strings.Index(raw[pos:], sep)
		if i < 0 {
			inputs = append(inputs, raw[pos:])
			break
		}
		inputs = append(inputs, raw[pos:pos+i])
		pos += i + len(sep)
	}
	lines := strings.Split(string(out), "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	for _, line := range lines {
		var ids []int
		for _, f := range strings.Fields(line) {
			id, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("%s.out: %v", base, err)
			}
			ids = append(ids, id)
		}
		want = append(want, ids)
	}
	if len(inputs) != len(want) {
		t.Fatalf("%s: %d inputs, %d outputs", base, len(inputs), len(want))
	}
	return inputs, want
}

var vocabNames = []string{"llama-spm", "phi-3", "gpt-2", "bert-bge", "deepseek-llm", "falcon"}

// TestVocabConformance runs llama.cpp's test-tokenizer-0 cases (no special
// tokens added, special-token parsing off) on the six reference
// vocabularies and requires every token id to match.
func TestVocabConformance(t *testing.T) {
	dir := sharedPath(t, "testdata/tokenizer")
	total, passed := 0, 0
	for _, name := range vocabNames {
		t.Run(name, func(t *testing.T) {
			base := filepath.Join(dir, "ggml-vocab-"+name+".gguf")
			tok := loadTokenizer(t, base)
			inputs, want := readVocabTests(t, base)
			if len(inputs) != 46 {
				t.Errorf("%d cases, want 46", len(inputs))
			}
			ok := 0
			for i, in := range inputs {
				got, err := tok.Encode(in, EncodeOptions{})
				if err != nil {
					t.Errorf("case %d %q: %v", i, in, err)
					continue
				}
				if !equalIDs(got, want[i]) {
					t.Errorf("case %d %q:\n got %v\nwant %v", i, in, got, want[i])
					continue
				}
				ok++
			}
			total += len(inputs)
			passed += ok
			t.Logf("%s: %d/%d cases match", name, ok, len(inputs))
		})
	}
	t.Logf("all vocabularies: %d/%d cases match", passed, total)
}

func equalIDs(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// TestExtraVocabConformance runs the same cases on every
// ggml-vocab-*.gguf with .inp/.out files in the folder named by
// EDGEAI_EXTRA_VOCABS (e.g. llama.cpp's models/ folder, for the mpt,
// starcoder, refact, deepseek-coder, llama-bpe and qwen2 vocabularies that
// ../shared does not carry).
func TestExtraVocabConformance(t *testing.T) {
	dir := os.Getenv("EDGEAI_EXTRA_VOCABS")
	if dir == "" {
		t.Skip("EDGEAI_EXTRA_VOCABS is not set")
	}
	files, err := filepath.Glob(filepath.Join(dir, "ggml-vocab-*.gguf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vocabularies in %s (%v)", dir, err)
	}
	for _, base := range files {
		if _, err := os.Stat(base + ".out"); err != nil {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(base), "ggml-vocab-"), ".gguf")
		t.Run(name, func(t *testing.T) {
			tok := loadTokenizer(t, base)
			inputs, want := readVocabTests(t, base)
			ok := 0
			for i, in := range inputs {
				got, err := tok.Encode(in, EncodeOptions{})
				if err != nil || !equalIDs(got, want[i]) {
					t.Errorf("case %d %q:\n got %v (%v)\nwant %v", i, in, got, err, want[i])
					continue
				}
				ok++
			}
			t.Logf("%s: %d/%d cases match", name, ok, len(inputs))
		})
	}
}
