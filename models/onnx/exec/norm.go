package exec

import (
	"fmt"
	"math"
	"slices"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/onnx"
)

func init() {
	register("Softmax", 1, 1, 1, func(nc *nodeCtx) (kernel, error) { return newSoftmax(nc, false) })
	register("LogSoftmax", 1, 1, 1, func(nc *nodeCtx) (kernel, error) { return newSoftmax(nc, true) })
	register("LayerNormalization", 2, 3, 3, func(nc *nodeCtx) (kernel, error) { return newLayerNorm(nc, false) })
	register("RMSNormalization", 2, 2, 1, func(nc *nodeCtx) (kernel, error) { return newLayerNorm(nc, true) })
	register("GroupNormalization", 3, 3, 1, newGroupNorm)
	register("BatchNormalization", 5, 5, 5, newBatchNorm)
	register("InstanceNormalization", 3, 3, 1, func(nc *nodeCtx) (kernel, error) {
		return &instanceNorm{eps: nc.a.float("epsilon", 1e-5)}, nil
	})
	register("Dropout", 1, 3, 2, func(nc *nodeCtx) (kernel, error) {
		nc.a.ignore("ratio", "is_test", "seed", "consumed_inputs")
		if nc.hasIn(2) {
			if t := nc.konst(2); t == nil {
				return nil, fmt.Errorf("%w: Dropout with a non-constant training_mode", ErrUnsupported)
			} else if b, ok := t.Data.([]bool); !ok || len(b) != 1 || b[0] {
				return nil, fmt.Errorf("%w: Dropout in training mode", ErrUnsupported)
			}
		}
		return dropout{}, nil
	})
	register("Trilu", 1, 2, 1, func(nc *nodeCtx) (kernel, error) {
		return &trilu{upper: nc.a.intIn("upper", 1, 0, 1) == 1}, nil
	})
}

// ---- Softmax, LogSoftmax

type softmax struct {
	axis   int64
	legacy bool // opset < 13: over all dimensions from axis on
	log    bool
}

func newSoftmax(nc *nodeCtx, log bool) (kernel, error) {
	k := &softmax{log: log, legacy: nc.opset < 13}
	def := int64(-1)
	if k.legacy {
		def = 1
	}
	k.axis = nc.a.int("axis", def)
	return k, nil
}

func (k *softmax) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: in[0].typ, rank: in[0].rank, shape: in[0].shape}
	return nil
}

func (k *softmax) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	r := len(x.Shape)
	if r == 0 {
		r = 1 // a scalar is a vector of one
	}
	ax, err := normAxis(k.axis, r)
	if err != nil {
		return err
	}
	shape := x.Shape
	if len(shape) == 0 {
		shape = []int{1}
	}
	outer, n, inner := numel(shape[:ax]), shape[ax], numel(shape[ax+1:])
	if k.legacy {
		n, inner = n*inner, 1
	}
	o, err := rc.alloc(x.Type, x.Shape)
	if err != nil {
		return err
	}
	out[0] = o
	switch s := x.Data.(type) {
	case []float32:
		d := o.Data.([]float32)
		if inner == 1 {
			copy(d, s)
			body := func(lo, hi int) {
				for i := lo; i < hi; i++ {
					softmaxRow(d[i*n:(i+1)*n], k.log)
				}
			}
			if len(d) < parallelGrain {
				body(0, outer)
			} else {
				rc.par(outer, max(1, parallelGrain/4/max(n, 1)), body)
			}
			return nil
		}
		softmaxT(d, s, outer, n, inner, k.log)
	case []float64:
		softmaxT(o.Data.([]float64), s, outer, n, inner, k.log)
	default:
		return fmt.Errorf("%w: softmax of %v", ErrUnsupported, x.Type)
	}
	return nil
}

// softmaxRow computes the softmax (or log-softmax) of a contiguous row in
// place: e^(x-max) with kernels.Exp, summed in float64.
func softmaxRow(x []float32, log bool) {
	if len(x) == 0 {
		return
	}
	mx := x[0]
	for _, v := range x[1:] {
		if v > mx || v != v {
			mx = v
		}
	}
	if log {
		var sum float64
		for _, v := range x {
			sum += math.Exp(float64(v - mx))
		}
		ls := float32(math.Log(sum))
		for i, v := range x {
			x[i] = v - mx - ls
		}
		return
	}
	kernels.EpiApply(x, kernels.EpiSub, mx, 0)
	kernels.EpiApply(x, kernels.EpiExp, 0, 0)
	var sum float64
	for _, v := range x {
		sum += float64(v)
	}
	kernels.EpiApply(x, kernels.EpiMul, float32(1/sum), 0)
}

func softmaxT[T float32 | float64](dst, x []T, outer, n, inner int, log bool) {
	for o := range outer {
		for i := range inner {
			base := o*n*inner + i
			mx := math.Inf(-1)
			for j := range n {
				mx = max(mx, float64(x[base+j*inner]))
			}
			var sum float64
			for j := range n {
				sum += math.Exp(float64(x[base+j*inner]) - mx)
			}
			for j := range n {
				p := base + j*inner
				if log {
					dst[p] = T(float64(x[p]) - mx - math.Log(sum))
				} else {
					dst[p] = T(math.Exp(float64(x[p])-mx) / sum)
				}
			}
		}
	}
}

// ---- LayerNormalization, RMSNormalization

// layerNorm is LayerNormalization (and RMSNormalization, rms: no mean is
// subtracted): each row of the dimensions from axis on is normalized, in
// float64, then scaled and shifted by Scale and B broadcast to those
// dimensions.
type layerNorm struct {
	axis int64
	eps  float32
	rms  bool
}

func newLayerNorm(nc *nodeCtx, rms bool) (kernel, error) {
	k := &layerNorm{axis: nc.a.int("axis", -1), eps: nc.a.float("epsilon", 1e-5), rms: rms}
	// stash_type is the precision of the statistics: float32 (1) or
	// higher; they are computed in float64 here either way.
	if st := nc.a.int("stash_type", 1); st != 1 && st != int64(onnx.Double) {
		return nil, fmt.Errorf("%w: %s stash_type %d", ErrUnsupported, nc.n.OpType, st)
	}
	return k, nil
}

func (k *layerNorm) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: in[0].typ, rank: in[0].rank, shape: in[0].shape}
	for i := 1; i < len(out); i++ {
		out[i].typ = onnx.Float
	}
	return nil
}

func (k *layerNorm) name() string {
	if k.rms {
		return "RMSNormalization"
	}
	return "LayerNormalization"
}

func (k *layerNorm) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	if x.Type != onnx.Float && x.Type != onnx.Double {
		return fmt.Errorf("%w: %s of %v", ErrUnsupported, k.name(), x.Type)
	}
	ax, err := normAxis(k.axis, len(x.Shape))
	if err != nil {
		return err
	}
	norm := x.Shape[ax:]
	outer, n := numel(x.Shape[:ax]), numel(norm)
	// Scale and B broadcast to the normalized dimensions.
	expandTo := func(t *Tensor) (any, error) {
		if t == nil {
			return nil, nil
		}
		if t.Type != x.Type {
			return nil, fmt.Errorf("%w: %s parameter of %v for %v", onnx.ErrFormat, k.name(), t.Type, x.Type)
		}
		if len(t.Shape) > len(norm) {
			return nil, fmt.Errorf("%s parameter %v for normalized shape %v", k.name(), t.Shape, norm)
		}
		if s, err := broadcastShape(norm, t.Shape); err != nil || !slices.Equal(s, norm) {
			return nil, fmt.Errorf("%s parameter %v does not broadcast to %v", k.name(), t.Shape, norm)
		}
		if numel(t.Shape) == n {
			return t.Data, nil
		}
		e, err := rc.alloc(x.Type, norm)
		if err != nil {
			return nil, err
		}
		broadcastCopy(rc, e, t)
		return e.Data, nil
	}
	scale, err := expandTo(in[1])
	if err != nil {
		return err
	}
	var bias any
	if len(in) > 2 {
		if bias, err = expandTo(in[2]); err != nil {
			return err
		}
	}
	o, err := rc.alloc(x.Type, x.Shape)
	if err != nil {
		return err
	}
	out[0] = o
	statShape := make([]int, len(x.Shape))
	for i := range statShape {
		statShape[i] = 1
		if i < ax {
			statShape[i] = x.Shape[i]
		}
	}
	var mean, inv []float32
	for i := 1; i < len(out) && i < 3; i++ {
		t, err := rc.alloc(onnx.Float, statShape)
		if err != nil {
			return err
		}
		out[i] = t
		if i == 1 {
			mean = t.Data.([]float32)
		} else {
			inv = t.Data.([]float32)
		}
	}
	eps := float64(k.eps)
	rc.parWork(outer, 8*outer*n, func(lo, hi int) {
		switch xs := x.Data.(type) {
		case []float32:
			sc, _ := scale.([]float32)
			bs, _ := bias.([]float32)
			normRows(o.Data.([]float32), xs, sc, bs, mean, inv, lo, hi, n, eps, k.rms)
		case []float64:
			sc, _ := scale.([]float64)
			bs, _ := bias.([]float64)
			normRows(o.Data.([]float64), xs, sc, bs, mean, inv, lo, hi, n, eps, k.rms)
		}
	})
	return nil
}

// normRows normalizes rows [lo, hi) of n values: y = (x-m)/sqrt(v+eps) ·
// scale + bias, with m the row's mean and v its variance (rms: m = 0 and v
// the mean square), statistics in float64.
func normRows[T float32 | float64](d, xs, scale, bias []T, mean, inv []float32, lo, hi, n int, eps float64, rms bool) {
	for r := lo; r < hi; r++ {
		row := xs[r*n : (r+1)*n]
		var m float64
		if !rms {
			var s float64
			for _, v := range row {
				s += float64(v)
			}
			m = s / float64(n)
		}
		var v2 float64
		for _, v := range row {
			dv := float64(v) - m
			v2 += dv * dv
		}
		is := 1 / math.Sqrt(v2/float64(n)+eps)
		dr := d[r*n : (r+1)*n]
		for i, v := range row {
			y := (float64(v) - m) * is
			if scale != nil {
				y *= float64(scale[i])
			}
			if bias != nil {
				y += float64(bias[i])
			}
			dr[i] = T(y)
		}
		if mean != nil {
			mean[r] = float32(m)
		}
		if inv != nil {
			inv[r] = float32(is)
		}
	}
}

// ---- GroupNormalization

// groupNorm is GroupNormalization: the channels of each image are split
// into groups, each normalized over its channels and spatial positions;
// the scale and bias are per group before opset 21 and per channel from it.
type groupNorm struct {
	groups     int
	eps        float32
	perChannel bool
}

func newGroupNorm(nc *nodeCtx) (kernel, error) {
	k := &groupNorm{eps: nc.a.float("epsilon", 1e-5), perChannel: nc.opset >= 21}
	if !nc.a.has("num_groups") {
		return nil, fmt.Errorf("%w: GroupNormalization without num_groups", onnx.ErrFormat)
	}
	k.groups = nc.a.intIn("num_groups", 1, 1, maxDim)
	if nc.opset >= 21 {
		if st := nc.a.int("stash_type", 1); st != 1 && st != int64(onnx.Double) {
			return nil, fmt.Errorf("%w: GroupNormalization stash_type %d", ErrUnsupported, st)
		}
	}
	return k, nil
}

func (k *groupNorm) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: in[0].typ, rank: in[0].rank, shape: in[0].shape}
	return nil
}

func (k *groupNorm) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	if len(x.Shape) < 2 {
		return fmt.Errorf("GroupNormalization of rank %d", len(x.Shape))
	}
	if x.Type != onnx.Float && x.Type != onnx.Double {
		return fmt.Errorf("%w: GroupNormalization of %v", ErrUnsupported, x.Type)
	}
	nb, c, hw := x.Shape[0], x.Shape[1], numel(x.Shape[2:])
	if c%k.groups != 0 {
		return fmt.Errorf("GroupNormalization of %d channels in %d groups", c, k.groups)
	}
	want := k.groups
	if k.perChannel {
		want = c
	}
	var sc, bs []float64
	for i, t := range in[1:3] {
		if t.Type != x.Type || len(t.Shape) != 1 || t.Shape[0] != want {
			return fmt.Errorf("GroupNormalization parameter %d: %v, want %v[%d]", i+1, t, x.Type, want)
		}
		v, _ := floatsOf(t)
		if i == 0 {
			sc = v
		} else {
			bs = v
		}
	}
	o, err := rc.alloc(x.Type, x.Shape)
	if err != nil {
		return err
	}
	out[0] = o
	cg := c / k.groups
	n := cg * hw
	eps := float64(k.eps)
	rc.parWork(nb*k.groups, 8*nb*c*hw, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			g := r % k.groups
			switch xs := x.Data.(type) {
			case []float32:
				groupRow(o.Data.([]float32)[r*n:(r+1)*n], xs[r*n:(r+1)*n], sc, bs, g, cg, hw, eps, k.perChannel)
			case []float64:
				groupRow(o.Data.([]float64)[r*n:(r+1)*n], xs[r*n:(r+1)*n], sc, bs, g, cg, hw, eps, k.perChannel)
			}
		}
	})
	return nil
}

// groupRow normalizes one group g (cg channels of hw values) of an image.
func groupRow[T float32 | float64](d, row []T, sc, bs []float64, g, cg, hw int, eps float64, perChannel bool) {
	var s float64
	for _, v := range row {
		s += float64(v)
	}
	m := s / float64(len(row))
	var v2 float64
	for _, v := range row {
		dv := float64(v) - m
		v2 += dv * dv
	}
	is := 1 / math.Sqrt(v2/float64(len(row))+eps)
	for ci := range cg {
		p := g
		if perChannel {
			p = g*cg + ci
		}
		mul, add := sc[p]*is, bs[p]
		for i := ci * hw; i < (ci+1)*hw; i++ {
			d[i] = T((float64(row[i])-m)*mul + add)
		}
	}
}

// ---- BatchNormalization

type batchNorm struct {
	eps, momentum float32
	training      bool
}

func newBatchNorm(nc *nodeCtx) (kernel, error) {
	k := &batchNorm{eps: nc.a.float("epsilon", 1e-5), momentum: nc.a.float("momentum", 0.9)}
	nc.a.ignore("consumed_inputs", "is_test")
	if nc.opset < 9 {
		if nc.a.int("spatial", 1) != 1 {
			return nil, fmt.Errorf("%w: BatchNormalization spatial=0", ErrUnsupported)
		}
	}
	if nc.opset >= 14 {
		k.training = nc.a.intIn("training_mode", 0, 0, 1) == 1
	}
	if !k.training && len(nc.n.Outputs) > 1 {
		for _, o := range nc.n.Outputs[1:] {
			if o != "" && nc.opset >= 9 {
				return nil, fmt.Errorf("%w: BatchNormalization statistics outputs outside training mode", ErrUnsupported)
			}
		}
	}
	return k, nil
}

func (k *batchNorm) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: in[0].typ, rank: in[0].rank, shape: in[0].shape}
	for i := 1; i < len(out); i++ {
		out[i].typ = in[0].typ
	}
	return nil
}

// params returns per-channel multiplier and offset: y = x*mul + add.
func (k *batchNorm) params(scale, bias, mean, vr []float32) (mul, add []float32) {
	c := len(scale)
	mul, add = make([]float32, c), make([]float32, c)
	for i := range c {
		m := float64(scale[i]) / math.Sqrt(float64(vr[i])+float64(k.eps))
		mul[i] = float32(m)
		add[i] = float32(float64(bias[i]) - float64(mean[i])*m)
	}
	return mul, add
}

func (k *batchNorm) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	xs, ok := x.Data.([]float32)
	if !ok {
		return fmt.Errorf("%w: BatchNormalization of %v", ErrUnsupported, x.Type)
	}
	if len(x.Shape) < 2 {
		return fmt.Errorf("BatchNormalization of rank %d", len(x.Shape))
	}
	c := x.Shape[1]
	var p [4][]float32
	for i := range 4 {
		t := in[i+1]
		v, ok := t.Data.([]float32)
		if !ok || len(v) != c {
			return fmt.Errorf("BatchNormalization parameter %d: %v for %d channels", i+1, t, c)
		}
		p[i] = v
	}
	n, hw := x.Shape[0], numel(x.Shape[2:])
	mean, vr := p[2], p[3]
	if k.training {
		// Batch statistics (population variance) and running averages.
		bm, bv := make([]float32, c), make([]float32, c)
		cnt := float64(n * hw)
		for ch := range c {
			var s, s2 float64
			for b := range n {
				for _, v := range xs[(b*c+ch)*hw : (b*c+ch+1)*hw] {
					s += float64(v)
				}
			}
			m := s / cnt
			for b := range n {
				for _, v := range xs[(b*c+ch)*hw : (b*c+ch+1)*hw] {
					d := float64(v) - m
					s2 += d * d
				}
			}
			bm[ch], bv[ch] = float32(m), float32(s2/cnt)
		}
		for i, src := range [2][]float32{bm, bv} {
			if len(out) <= i+1 {
				break
			}
			t, err := rc.alloc(onnx.Float, []int{c})
			if err != nil {
				return err
			}
			run := t.Data.([]float32)
			for ch := range c {
				run[ch] = p[2+i][ch]*k.momentum + src[ch]*(1-k.momentum)
			}
			out[i+1] = t
		}
		mean, vr = bm, bv
	}
	mul, add := k.params(p[0], p[1], mean, vr)
	o, err := rc.alloc(onnx.Float, x.Shape)
	if err != nil {
		return err
	}
	out[0] = o
	d := o.Data.([]float32)
	body := func(lo, hi int) {
		for r := lo; r < hi; r++ {
			ch := r % c
			m, a := mul[ch], add[ch]
			src, dst := xs[r*hw:(r+1)*hw], d[r*hw:(r+1)*hw]
			for i, v := range src {
				dst[i] = v*m + a
			}
		}
	}
	if len(d) < parallelGrain {
		body(0, n*c)
	} else {
		rc.par(n*c, max(1, parallelGrain/4/max(hw, 1)), body)
	}
	return nil
}

type instanceNorm struct{ eps float32 }

func (k *instanceNorm) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	xs, ok := x.Data.([]float32)
	if !ok || len(x.Shape) < 2 {
		return fmt.Errorf("%w: InstanceNormalization of %v", ErrUnsupported, x)
	}
	c := x.Shape[1]
	scale, ok1 := in[1].Data.([]float32)
	bias, ok2 := in[2].Data.([]float32)
	if !ok1 || !ok2 || len(scale) != c || len(bias) != c {
		return fmt.Errorf("InstanceNormalization parameters %v, %v for %d channels", in[1], in[2], c)
	}
	o, err := rc.alloc(onnx.Float, x.Shape)
	if err != nil {
		return err
	}
	out[0] = o
	d := o.Data.([]float32)
	hw := numel(x.Shape[2:])
	for r := range x.Shape[0] * c {
		row := xs[r*hw : (r+1)*hw]
		var s, s2 float64
		for _, v := range row {
			s += float64(v)
		}
		m := s / float64(hw)
		for _, v := range row {
			s2 += (float64(v) - m) * (float64(v) - m)
		}
		is := 1 / math.Sqrt(s2/float64(hw)+float64(k.eps))
		ch := r % c
		for i, v := range row {
			d[r*hw+i] = float32((float64(v)-m)*is*float64(scale[ch]) + float64(bias[ch]))
		}
	}
	return nil
}

type dropout struct{}

func (dropout) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: in[0].typ, rank: in[0].rank, shape: in[0].shape}
	if len(out) > 1 {
		out[1] = vinfo{typ: onnx.Bool, rank: in[0].rank, shape: in[0].shape}
	}
	return nil
}

func (dropout) run(rc *runCtx, in, out []*Tensor) error {
	out[0] = rc.alias(in[0], in[0].Shape)
	if len(out) > 1 {
		m, err := rc.alloc(onnx.Bool, in[0].Shape)
		if err != nil {
			return err
		}
		for i := range m.Data.([]bool) {
			m.Data.([]bool)[i] = true
		}
		out[1] = m
	}
	return nil
}

// ---- Trilu

type trilu struct{ upper bool }

func (k *trilu) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: in[0].typ, rank: in[0].rank, shape: in[0].shape}
	return nil
}

func (k *trilu) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	if len(x.Shape) < 2 {
		return fmt.Errorf("Trilu of rank %d", len(x.Shape))
	}
	var kk int64
	if len(in) > 1 && in[1] != nil {
		v, err := intsOf(in[1])
		if err != nil || len(v) != 1 {
			return fmt.Errorf("%w: Trilu k must be one integer", onnx.ErrFormat)
		}
		kk = v[0]
	}
	o, err := rc.alloc(x.Type, x.Shape)
	if err != nil {
		return err
	}
	out[0] = o
	copyData(o.Data, x.Data)
	r := len(x.Shape)
	rows, cols := x.Shape[r-2], x.Shape[r-1]
	mats := numel(x.Shape[:r-2])
	zero := zeroSlice(x.Type, 1)
	for m := range mats {
		for i := range rows {
			for j := range cols {
				keep := int64(j)-int64(i) >= kk
				if !k.upper {
					keep = int64(j)-int64(i) <= kk
				}
				if !keep {
					p := (m*rows+i)*cols + j
					copyData(sliceData(o.Data, p, p+1), zero)
				}
			}
		}
	}
	return nil
}
