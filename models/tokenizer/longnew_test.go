package tokenizer

import (
	"os"
	"sync"
	"testing"
)

// withPre returns a copy of the byte-level BPE tokenizer base (sharing its
// read-only tables) with the pre-tokenizer of tokenizer.ggml.pre name.
func withPre(t testing.TB, base *Tokenizer, name string) *Tokenizer {
	t.Helper()
	p, err := lookupPre(name)
	if err != nil {
		t.Fatal(err)
	}
	c := *base
	c.pre = p
	c.ignoreMerges = p.ignoreMerges
	c.cleanSpaces = !p.cleanSpacesOff
	return &c
}

// extraPres are pre values with a split of their own (one per family).
var extraPres = []string{"llama-bpe", "qwen2", "qwen35", "seed-coder", "bailingmoe", "smollm", "gpt-4o", "tekken", "deepseek-v3", "kimi-k2", "afmoe", "poro-chat"}

// newVocabs are the tokenizers added for issues 14 and 19: the GPT-2
// vocabulary under each pre-tokenizer family, test_model.model as a T5 and
// an XLM-R vocabulary, and BGE cased.
var newVocabs = sync.OnceValues(func() (map[string]*Tokenizer, error) {
	m := map[string]*Tokenizer{}
	data, err := os.ReadFile(spmTestModel)
	if err != nil {
		return nil, err
	}
	if m["ugm-t5"], err = FromSentencePiece(data, false); err != nil {
		return nil, err
	}
	if m["ugm-xlmr"], err = FromSentencePiece(data, true); err != nil {
		return nil, err
	}
	return m, nil
})

func allNewVocabs(t testing.TB) map[string]*Tokenizer {
	t.Helper()
	m, err := newVocabs()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*Tokenizer{}
	for k, v := range m {
		out[k] = v
	}
	if ref, err := refVocabs(); err == nil {
		for _, p := range extraPres {
			out["pre:"+p] = withPre(t, ref["gpt-2"], p)
		}
		cased := *ref["bert-bge"]
		cased.lowercase, cased.stripAccents = false, false
		out["bert-bge-cased"] = &cased
	}
	return out
}
