package exec

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/edgeai-go/edgeai/models/onnx"
)

func init() {
	register("PRelu", 2, 2, 1, func(nc *nodeCtx) (kernel, error) { return prelu{}, nil })
	register("ScatterND", 3, 3, 1, func(nc *nodeCtx) (kernel, error) {
		r, err := reduction(nc)
		return &scatterND{red: r}, err
	})
	register("ScatterElements", 3, 3, 1, func(nc *nodeCtx) (kernel, error) {
		r, err := reduction(nc)
		return &scatterElements{axis: nc.a.int("axis", 0), red: r}, err
	})
	register("GatherND", 2, 2, 1, func(nc *nodeCtx) (kernel, error) {
		return &gatherND{batch: int(nc.a.intIn("batch_dims", 0, 0, 64))}, nil
	})
	register("TopK", 1, 2, 2, func(nc *nodeCtx) (kernel, error) {
		k := &topK{axis: nc.a.int("axis", -1), largest: true, sorted: true, k: -1}
		if nc.opset < 10 {
			k.k = nc.a.int("k", 0)
		}
		if nc.opset >= 11 {
			k.largest = nc.a.intIn("largest", 1, 0, 1) == 1
			k.sorted = nc.a.intIn("sorted", 1, 0, 1) == 1
		}
		return k, nil
	})
}

// ---- PRelu: y = x < 0 ? slope·x : x, slope broadcast to x.

type prelu struct{}

func (prelu) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: in[0].typ, rank: in[0].rank, shape: in[0].shape}
	return nil
}

func (prelu) run(rc *runCtx, in, out []*Tensor) error {
	x, s := in[0], in[1]
	if x.Type != s.Type {
		return fmt.Errorf("%w: PRelu of %v with a %v slope", onnx.ErrFormat, x.Type, s.Type)
	}
	if sh, err := broadcastShape(x.Shape, s.Shape); err != nil || !slices.Equal(sh, x.Shape) {
		return fmt.Errorf("PRelu slope %v does not broadcast to %v", s.Shape, x.Shape)
	}
	o, err := rc.alloc(x.Type, x.Shape)
	if err != nil {
		return err
	}
	out[0] = o
	sb := s
	if !slices.Equal(s.Shape, x.Shape) {
		if sb, err = rc.alloc(x.Type, x.Shape); err != nil {
			return err
		}
		defer rc.release(sb)
		broadcastCopy(rc, sb, s)
	}
	switch xd := x.Data.(type) {
	case []float32:
		preluOf(xd, sb.Data.([]float32), o.Data.([]float32))
	case []float64:
		preluOf(xd, sb.Data.([]float64), o.Data.([]float64))
	case []int32:
		preluOf(xd, sb.Data.([]int32), o.Data.([]int32))
	case []int64:
		preluOf(xd, sb.Data.([]int64), o.Data.([]int64))
	default:
		return fmt.Errorf("%w: PRelu of %v", ErrUnsupported, x.Type)
	}
	return nil
}

func preluOf[T float32 | float64 | int32 | int64](x, s, o []T) {
	for i, v := range x {
		if v < 0 {
			o[i] = s[i] * v
		} else {
			o[i] = v
		}
	}
}

// ---- the reductions of ScatterND and ScatterElements.

type scatterRed uint8

const (
	scNone scatterRed = iota
	scAdd
	scMul
	scMax
	scMin
)

func reduction(nc *nodeCtx) (scatterRed, error) {
	if nc.opset < 16 {
		return scNone, nil
	}
	switch r := nc.a.str("reduction", "none"); r {
	case "none":
		return scNone, nil
	case "add":
		return scAdd, nil
	case "mul":
		return scMul, nil
	case "max", "min":
		if nc.opset < 18 {
			return 0, fmt.Errorf("%w: reduction %q before opset 18", onnx.ErrFormat, r)
		}
		if r == "max" {
			return scMax, nil
		}
		return scMin, nil
	default:
		return 0, fmt.Errorf("%w: reduction %q", ErrUnsupported, r)
	}
}

// scatterInto copies data to a new tensor and applies set(dst, i, src, j)
// through the typed slices.
type scatterFn func(dst, src any, i, j int)

func scatterOp(typ onnx.DataType, red scatterRed) (scatterFn, error) {
	if red == scNone {
		return func(dst, src any, i, j int) {
			switch d := words(dst).(type) {
			case []uint8:
				d[i] = words(src).([]uint8)[j]
			case []uint16:
				d[i] = words(src).([]uint16)[j]
			case []uint32:
				d[i] = words(src).([]uint32)[j]
			case []uint64:
				d[i] = words(src).([]uint64)[j]
			case []string:
				d[i] = src.([]string)[j]
			}
		}, nil
	}
	switch typ {
	case onnx.Float:
		return reduceFn[float32](red), nil
	case onnx.Double:
		return reduceFn[float64](red), nil
	case onnx.Int32:
		return reduceFn[int32](red), nil
	case onnx.Int64:
		return reduceFn[int64](red), nil
	case onnx.Int8:
		return reduceFn[int8](red), nil
	case onnx.Uint8:
		return reduceFn[uint8](red), nil
	}
	return nil, fmt.Errorf("%w: scatter reduction on %v", ErrUnsupported, typ)
}

func reduceFn[T float32 | float64 | int32 | int64 | int8 | uint8](red scatterRed) scatterFn {
	return func(dst, src any, i, j int) {
		d, s := dst.([]T), src.([]T)
		switch red {
		case scAdd:
			d[i] += s[j]
		case scMul:
			d[i] *= s[j]
		case scMax:
			d[i] = max(d[i], s[j])
		case scMin:
			d[i] = min(d[i], s[j])
		}
	}
}

// ---- ScatterND

type scatterND struct{ red scatterRed }

func (k *scatterND) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: in[0].typ, rank: in[0].rank, shape: in[0].shape}
	return nil
}

func (k *scatterND) run(rc *runCtx, in, out []*Tensor) error {
	data, idxT, upd := in[0], in[1], in[2]
	if upd.Type != data.Type {
		return fmt.Errorf("%w: ScatterND updates of %v for %v data", onnx.ErrFormat, upd.Type, data.Type)
	}
	idx, err := intsOf(idxT)
	if err != nil {
		return err
	}
	r, q := len(data.Shape), len(idxT.Shape)
	if q < 1 {
		return fmt.Errorf("ScatterND indices of rank 0")
	}
	kk := idxT.Shape[q-1]
	if kk > r {
		return fmt.Errorf("ScatterND index tuples of %d for rank %d", kk, r)
	}
	// updates: indices.shape[:-1] + data.shape[k:]
	want := append(slices.Clone(idxT.Shape[:q-1]), data.Shape[kk:]...)
	if !slices.Equal(upd.Shape, want) {
		return fmt.Errorf("ScatterND updates %v, want %v", upd.Shape, want)
	}
	fn, err := scatterOp(data.Type, k.red)
	if err != nil {
		return err
	}
	o, err := rc.alloc(data.Type, data.Shape)
	if err != nil {
		return err
	}
	out[0] = o
	copyData(o.Data, data.Data)
	slice := numel(data.Shape[kk:])
	n := numel(idxT.Shape[:q-1])
	for t := range n {
		off := 0
		for d := range kk {
			v := idx[t*kk+d]
			if v < 0 {
				v += int64(data.Shape[d])
			}
			if v < 0 || v >= int64(data.Shape[d]) {
				return fmt.Errorf("ScatterND index %d out of range for dimension %d of %v", idx[t*kk+d], d, data.Shape)
			}
			off = off*data.Shape[d] + int(v)
		}
		off *= slice
		for j := range slice {
			fn(o.Data, upd.Data, off+j, t*slice+j)
		}
	}
	return nil
}

// ---- ScatterElements

type scatterElements struct {
	axis int64
	red  scatterRed
}

func (k *scatterElements) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: in[0].typ, rank: in[0].rank, shape: in[0].shape}
	return nil
}

func (k *scatterElements) run(rc *runCtx, in, out []*Tensor) error {
	data, idxT, upd := in[0], in[1], in[2]
	if upd.Type != data.Type {
		return fmt.Errorf("%w: ScatterElements updates of %v for %v data", onnx.ErrFormat, upd.Type, data.Type)
	}
	r := len(data.Shape)
	if len(idxT.Shape) != r || !slices.Equal(idxT.Shape, upd.Shape) {
		return fmt.Errorf("ScatterElements indices %v and updates %v for data %v", idxT.Shape, upd.Shape, data.Shape)
	}
	ax, err := normAxis(k.axis, r)
	if err != nil {
		return err
	}
	idx, err := intsOf(idxT)
	if err != nil {
		return err
	}
	fn, err := scatterOp(data.Type, k.red)
	if err != nil {
		return err
	}
	o, err := rc.alloc(data.Type, data.Shape)
	if err != nil {
		return err
	}
	out[0] = o
	copyData(o.Data, data.Data)
	dstr := strides(data.Shape)
	pos := make([]int, r)
	for j := range idx {
		// The position of element j in the indices' shape.
		rem := j
		for d := r - 1; d >= 0; d-- {
			pos[d] = rem % idxT.Shape[d]
			rem /= idxT.Shape[d]
		}
		v := idx[j]
		if v < 0 {
			v += int64(data.Shape[ax])
		}
		if v < 0 || v >= int64(data.Shape[ax]) {
			return fmt.Errorf("ScatterElements index %d out of range for axis %d of %v", idx[j], ax, data.Shape)
		}
		off := 0
		for d := range r {
			p := pos[d]
			if d == ax {
				p = int(v)
			} else if p >= data.Shape[d] {
				return fmt.Errorf("ScatterElements indices %v larger than data %v", idxT.Shape, data.Shape)
			}
			off += p * dstr[d]
		}
		fn(o.Data, upd.Data, off, j)
	}
	return nil
}

func strides(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// ---- GatherND

type gatherND struct{ batch int }

func (k *gatherND) infer(in, out []vinfo) error {
	out[0].typ = in[0].typ
	return nil
}

func (k *gatherND) run(rc *runCtx, in, out []*Tensor) error {
	data, idxT := in[0], in[1]
	idx, err := intsOf(idxT)
	if err != nil {
		return err
	}
	r, q, b := len(data.Shape), len(idxT.Shape), k.batch
	if q < 1 || b >= min(r, q) {
		return fmt.Errorf("GatherND batch_dims %d for data %v and indices %v", b, data.Shape, idxT.Shape)
	}
	if !slices.Equal(data.Shape[:b], idxT.Shape[:b]) {
		return fmt.Errorf("GatherND batch dimensions of %v and %v differ", data.Shape, idxT.Shape)
	}
	kk := idxT.Shape[q-1]
	if kk < 1 || b+kk > r {
		return fmt.Errorf("GatherND index tuples of %d for data %v (batch_dims %d)", kk, data.Shape, b)
	}
	shape := append(slices.Clone(idxT.Shape[:q-1]), data.Shape[b+kk:]...)
	o, err := rc.alloc(data.Type, shape)
	if err != nil {
		return err
	}
	out[0] = o
	slice := numel(data.Shape[b+kk:])
	batches := numel(data.Shape[:b])
	perBatchData := numel(data.Shape[b:])
	tuples := numel(idxT.Shape[b : q-1])
	od, dd := words(o.Data), words(data.Data)
	for bi := range batches {
		for t := range tuples {
			ti := bi*tuples + t
			off := 0
			for d := range kk {
				dim := data.Shape[b+d]
				v := idx[ti*kk+d]
				if v < 0 {
					v += int64(dim)
				}
				if v < 0 || v >= int64(dim) {
					return fmt.Errorf("GatherND index %d out of range for dimension %d of %v", idx[ti*kk+d], b+d, data.Shape)
				}
				off = off*dim + int(v)
			}
			src := bi*perBatchData + off*slice
			copyWords(od, ti*slice, dd, src, slice)
		}
	}
	return nil
}

// copyWords copies n elements of word slices (see words).
func copyWords(dst any, di int, src any, si, n int) {
	switch d := dst.(type) {
	case []uint8:
		copy(d[di:di+n], src.([]uint8)[si:si+n])
	case []uint16:
		copy(d[di:di+n], src.([]uint16)[si:si+n])
	case []uint32:
		copy(d[di:di+n], src.([]uint32)[si:si+n])
	case []uint64:
		copy(d[di:di+n], src.([]uint64)[si:si+n])
	case []string:
		copy(d[di:di+n], src.([]string)[si:si+n])
	}
}

// ---- TopK

type topK struct {
	axis            int64
	largest, sorted bool
	k               int64 // the attribute (opset < 10), else -1
}

func (k *topK) infer(in, out []vinfo) error {
	out[0].typ = in[0].typ
	if len(out) > 1 {
		out[1].typ = onnx.Int64
	}
	return nil
}

func (k *topK) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	kv := k.k
	if kv < 0 {
		if len(in) < 2 || in[1] == nil {
			return fmt.Errorf("%w: TopK without K", onnx.ErrFormat)
		}
		v, err := intsOf(in[1])
		if err != nil || len(v) != 1 {
			return fmt.Errorf("TopK K must be one integer")
		}
		kv = v[0]
	}
	ax, err := normAxis(k.axis, len(x.Shape))
	if err != nil {
		return err
	}
	n := x.Shape[ax]
	if kv < 0 || kv > int64(n) {
		return fmt.Errorf("TopK K %d for an axis of %d", kv, n)
	}
	vals, err := floatsOf(x)
	if err != nil {
		return fmt.Errorf("%w: TopK of %v", ErrUnsupported, x.Type)
	}
	shape := slices.Clone(x.Shape)
	shape[ax] = int(kv)
	o, err := rc.alloc(x.Type, shape)
	if err != nil {
		return err
	}
	out[0] = o
	oi, err := rc.alloc(onnx.Int64, shape)
	if err != nil {
		return err
	}
	if len(out) > 1 {
		out[1] = oi
	} else {
		defer rc.release(oi)
	}
	inner := numel(x.Shape[ax+1:])
	outer := numel(x.Shape[:ax])
	ids := oi.Data.([]int64)
	order := make([]int, n)
	for a := range outer {
		for c := range inner {
			base := a*n*inner + c
			for i := range order {
				order[i] = i
			}
			at := func(i int) float64 { return vals[base+i*inner] }
			// Larger (smaller) first; NaN counts as the largest; ties by
			// the lower index, as ONNX Runtime orders them.
			slices.SortStableFunc(order, func(i, j int) int {
				vi, vj := at(i), at(j)
				c := cmpNaN(vi, vj)
				if k.largest {
					c = -c
				}
				return c
			})
			for i := range int(kv) {
				ids[(a*int(kv)+i)*inner+c] = int64(order[i])
			}
		}
	}
	// Gather the values through the indices.
	od, xd := words(o.Data), words(x.Data)
	for a := range outer {
		for i := range int(kv) {
			for c := range inner {
				dst := (a*int(kv)+i)*inner + c
				copyWords(od, dst, xd, a*n*inner+int(ids[dst])*inner+c, 1)
			}
		}
	}
	return nil
}

// cmpNaN orders floats with NaN above everything.
func cmpNaN(a, b float64) int {
	an, bn := a != a, b != b
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	}
	return cmp.Compare(a, b)
}
