package tokenizer

import (
	"encoding/json"
	"os"
	"testing"
)

// TestModelReferences checks the token ids llama.cpp produced for the
// prompts of the tiny reference models (their tokenizer.* keys are copies
// of stories260K, GPT-2 and BERT-BGE vocabularies), with AddSpecial and
// ParseSpecial as llama.cpp's tools use them.
func TestModelReferences(t *testing.T) {
	type ref struct {
		PromptText string          `json:"prompt_text"`
		TokenIDs   json.RawMessage `json:"token_ids"`
		Sentences  json.RawMessage `json:"sentences"`
	}
	for _, c := range []struct{ model, ref string }{
		{"testdata/llama/tiny-llama-F32.gguf", "testdata/llama/tiny-llama-F32.ref.json"},
		{"testdata/qwen2/tiny-qwen2-F32.gguf", "testdata/qwen2/tiny-qwen2-F32.ref.json"},
		{"testdata/bert/tiny-bert-F32.gguf", "testdata/bert/tiny-bert-F32.ref.json"},
	} {
		tok := loadTokenizer(t, sharedPath(t, c.model))
		b, err := os.ReadFile(sharedPath(t, c.ref))
		if err != nil {
			t.Fatal(err)
		}
		var r ref
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		var texts []string
		var want [][]int
		if r.PromptText != "" {
			texts = []string{r.PromptText}
			var ids []int
			if err := json.Unmarshal(r.TokenIDs, &ids); err != nil {
				t.Fatal(err)
			}
			want = [][]int{ids}
		} else {
			// BERT: the fields hold JSON text.
			var s string
			if err := json.Unmarshal(r.Sentences, &s); err == nil {
				r.Sentences = json.RawMessage(s)
			}
			if err := json.Unmarshal(r.TokenIDs, &s); err == nil {
				r.TokenIDs = json.RawMessage(s)
			}
			if err := json.Unmarshal(r.Sentences, &texts); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(r.TokenIDs, &want); err != nil {
				t.Fatal(err)
			}
		}
		if len(texts) == 0 || len(texts) != len(want) {
			t.Fatalf("%s: %d texts, %d id lists", c.ref, len(texts), len(want))
		}
		for i, text := range texts {
			got, err := tok.Encode(text, EncodeOptions{AddSpecial: true, ParseSpecial: true})
			if err != nil {
				t.Fatal(err)
			}
			if !equalIDs(got, want[i]) {
				t.Errorf("%s: Encode(%q) =\n%v, want\n%v", c.model, text, got, want[i])
			}
		}
	}
}
