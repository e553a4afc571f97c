package tokenizer

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzSeeds adds the reference test strings and a few awkward ones.
func fuzzSeeds(f *testing.F) {
	if _, err := os.Stat(shared); err == nil {
		inputs, _ := readVocabTests(f, filepath.Join(shared, "testdata/tokenizer/ggml-vocab-gpt-2.gguf"))
		for _, s := range inputs {
			f.Add(s)
		}
	}
	for _, s := range []string{"", " ", "\xff\xfe", "a\xC3", "<s></s><|endoftext|>", "Führer ø ü", "\u3000\u00a0x", "</s> \n", "'''RE 'Ve", "12345678"} {
		f.Add(s)
	}
}

// FuzzRoundTrip checks Decode(Encode(s)) against s where the vocabulary
// can reproduce it:
//
//   - llama-spm (SentencePiece with byte fallback): any valid UTF-8, except
//     text containing "▁" (U+2581, read back as a space). Invalid UTF-8
//     does not round-trip: llama.cpp cuts the text into characters by their
//     first byte only, so a stray lead byte swallows the first byte of the
//     "▁" that stands for the next space, which then decodes as "▁".
//   - deepseek-llm (byte-level BPE without clean-up): any valid UTF-8
//     (invalid bytes are read as U+FFFD, as in llama.cpp).
//   - gpt-2 and falcon (byte-level BPE with clean-up): any valid UTF-8,
//     compared with the cleaned-up s (" ," -> "," and so on). Falcon's
//     vocabulary lacks a few bytes (control characters such as 0x05), which
//     llama.cpp drops: text with those is skipped for it.
//   - phi-3: as llama-spm, except text containing "</s>", a user-defined
//     token that eats the whitespace after it.
//
// bert-bge (WordPiece) is lossy by design: lower-casing, accent stripping,
// whitespace normalisation.
func FuzzRoundTrip(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		v := vocabs(t)
		check := func(name, want string) {
			tok := v[name]
			ids, err := tok.Encode(s, EncodeOptions{AddSpecial: true})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got := tok.Decode(ids); got != want {
				t.Fatalf("%s: Decode(Encode(%q)) = %q, want %q (ids %v)", name, s, got, want, ids)
			}
		}
		if !utf8.ValidString(s) {
			return
		}
		if !strings.Contains(s, "▁") {
			check("llama-spm", s)
			if !strings.Contains(s, "</s>") {
				check("phi-3", s)
			}
		}
		{
			check("deepseek-llm", s)
			clean := string(cleanSpaces([]byte(s)))
			check("gpt-2", clean)
			if hasAllBytes(v["falcon"], s) {
				check("falcon", clean)
			}
		}
	})
}

// hasAllBytes reports whether every byte of s has a byte-level token.
func hasAllBytes(tok *Tokenizer, s string) bool {
	for i := 0; i < len(s); i++ {
		if _, ok := tok.ids.get(byteToUTF8[s[i]]); !ok {
			return false
		}
	}
	return true
}

// FuzzEncode checks that no input makes Encode, Decode or the stream decoder
// fail or panic, and that every id is in range, for every vocabulary kind:
// the six reference vocabularies, the GPT-2 vocabulary under each
// pre-tokenizer family, Unigram (T5 and XLM-R layouts) and cased WordPiece.
func FuzzEncode(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		all := allNewVocabs(t)
		if _, err := os.Stat(shared); err == nil {
			for name, tok := range vocabs(t) {
				all[name] = tok
			}
		}
		for name, tok := range all {
			for _, opt := range []EncodeOptions{{}, {AddSpecial: true, ParseSpecial: true}} {
				ids, err := tok.Encode(s, opt)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				for _, id := range ids {
					if id < 0 || id >= tok.VocabSize() {
						t.Fatalf("%s: id %d out of range", name, id)
					}
				}
				_ = tok.Decode(ids)
				_ = tok.DecodeSpecial(ids)
				d := tok.NewStreamDecoder()
				for _, id := range ids {
					if out := d.Push(id); !utf8.ValidString(out) && utf8.ValidString(s) {
						t.Fatalf("%s: stream emitted %q for valid input %q", name, out, s)
					}
				}
				_ = d.Flush()
			}
			// Arbitrary ids, in range or not.
			var ids []int
			for i := 0; i+1 < len(s); i += 2 {
				ids = append(ids, (int(s[i])<<8|int(s[i+1]))*7-1000)
			}
			_ = tok.Decode(ids)
		}
	})
}

// longInputs are 100 KB texts that stress each stage: one huge word, long
// runs of spaces, digits and newlines, random bytes, mixed scripts.
func longInputs() map[string]string {
	const n = 100 << 10
	r := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, n)
	for i := range random {
		random[i] = byte(r.IntN(256))
	}
	var mixed strings.Builder
	words := []string{"Hello", " world", ",", " 🦙", " нещо", " 我想在", " 3333", "\n\n", "  ", "'s", " Führer", "\t", "…", " <|endoftext|>", " <s>"}
	for mixed.Len() < n {
		mixed.WriteString(words[r.IntN(len(words))])
	}
	return map[string]string{
		"one-word":  strings.Repeat("a", n),
		"spaces":    strings.Repeat(" ", n),
		"digits":    strings.Repeat("7", n),
		"newlines":  strings.Repeat("\n", n),
		"cjk":       strings.Repeat("我", n/3),
		"random":    string(random),
		"mixed":     mixed.String(),
		"one-emoji": strings.Repeat("🦙", n/4),
	}
}

// TestLongInputs guards against quadratic behaviour: every vocabulary
// encodes each 100 KB text well within a generous bound (a quadratic
// algorithm takes minutes here).
func TestLongInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("long inputs skipped in -short mode")
	}
	v := vocabs(t)
	var slowest time.Duration
	var slowName string
	defer func() { t.Logf("slowest: %s in %v", slowName, slowest) }()
	all := map[string]*Tokenizer{}
	for _, name := range vocabNames {
		all[name] = v[name]
	}
	// The pre-tokenizer families and Unigram on the inputs that stress
	// their matchers.
	stress := map[string]bool{"spaces": true, "random": true}
	for name, tok := range allNewVocabs(t) {
		all[name] = tok
	}
	for in, text := range longInputs() {
		for name, tok := range all {
			if _, ref := v[name]; !ref && !stress[in] {
				continue
			}
			start := time.Now()
			ids, err := tok.Encode(text, EncodeOptions{AddSpecial: true, ParseSpecial: true})
			el := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			if el > slowest {
				slowest, slowName = el, name+"/"+in
			}
			if el > 3*time.Second {
				t.Errorf("%s/%s: %d tokens in %v", name, in, len(ids), el)
			}
		}
	}
}

// BenchmarkEncode encodes 100 KB of mixed text with each vocabulary.
func BenchmarkEncode(b *testing.B) {
	v := vocabs(b)
	text := longInputs()["mixed"]
	for _, name := range vocabNames {
		b.Run(name, func(b *testing.B) {
			tok := v[name]
			b.SetBytes(int64(len(text)))
			n := 0
			for b.Loop() {
				ids, _ := tok.Encode(text, EncodeOptions{})
				n += len(ids)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}

// BenchmarkDecodeStream decodes the tokens of 100 KB of text one at a time.
func BenchmarkDecodeStream(b *testing.B) {
	v := vocabs(b)
	tok := v["llama-spm"]
	ids, _ := tok.Encode(longInputs()["mixed"], EncodeOptions{})
	for b.Loop() {
		d := tok.NewStreamDecoder()
		for _, id := range ids {
			d.Push(id)
		}
		d.Flush()
	}
	b.ReportMetric(float64(len(ids)*b.N)/b.Elapsed().Seconds(), "tok/s")
}
