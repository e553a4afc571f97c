package exec

import (
	"math"

	"github.com/edgeai-go/edgeai/kernels"

	"github.com/edgeai-go/edgeai/models/onnx"
)

// Operator fusion. Exported models spell a convolution's batch
// normalisation, scale, shift and activation as separate nodes (PaddleOCR:
// Conv, Mul, Add, then hard-swish as Add, Clip, Mul, Div). Run one by one,
// each is a pass over a large tensor in memory; fused, they become an
// epilogue the convolution applies to each block of its output while the
// block is still in cache. The epilogue computes exactly what the nodes
// would (the same float32 operations in the same order), so fusion does not
// change results.

// epiKind is one elementwise step of an epilogue.
type epiKind uint8

const (
	epiAdd     epiKind = iota // x + v[c]
	epiSub                    // x - v[c]
	epiSubFrom                // v[c] - x
	epiMul                    // x * v[c]
	epiDiv                    // x / v[c]
	epiDivInto                // v[c] / x
	epiMax                    // max(x, v[c])
	epiMin                    // min(x, v[c])
	epiRelu
	epiClip        // min(max(x, lo), hi)
	epiLeakyRelu   // x < 0 ? alpha*x : x
	epiHardSigmoid // max(0, min(1, alpha*x + beta))
	epiSigmoid
	epiHardSwish // x * clip(x+3, 0, 6) / 6, in the nodes' order
	epiBN        // x*v[c] + w[c] (batch normalisation, as batchNorm.run)
)

// epiOp is one step: a kind and its per-channel vector (len = channels) or
// scalar parameters.
type epiOp struct {
	kind        epiKind
	v, w        []float32
	lo, hi      float32
	alpha, beta float32
}

// epilogue is a list of steps applied to a convolution's output, per
// output channel.
type epilogue []epiOp

// epiKernels maps the steps kernels.EpiApply does to its kinds.
var epiKernels = [...]kernels.EpiKind{
	epiAdd: kernels.EpiAdd, epiSub: kernels.EpiSub, epiSubFrom: kernels.EpiSubFrom,
	epiMul: kernels.EpiMul, epiDiv: kernels.EpiDiv, epiDivInto: kernels.EpiDivInto,
	epiMax: kernels.EpiMax, epiMin: kernels.EpiMin, epiBN: kernels.EpiBN,
	epiClip: kernels.EpiClip, epiLeakyRelu: kernels.EpiLeakyRelu,
	epiHardSigmoid: kernels.EpiHardSigmoid, epiHardSwish: kernels.EpiHardSwish,
}

// apply applies the epilogue to x, all of which belongs to channel c.
func (ep epilogue) apply(x []float32, c int) {
	for i := range ep {
		op := &ep[i]
		switch op.kind {
		case epiRelu:
			kernels.EpiApply(x, kernels.EpiMax, 0, 0)
		case epiSigmoid:
			kernels.EpiApply(x, kernels.EpiSigmoid, 0, 0)
		case epiClip:
			kernels.EpiApply(x, kernels.EpiClip, op.lo, op.hi)
		case epiLeakyRelu, epiHardSigmoid, epiHardSwish:
			kernels.EpiApply(x, epiKernels[op.kind], op.alpha, op.beta)
		case epiBN:
			kernels.EpiApply(x, kernels.EpiBN, op.v[c], op.w[c])
		default:
			kernels.EpiApply(x, epiKernels[op.kind], op.v[c], 0)
		}
	}
}

// epilogueHost is a kernel that can take an epilogue (its output is
// [N, C, ...] and the epilogue's vectors run along C).
type epilogueHost interface {
	channels(n *node, b *builder) int // output channels, or -1 if unknown
	addEpilogue(op epiOp)
}

func (k *conv) channels(n *node, b *builder) int {
	w := b.e.values[n.in[1]].info
	if w.rank >= 1 && w.shape[0] > 0 {
		return w.shape[0]
	}
	return -1
}

func (k *conv) addEpilogue(op epiOp) { k.epi = k.epi.add(op) }

func (k *convTranspose) channels(n *node, b *builder) int {
	w := b.e.values[n.in[1]].info
	if w.rank >= 2 && w.shape[1] > 0 {
		return w.shape[1] * k.group
	}
	return -1
}

func (k *convTranspose) addEpilogue(op epiOp) { k.epi = k.epi.add(op) }

// add appends a step, merging a multiplication followed by an addition
// into one pass (epiBN rounds x·v, then adds w: the same two roundings).
func (ep epilogue) add(op epiOp) epilogue {
	if n := len(ep); n > 0 && op.kind == epiAdd && ep[n-1].kind == epiMul {
		ep[n-1] = epiOp{kind: epiBN, v: ep[n-1].v, w: op.v}
		return ep
	}
	return append(ep, op)
}

// fuse folds the elementwise nodes that follow a convolution into its
// epilogue. A node is folded when the value it reads is read by nothing
// else and its other operands are constants that vary at most along the
// channel axis.
func (b *builder) fuse(gr *graph) {
	uses := map[int]int{}
	consumers := map[int][]int{}
	for i, n := range gr.nodes {
		for _, id := range n.in {
			if id >= 0 {
				uses[id]++
				consumers[id] = append(consumers[id], i)
			}
		}
		if sg, ok := n.k.(subgrapher); ok {
			for _, id := range sg.outerUses() {
				uses[id] += 2 // read by a nested graph: never fused away
			}
		}
	}
	for _, id := range gr.outputs {
		uses[id] += 2
	}
	removed := make([]bool, len(gr.nodes))
	for i, n := range gr.nodes {
		host, ok := n.k.(epilogueHost)
		if !ok || removed[i] || len(n.out) != 1 || n.out[0] < 0 {
			continue
		}
		ch := host.channels(n, b)
		rank := b.e.values[n.out[0]].info.rank
		if ch <= 0 || rank < 3 {
			continue
		}
		cur := n.out[0]
		for {
			op, used, last, ok := b.match(gr, cur, uses, consumers, removed, ch, rank)
			if !ok {
				break
			}
			host.addEpilogue(op)
			for _, j := range used {
				removed[j] = true
			}
			cur = last
		}
		n.out[0] = cur
	}
	kept := gr.nodes[:0]
	for i, n := range gr.nodes {
		if !removed[i] {
			kept = append(kept, n)
		}
	}
	clear(gr.nodes[len(kept):])
	gr.nodes = kept
}

// match recognises the node(s) reading cur as one epilogue step; it returns
// the step, the indices of the nodes it replaces and the value it produces.
func (b *builder) match(gr *graph, cur int, uses map[int]int, consumers map[int][]int, removed []bool, ch, rank int) (epiOp, []int, int, bool) {
	var none epiOp
	single := func(id int) (int, *node, bool) {
		if uses[id] != 1 {
			return 0, nil, false
		}
		j := consumers[id][0]
		if removed[j] {
			return 0, nil, false
		}
		return j, gr.nodes[j], true
	}
	// Hard-swish: x * clip(x+3, 0, 6) / 6 as Add, Clip, Mul, Div.
	if uses[cur] == 2 {
		if op, used, last, ok := b.matchHardSwish(gr, cur, uses, consumers, removed); ok {
			return op, used, last, true
		}
		return none, nil, 0, false
	}
	j, c, ok := single(cur)
	if !ok || len(c.out) != 1 || c.out[0] < 0 {
		return none, nil, 0, false
	}
	out := c.out[0]
	if info := b.e.values[out].info; info.rank >= 0 && info.rank != rank {
		return none, nil, 0, false // broadcasting would change the shape
	}
	switch k := c.k.(type) {
	case *elemBinary:
		other, first := -1, false
		switch {
		case c.in[0] == cur && c.in[1] != cur:
			other, first = c.in[1], true
		case c.in[1] == cur && c.in[0] != cur:
			other = c.in[0]
		default:
			return none, nil, 0, false
		}
		v := b.channelVector(other, ch, rank)
		if v == nil {
			return none, nil, 0, false
		}
		var kind epiKind
		switch {
		case k.op == opAdd:
			kind = epiAdd
		case k.op == opMul:
			kind = epiMul
		case k.op == opSub && first:
			kind = epiSub
		case k.op == opSub:
			kind = epiSubFrom
		case k.op == opDiv && first:
			kind = epiDiv
		case k.op == opDiv:
			kind = epiDivInto
		default:
			return none, nil, 0, false
		}
		return epiOp{kind: kind, v: v}, []int{j}, out, true
	case *variadic:
		if k.mean || len(c.in) != 2 || (k.op != opMax && k.op != opMin) {
			return none, nil, 0, false
		}
		other := c.in[1]
		if c.in[1] == cur {
			other = c.in[0]
		}
		v := b.channelVector(other, ch, rank)
		if v == nil {
			return none, nil, 0, false
		}
		kind := epiMax
		if k.op == opMin {
			kind = epiMin
		}
		return epiOp{kind: kind, v: v}, []int{j}, out, true
	case *unary:
		switch k.name {
		case "Relu":
			return epiOp{kind: epiRelu}, []int{j}, out, true
		case "Sigmoid":
			return epiOp{kind: epiSigmoid}, []int{j}, out, true
		case "LeakyRelu":
			return epiOp{kind: epiLeakyRelu, alpha: k.alpha}, []int{j}, out, true
		case "HardSigmoid":
			return epiOp{kind: epiHardSigmoid, alpha: k.alpha, beta: k.beta}, []int{j}, out, true
		}
	case *clip:
		lo, hi, ok := b.clipBounds(k, c)
		if !ok {
			break
		}
		return epiOp{kind: epiClip, lo: lo, hi: hi}, []int{j}, out, true
	case *batchNorm:
		if k.training || len(c.out) != 1 || c.in[0] != cur {
			break
		}
		var p [4][]float32
		for i := range 4 {
			t := b.e.consts[c.in[i+1]]
			if t == nil || t.Type != onnx.Float || t.Len() != ch {
				return none, nil, 0, false
			}
			p[i] = t.Data.([]float32)
		}
		// Two steps, x*mul + add, exactly as batchNorm.run computes.
		mul, add := k.params(p[0], p[1], p[2], p[3])
		return epiOp{kind: epiBN, v: mul, w: add}, []int{j}, out, true
	}
	return none, nil, 0, false
}

// matchHardSwish recognises Add(x, 3) → Clip(0, 6) → Mul(x, ·) → Div(·, 6)
// (x read by the Add and the Mul only).
func (b *builder) matchHardSwish(gr *graph, x int, uses map[int]int, consumers map[int][]int, removed []bool) (epiOp, []int, int, bool) {
	var none epiOp
	cs := consumers[x]
	if len(cs) != 2 {
		return none, nil, 0, false
	}
	scalar := func(id int) (float32, bool) {
		if id < 0 {
			return 0, false
		}
		t := b.e.consts[id]
		if t == nil || t.Type != onnx.Float || t.Len() != 1 {
			return 0, false
		}
		return t.Data.([]float32)[0], true
	}
	var add, mul *node
	var ai, mi int
	for _, j := range cs {
		n := gr.nodes[j]
		if removed[j] {
			return none, nil, 0, false
		}
		if k, ok := n.k.(*elemBinary); ok && k.op == opAdd {
			add, ai = n, j
		}
		if k, ok := n.k.(*elemBinary); ok && k.op == opMul {
			mul, mi = n, j
		}
	}
	if add == nil || mul == nil || add.in[0] != x {
		return none, nil, 0, false
	}
	three, ok := scalar(add.in[1])
	if !ok || three != 3 || uses[add.out[0]] != 1 {
		return none, nil, 0, false
	}
	ci := consumers[add.out[0]][0]
	cn := gr.nodes[ci]
	ck, ok := cn.k.(*clip)
	if !ok || removed[ci] {
		return none, nil, 0, false
	}
	lo, hi, ok := b.clipBounds(ck, cn)
	if !ok || lo != 0 || hi != 6 || uses[cn.out[0]] != 1 || consumers[cn.out[0]][0] != mi {
		return none, nil, 0, false
	}
	if !(mul.in[0] == x && mul.in[1] == cn.out[0] || mul.in[1] == x && mul.in[0] == cn.out[0]) || uses[mul.out[0]] != 1 {
		return none, nil, 0, false
	}
	di := consumers[mul.out[0]][0]
	dn := gr.nodes[di]
	dk, ok := dn.k.(*elemBinary)
	if !ok || removed[di] || dk.op != opDiv || dn.in[0] != mul.out[0] {
		return none, nil, 0, false
	}
	six, ok := scalar(dn.in[1])
	if !ok || six != 6 {
		return none, nil, 0, false
	}
	return epiOp{kind: epiHardSwish, alpha: 3, beta: 6}, []int{ai, ci, mi, di}, dn.out[0], true
}

// clipBounds returns a Clip node's bounds if they are constants.
func (b *builder) clipBounds(k *clip, n *node) (float32, float32, bool) {
	if k.attr {
		return k.lo, k.hi, true
	}
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	for i, dst := range []*float32{&lo, &hi} {
		if len(n.in) <= i+1 || n.in[i+1] < 0 {
			continue
		}
		t := b.e.consts[n.in[i+1]]
		if t == nil || t.Type != onnx.Float || t.Len() != 1 {
			return 0, 0, false
		}
		*dst = t.Data.([]float32)[0]
	}
	return lo, hi, true
}

// channelVector returns the constant value id as one float32 per channel,
// if it broadcasts along the channel axis (axis 1 of a rank-rank output)
// only: a scalar, or a shape such as [C,1,1] or [1,C,1,1].
func (b *builder) channelVector(id, ch, rank int) []float32 {
	if id < 0 {
		return nil
	}
	t := b.e.consts[id]
	if t == nil || t.Type != onnx.Float || len(t.Shape) > rank {
		return nil
	}
	d := t.Data.([]float32)
	if len(d) == 1 {
		v := make([]float32, ch)
		for i := range v {
			v[i] = d[0]
		}
		return v
	}
	off := rank - len(t.Shape)
	for i, n := range t.Shape {
		axis := off + i
		if axis == 1 {
			if n != ch && n != 1 {
				return nil
			}
		} else if n != 1 {
			return nil
		}
	}
	if len(d) != ch {
		return nil
	}
	return d
}
