package sample

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// off returns Params with every filter off at temperature t.
func off(t float32) Params {
	return Params{Temperature: t, TopP: 1, RepeatPenalty: 1}
}

func mustNew(t testing.TB, p Params, vocab int) *Sampler {
	t.Helper()
	s, err := New(p, vocab)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// logProbs returns the logits log(p) of a distribution.
func logProbs(p ...float64) []float32 {
	l := make([]float32, len(p))
	for i, v := range p {
		l[i] = float32(math.Log(v))
	}
	return l
}

// support samples many times and returns the set of ids drawn.
func support(t *testing.T, p Params, logits []float32, history []int) []int {
	t.Helper()
	s := mustNew(t, p, len(logits))
	seen := map[int]bool{}
	for range 3000 {
		id := s.Sample(logits, history)
		if id < 0 || id >= len(logits) {
			t.Fatalf("Sample returned %d", id)
		}
		seen[id] = true
	}
	var ids []int
	for id := range seen {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func TestRNGReferenceValues(t *testing.T) {
	// SplitMix64 from seed 0 starts 0xe220a8397b1dcdaf (the published value);
	// the xoshiro256** outputs were computed with an independent Python
	// implementation of the published algorithm.
	var x uint64
	if got := splitmix64(&x); got != 0xe220a8397b1dcdaf {
		t.Fatalf("splitmix64(0) = %#x", got)
	}
	for _, c := range []struct {
		seed uint64
		want []uint64
	}{
		{0, []uint64{0x99ec5f36cb75f2b4, 0xbf6e1f784956452a, 0x1a5f849d4933e6e0, 0x6aa594f1262d2d2c, 0xbba5ad4a1f842e59}},
		{42, []uint64{0x15780b2e0c2ec716, 0x6104d9866d113a7e, 0xae17533239e499a1, 0xecb8ad4703b360a1, 0xfde6dc7fe2ec5e64}},
	} {
		var r rng
		r.seed(c.seed)
		for i, w := range c.want {
			if got := r.uint64(); got != w {
				t.Fatalf("seed %d output %d = %#x, want %#x", c.seed, i, got, w)
			}
		}
	}
}

func TestExpLog(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	check := func(x float64) {
		got, want := exp64(x), math.Exp(x)
		if want == 0 || math.IsInf(want, 0) {
			if got != want && !(want == 0 && got < 1e-300) {
				t.Fatalf("exp64(%g) = %g, want %g", x, got, want)
			}
			return
		}
		if rel := math.Abs(got-want) / want; rel > 4e-16 {
			t.Fatalf("exp64(%g) = %g, want %g (rel %g)", x, got, want, rel)
		}
	}
	for _, x := range []float64{0, -0.5, 0.5, 1, -1, -1e-20, 1e-20, math.Ln2 / 2, -math.Ln2 / 2, -700, -745, -746, 709, 710, -20, -87.3} {
		check(x)
	}
	for range 100000 {
		check(r.Float64()*120 - 100)
	}
	if exp64(math.Inf(-1)) != 0 || !math.IsInf(exp64(math.Inf(1)), 1) || !math.IsNaN(exp64(math.NaN())) {
		t.Fatal("exp64 special values")
	}
	for _, x := range []float64{1, 0.05, 0.5, 1e-6, 1e-45, 0.999, 2, 1e10} {
		if got, want := log64(x), math.Log(x); math.Abs(got-want) > 4e-16*math.Max(1, math.Abs(want)) {
			t.Errorf("log64(%g) = %.17g, want %.17g", x, got, want)
		}
	}
	if !math.IsNaN(log64(0)) || !math.IsNaN(log64(-1)) {
		t.Error("log64 of non-positive must be NaN")
	}
}

func TestValidate(t *testing.T) {
	if err := (Params{}).Validate(); err != nil {
		t.Errorf("zero Params: %v", err)
	}
	if err := DefaultParams().Validate(); err != nil {
		t.Errorf("DefaultParams: %v", err)
	}
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	for _, c := range []struct {
		p    Params
		want string
	}{
		{Params{Temperature: -0.1}, "temperature"},
		{Params{Temperature: nan}, "temperature"},
		{Params{Temperature: inf}, "temperature"},
		{Params{TopK: -1}, "top-k"},
		{Params{TopP: 1.5}, "top-p"},
		{Params{TopP: -0.1}, "top-p"},
		{Params{TopP: nan}, "top-p"},
		{Params{MinP: 1.01}, "min-p"},
		{Params{MinP: nan}, "min-p"},
		{Params{RepeatPenalty: -1}, "repeat penalty"},
		{Params{RepeatPenalty: inf}, "repeat penalty"},
		{Params{RepeatLastN: -2}, "repeat-last-n"},
		{Params{PresencePenalty: nan}, "presence penalty"},
		{Params{FrequencyPenalty: inf}, "frequency penalty"},
	} {
		err := c.p.Validate()
		if err == nil || !errors.Is(err, ErrParams) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an ErrParams about %s", c.p, err, c.want)
		}
		if _, err := New(c.p, 10); err == nil {
			t.Errorf("New(%+v) accepted", c.p)
		}
	}
	// Every problem is reported at once.
	err := Params{Temperature: -1, TopK: -1, MinP: 2}.Validate()
	for _, w := range []string{"temperature", "top-k", "min-p"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("joined error %v lacks %s", err, w)
		}
	}
	for _, v := range []int{0, -1, MaxVocab + 1} {
		if _, err := New(Params{}, v); !errors.Is(err, ErrParams) {
			t.Errorf("New(vocab %d) = %v", v, err)
		}
	}
}

func TestGreedy(t *testing.T) {
	s := mustNew(t, Params{}, 6)
	for _, c := range []struct {
		logits []float32
		want   int
	}{
		{[]float32{0, 1, 5, 2, 5, -1}, 2},                       // tie: lowest id
		{[]float32{7, 7, 7, 7, 7, 7}, 0},                        // all equal
		{[]float32{float32(math.NaN()), -3, -2, -2, -9, -8}, 2}, // NaN ignored
		{[]float32{-1, -2, -3, -4, -5, -0.5}, 5},
	} {
		if got := s.Sample(c.logits, nil); got != c.want {
			t.Errorf("greedy %v = %d, want %d", c.logits, got, c.want)
		}
	}
	inf := float32(math.Inf(-1))
	if got := s.Sample([]float32{inf, inf, inf, inf, inf, inf}, nil); got != 0 {
		t.Errorf("all -Inf: %d", got)
	}
	if got := s.Sample([]float32{1, 2}, nil); got != -1 {
		t.Errorf("wrong length: %d", got)
	}
	if _, err := s.TrySample([]float32{1, 2}, nil); !errors.Is(err, ErrLogits) {
		t.Errorf("TrySample wrong length: %v", err)
	}
	// Filters never change the greedy choice.
	p := DefaultParams()
	p.Temperature = 0
	if got := mustNew(t, p, 6).Sample([]float32{0, 1, 5, 2, 5, -1}, nil); got != 2 {
		t.Errorf("greedy with filters = %d", got)
	}
}

func TestTopK(t *testing.T) {
	logits := []float32{1, 3, 2, 3, 0, 2.5}
	for _, c := range []struct {
		k    int
		want []int
	}{
		{1, []int{1}},          // tie between 1 and 3: the lower id
		{2, []int{1, 3}},       // both 3s
		{3, []int{1, 3, 5}},    // 3, 3, 2.5
		{4, []int{1, 2, 3, 5}}, // + 2
		{6, []int{0, 1, 2, 3, 4, 5}},
		{0, []int{0, 1, 2, 3, 4, 5}},
	} {
		p := off(1)
		p.TopK = c.k
		if got := support(t, p, logits, nil); !slices.Equal(got, c.want) {
			t.Errorf("top-k %d kept %v, want %v", c.k, got, c.want)
		}
	}
}

// TestSelectTop compares the heap selection with a full sort on random
// logits with many ties, NaNs and infinities.
func TestSelectTop(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 7, 100, 1000, 5000} {
		logits := make([]float32, n)
		for i := range logits {
			logits[i] = float32(r.IntN(20)) / 4
			switch r.IntN(50) {
			case 0:
				logits[i] = float32(math.NaN())
			case 1:
				logits[i] = float32(math.Inf(-1))
			case 2:
				logits[i] = float32(math.Inf(1))
			}
		}
		all := make([]cand, n)
		for i, v := range logits {
			all[i] = cand{int32(i), key(v)}
		}
		slices.SortFunc(all, func(a, b cand) int {
			switch {
			case worse(b, a):
				return -1
			case worse(a, b):
				return 1
			}
			return 0
		})
		s := &Sampler{cand: make([]cand, n)}
		for _, k := range []int{1, 2, 3, 40, 256, n} {
			if k > n {
				continue
			}
			got := s.cand[:s.selectTop(logits, k)]
			for i := range got {
				if got[i] != all[i] {
					t.Fatalf("n %d k %d: position %d = %+v, want %+v", n, k, i, got[i], all[i])
				}
			}
		}
	}
}

func TestTopP(t *testing.T) {
	logits := logProbs(0.05, 0.5, 0.1, 0.2, 0.15) // sorted: 1, 3, 4, 2, 0
	for _, c := range []struct {
		p    float32
		want []int
	}{
		{0.3, []int{1}},              // 0.5 >= 0.3
		{0.6, []int{1, 3}},           // 0.7 >= 0.6
		{0.8, []int{1, 3, 4}},        // 0.85
		{0.9, []int{1, 2, 3, 4}},     // 0.95
		{0.99, []int{0, 1, 2, 3, 4}}, // 1.0
		{1, []int{0, 1, 2, 3, 4}},
	} {
		for _, k := range []int{0, 5} { // the implicit and the explicit path
			p := off(1)
			p.TopP = c.p
			p.TopK = k
			if got := support(t, p, logits, nil); !slices.Equal(got, c.want) {
				t.Errorf("top-p %v (top-k %d) kept %v, want %v", c.p, k, got, c.want)
			}
		}
	}
	// top-k runs before top-p: of the best 2 (0.5, 0.2 renormalised to
	// 0.714, 0.286), top-p 0.75 keeps both.
	p := off(1)
	p.TopK, p.TopP = 2, 0.75
	if got := support(t, p, logits, nil); !slices.Equal(got, []int{1, 3}) {
		t.Errorf("top-k 2 + top-p 0.75 kept %v", got)
	}
}

// TestTopPLargeVocab checks the incremental selection of top-p against a
// direct computation over a large random vocabulary.
func TestTopPLargeVocab(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n = 20000
	logits := make([]float32, n)
	for i := range logits {
		logits[i] = float32(r.NormFloat64() * 0.5) // flat: top-p needs thousands
	}
	for _, tp := range []float32{0.1, 0.5, 0.9, 0.999} {
		p := off(1)
		p.TopP = tp
		s := mustNew(t, p, n)
		mx := float64(logits[argmax(logits)])
		var sum float64
		for _, v := range logits {
			sum += exp64(float64(v) - mx)
		}
		k := s.selectTop(logits, n)
		want, _ := s.cutTopP(k, mx, sum)
		// The incremental path inside draw must agree: the drawn tokens must
		// all be within the first `want` of the full sort.
		keep := map[int32]bool{}
		for _, c := range s.cand[:want] {
			keep[c.id] = true
		}
		for range 50 {
			if id := s.Sample(logits, nil); !keep[int32(id)] {
				t.Fatalf("top-p %v drew %d outside the %d kept", tp, id, want)
			}
		}
		if want < 2 || want == n {
			t.Fatalf("top-p %v kept %d of %d: test not meaningful", tp, want, n)
		}
	}
}

func TestMinP(t *testing.T) {
	logits := logProbs(0.05, 0.5, 0.1, 0.2, 0.15) // relative to max: .1 1 .2 .4 .3
	for _, c := range []struct {
		p    float32
		want []int
	}{
		{0.35, []int{1, 3}},
		{0.25, []int{1, 3, 4}},
		{0.15, []int{1, 2, 3, 4}},
		{0.05, []int{0, 1, 2, 3, 4}},
		{1, []int{1}},
	} {
		for _, k := range []int{0, 5} {
			p := off(1)
			p.MinP = c.p
			p.TopK = k
			if got := support(t, p, logits, nil); !slices.Equal(got, c.want) {
				t.Errorf("min-p %v (top-k %d) kept %v, want %v", c.p, k, got, c.want)
			}
			// min-p uses the logits before temperature: a high temperature
			// flattens the draw but not the set.
			p.Temperature = 5
			if got := support(t, p, logits, nil); !slices.Equal(got, c.want) {
				t.Errorf("min-p %v at temperature 5 kept %v, want %v", c.p, got, c.want)
			}
		}
	}
	// top-p runs before min-p: top-p 0.8 keeps {1,3,4}; min-p 0.5 relative to
	// the max then keeps only 1.
	p := off(1)
	p.TopP, p.MinP = 0.8, 0.5
	if got := support(t, p, logits, nil); !slices.Equal(got, []int{1}) {
		t.Errorf("top-p + min-p kept %v", got)
	}
}

func TestPenalties(t *testing.T) {
	base := []float32{2, -1, 0.5, 3, 1}
	history := []int{0, 1, 1, 3, 99, -5} // out-of-range ids are ignored
	p := Params{RepeatPenalty: 2, FrequencyPenalty: 0.5, PresencePenalty: 0.25, RepeatLastN: -1}
	s := mustNew(t, p, len(base))
	logits := slices.Clone(base)
	s.penalize(logits, history)
	// id 0: 2/2 - (1*0.5 + 0.25) = 0.25; id 1: -1*2 - (2*0.5 + 0.25) = -3.25;
	// id 3: 3/2 - 0.75 = 0.75; ids 2 and 4 untouched.
	want := []float32{0.25, -3.25, 0.5, 0.75, 1}
	if !slices.Equal(logits, want) {
		t.Errorf("penalized %v, want %v", logits, want)
	}
	s.restore(logits)
	if !slices.Equal(logits, base) {
		t.Errorf("restored %v, want %v", logits, base)
	}
	for _, c := range s.counts {
		if c != 0 {
			t.Fatal("counts not cleared")
		}
	}
	// Greedy with penalties: 4 (logit 1) now wins; the caller's logits are
	// unchanged afterwards.
	logits = slices.Clone(base)
	if got := s.Sample(logits, history); got != 4 {
		t.Errorf("greedy with penalties = %d, want 4", got)
	}
	if !slices.Equal(logits, base) {
		t.Errorf("Sample changed the logits: %v", logits)
	}
	// A window of 2 sees only [99, -5]: nothing in range, nothing changes.
	p.RepeatLastN = 2
	s = mustNew(t, p, len(base))
	if got := s.Sample(slices.Clone(base), history); got != 3 {
		t.Errorf("window 2: %d, want 3", got)
	}
	// A window of 4 sees [1, 3, 99, -5]: 3 becomes 0.75, 0 (2) wins.
	p.RepeatLastN = 4
	s = mustNew(t, p, len(base))
	if got := s.Sample(slices.Clone(base), history); got != 0 {
		t.Errorf("window 4: %d, want 0", got)
	}
	// The repeat penalty alone, llama.cpp's semantics.
	s = mustNew(t, Params{RepeatPenalty: 1.5, RepeatLastN: 64}, 3)
	logits = []float32{3, -2, 0}
	s.penalize(logits, []int{0, 1, 2})
	if want := []float32{2, -3, 0}; !slices.Equal(logits, want) {
		t.Errorf("repeat 1.5: %v, want %v", logits, want)
	}
	s.restore(logits)
}

func TestDeterminism(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const n = 1000
	logits := make([]float32, n)
	for i := range logits {
		logits[i] = float32(r.NormFloat64() * 2)
	}
	p := DefaultParams()
	p.Seed = 1234
	p.RepeatPenalty = 1.1
	run := func(s *Sampler) []int {
		var hist []int
		for range 200 {
			hist = append(hist, s.Sample(logits, hist))
		}
		return hist
	}
	s := mustNew(t, p, n)
	a := run(s)
	b := run(mustNew(t, p, n))
	if !slices.Equal(a, b) {
		t.Fatal("same seed, different tokens")
	}
	s.Reset()
	if c := run(s); !slices.Equal(a, c) {
		t.Fatal("Reset did not restart the sequence")
	}
	p.Seed = 1235
	if d := run(mustNew(t, p, n)); slices.Equal(a, d) {
		t.Fatal("different seeds, same 200 tokens")
	}
	// Pinned output: a change here changes every user's seeded generations.
	p.Seed = 1234
	got := run(mustNew(t, p, n))[:12]
	want := []int{699, 460, 382, 133, 595, 246, 672, 840, 967, 938, 837, 595}
	if !slices.Equal(got, want) {
		t.Errorf("seeded sequence changed: %v, want %v", got, want)
	}
}

// chiSquare returns the chi-square statistic of counts against the
// probabilities p (over the ids with p > 0) and fails on draws where p is 0.
func chiSquare(t *testing.T, counts []int, p []float64, draws int) float64 {
	t.Helper()
	var x2 float64
	for i, c := range counts {
		if p[i] == 0 {
			if c != 0 {
				t.Fatalf("id %d drawn %d times with probability 0", i, c)
			}
			continue
		}
		e := p[i] * float64(draws)
		x2 += (float64(c) - e) * (float64(c) - e) / e
	}
	return x2
}

// softmax returns softmax(logits/t) restricted to the ids in keep (all if nil).
func softmax(logits []float32, t float64, keep []int) []float64 {
	p := make([]float64, len(logits))
	var sum float64
	for i, l := range logits {
		if keep != nil && !slices.Contains(keep, i) {
			continue
		}
		p[i] = math.Exp(float64(l) / t)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

// TestDistribution draws 20,000 tokens with a fixed seed and compares the
// counts with softmax(logits/T) by a chi-square test at significance 0.001.
func TestDistribution(t *testing.T) {
	logits := []float32{1.0, 0.5, 0.2, 2.0, -1.0, 0.0, 1.5, 0.3}
	const draws = 20000
	for _, c := range []struct {
		name string
		p    Params
		keep []int
		crit float64 // chi-square quantile 0.999 for len(keep)-1 degrees of freedom
	}{
		{"T=0.7", off(0.7), nil, 24.32},
		{"T=1", off(1), nil, 24.32},
		{"T=1.8", off(1.8), nil, 24.32},
		{"T=0.7 top-k 3", Params{Temperature: 0.7, TopK: 3}, []int{0, 3, 6}, 13.82},
		{"T=1.3 min-p 0.2", Params{Temperature: 1.3, MinP: 0.2}, []int{0, 1, 3, 6}, 16.27},
		{"T=0.9 top-p 0.8", Params{Temperature: 0.9, TopP: 0.8}, []int{0, 1, 3, 6}, 16.27},
	} {
		c.p.Seed = 20240601
		s := mustNew(t, c.p, len(logits))
		counts := make([]int, len(logits))
		for range draws {
			counts[s.Sample(logits, nil)]++
		}
		want := softmax(logits, float64(c.p.Temperature), c.keep)
		x2 := chiSquare(t, counts, want, draws)
		t.Logf("%s: chi-square %.2f (critical %.2f), counts %v", c.name, x2, c.crit, counts)
		if x2 > c.crit {
			t.Errorf("%s: chi-square %.2f > %.2f: counts %v, want probabilities %.4f", c.name, x2, c.crit, counts, want)
		}
	}
	// The statistic can fail: the T=1 distribution drawn at T=0.7 is far off.
	s := mustNew(t, off(0.7), len(logits))
	counts := make([]int, len(logits))
	for range draws {
		counts[s.Sample(logits, nil)]++
	}
	if x2 := chiSquare(t, counts, softmax(logits, 1, nil), draws); x2 < 100 {
		t.Errorf("chi-square cannot tell T=0.7 from T=1: %.2f", x2)
	}
}

func TestInfinities(t *testing.T) {
	inf := float32(math.Inf(1))
	ninf := float32(math.Inf(-1))
	for _, k := range []int{0, 3} {
		p := DefaultParams()
		p.TopK = k
		s := mustNew(t, p, 5)
		if got := s.Sample([]float32{1, inf, 2, inf, 0}, nil); got != 1 {
			t.Errorf("top-k %d +Inf: %d, want 1", k, got)
		}
		if got := s.Sample([]float32{ninf, ninf, ninf, ninf, ninf}, nil); got != 0 {
			t.Errorf("top-k %d all -Inf: %d, want 0", k, got)
		}
		// -Inf and NaN tokens are never drawn.
		logits := []float32{ninf, 0, float32(math.NaN()), 0, ninf}
		for range 500 {
			if got := s.Sample(logits, nil); got != 1 && got != 3 {
				t.Fatalf("top-k %d drew %d", k, got)
			}
		}
	}
}

func TestNoAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const n = 32000
	logits := make([]float32, n)
	for i := range logits {
		logits[i] = float32(r.NormFloat64() * 3)
	}
	hist := make([]int, 500)
	for i := range hist {
		hist[i] = r.IntN(n)
	}
	for _, p := range []Params{
		DefaultParams(),
		{Temperature: 0.7, TopP: 0.9, RepeatPenalty: 1.1, RepeatLastN: -1},
		{Temperature: 1, MinP: 0.1, FrequencyPenalty: 0.2, RepeatLastN: 64},
		{},
	} {
		s := mustNew(t, p, n)
		s.Sample(logits, hist)
		if a := testing.AllocsPerRun(20, func() { s.Sample(logits, hist) }); a != 0 {
			t.Errorf("%+v: %v allocations per Sample", p, a)
		}
	}
}

func benchmarkSample(b *testing.B, vocab int, p Params) {
	r := rand.New(rand.NewPCG(11, 12))
	logits := make([]float32, vocab)
	for i := range logits {
		logits[i] = float32(r.NormFloat64() * 3)
	}
	hist := make([]int, 256)
	for i := range hist {
		hist[i] = r.IntN(vocab)
	}
	s := mustNew(b, p, vocab)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s.Sample(logits, hist)
	}
}

func BenchmarkSample(b *testing.B) {
	topP := Params{Temperature: 0.8, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1.1, RepeatLastN: 64}
	for _, v := range []int{32000, 151936} {
		name := map[int]string{32000: "32000", 151936: "151936"}[v]
		b.Run("default/"+name, func(b *testing.B) { benchmarkSample(b, v, DefaultParams()) })
		b.Run("greedy/"+name, func(b *testing.B) { benchmarkSample(b, v, Params{}) })
		b.Run("topP-noTopK/"+name, func(b *testing.B) { benchmarkSample(b, v, topP) })
	}
}
