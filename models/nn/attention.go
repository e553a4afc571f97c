package nn

import (
	"fmt"
	"math"

	"github.com/edgeai-go/edgeai/kernels"
)

// Attention is causal grouped-query attention over a KV cache, with the
// arithmetic of ggml's (see kernels.AttnDot, Softmax, AttnValues).
type Attention struct {
	Heads    int     // query heads
	KVHeads  int     // key/value heads; Heads is a multiple
	HeadDim  int     // key (and query) values per head
	ValueDim int     // value values per head
	Scale    float32 // scores are q·k times Scale (1/sqrt(HeadDim) unless the architecture says otherwise)
	Softcap  float32 // if > 0, scores become Softcap·tanh(scores/Softcap) before the softmax (Gemma 2)
	Window   int     // if > 0, query i sees keys j with i-j < Window only (sliding-window layers)
}

// DefaultScale returns 1/sqrtf(headDim), as llama.cpp computes it.
func DefaultScale(headDim int) float32 { return 1 / float32(math.Sqrt(float64(headDim))) }

// Check returns an error unless a's sizes are consistent.
func (a *Attention) Check() error {
	if a.Heads <= 0 || a.KVHeads <= 0 || a.Heads%a.KVHeads != 0 || a.HeadDim <= 0 || a.ValueDim <= 0 || a.Window < 0 {
		return fmt.Errorf("attention with %d heads, %d KV heads, head sizes %d/%d, window %d", a.Heads, a.KVHeads, a.HeadDim, a.ValueDim, a.Window)
	}
	return nil
}

// attnJob is the attention Run hands to the pool's workers.
type attnJob struct {
	a      *Attention
	kv     *KV
	q, out []float32
	n, pos int
	scores []float32      // heads x MaxCtx
	run    func(int, int) // Workspace.attnHeads, bound once
}

// Attend computes the attention of the n queries q (n x Heads·HeadDim) at
// positions pos..pos+n-1 over kv, whose positions 0..pos+n-1 are filled,
// into out (n x Heads·ValueDim), the heads split across the pool.
func (ws *Workspace) Attend(a *Attention, kv *KV, q, out []float32, n, pos int) {
	j := &ws.attn
	j.a, j.kv, j.q, j.out, j.n, j.pos = a, kv, q, out, n, pos
	ws.Pool.For(a.Heads, 1, j.run)
	j.a, j.kv, j.q, j.out = nil, nil, nil, nil
}

// attnHeads runs heads [lo,hi) of the job set up by Attend.
func (ws *Workspace) attnHeads(lo, hi int) {
	j := &ws.attn
	a, kv := j.a, j.kv
	hd, vd := a.HeadDim, a.ValueDim
	qDim, oDim := a.Heads*hd, a.Heads*vd
	group := a.Heads / a.KVHeads
	for h := lo; h < hi; h++ {
		kvh := h / group
		scores := j.scores[h*ws.MaxCtx : (h+1)*ws.MaxCtx]
		for i := 0; i < j.n; i++ {
			q := j.q[i*qDim+h*hd : i*qDim+(h+1)*hd]
			end := j.pos + i + 1 // keys 0..end-1 are visible
			start := 0
			if a.Window > 0 {
				start = max(0, end-a.Window)
			}
			sc := scores[:end-start]
			for t := start; t < end; t++ {
				sc[t-start] = kernels.AttnDot(q, kv.K[t*kv.KDim+kvh*hd:t*kv.KDim+(kvh+1)*hd]) * a.Scale
			}
			if a.Softcap > 0 { // ggml: scale by 1/cap, tanh, scale by cap
				inv := 1 / a.Softcap
				for t, v := range sc {
					sc[t] = a.Softcap * float32(math.Tanh(float64(v*inv)))
				}
			}
			kernels.Softmax(sc)
			kernels.AttnValues(j.out[i*oDim+h*vd:i*oDim+(h+1)*vd], sc, kv.V[start*kv.VDim+kvh*vd:], kv.VDim)
		}
	}
}

// AttendSegments runs Attend for each sequence of the pass: the rows of
// segment s read and were stored in s's cache layer, q and out hold all rows
// of the pass.
func (ws *Workspace) AttendSegments(p *Pass, layer int, a *Attention, q, out []float32) {
	qDim, oDim := a.Heads*a.HeadDim, a.Heads*a.ValueDim
	for _, s := range p.Segs {
		ws.Attend(a, s.Cache.KV[layer], q[s.Row*qDim:(s.Row+s.N)*qDim], out[s.Row*oDim:(s.Row+s.N)*oDim], s.N, s.Pos)
	}
}

// StoreKV writes the keys k and values v of every row of the pass (k: rows
// x kDim, v: rows x vDim) into layer's cache of each sequence.
func StoreKV(p *Pass, layer int, k, v []float32) {
	for _, s := range p.Segs {
		kv := s.Cache.KV[layer]
		kv.Store(s.Pos, s.N, k[s.Row*kv.KDim:], v[s.Row*kv.VDim:])
	}
}
