package nn

import (
	"fmt"
	"math"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/quant"
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
	qconv  []float32      // heads x head size: a query rounded to F16
	qquant []byte         // heads x Q8_0 row of a head: a query quantized for a Q8_0/Q4_0 K cache
	run    func(int, int) // Workspace.attnHeads, bound once
}

// Attend computes the attention of the n queries q (n x Heads·HeadDim) at
// positions pos..pos+n-1 over kv, whose positions up to pos+n-1 are filled,
// into out (n x Heads·ValueDim), the heads split across the pool.
func (ws *Workspace) Attend(a *Attention, kv *KV, q, out []float32, n, pos int) {
	j := &ws.attn
	j.a, j.kv, j.q, j.out, j.n, j.pos = a, kv, q, out, n, pos
	if need := a.Heads * a.HeadDim; cap(j.qconv) < need {
		j.qconv = make([]float32, need)
	}
	if kv.KType == quant.Q8_0 || kv.KType == quant.Q4_0 {
		rb, _ := quant.Q8_0.RowBytes(a.HeadDim)
		if cap(j.qquant) < a.Heads*rb {
			j.qquant = make([]byte, a.Heads*rb)
		}
	}
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
	qrb, _ := quant.Q8_0.RowBytes(hd)
	krb, _ := kv.KType.RowBytes(hd) // bytes of one head's keys in a quantized row
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
			r0 := kv.base(start) // the window's first row; its rows follow one another
			switch kv.KType {
			case quant.F32: // AttnDot of each key, sixteen keys at a time
				kernels.AttnDotRows(sc, q, kv.kf[r0*kv.KDim+kvh*hd:], kv.KDim)
				for t := range sc {
					sc[t] *= a.Scale
				}
			case quant.F16:
				qh := j.qconv[h*hd : (h+1)*hd]
				copy(qh, q)
				kernels.RoundF16(qh)
				kernels.AttnDotF16Rows(sc, qh, kv.kh[r0*kv.KDim+kvh*hd:], kv.KDim, a.Scale)
			default: // Q8_0, Q4_0: the query quantized to Q8_0, ggml's dot products
				qq := j.qquant[h*qrb : (h+1)*qrb]
				kernels.QuantizeActivation(quant.Q8_0, q, qq)
				kernels.AttnDotQRows(kv.KType, sc, hd, qq, kv.k[r0*kv.KRow+kvh*krb:], kv.KRow, a.Scale)
			}
			if a.Softcap > 0 { // ggml: scale by 1/cap, tanh, scale by cap
				inv := 1 / a.Softcap
				for t, v := range sc {
					sc[t] = a.Softcap * float32(math.Tanh(float64(v*inv)))
				}
			}
			kernels.Softmax(sc)
			o := j.out[i*oDim+h*vd : i*oDim+(h+1)*vd]
			switch kv.VType {
			case quant.F32:
				kernels.AttnValues(o, sc, kv.vf[r0*kv.VDim+kvh*vd:], kv.VDim)
			case quant.F16:
				kernels.RoundF16(sc)
				kernels.AttnValuesF16(o, sc, kv.vh[r0*kv.VDim+kvh*vd:], kv.VDim)
			default:
				kernels.AttnValuesQ(kv.VType, o, sc, kv.v[r0*kv.VRow:], kv.VRow, kvh*vd)
			}
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
