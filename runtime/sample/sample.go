// Package sample chooses the next token from a model's logits.
//
// A Sampler runs the chain of llama.cpp's default sampler (common/sampling):
//
//	penalties -> top-k -> top-p -> min-p -> temperature -> draw
//
// (llama.cpp's DRY, typical-p, XTC and top-n-sigma stages sit in between in
// its default order but are off by default; they are not implemented here.)
// Temperature 0 is greedy decoding: the highest logit after the penalties,
// the lowest token id among equal logits.
//
// Sampling is deterministic: the same Params (seed included), logits and
// history give the same token on every run and every platform. The random
// numbers come from xoshiro256** seeded with SplitMix64 (see rng.go), the
// exponentials and logarithms from this package's own float64 routines whose
// operations are explicitly rounded (so the compiler cannot fuse them into
// platform-dependent fused multiply-adds), and every sum runs in a fixed
// order. Each non-greedy call of Sample draws exactly one random number, so
// the n-th token always uses the n-th draw.
//
// SampleMasked restricts a draw to the tokens of a mask (constrained
// sampling: runtime/grammar computes the mask); the mask applies before the
// chain, so every stage sees only allowed tokens.
//
// After its first call a Sampler does not allocate: its buffers are sized
// for the vocabulary by New.
package sample

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrParams is wrapped by the errors of Params.Validate and New.
var ErrParams = errors.New("invalid sampling parameters")

// ErrLogits is wrapped by TrySample's error for logits of the wrong length.
var ErrLogits = errors.New("logits do not match the vocabulary")

// MaxVocab bounds the vocabulary size New accepts (the largest real
// vocabularies have about 262,000 tokens).
const MaxVocab = 1 << 22

// Params configure a Sampler. The zero value is valid and means greedy
// decoding without penalties; start from DefaultParams for sampling.
type Params struct {
	// Temperature divides the logits before the draw; 0 = greedy (argmax,
	// the lowest id wins ties). Must be finite and >= 0.
	Temperature float32
	// TopK keeps the k most likely tokens; 0 = off.
	TopK int
	// TopP keeps the smallest set of most likely tokens whose probabilities
	// (at temperature 1) add up to at least TopP; 1 = off (0, the zero value,
	// is off too). Must be in [0, 1].
	TopP float32
	// MinP keeps the tokens whose probability (at temperature 1) is at least
	// MinP times the most likely token's; 0 = off. Must be in [0, 1].
	MinP float32
	// RepeatPenalty divides the positive logits and multiplies the negative
	// ones of the tokens in the penalty window (llama.cpp's semantics);
	// 1 = off (0, the zero value, is off too). Must be finite and >= 0.
	RepeatPenalty float32
	// RepeatLastN is the penalty window: the last RepeatLastN tokens of the
	// history; 0 = no penalties, -1 = the whole history.
	RepeatLastN int
	// PresencePenalty is subtracted from the logit of every token in the
	// window; 0 = off. Must be finite.
	PresencePenalty float32
	// FrequencyPenalty times the token's count in the window is subtracted
	// from its logit; 0 = off. Must be finite.
	FrequencyPenalty float32
	// Seed selects the random sequence. Every seed, 0 included, is an
	// ordinary seed; pick a random one (e.g. from crypto/rand) for varied
	// output.
	Seed uint64
}

// DefaultParams returns llama.cpp's default sampling settings: temperature
// 0.8, top-k 40, top-p 0.95, min-p 0.05, repeat penalty 1.0 (off) over the
// last 64 tokens, no presence or frequency penalty, seed 0.
func DefaultParams() Params {
	return Params{
		Temperature:   0.8,
		TopK:          40,
		TopP:          0.95,
		MinP:          0.05,
		RepeatPenalty: 1,
		RepeatLastN:   64,
	}
}

// Validate reports every out-of-range field in one error wrapping ErrParams.
func (p Params) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("sample: "+format+": %w", append(args, ErrParams)...))
	}
	finite := func(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
	if !finite(p.Temperature) || p.Temperature < 0 {
		bad("temperature %v must be finite and >= 0 (0 = greedy)", p.Temperature)
	}
	if p.TopK < 0 {
		bad("top-k %d must be >= 0 (0 = off)", p.TopK)
	}
	if !(p.TopP >= 0 && p.TopP <= 1) {
		bad("top-p %v must be in [0, 1] (1 = off)", p.TopP)
	}
	if !(p.MinP >= 0 && p.MinP <= 1) {
		bad("min-p %v must be in [0, 1] (0 = off)", p.MinP)
	}
	if !finite(p.RepeatPenalty) || p.RepeatPenalty < 0 {
		bad("repeat penalty %v must be finite and >= 0 (1 = off)", p.RepeatPenalty)
	}
	if p.RepeatLastN < -1 {
		bad("repeat-last-n %d must be >= -1 (0 = off, -1 = whole history)", p.RepeatLastN)
	}
	if !finite(p.PresencePenalty) {
		bad("presence penalty %v must be finite", p.PresencePenalty)
	}
	if !finite(p.FrequencyPenalty) {
		bad("frequency penalty %v must be finite", p.FrequencyPenalty)
	}
	return errors.Join(errs...)
}

// cand is a candidate token: its id and (penalized) logit.
type cand struct {
	id    int32
	logit float32
}

// Sampler draws tokens with fixed Params. It is not safe for concurrent use.
type Sampler struct {
	p     Params
	vocab int
	rng   rng

	topK      int     // effective top-k; 0 = off
	topP      float64 // effective top-p; 1 = off
	logMinP   float64 // log(MinP), valid when MinP > 0
	penalties bool    // any penalty active
	repeat    float32 // effective repeat penalty (1 = off)

	cand   []cand    // (top-k, or vocab for top-p alone) the explicit candidate list, best first
	w      []float64 // (len(cand), or vocab without top-k) the candidates' weights for the draw
	counts []int32   // (vocab) token counts in the penalty window; all zero between calls
	seen   []int32   // (distinct tokens in the window) ids whose count is set
	saved  []float32 // (len(seen)) the caller's logits of those ids, restored on return

	hw [numBuckets]float64 // top-p histogram: probability mass per bucket

	masked []float32 // (vocab) SampleMasked's logits: disallowed tokens at -Inf
}

// New returns a Sampler for a vocabulary of vocab tokens.
func New(p Params, vocab int) (*Sampler, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if vocab <= 0 || vocab > MaxVocab {
		return nil, fmt.Errorf("sample: vocabulary size %d out of range [1, %d]: %w", vocab, MaxVocab, ErrParams)
	}
	s := &Sampler{p: p, vocab: vocab, topP: 1, repeat: 1}
	if p.TopK > 0 && p.TopK < vocab {
		s.topK = p.TopK
	}
	if p.TopP > 0 && p.TopP < 1 {
		s.topP = float64(p.TopP)
	}
	if p.MinP > 0 {
		s.logMinP = min(log64(float64(p.MinP)), 0) // log64(1) is exactly 0
	}
	if p.RepeatPenalty != 0 {
		s.repeat = p.RepeatPenalty
	}
	s.penalties = p.RepeatLastN != 0 && (s.repeat != 1 || p.PresencePenalty != 0 || p.FrequencyPenalty != 0)
	if p.Temperature > 0 {
		switch {
		case s.topK > 0:
			s.cand = make([]cand, s.topK)
		case s.topP < 1:
			// top-p without top-k may need every token sorted.
			s.cand = make([]cand, vocab)
		}
		s.w = make([]float64, max(len(s.cand), vocab*btoi(s.topK == 0)))
	}
	if s.penalties {
		// At most min(vocab, window) distinct tokens: these never grow.
		distinct := vocab
		if p.RepeatLastN > 0 {
			distinct = min(vocab, p.RepeatLastN)
		}
		s.counts = make([]int32, vocab)
		s.seen = make([]int32, 0, distinct)
		s.saved = make([]float32, 0, distinct)
	}
	s.rng.seed(p.Seed)
	return s, nil
}

// Params returns the Sampler's parameters.
func (s *Sampler) Params() Params { return s.p }

// Reset puts the random sequence back to its seeded start.
func (s *Sampler) Reset() { s.rng.seed(s.p.Seed) }

// Sample returns the next token id for logits (one per vocabulary entry)
// after history (the previous token ids: prompt and generated, oldest
// first). History ids outside the vocabulary are ignored. NaN logits count as
// -Inf. If every logit is -Inf the lowest id is returned; if some are +Inf,
// the lowest id among them.
//
// Sample writes the penalized logits into logits while it runs and restores
// the caller's values before it returns, so logits must not be read
// concurrently. It returns -1 if len(logits) is not the vocabulary size given
// to New; TrySample reports that as an error instead.
func (s *Sampler) Sample(logits []float32, history []int) int {
	if len(logits) != s.vocab {
		return -1
	}
	if s.penalties {
		s.penalize(logits, history)
		defer s.restore(logits)
	}
	if s.p.Temperature == 0 {
		return argmax(logits)
	}
	return s.draw(logits)
}

// SampleMasked is Sample restricted to the tokens whose bit is set in
// allowed (bit id%64 of allowed[id/64]), as constrained sampling (a grammar)
// needs: the mask is applied before the chain, after the penalties, so
// top-k, top-p, min-p and temperature only see allowed tokens and greedy
// decoding picks the best allowed one. An allowed token whose logit is -Inf
// or NaN still beats every disallowed one (it is drawn only when no allowed
// token has a finite logit). It returns -1 if no token is allowed, if allowed
// is shorter than the vocabulary needs, or if len(logits) is not the
// vocabulary size. Like Sample it draws exactly one random number per
// non-greedy call and leaves logits as it found them.
func (s *Sampler) SampleMasked(logits []float32, history []int, allowed []uint64) int {
	if len(logits) != s.vocab || len(allowed) < (s.vocab+63)/64 {
		return -1
	}
	if s.penalties {
		s.penalize(logits, history)
		defer s.restore(logits)
	}
	if s.masked == nil {
		s.masked = make([]float32, s.vocab)
	}
	m := s.masked
	allowedAny := false
	lowest := float32(-math.MaxFloat32)
	negInf := float32(math.Inf(-1))
	for w := range (s.vocab + 63) / 64 {
		base := w * 64
		n := min(64, s.vocab-base)
		bits := allowed[w]
		if n < 64 {
			bits &= 1<<n - 1 // bits past the vocabulary do not count
		}
		if bits == 0 {
			for i := range n {
				m[base+i] = negInf
			}
			continue
		}
		allowedAny = true
		for i := range n {
			if bits>>i&1 == 0 {
				m[base+i] = negInf
				continue
			}
			v := logits[base+i]
			if !(v >= lowest) { // -Inf or NaN
				v = lowest
			}
			m[base+i] = v
		}
	}
	if !allowedAny {
		return -1
	}
	if s.p.Temperature == 0 {
		return argmax(m)
	}
	return s.draw(m)
}

// TrySample is Sample with an error wrapping ErrLogits for logits of the
// wrong length.
func (s *Sampler) TrySample(logits []float32, history []int) (int, error) {
	if len(logits) != s.vocab {
		return -1, fmt.Errorf("sample: %d logits for a vocabulary of %d: %w", len(logits), s.vocab, ErrLogits)
	}
	return s.Sample(logits, history), nil
}

// penalize applies the repeat, presence and frequency penalties in place,
// saving the original values for restore.
func (s *Sampler) penalize(logits []float32, history []int) {
	window := history
	if n := s.p.RepeatLastN; n > 0 && len(window) > n {
		window = window[len(window)-n:]
	}
	s.seen = s.seen[:0]
	for _, id := range window {
		if id < 0 || id >= s.vocab {
			continue
		}
		if s.counts[id] == 0 {
			s.seen = append(s.seen, int32(id))
		}
		s.counts[id]++
	}
	s.saved = s.saved[:0]
	for _, id := range s.seen {
		l := logits[id]
		s.saved = append(s.saved, l)
		if l <= 0 {
			l *= s.repeat
		} else {
			l /= s.repeat
		}
		// float32(...) keeps the product rounded on its own (no fused
		// multiply-add), so every platform computes the same value.
		pen := float32(float32(s.counts[id])*s.p.FrequencyPenalty) + s.p.PresencePenalty
		logits[id] = l - pen
	}
}

// restore puts back the logits penalize changed and clears the counts.
func (s *Sampler) restore(logits []float32) {
	for i, id := range s.seen {
		logits[id] = s.saved[i]
		s.counts[id] = 0
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// key maps NaN to -Inf so that comparisons order every logit.
func key(v float32) float32 {
	if v != v {
		return float32(math.Inf(-1))
	}
	return v
}

// argmax returns the index of the largest logit, the lowest among equals;
// NaN counts as -Inf.
func argmax(logits []float32) int {
	best, id := key(logits[0]), 0
	for i, v := range logits[1:] {
		if v > best {
			best, id = v, i+1
		}
	}
	return id
}

// draw runs top-k, top-p, min-p and temperature and draws a token.
//
// The candidates are either explicit (s.cand[:n], best first: higher logit,
// then lower id) or, when no filter needed a sorted list, implicit: every
// token with a logit >= floor, in id order.
func (s *Sampler) draw(logits []float32) int {
	u := s.rng.float64() // exactly one draw per call
	explicit := false
	n := 0
	if s.topK > 0 {
		n = s.selectTop(logits, s.topK)
		explicit = true
	}
	var maxl float32
	if explicit {
		maxl = s.cand[0].logit
	} else {
		maxl = logits[argmax(logits)]
	}
	if math.IsInf(float64(maxl), 0) {
		// No finite softmax: -Inf everywhere or +Inf somewhere. Take the
		// best candidate (the lowest id among the largest).
		if explicit {
			return int(s.cand[0].id)
		}
		return argmax(logits)
	}
	mx := float64(maxl)

	// top-p, on the probabilities at temperature 1.
	if s.topP < 1 {
		var sum float64
		if explicit {
			for _, c := range s.cand[:n] {
				sum += exp64(float64(c.logit) - mx)
			}
			n, _ = s.cutTopP(n, mx, sum)
		} else {
			n = s.topPAll(logits, mx)
			explicit = true
		}
	}

	// min-p: keep logit >= max + log(min-p), on the logits before temperature.
	floor := math.Inf(-1)
	if s.p.MinP > 0 {
		floor = mx + s.logMinP
		if explicit {
			k := 1 // the best candidate always stays
			for k < n && float64(s.cand[k].logit) >= floor {
				k++
			}
			n = k
		}
	}

	// temperature and the draw.
	t := float64(s.p.Temperature)
	if explicit {
		var sum float64
		for i, c := range s.cand[:n] {
			w := exp64((float64(c.logit) - mx) / t)
			s.w[i] = w
			sum += w
		}
		target := u * sum
		var acc float64
		for i, w := range s.w[:n] {
			acc += w
			if acc > target {
				return int(s.cand[i].id)
			}
		}
		return int(s.cand[0].id) // unreachable unless rounding: the best one
	}
	var sum float64
	for i, v := range logits {
		w := 0.0
		if l := float64(key(v)); l >= floor {
			w = exp64((l - mx) / t)
		}
		s.w[i] = w
		sum += w
	}
	target := u * sum
	var acc float64
	for i, w := range s.w {
		acc += w
		if acc > target {
			return i
		}
	}
	return argmax(logits) // unreachable unless rounding
}

// Histogram of the implicit top-p path: bucket b holds the tokens with
// max-logit in [b/bucketScale, (b+1)/bucketScale), the last one the rest.
const (
	numBuckets  = 1024
	bucketScale = 16
)

// topPAll runs top-p over every token (no top-k) without sorting them all:
// a histogram of probability mass over logit distance from the maximum mx
// tells which of the best tokens can reach top-p, and only those are gathered
// and sorted. It fills s.cand and returns the number kept.
func (s *Sampler) topPAll(logits []float32, mx float64) int {
	clear(s.hw[:])
	var sum float64
	for _, v := range logits {
		d := mx - float64(key(v)) // >= 0, +Inf for -Inf logits
		e := exp64(-d)
		sum += e
		b := numBuckets - 1
		if d < numBuckets/bucketScale {
			b = int(d * bucketScale)
		}
		s.hw[b] += e
	}
	// Take buckets until their mass reaches top-p, plus one more bucket as a
	// margin for the rounding of the bucket sums.
	var cum float64
	last := numBuckets - 1
	for b := range numBuckets {
		cum += s.hw[b] / sum
		if cum >= s.topP {
			last = min(b+1, numBuckets-1)
			break
		}
	}
	for {
		// Gather the tokens of buckets <= last and sort them, best first.
		n := 0
		for i, v := range logits {
			l := key(v)
			if d := mx - float64(l); last == numBuckets-1 || d < float64(last+1)/bucketScale {
				s.cand[n] = cand{int32(i), l}
				n++
			}
		}
		slices.SortFunc(s.cand[:n], func(a, b cand) int {
			if worse(a, b) {
				return 1
			}
			return -1 // no two candidates are equal: ids differ
		})
		// The gathered tokens are the best ones, in the order a sort of
		// all would put them: if their mass reaches top-p, the cut is final.
		if c, reached := s.cutTopP(n, mx, sum); reached || last == numBuckets-1 {
			return c
		}
		last = numBuckets - 1 // the margin was not enough: take everything
	}
}

// cutTopP returns how many of the n sorted candidates top-p keeps, given the
// maximum logit mx and the sum of exp(logit-mx) over all candidates, and
// whether their mass reached top-p (if not, all n are kept).
func (s *Sampler) cutTopP(n int, mx, sum float64) (int, bool) {
	var cum float64
	for i, c := range s.cand[:n] {
		cum += exp64(float64(c.logit)-mx) / sum
		if cum >= s.topP {
			return i + 1, true
		}
	}
	return n, false
}
