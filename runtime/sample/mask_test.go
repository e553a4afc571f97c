package sample

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// SampleMasked gives what Sample gives on logits whose disallowed tokens
// are -Inf, never a disallowed token, and leaves the logits unchanged.
func TestSampleMasked(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	params := []Params{
		{},
		DefaultParams(),
		{Temperature: 1},
		{Temperature: 0.7, TopP: 0.9},
		{Temperature: 1.2, TopK: 5, MinP: 0.1},
		{Temperature: 0.9, RepeatPenalty: 1.3, RepeatLastN: 8, FrequencyPenalty: 0.2},
		{RepeatPenalty: 1.5, RepeatLastN: -1},
	}
	for _, vocab := range []int{1, 63, 64, 65, 200, 1000} {
		for pi, p := range params {
			for seed := range 20 {
				p.Seed = uint64(seed)
				a, b := mustNew(t, p, vocab), mustNew(t, p, vocab)
				logits := make([]float32, vocab)
				for i := range logits {
					logits[i] = float32(rng.NormFloat64() * 3)
				}
				mask := make([]uint64, (vocab+63)/64+1) // a word too many is fine
				density := rng.Float64()
				for i := range vocab {
					if rng.Float64() < density {
						mask[i/64] |= 1 << (i % 64)
					}
				}
				mask[len(mask)-1] = ^uint64(0) // bits past the vocabulary are ignored
				allowed := 0
				for i := range vocab {
					if mask[i/64]>>(i%64)&1 != 0 {
						allowed++
					}
				}
				history := []int{rng.IntN(vocab), rng.IntN(vocab), rng.IntN(vocab)}
				orig := slices.Clone(logits)
				for step := range 5 {
					got := a.SampleMasked(logits, history, mask)
					if !slices.Equal(logits, orig) {
						t.Fatal("SampleMasked changed the logits")
					}
					if allowed == 0 {
						if got != -1 {
							t.Fatalf("vocab %d: no token allowed but got %d", vocab, got)
						}
						continue
					}
					if got < 0 || got >= vocab || mask[got/64]>>(got%64)&1 == 0 {
						t.Fatalf("vocab %d params %d step %d: got disallowed token %d", vocab, pi, step, got)
					}
					ref := slices.Clone(logits)
					for i := range ref {
						if mask[i/64]>>(i%64)&1 == 0 {
							ref[i] = float32(math.Inf(-1))
						}
					}
					if want := b.Sample(ref, history); got != want {
						t.Fatalf("vocab %d params %d seed %d step %d: SampleMasked %d, Sample on masked logits %d", vocab, pi, seed, step, got, want)
					}
				}
			}
		}
	}
}

// Allowed tokens win over disallowed ones even with -Inf or NaN logits.
func TestSampleMaskedNonFinite(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	for _, p := range []Params{{}, DefaultParams(), {Temperature: 1, TopK: 2}, {Temperature: 1, TopP: 0.5}} {
		s := mustNew(t, p, 4)
		logits := []float32{5, nan, float32(math.Inf(-1)), 3}
		mask := []uint64{0b0110}
		for range 20 {
			if got := s.SampleMasked(logits, nil, mask); got != 1 && got != 2 {
				t.Fatalf("%+v: got %d, want 1 or 2", p, got)
			}
		}
		logits = []float32{inf, 1, inf, 2}
		mask = []uint64{0b1100}
		if got := s.SampleMasked(logits, nil, mask); got != 2 {
			t.Fatalf("%+v: got %d, want the allowed +Inf token 2", p, got)
		}
	}
	s := mustNew(t, Params{}, 70)
	if got := s.SampleMasked(make([]float32, 70), nil, []uint64{0}); got != -1 {
		t.Errorf("short mask: got %d, want -1", got)
	}
	if got := s.SampleMasked(make([]float32, 69), nil, []uint64{1, 1}); got != -1 {
		t.Errorf("short logits: got %d, want -1", got)
	}
}

func TestSampleMaskedNoAllocs(t *testing.T) {
	p := DefaultParams()
	p.RepeatPenalty = 1.1
	s := mustNew(t, p, 5000)
	logits := make([]float32, 5000)
	for i := range logits {
		logits[i] = float32(i % 17)
	}
	mask := make([]uint64, (5000+63)/64)
	for i := range mask {
		mask[i] = 0x5555555555555555
	}
	history := []int{1, 2, 3}
	s.SampleMasked(logits, history, mask)
	if n := testing.AllocsPerRun(20, func() { s.SampleMasked(logits, history, mask) }); n != 0 {
		t.Errorf("%v allocations per call", n)
	}
}
