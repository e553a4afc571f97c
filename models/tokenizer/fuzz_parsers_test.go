package tokenizer

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/edgeai-go/edgeai/models/gguf"
)

// Protobuf encoding for hand-made sentencepiece models.
func pbVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func pbBytes(b []byte, field int, v []byte) []byte {
	b = pbVarint(b, uint64(field)<<3|2)
	b = pbVarint(b, uint64(len(v)))
	return append(b, v...)
}

func pbUint(b []byte, field int, v uint64) []byte {
	return pbVarint(pbVarint(b, uint64(field)<<3), v)
}

func pbFloat(b []byte, field int, v float32) []byte {
	b = pbVarint(b, uint64(field)<<3|5)
	return binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
}

// tinySPModel serializes a small Unigram ModelProto.
func tinySPModel(addDummyPrefix, removeExtraWS bool) []byte {
	var m []byte
	for i, p := range []struct {
		s   string
		typ uint64
	}{{"<unk>", 2}, {"<s>", 3}, {"</s>", 3}, {"▁", 1}, {"a", 1}, {"b", 1}, {"▁ab", 1}, {"ab", 1}, {"é", 1}, {"<u>", 4}} {
		var piece []byte
		piece = pbBytes(piece, 1, []byte(p.s))
		piece = pbFloat(piece, 2, -float32(i))
		piece = pbUint(piece, 3, p.typ)
		m = pbBytes(m, 1, piece)
	}
	var trainer []byte
	trainer = pbUint(trainer, 3, spUnigram)
	trainer = pbUint(trainer, 4, 10)
	trainer = pbBytes(trainer, 7, []byte("text")) // a field the parser skips
	m = pbBytes(m, 2, trainer)
	var norm []byte
	norm = pbBytes(norm, 1, []byte("identity"))
	b := func(v bool) uint64 {
		if v {
			return 1
		}
		return 0
	}
	norm = pbUint(norm, 3, b(addDummyPrefix))
	norm = pbUint(norm, 4, b(removeExtraWS))
	m = pbBytes(m, 3, norm)
	return m
}

func TestTinySentencePiece(t *testing.T) {
	tok, err := FromSentencePiece(tinySPModel(true, true), false)
	if err != nil {
		t.Fatal(err)
	}
	// The user-defined <u> is cut out first (as llama.cpp's special-token
	// partition does), so "é z" is a fragment of its own, with its own "▁".
	ids, _ := tok.Encode(" ab  a<u>é z", EncodeOptions{})
	if got := strings.Join(pieces(tok, ids), "|"); got != "▁ab|▁|a|<u>|▁|é|▁|<unk>" {
		t.Errorf("pieces %s", got)
	}
	// Hostile and malformed models are errors, never panics.
	for _, bad := range [][]byte{
		nil, {0x0A}, {0x0A, 0x05, 0x0A}, {0x08}, {0x0B, 0x00}, {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F},
		pbBytes(nil, 1, []byte{0x12, 0x01}), // a piece whose score field has the wrong wire type
		pbBytes(nil, 2, pbUint(nil, 3, spBPE)),
	} {
		if _, err := FromSentencePiece(bad, false); err == nil {
			t.Errorf("FromSentencePiece(% x) succeeded", bad)
		}
	}
}

// FuzzSentencePieceModel feeds arbitrary bytes to the model parser and
// encodes with what it accepts.
func FuzzSentencePieceModel(f *testing.F) {
	f.Add(tinySPModel(true, true))
	f.Add(tinySPModel(false, false))
	if b, err := os.ReadFile(spmTestModel); err == nil {
		f.Add(b[:4096]) // the pieces; the whole file is a large seed
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, fairseq := range []bool{false, true} {
			tok, err := FromSentencePiece(data, fairseq)
			if err != nil {
				continue
			}
			checkEncodes(t, tok)
		}
	})
}

// checkEncodes encodes awkward texts and checks the ids.
func checkEncodes(t *testing.T, tok *Tokenizer) {
	t.Helper()
	for _, s := range []string{"", " ", "Hello  world ", "a\xffb", "<s></s><unk>", "藤 ＡＢ ①", "\x00\u3000\t\n"} {
		for _, opt := range []EncodeOptions{{}, {AddSpecial: true, ParseSpecial: true}} {
			ids, err := tok.Encode(s, opt)
			if err != nil {
				if !opt.AddSpecial {
					t.Fatalf("Encode(%q): %v", s, err)
				}
				continue
			}
			for _, id := range ids {
				if id < 0 || id >= tok.VocabSize() {
					t.Fatalf("Encode(%q): id %d out of range", s, id)
				}
			}
			_ = tok.Decode(ids)
			_ = tok.DecodeSpecial(ids)
		}
	}
}

// FuzzTokenizerJSON feeds arbitrary bytes to the tokenizer.json reader.
func FuzzTokenizerJSON(f *testing.F) {
	f.Add([]byte(`{"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0],["▁a",-1],["b",-2]]},"pre_tokenizer":{"type":"Metaspace","replacement":"▁","prepend_scheme":"always"},"normalizer":{"type":"Sequence","normalizers":[{"type":"Replace","pattern":{"Regex":" {2,}"},"content":" "}]},"post_processor":{"type":"TemplateProcessing","single":[{"Sequence":{"id":"A"}},{"SpecialToken":{"id":"</s>"}}],"special_tokens":{"</s>":{"ids":[2]}}},"added_tokens":[{"id":2,"content":"</s>","special":true}]}`))
	f.Add([]byte(`{"model":{"type":"WordPiece","unk_token":"[UNK]","vocab":{"[UNK]":0,"[CLS]":1,"[SEP]":2,"a":3,"##b":4}},"normalizer":{"type":"BertNormalizer","lowercase":false,"strip_accents":null},"pre_tokenizer":{"type":"BertPreTokenizer"},"post_processor":{"type":"BertProcessing","cls":["[CLS]",1],"sep":["[SEP]",2]}}`))
	f.Add([]byte(`{"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0]]},"pre_tokenizer":{"type":"Metaspace"},"normalizer":{"type":"Precompiled","precompiled_charsmap":"BAAAAAAAAAAA"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := FromTokenizerJSON(data)
		if err != nil {
			return
		}
		checkEncodes(t, tok)
	})
}

// FuzzCharsmap walks arbitrary charsmaps with arbitrary text.
func FuzzCharsmap(f *testing.F) {
	f.Add([]byte{4, 0, 0, 0, 0, 0, 0, 0, 'x', 0}, "a")
	f.Add([]byte{8, 0, 0, 0, 0, 4, 0, 0, 0x60, 1, 0, 0, 'x', 0}, "abc")
	if b, err := os.ReadFile(spmTestModel); err == nil {
		if m, err := parseSentencePiece(b); err == nil {
			f.Add(m.charsmap, "ＫＡＤＯＫＡＷＡ ㍻ ①")
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, s string) {
		m, err := parseCharsmap(data)
		if err != nil {
			return
		}
		for i := 0; i < len(s); i++ {
			n, repl := m.match(s[i:])
			if n < 0 || n > len(s)-i || len(repl) >= len(data) {
				t.Fatalf("match(%q) = %d, %d bytes", s[i:], n, len(repl))
			}
		}
	})
}

// ggufBytes writes metadata as a GGUF file image.
func ggufBytes(t testing.TB, kv []gguf.KV) []byte {
	var buf bytes.Buffer
	if err := gguf.Write(&buf, kv, nil, 0); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzGGUFVocab loads vocabularies from arbitrary GGUF files (seeded with
// small ones of every kind) and encodes with what loads.
func FuzzGGUFVocab(f *testing.F) {
	toks := []string{"<pad>", "</s>", "<unk>", "▁", "a", "▁a", "b", "<0x41>"}
	f.Add(ggufBytes(f, []gguf.KV{
		{Key: keyModel, Value: gguf.NewString("t5")},
		{Key: keyTokens, Value: gguf.NewStrings(toks)},
		{Key: keyScores, Value: gguf.NewFloat32s([]float32{0, 0, 0, -1, -2, -1.5, -3, -4})},
		{Key: keyTokenType, Value: gguf.NewInt32s([]int32{3, 3, 2, 1, 1, 1, 1, 6})},
		{Key: keyAddSpacePrefix, Value: gguf.NewBool(true)},
		{Key: keyRemoveExtraWS, Value: gguf.NewBool(true)},
		{Key: keyCharsmap, Value: gguf.NewUint8s([]byte{4, 0, 0, 0, 0, 0, 0, 0, 0, 0})},
	}))
	for _, pre := range []string{"qwen2", "tekken", "deepseek-v3", "kimi-k2"} {
		f.Add(ggufBytes(f, []gguf.KV{
			{Key: keyModel, Value: gguf.NewString("gpt2")},
			{Key: keyPre, Value: gguf.NewString(pre)},
			{Key: keyTokens, Value: gguf.NewStrings([]string{"a", "b", "ab", "Ġ", "Ċ"})},
			{Key: keyMerges, Value: gguf.NewStrings([]string{"a b"})},
		}))
	}
	f.Add(ggufBytes(f, []gguf.KV{
		{Key: keyModel, Value: gguf.NewString("bert")},
		{Key: keyTokens, Value: gguf.NewStrings([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "▁a", "b"})},
		{Key: keyLowercase, Value: gguf.NewBool(false)},
		{Key: keyCLS, Value: gguf.NewUint32(2)},
		{Key: keySEP, Value: gguf.NewUint32(3)},
		{Key: keyUNK, Value: gguf.NewUint32(1)},
	}))
	f.Fuzz(func(t *testing.T, data []byte) {
		gf, err := gguf.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		tok, err := FromGGUF(gf)
		if err != nil {
			return
		}
		checkEncodes(t, tok)
	})
}

// FuzzUGMViterbi compares the Unigram segmentation with the brute-force
// search from its definition on small random vocabularies.
func FuzzUGMViterbi(f *testing.F) {
	f.Add(uint64(1), "abcab")
	f.Add(uint64(7), "é文a▁b")
	f.Add(uint64(42), "\xffab\xe6")
	f.Fuzz(func(t *testing.T, seed uint64, s string) {
		if len(s) > 10 {
			s = s[:10]
		}
		r := rand.New(rand.NewPCG(seed, seed>>32))
		alphabet := []string{"a", "b", "c", "é", "文", "▁", "\xff", "\xe6"}
		seen := map[string]bool{}
		var p []string
		var sc []float32
		var ty []int32
		for len(p) < 2+r.IntN(10) {
			var w strings.Builder
			for n := 1 + r.IntN(3); n > 0; n-- {
				w.WriteString(alphabet[r.IntN(len(alphabet))])
			}
			if seen[w.String()] {
				continue
			}
			seen[w.String()] = true
			p = append(p, w.String())
			sc = append(sc, -float32(r.IntN(500))/100-0.01)
			ty = append(ty, []int32{typeNormal, typeNormal, typeUserDefined, typeUnused}[r.IntN(4)])
		}
		tok := baseUGM(t, p, sc, ty)
		want, ok := bruteForce(tok, s)
		if !ok {
			return
		}
		if got := tok.viterbiUGM(s, nil); !slices.Equal(got, want) {
			t.Fatalf("vocab %q %v %v, %q: got %q, want %q", p, sc, ty, s, pieces(tok, got), pieces(tok, want))
		}
	})
}

// FuzzPreRegex checks the expression matcher against llama.cpp's scanners
// for the GPT-2 and Llama 3 expressions, and that every pre-tokenizer's
// pieces cover the input.
func FuzzPreRegex(f *testing.F) {
	for _, s := range []string{"Hello world", "I'm 12345 'RE", " \t\n\n  x", "文字テスト!!", "e\u0301x~~y", "\u00a0\u3000a"} {
		f.Add(s)
	}
	gpt2 := []stage{regexStage(exprGPT2 + `|\s+`)}
	llama3 := []stage{regexStage(exprLlama3)}
	f.Fuzz(func(t *testing.T, s string) {
		if utf8.RuneCountInString(s) > 256 {
			return
		}
		if g, w := splitWith(gpt2, s), splitWith(preGPT2, s); !slices.Equal(g, w) {
			t.Fatalf("gpt-2 %q: matcher %q, scanner %q", s, g, w)
		}
		if g, w := splitWith(llama3, s), splitWith(preLlama3, s); !slices.Equal(g, w) {
			t.Fatalf("llama3 %q: matcher %q, scanner %q", s, g, w)
		}
		want := string(decodeCpts(s, nil))
		for _, name := range extraPres {
			p, _ := lookupPre(name)
			if got := strings.Join(splitWith(p.stages, s), ""); got != want {
				t.Fatalf("%s %q: pieces join to %q", name, s, got)
			}
		}
	})
}
