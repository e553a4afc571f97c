package tokenizer

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// renderPiece returns the text token id stands for with special tokens
// shown, as llama.cpp's token_to_piece(special=true): SentencePiece and
// WordPiece pieces with "▁" read as a space, byte tokens as their byte,
// byte-level BPE pieces mapped back to bytes, control, unknown and
// user-defined tokens as their text, unused and undefined tokens as "".
func (t *Tokenizer) renderPiece(id int) string {
	a, s := t.attrs[id], t.tokens.at(id)
	if a&(attrSpecial|attrUserDefined) != 0 {
		return s
	}
	switch t.kind {
	case kindSPM, kindWPM, kindUGM:
		if a&attrNormal != 0 {
			return strings.ReplaceAll(s, "▁", " ")
		}
		if a&attrByte != 0 && t.kind != kindWPM {
			if len(s) == 6 && strings.HasPrefix(s, "<0x") && s[5] == '>' {
				if v, err := strconv.ParseUint(s[3:5], 16, 8); err == nil {
					return string([]byte{byte(v)})
				}
			}
		}
	case kindBPE:
		if a&attrNormal != 0 {
			return byteLevelDecode(s)
		}
	}
	return ""
}

// byteLevelDecode maps each code point of a byte-level BPE token back to its
// byte. A code point outside the mapping is written as llama.cpp does, as
// "[UNK_BYTE_0x<hex of its UTF-8>" followed by the whole token text and "]".
func byteLevelDecode(s string) string {
	var b []byte
	for i := 0; i < len(s); {
		r, n := decodeLenient(s, i)
		i += n
		if c, ok := runeToByte[r]; ok {
			b = append(b, c)
			continue
		}
		b = append(b, "[UNK_BYTE_0x"...)
		for _, c := range appendCpt(nil, r) {
			b = fmt.Appendf(b, "%02x", c)
		}
		b = append(b, s...)
		b = append(b, ']')
	}
	return string(b)
}

// Decode returns the text of a whole token sequence: the pieces
// concatenated, control and unknown tokens (BOS, EOS, <|im_end|>, ...)
// omitted, user-defined tokens as their text, as llama.cpp's detokenizer
// without special rendering. For SentencePiece vocabularies that add a
// leading space, and for WordPiece, the space the first word carries is
// dropped (also after a BOS), so Decode(Encode(s)) == s for ordinary text.
// Vocabularies with clean_up_tokenization_spaces (GPT-2, Falcon, BERT, ...)
// then remove the space before ? ! . , and in " 's", " 'm", " 're", " 've"
// and around a lone "'", as llama.cpp does. Out-of-range ids are skipped.
func (t *Tokenizer) Decode(ids []int) string { return t.decode(ids, false) }

// DecodeSpecial is Decode with control and unknown tokens written as their
// text ("<s>", "<|im_end|>"), as llama.cpp's detokenizer with special
// rendering.
func (t *Tokenizer) DecodeSpecial(ids []int) string { return t.decode(ids, true) }

func (t *Tokenizer) decode(ids []int, special bool) string {
	var b []byte
	strip := t.stripFirstSpace
	for _, id := range ids {
		if id < 0 || id >= t.pieces.len() || (!special && t.attrs[id]&attrSpecial != 0) {
			continue
		}
		p := t.pieces.at(id)
		if p == "" {
			continue
		}
		if strip {
			strip = false
			p = strings.TrimPrefix(p, " ")
		}
		b = append(b, p...)
	}
	if t.cleanSpaces {
		b = cleanSpaces(b)
	}
	return string(b)
}

// cleanSpaces applies llama.cpp's three clean-up passes in place: drop the
// space before ? ! . , ; drop both spaces around an apostrophe standing
// alone; drop the space before 's 'm 're 've (not 't 'd 'll).
func cleanSpaces(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	n := len(b)
	total := 1
	for i := 1; i < n; i++ {
		x := b[i]
		if b[i-1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',') {
			total--
		}
		b[total] = x
		total++
	}

	n = total
	total = 1
	for i := 1; i < n; i++ {
		x := b[i]
		if x == '\'' && i+1 < n && b[i-1] == ' ' && b[i+1] == ' ' {
			total--
			i++
			b[i] = 0 // the next space is skipped; the NUL only blocks a following match, as in llama.cpp
		}
		b[total] = x
		total++
	}

	n = total
	total = 1
	for i := 1; i < n; i++ {
		x := b[i]
		if b[i-1] == ' ' && x == '\'' && i+1 < n {
			x1 := b[i+1]
			switch {
			case x1 == 't' || x1 == 'd':
			case x1 == 's' || x1 == 'm':
				total--
			case i+2 < n:
				x2 := b[i+2]
				if (x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e') {
					total--
				}
			}
		}
		b[total] = x
		total++
	}
	return b[:total]
}

// StreamDecoder turns tokens into text one at a time, as they are
// generated, holding back the bytes of a UTF-8 character until its last
// byte arrives (a character may be spelled by several byte tokens).
// Concatenating what Push and Flush return gives the pieces of the tokens
// as llama.cpp streams them: control tokens omitted, no clean-up of spaces.
// A stream that starts with BOS is a whole sequence and drops the phantom
// leading space of its first word like Decode; any other stream is a
// continuation and keeps it (" time" after "Once upon a"); to continue a
// prompt that is BOS alone, Push that BOS first.
type StreamDecoder struct {
	t       *Tokenizer
	pending []byte
	pushed  bool
	strip   bool
}

// NewStreamDecoder returns a StreamDecoder for t.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder { return &StreamDecoder{t: t} }

// Push adds token id and returns the text that is now complete (possibly
// ""). Out-of-range ids are ignored.
func (d *StreamDecoder) Push(id int) string {
	t := d.t
	if !d.pushed {
		d.pushed = true
		d.strip = id == t.bos && t.stripFirstSpace
	}
	if id < 0 || id >= t.pieces.len() || t.attrs[id]&attrSpecial != 0 {
		return ""
	}
	p := t.pieces.at(id)
	if p == "" {
		return ""
	}
	if d.strip {
		d.strip = false
		p = strings.TrimPrefix(p, " ")
	}
	d.pending = append(d.pending, p...)
	cut := completeUTF8(d.pending)
	if cut == 0 {
		return ""
	}
	s := string(d.pending[:cut])
	d.pending = append(d.pending[:0], d.pending[cut:]...)
	return s
}

// Flush returns the bytes still held back (an incomplete UTF-8 sequence at
// the end of the stream) and resets the decoder for a new stream.
func (d *StreamDecoder) Flush() string {
	s := string(d.pending)
	*d = StreamDecoder{t: d.t, pending: d.pending[:0]}
	return s
}

// completeUTF8 returns the length of the longest prefix of b that does not
// end inside a UTF-8 sequence that could still be completed. Bytes that can
// never be part of a valid sequence are not held back.
func completeUTF8(b []byte) int {
	i := len(b) - 1
	for i > 0 && i > len(b)-utf8.UTFMax && b[i]&0xC0 == 0x80 {
		i--
	}
	if i < 0 || utf8.FullRune(b[i:]) {
		return len(b)
	}
	return i
}
