package exec

import (
	"fmt"
	"math"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/onnx"
)

func init() {
	register("LSTM", 3, 8, 3, newLSTM)
}

// rnnAct is an activation function of a recurrent operator.
type rnnAct struct {
	name        string
	alpha, beta float32
}

func (a rnnAct) apply(x []float32) {
	switch a.name {
	case "Sigmoid":
		for i, v := range x {
			x[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	case "Tanh":
		for i, v := range x {
			x[i] = float32(math.Tanh(float64(v)))
		}
	case "Relu":
		for i, v := range x {
			x[i] = max(v, 0)
		}
	case "HardSigmoid":
		for i, v := range x {
			x[i] = max(0, min(1, a.alpha*v+a.beta))
		}
	case "LeakyRelu":
		for i, v := range x {
			if v < 0 {
				x[i] = a.alpha * v
			}
		}
	case "ThresholdedRelu":
		for i, v := range x {
			if v <= a.alpha {
				x[i] = 0
			}
		}
	case "ScaledTanh":
		for i, v := range x {
			x[i] = a.alpha * float32(math.Tanh(float64(a.beta*v)))
		}
	case "Affine":
		for i, v := range x {
			x[i] = a.alpha*v + a.beta
		}
	case "Elu":
		for i, v := range x {
			if v < 0 {
				x[i] = a.alpha * float32(math.Exp(float64(v))-1)
			}
		}
	case "Softsign":
		for i, v := range x {
			x[i] = v / (1 + float32(math.Abs(float64(v))))
		}
	case "Softplus":
		for i, v := range x {
			x[i] = float32(math.Log1p(math.Exp(float64(v))))
		}
	}
}

// rnnActs reads the activations attribute of a recurrent operator: per
// direction, count functions (defaults def).
func rnnActs(a *attrs, dirs int, def []string) ([]rnnAct, error) {
	names, ok := a.strs("activations")
	alphas, _ := a.floats("activation_alpha")
	betas, _ := a.floats("activation_beta")
	if !ok {
		for range dirs {
			names = append(names, def...)
		}
	}
	if len(names) != dirs*len(def) {
		return nil, fmt.Errorf("%w: %d activations for %d directions", onnx.ErrFormat, len(names), dirs)
	}
	// Default alpha/beta per function (ONNX's RNN defaults).
	defAlpha := map[string]float32{"LeakyRelu": 0.01, "ThresholdedRelu": 1, "HardSigmoid": 0.2, "Elu": 1, "ScaledTanh": 1, "Affine": 1}
	defBeta := map[string]float32{"HardSigmoid": 0.5, "ScaledTanh": 1}
	acts := make([]rnnAct, len(names))
	ai, bi := 0, 0
	for i, n := range names {
		switch n {
		case "Sigmoid", "Tanh", "Relu", "Softsign", "Softplus":
		case "HardSigmoid", "LeakyRelu", "ThresholdedRelu", "ScaledTanh", "Affine", "Elu":
		default:
			return nil, fmt.Errorf("%w: recurrent activation %q", ErrUnsupported, n)
		}
		acts[i] = rnnAct{name: n, alpha: defAlpha[n], beta: defBeta[n]}
		if _, uses := defAlpha[n]; uses && ai < len(alphas) {
			acts[i].alpha = alphas[ai]
			ai++
		}
		if _, uses := defBeta[n]; uses && bi < len(betas) {
			acts[i].beta = betas[bi]
			bi++
		}
	}
	return acts, nil
}

// lstm is LSTM: gates ordered i, o, f, c; optional peepholes, clipping,
// coupled input-forget gate, sequence lengths, batch-major layout.
type lstm struct {
	hidden    int
	dirs      int
	reverse   bool // direction "reverse" (one direction)
	acts      []rnnAct
	clip      float32
	coupled   bool
	batchMajr bool
}

func newLSTM(nc *nodeCtx) (kernel, error) {
	if !nc.a.has("hidden_size") {
		return nil, fmt.Errorf("%w: LSTM without hidden_size", onnx.ErrFormat)
	}
	k := &lstm{hidden: nc.a.intIn("hidden_size", 1, 1, 1<<20)}
	switch d := nc.a.str("direction", "forward"); d {
	case "forward":
		k.dirs = 1
	case "reverse":
		k.dirs, k.reverse = 1, true
	case "bidirectional":
		k.dirs = 2
	default:
		return nil, fmt.Errorf("%w: LSTM direction %q", onnx.ErrFormat, d)
	}
	acts, err := rnnActs(nc.a, k.dirs, []string{"Sigmoid", "Tanh", "Tanh"})
	if err != nil {
		return nil, err
	}
	k.acts = acts
	k.clip = nc.a.float("clip", 0)
	k.coupled = nc.a.intIn("input_forget", 0, 0, 1) == 1
	if nc.opset >= 14 {
		k.batchMajr = nc.a.intIn("layout", 0, 0, 1) == 1
	}
	return k, nil
}

func (k *lstm) infer(in, out []vinfo) error {
	for i := range out {
		out[i].typ = in[0].typ
	}
	return nil
}

func (k *lstm) run(rc *runCtx, in, out []*Tensor) error {
	x, w, r := in[0], in[1], in[2]
	for i, t := range in {
		if t != nil && t.Type != onnx.Float && i != 4 {
			return fmt.Errorf("%w: LSTM of %v", ErrUnsupported, t.Type)
		}
	}
	if len(x.Shape) != 3 {
		return fmt.Errorf("LSTM input of shape %v", x.Shape)
	}
	seq, batch, isz := x.Shape[0], x.Shape[1], x.Shape[2]
	if k.batchMajr {
		seq, batch = batch, seq
	}
	h, dirs := k.hidden, k.dirs
	if !shapeIs(w.Shape, dirs, 4*h, isz) || !shapeIs(r.Shape, dirs, 4*h, h) {
		return fmt.Errorf("LSTM weights %v and %v for input %v, hidden %d, %d directions", w.Shape, r.Shape, x.Shape, h, dirs)
	}
	opt := func(i int, dims ...int) ([]float32, error) {
		if len(in) <= i || in[i] == nil {
			return nil, nil
		}
		t := in[i]
		want := dims
		if k.batchMajr && (i == 5 || i == 6) {
			want = []int{dims[1], dims[0], dims[2]}
		}
		if !shapeIs(t.Shape, want...) {
			return nil, fmt.Errorf("LSTM input %d of shape %v, want %v", i, t.Shape, want)
		}
		return t.Data.([]float32), nil
	}
	bias, err := opt(3, dirs, 8*h)
	if err != nil {
		return err
	}
	h0, err := opt(5, dirs, batch, h)
	if err != nil {
		return err
	}
	c0, err := opt(6, dirs, batch, h)
	if err != nil {
		return err
	}
	peep, err := opt(7, dirs, 3*h)
	if err != nil {
		return err
	}
	var seqLens []int64
	if len(in) > 4 && in[4] != nil {
		if seqLens, err = intsOf(in[4]); err != nil || len(seqLens) != batch {
			return fmt.Errorf("LSTM sequence_lens %v for batch %d", in[4], batch)
		}
		for _, l := range seqLens {
			if l < 0 || l > int64(seq) {
				return fmt.Errorf("LSTM sequence length %d for %d steps", l, seq)
			}
		}
	}
	// Outputs.
	yShape := []int{seq, dirs, batch, h}
	stShape := []int{dirs, batch, h}
	if k.batchMajr {
		yShape = []int{batch, seq, dirs, h}
		stShape = []int{batch, dirs, h}
	}
	var y, yh, yc []float32
	for i, s := range [][]int{yShape, stShape, stShape} {
		if i >= len(out) {
			break
		}
		t, err := rc.allocZero(onnx.Float, s)
		if err != nil {
			return err
		}
		out[i] = t
		switch i {
		case 0:
			y = t.Data.([]float32)
		case 1:
			yh = t.Data.([]float32)
		case 2:
			yc = t.Data.([]float32)
		}
	}
	xd, wd, rd := x.Data.([]float32), w.Data.([]float32), r.Data.([]float32)
	// Scratch: the input projections of all steps, the gates, the states.
	scratch, err := rc.alloc(onnx.Float, []int{seq*batch*4*h + batch*4*h + 2*batch*h + seq*batch*isz})
	if err != nil {
		return err
	}
	defer rc.release(scratch)
	sd := scratch.Data.([]float32)
	xproj := sd[:seq*batch*4*h]
	gates := sd[seq*batch*4*h : seq*batch*4*h+batch*4*h]
	hs := sd[seq*batch*4*h+batch*4*h : seq*batch*4*h+batch*4*h+batch*h]
	cs := sd[seq*batch*4*h+batch*4*h+batch*h : seq*batch*4*h+batch*4*h+2*batch*h]
	xs := sd[seq*batch*4*h+batch*4*h+2*batch*h:]
	// X as [seq][batch][isz].
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
		wdir := wd[dir*4*h*isz : (dir+1)*4*h*isz]
		rdir := rd[dir*4*h*h : (dir+1)*4*h*h]
		// xproj = X · Wᵀ (+ both biases), all steps at once.
		if seq*batch == 1 {
			rc.gemv(xs, wdir, isz, true, isz, 4*h, xproj, false)
		} else {
			pa, err := rc.packATemp(g, xs, isz, false, seq*batch, isz, 1)
			if err != nil {
				return err
			}
			rc.sgemm(g, seq*batch, 4*h, isz, pa.Data.([]float32), kernels.BMatrix{Data: wdir, Stride: isz, Trans: true}, xproj, 4*h, false)
			rc.release(pa)
		}
		if bias != nil {
			bd := bias[dir*8*h : (dir+1)*8*h]
			for row := range seq * batch {
				p := xproj[row*4*h : (row+1)*4*h]
				for j := range p {
					p[j] += bd[j] + bd[4*h+j]
				}
			}
		}
		// Initial state.
		if h0 != nil {
			for b := range batch {
				copy(hs[b*h:(b+1)*h], stateRow(h0, k.batchMajr, dir, b, dirs, batch, h))
			}
		} else {
			clear(hs)
		}
		if c0 != nil {
			for b := range batch {
				copy(cs[b*h:(b+1)*h], stateRow(c0, k.batchMajr, dir, b, dirs, batch, h))
			}
		} else {
			clear(cs)
		}
		var pi, po, pf []float32
		if peep != nil {
			p := peep[dir*3*h : (dir+1)*3*h]
			pi, po, pf = p[:h], p[h:2*h], p[2*h:]
		}
		f, gfn, hfn := k.acts[dir*3], k.acts[dir*3+1], k.acts[dir*3+2]
		rev := k.reverse || dir == 1
		for step := range seq {
			t := step
			if rev {
				t = seq - 1 - step
			}
			for b := range batch {
				if seqLens != nil && int64(t) >= seqLens[b] {
					continue // padding: no update, Y stays 0
				}
				gt := gates[b*4*h : (b+1)*4*h]
				copy(gt, xproj[(t*batch+b)*4*h:(t*batch+b+1)*4*h])
				hb := hs[b*h : (b+1)*h]
				rc.gemv(hb, rdir, h, true, h, 4*h, gt, true)
				if k.clip > 0 {
					for j, v := range gt {
						gt[j] = min(max(v, -k.clip), k.clip)
					}
				}
				gi, gout, gf, gc := gt[:h], gt[h:2*h], gt[2*h:3*h], gt[3*h:]
				cb := cs[b*h : (b+1)*h]
				if pi != nil {
					for j := range h {
						gi[j] += pi[j] * cb[j]
						gf[j] += pf[j] * cb[j]
					}
				}
				f.apply(gi)
				if k.coupled {
					for j := range gf {
						gf[j] = 1 - gi[j]
					}
				} else {
					f.apply(gf)
				}
				gfn.apply(gc)
				for j := range h {
					cb[j] = gf[j]*cb[j] + gi[j]*gc[j]
				}
				if po != nil {
					for j := range h {
						gout[j] += po[j] * cb[j]
					}
				}
				f.apply(gout)
				copy(gc, cb) // h(C) in place of the spent candidate
				hfn.apply(gc)
				for j := range h {
					hb[j] = gout[j] * gc[j]
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
		for b := range batch {
			if yh != nil {
				copy(stateRow(yh, k.batchMajr, dir, b, dirs, batch, h), hs[b*h:(b+1)*h])
			}
			if yc != nil {
				copy(stateRow(yc, k.batchMajr, dir, b, dirs, batch, h), cs[b*h:(b+1)*h])
			}
		}
	}
	return nil
}

// stateRow returns the h values of direction dir, batch entry b of a state
// tensor ([dirs, batch, h], or [batch, dirs, h] batch-major).
func stateRow(s []float32, batchMajor bool, dir, b, dirs, batch, h int) []float32 {
	if batchMajor {
		return s[(b*dirs+dir)*h : (b*dirs+dir+1)*h]
	}
	return s[(dir*batch+b)*h : (dir*batch+b+1)*h]
}

func shapeIs(s []int, dims ...int) bool {
	if len(s) != len(dims) {
		return false
	}
	for i, d := range dims {
		if s[i] != d {
			return false
		}
	}
	return true
}
