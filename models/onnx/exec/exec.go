// Package exec runs ONNX models in pure Go: an interpreter over the graph
// decoded by package onnx, on edgeai's own kernels (the float32 GEMM of
// package kernels for MatMul, Gemm and Conv) and its worker pool.
//
// New prepares a model once: it orders and checks the graph, parses every
// node's attributes (an unknown operator, attribute or attribute value is an
// error naming it, so nothing runs that could give a wrong answer), infers
// the types and the static part of the shapes, folds subgraphs that depend
// only on constants, packs constant weights for the GEMM and plans when
// each intermediate value dies. Run then evaluates the nodes in order,
// computing the dynamic shapes from the actual inputs; intermediate buffers
// come from an arena that keeps them from one call to the next, so a model
// run again on inputs of the same shapes does not allocate tensor memory.
//
// Run is safe for concurrent use (each call takes its own buffers) and runs
// on the caller's goroutine, handing the heavy loops to the worker pool; a
// panic anywhere in an operator, on any goroutine, comes back as an error.
package exec

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/models/onnx"
)

// ErrUnsupported reports a model feature the executor does not implement:
// an operator, an attribute or attribute value, an element type. The
// message names it.
var ErrUnsupported = errors.New("exec: unsupported")

// ErrLimit reports a tensor larger than Options.MaxTensorBytes allows.
var ErrLimit = errors.New("exec: tensor too large")

// ErrInput reports inputs that do not match the model.
var ErrInput = errors.New("exec: bad input")

// DefaultMaxTensorBytes bounds the size of one tensor when
// Options.MaxTensorBytes is 0.
const DefaultMaxTensorBytes = 1 << 30

// Options configure New.
type Options struct {
	// Threads is the number of goroutines one Run uses for the heavy loops
	// (the caller's included); 0 means runtime.GOMAXPROCS(0).
	Threads int
	// MaxTensorBytes bounds every tensor the model creates, constants
	// included; a model that would create a larger one gets an error
	// wrapping ErrLimit. 0 means DefaultMaxTensorBytes.
	MaxTensorBytes int64
	// MaxRunBytes bounds the memory of the tensors one Run holds at once
	// (intermediate values, packing buffers and the buffers it keeps for
	// the next call): an allocation that would take it past the bound
	// fails, before it is made, with an error wrapping ErrLimit, so inputs
	// that ask for more memory than there is (a huge batch) get an error
	// rather than exhausting the process. 0 means DefaultMaxRunBytes();
	// a negative value means no bound.
	MaxRunBytes int64
	// FoldTime bounds the time New spends folding constant subgraphs
	// (nodes whose inputs are all constants run once, at load). Once it is
	// spent, the remaining such nodes run with the model instead, under
	// Run's context: the results are the same, and a tiny model that asks
	// for a huge amount of constant work cannot hold New for long. 0 means
	// DefaultFoldTime.
	FoldTime time.Duration
	// Profile, when set, is called after each node of every Run (on the
	// goroutine that runs the graph, one node after the other) with the
	// node's description and wall time: the profiling tool
	// (models/onnx/exec/internal/profile) measures where a model's time
	// goes with it.
	Profile func(NodeProfile)
}

// NodeProfile describes one node's run, for Options.Profile.
type NodeProfile struct {
	// Op is the operator, with " (half)" when it ran in float32 between
	// conversions of half-precision tensors.
	Op string
	// Key is Op with what sets the cost of its kernel, for aggregating:
	// for Conv, its groups, weight and input shapes and strides; for
	// MaxPool and AveragePool, the window, input shape and strides.
	Key  string
	Wall time.Duration
}

// DefaultFoldTime is the folding budget of New when Options.FoldTime is 0.
const DefaultFoldTime = 10 * time.Second

// IO describes an input or output of the model.
type IO struct {
	Name string
	Type onnx.DataType
	// Shape has -1 for a dynamic dimension; nil when the model gives no
	// shape (HasShape false).
	Shape    []int
	HasShape bool
}

// Executor is a model prepared to run. Its methods are safe for concurrent
// use.
type Executor struct {
	main    *graph
	values  []value   // every value of the model, nested graphs included
	consts  []*Tensor // by value id: the constant value, or nil
	nnodes  int       // nodes of all graphs (ids of node-local run state)
	inputs  []IO
	outputs []IO
	inIDs   []int // value ids of the inputs
	outIDs  []int // value ids of the outputs
	limit   int64 // bytes per tensor
	// runLimit bounds the bytes of tensors one run holds (0: none).
	runLimit int64
	estMu    sync.Mutex
	estKey   string // the input shapes of the last estimate
	estBytes int64
	pool     *parallel.Pool

	mu     sync.Mutex
	idle   []*runState
	closed bool

	// forcePar (tests) makes parWork split every loop of more than one
	// unit, however small, so that the parallel paths run on small shapes.
	forcePar bool

	// profile, when set (tests), receives each node and its run time.
	profile func(n *node, in []*Tensor, d time.Duration)
}

// value is one named value of the graph.
type value struct {
	name string
	info vinfo
}

// graph is a compiled graph: the main graph, or an If/Loop body.
type graph struct {
	nodes   []*node
	inputs  []int   // formal inputs (Loop bodies)
	outputs []int   // value ids of the outputs
	free    [][]int // free[i]: the values that die after nodes[i]
}

// node is one operator application.
type node struct {
	id     int // unique over all graphs
	name   string
	opType string
	k      kernel
	in     []int // value ids, -1 for an omitted optional input
	out    []int // value ids, -1 for an unused output
}

func (n *node) String() string {
	if n.name != "" {
		return fmt.Sprintf("%s node %q", n.opType, n.name)
	}
	return n.opType + " node"
}

// kernel is a prepared operator. run computes the outputs of one call from
// in (nil for omitted optional inputs) and stores them in out, which has
// one entry per output of the node; it allocates them with rc.alloc.
type kernel interface {
	run(rc *runCtx, in, out []*Tensor) error
}

// New prepares m to run. m must have its external data loaded
// (Model.LoadExternal); New does not keep references into m's buffers.
func New(m *onnx.Model, opts Options) (e *Executor, err error) {
	if m == nil || m.Graph == nil {
		return nil, fmt.Errorf("%w: no graph", onnx.ErrFormat)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if opts.Threads < 0 {
		return nil, fmt.Errorf("exec: negative thread count %d", opts.Threads)
	}
	limit := opts.MaxTensorBytes
	if limit <= 0 {
		limit = DefaultMaxTensorBytes
	}
	runLimit := opts.MaxRunBytes
	if runLimit == 0 {
		runLimit = DefaultMaxRunBytes()
	}
	e = &Executor{limit: limit, runLimit: max(runLimit, 0)}
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, fmt.Errorf("exec: internal error while preparing the model: %v\n%s", r, debug.Stack())
		}
	}()
	foldTime := opts.FoldTime
	if foldTime <= 0 {
		foldTime = DefaultFoldTime
	}
	foldCtx, cancel := context.WithTimeout(context.Background(), foldTime)
	defer cancel()
	b := &builder{e: e, opsets: map[string]int64{}, foldCtx: foldCtx}
	for _, o := range m.OpsetImports {
		d := o.Domain
		if d == "ai.onnx" {
			d = ""
		}
		b.opsets[d] = o.Version
	}
	if len(m.OpsetImports) == 0 {
		b.opsets[""] = 1
	}
	if len(m.Functions) > 0 {
		b.functions = map[[2]string]*onnx.Function{}
		for _, f := range m.Functions {
			b.functions[[2]string{f.Domain, f.Name}] = f
		}
	}
	threads := opts.Threads
	if threads == 0 {
		threads = goruntime.GOMAXPROCS(0)
	}
	e.pool = parallel.New(threads)
	g, err := b.mainGraph(m.Graph)
	if err != nil {
		e.pool.Close()
		return nil, err
	}
	e.main = g
	e.nnodes = b.nodeCount
	if f := opts.Profile; f != nil {
		e.profile = func(n *node, in []*Tensor, d time.Duration) {
			p := NodeProfile{Op: n.opType, Wall: d}
			if _, ok := n.k.(*halfKernel); ok {
				p.Op += " (half)"
			}
			p.Key = p.Op
			if k, ok := n.k.(*conv); ok && len(in) > 1 && in[0] != nil && in[1] != nil {
				p.Key = fmt.Sprintf("Conv g=%d w=%v x=%v s=%v", k.group, in[1].Shape, in[0].Shape, k.win.strides)
			}
			if k, ok := n.k.(*convInteger); ok {
				if x, w := k.operandShapes(in); x != nil && w != nil {
					p.Key = fmt.Sprintf("%s g=%d w=%v x=%v s=%v", p.Op, k.group, w, x, k.win.strides)
				}
			}
			if k, ok := n.k.(*pool); ok && len(in) > 0 && in[0] != nil {
				p.Key = fmt.Sprintf("%s k=%v x=%v s=%v", p.Op, k.win.kernel, in[0].Shape, k.win.strides)
			}
			f(p)
		}
	}
	return e, nil
}

// Inputs describes the model's inputs, in the order Run takes them.
func (e *Executor) Inputs() []IO { return e.inputs }

// Outputs describes the model's outputs, in the order Run returns them.
func (e *Executor) Outputs() []IO { return e.outputs }

// Threads returns the number of goroutines a Run uses.
func (e *Executor) Threads() int { return e.pool.Threads() }

// Close stops the worker goroutines. Run still works afterwards, on the
// caller's goroutine alone.
func (e *Executor) Close() {
	e.mu.Lock()
	e.closed = true
	e.idle = nil
	e.mu.Unlock()
	e.pool.Close()
}

// Run runs the model on inputs (in the order of Inputs) and returns new
// tensors for its outputs (in the order of Outputs). The inputs are read,
// never modified, and not referenced after Run returns.
func (e *Executor) Run(ctx context.Context, inputs []*Tensor) (outs []*Tensor, err error) {
	if len(inputs) != len(e.inputs) {
		return nil, fmt.Errorf("%w: %d inputs, the model takes %d", ErrInput, len(inputs), len(e.inputs))
	}
	for i, t := range inputs {
		io := e.inputs[i]
		if t == nil {
			return nil, fmt.Errorf("%w: input %q missing", ErrInput, io.Name)
		}
		if err := t.Check(); err != nil {
			return nil, fmt.Errorf("%w: input %q: %w", ErrInput, io.Name, err)
		}
		if t.Type != io.Type {
			return nil, fmt.Errorf("%w: input %q is %v, the model takes %v", ErrInput, io.Name, t.Type, io.Type)
		}
		if io.HasShape {
			ok := len(t.Shape) == len(io.Shape)
			for j := 0; ok && j < len(io.Shape); j++ {
				ok = io.Shape[j] < 0 || io.Shape[j] == t.Shape[j]
			}
			if !ok {
				return nil, fmt.Errorf("%w: input %q has shape %v, the model takes %s", ErrInput, io.Name, t.Shape, formatShape(io.Shape))
			}
		}
		if int64(t.Len())*int64(elemSize(t.Type)) > e.limit {
			return nil, fmt.Errorf("%w: input %q has %d elements", ErrLimit, io.Name, t.Len())
		}
	}
	if e.runLimit > 0 {
		if need := e.cachedEstimate(inputs); need > e.runLimit {
			return nil, fmt.Errorf("%w: the run needs about %d MiB of tensors for these inputs, more than the limit of %d MiB (Options.MaxRunBytes)",
				ErrLimit, need>>20, e.runLimit>>20)
		}
	}
	st := e.getState()
	rc := &runCtx{runState: st, e: e, ctx: ctx}
	ok := false
	defer func() {
		if r := recover(); r != nil {
			outs, err = nil, panicError(rc, r)
		}
		if ok {
			e.putState(st)
		}
	}()
	for i, t := range inputs {
		st.vals[e.inIDs[i]] = &Tensor{Type: t.Type, Shape: t.Shape, Data: t.Data}
	}
	if err := rc.runGraph(e.main); err != nil {
		st.reset(e)
		ok = true
		return nil, err
	}
	outs = make([]*Tensor, len(e.outIDs))
	for i, id := range e.outIDs {
		t := st.vals[id]
		if t == nil {
			return nil, fmt.Errorf("exec: output %q was not computed", e.outputs[i].Name)
		}
		outs[i] = t.clone()
	}
	st.reset(e)
	ok = true
	return outs, nil
}

// panicError turns a panic in an operator into an error naming the node.
func panicError(rc *runCtx, r any) error {
	where := "the model"
	if rc.cur != nil {
		where = rc.cur.String()
	}
	if pv, ok := r.(*parallel.PanicValue); ok {
		return fmt.Errorf("exec: internal error in %s: %v\n%s", where, pv.Recovered, pv.Stack)
	}
	return fmt.Errorf("exec: internal error in %s: %v\n%s", where, r, debug.Stack())
}

// clone returns a copy of t that owns its data.
func (t *Tensor) clone() *Tensor {
	c := &Tensor{Type: t.Type, Shape: append([]int{}, t.Shape...)}
	n := dataLen(t.Data)
	d := zeroSlice(t.Type, n)
	copyData(d, t.Data)
	c.Data = d
	return c
}

// copyData copies src into dst, typed slices of the same type.
func copyData(dst, src any) int {
	switch d := words(dst).(type) {
	case []uint8:
		return copy(d, words(src).([]uint8))
	case []uint16:
		return copy(d, words(src).([]uint16))
	case []uint32:
		return copy(d, words(src).([]uint32))
	case []uint64:
		return copy(d, words(src).([]uint64))
	case []string:
		return copy(d, src.([]string))
	}
	return 0
}

// runState is what one Run needs besides the model: the values, the arena,
// and per-node buffers for the input and output lists.
type runState struct {
	vals  []*Tensor
	arena arena
	ins   [][]*Tensor // by node id
	outs  [][]*Tensor
}

func (e *Executor) getState() *runState {
	e.mu.Lock()
	if n := len(e.idle); n > 0 {
		st := e.idle[n-1]
		e.idle = e.idle[:n-1]
		e.mu.Unlock()
		return st
	}
	e.mu.Unlock()
	st := &runState{
		arena: arena{limit: e.runLimit},
		vals:  make([]*Tensor, len(e.values)),
		ins:   make([][]*Tensor, e.nnodes),
		outs:  make([][]*Tensor, e.nnodes),
	}
	copy(st.vals, e.consts)
	return st
}

func (e *Executor) putState(st *runState) {
	e.mu.Lock()
	if !e.closed && len(e.idle) < 4 {
		e.idle = append(e.idle, st)
	}
	e.mu.Unlock()
}

// reset releases every non-constant value, so the state can serve the next
// call, and lets the arena drop the buffers this call did not need.
func (st *runState) reset(e *Executor) {
	for id, t := range st.vals {
		if t != nil && e.consts[id] == nil {
			st.arena.release(t)
			st.vals[id] = nil
		}
	}
	for _, l := range st.ins {
		clear(l)
	}
	for _, l := range st.outs {
		clear(l)
	}
	st.arena.endRun()
}

// runCtx is what an operator sees of the call it runs in.
type runCtx struct {
	*runState
	e    *Executor
	ctx  context.Context
	cur  *node
	fold bool // constant folding at load: allocations are plain slices
}

// runGraph evaluates g's nodes in order.
func (rc *runCtx) runGraph(g *graph) error {
	st := rc.runState
	for i, n := range g.nodes {
		if err := rc.ctx.Err(); err != nil {
			return err
		}
		ins := st.ins[n.id]
		if ins == nil {
			ins = make([]*Tensor, len(n.in))
			st.ins[n.id] = ins
		}
		outs := st.outs[n.id]
		if outs == nil {
			outs = make([]*Tensor, len(n.out))
			st.outs[n.id] = outs
		}
		for j, id := range n.in {
			if id >= 0 {
				ins[j] = st.vals[id]
				if ins[j] == nil {
					return fmt.Errorf("exec: %s: input %q has no value", n, rc.e.values[id].name)
				}
			} else {
				ins[j] = nil
			}
		}
		clear(outs)
		rc.cur = n
		var t0 time.Time
		if rc.e.profile != nil {
			t0 = time.Now()
		}
		err := n.k.run(rc, ins, outs)
		if rc.e.profile != nil {
			rc.e.profile(n, ins, time.Since(t0))
		}
		if err == nil {
			// A long operator may have cut its work short when the
			// context ended: its outputs are then incomplete.
			err = rc.ctx.Err()
		}
		if err != nil {
			for _, t := range outs {
				st.arena.release(t)
			}
			return fmt.Errorf("exec: %s: %w", n, err)
		}
		for j, id := range n.out {
			t := outs[j]
			if id < 0 {
				st.arena.release(t)
				continue
			}
			if t == nil {
				return fmt.Errorf("exec: %s: output %d not computed", n, j)
			}
			if old := st.vals[id]; old != nil {
				st.arena.release(old) // a Loop body's value from the last iteration
			}
			st.vals[id] = t
		}
		clear(ins)
		for _, id := range g.free[i] {
			st.arena.release(st.vals[id])
			st.vals[id] = nil
		}
	}
	return nil
}

// alloc returns a tensor of the given type and shape whose elements the
// caller must all write (they are not zeroed).
func (rc *runCtx) alloc(typ onnx.DataType, shape []int) (*Tensor, error) {
	size := elemSize(typ)
	if size == 0 {
		return nil, fmt.Errorf("%w: element type %v", ErrUnsupported, typ)
	}
	n, err := shapeSize(shape, int(min(rc.e.limit/int64(size), maxDim)))
	if err != nil {
		return nil, err
	}
	t := &Tensor{Type: typ, Shape: append(make([]int, 0, len(shape)), shape...)}
	if rc.fold {
		t.Data = zeroSlice(typ, n)
		return t, nil
	}
	t.Data, t.blk, err = rc.arena.get(typ, n)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// allocZero is alloc with the elements set to zero.
func (rc *runCtx) allocZero(typ onnx.DataType, shape []int) (*Tensor, error) {
	t, err := rc.alloc(typ, shape)
	if err != nil {
		return nil, err
	}
	if t.blk != nil {
		clearData(t.Data)
	}
	return t, nil
}

// alias returns a tensor of the given shape sharing t's data (Reshape,
// Squeeze, Identity...). The shape must have t's number of elements.
func (rc *runCtx) alias(t *Tensor, shape []int) *Tensor {
	a := &Tensor{Type: t.Type, Shape: append(make([]int, 0, len(shape)), shape...), Data: t.Data, blk: t.blk}
	if t.blk != nil {
		t.blk.refs++
	}
	return a
}

// release returns a temporary tensor from alloc to the arena.
func (rc *runCtx) release(t *Tensor) { rc.arena.release(t) }

// par runs fn over [0, n) on the worker pool in chunks of grain.
func (rc *runCtx) par(n, grain int, fn func(lo, hi int)) {
	rc.e.pool.For(n, grain, fn)
}

// Handing work to another goroutine costs microseconds (more on a loaded
// machine, where the helper's thread may wait for a CPU): loops are split
// only when their work, in rough CPU cycles, is worth it, and into chunks
// of at least minChunkWork.
// The pool's workers poll for the next loop for a while after each (see
// package parallel), so within a run a hand-off usually costs a
// microsecond or two: a loop of 1<<16 cycles (a few tens of
// microseconds) gains from a second thread. (It was 1<<20, which left most of the small
// products and elementwise loops of a convolutional network such as
// PP-OCR's on one goroutine: two threads gained nothing.)
const (
	minParWork   = 1 << 16
	minChunkWork = 1 << 14
)

// parWork runs fn over [0, n) (whose total cost is about work cycles) on the
// worker pool if that pays, else on the caller's goroutine.
func (rc *runCtx) parWork(n, work int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if (work < minParWork && !rc.e.forcePar) || n == 1 {
		fn(0, n)
		return
	}
	grain := max(1, int(int64(n)*minChunkWork/max(int64(work), 1)))
	// Long loops stop between chunks once the call's context ends (the
	// caller's runGraph then reports it); a chunk costs about
	// minChunkWork cycles, so the check is free.
	body := func(lo, hi int) {
		for ; lo < hi; lo += grain {
			if rc.stopped() {
				return
			}
			fn(lo, min(lo+grain, hi))
		}
	}
	if rc.e.pool.Threads() == 1 {
		body(0, n)
		return
	}
	rc.par(n, grain, body)
}

// stopped reports whether the call's context has ended. Operators whose
// work can be large for the size of their tensors (a pooling window as
// large as the image, a long Loop) check it between rows or chunks and
// return early; runGraph then returns the context's error, so incomplete
// outputs never escape.
func (rc *runCtx) stopped() bool { return rc.ctx.Err() != nil }

func clearData(d any) {
	switch d := d.(type) {
	case []float32:
		clear(d)
	case []float64:
		clear(d)
	case []int8:
		clear(d)
	case []uint8:
		clear(d)
	case []int16:
		clear(d)
	case []uint16:
		clear(d)
	case []int32:
		clear(d)
	case []uint32:
		clear(d)
	case []int64:
		clear(d)
	case []uint64:
		clear(d)
	case []bool:
		clear(d)
	case []string:
		clear(d)
	}
}
