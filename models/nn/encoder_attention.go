package nn

import (
	"errors"
	"fmt"
	"math"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/kernels"
)

// EncoderPass is the layout of one encoder pass: several texts packed back
// to back, text s in rows [Off[s], Off[s]+N[s]) at positions 0..N[s]-1.
type EncoderPass struct {
	Off, N []int
	Total  int   // Σ N
	Pos    []int // the position of every row (0, 1, ... within each text)
}

// ErrTooManyTokens is wrapped by EncoderPass.Set's error for a text longer
// than the model's context or a pass larger than the state.
var ErrTooManyTokens = errors.New("too many tokens")

// Set checks the texts of a pass (each non-empty, within ctxLen tokens, ids
// in [0, vocab), at most maxTokens in all, out holding dim values per
// token) and records their layout.
func (p *EncoderPass) Set(seqs [][]int, vocab, ctxLen, maxTokens, dim int, out []float32) error {
	p.Off, p.N, p.Pos, p.Total = p.Off[:0], p.N[:0], p.Pos[:0], 0
	for i, seq := range seqs {
		if len(seq) == 0 {
			return fmt.Errorf("text %d has no tokens", i)
		}
		if len(seq) > ctxLen {
			return fmt.Errorf("%w: text %d has %d tokens, the model's context is %d", ErrTooManyTokens, i, len(seq), ctxLen)
		}
		for _, t := range seq {
			if t < 0 || t >= vocab {
				return fmt.Errorf("text %d: token id %d out of range [0,%d)", i, t, vocab)
			}
		}
		p.Off = append(p.Off, p.Total)
		p.N = append(p.N, len(seq))
		p.Total += len(seq)
	}
	if p.Total > maxTokens {
		return fmt.Errorf("%w: %d tokens in one pass, the state holds %d", ErrTooManyTokens, p.Total, maxTokens)
	}
	if len(out) < p.Total*dim {
		return fmt.Errorf("output holds %d values, need %d", len(out), p.Total*dim)
	}
	for _, n := range p.N {
		for i := range n {
			p.Pos = append(p.Pos, i)
		}
	}
	return nil
}

// EncoderAttention is the self-attention of an encoder: each token of a
// text attends to the tokens of the same text (all of them, or those within
// a symmetric window, or, causal, those before it), optionally with ALiBi
// biases. The arithmetic is ggml-cpu's attention without a KV cache and
// without flash attention, as llama.cpp runs its encoders:
//
//   - scores q·k by ggml_vec_dot_f32's order (kernels.AttnDot), times Scale;
//   - ALiBi: score += slope·(-|i-j|), one fused multiply-add;
//   - softmax over the text's row (masked keys are -Inf, so they count as
//     ggml's do): whole groups of sixteen with ggml's vector expf, the rest
//     one at a time with expf, the sum in float64;
//   - the values as llamafile's tinyBLAS sums them (kernels.AttnValues)
//     when the text's length is a multiple of sixteen (and at least two),
//     else by ggml_vec_dot_f32's order, as ggml falls back to it.
type EncoderAttention struct {
	Heads    int       // query heads
	KVHeads  int       // key/value heads; Heads is a multiple
	HeadDim  int       // query and key values per head
	ValueDim int       // value values per head
	Scale    float32   // scores are q·k times Scale
	Causal   bool      // query i sees keys j <= i only
	Slopes   []float32 // ALiBi: per head, score -= slope·|i-j|; nil for none
	Window   int       // if > 0, query i sees keys j with |i-j| <= Window only (symmetric sliding window)
}

// Check returns an error unless a's sizes are consistent.
func (a *EncoderAttention) Check() error {
	if a.Heads <= 0 || a.KVHeads <= 0 || a.Heads%a.KVHeads != 0 || a.HeadDim <= 0 || a.ValueDim <= 0 || a.Window < 0 ||
		(a.Slopes != nil && len(a.Slopes) != a.Heads) {
		return fmt.Errorf("attention with %d heads, %d KV heads, head sizes %d/%d, window %d, %d ALiBi slopes",
			a.Heads, a.KVHeads, a.HeadDim, a.ValueDim, a.Window, len(a.Slopes))
	}
	return nil
}

// ALiBiSlopes returns the ALiBi slope of each of heads heads for the
// maximum bias maxBias, as ggml's soft_max computes them: with n the largest
// power of two not above heads, head h < n gets (2^(-maxBias/n))^(h+1), the
// others (2^(-maxBias/2n))^(2(h-n)+1), each power a float32 powf.
func ALiBiSlopes(heads int, maxBias float32) []float32 {
	nLog2 := 1 << uint(math.Floor(math.Log2(float64(heads))))
	m0 := powf(2, -maxBias/float32(nLog2))
	m1 := powf(2, -(maxBias/2)/float32(nLog2))
	s := make([]float32, heads)
	for h := range s {
		if h < nLog2 {
			s[h] = powf(m0, float32(h+1))
		} else {
			s[h] = powf(m1, float32(2*(h-nLog2)+1))
		}
	}
	return s
}

func powf(x, y float32) float32 { return float32(math.Pow(float64(x), float64(y))) }

// EncoderAttnScratch is the scratch memory of EncoderAttention.Run for
// passes of up to a number of tokens; one per state.
type EncoderAttnScratch struct {
	scores []float32 // per (text, head): one row of the text's length
	kt     []float32 // per (text, head): the head's keys transposed (HeadDim x length)
}

// NewEncoderAttnScratch allocates the scratch memory of a for passes of up
// to maxTokens tokens.
func NewEncoderAttnScratch(a *EncoderAttention, maxTokens int) *EncoderAttnScratch {
	return &EncoderAttnScratch{
		scores: make([]float32, a.Heads*maxTokens),
		kt:     make([]float32, a.Heads*a.HeadDim*maxTokens),
	}
}

// Run computes the attention of every text of the pass into out (rows of
// Heads·ValueDim values), one (text, head) pair per unit of work on pool.
// Row t's query is q[t*qs:], its key k[t*ks:] and its value v[t*vs:] (so
// that the three can be views of one fused QKV product), each head's values
// consecutive. A query's scores are computed against the head's keys
// transposed, sixteen at a time (kernels.AttnDotCols: each exactly
// AttnDot).
func (a *EncoderAttention) Run(pool *parallel.Pool, p *EncoderPass, q []float32, qs int, k []float32, ks int, v []float32, vs int, out []float32, sc *EncoderAttnScratch) {
	heads, hd, vd := a.Heads, a.HeadDim, a.ValueDim
	group := heads / a.KVHeads
	od := heads * vd
	total := p.Total
	negInf := float32(math.Inf(-1))
	pool.For(len(p.N)*heads, 1, func(lo, hi int) {
		for item := lo; item < hi; item++ {
			s, h := item/heads, item%heads
			off, n := p.Off[s], p.N[s]
			kvh := h / group
			scores := sc.scores[h*total+off : h*total+off+n]
			kt := sc.kt[(h*total+off)*hd : (h*total+off+n)*hd]
			for t := 0; t < n; t++ {
				src := k[(off+t)*ks+kvh*hd : (off+t)*ks+(kvh+1)*hd]
				for d, x := range src {
					kt[d*n+t] = x
				}
			}
			tiny := n%16 == 0 && n >= 2 // llamafile's sgemm takes the product
			var slope float32
			if a.Slopes != nil {
				slope = a.Slopes[h]
			}
			vh := v[off*vs+kvh*vd:]
			for i := 0; i < n; i++ {
				qi := q[(off+i)*qs+h*hd : (off+i)*qs+(h+1)*hd]
				kernels.AttnDotCols(scores, qi, kt, n)
				for j := range scores {
					if a.Causal && j > i || a.Window > 0 && (j-i > a.Window || i-j > a.Window) {
						scores[j] = negInf
						continue
					}
					x := scores[j] * a.Scale
					if a.Slopes != nil {
						d := i - j
						if d < 0 {
							d = -d
						}
						x = float32(math.FMA(float64(slope), float64(-d), float64(x)))
					}
					scores[j] = x
				}
				softmaxRow(scores)
				o := out[(off+i)*od+h*vd : (off+i)*od+(h+1)*vd]
				if tiny {
					kernels.AttnValues(o, scores, vh, vs)
				} else {
					kernels.AttnDotCols(o, scores, vh, vs)
				}
			}
		}
	})
}

// softmaxRow is ggml's soft_max of one row of n scores (no padding): the
// whole groups of sixteen through ggml's vector expf, the rest through the
// C library's expf (Expf), the sum in float64, every value multiplied by
// float32(1/sum).
func softmaxRow(x []float32) {
	mx := x[0]
	for _, v := range x[1:] {
		mx = max(mx, v)
	}
	sum := kernels.SoftmaxExp16(x, mx)
	for i := len(x) &^ 15; i < len(x); i++ {
		e := Expf(x[i] - mx)
		x[i] = e
		sum += float64(e)
	}
	kernels.Scale(x, float32(1/sum))
}
