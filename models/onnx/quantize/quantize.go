// Package quantize rewrites float ONNX models for edge inference: dynamic
// int8 quantization (Dynamic) and float16 conversion (Float16). The
// results are ordinary ONNX models (default domain, opset 11 or later)
// that ONNX Runtime and edgeai's pure-Go executor both run.
//
// Dynamic quantization stores the weights of MatMul, Gemm and Conv as int8
// with one scale per output channel (symmetric: zero point 0), and
// quantizes their activations at run time with DynamicQuantizeLinear
// (uint8, a scale and zero point from each tensor's range):
//
//	x → DynamicQuantizeLinear → (xq, xs, xzp)
//	ConvInteger(xq, Wq, xzp, 0) | MatMulInteger(xq, Wq, xzp, 0)
//	→ Cast(float) → Mul(xs · w_scale) [→ Add(bias)]
//
// Per-channel scales need no per-channel zero point: with symmetric
// weights the integer product of each channel is scaled afterwards by
// its own scale (a [C,1,1] tensor for convolutions, [N] for MatMul).
package quantize

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/edgeai-go/edgeai/models/onnx"
)

// ErrNothing reports a model with no node that Dynamic can quantize.
var ErrNothing = errors.New("quantize: no MatMul, Gemm or Conv with constant float weights")

// Options configure Dynamic.
type Options struct {
	// PerTensor uses one scale per weight tensor instead of one per output
	// channel.
	PerTensor bool
	// MinWeights leaves weights with fewer values in float (0: 16).
	MinWeights int
	// Ops limits the operators quantized ("MatMul", "Gemm", "Conv"; nil:
	// all three).
	Ops []string
}

// Report says what Dynamic did.
type Report struct {
	Quantized map[string]int // by operator type
	Skipped   map[string]int // by reason
	// WeightBytes is the size of the float weights replaced, and
	// QuantizedBytes the size of their int8 replacement with its scales.
	WeightBytes, QuantizedBytes int64
}

// Dynamic returns m (which it modifies) with its MatMul, Gemm and Conv
// nodes on constant float32 weights quantized as the package doc says.
// Nested graphs are left alone. The model's default-domain opset is
// raised to 11 if it is lower (DynamicQuantizeLinear needs it).
func Dynamic(m *onnx.Model, opts Options) (*onnx.Model, *Report, error) {
	if m == nil || m.Graph == nil {
		return nil, nil, fmt.Errorf("quantize: no graph")
	}
	if err := m.Validate(); err != nil {
		return nil, nil, err
	}
	if opts.MinWeights <= 0 {
		opts.MinWeights = 16
	}
	hoistConstants(m.Graph)
	want := map[string]bool{"MatMul": true, "Gemm": true, "Conv": true}
	if opts.Ops != nil {
		want = map[string]bool{}
		for _, o := range opts.Ops {
			want[o] = true
		}
	}
	q := &rewriter{m: m, g: m.Graph, opts: opts, rep: &Report{Quantized: map[string]int{}, Skipped: map[string]int{}},
		inits: map[string]*onnx.Tensor{}, names: map[string]bool{}, dq: map[string][3]string{}}
	for _, t := range m.Graph.Initializers {
		q.inits[t.Name] = t
		q.names[t.Name] = true
	}
	for _, v := range m.Graph.Inputs {
		q.names[v.Name] = true
	}
	for _, n := range m.Graph.Nodes {
		for _, o := range n.Outputs {
			q.names[o] = true
		}
	}
	var out []*onnx.Node
	for _, n := range m.Graph.Nodes {
		if n.Domain != "" && n.Domain != "ai.onnx" || !want[n.OpType] {
			out = append(out, n)
			continue
		}
		nodes, why := q.node(n)
		if why != "" {
			q.rep.Skipped[n.OpType+": "+why]++
			out = append(out, n)
			continue
		}
		q.rep.Quantized[n.OpType]++
		out = append(out, nodes...)
	}
	if len(q.rep.Quantized) == 0 {
		return nil, q.rep, ErrNothing
	}
	m.Graph.Nodes = out
	// Drop the float weights nothing reads any more.
	read := map[string]bool{}
	for _, n := range m.Graph.Nodes {
		for _, in := range n.Inputs {
			read[in] = true
		}
	}
	for _, o := range m.Graph.Outputs {
		read[o.Name] = true
	}
	inputs := map[string]bool{}
	for _, v := range m.Graph.Inputs {
		inputs[v.Name] = true
	}
	keep := m.Graph.Initializers[:0]
	for _, t := range m.Graph.Initializers {
		if read[t.Name] || inputs[t.Name] || graphReads(m.Graph, t.Name) {
			keep = append(keep, t)
		}
	}
	m.Graph.Initializers = keep
	if err := q.raiseOpset(11); err != nil {
		return nil, nil, err
	}
	m.Graph.Initializers = append(m.Graph.Initializers, q.added...)
	if err := m.Validate(); err != nil {
		return nil, nil, fmt.Errorf("quantize: the rewritten model is invalid: %w", err)
	}
	return m, q.rep, nil
}

// graphReads reports whether a nested graph of g reads name.
func graphReads(g *onnx.Graph, name string) bool {
	for _, n := range g.Nodes {
		for _, a := range n.Attributes {
			gs := a.Graphs
			if a.G != nil {
				gs = append(gs, a.G)
			}
			for _, sg := range gs {
				for _, sn := range sg.Nodes {
					if slices.Contains(sn.Inputs, name) {
						return true
					}
				}
				if graphReads(sg, name) {
					return true
				}
			}
		}
	}
	return false
}

// hoistConstants turns the main graph's Constant nodes holding a tensor
// (the form some exporters, PaddlePaddle's among them, give weights) into
// initializers of the same name.
func hoistConstants(g *onnx.Graph) {
	kept := g.Nodes[:0]
	for _, n := range g.Nodes {
		if (n.Domain == "" || n.Domain == "ai.onnx") && n.OpType == "Constant" && len(n.Attributes) == 1 &&
			n.Attributes[0].Name == "value" && n.Attributes[0].T != nil && len(n.Outputs) == 1 && n.Outputs[0] != "" {
			t := *n.Attributes[0].T
			t.Name = n.Outputs[0]
			g.Initializers = append(g.Initializers, &t)
			continue
		}
		kept = append(kept, n)
	}
	clear(g.Nodes[len(kept):])
	g.Nodes = kept
}

// raiseOpset sets the default domain's opset to at least 11 (as
// DynamicQuantizeLinear needs), rewriting the operators whose form changed
// on the way from an older opset: Clip's bounds and Pad's pads and value
// become inputs. A model with operators whose meaning changed otherwise
// (Resize, Upsample) is refused rather than changed silently.
func (q *rewriter) raiseOpset(v int64) error {
	m := q.m
	idx := -1
	for i, o := range m.OpsetImports {
		if o.Domain == "" || o.Domain == "ai.onnx" {
			idx = i
		}
	}
	if idx < 0 {
		m.OpsetImports = append(m.OpsetImports, onnx.OpsetID{Version: 1})
		idx = len(m.OpsetImports) - 1
	}
	old := m.OpsetImports[idx].Version
	if old >= v {
		return nil
	}
	var walk func(g *onnx.Graph) error
	walk = func(g *onnx.Graph) error {
		for _, n := range g.Nodes {
			if n.Domain != "" && n.Domain != "ai.onnx" {
				continue
			}
			for _, a := range n.Attributes {
				for _, sg := range append(slices.Clone(a.Graphs), a.G) {
					if sg != nil {
						if err := walk(sg); err != nil {
							return err
						}
					}
				}
			}
			switch n.OpType {
			case "Clip":
				lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
				var rest []*onnx.Attribute
				for _, a := range n.Attributes {
					switch a.Name {
					case "min":
						lo = a.F
					case "max":
						hi = a.F
					default:
						rest = append(rest, a)
					}
				}
				n.Attributes = rest
				n.Inputs = append(n.Inputs[:1],
					q.init(f32Tensor(sanitize(n.Name)+"_min", nil, []float32{lo})),
					q.init(f32Tensor(sanitize(n.Name)+"_max", nil, []float32{hi})))
			case "Pad":
				var pads []int64
				var val float32
				mode := []*onnx.Attribute{}
				for _, a := range n.Attributes {
					switch a.Name {
					case "pads", "paddings":
						pads = a.Ints
					case "value":
						val = a.F
					default:
						mode = append(mode, a)
					}
				}
				raw := make([]byte, 8*len(pads))
				for i, p := range pads {
					binary.LittleEndian.PutUint64(raw[8*i:], uint64(p))
				}
				pName := q.init(&onnx.Tensor{Name: sanitize(n.Name) + "_pads", Type: onnx.Int64, Dims: []int64{int64(len(pads))}, Raw: raw})
				n.Attributes = mode
				n.Inputs = append(n.Inputs[:1], pName, q.init(f32Tensor(sanitize(n.Name)+"_value", nil, []float32{val})))
			case "Slice":
				if old >= 10 {
					break
				}
				var starts, ends, axes []int64
				for _, a := range n.Attributes {
					switch a.Name {
					case "starts":
						starts = a.Ints
					case "ends":
						ends = a.Ints
					case "axes":
						axes = a.Ints
					}
				}
				ints := func(name string, v []int64) string {
					raw := make([]byte, 8*len(v))
					for i, x := range v {
						binary.LittleEndian.PutUint64(raw[8*i:], uint64(x))
					}
					return q.init(&onnx.Tensor{Name: sanitize(n.Name) + "_" + name, Type: onnx.Int64, Dims: []int64{int64(len(v))}, Raw: raw})
				}
				n.Inputs = append(n.Inputs[:1], ints("starts", starts), ints("ends", ends))
				if axes != nil {
					n.Inputs = append(n.Inputs, ints("axes", axes))
				}
				n.Attributes = nil
			case "TopK":
				if old >= 10 {
					break
				}
				var k int64
				var rest []*onnx.Attribute
				for _, a := range n.Attributes {
					if a.Name == "k" {
						k = a.I
					} else {
						rest = append(rest, a)
					}
				}
				raw := binary.LittleEndian.AppendUint64(nil, uint64(k))
				n.Inputs = append(n.Inputs[:1], q.init(&onnx.Tensor{Name: sanitize(n.Name) + "_k", Type: onnx.Int64, Dims: []int64{1}, Raw: raw}))
				n.Attributes = rest
			case "Resize", "Upsample":
				return fmt.Errorf("quantize: the model's opset %d is older than 11, which DynamicQuantizeLinear needs, and its %s changed meaning at opset 11", old, n.OpType)
			}
		}
		return nil
	}
	if err := walk(m.Graph); err != nil {
		return err
	}
	m.OpsetImports[idx].Version = v
	return nil
}

type rewriter struct {
	m     *onnx.Model
	g     *onnx.Graph
	opts  Options
	rep   *Report
	inits map[string]*onnx.Tensor
	names map[string]bool
	added []*onnx.Tensor
	dq    map[string][3]string // activation -> its DynamicQuantizeLinear outputs
	pend  []*onnx.Node         // nodes to emit before the current one
}

// fresh returns a new value name based on base.
func (q *rewriter) fresh(base string) string {
	name := base
	for i := 1; q.names[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	q.names[name] = true
	return name
}

func (q *rewriter) init(t *onnx.Tensor) string {
	t.Name = q.fresh(t.Name)
	q.added = append(q.added, t)
	return t.Name
}

// floats reads a float32 initializer.
func floats(t *onnx.Tensor) ([]float32, bool) {
	if t == nil || t.Type != onnx.Float || t.External != nil && t.Raw == nil {
		return nil, false
	}
	n := int(t.NumElements())
	if len(t.Raw) != 4*n {
		return nil, false
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Raw[4*i:]))
	}
	return v, true
}

func f32Tensor(name string, dims []int64, v []float32) *onnx.Tensor {
	raw := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	return &onnx.Tensor{Name: name, Type: onnx.Float, Dims: dims, Raw: raw}
}

func i8Tensor(name string, dims []int64, v []int8) *onnx.Tensor {
	raw := make([]byte, len(v))
	for i, x := range v {
		raw[i] = byte(x)
	}
	return &onnx.Tensor{Name: name, Type: onnx.Int8, Dims: dims, Raw: raw}
}

// quantRows quantizes rows of a matrix (rows × cols, row-major; or the
// columns when byCol) symmetrically to int8: one scale per row (column),
// or one for all with PerTensor.
func (q *rewriter) quantRows(w []float32, rows, cols int, byCol bool) ([]int8, []float32) {
	groups := rows
	if byCol {
		groups = cols
	}
	amax := make([]float32, groups)
	for i := range rows {
		for j := range cols {
			g := i
			if byCol {
				g = j
			}
			amax[g] = max(amax[g], float32(math.Abs(float64(w[i*cols+j]))))
		}
	}
	if q.opts.PerTensor {
		m := slices.Max(amax)
		for i := range amax {
			amax[i] = m
		}
	}
	scale := make([]float32, groups)
	for i, a := range amax {
		scale[i] = a / 127
		if scale[i] == 0 || math.IsInf(float64(scale[i]), 0) || scale[i] != scale[i] {
			scale[i] = 1
		}
	}
	out := make([]int8, len(w))
	for i := range rows {
		for j := range cols {
			g := i
			if byCol {
				g = j
			}
			v := math.RoundToEven(float64(w[i*cols+j] / scale[g]))
			out[i*cols+j] = int8(min(max(v, -127), 127))
		}
	}
	if q.opts.PerTensor {
		scale = scale[:1]
	}
	return out, scale
}

// dynQuant returns the quantized activation, its scale and zero point,
// adding one DynamicQuantizeLinear per activation.
func (q *rewriter) dynQuant(x string) [3]string {
	if v, ok := q.dq[x]; ok {
		return v
	}
	base := sanitize(x)
	v := [3]string{q.fresh(base + "_quantized"), q.fresh(base + "_scale"), q.fresh(base + "_zero_point")}
	q.pend = append(q.pend, &onnx.Node{OpType: "DynamicQuantizeLinear", Name: q.fresh(base + "_DynamicQuantizeLinear"),
		Inputs: []string{x}, Outputs: v[:]})
	q.dq[x] = v
	return v
}

func sanitize(s string) string {
	s = strings.TrimLeft(s, "/")
	if s == "" {
		return "v"
	}
	return s
}

// node rewrites one node, or says why not.
func (q *rewriter) node(n *onnx.Node) ([]*onnx.Node, string) {
	q.pend = nil
	var tail []*onnx.Node
	var why string
	switch n.OpType {
	case "Conv":
		tail, why = q.conv(n)
	case "MatMul":
		tail, why = q.matmul(n)
	case "Gemm":
		tail, why = q.gemm(n)
	}
	if why != "" {
		// Forget DynamicQuantizeLinear nodes made for a node not rewritten.
		for _, p := range q.pend {
			delete(q.dq, p.Inputs[0])
		}
		return nil, why
	}
	return append(q.pend, tail...), ""
}

func (q *rewriter) weight(name string) ([]float32, *onnx.Tensor, string) {
	t := q.inits[name]
	if t == nil {
		return nil, nil, "weights not constant"
	}
	w, ok := floats(t)
	if !ok {
		return nil, nil, "weights not float32"
	}
	if len(w) < q.opts.MinWeights {
		return nil, nil, "weights too small"
	}
	return w, t, ""
}

func (q *rewriter) conv(n *onnx.Node) ([]*onnx.Node, string) {
	if len(n.Inputs) < 2 {
		return nil, "malformed"
	}
	w, wt, why := q.weight(n.Inputs[1])
	if why != "" {
		return nil, why
	}
	if len(wt.Dims) < 3 || len(wt.Dims) > 4 {
		return nil, "not a 1-D or 2-D convolution"
	}
	m := int(wt.Dims[0])
	wq, scale := q.quantRows(w, m, len(w)/m, false)
	q.rep.WeightBytes += int64(4 * len(w))
	q.rep.QuantizedBytes += int64(len(wq) + 4*len(scale))
	x := q.dynQuant(n.Inputs[0])
	base := sanitize(n.Name)
	if n.Name == "" {
		base = sanitize(n.Outputs[0])
	}
	wName := q.init(i8Tensor(sanitize(n.Inputs[1])+"_quantized", wt.Dims, wq))
	zName := q.init(i8Tensor(sanitize(n.Inputs[1])+"_zero_point", nil, []int8{0}))
	// The per-channel scales as [M,1,1] (or [M,1]), to broadcast along
	// the channels of the [N,M,H,W] output.
	sdims := []int64{int64(len(scale))}
	if len(scale) > 1 {
		for range len(wt.Dims) - 2 {
			sdims = append(sdims, 1)
		}
	}
	sName := q.init(f32Tensor(sanitize(n.Inputs[1])+"_scale", sdims, scale))
	var attrs []*onnx.Attribute
	for _, a := range n.Attributes {
		switch a.Name {
		case "auto_pad", "dilations", "group", "kernel_shape", "pads", "strides":
			attrs = append(attrs, a)
		default:
			return nil, "attribute " + a.Name
		}
	}
	i32 := q.fresh(base + "_output_quantized")
	f := q.fresh(base + "_output_quantized_cast")
	s := q.fresh(base + "_quant_scales")
	nodes := []*onnx.Node{
		{OpType: "Mul", Name: q.fresh(base + "_scales_mul"), Inputs: []string{x[1], sName}, Outputs: []string{s}},
		{OpType: "ConvInteger", Name: q.fresh(base + "_quant"), Inputs: []string{x[0], wName, x[2], zName}, Outputs: []string{i32}, Attributes: attrs},
		{OpType: "Cast", Name: q.fresh(base + "_cast"), Inputs: []string{i32}, Outputs: []string{f}, Attributes: []*onnx.Attribute{{Name: "to", Type: onnx.AttrInt, I: int64(onnx.Float)}}},
	}
	out := n.Outputs[0]
	if len(n.Inputs) > 2 && n.Inputs[2] != "" {
		bias, _, why := q.floatConst(n.Inputs[2])
		if why != "" {
			return nil, "bias: " + why
		}
		if len(bias) != m {
			return nil, "bias size"
		}
		bdims := []int64{1, int64(m)}
		for range len(wt.Dims) - 2 {
			bdims = append(bdims, 1)
		}
		bName := q.init(f32Tensor(sanitize(n.Inputs[2])+"_reshaped", bdims, bias))
		scaled := q.fresh(base + "_output_scaled")
		nodes = append(nodes,
			&onnx.Node{OpType: "Mul", Name: q.fresh(base + "_scale"), Inputs: []string{f, s}, Outputs: []string{scaled}},
			&onnx.Node{OpType: "Add", Name: q.fresh(base + "_bias"), Inputs: []string{scaled, bName}, Outputs: []string{out}})
	} else {
		nodes = append(nodes, &onnx.Node{OpType: "Mul", Name: q.fresh(base + "_scale"), Inputs: []string{f, s}, Outputs: []string{out}})
	}
	return nodes, ""
}

// floatConst reads a float32 initializer of any size.
func (q *rewriter) floatConst(name string) ([]float32, *onnx.Tensor, string) {
	t := q.inits[name]
	if t == nil {
		return nil, nil, "not constant"
	}
	v, ok := floats(t)
	if !ok {
		return nil, nil, "not float32"
	}
	return v, t, ""
}

// product emits MatMulInteger of x by the K×N weights w (per-column
// scales), scaled by alpha, into out (plus the bias, if given, of N
// values).
func (q *rewriter) product(base, x, wname string, w []float32, kk, nn int, alpha float32, bias []float32, out string) []*onnx.Node {
	wq, scale := q.quantRows(w, kk, nn, true)
	q.rep.WeightBytes += int64(4 * len(w))
	q.rep.QuantizedBytes += int64(len(wq) + 4*len(scale))
	if alpha != 1 {
		for i := range scale {
			scale[i] *= alpha
		}
	}
	xq := q.dynQuant(x)
	wName := q.init(i8Tensor(sanitize(wname)+"_quantized", []int64{int64(kk), int64(nn)}, wq))
	zName := q.init(i8Tensor(sanitize(wname)+"_zero_point", nil, []int8{0}))
	sName := q.init(f32Tensor(sanitize(wname)+"_scale", []int64{int64(len(scale))}, scale))
	i32 := q.fresh(base + "_output_quantized")
	f := q.fresh(base + "_output_quantized_cast")
	s := q.fresh(base + "_quant_scales")
	nodes := []*onnx.Node{
		{OpType: "Mul", Name: q.fresh(base + "_scales_mul"), Inputs: []string{xq[1], sName}, Outputs: []string{s}},
		{OpType: "MatMulInteger", Name: q.fresh(base + "_quant"), Inputs: []string{xq[0], wName, xq[2], zName}, Outputs: []string{i32}},
		{OpType: "Cast", Name: q.fresh(base + "_cast"), Inputs: []string{i32}, Outputs: []string{f}, Attributes: []*onnx.Attribute{{Name: "to", Type: onnx.AttrInt, I: int64(onnx.Float)}}},
	}
	if bias != nil {
		bName := q.init(f32Tensor(base+"_bias", []int64{int64(len(bias))}, bias))
		scaled := q.fresh(base + "_output_scaled")
		return append(nodes,
			&onnx.Node{OpType: "Mul", Name: q.fresh(base + "_scale"), Inputs: []string{f, s}, Outputs: []string{scaled}},
			&onnx.Node{OpType: "Add", Name: q.fresh(base + "_add_bias"), Inputs: []string{scaled, bName}, Outputs: []string{out}})
	}
	return append(nodes, &onnx.Node{OpType: "Mul", Name: q.fresh(base + "_scale"), Inputs: []string{f, s}, Outputs: []string{out}})
}

func (q *rewriter) matmul(n *onnx.Node) ([]*onnx.Node, string) {
	if len(n.Inputs) != 2 {
		return nil, "malformed"
	}
	if _, ok := q.inits[n.Inputs[0]]; ok {
		return nil, "constant first operand"
	}
	w, wt, why := q.weight(n.Inputs[1])
	if why != "" {
		return nil, why
	}
	if len(wt.Dims) != 2 {
		return nil, "weights not a matrix"
	}
	base := sanitize(n.Name)
	if n.Name == "" {
		base = sanitize(n.Outputs[0])
	}
	return q.product(base, n.Inputs[0], n.Inputs[1], w, int(wt.Dims[0]), int(wt.Dims[1]), 1, nil, n.Outputs[0]), ""
}

func (q *rewriter) gemm(n *onnx.Node) ([]*onnx.Node, string) {
	if len(n.Inputs) < 2 {
		return nil, "malformed"
	}
	alpha, beta := float32(1), float32(1)
	transB := false
	for _, a := range n.Attributes {
		switch a.Name {
		case "alpha":
			alpha = a.F
		case "beta":
			beta = a.F
		case "transB":
			transB = a.I != 0
		case "transA":
			if a.I != 0 {
				return nil, "transA"
			}
		default:
			return nil, "attribute " + a.Name
		}
	}
	if _, ok := q.inits[n.Inputs[0]]; ok {
		return nil, "constant first operand"
	}
	w, wt, why := q.weight(n.Inputs[1])
	if why != "" {
		return nil, why
	}
	if len(wt.Dims) != 2 {
		return nil, "weights not a matrix"
	}
	kk, nn := int(wt.Dims[0]), int(wt.Dims[1])
	if transB {
		kk, nn = nn, kk
		t := make([]float32, len(w))
		for i := range nn {
			for j := range kk {
				t[j*nn+i] = w[i*kk+j]
			}
		}
		w = t
	}
	var bias []float32
	if len(n.Inputs) > 2 && n.Inputs[2] != "" && beta != 0 {
		c, ct, why := q.floatConst(n.Inputs[2])
		if why != "" {
			return nil, "C: " + why
		}
		// C must broadcast along the columns only (a bias).
		for i, d := range ct.Dims {
			if i < len(ct.Dims)-1 && d != 1 {
				return nil, "C is not a bias"
			}
		}
		switch len(c) {
		case nn:
			bias = slices.Clone(c)
		case 1:
			bias = make([]float32, nn)
			for i := range bias {
				bias[i] = c[0]
			}
		default:
			return nil, "C is not a bias"
		}
		for i := range bias {
			bias[i] *= beta
		}
	}
	base := sanitize(n.Name)
	if n.Name == "" {
		base = sanitize(n.Outputs[0])
	}
	return q.product(base, n.Inputs[0], n.Inputs[1], w, kk, nn, alpha, bias, n.Outputs[0]), ""
}
