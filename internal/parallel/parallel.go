// Package parallel runs loops on a persistent pool of worker goroutines, so
// that a model's many small matrix products per token do not pay for
// starting goroutines.
//
// A Pool of t threads keeps t-1 workers. For publishes a loop; workers that
// are spinning (they poll for about spinFor after each loop, so the next
// matrix product of a token finds them awake) or that For wakes from their
// parked state take chunks of the index range, and the caller works on
// chunks itself, then waits for the workers that joined (polling briefly
// before it blocks). A worker that is
// slow to wake costs nothing: the caller and the others take its chunks. For
// does not allocate. The func passed to For escapes to the heap (the workers
// keep it while they run), so a caller that builds a new closure per call
// allocates that closure; hot loops build theirs once.
package parallel

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// chunksPerThread is how many chunks For aims to cut per thread, so that a
// thread that is descheduled (laptops, shared machines) holds back at most a
// small part of the work while the others take the rest.
const chunksPerThread = 4

// spinFor is how long a worker polls for the next loop before parking. A
// decoder runs a few hundred loops per token with microseconds of serial
// work between them; waking a parked goroutine costs tens of microseconds
// on a busy machine, so workers stay awake across those gaps (llama.cpp's
// threads do the same) but not across the pauses between requests.
const spinFor = 100 * time.Microsecond

// callerSpins is how many times For polls for its workers to finish before
// it blocks (microseconds of polling). Measured with BenchmarkDecode,
// SmolLM2-135M Q4_0 at 2 threads: 103 tok/s blocking at once, 146 after
// 1<<12 polls, 164 after 1<<14 (and 1<<16).
const callerSpins = 1 << 14

// The state word of a Pool: the generation of the loop in progress (high 32
// bits), whether workers may still join it (open), whether the caller is
// blocked on done waiting for them (waiting), and how many joined workers
// are still running (low bits).
const (
	stateOpen    = 1 << 31
	stateWaiting = 1 << 30
	stateActive  = 1<<30 - 1
	stateGen     = 1 << 32
)

// Pool is a fixed set of worker goroutines. Its methods may be called from
// several goroutines; For calls that overlap (including one made from inside
// another's fn) run serially on their caller's goroutine instead of waiting.
type Pool struct {
	threads int
	spin    bool          // workers poll between loops (threads <= GOMAXPROCS)
	wake    chan struct{} // tokens for parked workers; closed by Close
	done    chan struct{} // the last joined worker signals a waiting caller here
	exited  sync.WaitGroup
	parked  atomic.Int32 // workers blocked on wake
	stop    atomic.Bool  // set by Close

	mu     sync.Mutex // held by the For in progress
	closed bool

	// The For in progress (written under mu before state opens it).
	fn     func(lo, hi int)
	n      int
	chunk  int
	next   atomic.Int64 // start of the next unclaimed chunk
	state  atomic.Uint64
	failed atomic.Pointer[PanicValue]
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
		spin:    threads <= runtime.GOMAXPROCS(0),
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
	p.stop.Store(true)
	close(p.wake)
	p.mu.Unlock()
	p.exited.Wait()
}

func (p *Pool) worker() {
	defer p.exited.Done()
	var gen uint64 // generation of the last loop this worker joined
	for {
		if p.spin {
			deadline := time.Now().Add(spinFor)
			for i := 1; ; i++ {
				if p.join(&gen) {
					p.run()
					p.leave()
					deadline = time.Now().Add(spinFor)
					continue
				}
				if p.stop.Load() {
					return
				}
				if i%64 == 0 && time.Now().After(deadline) {
					break
				}
			}
		}
		// Park. Announce it first, then look once more: For reads parked
		// after opening its loop, so either it sends a token or this
		// check sees the loop.
		p.parked.Add(1)
		if p.join(&gen) {
			p.parked.Add(-1)
			p.run()
			p.leave()
			continue
		}
		_, ok := <-p.wake
		p.parked.Add(-1)
		if !ok {
			return
		}
		if p.join(&gen) {
			p.run()
			p.leave()
		}
	}
}

// join enters the open loop if it is not generation *gen (already joined).
func (p *Pool) join(gen *uint64) bool {
	for {
		s := p.state.Load()
		g := s / stateGen
		if s&stateOpen == 0 || g == *gen {
			return false
		}
		if p.state.CompareAndSwap(s, s+1) {
			*gen = g
			return true
		}
	}
}

// leave marks a joined worker's part of the loop as done; the last one out
// of a closed loop wakes the caller if it is waiting.
func (p *Pool) leave() {
	for {
		s := p.state.Load()
		ns := s - 1
		if p.state.CompareAndSwap(s, ns) {
			if ns&stateActive == 0 && ns&stateWaiting != 0 {
				p.done <- struct{}{}
			}
			return
		}
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
	gen := p.state.Load()/stateGen + 1
	p.state.Store(gen*stateGen | stateOpen) // publishes fn, n, chunk
	for k := min(int(p.parked.Load()), helpers); k > 0; k-- {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	p.run()
	// The workers usually finish their last chunks within microseconds of
	// the caller: poll for that a little before blocking on done, which
	// costs a wake-up through the scheduler.
	if p.spin {
		for i := 0; i < callerSpins && p.state.Load()&stateActive != 0; i++ {
		}
	}
	// Close the loop to latecomers and wait for the workers in it.
	for {
		s := p.state.Load()
		ns := s &^ stateOpen
		if s&stateActive != 0 {
			ns |= stateWaiting
		}
		if p.state.CompareAndSwap(s, ns) {
			if ns&stateWaiting != 0 {
				<-p.done
			}
			break
		}
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
