package tokenizer

import "unicode"

// wpmWords splits text into WordPiece words as llama.cpp's
// llm_tokenizer_wpm preprocess does. With stripAccents each code point is
// replaced by the first code point of its canonical decomposition (which
// strips accents from precomposed letters) and combining marks (\p{M}) are
// dropped; with lowercase it is lower-cased. Whitespace separates words;
// NUL, U+FFFD and control/format characters are dropped; punctuation, ASCII
// symbols and CJK ideographs are words of their own.
func wpmWords(text string, lowercase, stripAccents bool) []string {
	var words []string
	var cur []byte
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = cur[:0]
		}
	}
	for i := 0; i < len(text); {
		r, n := decodeLenient(text, i)
		i += n
		if stripAccents {
			r = nfdFirstOf(r)
		}
		f := cptFlags(r)
		if f&flagWhitespace != 0 {
			flush()
			continue
		}
		if r == 0 || r == unicode.ReplacementChar || f&flagControl != 0 {
			continue
		}
		if stripAccents && f&flagMark != 0 {
			continue
		}
		lr := r
		if lowercase {
			lr = unicode.ToLower(r)
		}
		if f&flagPunctuation != 0 || (r < 0x7F && f&flagSymbol != 0) || isChineseChar(r) {
			flush()
			words = append(words, string(appendCpt(nil, lr)))
			continue
		}
		cur = appendCpt(cur, lr)
	}
	flush()
	return words
}

// isChineseChar reports the CJK blocks BERT splits into single characters
// (with the upper bound of Extension C/D as the Hugging Face code has it).
func isChineseChar(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) ||
		(r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B920 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}

// encodeWPM appends the WordPiece tokens of text to out. The GGUF
// vocabulary marks word-initial pieces with "▁" (instead of marking
// continuations with "##"), so each word is looked up as "▁"+word, greedily
// taking the longest vocabulary entry at each position; a word with a
// position no entry matches becomes a single UNK.
func (t *Tokenizer) encodeWPM(text string, out []int) []int {
	for _, w := range wpmWords(text, t.lowercase, t.stripAccents) {
		word := "▁" + w
		start := len(out)
		for i := 0; i < len(word); {
			matched := false
			for j := min(len(word), i+t.maxTokenLen+1); j > i; j-- {
				if id, ok := t.ids.get(word[i:j]); ok {
					out = append(out, int(id))
					i = j
					matched = true
					break
				}
			}
			if !matched {
				out = out[:start]
				break
			}
		}
		if len(out) == start && t.unk >= 0 {
			out = append(out, t.unk)
		}
	}
	return out
}
