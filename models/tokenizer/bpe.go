package tokenizer

import (
	"container/heap"
	"unicode/utf8"
)

// mergeKey is one entry of tokenizer.ggml.merges: the two token texts whose
// concatenation the merge forms.
type mergeKey struct{ left, right string }

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

// bpeBigram is a candidate merge of symbols left and right.
type bpeBigram struct {
	left, right int32
	rank        int32
	size        int32
}

// bpeQueue pops the lowest rank first, then the leftmost.
type bpeQueue []bpeBigram

func (q bpeQueue) Len() int { return len(q) }
func (q bpeQueue) Less(i, j int) bool {
	if q[i].rank != q[j].rank {
		return q[i].rank < q[j].rank
	}
	return q[i].left < q[j].left
}
func (q bpeQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *bpeQueue) Push(x any)   { *q = append(*q, x.(bpeBigram)) }
func (q *bpeQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// bpeState is reused across the words of one Encode call.
type bpeState struct {
	syms []symbol
	q    bpeQueue
	buf  []byte
}

// encodeBPEWord appends the tokens of one pre-token (already mapped through
// byteToRune) to out, following llama.cpp's llm_tokenizer_bpe: start from
// UTF-8 characters and repeatedly apply the lowest-ranked merge among
// adjacent pairs (leftmost on ties). A final symbol that is not a token is
// spelled byte by byte, dropping bytes that are not tokens either.
func (t *Tokenizer) encodeBPEWord(word string, st *bpeState, out []int) []int {
	if word == "" {
		return out
	}
	if t.ignoreMerges {
		if id, ok := t.ids[word]; ok {
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

	q := st.q[:0]
	try := func(l, r int32) {
		if l < 0 || r < 0 {
			return
		}
		a, b := syms[l], syms[r]
		rank, ok := t.merges[mergeKey{word[a.off : a.off+a.n], word[b.off : b.off+b.n]}]
		if !ok {
			return
		}
		heap.Push(&q, bpeBigram{left: l, right: r, rank: rank, size: a.n + b.n})
	}
	for i := 1; i < len(syms); i++ {
		try(int32(i-1), int32(i))
	}
	for q.Len() > 0 {
		b := heap.Pop(&q).(bpeBigram)
		l, r := &syms[b.left], &syms[b.right]
		// Stale: a symbol's text only changes by growing, so equal sizes
		// mean equal texts.
		if l.n == 0 || r.n == 0 || l.n+r.n != b.size {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = b.left
		}
		try(l.prev, b.left)
		try(b.left, l.next)
	}
	for i := int32(0); i >= 0; i = syms[i].next {
		s := word[syms[i].off : syms[i].off+syms[i].n]
		if id, ok := t.ids[s]; ok {
			out = append(out, int(id))
			continue
		}
		for j := 0; j < len(s); j++ {
			if id, ok := t.ids[s[j:j+1]]; ok {
				out = append(out, int(id))
			}
		}
	}
	st.syms, st.q = syms, q
	return out
}

// encodeBPE appends the tokens of a raw fragment to out: pre-tokenize,
// map each pre-token's UTF-8 bytes through byteToRune, merge.
func (t *Tokenizer) encodeBPE(text string, st *bpeState, out []int) []int {
	cpts := decodeCpts(text, nil)
	var lens []int
	t.pre.split(cpts, &lens)
	pos := 0
	for _, n := range lens {
		buf := st.buf[:0]
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
		st.buf = buf
		out = t.encodeBPEWord(string(buf), st, out)
		pos += n
	}
	return out
}
