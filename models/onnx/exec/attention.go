package exec

import (
	"fmt"
	"math"
	"slices"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/onnx"
)

// Attention and RotaryEmbedding (opset 23): the fused transformer
// operators of the default domain, which ONNX Runtime's CPU provider runs.

func init() {
	register("Attention", 3, 6, 4, newAttention)
	register("RotaryEmbedding", 3, 4, 1, func(nc *nodeCtx) (kernel, error) {
		return &rotary{
			interleaved: nc.a.intIn("interleaved", 0, 0, 1) == 1,
			heads:       nc.a.intIn("num_heads", 0, 0, 1<<20),
			dim:         nc.a.intIn("rotary_embedding_dim", 0, 0, 1<<20),
		}, nil
	})
}

// ---- Attention

// attention is Attention: softmax(softcap(Q·Kᵀ·scale) + mask)·V per
// head (the qk_matmul_output modes: 0 the scaled product, 2 after the
// softcap, 1 after the mask, 3 after the softmax), with grouped key/value heads, a causal mask, a boolean or additive
// attn_mask, and past keys and values concatenated before the new ones.
type attention struct {
	g              *kernels.Sgemm
	causal         bool
	qHeads, kvHead int     // for 3-D inputs
	scale          float32 // 0: 1/sqrt(head_size)
	softcap        float32
	qkMode         int
}

func newAttention(nc *nodeCtx) (kernel, error) {
	k := &attention{
		g:       kernels.CurrentSgemm(),
		causal:  nc.a.intIn("is_causal", 0, 0, 1) == 1,
		qHeads:  nc.a.intIn("q_num_heads", 0, 0, 1<<20),
		kvHead:  nc.a.intIn("kv_num_heads", 0, 0, 1<<20),
		scale:   nc.a.float("scale", 0),
		softcap: nc.a.float("softcap", 0),
		qkMode:  nc.a.intIn("qk_matmul_output_mode", 0, 0, 3),
	}
	// softmax_precision names the type the softmax is computed in; it is
	// float32 or wider here in any case.
	nc.a.int("softmax_precision", 0)
	if len(nc.n.Inputs) > 4 && (nc.hasIn(4) != nc.hasIn(5)) {
		return nil, fmt.Errorf("%w: Attention with only one of past_key and past_value", onnx.ErrFormat)
	}
	return k, nil
}

func (k *attention) infer(in, out []vinfo) error {
	for i := range out {
		out[i] = vinfo{typ: in[0].typ, rank: -1}
	}
	out[0].rank = in[0].rank
	if out[0].rank >= 0 {
		out[0].shape = make([]int, out[0].rank)
		for i := range out[0].shape {
			out[0].shape[i] = -1
		}
	}
	return nil
}

// heads4 describes one of Q, K, V as [batch, heads, seq, size] over its
// data, whether that is 4-D or 3-D ([batch, seq, heads·size]).
type heads4 struct {
	d                       []float32
	batch, heads, seq, size int
	three                   bool
}

func asHeads(t *Tensor, heads int, op, what string) (heads4, error) {
	if t.Type != onnx.Float {
		return heads4{}, fmt.Errorf("%w: %s %s of %v", ErrUnsupported, op, what, t.Type)
	}
	s := t.Shape
	switch len(s) {
	case 4:
		return heads4{d: t.Data.([]float32), batch: s[0], heads: s[1], seq: s[2], size: s[3]}, nil
	case 3:
		if heads <= 0 || s[2]%heads != 0 {
			return heads4{}, fmt.Errorf("%s %s of shape %v with %d heads", op, what, s, heads)
		}
		return heads4{d: t.Data.([]float32), batch: s[0], heads: heads, seq: s[1], size: s[2] / heads, three: true}, nil
	}
	return heads4{}, fmt.Errorf("%s %s of rank %d (want 3 or 4)", op, what, len(s))
}

// row returns the offset of (b, h, s) and the stride between positions.
func (x heads4) row(b, h, s int) (off, stride int) {
	if x.three {
		return (b*x.seq+s)*x.heads*x.size + h*x.size, x.heads * x.size
	}
	return ((b*x.heads+h)*x.seq + s) * x.size, x.size
}

func (k *attention) run(rc *runCtx, in, out []*Tensor) error {
	q, err := asHeads(in[0], k.qHeads, "Attention", "Q")
	if err != nil {
		return err
	}
	kk, err := asHeads(in[1], k.kvHead, "Attention", "K")
	if err != nil {
		return err
	}
	v, err := asHeads(in[2], k.kvHead, "Attention", "V")
	if err != nil {
		return err
	}
	if kk.batch != q.batch || v.batch != q.batch || kk.heads != v.heads || kk.seq != v.seq || kk.size != q.size {
		return fmt.Errorf("Attention of Q %v, K %v, V %v", in[0].Shape, in[1].Shape, in[2].Shape)
	}
	if kk.heads == 0 || q.heads%kk.heads != 0 {
		return fmt.Errorf("Attention of %d query heads on %d key/value heads", q.heads, kk.heads)
	}
	nb, qh, kvh, qs, hd, vd := q.batch, q.heads, kk.heads, q.seq, q.size, v.size
	var pastK, pastV *Tensor
	past := 0
	if len(in) > 5 && in[4] != nil && in[5] != nil {
		pastK, pastV = in[4], in[5]
		if pastK.Type != onnx.Float || pastV.Type != onnx.Float || len(pastK.Shape) != 4 || len(pastV.Shape) != 4 ||
			!slices.Equal(pastK.Shape[:2], []int{nb, kvh}) || pastK.Shape[3] != hd ||
			!slices.Equal(pastV.Shape, []int{nb, kvh, pastK.Shape[2], vd}) {
			return fmt.Errorf("Attention past_key %v and past_value %v for %d heads of %d and %d", pastK, pastV, kvh, hd, vd)
		}
		past = pastK.Shape[2]
	}
	total := past + kk.seq
	// present_key and present_value: [batch, kv_heads, total, size].
	pk, err := rc.alloc(onnx.Float, []int{nb, kvh, total, hd})
	if err != nil {
		return err
	}
	pv, err := rc.alloc(onnx.Float, []int{nb, kvh, total, vd})
	if err != nil {
		return err
	}
	for i, p := range []struct {
		dst  *Tensor
		past *Tensor
		cur  heads4
	}{{pk, pastK, kk}, {pv, pastV, v}} {
		d := p.dst.Data.([]float32)
		size := p.cur.size
		for b := range nb {
			for h := range kvh {
				base := (b*kvh + h) * total * size
				if p.past != nil {
					pd := p.past.Data.([]float32)
					copy(d[base:base+past*size], pd[(b*kvh+h)*past*size:])
				}
				for s := range p.cur.seq {
					off, _ := p.cur.row(b, h, s)
					copy(d[base+(past+s)*size:base+(past+s+1)*size], p.cur.d[off:off+size])
				}
			}
		}
		if len(out) > 1+i && out[1+i] == nil {
			out[1+i] = p.dst
		}
	}
	if len(out) < 2 {
		defer rc.release(pk)
	}
	if len(out) < 3 {
		defer rc.release(pv)
	}
	// The mask, as an additive bias broadcast to [batch, q_heads, qs, total].
	var bias []float32
	var bStr [4]int
	if len(in) > 3 && in[3] != nil {
		m := in[3]
		if len(m.Shape) > 4 {
			return fmt.Errorf("Attention attn_mask of rank %d", len(m.Shape))
		}
		ms := append(make([]int, 4-len(m.Shape)), m.Shape...)
		for i := range 4 - len(m.Shape) {
			ms[i] = 1
		}
		want := [4]int{nb, qh, qs, total}
		st := stridesOf(ms)
		for i := range 4 {
			switch ms[i] {
			case want[i]:
				bStr[i] = st[i]
			case 1:
			default:
				return fmt.Errorf("Attention attn_mask %v does not broadcast to %v", m.Shape, want)
			}
		}
		switch md := m.Data.(type) {
		case []bool:
			bias = make([]float32, len(md))
			for i, keep := range md {
				if !keep {
					bias[i] = float32(math.Inf(-1))
				}
			}
		case []float32:
			bias = md
		default:
			return fmt.Errorf("%w: Attention attn_mask of %v", ErrUnsupported, m.Type)
		}
	}
	yShape := []int{nb, qh, qs, vd}
	if q.three {
		yShape = []int{nb, qs, qh * vd}
	}
	y, err := rc.alloc(onnx.Float, yShape)
	if err != nil {
		return err
	}
	out[0] = y
	var qkOut []float32
	if len(out) > 3 {
		t, err := rc.alloc(onnx.Float, []int{nb, qh, qs, total})
		if err != nil {
			return err
		}
		out[3] = t
		qkOut = t.Data.([]float32)
	}
	scale := k.scale
	if scale == 0 {
		scale = float32(1 / math.Sqrt(float64(hd)))
	}
	g := k.g
	yd, pkd, pvd := y.Data.([]float32), pk.Data.([]float32), pv.Data.([]float32)
	ninf := float32(math.Inf(-1))
	work := nb * qh * qs * total * (hd + vd) * 2
	rc.parWork(nb*qh, work, func(lo, hi int) {
		pa := make([]float32, g.PackedASize(qs, max(hd, total)))
		sc := make([]float32, qs*total)
		for bh := lo; bh < hi; bh++ {
			b, h := bh/qh, bh%qh
			kvIdx := h / (qh / kvh)
			// Scores = Q·Kᵀ·scale.
			qoff, qstr := q.row(b, h, 0)
			g.PackARows(pa, q.d[qoff:], qstr, false, qs, hd, scale, 0, (qs+g.MR()-1)/g.MR())
			kb := pkd[(b*kvh+kvIdx)*total*hd:]
			g.Mul(qs, total, hd, pa, kernels.BMatrix{Data: kb[:total*hd], Stride: hd, Trans: true}, sc, total, 0, qs, 0, total, false)
			keep := func(mode int) {
				if qkOut != nil && k.qkMode == mode {
					copy(qkOut[bh*qs*total:(bh+1)*qs*total], sc)
				}
			}
			keep(0)
			// ONNX Runtime caps the scores before the mask (the spec's
			// function after it, which would turn -inf into -softcap).
			if k.softcap > 0 {
				for i, s := range sc {
					sc[i] = k.softcap * float32(math.Tanh(float64(s/k.softcap)))
				}
			}
			keep(2)
			for i := range qs {
				row := sc[i*total : (i+1)*total]
				if k.causal {
					// Upper-left aligned, as the spec's function: query i
					// sees keys 0..i (plus the past).
					for j := past + i + 1; j < total; j++ {
						row[j] = ninf
					}
				}
				if bias != nil {
					bo := b*bStr[0] + h*bStr[1] + i*bStr[2]
					for j := range row {
						row[j] += bias[bo+j*bStr[3]]
					}
				}
			}
			keep(1)
			for i := range qs {
				softmaxRow(sc[i*total:(i+1)*total], false)
			}
			keep(3)
			// Y = P·V.
			g.PackARows(pa, sc, total, false, qs, total, 1, 0, (qs+g.MR()-1)/g.MR())
			vb := pvd[(b*kvh+kvIdx)*total*vd:]
			var yoff, ystr int
			if q.three {
				yoff, ystr = b*qs*qh*vd+h*vd, qh*vd
			} else {
				yoff, ystr = bh*qs*vd, vd
			}
			g.Mul(qs, vd, total, pa, kernels.BMatrix{Data: vb[:total*vd], Stride: vd}, yd[yoff:], ystr, 0, qs, 0, vd, false)
		}
	})
	return rc.ctx.Err()
}

// ---- RotaryEmbedding

// rotary is RotaryEmbedding: the first rotary_embedding_dim values of
// each head are rotated by the angles of their position (cos and sin
// caches, indexed by position_ids when given), as halves or as
// interleaved pairs; the rest pass through.
type rotary struct {
	interleaved bool
	heads, dim  int
}

func (k *rotary) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: in[0].typ, rank: in[0].rank, shape: in[0].shape}
	return nil
}

func (k *rotary) run(rc *runCtx, in, out []*Tensor) error {
	x, cs, sn := in[0], in[1], in[2]
	if x.Type != onnx.Float || cs.Type != onnx.Float || sn.Type != onnx.Float {
		return fmt.Errorf("%w: RotaryEmbedding of %v", ErrUnsupported, x.Type)
	}
	xh, err := asHeads(x, k.heads, "RotaryEmbedding", "input")
	if err != nil {
		return err
	}
	nb, nh, seq, hd := xh.batch, xh.heads, xh.seq, xh.size
	rd := k.dim
	if rd == 0 {
		rd = hd
	}
	if rd > hd || rd%2 != 0 {
		return fmt.Errorf("RotaryEmbedding of %d dimensions in heads of %d", rd, hd)
	}
	half := rd / 2
	var pos []int64
	if len(in) > 3 && in[3] != nil {
		if pos, err = intsOf(in[3]); err != nil || !slices.Equal(in[3].Shape, []int{nb, seq}) {
			return fmt.Errorf("RotaryEmbedding position_ids %v for batch %d and sequence %d", in[3], nb, seq)
		}
		if len(cs.Shape) != 2 || cs.Shape[1] != half || !slices.Equal(sn.Shape, cs.Shape) {
			return fmt.Errorf("RotaryEmbedding caches %v and %v (want [positions, %d])", cs.Shape, sn.Shape, half)
		}
		for _, p := range pos {
			if p < 0 || p >= int64(cs.Shape[0]) {
				return fmt.Errorf("RotaryEmbedding position %d outside the cache of %d", p, cs.Shape[0])
			}
		}
	} else if !slices.Equal(cs.Shape, []int{nb, seq, half}) || !slices.Equal(sn.Shape, cs.Shape) {
		return fmt.Errorf("RotaryEmbedding caches %v and %v (want [%d, %d, %d])", cs.Shape, sn.Shape, nb, seq, half)
	}
	o, err := rc.alloc(onnx.Float, x.Shape)
	if err != nil {
		return err
	}
	out[0] = o
	xd, od, cd, sd := x.Data.([]float32), o.Data.([]float32), cs.Data.([]float32), sn.Data.([]float32)
	copy(od, xd)
	for b := range nb {
		for s := range seq {
			ci := (b*seq + s) * half
			if pos != nil {
				ci = int(pos[b*seq+s]) * half
			}
			c, si := cd[ci:ci+half], sd[ci:ci+half]
			for h := range nh {
				off, _ := xh.row(b, h, s)
				src, dst := xd[off:off+hd], od[off:off+hd]
				for i := range half {
					i0, i1 := i, i+half
					if k.interleaved {
						i0, i1 = 2*i, 2*i+1
					}
					a, bb := src[i0], src[i1]
					dst[i0] = a*c[i] - bb*si[i]
					dst[i1] = bb*c[i] + a*si[i]
				}
			}
		}
	}
	return nil
}
