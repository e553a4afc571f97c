package nn

import (
	"fmt"

	"github.com/edgeai-go/edgeai/internal/parallel"
)

// Dims are the per-token buffer sizes an architecture's forward pass needs;
// NewWorkspace allocates them for a batch of tokens.
type Dims struct {
	Dim   int // the residual stream (embedding_length)
	Q     int // query values per token (heads x key head size)
	KV    int // key values per token (the widest layer's KV heads x key head size)
	VOut  int // attention output per token (heads x value head size)
	Value int // value values per token (the widest layer's KV heads x value head size)
	FFN   int // feed-forward hidden size (the widest layer's)
	Heads int // query heads (attention scores are kept per head)
	Vocab int
	Ropes int // rope tables the architecture fills per pass (1, or 2 for Gemma 3's two ropes)
	Extra int // further per-token scratch values of the architecture (Workspace.Extra)
}

// Workspace is the scratch memory and the worker pool of forward passes:
// activations for up to MaxTokens tokens of one pass, shared by any number of
// sequences' Caches (a session has one; a server batching sequences has one
// for all of them). It is used by one pass at a time.
type Workspace struct {
	Pool      *parallel.Pool
	Lin       Linear // the weight products, on Pool
	MaxTokens int    // tokens per pass
	MaxCtx    int    // longest cache an attention may read

	X, XB    []float32 // MaxTokens x Dim: the residual stream, and normed input / layer output
	Q        []float32 // MaxTokens x Q
	K, V     []float32 // MaxTokens x KV, MaxTokens x Value
	Att      []float32 // MaxTokens x VOut: attention output
	H1, H2   []float32 // MaxTokens x FFN: feed-forward gate and up
	Extra    []float32 // MaxTokens x Dims.Extra
	Act      []byte    // quantized activations of MatMul, grown as needed
	Ropes    []RopeTables
	Rows     []int     // scratch row list
	rowsBuf  []float32 // normed rows for the LM head, grown as needed
	logitBuf []float32 // logits of rows whose destinations are not contiguous, grown as needed

	dims Dims
	attn attnJob
	pass Pass
}

// NewWorkspace allocates a workspace for passes of up to maxTokens tokens over
// caches of up to maxCtx positions, on pool.
func NewWorkspace(d Dims, maxTokens, maxCtx int, pool *parallel.Pool) (*Workspace, error) {
	if maxTokens <= 0 || maxCtx <= 0 {
		return nil, fmt.Errorf("nn: workspace of %d tokens and context %d", maxTokens, maxCtx)
	}
	maxTokens = min(maxTokens, maxCtx)
	n := maxTokens
	ws := &Workspace{Pool: pool, MaxTokens: n, MaxCtx: maxCtx, dims: d}
	ws.Lin.Pool = pool
	ws.X = make([]float32, n*d.Dim)
	ws.XB = make([]float32, n*d.Dim)
	ws.Q = make([]float32, n*d.Q)
	ws.K = make([]float32, n*d.KV)
	ws.V = make([]float32, n*d.Value)
	ws.Att = make([]float32, n*d.VOut)
	ws.H1 = make([]float32, n*d.FFN)
	ws.H2 = make([]float32, n*d.FFN)
	ws.Extra = make([]float32, n*d.Extra)
	ws.Ropes = make([]RopeTables, max(d.Ropes, 1))
	ws.attn.scores = make([]float32, max(d.Heads, 1)*maxCtx)
	ws.attn.run = ws.attnHeads
	return ws, nil
}

// WorkspaceBytes returns the memory NewWorkspace(d, maxTokens, maxCtx, ...)
// allocates, so a caller can refuse what cannot fit before allocating it.
func WorkspaceBytes(d Dims, maxTokens, maxCtx int) int64 {
	n := int64(min(maxTokens, maxCtx))
	per := int64(2*d.Dim + d.Q + d.KV + d.Value + d.VOut + 2*d.FFN + d.Extra)
	return 4 * (n*per + int64(max(d.Heads, 1))*int64(maxCtx))
}

// Dims returns the sizes the workspace was made for.
func (ws *Workspace) Dims() Dims { return ws.dims }

// Seq is one sequence's part of a batch: its tokens, appended to its cache
// at positions Cache.Len(), Cache.Len()+1, ...
type Seq struct {
	Cache  *Cache
	Tokens []int
	// Logits receives the logits: of every token (len(Tokens) x vocab) when
	// All is set, else of the last token (vocab); nil computes none.
	Logits []float32
	All    bool
}

// Pass is what one forward pass computes: N tokens of one or more
// sequences, each row with its position.
type Pass struct {
	N      int
	Tokens []int     // N token ids
	Pos    []int     // N positions
	Segs   []Segment // the sequences' consecutive rows
	Out    []OutRun  // the rows whose logits are wanted, in row order
	// Hidden, if not nil, receives every row's final normed hidden state
	// (N x Dim), for a decoder used as an embedder (DecoderEncoder):
	// Logits writes it and sets HiddenDone.
	Hidden     []float32
	HiddenDone bool
	tokBuf     [2][]int   // Tokens and Pos storage
	segBuf     [8]Segment // Segs storage for small batches
}

// Segment is rows [Row, Row+N) of a pass: one sequence's tokens at positions
// Pos..Pos+N-1 of Cache.
type Segment struct {
	Cache       *Cache
	Row, N, Pos int
}

// OutRun is rows [Row, Row+N) of a pass whose logits go to Dst (N x vocab).
type OutRun struct {
	Row, N int
	Dst    []float32
}

// Forwarder runs one pass of at most ws.MaxTokens tokens: an architecture's
// forward function.
type Forwarder interface {
	Forward(ws *Workspace, p *Pass) error
}

// Run checks seqs and runs them through f in passes of at most ws.MaxTokens
// tokens, several short sequences in one pass and a long one over several;
// each cache then holds its sequence's new positions. Nothing is computed if
// a token is out of [0, vocab) or a sequence does not fit its cache
// (ErrContextFull).
func Run(f Forwarder, ws *Workspace, seqs []Seq) error {
	vocab := ws.dims.Vocab
	total := 0
	for i := range seqs {
		s := &seqs[i]
		if s.Cache == nil || len(s.Tokens) == 0 {
			return fmt.Errorf("nn: sequence %d has no cache or no tokens", i)
		}
		if err := s.Cache.check(s.Cache.Len(), len(s.Tokens)); err != nil {
			return err
		}
		if s.Cache.rings() && ws.MaxTokens > s.Cache.batch {
			return fmt.Errorf("nn: passes of %d tokens over a cache whose sliding-window rings take %d", ws.MaxTokens, s.Cache.batch)
		}
		if s.Cache.Len()+len(s.Tokens) > ws.MaxCtx {
			return fmt.Errorf("nn: %w: %d tokens at position %d exceed the workspace's context of %d", ErrContextFull, len(s.Tokens), s.Cache.Len(), ws.MaxCtx)
		}
		want := vocab
		if s.All {
			want *= len(s.Tokens)
		}
		if s.Logits != nil && len(s.Logits) < want {
			return fmt.Errorf("nn: logits buffer holds %d values, need %d", len(s.Logits), want)
		}
		for _, t := range s.Tokens {
			if t < 0 || t >= vocab {
				return fmt.Errorf("nn: token id %d out of range [0,%d)", t, vocab)
			}
		}
		for j := range i {
			if seqs[j].Cache == s.Cache {
				return fmt.Errorf("nn: sequences %d and %d share a cache", j, i)
			}
		}
		total += len(s.Tokens)
	}
	p := &ws.pass
	si, off := 0, 0 // the next token: seqs[si].Tokens[off]
	for total > 0 {
		p.reset(ws.MaxTokens)
		for si < len(seqs) && p.N < ws.MaxTokens {
			s := &seqs[si]
			n := min(len(s.Tokens)-off, ws.MaxTokens-p.N)
			pos := s.Cache.Len()
			p.Segs = append(p.Segs, Segment{Cache: s.Cache, Row: p.N, N: n, Pos: pos})
			p.Tokens = append(p.Tokens, s.Tokens[off:off+n]...)
			for k := range n {
				p.Pos = append(p.Pos, pos+k)
			}
			switch {
			case s.Logits == nil:
			case s.All:
				p.Out = append(p.Out, OutRun{Row: p.N, N: n, Dst: s.Logits[off*vocab : (off+n)*vocab]})
			case off+n == len(s.Tokens):
				p.Out = append(p.Out, OutRun{Row: p.N + n - 1, N: 1, Dst: s.Logits[:vocab]})
			}
			p.N += n
			off += n
			total -= n
			if off == len(s.Tokens) {
				si, off = si+1, 0
			}
		}
		if err := f.Forward(ws, p); err != nil {
			return err
		}
		for _, sg := range p.Segs {
			sg.Cache.advance(sg.N)
		}
	}
	return nil
}

func (p *Pass) reset(n int) {
	if cap(p.tokBuf[0]) < n {
		p.tokBuf[0], p.tokBuf[1] = make([]int, 0, n), make([]int, 0, n)
	}
	p.N = 0
	p.Tokens, p.Pos = p.tokBuf[0][:0], p.tokBuf[1][:0]
	p.Segs = p.segBuf[:0]
	p.Out = p.Out[:0]
}
