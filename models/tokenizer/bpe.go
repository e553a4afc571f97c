package tokenizer

import "unicode/utf8"

// byteToRune is GPT-2's byte-to-unicode table: printable Latin-1 bytes map
// to themselves, the other 68 bytes to U+0100 and up, in byte order.
var byteToRune, runeToByte = func() (b2r [256]rune, r2b map[rune]byte) {
	r2b = make(map[rune]byte, 256)
	n := rune(0)
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			b2r[b] = rune(b)
		} else {
			b2r[b] = 256 + n
			n++
		}
		r2b[b2r[b]] = byte(b)
	}
	return b2r, r2b
}()

// byteToUTF8 holds the UTF-8 text of byteToRune[b].
var byteToUTF8 = func() (t [256]string) {
	for b := range t {
		t[b] = string(byteToRune[b])
	}
	return t
}()

// bpeState is reused across the words of one Encode call.
type bpeState struct {
	syms []symbol
	q    mergeQueue
	word []byte // the current pre-token, mapped through byteToRune
	key  []byte // "left right" merge lookup key
	cpts []rune
	lens []int
}

// encodeBPEWord appends the tokens of one pre-token (already mapped through
// byteToRune) to out, following llama.cpp's llm_tokenizer_bpe: start from
// UTF-8 characters and repeatedly apply the lowest-ranked merge among
// adjacent pairs (leftmost on ties). A final symbol that is not a token is
// spelled byte by byte, dropping bytes that are not tokens either.
func (t *Tokenizer) encodeBPEWord(word []byte, st *bpeState, out []int) []int {
	if len(word) == 0 {
		return out
	}
	if t.ignoreMerges {
		if id, ok := t.ids.getb(word); ok {
			return append(out, int(id))
		}
	}
	syms := st.syms[:0]
	for off := 0; off < len(word); {
		n := min(utf8Len(word[off]), len(word)-off)
		i := int32(len(syms))
		syms = append(syms, symbol{prev: i - 1, next: i + 1, off: int32(off), n: int32(n)})
		off += n
	}
	syms[len(syms)-1].next = -1

	st.q = st.q[:0]
	try := func(l, r int32) {
		if l < 0 || r < 0 {
			return
		}
		a, b := syms[l], syms[r]
		// Symbols never contain a space (byteToRune maps it to "Ġ"), so
		// "left right" names the merge unambiguously.
		k := append(st.key[:0], word[a.off:a.off+a.n]...)
		k = append(k, ' ')
		k = append(k, word[b.off:b.off+b.n]...)
		st.key = k
		rank, ok := t.merges[string(k)]
		if !ok {
			return
		}
		st.q.push(bpePriority(rank), l, r, a.n+b.n)
	}
	for i := 1; i < len(syms); i++ {
		try(int32(i-1), int32(i))
	}
	for len(st.q) > 0 {
		b := st.q.pop()
		left := b.left()
		l, r := &syms[left], &syms[b.right]
		// Stale: a symbol's text only changes by growing, so equal sizes
		// mean equal texts.
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
		s := word[syms[i].off : syms[i].off+syms[i].n]
		if id, ok := t.ids.getb(s); ok {
			out = append(out, int(id))
			continue
		}
		for j := range s {
			if id, ok := t.ids.getb(s[j : j+1]); ok {
				out = append(out, int(id))
			}
		}
	}
	st.syms = syms
	return out
}

// encodeBPE appends the tokens of a raw fragment to out: pre-tokenize,
// map each pre-token's UTF-8 bytes through byteToRune, merge.
func (t *Tokenizer) encodeBPE(text string, st *bpeState, out []int) []int {
	st.cpts = decodeCpts(text, st.cpts[:0])
	cpts := st.cpts
	t.pre.split(cpts, &st.lens)
	pos := 0
	for _, n := range st.lens {
		buf := st.word[:0]
		for _, r := range cpts[pos : pos+n] {
			if r < utf8.RuneSelf {
				buf = append(buf, byteToUTF8[r]...)
				continue
			}
			var enc [4]byte
			for _, b := range appendCpt(enc[:0], r) {
				buf = append(buf, byteToUTF8[b]...)
			}
		}
		st.word = buf
		out = t.encodeBPEWord(buf, st, out)
		pos += n
	}
	return out
}
