package tokenizer

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/edgeai-go/edgeai/internal/testutil"
	"github.com/edgeai-go/edgeai/models/gguf"
)

// preValues are the tokenizer.ggml.pre values of ../shared/testdata/tokenizer/pre
// (llama.cpp ec98e2002's ids on the GPT-2 vocabulary with only the pre value
// changed).
var preValues = []string{
	"llama-bpe", "lfm2", "dbrx", "glm4", "qwen2", "hunyuan", "seed-coder", "bailingmoe", "smollm", "refact",
	"gpt-4o", "tekken", "deepseek-v3", "hunyuan-dense", "kimi-k2", "afmoe", "gpt-2", "olmo", "granite-docling", "exaone4",
}

// gpt2WithPre writes a copy of the GPT-2 vocabulary GGUF with
// tokenizer.ggml.pre set to pre (with gguf.Write, the way the README of the
// reference data asks), reads it back and builds its tokenizer.
func gpt2WithPre(t testing.TB, src *gguf.File, pre string) (*Tokenizer, error) {
	t.Helper()
	kv := make([]gguf.KV, 0, len(src.KV))
	found := false
	for _, e := range src.KV {
		if e.Key == keyPre {
			e.Value = gguf.NewString(pre)
			found = true
		}
		kv = append(kv, e)
	}
	if !found {
		t.Fatalf("%s has no %s", src.KV[0].Key, keyPre)
	}
	var buf bytes.Buffer
	if err := gguf.Write(&buf, kv, nil, 0); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return FromGGUF(f)
}

// TestPreTokenizers checks every pre value against llama.cpp's ids for the
// 46 llama.cpp test strings and the 14 strings that tell the values apart.
func TestPreTokenizers(t *testing.T) {
	dir := testutil.Shared(t, "testdata/tokenizer/pre")
	src, err := gguf.Open(testutil.Shared(t, "testdata/tokenizer/ggml-vocab-gpt-2.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	inputs, _ := readVocabTests(t, filepath.Join(dir, "..", "ggml-vocab-gpt-2.gguf"))
	extra := readInputs(t, filepath.Join(dir, "strings.extra.inp"))
	total := 0
	for _, pre := range preValues {
		t.Run(pre, func(t *testing.T) {
			tok, err := gpt2WithPre(t, src, pre)
			if err != nil {
				t.Fatal(err)
			}
			ok := 0
			for _, set := range []struct {
				inputs []string
				out    string
			}{{inputs, pre + ".out"}, {extra, pre + ".extra.out"}} {
				want := readIDLines(t, filepath.Join(dir, set.out))
				if len(want) != len(set.inputs) {
					t.Fatalf("%s: %d lines for %d strings", set.out, len(want), len(set.inputs))
				}
				for i, in := range set.inputs {
					got, err := tok.Encode(in, EncodeOptions{})
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got, want[i]) {
						t.Errorf("%s case %d %q:\n got %v\nwant %v", set.out, i, in, got, want[i])
						continue
					}
					ok++
				}
			}
			if ok != 60 {
				t.Errorf("%d/60 strings match", ok)
			}
			total += ok
		})
	}
	t.Logf("%d pre values, %d/%d strings match", len(preValues), total, 60*len(preValues))
}

// readInputs splits a llama.cpp test-tokenizer-0 .inp file.
func readInputs(t testing.TB, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n__ggml_vocab_test__\n"), "\n__ggml_vocab_test__\n")
}

// readIDLines reads one line of space-separated ids per case.
func readIDLines(t testing.TB, path string) [][]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	out := make([][]int, len(lines))
	for i, line := range lines {
		for _, fld := range strings.Fields(line) {
			var id int
			for _, c := range fld {
				if c < '0' || c > '9' {
					t.Fatalf("%s line %d: %q", path, i+1, fld)
				}
				id = id*10 + int(c-'0')
			}
			out[i] = append(out[i], id)
		}
	}
	return out
}

// TestPreUnknown: a pre value edgeai does not implement is an error naming
// it, never a fall-back to another split.
func TestPreUnknown(t *testing.T) {
	for _, pre := range []string{"chameleon", "superbpe", "jais-2", "tiny_aya", "youtu", "no-such-pre"} {
		md := mapMeta{keyModel: "gpt2", keyPre: pre, keyTokens: []string{"a", "b"}, keyMerges: []string{"a b"}}
		_, err := fromMetadata(md)
		if !errors.Is(err, ErrVocab) || !strings.Contains(err.Error(), `"`+pre+`"`) {
			t.Errorf("pre %q: err = %v, want ErrVocab naming it", pre, err)
		}
	}
	// Kimi-K2 loads without merges, as in llama.cpp; the others need them.
	if _, err := fromMetadata(mapMeta{keyModel: "gpt2", keyPre: "kimi-k2", keyTokens: []string{"a", "b"}}); err != nil {
		t.Errorf("kimi-k2 without merges: %v", err)
	}
	if _, err := fromMetadata(mapMeta{keyModel: "gpt2", keyPre: "qwen2", keyTokens: []string{"a", "b"}}); !errors.Is(err, ErrVocab) {
		t.Errorf("qwen2 without merges: %v", err)
	}
}

// splitWith returns the pieces a stage list cuts s into.
func splitWith(stages []stage, s string) []string {
	p := &preTokenizer{stages: stages}
	cpts := decodeCpts(s, nil)
	var lens []int
	p.split(cpts, &lens)
	var out []string
	pos := 0
	for _, n := range lens {
		out = append(out, string(cpts[pos:pos+n]))
		pos += n
	}
	return out
}

// TestRegexSplits checks the expression matcher on splits worked out by hand
// from the expressions' ECMAScript semantics and llama.cpp's collapsing.
func TestRegexSplits(t *testing.T) {
	for _, c := range []struct {
		name   string
		stages []stage
		in     string
		want   string // pieces joined by |
	}{
		{"tekken camel", preTekken, "iPhone SpaceX", "i|Phone| Space|X"},
		{"tekken caps", preTekken, "HTTPServer", "HTTPServer"}, // U* takes HTTPS, W+ erver
		{"tekken non-ASCII is both cases", preTekken, "ÉcoleÉ", "ÉcoleÉ"},
		{"tekken slash", preTekken, "a/b//\n", "a|/b|//\n"},
		{"gpt-4o contraction", preGPT4o, "DON'T it's", "DON'T| it's"},
		{"gpt-4o digits", preGPT4o, "1234567", "123|456|7"},
		{"qwen2 digits", preQwen2, "x 123", "x| |1|2|3"},
		{"qwen2 crlf", preQwen2, "a!\r\n\n b", "a|!\r\n\n| b"},
		{"seed-coder crlf", preSeedCoder, "a!\r\n\n b", "a|!|\r\n\n| b"},
		{"bailing newline", preBailingMoE, "a\n\n  b", "a|\n\n| | b"},
		{"deepseek-v3 punct word", preDeepseek3, "x.y 文字テスト12345", "x|.y| |文字テスト|123|45"},
		// '~' is no \p{S} in llama.cpp's collapsed classes: the first one
		// is left between matches, the second starts "~b".
		{"deepseek-v3 tilde is no symbol", preDeepseek3, "a~~b", "a|~|~b"},
		{"afmoe digits", preAFMoE, "ab12345 7", "ab|12|345| |7"},
		{"kimi camel kept", preKimiK2, "iPhone 中文x's", "iPhone| |中文|x's"},
		{"qwen35 marks", preQwen35, "e\u0301x", "e\u0301x"},
		{"qwen2 marks", preQwen2, "e\u0301x", "e|\u0301x"}, // the mark is the optional lead of "x"
	} {
		got := strings.Join(splitWith(c.stages, c.in), "|")
		if got != c.want {
			t.Errorf("%s: split(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

// TestRegexMatchesScanners runs llama.cpp's GPT-2 and Llama 3 expressions
// through the expression matcher and compares with llama.cpp's hand-written
// scanners for them (which the reference data checks) on random text.
func TestRegexMatchesScanners(t *testing.T) {
	gpt2 := []stage{regexStage(exprGPT2 + `|\s+`)}
	llama3 := []stage{regexStage(exprLlama3)}
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []rune("aZé文 \t\n\r'sStTdDmMlLrReEvV1２3٣.,!?-_~$+<>\u00a0\u3000\u0301\u200b😀\x00\x0b")
	for i := 0; i < 5000; i++ {
		n := r.IntN(24)
		b := make([]rune, n)
		for j := range b {
			b[j] = alphabet[r.IntN(len(alphabet))]
		}
		s := string(b)
		if g, w := splitWith(gpt2, s), splitWith(preGPT2, s); !slices.Equal(g, w) {
			t.Fatalf("gpt-2 %q: regex %q, scanner %q", s, g, w)
		}
		if g, w := splitWith(llama3, s), splitWith(preLlama3, s); !slices.Equal(g, w) {
			t.Fatalf("llama3 %q: regex %q, scanner %q", s, g, w)
		}
	}
}

func TestCompileRegexErrors(t *testing.T) {
	for _, expr := range []string{
		`a*`, `(a|)`, `(?=a)`, `(a*)*`, `[a`, `(a`, `a{2,1}`, `a*?`, `.`, `\p{Xx}`, `\p{L}é`, `[\S]`, `\q`, `(?<a>b)`,
	} {
		if _, err := compileRegex(expr); err == nil {
			t.Errorf("compileRegex(%q) succeeded", expr)
		}
	}
	for _, expr := range []string{exprQwen2, exprQwen35, exprSeedCoder, exprBailingMoE, exprLlama3, exprGPT2, exprTekken, exprGPT4o, exprDigits3, exprDeepseek3CJK, exprDeepseek3Words, exprAFMoECJK} {
		re, err := compileRegex(expr)
		if err != nil {
			t.Fatal(err)
		}
		if utf8.ValidString(expr) && re.collapsed != strings.Contains(expr, `\p{`) {
			t.Errorf("%q: collapsed = %v", expr, re.collapsed)
		}
	}
}

// testdataVocab opens ../shared/testdata/tokenizer/ggml-vocab-<name>.gguf.
func testdataVocab(t testing.TB, name string) *gguf.File {
	t.Helper()
	f, err := gguf.Open(testutil.Shared(t, "testdata/tokenizer/ggml-vocab-"+name+".gguf"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// ggufWithKeys writes a copy of src with the given bool keys added (or
// replaced) and reads it back.
func ggufWithKeys(t testing.TB, src *gguf.File, keys map[string]bool) *gguf.File {
	t.Helper()
	var kv []gguf.KV
	for _, e := range src.KV {
		if _, ok := keys[e.Key]; !ok {
			kv = append(kv, e)
		}
	}
	for k, v := range keys {
		kv = append(kv, gguf.KV{Key: k, Value: gguf.NewBool(v)})
	}
	var buf bytes.Buffer
	if err := gguf.Write(&buf, kv, nil, 0); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// familyVocab is the vocabulary kind and tokenizer.ggml.pre value the GGUF
// files of a model family carry, with where that comes from.
var familyVocab = []struct {
	family, model, pre, source string
}{
	{"Llama 3.x", "gpt2", "llama-bpe", "llama.cpp convert_hf_to_gguf_update.py (Meta-Llama-3-8B)"},
	{"Qwen2.5, Qwen3, Qwen3-Embedding", "gpt2", "qwen2", "convert_hf_to_gguf_update.py (Qwen1.5 tokenizer; Qwen3-Embedding-0.6B hash)"},
	{"Qwen3.5", "gpt2", "qwen35", "convert_hf_to_gguf_update.py (Qwen3.5-9B-Instruct); no llama.cpp ids checked"},
	{"SmolLM, SmolLM2", "gpt2", "smollm", "convert_hf_to_gguf_update.py (SmolLM-135M); SmolLM2-360M dump in llama.cpp issue 18482"},
	{"SmolLM3", "gpt2", "llama-bpe", "its 128,256-token Llama 3 vocabulary (expected; no file dump seen)"},
	{"LFM2", "gpt2", "lfm2", "convert_hf_to_gguf_update.py (LiquidAI/LFM2-Tokenizer)"},
	{"Phi-4-mini", "gpt2", "gpt-4o", "its o200k vocabulary, listed as Xenova/gpt-4o in convert_hf_to_gguf_update.py"},
	{"Granite 3.x / 4.0", "gpt2", "refact", "granite-4.0-1b-speech dump in llama.cpp PR 22101 (the 49k Granite vocabulary)"},
	{"OLMo 1.7", "gpt2", "olmo", "convert_hf_to_gguf_update.py (OLMo-1.7-7B-hf)"},
	{"OLMo 2", "gpt2", "dbrx", "its dolma2 (cl100k) vocabulary, DBRX's (expected; no file dump seen)"},
	{"Mistral Nemo / Small", "gpt2", "tekken", "convert_hf_to_gguf_update.py (Mistral-Nemo-Base-2407)"},
	{"DeepSeek-V3 / R1", "gpt2", "deepseek-v3", "convert_hf_to_gguf_update.py (DeepSeek-V3)"},
	{"DeepSeek-R1-Distill-Qwen", "gpt2", "deepseek-r1-qwen", "convert_hf_to_gguf_update.py"},
	{"GLM-4 / 4.5", "gpt2", "glm4", "convert_hf_to_gguf_update.py; GLM-4.5 dump in ollama issue 12403"},
	{"Kimi-K2", "gpt2", "kimi-k2", "convert_hf_to_gguf_update.py"},
	{"Hunyuan-A13B", "gpt2", "hunyuan", "convert_hf_to_gguf_update.py"},
	{"Hunyuan dense", "gpt2", "hunyuan-dense", "convert_hf_to_gguf_update.py"},
	{"Gemma 2 / 3, EmbeddingGemma, Phi-3.5", "llama", "", "SentencePiece BPE: no pre-tokenizer"},
	{"bge-m3, multilingual-e5, bge-reranker-v2-m3 (XLM-R)", "t5", "default", "llama.cpp's _xlmroberta_set_vocab (Unigram ignores the pre value)"},
	{"BERT, bge-small, nomic-embed v1, jina-v2-en", "bert", "", "WordPiece: no pre-tokenizer"},
}

// TestFamilyPreValues: every family's vocabulary kind and pre value loads.
func TestFamilyPreValues(t *testing.T) {
	for _, f := range familyVocab {
		md := mapMeta{keyModel: f.model, keyPre: f.pre, keyTokens: []string{"<unk>", "</s>", "<pad>", "a", "b"}, keyMerges: []string{"a b"}}
		if _, err := fromMetadata(md); err != nil {
			t.Errorf("%s (%s %q, %s): %v", f.family, f.model, f.pre, f.source, err)
		}
	}
}
