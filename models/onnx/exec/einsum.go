package exec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/edgeai-go/edgeai/models/onnx"
)

func init() {
	register("Einsum", 1, -1, 1, newEinsum)
}

// einsum is Einsum, evaluated directly: every combination of the labels'
// values is visited once. Repeated labels within an operand take
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
			if old, ok := size[c]; ok && old != d {
				if old == 1 && c >= '0' && c <= '9' {
					size[c] = d
				} else if !(d == 1 && c >= '0' && c <= '9') {
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
