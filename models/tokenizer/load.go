package tokenizer

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// eogTexts are token texts llama.cpp treats as end of generation.
var eogTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>"}

// eotTexts are token texts llama.cpp takes for EOT when no eot_token_id key
// is present.
var eotTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>", "<｜end▁of▁sentence｜>"}

// Texts of fill-in-the-middle tokens recognised when their keys are absent.
var (
	fimPadTexts = []string{"<|fim_pad|>", "<fim-pad>", "<PAD>"}
	fimRepTexts = []string{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>"}
	fimSepTexts = []string{"<|file_sep|>"}
	fimPreTexts = []string{"<|fim_prefix|>", "<fim-prefix>", "<｜fim▁begin｜>", "<PRE>"}
	fimSufTexts = []string{"<|fim_suffix|>", "<fim-suffix>", "<｜fim▁hole｜>", "<SUF>"}
	fimMidTexts = []string{"<|fim_middle|>", "<fim-middle>", "<｜fim▁end｜>", "<MID>"}
)

// kvReader reads optional keys, remembering the first key that is present
// with a value of the wrong type.
type kvReader struct {
	md  metadata
	err error
}

func (r *kvReader) check(key string, ok bool, want string) bool {
	if !ok && r.err == nil && r.md.Has(key) {
		r.err = fmt.Errorf("%w: %s is not %s", ErrVocab, key, want)
	}
	return ok
}

func (r *kvReader) str(key string) (string, bool) {
	v, ok := r.md.String(key)
	return v, r.check(key, ok, "a string")
}

func (r *kvReader) boolean(key string) (bool, bool) {
	v, ok := r.md.Bool(key)
	return v, r.check(key, ok, "a bool")
}

func (r *kvReader) float32s(key string) ([]float32, bool) {
	v, ok := r.md.Float32s(key)
	return v, r.check(key, ok, "an array of float32")
}

func (r *kvReader) int32s(key string) ([]int32, bool) {
	v, ok := r.md.Int32s(key)
	return v, r.check(key, ok, "an array of int32")
}

// id reads a token id; a negative integer (some converters write -1 for
// "none") is not an id (readID then clears the default).
func (r *kvReader) id(key string) (uint64, bool) {
	if v, ok := r.md.Uint(key); ok {
		return v, true
	}
	if v, ok := r.md.Int(key); ok && v < 0 {
		return 0, false
	}
	r.check(key, false, "a non-negative integer")
	return 0, false
}

// missingOr describes why a required key could not be read.
func missingOr(md metadata, key, want string) string {
	if md.Has(key) {
		return "is not " + want
	}
	return "is missing"
}

// fromMetadata builds a Tokenizer from tokenizer.* keys, following
// llama.cpp's llama_vocab::load.
func fromMetadata(md metadata) (*Tokenizer, error) {
	kv := &kvReader{md: md}
	model, ok := kv.str(keyModel)
	if !ok {
		if kv.err != nil {
			return nil, kv.err
		}
		return nil, fmt.Errorf("%w: missing %s", ErrVocab, keyModel)
	}
	t := &Tokenizer{model: model, bos: -1, eos: -1, eot: -1, eom: -1, unk: -1, sep: -1, pad: -1}

	// Per-kind defaults (llama.cpp's), overridden by keys below.
	var bos, eos, unk, sep, pad = -1, -1, -1, -1, -1
	switch model {
	case "llama":
		t.kind = kindSPM
		bos, eos, unk = 1, 2, 0
		t.addSpacePrefix = true
		t.addBOS = true
		t.stripFirstSpace = true
	case "gpt2":
		t.kind = kindBPE
		bos, eos = 11, 11 // llama.cpp's defaults when the keys are absent
		t.cleanSpaces = true
	case "bert":
		t.kind = kindWPM
		bos, unk, sep, pad = 101, 100, 102, 0
		t.addBOS = true
		t.cleanSpaces = true
		t.stripFirstSpace = true
	case "t5":
		t.kind = kindUGM
		eos, unk, pad = 1, 2, 0
		t.addEOS = true
	default:
		return nil, fmt.Errorf("%w: %s %q is not supported (want llama, gpt2, bert or t5)", ErrVocab, keyModel, model)
	}

	pre, _ := kv.str(keyPre)
	if t.kind == kindBPE {
		p, err := lookupPre(pre)
		if err != nil {
			return nil, err
		}
		t.pre = p
		if p.cleanSpacesOff {
			t.cleanSpaces = false
		}
		t.ignoreMerges = p.ignoreMerges
		if p.addBOS {
			t.addBOS = true
		}
		if p.noBOS {
			bos = -1
		}
	}
	if v, ok := kv.boolean(keyAddSpacePrefix); ok {
		// llama.cpp prepends the space only for SentencePiece but strips
		// the first one when detokenizing any kind of vocabulary.
		t.addSpacePrefix = v && (t.kind == kindSPM || t.kind == kindUGM)
		t.stripFirstSpace = v
	}
	// WordPiece normalisation (llama.cpp reads these BertNormalizer options
	// since 2026; files without them are uncased).
	t.lowercase, t.stripAccents = true, true
	if v, ok := kv.boolean(keyLowercase); ok {
		t.lowercase, t.stripAccents = v, v
	}
	if v, ok := kv.boolean(keyStripAccents); ok {
		t.stripAccents = v
	}
	mergeSpaces, _ := kv.boolean(keyRemoveExtraWS)

	tokens, ok := md.Strings(keyTokens)
	if !ok {
		return nil, fmt.Errorf("%w: %s %s", ErrVocab, keyTokens, missingOr(md, keyTokens, "an array of strings"))
	}
	n := len(tokens)
	if n == 0 {
		return nil, fmt.Errorf("%w: %s is empty", ErrVocab, keyTokens)
	}
	if n > 1<<30 {
		return nil, fmt.Errorf("%w: %s has %d entries", ErrVocab, keyTokens, n)
	}
	var scores []float32
	if s, ok := kv.float32s(keyScores); ok {
		if len(s) != n {
			return nil, fmt.Errorf("%w: %s has %d entries, %s has %d", ErrVocab, keyScores, len(s), keyTokens, n)
		}
		scores = s
	} else if t.kind == kindSPM || t.kind == kindUGM {
		scores = make([]float32, n) // llama.cpp: score 0 when absent
	}
	var types []int32
	if ty, ok := kv.int32s(keyTokenType); ok {
		if len(ty) != n {
			return nil, fmt.Errorf("%w: %s has %d entries, %s has %d", ErrVocab, keyTokenType, len(ty), keyTokens, n)
		}
		types = ty
	}

	var err error
	if t.tokens, err = newStrTable(n, func(i int) string {
		if tokens[i] == "" {
			return "[EMPTY_" + strconv.Itoa(i) + "]" // as llama.cpp
		}
		return tokens[i]
	}); err != nil {
		return nil, err
	}
	t.attrs = make([]attr, n)
	t.ids = newVocabIndex(&t.tokens, n)
	t.scores = scores
	for i := range n {
		s := t.tokens.at(i)
		if prev, dup := t.ids.add(int32(i)); dup {
			return nil, fmt.Errorf("%w: %s: token %d repeats token %d (%q)", ErrVocab, keyTokens, i, prev, s)
		}
		t.maxTokenLen = max(t.maxTokenLen, len(s))
		a := attrNormal
		if types != nil {
			switch types[i] {
			case typeNormal:
				a = attrNormal
			case typeUnknown:
				a = attrUnknown
			case typeControl:
				a = attrControl
			case typeUserDefined:
				a = attrUserDefined
			case typeUnused:
				a = attrUnused
			case typeByte:
				a = attrByte
			default:
				a = 0 // undefined
			}
		}
		t.attrs[i] = a
	}

	if t.kind == kindBPE {
		merges, ok := md.Strings(keyMerges)
		if !ok && t.pre.mergesOptional && !md.Has(keyMerges) {
			ok = true // llama.cpp loads Kimi-K2 without merges
		}
		if !ok {
			return nil, fmt.Errorf("%w: %s %s (required by %s %q)", ErrVocab, keyMerges, missingOr(md, keyMerges, "an array of strings"), keyModel, model)
		}
		t.merges = make(map[string]int32, len(merges))
		for i, m := range merges {
			// llama.cpp splits a merge at its first space after the first
			// byte. Symbols never contain spaces, so a merge with another
			// space, or none, or a leading one, can never apply: leave it out.
			j := strings.IndexByte(m, ' ')
			if j < 1 || strings.IndexByte(m[j+1:], ' ') >= 0 {
				continue
			}
			if _, seen := t.merges[m]; !seen {
				t.merges[m] = int32(i)
			}
		}
	}

	// Special token ids from keys; an out-of-range id keeps the default.
	readID := func(key string, dst *int) {
		if v, ok := kv.id(key); ok && v < uint64(n) {
			*dst = int(v)
		} else if v, ok := md.Int(key); ok && v < 0 {
			*dst = -1 // "none", as converters that write -1 mean it
		}
	}
	eot, eom := -1, -1
	fimPre, fimSuf, fimMid, fimPad, fimRep, fimSep := -1, -1, -1, -1, -1, -1
	readID(keyBOS, &bos)
	if t.kind == kindWPM {
		// llama.cpp uses bos_token_id (default 101) as [CLS]; honour
		// cls_token_id when only it is present.
		if !md.Has(keyBOS) {
			readID(keyCLS, &bos)
		}
	}
	readID(keyEOS, &eos)
	readID(keyEOT, &eot)
	readID(keyEOM, &eom)
	readID(keyUNK, &unk)
	readID(keySEP, &sep)
	readID(keyPAD, &pad)
	readID(keyFIMPre, &fimPre)
	readID(keyFIMSuf, &fimSuf)
	readID(keyFIMMid, &fimMid)
	readID(keyFIMPad, &fimPad)
	readID(keyFIMRep, &fimRep)
	readID(keyFIMSep, &fimSep)
	readID(keyPrefixOld, &fimPre)
	readID(keySuffixOld, &fimSuf)
	readID(keyMiddleOld, &fimMid)
	valid := func(id int) int {
		if id < 0 || id >= n {
			return -1
		}
		return id
	}
	t.bos, t.eos, t.unk, t.sep, t.pad = valid(bos), valid(eos), valid(unk), valid(sep), valid(pad)
	if v, ok := kv.boolean(keyAddBOS); ok {
		t.addBOS = v
	}
	if v, ok := kv.boolean(keyAddEOS); ok {
		t.addEOS = v
	}
	if kv.err != nil {
		return nil, kv.err
	}

	// Tokens recognised by their text; each found one becomes a control
	// token, as in llama.cpp. Scanning in id order makes the choice among
	// several candidates deterministic (llama.cpp's depends on hash order).
	find := func(id *int, texts []string) {
		if *id >= 0 {
			return
		}
		best := -1
		for _, s := range texts {
			if i, ok := t.ids.get(s); ok && (best < 0 || int(i) < best) {
				best = int(i)
			}
		}
		if best >= 0 {
			*id = best
			t.attrs[best] |= attrControl
		}
	}
	find(&eot, eotTexts)
	find(&eom, []string{"<|eom_id|>"})
	find(&fimPre, fimPreTexts)
	find(&fimSuf, fimSufTexts)
	find(&fimMid, fimMidTexts)
	find(&fimPad, fimPadTexts)
	find(&fimRep, fimRepTexts)
	find(&fimSep, fimSepTexts)
	t.eot, t.eom = eot, eom

	t.eog = make([]bool, n)
	for _, id := range []int{fimPad, fimRep, fimSep, t.eos, eot, eom} {
		if id >= 0 {
			t.eog[id] = true
		}
	}
	for _, s := range eogTexts {
		if i, ok := t.ids.get(s); ok {
			t.eog[i] = true
			t.attrs[i] |= attrControl
		}
	}

	// Special tokens, longest text first (ties by id; llama.cpp's order among
	// equal lengths is unspecified).
	for i, a := range t.attrs {
		if a&(attrControl|attrUserDefined|attrUnknown) != 0 {
			t.specials = append(t.specials, int32(i))
		}
	}
	sort.SliceStable(t.specials, func(a, b int) bool {
		return len(t.tokens.at(int(t.specials[a]))) > len(t.tokens.at(int(t.specials[b])))
	})

	// Per-model token attributes llama.cpp sets by name.
	name, _ := kv.str(keyName)
	name = strings.ToLower(name)
	arch, _ := kv.str(keyArch)
	switch {
	case strings.Contains(pre, "jina-v2-de") || strings.Contains(pre, "jina-v2-es") || strings.Contains(pre, "jina-v2-code") ||
		strings.Contains(arch, "nomic-bert-moe") || strings.Contains(arch, "jina-bert-v3"):
		if i, ok := t.ids.get("<mask>"); ok {
			t.attrs[i] |= attrLStrip
		}
	case strings.Contains(name, "modern-bert"):
		if i, ok := t.ids.get("[MASK]"); ok {
			t.attrs[i] |= attrLStrip
		}
	case strings.Contains(name, "phi-3") || strings.Contains(name, "phi3"):
		for _, id := range t.specials {
			t.attrs[id] |= attrRStrip
		}
		if i, ok := t.ids.get("</s>"); ok {
			t.attrs[i] |= attrRStrip
		}
		for _, s := range []string{"<unk>", "<s>", "<|endoftext|>"} {
			if i, ok := t.ids.get(s); ok {
				t.attrs[i] &^= attrRStrip
			}
		}
	}
	if kv.err != nil {
		return nil, kv.err
	}
	t.trie = buildSpecialTrie(&t.tokens, t.specials)

	if t.kind == kindUGM {
		var cm *charsmap
		if md.Has(keyCharsmap) {
			b, ok := md.Bytes(keyCharsmap)
			if !ok {
				return nil, fmt.Errorf("%w: %s is not an array of uint8 or int8", ErrVocab, keyCharsmap)
			}
			var err error
			if cm, err = parseCharsmap(b); err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrVocab, keyCharsmap, err)
			}
		}
		if t.unk < 0 {
			return nil, fmt.Errorf("%w: a Unigram vocabulary needs an unknown token (%s)", ErrVocab, keyUNK)
		}
		t.ugm = newUGM(t, cm, mergeSpaces)
	}

	// Byte fallback table (SentencePiece): "<0xNN>", else the byte itself.
	for b := range t.byteTok {
		t.byteTok[b] = -1
		if i, ok := t.ids.get(fmt.Sprintf("<0x%02X>", b)); ok {
			t.byteTok[b] = i
		} else if i, ok := t.ids.getb([]byte{byte(b)}); ok {
			t.byteTok[b] = i
		}
	}

	if t.pieces, err = newStrTable(n, t.renderPiece); err != nil {
		return nil, err
	}
	return t, nil
}
