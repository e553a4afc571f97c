package chat

import (
	"errors"
	"fmt"
)

// Limits bound one render of a template the interpreter runs (a model's
// own template, which is untrusted input like the rest of a model file).
// A zero field takes its default. Each budget is the given amount plus an
// allowance proportional to the size of the render's inputs (the messages'
// texts, the tools' JSON, the BOS and EOS texts), so that a long
// conversation renders under the defaults while a template cannot turn a
// small input into a large amount of work or memory.
type Limits struct {
	// Output is the most bytes a render writes, beyond 4 × the inputs'
	// size (default 1 MiB).
	Output int64
	// Memory is the most bytes of strings, lists and dicts a render builds,
	// counted as they are built (values later dropped still count), beyond
	// 16 × the inputs' size (default 16 MiB).
	Memory int64
	// Work is the most units of work of a render, beyond 64 × the inputs'
	// size: an operator or filter costs a unit per byte it reads or writes,
	// an evaluated node or a loop iteration about a thousand (default 2^28,
	// about a quarter of a second).
	Work int64
	// Depth bounds nested macro calls and the nesting of the values that
	// tojson, repr and comparisons walk (default 128).
	Depth int
}

// Default budgets (see Limits).
const (
	DefaultOutput = 1 << 20
	DefaultMemory = 16 << 20
	DefaultWork   = 1 << 28
	DefaultDepth  = 128
)

// Allowances per byte of input.
const (
	outputPerInput = 4
	memoryPerInput = 16
	workPerInput   = 64
)

// Costs in work units.
const (
	stepCost = 1024 // an evaluated node, statement or loop iteration
	runeCost = 4    // a byte read by a loop decoding UTF-8
	nodeCost = 256  // a value visited by tojson, repr or a comparison
	callCost = 2048
	wordSize = 16 // memory of a list element or an interface value
	dictCost = 64 // memory of a dict entry
)

// ErrBudget is wrapped by the error of a render that exceeds one of its
// Limits (a *BudgetError).
var ErrBudget = errors.New("template exceeds its budget")

// BudgetError is the error of a render that exceeded one of its Limits.
// It wraps ErrBudget.
type BudgetError struct {
	Budget string // "output", "memory", "work" or "depth"
	Limit  int64  // the budget in force
}

func (e *BudgetError) Error() string {
	switch e.Budget {
	case "output":
		return fmt.Sprintf("%v: more than %d bytes of output", ErrBudget, e.Limit)
	case "memory":
		return fmt.Sprintf("%v: more than %d bytes of values built", ErrBudget, e.Limit)
	case "work":
		return fmt.Sprintf("%v: more than %d units of work", ErrBudget, e.Limit)
	case "depth":
		return fmt.Sprintf("%v: macro calls or values nested deeper than %d", ErrBudget, e.Limit)
	}
	return fmt.Sprintf("%v: %s over %d", ErrBudget, e.Budget, e.Limit)
}

// Unwrap returns ErrBudget.
func (e *BudgetError) Unwrap() error { return ErrBudget }

// budget is what remains of a render's Limits.
type budget struct {
	lim       Limits // in force, allowances included, for error messages
	out       int64  // bytes of output left
	mem, work *int64 // bytes of values and units of work left (shared by the renders of one Detect)
}

// pool is a memory and work budget shared by several renders.
type pool struct{ mem, work, memLimit, workLimit int64 }

func newPool(mem, work int64) *pool { return &pool{mem, work, mem, work} }

// newBudget returns the budget of a render of inputs bytes of input under
// lim (zero fields: defaults). shared, when not nil, holds the memory and
// work budgets instead of the render's own.
func newBudget(lim Limits, inputs int64, shared *pool) *budget {
	def := func(v, d int64) int64 {
		if v <= 0 {
			return d
		}
		return v
	}
	add := func(v, per int64) int64 {
		if inputs > (1<<62-v)/per {
			return 1 << 62
		}
		return v + per*inputs
	}
	l := Limits{
		Output: add(def(lim.Output, DefaultOutput), outputPerInput),
		Memory: add(def(lim.Memory, DefaultMemory), memoryPerInput),
		Work:   add(def(lim.Work, DefaultWork), workPerInput),
		Depth:  lim.Depth,
	}
	if l.Depth <= 0 {
		l.Depth = DefaultDepth
	}
	if shared == nil {
		shared = newPool(l.Memory, l.Work)
	} else {
		l.Memory, l.Work = shared.memLimit, shared.workLimit
	}
	return &budget{lim: l, out: l.Output, mem: &shared.mem, work: &shared.work}
}

func (b *budget) over(what string) error {
	var lim int64
	switch what {
	case "output":
		lim = b.lim.Output
	case "memory":
		lim = b.lim.Memory
	case "work":
		lim = b.lim.Work
	case "depth":
		lim = int64(b.lim.Depth)
	}
	return &BudgetError{Budget: what, Limit: lim}
}

// fits reports whether n items of size bytes each fit in left bytes,
// without overflow.
func fits(n, size, left int64) bool {
	if n <= 0 || size <= 0 {
		return true
	}
	return n <= left/size
}
