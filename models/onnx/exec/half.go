package exec

import (
	"github.com/edgeai-go/edgeai/models/onnx"
)

// float16 and bfloat16 models. The elementwise operators, Cast and the
// operators that only move data handle half-precision tensors themselves
// (arithmetic in float32, rounded back). Every other operator meeting one
// runs wrapped in halfKernel: its half-precision inputs are converted to
// float32 (constants once, at load), it computes in float32, and its
// float32 outputs are rounded back to the half type. That is what ONNX
// Runtime's CPU provider does for the operators it has no float16 kernel
// for (on x86-64, all but the data movement and Cast): it inserts casts
// around them, then removes the casts between two such operators, so a
// chain of them runs in float32 throughout. The builder does the same: an
// output that only float32-computed operators read stays float32 (keep;
// the value is "demoted", and its readers, elementwise ones included, are
// wrapped too), and values are rounded to the half type only where a
// half-native operator, a nested graph or the graph's output reads them.

// halfNative lists the operators (besides the unary and binary elementwise
// ones) that take half-precision tensors as they are.
var halfNative = map[string]bool{
	"Reshape": true, "Flatten": true, "Squeeze": true, "Unsqueeze": true, "Transpose": true,
	"Concat": true, "Split": true, "Slice": true, "Gather": true, "GatherElements": true,
	"Expand": true, "Tile": true, "Shape": true, "Size": true, "Identity": true, "Cast": true,
	"CastLike": true, "Where": true, "Constant": true, "ConstantOfShape": true,
}

// halfInputs reports the inputs of a node that are float16 or bfloat16,
// and their type (the first one's), or nil.
func halfInputs(in []vinfo) ([]bool, onnx.DataType) {
	var which []bool
	var typ onnx.DataType
	for i, v := range in {
		if isHalf(v.typ) {
			if which == nil {
				which = make([]bool, len(in))
				typ = v.typ
			}
			which[i] = true
		}
	}
	return which, typ
}

// needsHalfWrap reports whether the kernel k of op needs halfKernel.
func needsHalfWrap(op string, k kernel) bool {
	if halfNative[op] {
		return false
	}
	switch k.(type) {
	case *unary, *elemBinary, *cast:
		return false
	}
	return true
}

// toF32Info returns in with half-precision inputs turned into float32 (the
// values of constants converted).
func toF32Info(in []vinfo, which []bool) []vinfo {
	out := make([]vinfo, len(in))
	copy(out, in)
	for i, h := range which {
		if !h {
			continue
		}
		out[i].typ = onnx.Float
		if c := in[i].val; c != nil {
			f := &Tensor{Type: onnx.Float, Shape: c.Shape, Data: make([]float32, c.Len())}
			d := f.Data.([]float32)
			for j, v := range c.Data.([]uint16) {
				d[j] = float32(halfToFloat(c.Type, v))
			}
			out[i].val = f
		}
	}
	return out
}

// halfKernel runs a float32 kernel on half-precision tensors.
type halfKernel struct {
	inner  kernel
	typ    onnx.DataType // the half type
	which  []bool        // the inputs to convert
	consts []*Tensor     // converted constants, by input index
	keep   []bool        // the outputs left in float32 (read only by float32 operators)
}

func (h *halfKernel) infer(in, out []vinfo) error {
	inf, ok := h.inner.(inferer)
	if !ok {
		return nil
	}
	if h.which == nil { // types known only at run time
		return inf.infer(in, out)
	}
	f := toF32Info(in, h.which)
	if err := inf.infer(f, out); err != nil {
		return err
	}
	for i := range out {
		if out[i].typ == onnx.Float && !(i < len(h.keep) && h.keep[i]) {
			out[i].typ = h.typ
		}
	}
	return nil
}

func (h *halfKernel) foldable() bool { return foldable(h.inner) }

func (h *halfKernel) run(rc *runCtx, in, out []*Tensor) error {
	typ := h.typ
	if h.which == nil {
		// Types unknown at load: convert if this run brings halves.
		typ = onnx.Undefined
		for _, t := range in {
			if t != nil && isHalf(t.Type) {
				typ = t.Type
				break
			}
		}
		if typ == onnx.Undefined {
			return h.inner.run(rc, in, out)
		}
	}
	conv := make([]*Tensor, len(in))
	var temps []*Tensor
	defer func() {
		for _, t := range temps {
			rc.release(t)
		}
	}()
	for i, t := range in {
		switch {
		case t == nil || !isHalf(t.Type):
			conv[i] = t
		case i < len(h.consts) && h.consts[i] != nil && h.consts[i].Len() == t.Len():
			conv[i] = h.consts[i]
		default:
			f := halfToF32(rc, t)
			temps = append(temps, f)
			conv[i] = f
		}
	}
	if err := h.inner.run(rc, conv, out); err != nil {
		for i, t := range out {
			rc.release(t)
			out[i] = nil
		}
		return err
	}
	for i, t := range out {
		if t == nil || t.Type != onnx.Float || (i < len(h.keep) && h.keep[i]) {
			continue
		}
		o, err := f32ToHalf(rc, t, typ)
		rc.release(t)
		out[i] = o
		if err != nil {
			return err
		}
	}
	return nil
}

// channels and addEpilogue pass a wrapped convolution's epilogue on (the
// epilogue then runs in float32, before the rounding to half precision).
func (h *halfKernel) channels(n *node, b *builder) int {
	if eh, ok := h.inner.(epilogueHost); ok && h.which == nil {
		return eh.channels(n, b)
	}
	return -1
}

func (h *halfKernel) addEpilogue(op epiOp) { h.inner.(epilogueHost).addEpilogue(op) }
