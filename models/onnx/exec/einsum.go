package exec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/onnx"
)

func init() {
	register("Einsum", 1, -1, 1, newEinsum)
}

// einsum is Einsum. A contraction of two float32 operands (batch, free and
// summed labels, no diagonals nor broadcasting: attention's "bhqd,bhkd->bhqk",
// "bij,bjk->bik", "i,j->ij"...) is a batched matrix product of the operands
// permuted into [batch, m, k] and [batch, k, n]; anything else is
// evaluated directly: every combination of the labels' values is visited
// once. Repeated labels within an operand take
// diagonals, "..." stands for the broadcast leading dimensions, and without
// "->" the output is the labels seen once, in alphabetical order.
type einsum struct {
	inputs   []string // each operand's labels ('.' for one ellipsis)
	output   string
	explicit bool
}

func newEinsum(nc *nodeCtx) (kernel, error) {
	eq := strings.ReplaceAll(nc.a.str("equation", ""), " ", "")
	k := &einsum{}
	lhs, rhs, explicit := strings.Cut(eq, "->")
	k.explicit = explicit
	for _, op := range strings.Split(lhs, ",") {
		s, err := einsumLabels(op)
		if err != nil {
			return nil, err
		}
		k.inputs = append(k.inputs, s)
	}
	if len(k.inputs) != len(nc.n.Inputs) {
		return nil, fmt.Errorf("%w: Einsum %q for %d inputs", onnx.ErrFormat, eq, len(nc.n.Inputs))
	}
	if explicit {
		s, err := einsumLabels(rhs)
		if err != nil {
			return nil, err
		}
		k.output = s
		for _, c := range s {
			if c != '.' && !strings.ContainsRune(lhs, c) {
				return nil, fmt.Errorf("%w: Einsum output label %q not in the inputs", onnx.ErrFormat, c)
			}
		}
	} else {
		count := map[rune]int{}
		for _, s := range k.inputs {
			for _, c := range s {
				count[c]++
			}
		}
		var once []rune
		for c, n := range count {
			if n == 1 && c != '.' {
				once = append(once, c)
			}
		}
		slices.Sort(once)
		if count['.'] > 0 {
			k.output = "."
		}
		k.output += string(once)
	}
	return k, nil
}

// einsumLabels checks a term and replaces "..." by ".".
func einsumLabels(s string) (string, error) {
	s = strings.Replace(s, "...", ".", 1)
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.') {
			return "", fmt.Errorf("%w: Einsum term %q", onnx.ErrFormat, s)
		}
	}
	if strings.Count(s, ".") > 1 {
		return "", fmt.Errorf("%w: Einsum term %q", onnx.ErrFormat, s)
	}
	return s, nil
}

func (k *einsum) run(rc *runCtx, in, out []*Tensor) error {
	typ := in[0].Type
	for _, t := range in {
		if t.Type != typ {
			return fmt.Errorf("%w: Einsum of %v and %v", onnx.ErrFormat, typ, t.Type)
		}
	}
	// Expand each operand's ellipsis into labels '0', '1'... (right-aligned
	// broadcast dimensions) and find every label's size.
	ell := 0
	for i, t := range in {
		if strings.Contains(k.inputs[i], ".") {
			ell = max(ell, len(t.Shape)-(len(k.inputs[i])-1))
		}
	}
	ellLabels := ""
	for i := range ell {
		ellLabels += string(rune('0' + i))
	}
	size := map[rune]int{}
	labels := make([]string, len(in))
	for i, t := range in {
		s := k.inputs[i]
		if strings.Contains(s, ".") {
			n := len(t.Shape) - (len(s) - 1)
			if n < 0 {
				return fmt.Errorf("Einsum term %q for shape %v", s, t.Shape)
			}
			s = strings.Replace(s, ".", ellLabels[ell-n:], 1)
		}
		if len(s) != len(t.Shape) {
			return fmt.Errorf("Einsum term %q for shape %v", k.inputs[i], t.Shape)
		}
		labels[i] = s
		for j, c := range s {
			d := t.Shape[j]
			// A dimension of 1 broadcasts (ellipsis dimensions, and
			// named ones too, as ONNX Runtime allows).
			if old, ok := size[c]; ok && old != d {
				if old == 1 {
					size[c] = d
				} else if d != 1 {
					return fmt.Errorf("Einsum label %q has sizes %d and %d", c, old, d)
				}
			} else if !ok {
				size[c] = d
			}
		}
	}
	outLabels := strings.Replace(k.output, ".", ellLabels, 1)
	// All labels: the output's first, then the summed ones.
	all := []rune(outLabels)
	for _, s := range labels {
		for _, c := range s {
			if !slices.Contains(all, c) {
				all = append(all, c)
			}
		}
	}
	dims := make([]int, len(all))
	for i, c := range all {
		dims[i] = size[c]
	}
	oshape := dims[:len([]rune(outLabels))]
	o, err := rc.alloc(typ, slices.Clone(oshape))
	if err != nil {
		return err
	}
	out[0] = o
	if ok, err := einsumGEMM(rc, in, labels, outLabels, size, o); ok || err != nil {
		return err
	}
	// The labels' sizes multiply: check the product without overflow.
	total, err := shapeSize(dims, int(min(rc.e.limit, maxDim)))
	if err != nil {
		return fmt.Errorf("Einsum over the labels %q: %w", string(all), err)
	}
	// Strides of each operand per label (summed over repeats: diagonals;
	// 0 for broadcast dimensions of 1).
	strd := make([][]int, len(in))
	for i, t := range in {
		st := stridesOf(t.Shape)
		strd[i] = make([]int, len(all))
		for j, c := range labels[i] {
			if t.Shape[j] == 1 && size[c] != 1 {
				continue
			}
			strd[i][slices.Index(all, c)] += st[j]
		}
	}
	vals := make([][]float64, len(in))
	for i, t := range in {
		v, err := floatsOf(t)
		if err != nil {
			return fmt.Errorf("%w: Einsum of %v", ErrUnsupported, t.Type)
		}
		vals[i] = v
	}
	acc := make([]float64, o.Len())
	ostr := stridesOf(oshape)
	idx := make([]int, len(all))
	offs := make([]int, len(in))
	for it := range total {
		if it&(1<<16-1) == 0 && rc.stopped() {
			return rc.ctx.Err()
		}
		p := 1.0
		for i := range in {
			p *= vals[i][offs[i]]
		}
		oo := 0
		for j := range oshape {
			oo += idx[j] * ostr[j]
		}
		acc[oo] += p
		for d := len(all) - 1; d >= 0; d-- {
			idx[d]++
			for i := range in {
				offs[i] += strd[i][d]
			}
			if idx[d] < dims[d] {
				break
			}
			for i := range in {
				offs[i] -= dims[d] * strd[i][d]
			}
			idx[d] = 0
		}
	}
	storeFloats(o, acc)
	return nil
}

// einsumGEMM computes a two-operand float32 contraction as a batched
// matrix product into o, or reports false if the equation is not one
// (diagonals, broadcast dimensions, labels summed within one operand).
func einsumGEMM(rc *runCtx, in []*Tensor, labels []string, outLabels string, size map[rune]int, o *Tensor) (bool, error) {
	if len(in) != 2 || in[0].Type != onnx.Float {
		return false, nil
	}
	a, b := []rune(labels[0]), []rune(labels[1])
	for i, l := range [][]rune{a, b} {
		for j, c := range l {
			if slices.Index(l, c) != j || in[i].Shape[j] != size[c] {
				return false, nil // a diagonal or a broadcast dimension
			}
		}
	}
	outR := []rune(outLabels)
	var batch, mL, nL, kL []rune
	for _, c := range a {
		inB, inOut := slices.Contains(b, c), slices.Contains(outR, c)
		switch {
		case inB && inOut:
			batch = append(batch, c)
		case inB:
			kL = append(kL, c)
		case inOut:
			mL = append(mL, c)
		default:
			return false, nil // summed within A alone
		}
	}
	for _, c := range b {
		if !slices.Contains(a, c) {
			if !slices.Contains(outR, c) {
				return false, nil
			}
			nL = append(nL, c)
		}
	}
	prod := func(ls []rune) int {
		n := 1
		for _, c := range ls {
			n *= size[c]
		}
		return n
	}
	nb, m, n, k := prod(batch), prod(mL), prod(nL), prod(kL)
	if nb*m*n == 0 {
		return true, nil
	}
	if k == 0 {
		clear(o.Data.([]float32))
		return true, nil
	}
	// permute copies x (labels xl) into the label order want.
	permute := func(x *Tensor, xl []rune, want []rune) (*Tensor, error) {
		shape := make([]int, len(want))
		str := make([]int, len(want))
		xs := stridesOf(x.Shape)
		same := true
		for i, c := range want {
			j := slices.Index(xl, c)
			shape[i], str[i] = size[c], xs[j]
			if j != i {
				same = false
			}
		}
		if same {
			return x, nil
		}
		t, err := rc.alloc(onnx.Float, shape)
		if err != nil {
			return nil, err
		}
		stridedCopy(rc, t.Data, x.Data, shape, str, 0)
		return t, nil
	}
	release := func(t, orig *Tensor) {
		if t != orig {
			rc.release(t)
		}
	}
	pa, err := permute(in[0], a, slices.Concat(batch, mL, kL))
	if err != nil {
		return true, err
	}
	defer release(pa, in[0])
	pb, err := permute(in[1], b, slices.Concat(batch, kL, nL))
	if err != nil {
		return true, err
	}
	defer release(pb, in[1])
	cl := slices.Concat(batch, mL, nL)
	c := o
	if !slices.Equal(cl, outR) {
		if c, err = rc.alloc(onnx.Float, []int{nb * m * n}); err != nil {
			return true, err
		}
		defer rc.release(c)
	}
	g := kernels.CurrentSgemm()
	ad, bd, cd := pa.Data.([]float32), pb.Data.([]float32), c.Data.([]float32)
	mm := &matmul{g: g}
	for i := range nb {
		if err := mm.product(rc, ad[i*m*k:(i+1)*m*k], bd[i*k*n:(i+1)*k*n], cd[i*m*n:(i+1)*m*n], m, k, n); err != nil {
			return true, err
		}
	}
	if c != o {
		// C holds [batch, m, n] in the labels cl: gather it into the
		// output's order.
		cs := make([]int, len(cl))
		acc := 1
		for i := len(cl) - 1; i >= 0; i-- {
			cs[i] = acc
			acc *= size[cl[i]]
		}
		str := make([]int, len(outR))
		for i, r := range outR {
			str[i] = cs[slices.Index(cl, r)]
		}
		stridedCopy(rc, o.Data, cd, o.Shape, str, 0)
	}
	return true, nil
}
