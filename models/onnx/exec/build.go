package exec

import (
	"context"
	"fmt"
	"slices"

	"github.com/edgeai-go/edgeai/models/onnx"
)

// builder compiles the decoded graph into graphs of prepared nodes.
type builder struct {
	e         *Executor
	opsets    map[string]int64 // domain -> version
	functions map[[2]string]*onnx.Function
	nodeCount int
	foldCtx   context.Context // ends when the folding budget is spent
	scope     *scope          // the scope of the graph being built
	depth     int
	// demoted maps the values of half-precision models that are kept in
	// float32 between operators computed in float32 (see half.go) to
	// their half type.
	demoted map[int]onnx.DataType
	// consumers maps the names of the graph being built to the operators
	// that read them; pinned names (graph outputs, values nested graphs
	// read) stay in their declared type.
	consumers map[string][]string
	pinned    map[string]bool
}

// scope maps the names visible in a graph to value ids.
type scope struct {
	names map[string]int
	outer *scope
	// uses records the outer values the graph (and its nested graphs)
	// read, so the enclosing node keeps them alive.
	uses map[int]bool
}

func (s *scope) lookup(name string) (int, bool) {
	for sc := s; sc != nil; sc = sc.outer {
		if id, ok := sc.names[name]; ok {
			if sc != s {
				// Every scope between s and sc uses the value.
				for t := s; t != sc; t = t.outer {
					t.uses[id] = true
				}
			}
			return id, true
		}
	}
	return -1, false
}

func (b *builder) newValue(name string, info vinfo) int {
	b.e.values = append(b.e.values, value{name: name, info: info})
	b.e.consts = append(b.e.consts, nil)
	return len(b.e.values) - 1
}

func (b *builder) newConst(name string, t *Tensor) int {
	id := b.newValue(name, infoOf(t))
	b.e.consts[id] = t
	return id
}

// declared converts a ValueInfo's type into a vinfo.
func declared(v *onnx.ValueInfo) vinfo {
	vi := vinfo{rank: -1}
	if v.Type == nil || v.Type.Kind != onnx.KindTensor {
		return vi
	}
	vi.typ = v.Type.Elem
	if v.Type.HasShape {
		vi.rank = len(v.Type.Shape)
		vi.shape = make([]int, len(v.Type.Shape))
		for i, d := range v.Type.Shape {
			vi.shape[i] = -1
			if d.Known && d.Value >= 0 && d.Value <= maxDim {
				vi.shape[i] = int(d.Value)
			}
		}
	}
	return vi
}

func (b *builder) elemLimit() int {
	return int(min(b.e.limit, maxDim))
}

// mainGraph compiles the model's graph and fills the executor's inputs and
// outputs.
func (b *builder) mainGraph(g *onnx.Graph) (*graph, error) {
	s := &scope{names: map[string]int{}, uses: map[int]bool{}}
	if g.SparseInitializers > 0 {
		return nil, fmt.Errorf("%w: sparse initializers", ErrUnsupported)
	}
	init := map[string]bool{}
	for _, t := range g.Initializers {
		init[t.Name] = true
	}
	for _, in := range g.Inputs {
		if init[in.Name] {
			continue
		}
		if in.Type == nil || in.Type.Kind != onnx.KindTensor {
			return nil, fmt.Errorf("%w: input %q is not a tensor (%v)", ErrUnsupported, in.Name, in.Type)
		}
		if !supportedType(in.Type.Elem) {
			return nil, fmt.Errorf("%w: input %q has element type %v", ErrUnsupported, in.Name, in.Type.Elem)
		}
		vi := declared(in)
		id := b.newValue(in.Name, vi)
		s.names[in.Name] = id
		io := IO{Name: in.Name, Type: vi.typ, HasShape: vi.rank >= 0, Shape: vi.shape}
		b.e.inputs = append(b.e.inputs, io)
		b.e.inIDs = append(b.e.inIDs, id)
	}
	gr, err := b.body(g, s, nil)
	if err != nil {
		return nil, err
	}
	for i, out := range g.Outputs {
		if out.Type != nil && out.Type.Kind != onnx.KindTensor {
			return nil, fmt.Errorf("%w: output %q is not a tensor (%v)", ErrUnsupported, out.Name, out.Type)
		}
		id := gr.outputs[i]
		vi := b.e.values[id].info
		d := declared(out)
		io := IO{Name: out.Name, Type: d.typ, HasShape: d.rank >= 0, Shape: d.shape}
		if io.Type == onnx.Undefined {
			io.Type = vi.typ
		}
		if !io.HasShape && vi.rank >= 0 {
			io.HasShape, io.Shape = true, slices.Clone(vi.shape)
		}
		b.e.outputs = append(b.e.outputs, io)
		b.e.outIDs = append(b.e.outIDs, id)
	}
	return gr, nil
}

// body compiles the initializers and nodes of g in scope s (whose names
// already hold g's inputs), and plans the values' lifetimes.
func (b *builder) body(g *onnx.Graph, s *scope, formal []int) (*graph, error) {
	if b.depth > 32 {
		return nil, fmt.Errorf("%w: graphs nested more than 32 deep", ErrUnsupported)
	}
	b.depth++
	defer func() { b.depth-- }()
	saved := b.scope
	b.scope = s
	defer func() { b.scope = saved }()
	for _, t := range g.Initializers {
		ct, err := fromProto(t, b.elemLimit())
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", t.Name, err)
		}
		if err := b.checkSize(ct); err != nil {
			return nil, fmt.Errorf("initializer %q: %w", t.Name, err)
		}
		s.names[t.Name] = b.newConst(t.Name, ct)
	}
	gr := &graph{inputs: formal}
	savedC, savedP := b.consumers, b.pinned
	b.consumers, b.pinned = graphConsumers(g)
	defer func() { b.consumers, b.pinned = savedC, savedP }()
	for _, n := range g.Nodes {
		if err := b.node(gr, n, s); err != nil {
			return nil, err
		}
	}
	for _, out := range g.Outputs {
		id, ok := s.lookup(out.Name)
		if !ok {
			return nil, fmt.Errorf("%w: output %q is never computed", onnx.ErrFormat, out.Name)
		}
		gr.outputs = append(gr.outputs, id)
	}
	b.fuseQuant(gr)
	b.fuse(gr)
	b.plan(gr, s)
	return gr, nil
}

// checkSize applies the tensor size limit to a constant.
func (b *builder) checkSize(t *Tensor) error {
	if int64(t.Len())*int64(elemSize(t.Type)) > b.e.limit {
		return fmt.Errorf("%w: %v", ErrLimit, t)
	}
	return nil
}

// node compiles one node into gr, or folds it into constants.
func (b *builder) node(gr *graph, n *onnx.Node, s *scope) (err error) {
	where := n.OpType + " node"
	if n.Name != "" {
		where = fmt.Sprintf("%s node %q", n.OpType, n.Name)
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%s: %w", where, err)
		}
	}()
	nd := &node{name: n.Name, opType: n.OpType}
	in := make([]vinfo, len(n.Inputs))
	allConst := true
	for i, name := range n.Inputs {
		if name == "" {
			nd.in = append(nd.in, -1)
			in[i] = vinfo{rank: -1, absent: true}
			continue
		}
		id, ok := s.lookup(name)
		if !ok {
			return fmt.Errorf("%w: input %q is not defined before the node", onnx.ErrFormat, name)
		}
		nd.in = append(nd.in, id)
		in[i] = b.e.values[id].info
		if b.e.consts[id] == nil {
			allConst = false
		}
	}
	var origin onnx.DataType // the half type of demoted inputs
	for _, id := range nd.in {
		if t, ok := b.demoted[id]; ok && id >= 0 {
			origin = t
		}
	}
	k, err := b.makeKernel(n, in, origin)
	if err != nil {
		return err
	}
	nd.k = k
	// Static shape inference.
	outInfo := make([]vinfo, len(n.Outputs))
	for i := range outInfo {
		outInfo[i] = vinfo{rank: -1}
	}
	if inf, ok := k.(inferer); ok {
		if err := inf.infer(in, outInfo); err != nil {
			return err
		}
	}
	// Half-precision outputs that only float32-computed operators read
	// stay in float32 (as ONNX Runtime drops its casts between them).
	h, _ := k.(*halfKernel)
	if h != nil && h.typ != onnx.Undefined {
		for i, name := range n.Outputs {
			// (An output of unknown type is a float one: keep only
			// applies to the float32 outputs of the inner kernel.)
			if name != "" && (outInfo[i].typ == h.typ || outInfo[i].typ == onnx.Undefined) && b.demotable(name) {
				if h.keep == nil {
					h.keep = make([]bool, len(n.Outputs))
				}
				h.keep[i] = true
				outInfo[i].typ = onnx.Float
			}
		}
	}
	defer func() {
		if err != nil || h == nil || h.keep == nil {
			return
		}
		for i, name := range n.Outputs {
			if h.keep[i] {
				if b.demoted == nil {
					b.demoted = map[int]onnx.DataType{}
				}
				b.demoted[s.names[name]] = h.typ
			}
		}
	}()
	// Constant folding, while the budget lasts; a fold cut short by it
	// leaves the node to run time.
	if allConst && foldable(k) && b.foldCtx.Err() == nil {
		if ok, err := b.foldNode(nd, n, s); ok || err != nil {
			return err
		}
	}
	nd.id = b.nodeCount
	b.nodeCount++
	for i, name := range n.Outputs {
		if name == "" {
			nd.out = append(nd.out, -1)
			continue
		}
		if _, dup := s.names[name]; dup {
			return fmt.Errorf("%w: value %q defined twice", onnx.ErrFormat, name)
		}
		id := b.newValue(name, outInfo[i])
		s.names[name] = id
		nd.out = append(nd.out, id)
	}
	gr.nodes = append(gr.nodes, nd)
	return nil
}

// foldNode runs a node whose inputs are all constants and makes its outputs
// constants of scope s. It reports false, and no error, when the folding
// budget ran out during the run: the node then runs with the model.
func (b *builder) foldNode(nd *node, n *onnx.Node, s *scope) (bool, error) {
	outs, err := b.fold(nd)
	if b.foldCtx.Err() != nil {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for i, name := range n.Outputs {
		if name == "" {
			continue
		}
		if outs[i] == nil {
			return false, fmt.Errorf("output %d not computed", i)
		}
		if err := b.checkSize(outs[i]); err != nil {
			return false, err
		}
		if _, dup := s.names[name]; dup {
			return false, fmt.Errorf("%w: value %q defined twice", onnx.ErrFormat, name)
		}
		s.names[name] = b.newConst(name, outs[i])
	}
	return true, nil
}

// makeKernel prepares the node's operator.
func (b *builder) makeKernel(n *onnx.Node, in []vinfo, origin onnx.DataType) (kernel, error) {
	domain := n.Domain
	if domain == "ai.onnx" {
		domain = ""
	}
	if f := b.functions[[2]string{n.Domain, n.OpType}]; f != nil {
		return nil, fmt.Errorf("%w: model-local function %s.%s", ErrUnsupported, n.Domain, n.OpType)
	}
	if domain != "" {
		return nil, fmt.Errorf("%w: operator %s of domain %q", ErrUnsupported, n.OpType, n.Domain)
	}
	mk, ok := registry[n.OpType]
	if !ok {
		return nil, fmt.Errorf("%w: operator %s", ErrUnsupported, n.OpType)
	}
	a := &attrs{n: n, used: make([]bool, len(n.Attributes))}
	nc := &nodeCtx{b: b, n: n, a: a, in: in, opset: b.opsets[""]}
	if len(n.Inputs) < mk.minIn || (mk.maxIn >= 0 && len(n.Inputs) > mk.maxIn) {
		return nil, fmt.Errorf("%w: %d inputs", onnx.ErrFormat, len(n.Inputs))
	}
	for i := mk.leadOptional; i < mk.minIn && i < len(in); i++ {
		if in[i].absent {
			return nil, fmt.Errorf("%w: input %d is required", onnx.ErrFormat, i)
		}
	}
	if len(n.Outputs) < 1 || (mk.maxOut >= 0 && len(n.Outputs) > mk.maxOut) {
		return nil, fmt.Errorf("%w: %d outputs", onnx.ErrFormat, len(n.Outputs))
	}
	k, err := mk.make(nc)
	if err != nil {
		return nil, err
	}
	if err := a.check(); err != nil {
		return nil, err
	}
	which, typ := halfInputs(in)
	if origin != onnx.Undefined && !halfNative[n.OpType] {
		// Inputs kept in float32 from a half-precision model: the node
		// is computed in float32 and its outputs are half again, unless
		// they are kept too.
		if which == nil {
			which, typ = make([]bool, len(in)), origin
		}
		a2 := &attrs{n: n, used: make([]bool, len(n.Attributes))}
		inner, err := mk.make(&nodeCtx{b: b, n: n, a: a2, in: toF32Info(in, which), opset: nc.opset})
		if err != nil {
			return nil, err
		}
		return newHalfKernel(inner, typ, which, toF32Info(in, which)), nil
	}
	if which != nil && (needsHalfWrap(n.OpType, k) || b.demotableOutputs(n)) {
		// Made again on float32 inputs (constants converted, so that
		// weights are packed), and wrapped (see half.go).
		f := toF32Info(in, which)
		a2 := &attrs{n: n, used: make([]bool, len(n.Attributes))}
		inner, err := mk.make(&nodeCtx{b: b, n: n, a: a2, in: f, opset: nc.opset})
		if err != nil {
			return nil, err
		}
		return newHalfKernel(inner, typ, which, f), nil
	}
	if needsHalfWrap(n.OpType, k) && unknownType(in) {
		return &halfKernel{inner: k}, nil
	}
	return k, nil
}

// unknownType reports whether the type of a given input is unknown at load.
func unknownType(in []vinfo) bool {
	for _, v := range in {
		if !v.absent && v.typ == onnx.Undefined {
			return true
		}
	}
	return false
}

// fold runs a node whose inputs are all constants, at load.
func (b *builder) fold(nd *node) ([]*Tensor, error) {
	st := &runState{vals: b.e.consts}
	rc := &runCtx{runState: st, e: b.e, ctx: b.foldCtx, fold: true, cur: nd}
	in := make([]*Tensor, len(nd.in))
	for i, id := range nd.in {
		if id >= 0 {
			in[i] = b.e.consts[id]
		}
	}
	out := make([]*Tensor, max(len(nd.out), 1))
	if err := nd.k.run(rc, in, out); err != nil {
		return nil, err
	}
	// Outputs that alias an input share its data; both are constants and
	// never written, so no copy is needed.
	return out, nil
}

// plan computes, for each node of gr, the values that die after it: the
// non-constant values of gr's own scope whose last reader it is (a node
// with nested graphs reads what they read). gr's outputs and formal inputs
// are left to the caller.
func (b *builder) plan(gr *graph, s *scope) {
	local := map[int]bool{}
	for _, id := range s.names {
		if b.e.consts[id] == nil {
			local[id] = true
		}
	}
	last := map[int]int{}
	for i, n := range gr.nodes {
		for _, id := range n.in {
			if id >= 0 && local[id] {
				last[id] = i
			}
		}
		if sg, ok := n.k.(subgrapher); ok {
			for _, id := range sg.outerUses() {
				if local[id] {
					last[id] = i
				}
			}
		}
		for _, id := range n.out {
			if _, used := last[id]; id >= 0 && !used {
				last[id] = i // dies at once unless read later
			}
		}
	}
	for _, id := range gr.outputs {
		delete(last, id)
	}
	for _, id := range gr.inputs {
		delete(last, id)
	}
	gr.free = make([][]int, len(gr.nodes))
	for id, i := range last {
		gr.free[i] = append(gr.free[i], id)
	}
	for _, f := range gr.free {
		slices.Sort(f)
	}
}

// subgrapher is a kernel with nested graphs (If, Loop): outerUses lists
// the values of enclosing graphs they read.
type subgrapher interface {
	outerUses() []int
}

// inferer is a kernel that infers its outputs' types and shapes at load.
type inferer interface {
	infer(in []vinfo, out []vinfo) error
}

// folder is a kernel that says whether it may be folded when all its inputs
// are constant.
type folder interface {
	foldable() bool
}

func foldable(k kernel) bool {
	if f, ok := k.(folder); ok {
		return f.foldable()
	}
	return true
}

// subgraph compiles a nested graph (an If branch, a Loop body) in the
// current scope. Its formal inputs (Loop's) become fresh values.
func (b *builder) subgraph(g *onnx.Graph) (*graph, []int, error) {
	s := &scope{names: map[string]int{}, outer: b.scope, uses: map[int]bool{}}
	var formal []int
	for _, in := range g.Inputs {
		if _, dup := s.names[in.Name]; dup {
			return nil, nil, fmt.Errorf("%w: subgraph input %q defined twice", onnx.ErrFormat, in.Name)
		}
		id := b.newValue(in.Name, declared(in))
		s.names[in.Name] = id
		formal = append(formal, id)
	}
	gr, err := b.body(g, s, formal)
	if err != nil {
		return nil, nil, err
	}
	uses := make([]int, 0, len(s.uses))
	for id := range s.uses {
		uses = append(uses, id)
	}
	slices.Sort(uses)
	return gr, uses, nil
}

// newHalfKernel wraps a float32 kernel for half-precision inputs (f: the
// inputs' float32 information, converted constants included).
func newHalfKernel(inner kernel, typ onnx.DataType, which []bool, f []vinfo) *halfKernel {
	h := &halfKernel{inner: inner, typ: typ, which: which, consts: make([]*Tensor, len(f))}
	for i := range f {
		if which[i] && f[i].val != nil {
			h.consts[i] = f[i].val
		}
	}
	return h
}

// graphConsumers maps each name of g to the operators of g that read it,
// and pins g's outputs and every name its nested graphs mention.
func graphConsumers(g *onnx.Graph) (map[string][]string, map[string]bool) {
	cons := map[string][]string{}
	pinned := map[string]bool{}
	for _, o := range g.Outputs {
		pinned[o.Name] = true
	}
	var nested func(g *onnx.Graph)
	nested = func(g *onnx.Graph) {
		for _, n := range g.Nodes {
			for _, in := range n.Inputs {
				pinned[in] = true
			}
			for _, a := range n.Attributes {
				if a.G != nil {
					nested(a.G)
				}
				for _, sg := range a.Graphs {
					nested(sg)
				}
			}
		}
		for _, o := range g.Outputs {
			pinned[o.Name] = true
		}
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != "" {
				cons[in] = append(cons[in], n.OpType)
			}
		}
		for _, a := range n.Attributes {
			if a.G != nil {
				nested(a.G)
			}
			for _, sg := range a.Graphs {
				nested(sg)
			}
		}
	}
	return cons, pinned
}

// demotable reports whether a value of the graph being built may stay in
// float32 in a half-precision model: it is read, only by operators that
// compute in float32 (not the half-native ones, which ONNX Runtime runs in
// float16 after a cast), and it is not pinned.
func (b *builder) demotable(name string) bool {
	cs := b.consumers[name]
	if len(cs) == 0 || b.pinned[name] {
		return false
	}
	for _, op := range cs {
		if halfNative[op] {
			return false
		}
		if _, ok := registry[op]; !ok {
			return false
		}
	}
	return true
}

// demotableOutputs reports whether any output of n may stay in float32.
func (b *builder) demotableOutputs(n *onnx.Node) bool {
	for _, o := range n.Outputs {
		if o != "" && b.demotable(o) {
			return true
		}
	}
	return false
}
