package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgeai-go/edgeai/internal/safeopen"
)

// Hugging Face tokenizer files (the tokenizer of an ONNX export) become the
// same Tokenizer FromGGUF builds from the GGUF llama.cpp's converter would
// write for the model:
//
//   - WordPiece (tokenizer.json, or a bare vocab.txt): a continuation piece
//     "##ing" becomes "ing", any other piece "the" becomes "▁the", special
//     tokens ([CLS], [SEP], ...) stay as they are and are control tokens;
//     BertNormalizer's lowercase and strip_accents (tokenizer_config.json's
//     do_lower_case and strip_accents beside a vocab.txt) choose cased or
//     uncased encoding.
//   - Unigram (tokenizer.json, sentencepiece.bpe.model, spiece.model): the
//     pieces and scores, the precompiled charsmap, the Metaspace prefix
//     space, special tokens from the post-processor; encoded as llama.cpp's
//     UGM tokenizer does.

// maxHFVocab bounds the vocabulary size read from a Hugging Face file.
const maxHFVocab = 1 << 22

// maxHFFile bounds the size of tokenizer files LoadHF reads.
const maxHFFile = 256 << 20

// HFInfo describes the Hugging Face tokenizer files LoadHF read.
type HFInfo struct {
	// Path is the file the vocabulary came from (tokenizer.json,
	// sentencepiece.bpe.model, spiece.model or vocab.txt).
	Path string
	// MaxLength is the longest input the tokenizer is configured for:
	// tokenizer.json's truncation.max_length, else tokenizer_config.json's
	// model_max_length; 0 when neither gives one.
	MaxLength int
}

// hfSpecials are the BERT special tokens a bare vocab.txt is assumed to use.
var hfSpecials = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}

// hfFiles are the vocabulary files LoadHF looks for, in order.
var hfFiles = []string{"tokenizer.json", "sentencepiece.bpe.model", "spiece.model", "vocab.txt"}

// LoadHF builds the tokenizer stored in the directory dir: the first of
// tokenizer.json, sentencepiece.bpe.model (XLM-R's, with fairseq ids),
// spiece.model (T5's) and vocab.txt that is there, with
// tokenizer_config.json, if present, for model_max_length and a vocab.txt's
// do_lower_case and strip_accents. The error wraps fs.ErrNotExist when dir
// holds none of them.
func LoadHF(dir string) (*Tokenizer, HFInfo, error) {
	for _, name := range hfFiles {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err == nil {
			return LoadHFFile(path)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, HFInfo{}, fmt.Errorf("tokenizer: %w", err)
		}
	}
	return nil, HFInfo{}, fmt.Errorf("tokenizer: no %s in %s: %w", strings.Join(hfFiles, ", "), dir, fs.ErrNotExist)
}

// LoadHFFile builds the tokenizer of one Hugging Face file, chosen by its
// name: *.json is a tokenizer.json, sentencepiece.bpe.model a sentencepiece
// model with fairseq ids (XLM-R), any other *.model one with its own ids,
// anything else a vocab.txt. tokenizer_config.json beside it is read as by
// LoadHF.
func LoadHFFile(path string) (*Tokenizer, HFInfo, error) {
	var info HFInfo
	cfg, err := readHFConfig(filepath.Join(filepath.Dir(path), "tokenizer_config.json"))
	if err != nil {
		return nil, info, err
	}
	if cfg.ModelMaxLength > 0 && cfg.ModelMaxLength < 1<<24 {
		info.MaxLength = int(cfg.ModelMaxLength)
	}
	data, err := readSmall(path)
	if err != nil {
		return nil, info, err
	}
	var t *Tokenizer
	base := filepath.Base(path)
	switch {
	case strings.HasSuffix(base, ".json"):
		var maxLen int
		t, maxLen, err = fromTokenizerJSON(data)
		if maxLen > 0 {
			info.MaxLength = maxLen
		}
	case strings.HasSuffix(base, ".model"):
		t, err = FromSentencePiece(data, base == "sentencepiece.bpe.model")
	default:
		lower := cfg.DoLowerCase == nil || *cfg.DoLowerCase
		strip := lower
		if cfg.StripAccents != nil {
			strip = *cfg.StripAccents
		}
		t, err = fromVocabTxt(data, lower, strip)
	}
	if err != nil {
		return nil, info, fmt.Errorf("%s: %w", path, err)
	}
	info.Path = path
	return t, info, nil
}

// hfConfig is the part of tokenizer_config.json LoadHF reads.
type hfConfig struct {
	DoLowerCase    *bool   `json:"do_lower_case"`
	StripAccents   *bool   `json:"strip_accents"`    // BertTokenizer: nil follows do_lower_case
	ModelMaxLength float64 `json:"model_max_length"` // often 1e30 for "none"
}

func readHFConfig(path string) (hfConfig, error) {
	var c hfConfig
	data, err := readSmall(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("%w: %s: %v", ErrVocab, path, err)
	}
	return c, nil
}

// readSmall reads a file of at most maxHFFile bytes.
func readSmall(path string) ([]byte, error) {
	f, err := safeopen.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if st.Size() > maxHFFile {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than a tokenizer file can be (%d)", ErrVocab, path, st.Size(), maxHFFile)
	}
	data := make([]byte, st.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return data, nil
}

// FromVocabTxt builds a WordPiece tokenizer from the text of a BERT
// vocab.txt: one token per line, the line number is the id, "##" marks a
// continuation. [PAD], [UNK], [CLS], [SEP] and [MASK] are the special tokens;
// the vocabulary is taken to be uncased (LoadHF reads tokenizer_config.json
// for cased ones).
func FromVocabTxt(data []byte) (*Tokenizer, error) { return fromVocabTxt(data, true, true) }

func fromVocabTxt(data []byte, lowercase, stripAccents bool) (*Tokenizer, error) {
	text := strings.TrimSuffix(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	if text == "" {
		return nil, fmt.Errorf("%w: vocab.txt is empty", ErrVocab)
	}
	if n := strings.Count(text, "\n") + 1; n > maxHFVocab {
		return nil, fmt.Errorf("%w: vocab.txt has %d lines, more than %d", ErrVocab, n, maxHFVocab)
	}
	lines := strings.Split(text, "\n")
	v := hfVocab{tokens: lines, types: make([]int32, len(lines)), lowercase: lowercase, stripAccents: stripAccents}
	for i := range v.types {
		v.types[i] = typeNormal
	}
	ids := map[string]int{}
	for i, s := range lines {
		if _, dup := ids[s]; !dup {
			ids[s] = i
		}
	}
	for _, s := range hfSpecials {
		if i, ok := ids[s]; ok {
			v.types[i] = typeControl
		}
	}
	v.unk, v.cls, v.sep, v.pad = lookup(ids, "[UNK]"), lookup(ids, "[CLS]"), lookup(ids, "[SEP]"), lookup(ids, "[PAD]")
	return v.build()
}

func lookup(ids map[string]int, s string) int {
	if i, ok := ids[s]; ok {
		return i
	}
	return -1
}

// hfTokenizerJSON is the part of a tokenizer.json that FromTokenizerJSON reads.
type hfTokenizerJSON struct {
	Truncation *struct {
		MaxLength int `json:"max_length"`
	} `json:"truncation"`
	AddedTokens []struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
		LStrip  bool   `json:"lstrip"`
		RStrip  bool   `json:"rstrip"`
	} `json:"added_tokens"`
	Normalizer    *hfNormalizer    `json:"normalizer"`
	PreTokenizer  *hfPreTokenizer  `json:"pre_tokenizer"`
	PostProcessor *hfPostProcessor `json:"post_processor"`
	Model         struct {
		Type                    string          `json:"type"`
		UnkToken                string          `json:"unk_token"`                 // WordPiece
		ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"` // WordPiece
		UnkID                   *int            `json:"unk_id"`                    // Unigram
		Vocab                   json.RawMessage `json:"vocab"`                     // WordPiece: {"piece": id}; Unigram: [["piece", score]]
	} `json:"model"`
}

// hfNormalizer is a normalizer of tokenizer.json (fields of every type
// FromTokenizerJSON knows).
type hfNormalizer struct {
	Type               string         `json:"type"`
	Lowercase          *bool          `json:"lowercase"`            // BertNormalizer
	StripAccents       *bool          `json:"strip_accents"`        // BertNormalizer
	HandleChineseChars *bool          `json:"handle_chinese_chars"` // BertNormalizer
	Normalizers        []hfNormalizer `json:"normalizers"`          // Sequence
	Charsmap           *string        `json:"precompiled_charsmap"` // Precompiled, base64
	Pattern            *hfPattern     `json:"pattern"`              // Replace
	Content            *string        `json:"content"`              // Replace
}

type hfPattern struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

// hfPreTokenizer is a pre_tokenizer of tokenizer.json.
type hfPreTokenizer struct {
	Type           string           `json:"type"`
	PreTokenizers  []hfPreTokenizer `json:"pretokenizers"`    // Sequence
	Replacement    *string          `json:"replacement"`      // Metaspace
	AddPrefixSpace *bool            `json:"add_prefix_space"` // Metaspace (older files)
	PrependScheme  *string          `json:"prepend_scheme"`   // Metaspace: always, first, never
}

// hfPostProcessor is a post_processor of tokenizer.json.
type hfPostProcessor struct {
	Type string `json:"type"`
	// BertProcessing, RobertaProcessing: ["[CLS]", 101].
	CLS []json.RawMessage `json:"cls"`
	SEP []json.RawMessage `json:"sep"`
	// TemplateProcessing.
	Single []struct {
		SpecialToken *struct {
			ID string `json:"id"`
		} `json:"SpecialToken"`
		Sequence *struct {
			ID string `json:"id"`
		} `json:"Sequence"`
	} `json:"single"`
	SpecialTokens map[string]struct {
		IDs []int `json:"ids"`
	} `json:"special_tokens"`
}

// FromTokenizerJSON builds a tokenizer from a Hugging Face tokenizer.json:
// a WordPiece model (the "##" prefix, BertNormalizer, BertPreTokenizer, a
// [CLS] … [SEP] post-processor) or a Unigram model (Precompiled charsmap,
// Metaspace). Other tokenizers (BPE, ...) and options edgeai does not
// implement are reported, not approximated.
func FromTokenizerJSON(data []byte) (*Tokenizer, error) {
	t, _, err := fromTokenizerJSON(data)
	return t, err
}

func fromTokenizerJSON(data []byte) (*Tokenizer, int, error) {
	var j hfTokenizerJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, 0, fmt.Errorf("%w: tokenizer.json: %v", ErrVocab, err)
	}
	var t *Tokenizer
	var err error
	switch j.Model.Type {
	case "WordPiece":
		t, err = fromWordPieceJSON(&j)
	case "Unigram":
		t, err = fromUnigramJSON(&j)
	default:
		err = fmt.Errorf("%w: tokenizer.json: model type %q is not supported (edgeai reads WordPiece and Unigram tokenizer.json files; use the model's GGUF for other vocabularies)", ErrVocab, j.Model.Type)
	}
	if err != nil {
		return nil, 0, err
	}
	for _, a := range j.AddedTokens {
		if a.ID >= 0 && a.ID < len(t.attrs) && t.tokens.at(a.ID) == a.Content {
			if a.LStrip {
				t.attrs[a.ID] |= attrLStrip
			}
			if a.RStrip {
				t.attrs[a.ID] |= attrRStrip
			}
		}
	}
	maxLen := 0
	if j.Truncation != nil && j.Truncation.MaxLength > 0 {
		maxLen = j.Truncation.MaxLength
	}
	return t, maxLen, nil
}

// fromWordPieceJSON reads a WordPiece tokenizer.json.
func fromWordPieceJSON(j *hfTokenizerJSON) (*Tokenizer, error) {
	m := &j.Model
	if p := m.ContinuingSubwordPrefix; p != nil && *p != "##" {
		return nil, fmt.Errorf("%w: tokenizer.json: continuing_subword_prefix %q is not supported (want \"##\")", ErrVocab, *p)
	}
	nz := j.Normalizer
	if nz == nil || nz.Type != "BertNormalizer" {
		got := "none"
		if nz != nil {
			got = nz.Type
		}
		return nil, fmt.Errorf("%w: tokenizer.json: normalizer %s is not supported (want BertNormalizer)", ErrVocab, got)
	}
	if nz.HandleChineseChars != nil && !*nz.HandleChineseChars {
		return nil, fmt.Errorf("%w: tokenizer.json: handle_chinese_chars false is not supported", ErrVocab)
	}
	lower := nz.Lowercase == nil || *nz.Lowercase
	strip := lower // strip_accents null follows lowercase, as in BERT
	if nz.StripAccents != nil {
		strip = *nz.StripAccents
	}
	if pt := j.PreTokenizer; pt != nil && pt.Type != "BertPreTokenizer" {
		return nil, fmt.Errorf("%w: tokenizer.json: pre_tokenizer %s is not supported (want BertPreTokenizer)", ErrVocab, pt.Type)
	}
	var vocab map[string]int
	if err := json.Unmarshal(m.Vocab, &vocab); err != nil {
		return nil, fmt.Errorf("%w: tokenizer.json: WordPiece vocab: %v", ErrVocab, err)
	}

	n := 0
	for _, id := range vocab {
		n = max(n, id+1)
	}
	for _, a := range j.AddedTokens {
		n = max(n, a.ID+1)
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: tokenizer.json: empty vocabulary", ErrVocab)
	}
	if n > maxHFVocab {
		return nil, fmt.Errorf("%w: tokenizer.json: token id %d is out of range", ErrVocab, n-1)
	}
	v := hfVocab{tokens: make([]string, n), types: make([]int32, n), unk: -1, cls: -1, sep: -1, pad: -1, lowercase: lower, stripAccents: strip}
	seen := make([]bool, n)
	for s, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("%w: tokenizer.json: token %q has id %d", ErrVocab, s, id)
		}
		if seen[id] {
			return nil, fmt.Errorf("%w: tokenizer.json: id %d is given to %q and %q", ErrVocab, id, v.tokens[id], s)
		}
		seen[id] = true
		v.tokens[id], v.types[id] = s, typeNormal
	}
	if err := addedTokens(j, v.tokens, v.types, seen); err != nil {
		return nil, err
	}
	ids := make(map[string]int, n)
	for i, s := range v.tokens {
		if _, dup := ids[s]; !dup {
			ids[s] = i
		}
	}
	if m.UnkToken != "" {
		if v.unk = lookup(ids, m.UnkToken); v.unk < 0 {
			return nil, fmt.Errorf("%w: tokenizer.json: unk_token %q is not in the vocabulary", ErrVocab, m.UnkToken)
		}
	}
	v.pad = lookup(ids, "[PAD]")
	if err := v.postProcessor(j, ids); err != nil {
		return nil, err
	}
	return v.build()
}

// addedTokens writes tokenizer.json's added tokens into tokens and types
// (special ones are control tokens, the others user-defined) and fills the
// ids nothing names with placeholders nothing matches.
func addedTokens(j *hfTokenizerJSON, tokens []string, types []int32, seen []bool) error {
	for _, a := range j.AddedTokens {
		if a.ID < 0 || a.ID >= len(tokens) {
			return fmt.Errorf("%w: tokenizer.json: added token %q has id %d", ErrVocab, a.Content, a.ID)
		}
		if seen[a.ID] && tokens[a.ID] != a.Content {
			return fmt.Errorf("%w: tokenizer.json: added token %q has the id %d of %q", ErrVocab, a.Content, a.ID, tokens[a.ID])
		}
		seen[a.ID] = true
		tokens[a.ID], types[a.ID] = a.Content, typeUserDefined
		if a.Special {
			types[a.ID] = typeControl
		}
	}
	for i, ok := range seen {
		if !ok { // a hole in the ids: a placeholder nothing matches
			tokens[i], types[i] = fmt.Sprintf("[edgeai:unused%d]", i), typeUnused
		}
	}
	return nil
}

// postProcessor finds the [CLS] and [SEP] ids the post-processor adds around
// a single text (BertProcessing or TemplateProcessing "[CLS] $A [SEP]"),
// falling back to the tokens named [CLS] and [SEP].
func (v *hfVocab) postProcessor(j *hfTokenizerJSON, ids map[string]int) error {
	v.cls, v.sep = lookup(ids, "[CLS]"), lookup(ids, "[SEP]")
	pp := j.PostProcessor
	if pp == nil {
		return nil
	}
	switch pp.Type {
	case "BertProcessing":
		var err error
		if v.cls, err = processorID(pp.CLS, "cls"); err != nil {
			return err
		}
		if v.sep, err = processorID(pp.SEP, "sep"); err != nil {
			return err
		}
	case "TemplateProcessing":
		s := pp.Single
		if len(s) != 3 || s[0].SpecialToken == nil || s[1].Sequence == nil || s[2].SpecialToken == nil {
			return fmt.Errorf("%w: tokenizer.json: the post-processor's single template is not [CLS] $A [SEP]", ErrVocab)
		}
		id := func(name string) (int, error) {
			st, ok := pp.SpecialTokens[name]
			if !ok || len(st.IDs) != 1 {
				return -1, fmt.Errorf("%w: tokenizer.json: post-processor token %q has no single id", ErrVocab, name)
			}
			return st.IDs[0], nil
		}
		var err error
		if v.cls, err = id(s[0].SpecialToken.ID); err != nil {
			return err
		}
		if v.sep, err = id(s[2].SpecialToken.ID); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: tokenizer.json: post-processor %s is not supported (want BertProcessing or TemplateProcessing)", ErrVocab, pp.Type)
	}
	if v.cls < 0 || v.cls >= len(v.tokens) || v.sep < 0 || v.sep >= len(v.tokens) {
		return fmt.Errorf("%w: tokenizer.json: post-processor ids %d, %d are out of range", ErrVocab, v.cls, v.sep)
	}
	return nil
}

// processorID reads a BertProcessing ["[CLS]", 101] pair's id.
func processorID(pair []json.RawMessage, name string) (int, error) {
	var id int
	if len(pair) != 2 || json.Unmarshal(pair[1], &id) != nil {
		return -1, fmt.Errorf("%w: tokenizer.json: post-processor %s is not a [token, id] pair", ErrVocab, name)
	}
	return id, nil
}

// hfVocab is a Hugging Face WordPiece vocabulary on its way to a Tokenizer.
type hfVocab struct {
	tokens                  []string // HF spelling ("##ing", "the", "[CLS]")
	types                   []int32  // GGUF token types
	unk, cls, sep, pad      int      // -1 when absent
	lowercase, stripAccents bool     // BertNormalizer options
}

// build converts the vocabulary to llama.cpp's spelling and makes the
// Tokenizer.
func (v *hfVocab) build() (*Tokenizer, error) {
	if v.cls < 0 || v.sep < 0 {
		return nil, fmt.Errorf("%w: the vocabulary has no [CLS] or no [SEP] token", ErrVocab)
	}
	tokens := make([]string, len(v.tokens))
	for i, s := range v.tokens {
		switch {
		case v.types[i] == typeControl || v.types[i] == typeUserDefined || v.types[i] == typeUnused:
			tokens[i] = s
		case strings.HasPrefix(s, "##") && len(s) > 2:
			tokens[i] = s[2:]
		default:
			tokens[i] = "▁" + s
		}
	}
	md := hfMeta{
		keyModel:        "bert",
		keyTokens:       tokens,
		keyTokenType:    v.types,
		keyCLS:          uint64(v.cls),
		keySEP:          uint64(v.sep),
		keyLowercase:    v.lowercase,
		keyStripAccents: v.stripAccents,
	}
	if v.unk >= 0 {
		md[keyUNK] = uint64(v.unk)
	} else {
		md[keyUNK] = int64(-1)
	}
	if v.pad >= 0 {
		md[keyPAD] = uint64(v.pad)
	}
	t, err := fromMetadata(md)
	if err != nil {
		return nil, err
	}
	if v.unk < 0 {
		t.unk = -1 // no [UNK]: an unknown word gives no token, as llama.cpp
	}
	return t, nil
}

// hfMeta is metadata held in a map (the keys FromGGUF would read).
type hfMeta map[string]any

func (m hfMeta) Has(key string) bool { _, ok := m[key]; return ok }

func (m hfMeta) String(key string) (string, bool) { v, ok := m[key].(string); return v, ok }

func (m hfMeta) Strings(key string) ([]string, bool) { v, ok := m[key].([]string); return v, ok }

func (m hfMeta) Float32s(key string) ([]float32, bool) { v, ok := m[key].([]float32); return v, ok }

func (m hfMeta) Int32s(key string) ([]int32, bool) { v, ok := m[key].([]int32); return v, ok }

func (m hfMeta) Uint(key string) (uint64, bool) { v, ok := m[key].(uint64); return v, ok }

func (m hfMeta) Int(key string) (int64, bool) { v, ok := m[key].(int64); return v, ok }

func (m hfMeta) Bool(key string) (bool, bool) { v, ok := m[key].(bool); return v, ok }

func (m hfMeta) Bytes(key string) ([]byte, bool) { v, ok := m[key].([]byte); return v, ok }

// Pad returns the padding token ([PAD]), or -1.
func (t *Tokenizer) Pad() int { return t.pad }
