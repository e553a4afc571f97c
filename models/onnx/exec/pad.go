package exec

import (
	"fmt"
	"math"

	"github.com/edgeai-go/edgeai/models/onnx"
)

func init() {
	register("Pad", 1, 4, 1, newPad)
}

// pad is Pad in the modes constant, reflect, edge and wrap. Before opset 11
// the pads and the value are attributes; after, inputs (with axes from
// opset 18). Negative pads crop.
type pad struct {
	mode  string
	pads  []int64 // attribute form
	value float32 // attribute form
	attr  bool
}

func newPad(nc *nodeCtx) (kernel, error) {
	k := &pad{mode: nc.a.str("mode", "constant")}
	switch k.mode {
	case "constant", "reflect", "edge":
	case "wrap":
		if nc.opset < 19 {
			return nil, fmt.Errorf("%w: Pad mode wrap before opset 19", onnx.ErrFormat)
		}
	default:
		return nil, fmt.Errorf("%w: Pad mode %q", ErrUnsupported, k.mode)
	}
	if nc.opset < 11 {
		k.attr = true
		var ok bool
		if k.pads, ok = nc.a.ints("pads"); !ok {
			k.pads, ok = nc.a.ints("paddings") // opset 1
			if !ok {
				return nil, fmt.Errorf("%w: Pad without pads", onnx.ErrFormat)
			}
		}
		k.value = nc.a.float("value", 0)
	} else if !nc.hasIn(1) {
		return nil, fmt.Errorf("%w: Pad without pads", onnx.ErrFormat)
	}
	return k, nil
}

func (k *pad) infer(in, out []vinfo) error {
	out[0].typ = in[0].typ
	if in[0].rank >= 0 {
		out[0].rank = in[0].rank
		out[0].shape = make([]int, in[0].rank)
		for i := range out[0].shape {
			out[0].shape[i] = -1
		}
	}
	return nil
}

// padsFor returns the begin and end pads of every dimension.
func (k *pad) padsFor(in []*Tensor, r int) ([]int, []int, error) {
	pads := k.pads
	if !k.attr {
		p, err := intsOf(in[1])
		if err != nil {
			return nil, nil, err
		}
		pads = p
	}
	axes := make([]int, 0, r)
	if len(in) > 3 && in[3] != nil {
		a, err := intsOf(in[3])
		if err != nil {
			return nil, nil, err
		}
		for _, ax := range a {
			n, err := normAxis(ax, r)
			if err != nil {
				return nil, nil, err
			}
			axes = append(axes, n)
		}
	} else {
		for i := range r {
			axes = append(axes, i)
		}
	}
	if len(pads) != 2*len(axes) {
		return nil, nil, fmt.Errorf("Pad with %d pads for %d axes", len(pads), len(axes))
	}
	begin, end := make([]int, r), make([]int, r)
	for i, ax := range axes {
		b, e := pads[i], pads[len(axes)+i]
		if b < -math.MaxInt32 || b > math.MaxInt32 || e < -math.MaxInt32 || e > math.MaxInt32 {
			return nil, nil, fmt.Errorf("%w: Pad by %d, %d", ErrLimit, b, e)
		}
		begin[ax], end[ax] = int(b), int(e)
	}
	return begin, end, nil
}

func (k *pad) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	r := len(x.Shape)
	begin, end, err := k.padsFor(in, r)
	if err != nil {
		return err
	}
	shape := make([]int, r)
	for i, d := range x.Shape {
		shape[i] = d + begin[i] + end[i]
		if shape[i] < 0 {
			return fmt.Errorf("Pad of %v by %v, %v crops below zero", x.Shape, begin, end)
		}
		if k.mode != "constant" && d == 0 && shape[i] > 0 {
			return fmt.Errorf("Pad mode %s of an empty dimension", k.mode)
		}
	}
	o, err := rc.alloc(x.Type, shape)
	if err != nil {
		return err
	}
	out[0] = o
	if o.Len() == 0 {
		// Nothing to fill; one dimension may still be huge (another is
		// 0), too long for the index maps below.
		return nil
	}
	// The source index of each output index, per dimension (-1: padding).
	maps := make([][]int, r)
	for d := range r {
		n := x.Shape[d]
		m := make([]int, shape[d])
		for i := range m {
			m[i] = padIndex(i-begin[d], n, k.mode)
		}
		maps[d] = m
	}
	// The constant.
	cv := zeroSlice(x.Type, 1)
	if k.mode == "constant" {
		if k.attr {
			storeFloats(&Tensor{Type: x.Type, Data: cv}, []float64{float64(k.value)})
		} else if len(in) > 2 && in[2] != nil {
			if in[2].Type != x.Type || in[2].Len() != 1 {
				return fmt.Errorf("%w: Pad constant_value %v for %v data", onnx.ErrFormat, in[2], x.Type)
			}
			copyData(cv, in[2].Data)
		}
	}
	switch d := words(o.Data).(type) {
	case []uint8:
		padT(d, words(x.Data).([]uint8), x.Shape, shape, maps, words(cv).([]uint8)[0])
	case []uint16:
		padT(d, words(x.Data).([]uint16), x.Shape, shape, maps, words(cv).([]uint16)[0])
	case []uint32:
		padT(d, words(x.Data).([]uint32), x.Shape, shape, maps, words(cv).([]uint32)[0])
	case []uint64:
		padT(d, words(x.Data).([]uint64), x.Shape, shape, maps, words(cv).([]uint64)[0])
	case []string:
		padT(d, x.Data.([]string), x.Shape, shape, maps, cv.([]string)[0])
	}
	return nil
}

// padIndex maps position i (relative to the data's start) of a dimension of
// n to a source index, or -1 for the constant.
func padIndex(i, n int, mode string) int {
	if i >= 0 && i < n {
		return i
	}
	switch mode {
	case "edge":
		return min(max(i, 0), n-1)
	case "wrap":
		return ((i % n) + n) % n
	case "reflect":
		if n == 1 {
			return 0
		}
		period := 2 * (n - 1)
		i = ((i % period) + period) % period
		if i >= n {
			i = period - i
		}
		return i
	}
	return -1
}

func padT[T any](dst, src []T, in, out []int, maps [][]int, cv T) {
	r := len(out)
	if len(dst) == 0 {
		return
	}
	if r == 0 {
		dst[0] = src[0]
		return
	}
	inner := out[r-1]
	last := maps[r-1]
	istr := stridesOf(in)
	idx := make([]int, r-1)
	rows := len(dst) / inner
	for row := range rows {
		off, ok := 0, true
		for d := range r - 1 {
			s := maps[d][idx[d]]
			if s < 0 {
				ok = false
				break
			}
			off += s * istr[d]
		}
		drow := dst[row*inner : (row+1)*inner]
		if !ok {
			for i := range drow {
				drow[i] = cv
			}
		} else {
			for i, s := range last {
				if s < 0 {
					drow[i] = cv
				} else {
					drow[i] = src[off+s]
				}
			}
		}
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			if idx[d] < out[d] {
				break
			}
			idx[d] = 0
		}
	}
}
