package tokenizer

import "strings"

// symbol is a run of bytes of the text being merged, linked to its
// neighbours; n == 0 marks a symbol merged into its left neighbour.
type symbol struct {
	prev, next int32
	off, n     int32
}

// spmEscape prepares a raw fragment for SentencePiece: an optional leading
// space, then every " " replaced by "▁".
func spmEscape(text string, prefixSpace bool) string {
	if prefixSpace {
		text = " " + text
	}
	return strings.ReplaceAll(text, " ", "▁")
}

// encodeSPM appends the SentencePiece tokens of text (already escaped) to
// out, following llama.cpp's llm_tokenizer_spm: start from UTF-8 characters,
// repeatedly merge the adjacent pair whose concatenation is the
// highest-scoring vocabulary entry (leftmost on ties), then emit each
// symbol's token, or its bytes through the byte-fallback tokens.
func (t *Tokenizer) encodeSPM(text string, out []int) []int {
	if text == "" {
		return out
	}
	syms := make([]symbol, 0, len(text))
	for off := 0; off < len(text); {
		n := min(utf8Len(text[off]), len(text)-off)
		i := int32(len(syms))
		syms = append(syms, symbol{prev: i - 1, next: i + 1, off: int32(off), n: int32(n)})
		off += n
	}
	syms[len(syms)-1].next = -1

	q := make(mergeQueue, 0, len(syms))
	try := func(l, r int32) {
		if l < 0 || r < 0 {
			return
		}
		s := text[syms[l].off : syms[l].off+syms[l].n+syms[r].n]
		id, ok := t.ids.get(s)
		if !ok {
			return
		}
		q.push(spmPriority(t.scores[id]), l, r, int32(len(s)))
	}
	for i := 1; i < len(syms); i++ {
		try(int32(i-1), int32(i))
	}
	for len(q) > 0 {
		b := q.pop()
		left := b.left()
		l, r := &syms[left], &syms[b.right]
		// Stale: one side already merged elsewhere.
		if l.n == 0 || r.n == 0 || l.n+r.n != b.size {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = left
		}
		try(l.prev, left)
		try(left, l.next)
	}

	for i := int32(0); i >= 0; i = syms[i].next {
		s := text[syms[i].off : syms[i].off+syms[i].n]
		if id, ok := t.ids.get(s); ok {
			out = append(out, int(id))
			continue
		}
		// Not a token: a merged symbol always is, so this is one character
		// the vocabulary lacks; spell it in bytes. Without byte tokens
		// (llama.cpp fails there) it becomes one UNK.
		bytesOK := true
		for j := 0; j < len(s); j++ {
			bytesOK = bytesOK && t.byteTok[s[j]] >= 0
		}
		switch {
		case bytesOK:
			for j := 0; j < len(s); j++ {
				out = append(out, int(t.byteTok[s[j]]))
			}
		case t.unk >= 0:
			out = append(out, t.unk)
		}
	}
	return out
}
