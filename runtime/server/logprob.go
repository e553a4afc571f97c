package server

import (
	"math"
	"strings"
)

// logprob returns the log probability of token id under logits (the
// model's distribution at temperature 1, before penalties), with the
// j.g.TopLogprobs most likely tokens.
func (s *Server) logprob(j *genJob, logits []float32, id int) tokenLogprob {
	// log-sum-exp in float64, shifted by the maximum.
	mx := math.Inf(-1)
	for _, v := range logits {
		if x := float64(v); x > mx {
			mx = x
		}
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - mx)
	}
	lse := mx + math.Log(sum)
	lp := func(i int) float64 {
		if i < 0 || i >= len(logits) {
			return math.Inf(-1)
		}
		return float64(logits[i]) - lse
	}
	text, bytes := s.tokenText(j, id)
	out := tokenLogprob{Token: text, Logprob: finite(lp(id)), Bytes: bytes, TopLogprobs: []topLogprob{}}
	for _, t := range topK(logits, j.g.TopLogprobs) {
		tt, tb := s.tokenText(j, t)
		out.TopLogprobs = append(out.TopLogprobs, topLogprob{Token: tt, Logprob: finite(lp(t)), Bytes: tb})
	}
	return out
}

// finite maps -Inf (a token the model rules out) to the most negative
// float64, since JSON has no infinities.
func finite(x float64) float64 {
	if math.IsInf(x, -1) || math.IsNaN(x) {
		return -math.MaxFloat64
	}
	return x
}

// topK returns the ids of the k largest logits, largest first, the lower id
// first among equals.
func topK(logits []float32, k int) []int {
	k = min(k, len(logits))
	if k <= 0 {
		return nil
	}
	top := make([]int, 0, k)
	for i, v := range logits {
		if len(top) == k && v <= logits[top[k-1]] {
			continue
		}
		// insert i after every entry >= v (ties keep the lower id first)
		p := len(top)
		for p > 0 && logits[top[p-1]] < v {
			p--
		}
		if len(top) < k {
			top = append(top, 0)
		}
		copy(top[p+1:], top[p:len(top)-1])
		top[p] = i
	}
	return top
}

// tokenText returns a token's text as generated (with its leading space
// where the vocabulary marks one) and its bytes, which may be part of a
// UTF-8 character.
func (s *Server) tokenText(j *genJob, id int) (string, []int) {
	t := j.sv.Decoder.Tokenizer()
	text := t.DecodeSpecial([]int{id})
	if strings.HasPrefix(t.Piece(id), "▁") && !strings.HasPrefix(text, " ") {
		text = " " + text // SentencePiece: the decoder drops a sequence's first space
	}
	b := make([]int, len(text))
	for i := range len(text) {
		b[i] = int(text[i])
	}
	return strings.ToValidUTF8(text, "\uFFFD"), b
}
