package grammar

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"
)

func storiesVocab(t testing.TB) *Vocab {
	vocabMu.Lock()
	defer vocabMu.Unlock()
	if v := vocabCache["stories"]; v != nil {
		return v
	}
	v := NewVocab(loadTokenizer(t, testutil.Stories(t)))
	vocabCache["stories"] = v
	return v
}

// The texts the matcher sees are those the text stream emits.
func TestVocabText(t *testing.T) {
	v := storiesVocab(t)
	tok := v.tok
	if v.Size() != 512 || v.Words() != 8 {
		t.Fatalf("size %d words %d", v.Size(), v.Words())
	}
	byteA := -1
	for id := range v.Size() {
		if tok.Piece(id) == "<0x41>" {
			byteA = id
		}
	}
	if byteA < 0 || v.text[byteA] != "A" {
		t.Errorf("byte token <0x41>: %d %q", byteA, v.text[byteA])
	}
	for _, id := range []int{tok.BOS(), tok.EOS(), 0} {
		if v.text[id] != "" {
			t.Errorf("control token %d has text %q", id, v.text[id])
		}
	}
	if !hasBit(v.eog, tok.EOS()) || hasBit(v.eog, tok.BOS()) {
		t.Error("EOS must be the end-of-generation token, BOS not")
	}
	spaced := 0
	for id := range v.Size() {
		if p := tok.Piece(id); strings.HasPrefix(p, "▁") && !tok.IsControl(id) {
			spaced++
			if want := strings.ReplaceAll(p, "▁", " "); v.text[id] != want {
				t.Errorf("token %d %q: text %q, want %q", id, p, v.text[id], want)
			}
		}
	}
	if spaced < 50 {
		t.Errorf("only %d tokens with ▁", spaced)
	}
}

// maskGrammars cover the caches: bounded strings (counted repetitions),
// nested values (detached contexts), multi-byte classes (tokens ending
// inside a character), token elements and plain GBNF.
var maskGrammars = []struct{ name, src string }{
	{"person", "schema:" + benchDocs[0].Schema},
	{"json-object", "schema:{\"type\":\"object\"}"},
	{"bounded", `schema:{"type":"object","properties":{"a":{"type":"string","minLength":3,"maxLength":40},"b":{"type":"array","items":{"type":"string","maxLength":20},"minItems":1,"maxItems":30}},"required":["a","b"]}`},
	{"cjk", "root ::= [一-龥]{2,25} (\" \" [a-z]+)? \"。\"?"},
	{"emoji", "root ::= ([😀-🙏] | [a-c] | \"é\")* \"!\""},
	{"alt", "root ::= (\"the\" | \"then\" | \"there\" | [t-z]+) (\",\" \" \"? root)?"},
}

func compileMaskGrammar(t *testing.T, src string) *Grammar {
	t.Helper()
	if s, ok := strings.CutPrefix(src, "schema:"); ok {
		g, err := FromJSONSchema([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	return mustParse(t, src)
}

// TestMaskMatchesTokens compares Mask, with all its caches, with checking
// every token one by one, along random walks over real vocabularies; and a
// sample of tokens with a fresh matcher fed the whole text.
func TestMaskMatchesTokens(t *testing.T) {
	vocabs := map[string]*Vocab{"stories": storiesVocab(t)}
	if testutil.HasShared(t, "testdata/qwen2/tiny-qwen2-F32.gguf") {
		vocabs["gpt2-50k"] = benchVocab(t, "gpt2-50k")
	}
	steps := 40
	if *long {
		steps = 400
		vocabs["llama-32k"] = benchVocab(t, "llama-32k")
		vocabs["synth-152k"] = benchVocab(t, "synth-152k")
	}
	for vn, v := range vocabs {
		for _, mg := range maskGrammars {
			g := compileMaskGrammar(t, mg.src)
			for _, strip := range []bool{false, true} {
				rng := rand.New(rand.NewPCG(uint64(len(mg.src)), uint64(len(vn))))
				m, err := NewMatcher(g, v, Options{StripFirstSpace: strip})
				if err != nil {
					t.Fatal(err)
				}
				mask := make([]uint64, v.Words()+1)
				text := ""
				first := strip
				for step := 0; step < steps && !m.Done(); step++ {
					err := m.Mask(mask)
					if errors.Is(err, ErrNoToken) {
						break
					}
					if err != nil {
						t.Fatalf("%s %s: %v", vn, mg.name, err)
					}
					if mask[len(mask)-1] != 0 {
						t.Fatal("bits past the vocabulary")
					}
					var allowed []int
					for id := range v.size {
						want := false
						tt := v.text[id]
						if first && strings.HasPrefix(tt, " ") {
							tt = tt[1:]
						}
						if tt != "" && len(v.text[id]) <= maxTokenBytes {
							want = m.run(m.cur, tt) != dead
						}
						if hasBit(v.eog, id) && m.Complete() {
							want = true
						}
						if got := hasBit(mask, id); got != want {
							t.Fatalf("%s %s strip %v step %d after %q: token %d %q: mask %v, token by token %v",
								vn, mg.name, strip, step, text, id, v.text[id], got, want)
						}
						if want {
							allowed = append(allowed, id)
						}
					}
					// a few allowed tokens against a fresh matcher
					for range 3 {
						id := allowed[rng.IntN(len(allowed))]
						if hasBit(v.eog, id) {
							continue
						}
						tt := v.text[id]
						if first {
							tt = strings.TrimPrefix(tt, " ")
						}
						f, _ := NewMatcher(g, nil, Options{})
						if err := f.AcceptString(text + tt); err != nil {
							t.Fatalf("%s %s: %q + token %q: %v", vn, mg.name, text, tt, err)
						}
					}
					// prefer text tokens, and long ones, to get somewhere
					id := allowed[rng.IntN(len(allowed))]
					for range 4 {
						c := allowed[rng.IntN(len(allowed))]
						if len(v.text[c]) > len(v.text[id]) {
							id = c
						}
					}
					if err := m.Accept(id); err != nil {
						t.Fatalf("%s %s: Accept(%d %q): %v", vn, mg.name, id, v.text[id], err)
					}
					if hasBit(v.eog, id) {
						break
					}
					tt := v.text[id]
					if first {
						tt = strings.TrimPrefix(tt, " ")
						first = false
					}
					text += tt
				}
			}
		}
	}
}
