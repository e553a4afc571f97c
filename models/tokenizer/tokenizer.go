// Package tokenizer turns text into token ids and back with the vocabulary
// stored in a GGUF file, matching llama.cpp token for token.
//
// Four vocabulary kinds are supported, chosen by tokenizer.ggml.model:
//
//   - "llama": SentencePiece BPE (scores, byte fallback through <0xNN>
//     tokens, the "▁" space escape and the leading-space rule).
//   - "gpt2": byte-level BPE (tokenizer.ggml.merges, the GPT-2 byte-to-unicode
//     mapping and the pre-tokenizer named by tokenizer.ggml.pre).
//   - "bert": WordPiece (lower-casing and accent stripping unless the
//     vocabulary is cased, punctuation and CJK splitting,
//     longest-match-first sub-words, [CLS]/[SEP]).
//   - "t5": SentencePiece Unigram (the precompiled normalisation charsmap,
//     "▁" spaces, Viterbi segmentation over the piece scores; T5, XLM-R and
//     the multilingual embedders and rerankers built on it).
//
// Special tokens (control, user-defined and unknown tokens, from
// tokenizer.ggml.token_type) are split out of the input before the
// vocabulary's own algorithm runs: user-defined tokens always, control tokens
// only with EncodeOptions.ParseSpecial, as llama.cpp does.
package tokenizer

import (
	"errors"
	"fmt"

	"github.com/edgeai-go/edgeai/models/gguf"
)

// ErrVocab reports a vocabulary that cannot be used: a missing or malformed
// tokenizer.* key. Errors returned by FromGGUF wrap it.
var ErrVocab = errors.New("tokenizer: bad vocabulary")

// GGUF metadata keys read by FromGGUF.
const (
	keyModel          = "tokenizer.ggml.model"
	keyPre            = "tokenizer.ggml.pre"
	keyTokens         = "tokenizer.ggml.tokens"
	keyScores         = "tokenizer.ggml.scores"
	keyTokenType      = "tokenizer.ggml.token_type"
	keyMerges         = "tokenizer.ggml.merges"
	keyBOS            = "tokenizer.ggml.bos_token_id"
	keyEOS            = "tokenizer.ggml.eos_token_id"
	keyEOT            = "tokenizer.ggml.eot_token_id"
	keyEOM            = "tokenizer.ggml.eom_token_id"
	keyUNK            = "tokenizer.ggml.unknown_token_id"
	keySEP            = "tokenizer.ggml.seperator_token_id" // sic, llama.cpp's spelling
	keyPAD            = "tokenizer.ggml.padding_token_id"
	keyCLS            = "tokenizer.ggml.cls_token_id"
	keyFIMPre         = "tokenizer.ggml.fim_pre_token_id"
	keyFIMSuf         = "tokenizer.ggml.fim_suf_token_id"
	keyFIMMid         = "tokenizer.ggml.fim_mid_token_id"
	keyFIMPad         = "tokenizer.ggml.fim_pad_token_id"
	keyFIMRep         = "tokenizer.ggml.fim_rep_token_id"
	keyFIMSep         = "tokenizer.ggml.fim_sep_token_id"
	keyPrefixOld      = "tokenizer.ggml.prefix_token_id"
	keySuffixOld      = "tokenizer.ggml.suffix_token_id"
	keyMiddleOld      = "tokenizer.ggml.middle_token_id"
	keyAddBOS         = "tokenizer.ggml.add_bos_token"
	keyAddEOS         = "tokenizer.ggml.add_eos_token"
	keyAddSpacePrefix = "tokenizer.ggml.add_space_prefix"
	keyRemoveExtraWS  = "tokenizer.ggml.remove_extra_whitespaces" // Unigram: collapse runs of spaces
	keyCharsmap       = "tokenizer.ggml.precompiled_charsmap"     // Unigram: array of uint8 or int8
	keyLowercase      = "tokenizer.ggml.normalizer.lowercase"     // WordPiece: BertNormalizer lowercase (default true)
	keyStripAccents   = "tokenizer.ggml.normalizer.strip_accents" // WordPiece: BertNormalizer strip_accents (default: lowercase)
	keyName           = "general.name"
	keyArch           = "general.architecture"
)

// kind is the tokenization algorithm.
type kind uint8

const (
	kindSPM kind = iota // "llama": SentencePiece
	kindBPE             // "gpt2": byte-level BPE
	kindWPM             // "bert": WordPiece
	kindUGM             // "t5": SentencePiece Unigram
)

// attr is a token's attribute bit set (llama.cpp's llama_token_attr).
type attr uint16

const (
	attrUnknown     attr = 1 << 0
	attrUnused      attr = 1 << 1
	attrNormal      attr = 1 << 2
	attrControl     attr = 1 << 3
	attrUserDefined attr = 1 << 4
	attrByte        attr = 1 << 5
	attrLStrip      attr = 1 << 7
	attrRStrip      attr = 1 << 8

	attrSpecial = attrUnknown | attrControl // hidden unless rendering specials
)

// GGUF token types (tokenizer.ggml.token_type values).
const (
	typeNormal      = 1
	typeUnknown     = 2
	typeControl     = 3
	typeUserDefined = 4
	typeUnused      = 5
	typeByte        = 6
)

// Tokenizer encodes text to token ids and decodes ids to text. It is
// read-only after construction and safe for concurrent use.
type Tokenizer struct {
	model string // tokenizer.ggml.model
	kind  kind
	pre   *preTokenizer // gpt2 only
	ugm   *ugmModel     // t5 only

	tokens strTable   // id -> vocabulary text
	scores []float32  // id -> score (SentencePiece merge priority)
	attrs  []attr     // id -> attributes
	ids    vocabIndex // text -> id
	pieces strTable   // id -> rendered text with specials shown (llama.cpp's piece cache)

	maxTokenLen int // longest token text in bytes

	merges map[string]int32 // gpt2: "left right" -> rank

	bos, eos, eot, eom, unk, sep, pad int // -1 when absent
	eog                               []bool

	addBOS, addEOS  bool
	addSpacePrefix  bool // SentencePiece (BPE and Unigram): a space before the text of each fragment
	lowercase       bool // WordPiece: lower-case (BertNormalizer lowercase)
	stripAccents    bool // WordPiece: strip accents (BertNormalizer strip_accents)
	cleanSpaces     bool // Decode applies llama.cpp's clean_up_tokenization_spaces passes
	ignoreMerges    bool // gpt2: a pre-token that is a whole vocabulary entry is emitted as is
	stripFirstSpace bool // Decode drops the phantom space of the first word

	byteTok [256]int32 // SentencePiece byte fallback: byte -> <0xNN> token (or the raw byte's token), -1 if none

	specials []int32     // control, user-defined and unknown ids, longest text first
	trie     specialTrie // finds which specials occur in a text
}

// EncodeOptions controls Encode.
type EncodeOptions struct {
	// AddSpecial adds the tokens the vocabulary asks for around the text:
	// BOS and/or EOS as tokenizer.ggml.add_bos_token / add_eos_token say
	// (SentencePiece, BPE), [CLS] and [SEP] (WordPiece).
	AddSpecial bool
	// ParseSpecial turns control-token texts in the input (e.g.
	// "<|im_start|>") into those tokens. Off for plain text, on for
	// chat-templated prompts. User-defined tokens are always parsed.
	ParseSpecial bool
}

// metadata is the part of *gguf.File the tokenizer reads. The typed getters
// report false both for a missing key and for a value of another type; Has
// tells the two apart.
type metadata interface {
	Has(key string) bool
	String(key string) (string, bool)
	Strings(key string) ([]string, bool)
	Float32s(key string) ([]float32, bool)
	Int32s(key string) ([]int32, bool)
	Uint(key string) (uint64, bool)
	Int(key string) (int64, bool)
	Bool(key string) (bool, bool)
	Bytes(key string) ([]byte, bool) // an array of uint8 or int8
}

// ggufMeta adapts *gguf.File to metadata.
type ggufMeta struct{ *gguf.File }

func (m ggufMeta) Has(key string) bool {
	_, ok := m.Lookup(key)
	return ok
}

func (m ggufMeta) Bytes(key string) ([]byte, bool) {
	v, ok := m.Lookup(key)
	if !ok {
		return nil, false
	}
	if elem, ok := v.Elem(); !ok || (elem != gguf.TypeUint8 && elem != gguf.TypeInt8) {
		return nil, false
	}
	vals, ok := v.Int32s()
	if !ok {
		return nil, false
	}
	b := make([]byte, len(vals))
	for i, x := range vals {
		b[i] = byte(x)
	}
	return b, true
}

// FromGGUF builds the tokenizer described by f's tokenizer.* keys. Errors
// wrap ErrVocab and name the missing or malformed key.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	if f == nil {
		return nil, fmt.Errorf("%w: nil gguf.File", ErrVocab)
	}
	return fromMetadata(ggufMeta{f})
}

// Model returns tokenizer.ggml.model: "llama", "gpt2", "bert" or "t5".
func (t *Tokenizer) Model() string { return t.model }

// VocabSize returns the number of tokens in the vocabulary.
func (t *Tokenizer) VocabSize() int { return t.tokens.len() }

// Piece returns the raw vocabulary text of token id ("▁the", "<0x0A>",
// "Ġworld", "<s>"), or "" if id is out of range.
func (t *Tokenizer) Piece(id int) string {
	if id < 0 || id >= t.tokens.len() {
		return ""
	}
	return t.tokens.at(id)
}

// BOS returns the beginning-of-sequence token ([CLS] for WordPiece), or -1.
func (t *Tokenizer) BOS() int { return t.bos }

// EOS returns the end-of-sequence token, or -1.
func (t *Tokenizer) EOS() int { return t.eos }

// AddBOS reports whether the vocabulary asks for a BOS token in front of a
// prompt (tokenizer.ggml.add_bos_token, or the vocabulary kind's default).
func (t *Tokenizer) AddBOS() bool { return t.addBOS }

// IsEOG reports whether id ends generation: EOS, EOT, EOM and the tokens
// llama.cpp recognises by their text (<|eot_id|>, <|im_end|>, <|end|>,
// <end_of_turn>, <|endoftext|>, <|eom_id|>, <EOT>, FIM pad/repo/file
// separators).
func (t *Tokenizer) IsEOG(id int) bool {
	return id >= 0 && id < len(t.eog) && t.eog[id]
}
