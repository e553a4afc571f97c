package tokenizer

import "math"

// mergeItem is a candidate merge of symbols left (the low 32 bits of key)
// and right, whose texts have size bytes together. The high 32 bits of key
// hold the merge's priority, lowest first, so that ordering by key is
// "best merge first, then leftmost".
type mergeItem struct {
	key   uint64
	right int32
	size  int32
}

func (m mergeItem) left() int32 { return int32(uint32(m.key)) }

// bpePriority orders BPE merges by rank, lowest first.
func bpePriority(rank int32) uint32 { return uint32(rank) }

// spmPriority orders SentencePiece merges by score, highest first.
func spmPriority(score float32) uint32 {
	if score == 0 {
		score = 0 // -0 ties with +0, as in a float comparison
	}
	b := math.Float32bits(score)
	if b&(1<<31) != 0 {
		b = ^b // negative: larger magnitude sorts lower
	} else {
		b |= 1 << 31
	}
	return ^b // highest score first
}

// mergeQueue is a binary min-heap of merges by key.
type mergeQueue []mergeItem

func (q *mergeQueue) push(p uint32, left, right, size int32) {
	*q = append(*q, mergeItem{key: uint64(p)<<32 | uint64(uint32(left)), right: right, size: size})
	h := *q
	i := len(h) - 1
	for i > 0 {
		par := (i - 1) / 2
		if h[par].key <= h[i].key {
			break
		}
		h[i], h[par] = h[par], h[i]
		i = par
	}
}

func (q *mergeQueue) pop() mergeItem {
	h := *q
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h[r].key < h[l].key {
			m = r
		}
		if h[i].key <= h[m].key {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}
