package exec

import "github.com/edgeai-go/edgeai/models/onnx"

// fuseQuant fuses the chains of dynamic quantization: ConvInteger or
// MatMulInteger → Cast(to float) → Mul by the product of the scales (a
// value computed at run time from DynamicQuantizeLinear's scale) → for
// MatMulInteger, an Add of a constant bias along the columns. The integer
// node then writes float32(sum)·scale (+ bias) itself, as the nodes would
// compute it (each operation rounded in float32), without the int32
// tensor and the passes over it; a fused convolution then takes the
// elementwise nodes after it as an epilogue (fuse). The scale must be a
// scalar or vary along the output channels (columns) only, as its static
// shape shows.
func (b *builder) fuseQuant(gr *graph) {
	uses := map[int]int{}
	consumers := map[int][]int{}
	producer := map[int]int{}
	for i, n := range gr.nodes {
		for _, id := range n.in {
			if id >= 0 {
				uses[id]++
				consumers[id] = append(consumers[id], i)
			}
		}
		for _, id := range n.out {
			if id >= 0 {
				producer[id] = i
			}
		}
		if sg, ok := n.k.(subgrapher); ok {
			for _, id := range sg.outerUses() {
				uses[id] += 2
			}
		}
	}
	for _, id := range gr.outputs {
		uses[id] += 2
	}
	removed := make([]bool, len(gr.nodes))
	single := func(id int) (int, *node, bool) {
		if id < 0 || uses[id] != 1 {
			return 0, nil, false
		}
		j := consumers[id][0]
		if removed[j] {
			return 0, nil, false
		}
		return j, gr.nodes[j], true
	}
	for i, n := range gr.nodes {
		if removed[i] || len(n.out) != 1 {
			continue
		}
		ck, isConv := n.k.(*convInteger)
		mk, isMM := n.k.(*qmatmul)
		if !(isConv && !ck.qlinear && !ck.float) && !(isMM && !mk.qlinear && !mk.float) {
			continue
		}
		ci, cn, ok := single(n.out[0])
		if !ok || len(cn.out) != 1 || cn.out[0] < 0 {
			continue
		}
		if c, ok := cn.k.(*cast); !ok || c.like || c.to != onnx.Float {
			continue
		}
		mi, mn, ok := single(cn.out[0])
		if !ok || len(mn.out) != 1 || mn.out[0] < 0 {
			continue
		}
		if e, ok := mn.k.(*elemBinary); !ok || e.op != opMul {
			continue
		}
		s := mn.in[1]
		if s == cn.out[0] {
			s = mn.in[0]
		}
		if s == cn.out[0] || s < 0 {
			continue
		}
		// The scale must exist before the integer node runs.
		if p, ok := producer[s]; ok && p > i {
			continue
		}
		outInfo := b.e.values[mn.out[0]].info
		si := b.e.values[s].info
		if si.typ != onnx.Float || si.rank < 0 || outInfo.rank < 0 || si.rank > outInfo.rank {
			continue
		}
		axis := 1 // the channel axis of a convolution
		if isMM {
			axis = outInfo.rank - 1
		}
		along := true
		for j, d := range si.shape {
			if outInfo.rank-si.rank+j != axis && d != 1 {
				along = false
			}
		}
		if !along {
			continue
		}
		out := mn.out[0]
		used := []int{ci, mi}
		if isMM {
			// A bias Add along the columns.
			if ai, an, ok := single(out); ok && len(an.out) == 1 && an.out[0] >= 0 {
				if e, ok := an.k.(*elemBinary); ok && e.op == opAdd {
					other := an.in[1]
					if other == out {
						other = an.in[0]
					}
					if v := b.columnVector(other, outInfo); v != nil && other != out {
						mk.bias = v
						used = append(used, ai)
						out = an.out[0]
					}
				}
			}
		}
		n.in = append(n.in, s)
		if isConv {
			ck.float, ck.scaleIn = true, len(n.in)-1
		} else {
			mk.float, mk.scaleIn = true, len(n.in)-1
		}
		n.out[0] = out
		for _, j := range used {
			removed[j] = true
		}
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

// columnVector returns the constant value id as one float32 per column of
// an output of the given info (a scalar, or a shape of ones but the last),
// or nil.
func (b *builder) columnVector(id int, out vinfo) []float32 {
	if id < 0 || out.rank < 1 {
		return nil
	}
	t := b.e.consts[id]
	if t == nil || t.Type != onnx.Float || len(t.Shape) > out.rank {
		return nil
	}
	n := out.shape[out.rank-1]
	if n < 0 {
		return nil
	}
	for j, d := range t.Shape {
		if j < len(t.Shape)-1 && d != 1 {
			return nil
		}
	}
	d := t.Data.([]float32)
	if len(d) == n {
		return d
	}
	if len(d) == 1 {
		v := make([]float32, n)
		for i := range v {
			v[i] = d[0]
		}
		return v
	}
	return nil
}
