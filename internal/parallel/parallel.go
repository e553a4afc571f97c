// Package parallel runs loops on a persistent pool of worker goroutines, so
// that a model's many small matrix products per token do not pay for
// starting goroutines.
//
// A Pool of t threads keeps t-1 workers parked on a channel; For hands them
// chunks of an index range and works on chunks itself, then waits for the
// workers it woke. For does not allocate. The func passed to For escapes to
// the heap (the workers keep it while they run), so a caller that builds a
// new closure per call allocates that closure; hot loops build theirs once.
package parallel

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// chunksPerThread is how many chunks For aims to cut per thread, so that a
// thread that is descheduled (laptops, shared machines) holds back at most a
// small part of the work while the others take the rest.
const chunksPerThread = 4

// Pool is a fixed set of worker goroutines. Its methods may be called from
// several goroutines; For calls that overlap (including one made from inside
// another's fn) run serially on their caller's goroutine instead of waiting.
type Pool struct {
	threads int
	wake    chan struct{} // one token per chunk-taker wanted; closed by Close
	done    chan struct{} // the last participant of a For to finish signals here
	exited  sync.WaitGroup

	mu     sync.Mutex // held by the For in progress
	closed bool

	// The For in progress (written under mu before the workers are woken).
	fn      func(lo, hi int)
	n       int
	chunk   int
	next    atomic.Int64 // start of the next unclaimed chunk
	pending atomic.Int32 // participants (the caller and woken workers) still running
	failed  atomic.Pointer[PanicValue]
}

// PanicValue is what For panics with when fn panicked: the value passed to
// panic and the stack of the goroutine that panicked (a worker's stack is
// otherwise lost).
type PanicValue struct {
	Recovered any
	Stack     []byte
}

// Error describes the panic and where it happened.
func (p *PanicValue) Error() string {
	return fmt.Sprintf("parallel: panic in For: %v\n\n%s", p.Recovered, p.Stack)
}

// Unwrap returns the recovered value if it is an error.
func (p *PanicValue) Unwrap() error {
	err, _ := p.Recovered.(error)
	return err
}

// New returns a pool of threads goroutines: the caller of For and threads-1
// workers. threads <= 0 means runtime.GOMAXPROCS(0).
func New(threads int) *Pool {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	p := &Pool{
		threads: threads,
		wake:    make(chan struct{}, threads),
		done:    make(chan struct{}, 1),
	}
	p.exited.Add(threads - 1)
	for range threads - 1 {
		go p.worker()
	}
	return p
}

// Threads returns the number of goroutines For uses, the caller's included.
func (p *Pool) Threads() int { return p.threads }

// Close stops the workers and waits for them to exit. For still works after
// Close, serially on the caller's goroutine. Close is idempotent.
func (p *Pool) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.wake)
	p.mu.Unlock()
	p.exited.Wait()
}

func (p *Pool) worker() {
	defer p.exited.Done()
	for range p.wake {
		p.run()
		p.leave()
	}
}

// For calls fn(lo, hi) on disjoint ranges that together cover [0, n), from
// the pool's goroutines (the caller's included), and returns when all calls
// have returned. Each range is at least grain long (but the last) and a
// multiple of grain, so fn can rely on an alignment; grain < 1 means 1.
// n <= 0 returns at once.
//
// If fn panics, the ranges not yet started are skipped, the calls in
// progress finish, and For panics in the caller with a *PanicValue holding
// the first panic's value and stack. (When For runs fn serially — one
// thread, a single chunk, a closed pool, or a call that overlaps another
// For — fn's panic propagates unchanged.)
func (p *Pool) For(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	grain = max(grain, 1)
	units := (n-1)/grain + 1 // chunks of one grain
	if p.threads == 1 || units == 1 || !p.mu.TryLock() {
		fn(0, n)
		return
	}
	if p.closed {
		p.mu.Unlock()
		fn(0, n)
		return
	}
	per := max(1, (units-1)/(p.threads*chunksPerThread)+1) // grains per chunk
	chunks := (units-1)/per + 1
	helpers := min(p.threads-1, chunks-1)

	p.fn, p.n, p.chunk = fn, n, per*grain
	p.next.Store(0)
	p.pending.Store(int32(helpers) + 1)
	for range helpers {
		p.wake <- struct{}{}
	}
	p.run()
	// Reclaim wake-ups no worker has taken yet: a parked or descheduled
	// worker must not hold up a loop whose chunks are all done.
	for reclaimed := false; !reclaimed; {
		select {
		case <-p.wake:
			p.pending.Add(-1)
		default:
			reclaimed = true
		}
	}
	if p.pending.Add(-1) != 0 {
		<-p.done
	}
	p.fn = nil
	pv := p.failed.Swap(nil)
	p.mu.Unlock()
	if pv != nil {
		panic(pv)
	}
}

// run takes chunks of the current loop until none is left.
func (p *Pool) run() {
	defer func() {
		if r := recover(); r != nil {
			p.failed.CompareAndSwap(nil, &PanicValue{Recovered: r, Stack: debug.Stack()})
			p.next.Store(int64(p.n)) // skip the remaining chunks
		}
	}()
	n, chunk := int64(p.n), int64(p.chunk)
	for {
		lo := p.next.Add(chunk) - chunk
		if lo >= n {
			return
		}
		p.fn(int(lo), int(min(lo+chunk, n)))
	}
}

// leave marks a worker's part of the loop as done; the last participant
// wakes the caller.
func (p *Pool) leave() {
	if p.pending.Add(-1) == 0 {
		p.done <- struct{}{}
	}
}
