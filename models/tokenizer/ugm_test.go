package tokenizer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/models/gguf"
)

// testdata/spm/test_model.model is sentencepiece's python/test/test_model.model
// (github.com/google/sentencepiece at 2734490, Apache-2.0, see
// testdata/spm/README): a 1000-piece Unigram model trained on "Botchan" with
// the NFKC precompiled charsmap, add_dummy_prefix and
// remove_extra_whitespaces on, the same layout as XLM-R's
// sentencepiece.bpe.model.
const spmTestModel = "testdata/spm/test_model.model"

// ggufFromMeta writes metadata as a vocabulary-only GGUF with the gguf
// writer and reads it back, so that the tokenizer under test is loaded by
// FromGGUF from a real file.
func ggufFromMeta(t testing.TB, md hfMeta) *gguf.File {
	t.Helper()
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kv := []gguf.KV{{Key: "general.architecture", Value: gguf.NewString("t5encoder")}}
	for _, k := range keys {
		var v gguf.Value
		switch x := md[k].(type) {
		case string:
			v = gguf.NewString(x)
		case []string:
			v = gguf.NewStrings(x)
		case []float32:
			v = gguf.NewFloat32s(x)
		case []int32:
			v = gguf.NewInt32s(x)
		case []byte:
			v = gguf.NewUint8s(x)
		case uint64:
			v = gguf.NewUint32(uint32(x))
		case int64:
			v = gguf.NewInt32(int32(x))
		case bool:
			v = gguf.NewBool(x)
		default:
			t.Fatalf("key %s: type %T", k, x)
		}
		kv = append(kv, gguf.KV{Key: k, Value: v})
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

// spmTestGGUF loads test_model.model through a GGUF written the way
// llama.cpp's converter writes a "t5" vocabulary.
func spmTestGGUF(t testing.TB, edit func(hfMeta)) *Tokenizer {
	t.Helper()
	data, err := os.ReadFile(spmTestModel)
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseSentencePiece(data)
	if err != nil {
		t.Fatal(err)
	}
	md, err := m.metadata(false)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(md)
	}
	tok, err := FromGGUF(ggufFromMeta(t, md))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestSentencePieceModelParse(t *testing.T) {
	data, err := os.ReadFile(spmTestModel)
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseSentencePiece(data)
	if err != nil {
		t.Fatal(err)
	}
	// Values from sentencepiece's python test (test_load) and the model.
	if len(m.pieces) != 1000 || m.modelType != spUnigram || m.unkID != 0 || m.bosID != 1 || m.eosID != 2 || m.padID != -1 {
		t.Errorf("pieces %d type %d unk %d bos %d eos %d pad %d", len(m.pieces), m.modelType, m.unkID, m.bosID, m.eosID, m.padID)
	}
	if m.pieces[0].piece != "<unk>" || m.pieces[1].piece != "<s>" || m.pieces[2].piece != "</s>" || m.pieces[0].typ != typeUnknown || m.pieces[1].typ != typeControl {
		t.Errorf("first pieces %+v", m.pieces[:3])
	}
	if m.normName != "nfkc" || len(m.charsmap) != 237484 || !m.addDummyPrefix || !m.removeExtraWS || !m.escapeWS {
		t.Errorf("normalizer %q %d %v %v %v", m.normName, len(m.charsmap), m.addDummyPrefix, m.removeExtraWS, m.escapeWS)
	}
}

// TestUGMSentencePieceVectors checks test_model.model against the outputs
// sentencepiece's own tests expect of it (python/test/sentencepiece_test.py)
// and of the NFKC normaliser (src/normalizer_test.cc, the cases that do not
// depend on nmt_nfkc's extra rules).
func TestUGMSentencePieceVectors(t *testing.T) {
	tok := spmTestGGUF(t, nil)
	if tok.Model() != "t5" || tok.VocabSize() != 1000 || tok.unk != 0 || tok.eos != 2 || tok.bos != 1 || tok.AddBOS() || !tok.addEOS {
		t.Fatalf("model %s vocab %d unk %d bos %d eos %d addBOS %v addEOS %v", tok.Model(), tok.VocabSize(), tok.unk, tok.bos, tok.eos, tok.AddBOS(), tok.addEOS)
	}
	// test_override_normalize_spec.
	ids, _ := tok.Encode(" hello  world ", EncodeOptions{})
	if got := strings.Join(pieces(tok, ids), "|"); got != "▁he|ll|o|▁world" {
		t.Errorf("Encode(' hello  world ') = %s, want ▁he|ll|o|▁world", got)
	}
	// test_roundtrip (the decoded text is the input).
	const text = "I saw a girl with a telescope."
	ids, _ = tok.Encode(text, EncodeOptions{})
	if got := tok.Decode(ids); got != text {
		t.Errorf("Decode(Encode(%q)) = %q", text, got)
	}
	// The unknown-piece case of test_sample_encode: 藤 is not in the
	// vocabulary: "▁" then <unk>.
	ids, _ = tok.Encode("藤", EncodeOptions{})
	if len(ids) != 2 || tok.Piece(ids[0]) != "▁" || ids[1] != 0 {
		t.Errorf("Encode(藤) = %v %q", ids, pieces(tok, ids))
	}
	// test_new_api_init with add_eos: EOS appended by AddSpecial.
	ids, _ = tok.Encode("hello world", EncodeOptions{AddSpecial: true})
	if ids[len(ids)-1] != 2 || ids[0] == 1 {
		t.Errorf("Encode(hello world, AddSpecial) = %v, want no BOS and </s> last", ids)
	}

	norm := func(tok *Tokenizer, s string) string {
		return string(tok.ugm.normalize(s, tok.addSpacePrefix, nil))
	}
	for _, c := range []struct{ in, want string }{
		// test_normalize.
		{"ＫＡＤＯＫＡＷＡABC", "▁KADOKAWAABC"},
		{"㍻", "▁平成"},
		// NormalizerTest.NormalizeTest.
		{"", ""},
		{"      ", ""},
		{"　", ""},
		{"ABC", "▁ABC"},
		{" ABC ", "▁ABC"},
		{" A  B  C ", "▁A▁B▁C"},
		{"   ABC   ", "▁ABC"},
		{"   ＡＢＣ   ", "▁ABC"},
		{"　　ABC", "▁ABC"},
		{"　　ABC　　", "▁ABC"},
		{"①②③", "▁123"},
		{"㍿", "▁株式会社"},
		{" ｸﾞｰｸﾞﾙ ", "▁グーグル"},
		{" I  saw a　 　girl　　", "▁I▁saw▁a▁girl"},
	} {
		if got := norm(tok, c.in); got != c.want {
			t.Errorf("normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// test_normalizer with add_dummy_prefix and escape_whitespaces on,
	// remove_extra_whitespaces off.
	keep := spmTestGGUF(t, func(md hfMeta) { md[keyRemoveExtraWS] = false })
	if got := norm(keep, "hello  world"); got != "▁hello▁▁world" {
		t.Errorf("without remove_extra_whitespaces: %q", got)
	}
	// NormalizerTest.NormalizeWithoutRemoveExtraWhitespacesTest, where
	// llama.cpp agrees with sentencepiece.
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"ABC", "▁ABC"},
		{" ABC ", "▁▁ABC▁"},
		{"  A  B  C  ", "▁▁▁A▁▁B▁▁C▁▁"},
		// Where they differ: sentencepiece prepends "▁" to any non-empty
		// text ("      " -> 7 "▁", "　" -> 2), llama.cpp only before the
		// first non-space character.
		{"      ", "▁▁▁▁▁▁"},
		{"　", "▁"},
	} {
		if got := norm(keep, c.in); got != c.want {
			t.Errorf("normalize without remove_extra_whitespaces (%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// NormalizeWithoutDummyPrefixTest: llama.cpp differs from sentencepiece
	// whenever remove_extra_whitespaces is on: it puts "▁" before every
	// word, the first one included ("ABC" -> "▁ABC" where sentencepiece
	// gives "ABC").
	noPrefix := spmTestGGUF(t, func(md hfMeta) { md[keyAddSpacePrefix] = false })
	for _, c := range []struct{ in, want string }{
		{"", ""}, {"      ", ""}, {"ABC", "▁ABC"}, {" A  B  C ", "▁A▁B▁C"},
	} {
		if got := norm(noPrefix, c.in); got != c.want {
			t.Errorf("normalize without dummy prefix (%q) = %q, want %q (llama.cpp's rule)", c.in, got, c.want)
		}
	}
	neither := spmTestGGUF(t, func(md hfMeta) { md[keyAddSpacePrefix], md[keyRemoveExtraWS] = false, false })
	if got := norm(neither, " a b"); got != "▁a▁b" {
		t.Errorf("no prefix, no merging: %q", got)
	}
}

// baseUGM builds a vocabulary the way sentencepiece's unigram_model_test.cc
// builds its models (MakeBaseModelProto: <unk> 0, <s> 1, </s> 2, then the
// pieces), with no normaliser and no space prefix.
func baseUGM(t testing.TB, pieces []string, scores []float32, types []int32) *Tokenizer {
	t.Helper()
	md := hfMeta{
		keyModel:          "t5",
		keyTokens:         append([]string{"<unk>", "<s>", "</s>"}, pieces...),
		keyScores:         append([]float32{0, 0, 0}, scores...),
		keyTokenType:      append([]int32{typeUnknown, typeControl, typeControl}, types...),
		keyUNK:            uint64(0),
		keyAddSpacePrefix: false,
	}
	tok, err := fromMetadata(md)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func normalTypes(n int) []int32 {
	ty := make([]int32, n)
	for i := range ty {
		ty[i] = typeNormal
	}
	return ty
}

// segment returns the pieces of the Viterbi segmentation of already
// normalised text, "<unk>" for the unknown token.
func segment(tok *Tokenizer, s string) string {
	return strings.Join(pieces(tok, tok.viterbiUGM(s, nil)), " ")
}

// TestUGMViterbiSpec runs sentencepiece's Unigram test cases
// (src/unigram_model_test.cc: LatticeTest.ViterbiTest, EncodeTest, the
// first case of EncodeWithUnusedTest) through the segmentation. The one
// rule where llama.cpp departs from sentencepiece is stated with each case:
// a run of unknown characters is one <unk> token.
func TestUGMViterbiSpec(t *testing.T) {
	// ViterbiTest: scores A 0, B 0, C 0, then AB 2, BC 5, ABC 10 added.
	for _, c := range []struct {
		pieces []string
		scores []float32
		want   string
	}{
		{[]string{"A", "B", "C"}, []float32{0, 0, 0}, "A B C"},
		{[]string{"A", "B", "C", "AB"}, []float32{0, 0, 0, 2}, "AB C"},
		{[]string{"A", "B", "C", "AB", "BC"}, []float32{0, 0, 0, 2, 5}, "A BC"},
		{[]string{"A", "B", "C", "AB", "BC", "ABC"}, []float32{0, 0, 0, 2, 5, 10}, "ABC"},
	} {
		tok := baseUGM(t, c.pieces, c.scores, normalTypes(len(c.pieces)))
		if got := segment(tok, "ABC"); got != c.want {
			t.Errorf("ViterbiTest %v: %q, want %q", c.pieces, got, c.want)
		}
	}

	// EncodeTest: ABC, abcdabcd, q and r are user-defined.
	p := []string{"ab", "cd", "abc", "a", "b", "c", "ABC", "abcdabcd", "q", "r", "qr"}
	s := []float32{0, -0.1, -0.2, -0.3, -0.4, -0.5, -0.5, -0.5, -0.5, -0.5, -0.5}
	ty := normalTypes(len(p))
	for _, i := range []int{6, 7, 8, 9} {
		ty[i] = typeUserDefined
	}
	tok := baseUGM(t, p, s, ty)
	for _, c := range []struct{ in, want string }{
		{"abc", "abc"},
		{"AB", "<unk>"}, // sentencepiece: A B, two unknowns
		{"abcd", "ab cd"},
		{"abcc", "abc c"},
		{"xabcabaabcdd", "<unk> abc ab a ab cd <unk>"}, // sentencepiece: x ... d
		{"xyz東京", "<unk>"},                             // sentencepiece: five unknowns
		{"ABC", "ABC"},
		{"abABCcd", "ab ABC cd"},
		{"ababcdabcdcd", "ab abcdabcd cd"},
		{"abqrcd", "ab q r cd"},
	} {
		if got := segment(tok, c.in); got != c.want {
			t.Errorf("EncodeTest %q: %q, want %q", c.in, got, c.want)
		}
	}

	// EncodeWithUnusedTest, no unused piece. (With unused pieces
	// sentencepiece leaves them out of the lattice; llama.cpp keeps them.)
	p = []string{"abcd", "abc", "ab", "cd", "a", "b", "c", "d"}
	s = []float32{10, 5, 2, 1, 0, 0, 0, 0}
	tok = baseUGM(t, p, s, normalTypes(len(p)))
	if got := segment(tok, "abcd"); got != "abcd" {
		t.Errorf("EncodeWithUnusedTest: %q", got)
	}
	ty = normalTypes(len(p))
	ty[0] = typeUnused
	tok = baseUGM(t, p, s, ty)
	if got := segment(tok, "abcd"); got != "abcd" {
		t.Errorf("an unused piece takes part, as in llama.cpp: %q", got)
	}
	// VerifyOutputsEquivalent: abcd 10 against ab 6 + cd 4.
	tok = baseUGM(t, p, []float32{10, 5, 6, 4, 4, 1.9, 2, 1}, normalTypes(len(p)))
	if got := segment(tok, "abcd"); got != "abcd" {
		t.Errorf("VerifyOutputsEquivalent: %q", got)
	}
}

// bruteForce is the Unigram segmentation from its definition: among all
// ways to cut s into vocabulary pieces (normal, user-defined scoring 0,
// unused) and single unknown characters (allowed where no piece is exactly
// that character, scoring unkScore), the one with the highest total; then
// runs of unknowns merged. ok is false when the best total is not unique.
func bruteForce(tok *Tokenizer, s string) (ids []int, ok bool) {
	type res struct {
		ids   []int
		score float64
	}
	var all []res
	var rec func(pos int, ids []int, score float64)
	rec = func(pos int, ids []int, score float64) {
		if pos == len(s) {
			all = append(all, res{slices.Clone(ids), score})
			return
		}
		w := min(utf8Len(s[pos]), len(s)-pos)
		single := false
		for end := pos + 1; end <= len(s); end++ {
			id, found := tok.ids.get(s[pos:end])
			if !found || tok.attrs[id]&(attrNormal|attrUserDefined|attrUnused) == 0 {
				continue
			}
			if end-pos == w {
				single = true
			}
			if end < len(s) && end > pos && !boundary(s, pos, end) {
				continue // a piece ending inside a character leads nowhere
			}
			sc := float64(tok.scores[id])
			if tok.attrs[id]&attrUserDefined != 0 {
				sc = 0
			}
			rec(end, append(ids, int(id)), score+sc)
		}
		if !single {
			rec(pos+w, append(ids, tok.unk), score+float64(tok.ugm.unkScore))
		}
	}
	rec(0, nil, 0)
	sort.SliceStable(all, func(a, b int) bool { return all[a].score > all[b].score })
	if len(all) > 1 && all[0].score == all[1].score {
		return nil, false
	}
	for _, id := range all[0].ids {
		if id == tok.unk && len(ids) > 0 && ids[len(ids)-1] == tok.unk {
			continue
		}
		ids = append(ids, id)
	}
	return ids, true
}

// boundary reports whether end is reached from pos by whole characters.
func boundary(s string, pos, end int) bool {
	for pos < end {
		pos += utf8Len(s[pos])
	}
	return pos == end
}

// TestUGMBruteForce compares the segmentation with bruteForce on random
// vocabularies and strings.
func TestUGMBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []string{"a", "b", "c", "é", "文", "▁"}
	word := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	checked := 0
	for trial := 0; trial < 300; trial++ {
		seen := map[string]bool{}
		var p []string
		var s []float32
		var ty []int32
		for len(p) < 3+r.IntN(12) {
			w := word(1 + r.IntN(3))
			if seen[w] {
				continue
			}
			seen[w] = true
			p = append(p, w)
			s = append(s, -float32(r.IntN(1000))/100-0.01)
			ty = append(ty, []int32{typeNormal, typeNormal, typeNormal, typeUserDefined, typeUnused}[r.IntN(5)])
		}
		tok := baseUGM(t, p, s, ty)
		for k := 0; k < 10; k++ {
			in := word(r.IntN(7))
			want, ok := bruteForce(tok, in)
			if !ok {
				continue
			}
			checked++
			if got := tok.viterbiUGM(in, nil); !slices.Equal(got, want) {
				t.Fatalf("vocab %q %v %v, %q: got %q, want %q", p, s, ty, in, pieces(tok, got), pieces(tok, want))
			}
		}
	}
	t.Logf("%d segmentations checked", checked)
}

// TestUGMLlamaCppRules pins the rest of llama.cpp's UGM behaviour.
func TestUGMLlamaCppRules(t *testing.T) {
	tok := spmTestGGUF(t, nil)
	// Invalid UTF-8 becomes U+FFFD, an unknown character.
	ids, _ := tok.Encode("a\xffb", EncodeOptions{})
	if !slices.Contains(ids, tok.unk) {
		t.Errorf("Encode(a\\xffb) = %q", pieces(tok, ids))
	}
	// Decoding drops the leading space of the first piece.
	ids, _ = tok.Encode("the cat", EncodeOptions{})
	if got := tok.Decode(ids); got != "the cat" {
		t.Errorf("Decode = %q", got)
	}
	// Control tokens are text unless ParseSpecial; each raw fragment gets its
	// own "▁" prefix.
	ids, _ = tok.Encode("a</s>b", EncodeOptions{ParseSpecial: true})
	if got := strings.Join(pieces(tok, ids), " "); got != "▁a </s> ▁b" {
		t.Errorf("Encode(a</s>b, ParseSpecial) = %q", got)
	}
	ids, _ = tok.Encode("a</s>b", EncodeOptions{})
	if slices.Contains(ids, 2) {
		t.Errorf("</s> parsed without ParseSpecial: %q", pieces(tok, ids))
	}
	// A user-defined token is matched before the charsmap and kept as is.
	p := []string{"▁", "x", "ＡＢ", "AB"}
	md := hfMeta{
		keyModel: "t5", keyUNK: uint64(0), keyAddSpacePrefix: true, keyRemoveExtraWS: true,
		keyTokens:    append([]string{"<unk>", "<s>", "</s>"}, p...),
		keyScores:    []float32{0, 0, 0, -1, -1, -1, -1},
		keyTokenType: []int32{typeUnknown, typeControl, typeControl, typeNormal, typeNormal, typeUserDefined, typeNormal},
	}
	data, _ := os.ReadFile(spmTestModel)
	m, _ := parseSentencePiece(data)
	md[keyCharsmap] = m.charsmap
	ud, err := fromMetadata(md)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(ud.ugm.normalize("xＡＢＡＣ", true, nil)); got != "▁xＡＢAC" {
		t.Errorf("user-defined before the charsmap: %q", got)
	}
	// A mere prefix of a user-defined token ("Ａ" and half of "Ｂ" of "ＡＢ")
	// is normalised like other text (llama.cpp copies it, cutting "Ｃ" in
	// two: a known departure).
	if got := string(ud.ugm.normalize("ＡＣ", true, nil)); got != "▁AC" {
		t.Errorf("prefix of a user-defined token: %q", got)
	}
}

// TestXLMRLayout loads test_model.model with the fairseq ids XLM-R's
// sentencepiece.bpe.model is used with.
func TestXLMRLayout(t *testing.T) {
	data, err := os.ReadFile(spmTestModel)
	if err != nil {
		t.Fatal(err)
	}
	plain := spmTestGGUF(t, nil)
	tok, err := FromSentencePiece(data, true)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 1001+1 || tok.Piece(0) != "<s>" || tok.Piece(1) != "<pad>" || tok.Piece(2) != "</s>" || tok.Piece(3) != "<unk>" || tok.Piece(1001) != "<mask>" {
		t.Fatalf("layout: size %d, %q %q %q %q %q", tok.VocabSize(), tok.Piece(0), tok.Piece(1), tok.Piece(2), tok.Piece(3), tok.Piece(1001))
	}
	if tok.BOS() != 0 || tok.EOS() != 2 || tok.Pad() != 1 || tok.unk != 3 || !tok.AddBOS() {
		t.Errorf("bos %d eos %d pad %d unk %d addBOS %v", tok.BOS(), tok.EOS(), tok.Pad(), tok.unk, tok.AddBOS())
	}
	const text = "Hello world, 藤 is not a piece."
	want, _ := plain.Encode(text, EncodeOptions{})
	for i, id := range want {
		if id == plain.unk {
			want[i] = 3
		} else {
			want[i] = id + 1
		}
	}
	want = append(append([]int{0}, want...), 2)
	got, _ := tok.Encode(text, EncodeOptions{AddSpecial: true})
	if !slices.Equal(got, want) {
		t.Errorf("XLM-R ids %v, want %v", got, want)
	}
	if got, _ := tok.Encode("a <mask> b", EncodeOptions{ParseSpecial: true}); !slices.Contains(got, 1001) {
		t.Errorf("<mask> not parsed: %v", got)
	}
}

func TestUGMLoadErrors(t *testing.T) {
	base := func() mapMeta {
		return mapMeta{keyModel: "t5", keyTokens: []string{"<pad>", "</s>", "<unk>", "a"}}
	}
	for _, c := range []struct {
		name string
		edit func(mapMeta)
		want string
	}{
		{"charsmap not bytes", func(m mapMeta) { m[keyCharsmap] = "x" }, keyCharsmap},
		{"charsmap short", func(m mapMeta) { m[keyCharsmap] = []byte{1, 0} }, keyCharsmap},
		{"charsmap array past end", func(m mapMeta) { m[keyCharsmap] = []byte{8, 0, 0, 0, 1, 2, 3, 4} }, keyCharsmap},
		{"charsmap huge length", func(m mapMeta) { m[keyCharsmap] = []byte{0xff, 0xff, 0xff, 0xff, 0} }, keyCharsmap},
		{"no unknown token", func(m mapMeta) { m[keyTokens] = []string{"<pad>", "</s>"} }, "unknown token"},
		{"remove_extra_whitespaces not bool", func(m mapMeta) { m[keyRemoveExtraWS] = "yes" }, keyRemoveExtraWS},
	} {
		m := base()
		c.edit(m)
		_, err := fromMetadata(m)
		if !errors.Is(err, ErrVocab) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrVocab naming %s", c.name, err, c.want)
		}
	}
	if _, err := fromMetadata(base()); err != nil {
		t.Errorf("minimal t5 vocabulary: %v", err)
	}
}

// TestCharsmapHostile walks arrays that point outside themselves.
func TestCharsmapHostile(t *testing.T) {
	for _, words := range [][]uint32{
		{0xFFFFFC00, 0, 0},                  // root base far outside
		{1 << 10, 'a' ^ 1 | 1<<8, 0xFFFFFF}, // leaf whose value is out of range
		{1 << 10, 'a' ^ 1, 7},
	} {
		b := make([]byte, 4+4*len(words))
		binary.LittleEndian.PutUint32(b, uint32(4*len(words)))
		for i, w := range words {
			binary.LittleEndian.PutUint32(b[4+4*i:], w)
		}
		b = append(b, 'x', 0)
		m, err := parseCharsmap(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"a", "aa", "\x00", "\xff\xfe", "abc"} {
			n, repl := m.match(s)
			if n < 0 || n > len(s) || len(repl) > 1 {
				t.Errorf("match(%q) = %d %q", s, n, repl)
			}
		}
	}
}

// TestTrie checks the byte trie against a map.
func TestTrie(t *testing.T) {
	keys := []string{"a", "ab", "abc", "b", "▁x", "\xff", "zz"}
	ids := []int32{0, 1, 2, 3, 4, 5, 6}
	tr := buildTrie(keys, ids)
	for i, k := range keys {
		node := int32(0)
		for j := 0; j < len(k); j++ {
			node = tr.child(node, k[j])
		}
		if node < 0 || tr.id[node] != ids[i] {
			t.Errorf("key %q: node %d", k, node)
		}
	}
	for _, c := range []struct {
		s string
		n int
	}{{"abcd", 3}, {"ab", 2}, {"c", 0}, {"", 0}, {"zzz", 2}, {"z", 0}, {"▁y", 0}} {
		if got := tr.longest(c.s); got != c.n {
			t.Errorf("longest(%q) = %d, want %d", c.s, got, c.n)
		}
	}
	empty := buildTrie(nil, nil)
	if empty.longest("a") != 0 || empty.child(0, 'a') != -1 {
		t.Error("empty trie")
	}
}

// BenchmarkUGMEncode encodes 100 KB of mixed text with test_model.model.
func BenchmarkUGMEncode(b *testing.B) {
	data, err := os.ReadFile(spmTestModel)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := FromSentencePiece(data, true)
	if err != nil {
		b.Fatal(err)
	}
	text := longInputs()["mixed"]
	b.SetBytes(int64(len(text)))
	n := 0
	for b.Loop() {
		ids, _ := tok.Encode(text, EncodeOptions{})
		n += len(ids)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tok/s")
}

// BenchmarkUGMLoad builds a Unigram vocabulary of XLM-R's size (250,002
// pieces) with test_model.model's charsmap.
func BenchmarkUGMLoad(b *testing.B) {
	data, err := os.ReadFile(spmTestModel)
	if err != nil {
		b.Fatal(err)
	}
	m, err := parseSentencePiece(data)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	const n = 250002
	tokens := []string{"<s>", "<pad>", "</s>", "<unk>"}
	seen := map[string]bool{}
	for len(tokens) < n {
		var sb strings.Builder
		sb.WriteString("▁")
		for k := 1 + r.IntN(8); k > 0; k-- {
			sb.WriteRune(rune('a' + r.IntN(26) + 0x400*r.IntN(2)))
		}
		if s := sb.String(); !seen[s] {
			seen[s] = true
			tokens = append(tokens, s)
		}
	}
	scores := make([]float32, n)
	types := make([]int32, n)
	for i := range types {
		types[i], scores[i] = typeNormal, -float32(i)/1000
	}
	types[0], types[1], types[2], types[3] = typeControl, typeControl, typeControl, typeUnknown
	md := hfMeta{keyModel: "t5", keyTokens: tokens, keyScores: scores, keyTokenType: types, keyUNK: uint64(3),
		keyAddSpacePrefix: true, keyRemoveExtraWS: true, keyCharsmap: m.charsmap}
	for b.Loop() {
		if _, err := fromMetadata(md); err != nil {
			b.Fatal(err)
		}
	}
}
