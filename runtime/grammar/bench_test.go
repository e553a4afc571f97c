package grammar

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/edgeai-go/edgeai/internal/testutil"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/tokenizer"
)

func loadTokenizer(t testing.TB, path string) *tokenizer.Tokenizer {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var (
	vocabMu    sync.Mutex
	vocabCache = map[string]*Vocab{}
)

// benchVocab returns a vocabulary by name:
//   - llama-32k: the Llama/TinyLlama SentencePiece vocabulary (32,000
//     tokens, byte fallback), ../shared/testdata/tokenizer/ggml-vocab-llama-spm.gguf
//   - gpt2-50k: the GPT-2 byte-level vocabulary of the tiny Qwen2 of
//     ../shared (50,257 tokens)
//   - synth-152k: a byte-level vocabulary of Qwen2.5's size (151,936 ids):
//     the DeepSeek-LLM (102,400, with CJK) and GPT-2 vocabularies of
//     ../shared, merged, filled up with concatenations of their tokens (as
//     BPE merges make) and 293 control tokens.
func benchVocab(t testing.TB, name string) *Vocab {
	vocabMu.Lock()
	defer vocabMu.Unlock()
	if v := vocabCache[name]; v != nil {
		return v
	}
	var v *Vocab
	switch name {
	case "llama-32k":
		v = NewVocab(loadTokenizer(t, testutil.Shared(t, "testdata/tokenizer/ggml-vocab-llama-spm.gguf")))
	case "gpt2-50k":
		v = NewVocab(loadTokenizer(t, testutil.Shared(t, "testdata/qwen2/tiny-qwen2-F32.gguf")))
	case "synth-152k":
		const regular, total = 151643, 151936
		var texts []string
		seen := map[string]bool{}
		for _, rel := range []string{"testdata/tokenizer/ggml-vocab-deepseek-llm.gguf", "testdata/qwen2/tiny-qwen2-F32.gguf"} {
			tok := loadTokenizer(t, testutil.Shared(t, rel))
			for id := range tok.VocabSize() {
				if s := tok.TokenText(id); s != "" && !seen[s] {
					seen[s] = true
					texts = append(texts, s)
				}
			}
		}
		rng := rand.New(rand.NewPCG(152, 64))
		base := len(texts)
		for len(texts) < regular {
			a, b := texts[rng.IntN(base)], texts[rng.IntN(base)]
			if s := a + b; len(s) <= 16 && !seen[s] {
				seen[s] = true
				texts = append(texts, s)
			}
		}
		var eog []int
		for len(texts) < total {
			eog = append(eog[:0], len(texts))
			texts = append(texts, "")
		}
		v = newVocab(texts, eog, nil, false)
	default:
		t.Fatalf("unknown vocabulary %q", name)
	}
	vocabCache[name] = v
	return v
}

// greedyTokens splits text into the longest tokens of v, as a stand-in for
// the tokenizer (a generation chooses tokens one by one anyway).
func greedyTokens(t testing.TB, v *Vocab, text string) []int {
	var ids []int
	for i := 0; i < len(text); {
		best, bestLen := -1, 0
		node := int32(0)
		for j := i; j < len(text); j++ {
			// find the child of node with byte text[j]
			next := int32(-1)
			for c := node + 1; c < node+v.all.nodes[node].size; c += v.all.nodes[c].size {
				if v.all.nodes[c].b == text[j] {
					next = c
					break
				}
			}
			if next < 0 {
				break
			}
			node = next
			if n := v.all.nodes[node]; n.tokN > 0 {
				best, bestLen = int(v.all.ids[n.tok0]), j-i+1
			}
		}
		if best < 0 {
			t.Fatalf("no token spells %q", text[i:])
		}
		ids = append(ids, best)
		i += bestLen
	}
	return ids
}

// benchDocs are realistic outputs of structured generation.
var benchDocs = []struct {
	Name, Schema, Doc string
}{
	{
		Name: "person-schema",
		Schema: `{"type":"object","properties":{
			"name":{"type":"string"},"email":{"type":"string","maxLength":80},
			"age":{"type":"integer","minimum":0,"maximum":150},
			"address":{"type":"object","properties":{"street":{"type":"string"},"city":{"type":"string"},"zip":{"type":"string","pattern":"^[0-9]{5}$"}},"required":["street","city","zip"]},
			"tags":{"type":"array","items":{"type":"string"},"maxItems":5},
			"joined":{"type":"string","format":"date"},
			"bio":{"type":"string"}},
			"required":["name","email","age","address","tags","joined","bio"],"additionalProperties":false}`,
		Doc: `{"name": "Amélie Dupont", "email": "amelie.dupont@example.org", "age": 34, "address": {"street": "12 rue des Écoles", "city": "Paris", "zip": "75005"}, "tags": ["clinic", "offline", "日本語"], "joined": "2021-03-14", "bio": "Amélie runs a small clinic in the 5th arrondissement. She keeps patient notes offline on a Raspberry Pi and wants forms that always parse: \"no cloud, no surprises\". Café au lait, 3 × a day."}`,
	},
	{
		Name:   "tool-call",
		Schema: `{"type":"object","properties":{"name":{"enum":["get_weather","search","send_email"]},"arguments":{"type":"object","properties":{"location":{"type":"string"},"unit":{"enum":["celsius","fahrenheit"]},"days":{"type":"integer","minimum":1,"maximum":14}},"required":["location"]}},"required":["name","arguments"]}`,
		Doc:    `{"name": "get_weather", "arguments": {"location": "Paris, France", "unit": "celsius", "days": 3}}`,
	},
	{
		Name:   "json-object",
		Schema: `{"type":"object"}`,
		Doc:    `{"items": [{"id": 1, "title": "Buy milk", "done": false, "tags": ["home", "urgent"]}, {"id": 2, "title": "Call the clinic about the 10:30 appointment", "done": true, "tags": []}], "count": 2, "owner": {"name": "Jörg", "score": -12.5e3, "note": null}}`,
	},
}

// BenchmarkMask measures the per-token cost of constrained sampling: Mask
// then Accept for every token of a realistic document, with a fresh
// Matcher per document (so cold caches are included, as in a real
// generation). Compare ns/token with a decode step of a model of the same
// vocabulary (edgeai bench, tg, -t 1).
func BenchmarkMask(b *testing.B) {
	for _, vn := range []string{"llama-32k", "gpt2-50k", "synth-152k"} {
		for _, d := range benchDocs {
			b.Run(vn+"/"+d.Name, func(b *testing.B) {
				v := benchVocab(b, vn)
				g, err := FromJSONSchema([]byte(d.Schema))
				if err != nil {
					b.Fatal(err)
				}
				ids := greedyTokens(b, v, d.Doc)
				mask := make([]uint64, v.Words())
				var worst time.Duration
				var per []time.Duration
				c0 := cpuNow()
				for b.Loop() {
					m, err := NewMatcher(g, v, Options{})
					if err != nil {
						b.Fatal(err)
					}
					for _, id := range ids {
						t0 := time.Now()
						if err := m.Mask(mask); err != nil {
							b.Fatal(err)
						}
						if !hasBit(mask, id) {
							b.Fatalf("token %d %q not allowed", id, v.text[id])
						}
						if err := m.Accept(id); err != nil {
							b.Fatal(err)
						}
						dt := time.Since(t0)
						worst = max(worst, dt)
						if len(per) < len(ids) {
							per = append(per, dt)
						}
					}
					if !m.Complete() {
						b.Fatal("document incomplete")
					}
				}
				sort.Slice(per, func(i, j int) bool { return per[i] < per[j] })
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ids)), "ns/token")
				b.ReportMetric(float64(cpuNow()-c0)/float64(b.N*len(ids)), "cpu-ns/token")
				b.ReportMetric(float64(per[len(per)*9/10].Nanoseconds()), "p90-ns")
				b.ReportMetric(float64(worst.Nanoseconds()), "max-ns")
				b.ReportMetric(float64(len(ids)), "tokens")
				b.ReportMetric(float64(v.TrieNodes()), "trie-nodes")
			})
		}
	}
}

// TestBenchDocsValid keeps the benchmark's documents valid for their
// schemas and vocabularies.
func TestBenchDocsValid(t *testing.T) {
	for _, vn := range []string{"llama-32k", "gpt2-50k"} {
		v := benchVocab(t, vn)
		for _, d := range benchDocs {
			g, err := FromJSONSchema([]byte(d.Schema))
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewMatcher(g, v, Options{})
			if err != nil {
				t.Fatal(err)
			}
			mask := make([]uint64, v.Words())
			for i, id := range greedyTokens(t, v, d.Doc) {
				if err := m.Mask(mask); err != nil {
					t.Fatal(err)
				}
				if !hasBit(mask, id) {
					t.Fatalf("%s %s: token %d (%d %q) not in the mask", vn, d.Name, i, id, v.text[id])
				}
				if err := m.Accept(id); err != nil {
					t.Fatalf("%s %s: %v", vn, d.Name, err)
				}
			}
			if !m.Done() {
				t.Errorf("%s %s: not done at the end of the document", vn, d.Name)
			}
		}
	}
	_ = fmt.Sprint
}
