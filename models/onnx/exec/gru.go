package exec

import (
	"fmt"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/onnx"
)

func init() {
	register("GRU", 3, 6, 2, newGRU)
}

// gru is GRU: gates ordered z, r, h; both forms of linear_before_reset,
// clipping, sequence lengths, batch-major layout.
type gru struct {
	hidden    int
	dirs      int
	reverse   bool
	acts      []rnnAct
	clip      float32
	lbr       bool
	batchMajr bool
}

func newGRU(nc *nodeCtx) (kernel, error) {
	if !nc.a.has("hidden_size") {
		return nil, fmt.Errorf("%w: GRU without hidden_size", onnx.ErrFormat)
	}
	k := &gru{hidden: nc.a.intIn("hidden_size", 1, 1, 1<<20)}
	switch d := nc.a.str("direction", "forward"); d {
	case "forward":
		k.dirs = 1
	case "reverse":
		k.dirs, k.reverse = 1, true
	case "bidirectional":
		k.dirs = 2
	default:
		return nil, fmt.Errorf("%w: GRU direction %q", onnx.ErrFormat, d)
	}
	acts, err := rnnActs(nc.a, k.dirs, []string{"Sigmoid", "Tanh"})
	if err != nil {
		return nil, err
	}
	k.acts = acts
	k.clip = nc.a.float("clip", 0)
	k.lbr = nc.a.intIn("linear_before_reset", 0, 0, 1) == 1
	if nc.opset >= 14 {
		k.batchMajr = nc.a.intIn("layout", 0, 0, 1) == 1
	}
	return k, nil
}

func (k *gru) infer(in, out []vinfo) error {
	for i := range out {
		out[i].typ = in[0].typ
	}
	return nil
}

func (k *gru) run(rc *runCtx, in, out []*Tensor) error {
	x, w, r := in[0], in[1], in[2]
	for i, t := range in {
		if t != nil && t.Type != onnx.Float && i != 4 {
			return fmt.Errorf("%w: GRU of %v", ErrUnsupported, t.Type)
		}
	}
	if len(x.Shape) != 3 {
		return fmt.Errorf("GRU input of shape %v", x.Shape)
	}
	seq, batch, isz := x.Shape[0], x.Shape[1], x.Shape[2]
	if k.batchMajr {
		seq, batch = batch, seq
	}
	h, dirs := k.hidden, k.dirs
	if !shapeIs(w.Shape, dirs, 3*h, isz) || !shapeIs(r.Shape, dirs, 3*h, h) {
		return fmt.Errorf("GRU weights %v and %v for input %v, hidden %d, %d directions", w.Shape, r.Shape, x.Shape, h, dirs)
	}
	var bias, h0 []float32
	if len(in) > 3 && in[3] != nil {
		if !shapeIs(in[3].Shape, dirs, 6*h) {
			return fmt.Errorf("GRU bias of shape %v", in[3].Shape)
		}
		bias = in[3].Data.([]float32)
	}
	if len(in) > 5 && in[5] != nil {
		want := []int{dirs, batch, h}
		if k.batchMajr {
			want = []int{batch, dirs, h}
		}
		if !shapeIs(in[5].Shape, want...) {
			return fmt.Errorf("GRU initial_h of shape %v, want %v", in[5].Shape, want)
		}
		h0 = in[5].Data.([]float32)
	}
	var seqLens []int64
	var err error
	if len(in) > 4 && in[4] != nil {
		if seqLens, err = intsOf(in[4]); err != nil || len(seqLens) != batch {
			return fmt.Errorf("GRU sequence_lens %v for batch %d", in[4], batch)
		}
		for _, l := range seqLens {
			if l < 0 || l > int64(seq) {
				return fmt.Errorf("GRU sequence length %d for %d steps", l, seq)
			}
		}
	}
	yShape := []int{seq, dirs, batch, h}
	stShape := []int{dirs, batch, h}
	if k.batchMajr {
		yShape = []int{batch, seq, dirs, h}
		stShape = []int{batch, dirs, h}
	}
	var y, yh []float32
	for i, s := range [][]int{yShape, stShape} {
		if i >= len(out) {
			break
		}
		t, err := rc.allocZero(onnx.Float, s)
		if err != nil {
			return err
		}
		out[i] = t
		if i == 0 {
			y = t.Data.([]float32)
		} else {
			yh = t.Data.([]float32)
		}
	}
	xd, wd, rd := x.Data.([]float32), w.Data.([]float32), r.Data.([]float32)
	n := seq*batch*3*h + 3*h + batch*h + seq*batch*isz + 2*h
	scratch, err := rc.alloc(onnx.Float, []int{n})
	if err != nil {
		return err
	}
	defer rc.release(scratch)
	sd := scratch.Data.([]float32)
	xproj, sd := sd[:seq*batch*3*h], sd[seq*batch*3*h:]
	rec, sd := sd[:3*h], sd[3*h:]
	hs, sd := sd[:batch*h], sd[batch*h:]
	xs, sd := sd[:seq*batch*isz], sd[seq*batch*isz:]
	rh, hpre := sd[:h], sd[h:2*h]
	if k.batchMajr {
		for b := range batch {
			for t := range seq {
				copy(xs[(t*batch+b)*isz:(t*batch+b+1)*isz], xd[(b*seq+t)*isz:(b*seq+t+1)*isz])
			}
		}
	} else {
		copy(xs, xd)
	}
	g := kernels.CurrentSgemm()
	for dir := range dirs {
		wdir := wd[dir*3*h*isz : (dir+1)*3*h*isz]
		rdir := rd[dir*3*h*h : (dir+1)*3*h*h]
		if seq*batch == 1 {
			rc.gemv(xs, wdir, isz, true, isz, 3*h, xproj, false)
		} else {
			pa, err := rc.packATemp(g, xs, isz, false, seq*batch, isz, 1)
			if err != nil {
				return err
			}
			rc.sgemm(g, seq*batch, 3*h, isz, pa.Data.([]float32), kernels.BMatrix{Data: wdir, Stride: isz, Trans: true}, xproj, 3*h, false)
			rc.release(pa)
		}
		var wb, rb []float32
		if bias != nil {
			wb, rb = bias[dir*6*h:dir*6*h+3*h], bias[dir*6*h+3*h:(dir+1)*6*h]
			for row := range seq * batch {
				p := xproj[row*3*h : (row+1)*3*h]
				for j := range p {
					p[j] += wb[j]
				}
			}
		}
		if h0 != nil {
			for b := range batch {
				copy(hs[b*h:(b+1)*h], stateRow(h0, k.batchMajr, dir, b, dirs, batch, h))
			}
		} else {
			clear(hs)
		}
		f, gfn := k.acts[dir*2], k.acts[dir*2+1]
		rev := k.reverse || dir == 1
		clip := func(v []float32) {
			if k.clip > 0 {
				for j, x := range v {
					v[j] = min(max(x, -k.clip), k.clip)
				}
			}
		}
		for step := range seq {
			t := step
			if rev {
				t = seq - 1 - step
			}
			for b := range batch {
				if seqLens != nil && int64(t) >= seqLens[b] {
					continue
				}
				xp := xproj[(t*batch+b)*3*h : (t*batch+b+1)*3*h]
				hb := hs[b*h : (b+1)*h]
				// rec = H·Rᵀ (+ Rb): z and r always, h too when the
				// linear part comes before the reset.
				m := 2 * h
				if k.lbr {
					m = 3 * h
				}
				rc.gemv(hb, rdir, h, true, h, m, rec[:m], false)
				if rb != nil {
					for j := range m {
						rec[j] += rb[j]
					}
				}
				z, rg := rec[:h], rec[h:2*h]
				for j := range h {
					z[j] += xp[j]
					rg[j] += xp[h+j]
				}
				clip(z)
				clip(rg)
				f.apply(z)
				f.apply(rg)
				if k.lbr {
					for j := range h {
						hpre[j] = xp[2*h+j] + rg[j]*rec[2*h+j]
					}
				} else {
					for j := range h {
						rh[j] = rg[j] * hb[j]
					}
					rc.gemv(rh, rdir[2*h*h:], h, true, h, h, hpre, false)
					for j := range h {
						hpre[j] += xp[2*h+j]
						if rb != nil {
							hpre[j] += rb[2*h+j]
						}
					}
				}
				clip(hpre)
				gfn.apply(hpre)
				for j := range h {
					hb[j] = (1-z[j])*hpre[j] + z[j]*hb[j]
				}
				if y != nil {
					var dst []float32
					if k.batchMajr {
						dst = y[((b*seq+t)*dirs+dir)*h:]
					} else {
						dst = y[((t*dirs+dir)*batch+b)*h:]
					}
					copy(dst[:h], hb)
				}
			}
		}
		if yh != nil {
			for b := range batch {
				copy(stateRow(yh, k.batchMajr, dir, b, dirs, batch, h), hs[b*h:(b+1)*h])
			}
		}
	}
	return nil
}
