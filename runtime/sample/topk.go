package sample

// worse reports whether a ranks below b: a lower logit, or an equal logit and
// a higher id. Logits are already mapped through key (no NaN).
func worse(a, b cand) bool {
	return a.logit < b.logit || (a.logit == b.logit && a.id > b.id)
}

// selectTop fills s.cand[:k] with the k best tokens of logits (higher logit
// first, lower id first among equals) and returns k. It keeps a heap of the
// best k seen so far with the worst at its root, so most tokens cost one
// comparison: O(n + k log k log n) typical, O(n log k) worst, no allocation.
func (s *Sampler) selectTop(logits []float32, k int) int {
	k = min(k, len(logits))
	h := s.cand[:k]
	for i := range k {
		h[i] = cand{int32(i), key(logits[i])}
	}
	for i := k/2 - 1; i >= 0; i-- {
		siftDown(h, i)
	}
	for i := k; i < len(logits); i++ {
		// Ids only grow, so an equal logit is worse than the root.
		if v := key(logits[i]); v > h[0].logit {
			h[0] = cand{int32(i), v}
			siftDown(h, 0)
		}
	}
	// Heap sort: move the worst to the end, repeatedly.
	for end := k - 1; end > 0; end-- {
		h[0], h[end] = h[end], h[0]
		siftDown(h[:end], 0)
	}
	return k
}

// siftDown restores the worst-at-root heap property below i.
func siftDown(h []cand, i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && worse(h[r], h[l]) {
			m = r
		}
		if !worse(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
