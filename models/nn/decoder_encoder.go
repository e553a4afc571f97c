package nn

import (
	"errors"
	"fmt"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/models/gguf"
)

// Decoders used as embedders and rerankers: Qwen3-Embedding is a qwen3
// decoder whose final normed hidden state of the last token is the text's
// vector; Qwen3-Reranker is one whose last state, multiplied by the LM
// head's rows of "yes" and "no" (cls.output.weight in llama.cpp's
// conversion), gives a relevance through a softmax. DecoderEncoder presents
// such a model as an Encoder: causal attention, every text in its own KV
// cache, the passes' hidden states taken through Pass.Hidden (which the
// architecture's Forward fills when it calls Workspace.Logits).

// decoderEncoderMaxContext bounds the texts of a decoder used as an
// embedder (their trained contexts reach 32768 and more; an embedding of
// a longer text is of little use, and the buffers scale with it).
const decoderEncoderMaxContext = 8192

// decoderEncoderPass is the most tokens of one forward pass of a decoder
// used as an embedder (llama.cpp's default micro-batch).
const decoderEncoderPass = 512

// DecoderEncoder returns an Encoder running the decoder d (loaded from f):
// its states are the final normed hidden states. The pooling is
// {arch}.pooling_type, last when the key is absent or none; pooling rank
// (pooling_type 4) needs cls.output.weight, whose outputs go through a
// softmax for qwen3 (llama.cpp's Qwen3-Reranker). Rank reads the last
// token (RankInput).
func DecoderEncoder(d Decoder, f *gguf.File) (Encoder, error) {
	dc := d.Config()
	h := NewHparams(f)
	p := Pooling(max(h.IntOr("pooling_type", int(PoolLast), -1, int(PoolRank)), 0))
	if err := h.Err(); err != nil {
		return nil, fmt.Errorf("nn: %w", err)
	}
	if p == PoolNone {
		p = PoolLast
	}
	e := &decoderEncoder{d: d, cfg: EncoderConfig{Arch: dc.Arch, Dim: dc.Dim, Layers: dc.Layers, Vocab: dc.Vocab,
		ContextLength: min(dc.ContextLength, decoderEncoderMaxContext), Causal: true, Pooling: p}}
	dims := d.Dims()
	e.cfg.Heads = dims.Heads
	if err := Bind(f, &e.head, 0); err != nil {
		return nil, fmt.Errorf("nn: %s: %w", dc.Arch, err)
	}
	e.head.Softmax = dc.Arch == "qwen3"
	var ck Checker
	e.head.Check(&ck, dc.Dim)
	if p == PoolRank && !e.head.Present() {
		ck.Add(errors.New("pooling_type 4 (rank) needs cls.output.weight, the file has none"))
	}
	if err := ck.Err(); err != nil {
		return nil, fmt.Errorf("nn: %s: %w", dc.Arch, err)
	}
	return e, nil
}

type decoderEncoder struct {
	d    Decoder
	cfg  EncoderConfig
	head ClassifierHead
}

func (e *decoderEncoder) Config() EncoderConfig { return e.cfg }

// RankPooling returns PoolLast: a causal model's last state has read the
// whole text.
func (e *decoderEncoder) RankPooling() Pooling { return PoolLast }

func (e *decoderEncoder) NewState(maxTokens int, pool *parallel.Pool) (EncoderState, error) {
	if maxTokens <= 0 {
		maxTokens = e.cfg.ContextLength
	}
	if maxTokens > 1<<20 {
		return nil, fmt.Errorf("nn: %d tokens per pass is too many", maxTokens)
	}
	if pool == nil {
		return nil, errors.New("nn: NewState needs a worker pool")
	}
	ws, err := NewDecoderWorkspace(e.d, min(maxTokens, decoderEncoderPass), min(maxTokens, e.cfg.ContextLength), pool)
	if err != nil {
		return nil, err
	}
	return &decoderEncoderState{e: e, ws: ws, maxTokens: maxTokens, free: map[int][]*Cache{}}, nil
}

type decoderEncoderState struct {
	e         *decoderEncoder
	ws        *Workspace
	maxTokens int
	enc       EncoderPass
	pass      Pass
	free      map[int][]*Cache // idle caches by capacity
	tmp       []float32
}

func (s *decoderEncoderState) MaxTokens() int { return s.maxTokens }

// cache returns an empty cache of at least n positions.
func (s *decoderEncoderState) cache(n int) (*Cache, error) {
	c := 64
	for c < n {
		c *= 2
	}
	c = min(c, max(n, s.e.cfg.ContextLength))
	if l := s.free[c]; len(l) > 0 {
		s.free[c] = l[:len(l)-1]
		return l[len(l)-1], nil
	}
	return s.e.d.NewCache(c, CacheOptions{Batch: s.maxTokens})
}

func (s *decoderEncoderState) release(c *Cache) { s.free[c.Cap()] = append(s.free[c.Cap()], c) }

// Forward runs every text in its own cache, in passes of the workspace's
// size (several short texts in one pass, a long one over several), and
// writes the final normed hidden states to out.
func (s *decoderEncoderState) Forward(seqs [][]int, out []float32) error {
	c := &s.e.cfg
	if err := s.enc.Set(seqs, c.Vocab, c.ContextLength, s.maxTokens, c.Dim, out); err != nil {
		return fmt.Errorf("nn: %w", err)
	}
	caches := make([]*Cache, len(seqs))
	defer func() {
		for _, ch := range caches {
			if ch != nil {
				s.release(ch)
			}
		}
	}()
	p := &s.pass
	si, off, row := 0, 0, 0 // the next token: seqs[si][off], output row row
	for row < s.enc.Total {
		first := si // texts first.. that end in this pass free their caches after it
		p.N, p.Tokens, p.Pos, p.Segs, p.Out, p.HiddenDone = 0, p.Tokens[:0], p.Pos[:0], p.Segs[:0], nil, false
		for si < len(seqs) && p.N < s.ws.MaxTokens {
			seq := seqs[si]
			if caches[si] == nil {
				ch, err := s.cache(len(seq))
				if err != nil {
					return err
				}
				caches[si] = ch
			}
			n := min(len(seq)-off, s.ws.MaxTokens-p.N)
			p.Segs = append(p.Segs, Segment{Cache: caches[si], Row: p.N, N: n, Pos: off})
			p.Tokens = append(p.Tokens, seq[off:off+n]...)
			for k := range n {
				p.Pos = append(p.Pos, off+k)
			}
			p.N += n
			off += n
			if off == len(seq) {
				si, off = si+1, 0
			}
		}
		p.Hidden = out[row*c.Dim : (row+p.N)*c.Dim]
		err := s.e.d.Forward(s.ws, p)
		p.Hidden = nil
		if err != nil {
			return err
		}
		if !p.HiddenDone {
			return fmt.Errorf("nn: %s does not give its hidden states (its Forward does not end with Workspace.Logits)", c.Arch)
		}
		row += p.N
		for i := first; i < si; i++ {
			s.release(caches[i])
			caches[i] = nil
		}
	}
	return nil
}

func (s *decoderEncoderState) HeadOutputs(p Pooling) int {
	if p != PoolRank || !s.e.head.Present() {
		return 0
	}
	return s.e.head.Outputs()
}

func (s *decoderEncoderState) Head(p Pooling, x []float32, n int, out []float32) error {
	k := s.HeadOutputs(p)
	if k == 0 {
		return fmt.Errorf("nn: %s: no layers after pooling %v", s.e.cfg.Arch, p)
	}
	if len(x) < n*s.e.cfg.Dim || len(out) < n*k {
		return fmt.Errorf("nn: head of %d vectors: buffers of %d and %d values", n, len(x), len(out))
	}
	s.e.head.Apply(&s.ws.Lin, x, n, out, &s.tmp, &s.ws.Act)
	return nil
}
