package tokenizer

// TokenText returns the bytes token id adds to generated text, as
// StreamDecoder emits them (before its first-word space rule): "▁" read as a
// space, byte tokens as their byte (a token may hold part of a UTF-8
// character), byte-level BPE pieces mapped back to bytes, user-defined tokens
// as their text. It returns "" for control, unknown and unused tokens and for
// ids out of range: they add no text. Constrained sampling (runtime/grammar)
// matches these bytes against a grammar.
func (t *Tokenizer) TokenText(id int) string {
	if id < 0 || id >= t.pieces.len() || t.attrs[id]&attrSpecial != 0 {
		return ""
	}
	return t.pieces.at(id)
}

// IsControl reports whether id is a control or unknown token (BOS, EOS,
// <|im_start|>, <unk> ...): a token StreamDecoder and Decode never render.
func (t *Tokenizer) IsControl(id int) bool {
	return id >= 0 && id < len(t.attrs) && t.attrs[id]&attrSpecial != 0
}

// StripsFirstSpace reports whether a stream that starts with BOS drops the
// leading space of its first text, as StreamDecoder and Decode do for
// SentencePiece vocabularies that add a space prefix: after a prompt that is
// BOS alone, a first token "▁{" is emitted as "{".
func (t *Tokenizer) StripsFirstSpace() bool { return t.stripFirstSpace }
