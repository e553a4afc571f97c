package tokenizer

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/models/gguf"
)

// bgeHF rebuilds the Hugging Face spelling of the BERT-BGE vocabulary from
// its GGUF (the converter's mapping undone: "▁the" -> "the", "ing" ->
// "##ing", control tokens and "[unusedN]" as they are).
func bgeHF(t *testing.T) (tokens []string, special map[int]bool) {
	t.Helper()
	f, err := gguf.Open(sharedPath(t, "testdata/tokenizer/ggml-vocab-bert-bge.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	toks, _ := f.Strings(keyTokens)
	types, _ := f.Int32s(keyTokenType)
	special = map[int]bool{}
	for i, s := range toks {
		switch {
		case types[i] == typeControl:
			special[i] = true
			tokens = append(tokens, s)
		case strings.HasPrefix(s, "▁"):
			tokens = append(tokens, strings.TrimPrefix(s, "▁"))
		case strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]"):
			tokens = append(tokens, s)
		default:
			tokens = append(tokens, "##"+s)
		}
	}
	return tokens, special
}

// checkLikeGGUF encodes llama.cpp's WordPiece conformance cases with tok and
// compares with the expected ids, and with [CLS]/[SEP] added.
func checkLikeGGUF(t *testing.T, tok *Tokenizer) {
	t.Helper()
	inputs, want := readVocabTests(t, sharedPath(t, "testdata/tokenizer/ggml-vocab-bert-bge.gguf"))
	for i, in := range inputs {
		got, err := tok.Encode(in, EncodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want[i]) {
			t.Errorf("case %d %q: %v, want %v", i, in, got, want[i])
		}
	}
	got, err := tok.Encode("Hello world [SEP] x", EncodeOptions{AddSpecial: true, ParseSpecial: true})
	if err != nil {
		t.Fatal(err)
	}
	if w := []int{101, 7592, 2088, 102, 1060, 102}; !slices.Equal(got, w) {
		t.Errorf("with specials: %v, want %v", got, w)
	}
	if tok.Pad() != 0 || tok.BOS() != 101 {
		t.Errorf("pad %d, cls %d", tok.Pad(), tok.BOS())
	}
}

func TestFromVocabTxt(t *testing.T) {
	tokens, _ := bgeHF(t)
	tok, err := FromVocabTxt([]byte(strings.Join(tokens, "\n") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	checkLikeGGUF(t, tok)
}

// bgeTokenizerJSON writes a tokenizer.json for the BGE vocabulary in the
// shape the Hugging Face tokenizers library saves BERT's.
func bgeTokenizerJSON(t *testing.T, edit func(map[string]any)) []byte {
	t.Helper()
	tokens, special := bgeHF(t)
	vocab := map[string]int{}
	var added []map[string]any
	for i, s := range tokens {
		vocab[s] = i
		if special[i] {
			added = append(added, map[string]any{"id": i, "content": s, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true})
		}
	}
	doc := map[string]any{
		"version":       "1.0",
		"truncation":    map[string]any{"direction": "Right", "max_length": 128, "strategy": "LongestFirst", "stride": 0},
		"padding":       nil,
		"added_tokens":  added,
		"normalizer":    map[string]any{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": nil, "lowercase": true},
		"pre_tokenizer": map[string]any{"type": "BertPreTokenizer"},
		"post_processor": map[string]any{
			"type": "TemplateProcessing",
			"single": []any{
				map[string]any{"SpecialToken": map[string]any{"id": "[CLS]", "type_id": 0}},
				map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}},
				map[string]any{"SpecialToken": map[string]any{"id": "[SEP]", "type_id": 0}},
			},
			"special_tokens": map[string]any{
				"[CLS]": map[string]any{"id": "[CLS]", "ids": []int{101}, "tokens": []string{"[CLS]"}},
				"[SEP]": map[string]any{"id": "[SEP]", "ids": []int{102}, "tokens": []string{"[SEP]"}},
			},
		},
		"decoder": map[string]any{"type": "WordPiece", "prefix": "##", "cleanup": true},
		"model":   map[string]any{"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": vocab},
	}
	if edit != nil {
		edit(doc)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFromTokenizerJSON(t *testing.T) {
	tok, err := FromTokenizerJSON(bgeTokenizerJSON(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	checkLikeGGUF(t, tok)
	// BertProcessing names the same ids.
	tok, err = FromTokenizerJSON(bgeTokenizerJSON(t, func(d map[string]any) {
		d["post_processor"] = map[string]any{"type": "BertProcessing", "sep": []any{"[SEP]", 102}, "cls": []any{"[CLS]", 101}}
	}))
	if err != nil {
		t.Fatal(err)
	}
	checkLikeGGUF(t, tok)
}

func TestLoadHF(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := LoadHF(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("empty dir: %v", err)
	}
	tokens, _ := bgeHF(t)
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(strings.Join(tokens, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"do_lower_case": true, "model_max_length": 512}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, info, err := LoadHF(dir)
	if err != nil || info.MaxLength != 512 || filepath.Base(info.Path) != "vocab.txt" {
		t.Fatalf("vocab.txt: %v %+v", err, info)
	}
	checkLikeGGUF(t, tok)
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), bgeTokenizerJSON(t, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, info, err = LoadHF(dir); err != nil || info.MaxLength != 128 || filepath.Base(info.Path) != "tokenizer.json" {
		t.Fatalf("tokenizer.json: %v %+v", err, info)
	}
	os.Remove(filepath.Join(dir, "tokenizer.json"))
	os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"do_lower_case": false}`), 0o644)
	cased, _, err := LoadHF(dir)
	if err != nil {
		t.Fatalf("cased vocab.txt: %v", err)
	}
	// The BGE vocabulary is lower-case: cased, "Hello" has no pieces.
	if got, _ := cased.Encode("Hello hello", EncodeOptions{}); !slices.Equal(got, []int{100, 7592}) {
		t.Errorf("cased vocab.txt: %v, want [100 7592]", got)
	}
}

func TestHFErrors(t *testing.T) {
	set := func(path []string, v any) func(map[string]any) {
		return func(d map[string]any) {
			m := d
			for _, k := range path[:len(path)-1] {
				m = m[k].(map[string]any)
			}
			m[path[len(path)-1]] = v
		}
	}
	for _, tc := range []struct {
		name string
		edit func(map[string]any)
		want string
	}{
		{"bpe", set([]string{"model", "type"}, "BPE"), "model type \"BPE\""},
		{"chinese", set([]string{"normalizer", "handle_chinese_chars"}, false), "handle_chinese_chars"},
		{"normalizer", set([]string{"normalizer"}, map[string]any{"type": "NFC"}), "NFC"},
		{"pretokenizer", set([]string{"pre_tokenizer"}, map[string]any{"type": "Metaspace"}), "Metaspace"},
		{"prefix", set([]string{"model", "continuing_subword_prefix"}, "@@"), "@@"},
		{"unk", set([]string{"model", "unk_token"}, "<unk>"), "unk_token"},
		{"template", set([]string{"post_processor", "single"}, []any{}), "template"},
		{"processor", set([]string{"post_processor"}, map[string]any{"type": "RobertaProcessing"}), "RobertaProcessing"},
		{"negative id", func(d map[string]any) { d["model"].(map[string]any)["vocab"].(map[string]int)["zzz"] = -5 }, "-5"},
		{"huge id", func(d map[string]any) { d["model"].(map[string]any)["vocab"].(map[string]int)["zzz"] = 1 << 30 }, "out of range"},
		{"duplicate id", func(d map[string]any) { d["model"].(map[string]any)["vocab"].(map[string]int)["zzz"] = 7592 }, "id 7592"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromTokenizerJSON(bgeTokenizerJSON(t, tc.edit))
			if !errors.Is(err, ErrVocab) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrVocab naming %q", err, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "{", `{"model": {"type": "WordPiece", "vocab": {}}, "normalizer": {"type": "BertNormalizer"}}`} {
		if _, err := FromTokenizerJSON([]byte(bad)); !errors.Is(err, ErrVocab) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for _, bad := range []string{"", "\n", "a\nb\nc"} {
		if _, err := FromVocabTxt([]byte(bad)); !errors.Is(err, ErrVocab) {
			t.Errorf("vocab.txt %q: %v", bad, err)
		}
	}
}
