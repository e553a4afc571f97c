package exec

import (
	"fmt"
	"math"
	"slices"

	"github.com/edgeai-go/edgeai/models/onnx"
)

// attrs reads a node's attributes. Every getter marks its attribute used;
// check then rejects the attributes no getter asked for (an attribute the
// executor would silently ignore could change the answer) and the ones of
// the wrong type.
type attrs struct {
	n    *onnx.Node
	used []bool
	err  error
}

func (a *attrs) find(name string, want onnx.AttrType) *onnx.Attribute {
	for i, at := range a.n.Attributes {
		if at.Name != name {
			continue
		}
		a.used[i] = true
		if at.RefAttrName != "" {
			a.fail(fmt.Errorf("%w: attribute %q refers to a function attribute", ErrUnsupported, name))
			return nil
		}
		if at.Type != want {
			a.fail(fmt.Errorf("%w: attribute %q is %v, want %v", onnx.ErrFormat, name, at.Type, want))
			return nil
		}
		return at
	}
	return nil
}

func (a *attrs) fail(err error) {
	if a.err == nil {
		a.err = err
	}
}

// has reports whether the node sets the attribute (without marking it).
func (a *attrs) has(name string) bool {
	for _, at := range a.n.Attributes {
		if at.Name == name {
			return true
		}
	}
	return false
}

func (a *attrs) int(name string, def int64) int64 {
	if at := a.find(name, onnx.AttrInt); at != nil {
		return at.I
	}
	return def
}

// intIn reads an int attribute that must lie in [lo, hi].
func (a *attrs) intIn(name string, def, lo, hi int64) int {
	v := a.int(name, def)
	if v < lo || v > hi {
		a.fail(fmt.Errorf("%w: attribute %s = %d (want %d..%d)", ErrUnsupported, name, v, lo, hi))
		return int(def)
	}
	return int(v)
}

func (a *attrs) float(name string, def float32) float32 {
	if at := a.find(name, onnx.AttrFloat); at != nil {
		return at.F
	}
	return def
}

func (a *attrs) str(name, def string) string {
	if at := a.find(name, onnx.AttrString); at != nil {
		return string(at.S)
	}
	return def
}

// ints returns an ints attribute and whether it is present.
func (a *attrs) ints(name string) ([]int64, bool) {
	if at := a.find(name, onnx.AttrInts); at != nil {
		return at.Ints, true
	}
	return nil, false
}

// smallInts returns an ints attribute as ints, each in [lo, hi].
func (a *attrs) smallInts(name string, lo, hi int64) ([]int, bool) {
	v, ok := a.ints(name)
	if !ok {
		return nil, false
	}
	out := make([]int, len(v))
	for i, x := range v {
		if x < lo || x > hi {
			a.fail(fmt.Errorf("%w: attribute %s has value %d (want %d..%d)", ErrUnsupported, name, x, lo, hi))
			return nil, false
		}
		out[i] = int(x)
	}
	return out, true
}

func (a *attrs) floats(name string) ([]float32, bool) {
	if at := a.find(name, onnx.AttrFloats); at != nil {
		return at.Floats, true
	}
	return nil, false
}

func (a *attrs) strs(name string) ([]string, bool) {
	at := a.find(name, onnx.AttrStrings)
	if at == nil {
		return nil, false
	}
	out := make([]string, len(at.Strings))
	for i, s := range at.Strings {
		out[i] = string(s)
	}
	return out, true
}

func (a *attrs) tensor(name string) *onnx.Tensor {
	if at := a.find(name, onnx.AttrTensor); at != nil {
		return at.T
	}
	return nil
}

func (a *attrs) graph(name string) *onnx.Graph {
	if at := a.find(name, onnx.AttrGraph); at != nil {
		return at.G
	}
	return nil
}

// ignore marks attributes that do not change the result (such as
// documentation) as used.
func (a *attrs) ignore(names ...string) {
	for i, at := range a.n.Attributes {
		for _, n := range names {
			if at.Name == n {
				a.used[i] = true
			}
		}
	}
}

// check reports the first problem found: a getter's error, or an attribute
// that the operator does not know.
func (a *attrs) check() error {
	if a.err != nil {
		return a.err
	}
	for i, at := range a.n.Attributes {
		if !a.used[i] {
			return fmt.Errorf("%w: attribute %q of %s", ErrUnsupported, at.Name, a.n.OpType)
		}
	}
	return nil
}

// nodeCtx is what an operator's constructor sees: the node, its attributes,
// the default-domain opset and what is known about its inputs at load.
type nodeCtx struct {
	b     *builder
	n     *onnx.Node
	a     *attrs
	in    []vinfo
	opset int64
}

// konst returns input i's value if it is a constant, else nil.
func (nc *nodeCtx) konst(i int) *Tensor {
	if i < len(nc.in) {
		return nc.in[i].val
	}
	return nil
}

// hasIn reports whether input i is given.
func (nc *nodeCtx) hasIn(i int) bool { return i < len(nc.in) && !nc.in[i].absent }

// opSpec registers an operator: its input and output counts and its
// constructor.
type opSpec struct {
	minIn, maxIn int // required inputs; maximum (-1: any number)
	maxOut       int // -1: any number
	// leadOptional is the number of leading inputs among the first minIn
	// that may be omitted ("" names: Loop's trip count and condition),
	// which the operator must then handle as nil.
	leadOptional int
	make         func(nc *nodeCtx) (kernel, error)
}

var registry = map[string]*opSpec{}

func register(name string, minIn, maxIn, maxOut int, mk func(nc *nodeCtx) (kernel, error)) {
	if _, dup := registry[name]; dup {
		panic("exec: operator registered twice: " + name)
	}
	registry[name] = &opSpec{minIn: minIn, maxIn: maxIn, maxOut: maxOut, make: mk}
}

// Supported reports whether the executor implements the operator opType of
// the default ONNX domain (at some opset; attributes are checked when a
// model is loaded).
func Supported(opType string) bool {
	_, ok := registry[opType]
	return ok
}

// Operators returns the operators of the default ONNX domain the executor
// implements, sorted.
func Operators() []string {
	out := make([]string, 0, len(registry))
	for k := range registry {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// vinfo is what is known about a value at load: its element type
// (Undefined if unknown), its rank (-1 if unknown), its dimensions (-1 where
// unknown), and its value if it is a constant.
type vinfo struct {
	typ    onnx.DataType
	rank   int
	shape  []int
	val    *Tensor
	absent bool // an omitted optional input
}

func infoOf(t *Tensor) vinfo {
	return vinfo{typ: t.Type, rank: len(t.Shape), shape: t.Shape, val: t}
}

// known reports whether the whole shape is known.
func (v vinfo) known() bool {
	if v.rank < 0 {
		return false
	}
	for _, d := range v.shape {
		if d < 0 {
			return false
		}
	}
	return true
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(axis int64, rank int) (int, error) {
	if axis < -int64(rank) || axis >= int64(rank) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += int64(rank)
	}
	return int(axis), nil
}

// maxDim is the largest dimension (and element count) the executor
// accepts, the same on 32-bit and 64-bit machines.
const maxDim = math.MaxInt32

// clampInt converts an int64 to int, saturating.
func clampInt(v int64) int {
	if v > maxDim {
		return maxDim
	}
	if v < -maxDim {
		return -maxDim
	}
	return int(v)
}
