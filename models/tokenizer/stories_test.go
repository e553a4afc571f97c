package tokenizer

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// storiesGolden is the part of testdata/stories260K/golden.json the
// tokenizer is checked against (llama2.c run.c and llama.cpp agree on it).
type storiesGolden struct {
	Cases []struct {
		Prompt    string `json:"prompt"`
		PromptIDs []int  `json:"prompt_ids"`
		AllIDs    []int  `json:"all_ids"`
		Text      string `json:"text"`
	} `json:"cases"`
	EncodeCases []struct {
		Text       string `json:"text"`
		IDsWithBOS []int  `json:"ids_with_bos"`
	} `json:"encode_cases"`
}

func loadStories(t *testing.T) (*Tokenizer, storiesGolden) {
	t.Helper()
	tok := loadTokenizer(t, sharedPath(t, "models/stories260K.gguf"))
	b, err := os.ReadFile(sharedPath(t, "testdata/stories260K/golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g storiesGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.EncodeCases) == 0 || len(g.Cases) == 0 {
		t.Fatal("golden.json has no cases")
	}
	return tok, g
}

func TestStoriesEncode(t *testing.T) {
	tok, g := loadStories(t)
	if tok.Model() != "llama" || tok.VocabSize() != 512 || tok.BOS() != 1 || tok.EOS() != 2 || !tok.AddBOS() {
		t.Fatalf("model %q vocab %d bos %d eos %d addBOS %v", tok.Model(), tok.VocabSize(), tok.BOS(), tok.EOS(), tok.AddBOS())
	}
	for _, c := range g.EncodeCases {
		got, err := tok.Encode(c.Text, EncodeOptions{AddSpecial: true})
		if err != nil {
			t.Fatal(err)
		}
		if !equalIDs(got, c.IDsWithBOS) {
			t.Errorf("Encode(%q) = %v, want %v", c.Text, got, c.IDsWithBOS)
		}
		// Without AddSpecial: the same minus BOS.
		got, _ = tok.Encode(c.Text, EncodeOptions{})
		if !equalIDs(got, c.IDsWithBOS[1:]) {
			t.Errorf("Encode(%q, no BOS) = %v, want %v", c.Text, got, c.IDsWithBOS[1:])
		}
		if dec := tok.Decode(c.IDsWithBOS); dec != c.Text {
			t.Errorf("Decode(%v) = %q, want %q", c.IDsWithBOS, dec, c.Text)
		}
	}
	for _, c := range g.Cases {
		got, _ := tok.Encode(c.Prompt, EncodeOptions{AddSpecial: true})
		if !equalIDs(got, c.PromptIDs) {
			t.Errorf("Encode(%q) = %v, want %v", c.Prompt, got, c.PromptIDs)
		}
	}
}

func TestStoriesDecode(t *testing.T) {
	tok, g := loadStories(t)
	for _, c := range g.Cases {
		if got := tok.Decode(c.AllIDs); got != c.Text {
			t.Errorf("Decode(all_ids of %q):\n got %q\nwant %q", c.Prompt, got, c.Text)
		}
		// Streaming the whole sequence (it starts with BOS) gives the same.
		d := tok.NewStreamDecoder()
		var sb strings.Builder
		for _, id := range c.AllIDs {
			sb.WriteString(d.Push(id))
		}
		sb.WriteString(d.Flush())
		if sb.String() != c.Text {
			t.Errorf("stream of %q:\n got %q\nwant %q", c.Prompt, sb.String(), c.Text)
		}
		// A continuation keeps its leading space: prompt text + streamed
		// rest. After a prompt of BOS alone the stream is primed with BOS
		// so that it drops the first word's phantom space.
		d = tok.NewStreamDecoder()
		sb.Reset()
		sb.WriteString(tok.Decode(c.PromptIDs))
		if len(c.PromptIDs) == 1 {
			sb.WriteString(d.Push(c.PromptIDs[0]))
		}
		for _, id := range c.AllIDs[len(c.PromptIDs):] {
			sb.WriteString(d.Push(id))
		}
		sb.WriteString(d.Flush())
		if sb.String() != c.Text {
			t.Errorf("prompt + streamed continuation of %q:\n got %q\nwant %q", c.Prompt, sb.String(), c.Text)
		}
	}
}
