package tokenizer

import (
	"errors"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// mapMeta is metadata from a map, for vocabularies built in tests.
type mapMeta map[string]any

func (m mapMeta) Has(k string) bool                   { _, ok := m[k]; return ok }
func (m mapMeta) String(k string) (string, bool)      { v, ok := m[k].(string); return v, ok }
func (m mapMeta) Strings(k string) ([]string, bool)   { v, ok := m[k].([]string); return v, ok }
func (m mapMeta) Float32s(k string) ([]float32, bool) { v, ok := m[k].([]float32); return v, ok }
func (m mapMeta) Int32s(k string) ([]int32, bool)     { v, ok := m[k].([]int32); return v, ok }
func (m mapMeta) Uint(k string) (uint64, bool)        { v, ok := m[k].(uint64); return v, ok }
func (m mapMeta) Bool(k string) (bool, bool)          { v, ok := m[k].(bool); return v, ok }
func (m mapMeta) Bytes(k string) ([]byte, bool)       { v, ok := m[k].([]byte); return v, ok }
func (m mapMeta) Int(k string) (int64, bool) {
	switch v := m[k].(type) {
	case int64:
		return v, true
	case uint64:
		return int64(v), v <= 1<<63-1
	}
	return 0, false
}

// tinySPM is a SentencePiece vocabulary small enough to reason about by hand.
func tinySPM() mapMeta {
	toks := []string{"<unk>", "<s>", "</s>"}
	types := []int32{typeUnknown, typeControl, typeControl}
	scores := []float32{0, 0, 0}
	for b := 0; b < 256; b++ {
		toks = append(toks, "<0x"+strings.ToUpper(hex2(byte(b)))+">")
		types = append(types, typeByte)
		scores = append(scores, 0)
	}
	for i, s := range []string{"▁", "a", "b", "c", "▁a", "ab", "▁ab", "bc", "abc", "<tag>"} {
		toks = append(toks, s)
		types = append(types, typeNormal)
		scores = append(scores, -float32(i+1))
	}
	types[len(types)-1] = typeUserDefined
	return mapMeta{
		keyModel:     "llama",
		keyTokens:    toks,
		keyTokenType: types,
		keyScores:    scores,
	}
}

func hex2(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}

func mustBuild(t *testing.T, md mapMeta) *Tokenizer {
	t.Helper()
	tok, err := fromMetadata(md)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func pieces(tok *Tokenizer, ids []int) []string {
	var s []string
	for _, id := range ids {
		s = append(s, tok.Piece(id))
	}
	return s
}

func TestSPMMergesByScore(t *testing.T) {
	tok := mustBuild(t, tinySPM())
	for _, c := range []struct {
		in   string
		want string // pieces joined by |
	}{
		// "▁a" (-5) outranks "ab" (-6), then ▁a+b forms "▁ab" (-7).
		{"ab", "▁ab"},
		// The same, after which ▁ab+c is no token; "bc" (-8) is stale.
		{"abc", "▁ab|c"},
		{"c", "▁|c"},
		{"", ""},
		// "d" is not in the vocabulary: byte fallback.
		{"d", "▁|<0x64>"},
		// User-defined tokens are cut out even without ParseSpecial, and
		// the text after them gets the leading space again.
		{"a<tag>b", "▁a|<tag>|▁|b"},
	} {
		ids, err := tok.Encode(c.in, EncodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(pieces(tok, ids), "|"); got != c.want {
			t.Errorf("Encode(%q) = %s, want %s", c.in, got, c.want)
		}
	}
	ids, _ := tok.Encode("ab", EncodeOptions{AddSpecial: true})
	if len(ids) == 0 || ids[0] != 1 {
		t.Errorf("AddSpecial: %v does not start with BOS", ids)
	}
	// Control tokens are text unless ParseSpecial.
	ids, _ = tok.Encode("<s>", EncodeOptions{})
	if len(ids) != 4 { // ▁ < s >  -> ▁ and three byte tokens
		t.Errorf("Encode(<s>) = %v", pieces(tok, ids))
	}
	ids, _ = tok.Encode("<s>a", EncodeOptions{ParseSpecial: true})
	if got := strings.Join(pieces(tok, ids), "|"); got != "<s>|▁a" {
		t.Errorf("Encode(<s>a, ParseSpecial) = %s", got)
	}
}

func TestSPMNoSpacePrefix(t *testing.T) {
	md := tinySPM()
	md[keyAddSpacePrefix] = false
	tok := mustBuild(t, md)
	ids, _ := tok.Encode("ab", EncodeOptions{})
	if got := strings.Join(pieces(tok, ids), "|"); got != "ab" {
		t.Errorf("Encode(ab) without space prefix = %s, want ab", got)
	}
	if got := tok.Decode(ids); got != "ab" {
		t.Errorf("Decode = %q", got)
	}
}

func TestLoadErrors(t *testing.T) {
	bpe := func() mapMeta {
		return mapMeta{
			keyModel:  "gpt2",
			keyPre:    "gpt-2",
			keyTokens: []string{"a", "b", "ab"},
			keyMerges: []string{"a b"},
		}
	}
	for _, c := range []struct {
		name string
		edit func(m mapMeta)
		key  string
	}{
		{"no model", func(m mapMeta) { delete(m, keyModel) }, keyModel},
		{"unknown model", func(m mapMeta) { m[keyModel] = "rwkv" }, keyModel},
		{"unknown pre", func(m mapMeta) { m[keyPre] = "chameleon" }, keyPre},
		{"no tokens", func(m mapMeta) { delete(m, keyTokens) }, keyTokens},
		{"empty tokens", func(m mapMeta) { m[keyTokens] = []string{} }, keyTokens},
		{"no merges", func(m mapMeta) { delete(m, keyMerges) }, keyMerges},
		{"short scores", func(m mapMeta) { m[keyScores] = []float32{1} }, keyScores},
		{"short types", func(m mapMeta) { m[keyTokenType] = []int32{1, 1} }, keyTokenType},
		{"duplicate token", func(m mapMeta) { m[keyTokens] = []string{"a", "b", "a"} }, keyTokens},
		{"model not a string", func(m mapMeta) { m[keyModel] = true }, keyModel},
		{"tokens not strings", func(m mapMeta) { m[keyTokens] = []float32{1} }, keyTokens},
		{"merges not strings", func(m mapMeta) { m[keyMerges] = "a b" }, keyMerges},
		{"scores not floats", func(m mapMeta) { m[keyScores] = []string{"1", "2", "3"} }, keyScores},
		{"types not ints", func(m mapMeta) { m[keyTokenType] = "normal" }, keyTokenType},
		{"bos not an int", func(m mapMeta) { m[keyBOS] = "1" }, keyBOS},
		{"add_bos not a bool", func(m mapMeta) { m[keyAddBOS] = uint64(1) }, keyAddBOS},
		{"pre not a string", func(m mapMeta) { m[keyPre] = uint64(1) }, keyPre},
	} {
		m := bpe()
		c.edit(m)
		_, err := fromMetadata(m)
		t.Logf("%s: %v", c.name, err)
		if err == nil || !errors.Is(err, ErrVocab) || !strings.Contains(err.Error(), c.key) {
			t.Errorf("%s: err = %v, want ErrVocab naming %s", c.name, err, c.key)
		}
	}
	// A negative id means "none"; an out-of-range one keeps the default.
	m := bpe()
	m[keyBOS], m[keyEOS] = int64(-1), uint64(99)
	if tok := mustBuild(t, m); tok.BOS() != -1 || tok.EOS() != -1 {
		t.Errorf("BOS %d EOS %d, want -1 -1", tok.BOS(), tok.EOS())
	}
	tok := mustBuild(t, bpe())
	ids, err := tok.Encode("ab ab", EncodeOptions{})
	if err != nil || strings.Join(pieces(tok, ids), "|") != "ab|ab" {
		// " ab" has no token for "Ġ": the unknown byte is dropped, as llama.cpp does.
		t.Errorf("Encode = %v %v", pieces(tok, ids), err)
	}
	if tok.BOS() != -1 || tok.EOS() != -1 {
		// llama.cpp's default BOS/EOS 11 is out of range here.
		t.Errorf("BOS %d EOS %d, want -1", tok.BOS(), tok.EOS())
	}
	if _, err := FromGGUF(nil); !errors.Is(err, ErrVocab) {
		t.Errorf("FromGGUF(nil) = %v", err)
	}
}

func TestCleanSpaces(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{" ", " "},
		{"Hello , world !", "Hello, world!"},
		{" ?", "?"},
		{"a . b ?", "a. b?"},
		{"a ' b", "a'b"},
		{"a ' ' b", "a'' b"}, // the NUL left by the first match blocks the second
		{"I 'm and it 's", "I'm and it's"},
		{"we 're and you 've", "we're and you've"},
		{"don 't he 'd you 'll", "don 't he 'd you 'll"},
		{"x 'q", "x 'q"},
		{"end '", "end '"},
	} {
		if got := string(cleanSpaces([]byte(c.in))); got != c.want {
			t.Errorf("cleanSpaces(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// refVocabs loads the six reference vocabularies once.
var refVocabs = sync.OnceValues(func() (map[string]*Tokenizer, error) {
	m := map[string]*Tokenizer{}
	for _, name := range vocabNames {
		tok, err := tokenizerFromFile(filepath.Join(shared, "testdata/tokenizer", "ggml-vocab-"+name+".gguf"))
		if err != nil {
			return nil, err
		}
		m[name] = tok
	}
	return m, nil
})

func vocabs(t testing.TB) map[string]*Tokenizer {
	t.Helper()
	sharedPath(t, "testdata/tokenizer")
	m, err := refVocabs()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSpecialTokens(t *testing.T) {
	v := vocabs(t)
	for _, c := range []struct {
		name      string
		model     string
		bos, eos  int
		addBOS    bool
		eog, notE []int
	}{
		{"llama-spm", "llama", 1, 2, true, []int{2}, []int{0, 1, 13}},
		{"phi-3", "llama", 1, 32000, true, []int{32000, 32007}, []int{1, 2, 32001, 32010}}, // "</s>" is user-defined here
		{"gpt-2", "gpt2", 50256, 50256, false, []int{50256}, []int{0, 198}},
		{"bert-bge", "bert", 101, -1, true, nil, []int{101, 102, 100}},
		{"deepseek-llm", "gpt2", 100000, 100001, true, []int{100001}, []int{100000}},
		{"falcon", "gpt2", 11, 11, false, []int{11}, []int{0, 1}},
	} {
		tok := v[c.name]
		if tok.Model() != c.model || tok.BOS() != c.bos || tok.EOS() != c.eos || tok.AddBOS() != c.addBOS {
			t.Errorf("%s: model %q bos %d eos %d addBOS %v, want %q %d %d %v", c.name,
				tok.Model(), tok.BOS(), tok.EOS(), tok.AddBOS(), c.model, c.bos, c.eos, c.addBOS)
		}
		for _, id := range c.eog {
			if !tok.IsEOG(id) {
				t.Errorf("%s: IsEOG(%d %q) = false", c.name, id, tok.Piece(id))
			}
		}
		for _, id := range c.notE {
			if tok.IsEOG(id) {
				t.Errorf("%s: IsEOG(%d %q) = true", c.name, id, tok.Piece(id))
			}
		}
		if tok.IsEOG(-1) || tok.IsEOG(tok.VocabSize()) || tok.Piece(-1) != "" || tok.Piece(tok.VocabSize()) != "" {
			t.Errorf("%s: out-of-range ids not handled", c.name)
		}
	}
	if got := v["llama-spm"].Piece(13); got != "<0x0A>" {
		t.Errorf("Piece(13) = %q", got)
	}
}

func TestAddSpecial(t *testing.T) {
	v := vocabs(t)
	plain := func(name, s string) []int {
		ids, err := v[name].Encode(s, EncodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	for _, c := range []struct {
		name         string
		before, afer []int
	}{
		{"llama-spm", []int{1}, nil},
		{"gpt-2", nil, nil},
		{"bert-bge", []int{101}, []int{102}},
		{"deepseek-llm", []int{100000}, nil},
	} {
		got, err := v[c.name].Encode("Hello world", EncodeOptions{AddSpecial: true})
		if err != nil {
			t.Fatal(err)
		}
		want := append(append(append([]int{}, c.before...), plain(c.name, "Hello world")...), c.afer...)
		if !equalIDs(got, want) {
			t.Errorf("%s: AddSpecial gives %v, want %v", c.name, got, want)
		}
	}
}

func TestParseSpecial(t *testing.T) {
	v := vocabs(t)
	phi := v["phi-3"]
	plain := func(s string) []int {
		ids, _ := phi.Encode(s, EncodeOptions{})
		return ids
	}
	prompt := "<|user|>\nHello<|end|>\n<|assistant|>\n"
	got, _ := phi.Encode(prompt, EncodeOptions{AddSpecial: true, ParseSpecial: true})
	// Phi-3's special tokens swallow the whitespace after them (llama.cpp
	// sets rstrip for models named phi-3), and the text after a special
	// token gets SentencePiece's leading space.
	want := append(append([]int{1, 32010}, plain("Hello")...), 32007, 32001)
	if !equalIDs(got, want) {
		t.Errorf("phi-3 chat prompt = %v, want %v", got, want)
	}
	if got, _ := phi.Encode(prompt, EncodeOptions{}); equalIDs(got, want[1:]) || containsID(got, 32010) {
		t.Errorf("without ParseSpecial the markers must stay text: %v", got)
	}
	// With specials shown, "<s>" is the first piece, so " Hello" keeps its
	// space (as in llama.cpp).
	if s := phi.DecodeSpecial(want); s != "<s><|user|> Hello<|end|><|assistant|>" {
		t.Errorf("DecodeSpecial = %q", s)
	}
	if s := phi.Decode(want); s != "Hello" {
		t.Errorf("Decode = %q", s)
	}

	gpt := v["gpt-2"]
	got, _ = gpt.Encode("a<|endoftext|>b", EncodeOptions{ParseSpecial: true})
	if !equalIDs(got, []int{64, 50256, 65}) {
		t.Errorf("gpt-2 with <|endoftext|> = %v", got)
	}
	got, _ = gpt.Encode("a<|endoftext|>b", EncodeOptions{})
	if containsID(got, 50256) {
		t.Errorf("gpt-2 without ParseSpecial = %v", got)
	}
}

func containsID(ids []int, id int) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func TestDecode(t *testing.T) {
	v := vocabs(t)
	for _, c := range []struct {
		name, in, want string
	}{
		{"gpt-2", "Hello , world ! I 'm here .", "Hello, world! I'm here."}, // clean-up of spaces
		{"deepseek-llm", "Hello , world !", "Hello , world !"},              // deepseek keeps them
		{"bert-bge", "Hello, World! Führer", "hello, world! fuhrer"},
		{"llama-spm", "  two leading spaces", "  two leading spaces"},
		{"falcon", "3333333 x", "3333333 x"},
	} {
		ids, err := v[c.name].Encode(c.in, EncodeOptions{AddSpecial: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := v[c.name].Decode(ids); got != c.want {
			t.Errorf("%s: Decode(Encode(%q)) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
	if got := v["llama-spm"].Decode([]int{-5, 1 << 30}); got != "" {
		t.Errorf("Decode of bad ids = %q", got)
	}
}

func TestStreamDecoderUTF8(t *testing.T) {
	v := vocabs(t)
	tok := v["llama-spm"]
	text := "🦙 и 😁我想在apple工作"
	ids, _ := tok.Encode(text, EncodeOptions{})
	d := tok.NewStreamDecoder()
	var sb strings.Builder
	held := 0
	for _, id := range ids {
		s := d.Push(id)
		if !utf8.ValidString(s) {
			t.Fatalf("Push(%d) returned invalid UTF-8 %q", id, s)
		}
		if s == "" {
			held++
		}
		sb.WriteString(s)
	}
	sb.WriteString(d.Flush())
	if sb.String() != " "+text {
		t.Errorf("stream = %q, want %q", sb.String(), " "+text)
	}
	if held == 0 {
		t.Error("no byte token was held back; the test text should need byte fallback")
	}
	// An incomplete character at the end comes out of Flush as is.
	d = tok.NewStreamDecoder()
	if s := d.Push(int(tok.byteTok[0xF0])); s != "" {
		t.Errorf("Push(<0xF0>) = %q", s)
	}
	if s := d.Flush(); s != "\xF0" {
		t.Errorf("Flush = %q", s)
	}
	// A byte that can never start a character is not held back.
	if s := d.Push(int(tok.byteTok[0x80])); s != "\x80" {
		t.Errorf("Push(<0x80>) = %q", s)
	}
}

func TestCompleteUTF8(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{"", 0}, {"a", 1}, {"é", 2}, {"a\xC3", 1}, {"\xE2\x82", 0}, {"a\xE2\x82\xAC", 4},
		{"\xF0\x9F\xA6", 0}, {"\xF0\x9F\xA6\x99", 4}, {"\x80\x80\x80\x80", 4}, {"a\xFF", 2},
	} {
		if got := completeUTF8([]byte(c.in)); got != c.want {
			t.Errorf("completeUTF8(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestNFDFirst(t *testing.T) {
	for _, c := range []struct{ in, want rune }{
		{'a', 'a'}, {'é', 'e'}, {'Å', 'A'}, {'ǖ', 'u'}, {'한', 0x1112}, {'Ω', 'Ω'}, {0x2126, 0x3A9}, {'中', '中'},
	} {
		if got := nfdFirstOf(c.in); got != c.want {
			t.Errorf("nfdFirstOf(%U) = %U, want %U", c.in, got, c.want)
		}
	}
}

func TestCptFlags(t *testing.T) {
	for _, c := range []struct {
		r    rune
		want uint16
	}{
		{'a', flagLetter}, {'5', flagNumber}, {' ', flagSeparator | flagWhitespace}, {'\n', flagControl | flagWhitespace},
		{'!', flagPunctuation}, {'$', flagSymbol}, {'~', flagSymbol}, {0x301, flagMark}, {0x3000, flagSeparator | flagWhitespace},
		{0x85, flagControl | flagWhitespace}, {0x200D, flagControl}, {0xE000, flagControl}, {0x378, flagUndefined},
		{0x2EBF0, flagLetter}, {0x31EF, flagSymbol}, {0x110000, flagUndefined},
	} {
		if got := cptFlags(c.r); got != c.want {
			t.Errorf("cptFlags(%U) = %#x, want %#x", c.r, got, c.want)
		}
	}
}

func TestDecodeCpts(t *testing.T) {
	got := decodeCpts("a\xC3\xA9\xFF\xE2\x82\xED\xA0\x80\xC0\x80\xF4\x90\x80\x80", nil)
	want := []rune{'a', 'é', 0xFFFD, 0xFFFD, 0xFFFD, 0xD800, 0, 0xFFFD, 0xFFFD, 0xFFFD, 0xFFFD}
	if len(got) != len(want) {
		t.Fatalf("decodeCpts = %U, want %U", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("decodeCpts = %U, want %U", got, want)
		}
	}
	if b := appendCpt(nil, 0xD800); string(b) != "\xED\xA0\x80" {
		t.Errorf("appendCpt(U+D800) = %q", b)
	}
}

func TestMergePriority(t *testing.T) {
	scores := []float32{3.5, 1, 0, float32(math.Copysign(0, -1)), -1e-30, -1, -1000, -1e30}
	for i := 0; i+1 < len(scores); i++ {
		a, b := spmPriority(scores[i]), spmPriority(scores[i+1])
		if scores[i] == scores[i+1] {
			if a != b {
				t.Errorf("spmPriority(%v) != spmPriority(%v)", scores[i], scores[i+1])
			}
		} else if a >= b {
			t.Errorf("spmPriority(%v) = %d, not before spmPriority(%v) = %d", scores[i], a, scores[i+1], b)
		}
	}
	var q mergeQueue
	for i, p := range []uint32{5, 1, 5, 0, 1, 7} {
		q.push(p, int32(i), int32(i+1), 2)
	}
	var got []int32
	for len(q) > 0 {
		got = append(got, q.pop().left())
	}
	want := []int32{3, 1, 4, 0, 2, 5} // by priority, then leftmost
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("pop order %v, want %v", got, want)
		}
	}
}
