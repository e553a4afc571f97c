package exec

import "fmt"

// broadcastShape returns the numpy broadcast of the shapes.
func broadcastShape(shapes ...[]int) ([]int, error) {
	r := 0
	for _, s := range shapes {
		r = max(r, len(s))
	}
	out := make([]int, r)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := r - len(s)
		for i, d := range s {
			o := &out[off+i]
			switch {
			case d == *o || d == 1:
			case *o == 1:
				*o = d
			default:
				return nil, fmt.Errorf("shapes %v do not broadcast", shapes)
			}
		}
	}
	return out, nil
}

// broadcastInfo is broadcastShape over partly known shapes (-1: unknown).
func broadcastInfo(in ...vinfo) (int, []int) {
	r := 0
	for _, v := range in {
		if v.rank < 0 {
			return -1, nil
		}
		r = max(r, v.rank)
	}
	out := make([]int, r)
	for i := range out {
		out[i] = 1
	}
	for _, v := range in {
		off := r - v.rank
		for i, d := range v.shape {
			o := &out[off+i]
			switch {
			case d == 1 || d == *o:
			case *o == 1:
				*o = d
			case d < 0 || *o < 0:
				*o = max(d, *o) // a known size other than 1 wins
			}
		}
	}
	return r, out
}

// maxOperands is the most inputs one broadcast loop reads (Where: 3).
const maxOperands = 3

// iter walks a broadcast: the output is cut into rows of inner elements,
// and each operand is read at offset off[k] of the row with stride step[k]
// (0 when the operand is broadcast along the row, else 1).
type iter struct {
	nops  int
	inner int
	step  [maxOperands]int
	dims  []int              // the outer dimensions, merged where possible
	strd  [maxOperands][]int // each operand's stride in those dimensions
	rows  int                // product of dims
	split int                // >1: each row is cut into split pieces
	piece int                // elements per piece when split > 1
}

// newIter plans the walk over out for operands of the given shapes (which
// must broadcast to out).
func newIter(out []int, ops ...[]int) *iter {
	it := &iter{nops: len(ops)}
	r := len(out)
	// Strides of each operand in the output's dimensions, 0 where it is
	// broadcast.
	str := make([][]int, len(ops))
	for k, s := range ops {
		str[k] = make([]int, r)
		acc := 1
		for i := r - 1; i >= 0; i-- {
			j := i - (r - len(s))
			if j < 0 || s[j] == 1 {
				str[k][i] = 0
			} else {
				str[k][i] = acc
			}
			if j >= 0 {
				acc *= s[j]
			}
		}
	}
	// Merge adjacent dimensions in which every operand is either
	// broadcast in both or contiguous across both; drop dimensions of 1.
	var dims []int
	var ms [maxOperands][]int
	for i := 0; i < r; i++ {
		d := out[i]
		if d == 1 {
			continue
		}
		if len(dims) > 0 {
			last := len(dims) - 1
			ok := true
			for k := range ops {
				prev := ms[k][last]
				cur := str[k][i]
				if (prev == 0) != (cur == 0) || (cur != 0 && prev != cur*d) {
					ok = false
					break
				}
			}
			if ok {
				dims[last] *= d
				for k := range ops {
					ms[k][last] = str[k][i]
				}
				continue
			}
		}
		dims = append(dims, d)
		for k := range ops {
			ms[k] = append(ms[k], str[k][i])
		}
	}
	if len(dims) == 0 {
		it.inner = 1
		for k := range ops {
			it.step[k] = 1
		}
		it.rows = 1
		it.split = 1
		return it
	}
	last := len(dims) - 1
	it.inner = dims[last]
	for k := range ops {
		it.step[k] = ms[k][last]
		it.strd[k] = ms[k][:last]
	}
	it.dims = dims[:last]
	it.rows = 1
	for _, d := range it.dims {
		it.rows *= d
	}
	it.split = 1
	return it
}

// total returns the number of output elements.
func (it *iter) total() int { return it.rows * it.inner }

// units returns how many independent pieces the walk can be cut into,
// each of about grain elements or more, for parallel loops.
func (it *iter) units(grain int) int {
	if it.rows > 1 || it.inner <= grain {
		it.split, it.piece = 1, it.inner
		return it.rows
	}
	it.split = (it.inner + grain - 1) / grain
	it.piece = (it.inner + it.split - 1) / it.split
	it.split = (it.inner + it.piece - 1) / it.piece
	return it.split
}

// each calls fn for every row (or piece of a row, after units) in [lo, hi)
// with the output offset, the operands' offsets and the length.
func (it *iter) each(lo, hi int, fn func(o int, off *[maxOperands]int, n int)) {
	var off [maxOperands]int
	if it.split > 1 {
		for p := lo; p < hi; p++ {
			start := p * it.piece
			n := min(it.piece, it.inner-start)
			for k := 0; k < it.nops; k++ {
				off[k] = start * it.step[k]
			}
			fn(start, &off, n)
		}
		return
	}
	nd := len(it.dims)
	// The position of row lo in the outer dimensions.
	var idxBuf [16]int
	var idx []int
	if nd <= len(idxBuf) {
		idx = idxBuf[:nd]
	} else {
		idx = make([]int, nd)
	}
	rem := lo
	for d := nd - 1; d >= 0; d-- {
		idx[d] = rem % it.dims[d]
		rem /= it.dims[d]
	}
	for k := 0; k < it.nops; k++ {
		off[k] = 0
		for d := 0; d < nd; d++ {
			off[k] += idx[d] * it.strd[k][d]
		}
	}
	for row := lo; row < hi; row++ {
		fn(row*it.inner, &off, it.inner)
		// Advance the odometer.
		for d := nd - 1; d >= 0; d-- {
			idx[d]++
			for k := 0; k < it.nops; k++ {
				off[k] += it.strd[k][d]
			}
			if idx[d] < it.dims[d] {
				break
			}
			for k := 0; k < it.nops; k++ {
				off[k] -= it.dims[d] * it.strd[k][d]
			}
			idx[d] = 0
		}
	}
}
