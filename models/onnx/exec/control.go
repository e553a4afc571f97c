package exec

import (
	"fmt"
	"math"
	"slices"

	"github.com/edgeai-go/edgeai/models/onnx"
)

func init() {
	register("If", 1, 1, -1, newIf)
	register("Loop", 2, -1, -1, newLoop)
	registry["Loop"].leadOptional = 2 // M and cond may be "" (while and for loops)
}

// body is a compiled nested graph and what its enclosing node needs to
// know about it.
type body struct {
	g     *graph
	uses  []int  // values of enclosing graphs it reads
	local []bool // per output: a value of the body's own scope (to release)
}

func (b *builder) body2(g *onnx.Graph) (*body, error) {
	if g == nil {
		return nil, fmt.Errorf("%w: missing subgraph", onnx.ErrFormat)
	}
	start := len(b.e.values)
	gr, uses, err := b.subgraph(g)
	if err != nil {
		return nil, err
	}
	bd := &body{g: gr, uses: uses, local: make([]bool, len(gr.outputs))}
	for i, id := range gr.outputs {
		bd.local[i] = id >= start && b.e.consts[id] == nil
	}
	return bd, nil
}

// outputs takes the body's outputs after a run: aliases of them, with the
// body's own values released.
func (bd *body) outputs(rc *runCtx) ([]*Tensor, error) {
	res := make([]*Tensor, len(bd.g.outputs))
	for i, id := range bd.g.outputs {
		t := rc.vals[id]
		if t == nil {
			return nil, fmt.Errorf("subgraph output %q not computed", rc.e.values[id].name)
		}
		res[i] = rc.alias(t, t.Shape)
		if bd.local[i] {
			rc.release(t)
			rc.vals[id] = nil
		}
	}
	return res, nil
}

// ifOp is If: run one of two graphs.
type ifOp struct {
	then, els *body
}

func newIf(nc *nodeCtx) (kernel, error) {
	tg, eg := nc.a.graph("then_branch"), nc.a.graph("else_branch")
	if tg == nil || eg == nil {
		return nil, fmt.Errorf("%w: If without both branches", onnx.ErrFormat)
	}
	t, err := nc.b.body2(tg)
	if err != nil {
		return nil, fmt.Errorf("then_branch: %w", err)
	}
	e, err := nc.b.body2(eg)
	if err != nil {
		return nil, fmt.Errorf("else_branch: %w", err)
	}
	n := len(nc.n.Outputs)
	if len(t.g.outputs) != n || len(e.g.outputs) != n {
		return nil, fmt.Errorf("%w: If with %d outputs, branches with %d and %d", onnx.ErrFormat, n, len(t.g.outputs), len(e.g.outputs))
	}
	return &ifOp{then: t, els: e}, nil
}

func (k *ifOp) foldable() bool { return false }

func (k *ifOp) outerUses() []int {
	return slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(k.then.uses), k.els.uses...))))
}

func (k *ifOp) infer(in, out []vinfo) error {
	// The branches' outputs when both agree on the type.
	return nil
}

func (k *ifOp) run(rc *runCtx, in, out []*Tensor) error {
	c, ok := in[0].Data.([]bool)
	if !ok || len(c) != 1 {
		return fmt.Errorf("If condition %v: want one bool", in[0])
	}
	bd := k.els
	if c[0] {
		bd = k.then
	}
	self := rc.cur
	if err := rc.runGraph(bd.g); err != nil {
		return err
	}
	rc.cur = self
	res, err := bd.outputs(rc)
	if err != nil {
		return err
	}
	copy(out, res)
	return nil
}

// loop is Loop: run a body while a condition holds and a trip count lasts,
// carrying values from one iteration to the next and stacking the scan
// outputs.
type loop struct {
	bd      *body
	carried int // loop-carried values
}

func newLoop(nc *nodeCtx) (kernel, error) {
	g := nc.a.graph("body")
	if g == nil {
		return nil, fmt.Errorf("%w: Loop without body", onnx.ErrFormat)
	}
	bd, err := nc.b.body2(g)
	if err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	carried := len(nc.n.Inputs) - 2
	if len(bd.g.inputs) != carried+2 {
		return nil, fmt.Errorf("%w: Loop body with %d inputs for %d carried values", onnx.ErrFormat, len(bd.g.inputs), carried)
	}
	if len(bd.g.outputs) < carried+1 {
		return nil, fmt.Errorf("%w: Loop body with %d outputs for %d carried values", onnx.ErrFormat, len(bd.g.outputs), carried)
	}
	if len(nc.n.Outputs) != len(bd.g.outputs)-1 {
		return nil, fmt.Errorf("%w: Loop with %d outputs, body with %d", onnx.ErrFormat, len(nc.n.Outputs), len(bd.g.outputs))
	}
	return &loop{bd: bd, carried: carried}, nil
}

func (k *loop) foldable() bool   { return false }
func (k *loop) outerUses() []int { return k.bd.uses }

// maxLoopIterations bounds a Loop without a trip count.
const maxLoopIterations = 1 << 24

func (k *loop) run(rc *runCtx, in, out []*Tensor) error {
	trips := int64(math.MaxInt64)
	if in[0] != nil {
		v, err := intsOf(in[0])
		if err != nil || len(v) != 1 {
			return fmt.Errorf("Loop trip count %v", in[0])
		}
		trips = v[0]
	}
	cond := true
	if in[1] != nil {
		b, ok := in[1].Data.([]bool)
		if !ok || len(b) != 1 {
			return fmt.Errorf("Loop condition %v", in[1])
		}
		cond = b[0]
	}
	st := rc.runState
	formal := k.bd.g.inputs
	vals := make([]*Tensor, k.carried)
	for i := range vals {
		if in[2+i] == nil {
			return fmt.Errorf("%w: Loop carried value %d omitted", onnx.ErrFormat, i)
		}
		vals[i] = rc.alias(in[2+i], in[2+i].Shape)
	}
	release := func(ts []*Tensor) {
		for _, t := range ts {
			rc.release(t)
		}
	}
	defer func() { release(vals) }()
	nscan := len(k.bd.g.outputs) - 1 - k.carried
	scans := make([][]*Tensor, nscan)
	defer func() {
		for _, s := range scans {
			release(s)
		}
	}()
	self := rc.cur
	for it := int64(0); it < trips && cond; it++ {
		if it >= maxLoopIterations {
			return fmt.Errorf("%w: Loop ran %d iterations", ErrLimit, it)
		}
		if err := rc.ctx.Err(); err != nil {
			return err
		}
		itT, err := rc.alloc(onnx.Int64, []int{})
		if err != nil {
			return err
		}
		itT.Data.([]int64)[0] = it
		cT, err := rc.alloc(onnx.Bool, []int{})
		if err != nil {
			return err
		}
		cT.Data.([]bool)[0] = cond
		st.vals[formal[0]], st.vals[formal[1]] = itT, cT
		for i, v := range vals {
			st.vals[formal[2+i]] = v
		}
		err = rc.runGraph(k.bd.g)
		rc.cur = self
		var res []*Tensor
		if err == nil {
			res, err = k.bd.outputs(rc)
		}
		// The iteration number and condition belong to the loop; the
		// carried values are vals, released below.
		for _, id := range formal[:2] {
			rc.release(st.vals[id])
		}
		for _, id := range formal {
			st.vals[id] = nil
		}
		if err != nil {
			return err
		}
		release(vals)
		c, ok := res[0].Data.([]bool)
		if !ok || len(c) != 1 {
			release(res)
			return fmt.Errorf("Loop body condition %v", res[0])
		}
		cond = c[0]
		rc.release(res[0])
		vals = res[1 : 1+k.carried]
		for i, s := range res[1+k.carried:] {
			scans[i] = append(scans[i], s)
		}
		// The scan outputs are stacked at the end: stop as soon as one
		// would exceed the size limit, not after keeping every
		// iteration's tensor (the deferred release frees them).
		for i, s := range res[1+k.carried:] {
			if int64(len(scans[i]))*int64(s.Len())*int64(elemSize(s.Type)) > rc.e.limit {
				return fmt.Errorf("%w: Loop scan output %d after %d iterations of %v", ErrLimit, i, len(scans[i]), s)
			}
		}
	}
	copy(out, vals)
	vals = nil
	for i, s := range scans {
		o, err := stack(rc, s)
		if err != nil {
			return err
		}
		out[k.carried+i] = o
	}
	return nil
}

// stack stacks tensors of one shape along a new first axis.
func stack(rc *runCtx, ts []*Tensor) (*Tensor, error) {
	if len(ts) == 0 {
		return nil, fmt.Errorf("%w: Loop with scan outputs ran no iteration", ErrUnsupported)
	}
	t0 := ts[0]
	shape := append([]int{len(ts)}, t0.Shape...)
	o, err := rc.alloc(t0.Type, shape)
	if err != nil {
		return nil, err
	}
	n := t0.Len()
	for i, t := range ts {
		if t.Type != t0.Type || !slices.Equal(t.Shape, t0.Shape) {
			rc.release(o)
			return nil, fmt.Errorf("Loop scan output changes from %v to %v", t0, t)
		}
		copyData(sliceData(o.Data, i*n, (i+1)*n), t.Data)
	}
	return o, nil
}
