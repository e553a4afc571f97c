package tokenizer

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// hfPiece is one [piece, score] entry of a Unigram tokenizer.json vocab.
type hfPiece struct {
	piece string
	score float64
}

func (p *hfPiece) UnmarshalJSON(b []byte) error {
	var pair []json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	if len(pair) != 2 {
		return fmt.Errorf("a vocab entry is not a [piece, score] pair")
	}
	if err := json.Unmarshal(pair[0], &p.piece); err != nil {
		return err
	}
	return json.Unmarshal(pair[1], &p.score)
}

// unigramNormalizer reads the normalizers a SentencePiece Unigram export
// uses: Precompiled (the charsmap) and the whitespace rules around it
// (Replace " {2,}", Strip), which correspond to remove_extra_whitespaces.
func unigramNormalizer(nz *hfNormalizer, charsmap *[]byte, mergeSpaces *bool) error {
	if nz == nil {
		return nil
	}
	switch nz.Type {
	case "Sequence":
		for i := range nz.Normalizers {
			if err := unigramNormalizer(&nz.Normalizers[i], charsmap, mergeSpaces); err != nil {
				return err
			}
		}
	case "Precompiled":
		if nz.Charsmap == nil || *nz.Charsmap == "" {
			return nil
		}
		if len(*nz.Charsmap) > maxHFFile {
			return fmt.Errorf("%w: tokenizer.json: precompiled_charsmap is too long", ErrVocab)
		}
		b, err := base64.StdEncoding.DecodeString(*nz.Charsmap)
		if err != nil {
			return fmt.Errorf("%w: tokenizer.json: precompiled_charsmap: %v", ErrVocab, err)
		}
		*charsmap = b
	case "Replace":
		if nz.Pattern != nil && nz.Pattern.Regex != nil && *nz.Pattern.Regex == " {2,}" && nz.Content != nil && (*nz.Content == " " || *nz.Content == "\u2581") {
			*mergeSpaces = true
			return nil
		}
		return fmt.Errorf("%w: tokenizer.json: a Replace normalizer other than \" {2,}\" -> \" \" is not supported", ErrVocab)
	case "Strip":
		*mergeSpaces = true
	default:
		return fmt.Errorf("%w: tokenizer.json: normalizer %s is not supported with a Unigram model (want Precompiled)", ErrVocab, nz.Type)
	}
	return nil
}

// unigramPreTokenizer reads a Metaspace pre-tokenizer (possibly after a
// WhitespaceSplit, as T5's).
func unigramPreTokenizer(pt *hfPreTokenizer, addPrefix, mergeSpaces *bool) error {
	if pt == nil {
		return fmt.Errorf("%w: tokenizer.json: a Unigram model without a Metaspace pre_tokenizer is not supported", ErrVocab)
	}
	switch pt.Type {
	case "Sequence":
		meta := false
		for i := range pt.PreTokenizers {
			p := &pt.PreTokenizers[i]
			switch p.Type {
			case "WhitespaceSplit":
				*mergeSpaces = true
			case "Metaspace":
				if err := unigramPreTokenizer(p, addPrefix, mergeSpaces); err != nil {
					return err
				}
				meta = true
			default:
				return fmt.Errorf("%w: tokenizer.json: pre_tokenizer %s is not supported with a Unigram model", ErrVocab, p.Type)
			}
		}
		if !meta {
			return fmt.Errorf("%w: tokenizer.json: a Unigram model without a Metaspace pre_tokenizer is not supported", ErrVocab)
		}
	case "Metaspace":
		if pt.Replacement != nil && *pt.Replacement != "\u2581" {
			return fmt.Errorf("%w: tokenizer.json: Metaspace replacement %q is not supported (want \"\u2581\")", ErrVocab, *pt.Replacement)
		}
		*addPrefix = true
		if pt.AddPrefixSpace != nil {
			*addPrefix = *pt.AddPrefixSpace
		}
		if pt.PrependScheme != nil {
			switch *pt.PrependScheme {
			case "always", "first":
				*addPrefix = true
			case "never":
				*addPrefix = false
			default:
				return fmt.Errorf("%w: tokenizer.json: Metaspace prepend_scheme %q is not supported", ErrVocab, *pt.PrependScheme)
			}
		}
	default:
		return fmt.Errorf("%w: tokenizer.json: pre_tokenizer %s is not supported with a Unigram model (want Metaspace)", ErrVocab, pt.Type)
	}
	return nil
}

// fromUnigramJSON reads a Unigram tokenizer.json into the "t5" vocabulary
// llama.cpp would load.
func fromUnigramJSON(j *hfTokenizerJSON) (*Tokenizer, error) {
	var vocab []hfPiece
	if err := json.Unmarshal(j.Model.Vocab, &vocab); err != nil {
		return nil, fmt.Errorf("%w: tokenizer.json: Unigram vocab: %v", ErrVocab, err)
	}
	n := len(vocab)
	for _, a := range j.AddedTokens {
		n = max(n, a.ID+1)
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: tokenizer.json: empty vocabulary", ErrVocab)
	}
	if n > maxHFVocab {
		return nil, fmt.Errorf("%w: tokenizer.json: token id %d is out of range", ErrVocab, n-1)
	}
	tokens := make([]string, n)
	types := make([]int32, n)
	scores := make([]float32, n)
	seen := make([]bool, n)
	for i, p := range vocab {
		tokens[i], scores[i], types[i], seen[i] = p.piece, float32(p.score), typeNormal, true
	}
	if err := addedTokens(j, tokens, types, seen); err != nil {
		return nil, err
	}
	md := hfMeta{keyModel: "t5", keyTokens: tokens, keyScores: scores, keyTokenType: types}
	if u := j.Model.UnkID; u != nil {
		if *u < 0 || *u >= n {
			return nil, fmt.Errorf("%w: tokenizer.json: unk_id %d is out of range", ErrVocab, *u)
		}
		types[*u] = typeUnknown
		md[keyUNK] = uint64(*u)
	} else {
		return nil, fmt.Errorf("%w: tokenizer.json: a Unigram model without unk_id has no unknown token", ErrVocab)
	}
	var charsmap []byte
	var mergeSpaces, addPrefix bool
	if err := unigramNormalizer(j.Normalizer, &charsmap, &mergeSpaces); err != nil {
		return nil, err
	}
	if err := unigramPreTokenizer(j.PreTokenizer, &addPrefix, &mergeSpaces); err != nil {
		return nil, err
	}
	if charsmap != nil {
		md[keyCharsmap] = charsmap
	}
	md[keyAddSpacePrefix], md[keyRemoveExtraWS] = addPrefix, mergeSpaces

	// BOS and EOS from the post-processor: <s> $A </s> (XLM-R), $A </s> (T5).
	bos, eos, err := unigramSpecials(j.PostProcessor, n)
	if err != nil {
		return nil, err
	}
	md[keyAddBOS], md[keyAddEOS] = bos >= 0, eos >= 0
	md[keyBOS], md[keyEOS] = int64(-1), int64(-1)
	if bos >= 0 {
		md[keyBOS] = uint64(bos)
	}
	if eos >= 0 {
		md[keyEOS] = uint64(eos)
	}
	md[keyPAD] = int64(-1)
	for _, a := range j.AddedTokens {
		if a.Content == "<pad>" {
			md[keyPAD] = uint64(a.ID)
		}
	}
	return fromMetadata(md)
}

// unigramSpecials returns the tokens the post-processor puts before and
// after a single text (-1 for none).
func unigramSpecials(pp *hfPostProcessor, n int) (bos, eos int, err error) {
	bos, eos = -1, -1
	if pp == nil {
		return
	}
	switch pp.Type {
	case "RobertaProcessing", "BertProcessing":
		if bos, err = processorID(pp.CLS, "cls"); err != nil {
			return
		}
		if eos, err = processorID(pp.SEP, "sep"); err != nil {
			return
		}
	case "TemplateProcessing":
		id := func(name string) (int, error) {
			st, ok := pp.SpecialTokens[name]
			if !ok || len(st.IDs) != 1 || st.IDs[0] < 0 {
				return -1, fmt.Errorf("%w: tokenizer.json: post-processor token %q has no single id", ErrVocab, name)
			}
			return st.IDs[0], nil
		}
		s := pp.Single
		seq := -1
		for i, item := range s {
			if item.Sequence != nil {
				seq = i
			}
		}
		if seq < 0 || seq > 1 || len(s)-seq > 2 || (seq == 1 && s[0].SpecialToken == nil) || (len(s)-seq == 2 && s[seq+1].SpecialToken == nil) {
			return -1, -1, fmt.Errorf("%w: tokenizer.json: the post-processor's single template is not [BOS] $A [EOS]", ErrVocab)
		}
		if seq == 1 {
			if bos, err = id(s[0].SpecialToken.ID); err != nil {
				return
			}
		}
		if len(s)-seq == 2 {
			if eos, err = id(s[seq+1].SpecialToken.ID); err != nil {
				return
			}
		}
	default:
		return -1, -1, fmt.Errorf("%w: tokenizer.json: post-processor %s is not supported", ErrVocab, pp.Type)
	}
	if bos >= n || eos >= n || (pp.Type != "TemplateProcessing" && (bos < 0 || eos < 0)) {
		return -1, -1, fmt.Errorf("%w: tokenizer.json: post-processor ids %d, %d are out of range", ErrVocab, bos, eos)
	}
	return bos, eos, nil
}
