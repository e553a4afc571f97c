package parallel

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cover runs For and checks that fn saw each index of [0, n) exactly once,
// in ranges aligned to grain and at least grain long (but the last).
func cover(t *testing.T, p *Pool, n, grain int) {
	t.Helper()
	seen := make([]int32, max(n, 0))
	var bad atomic.Value
	p.For(n, grain, func(lo, hi int) {
		g := max(grain, 1)
		if lo < 0 || hi > n || lo >= hi || lo%g != 0 || (hi-lo < g && hi != n) {
			bad.Store(fmt.Sprintf("range [%d,%d) for n=%d grain=%d", lo, hi, n, grain))
		}
		for i := lo; i < hi && i >= 0 && i < n; i++ {
			atomic.AddInt32(&seen[i], 1)
		}
	})
	if s := bad.Load(); s != nil {
		t.Errorf("threads %d: bad %s", p.Threads(), s)
	}
	for i, c := range seen {
		if c != 1 {
			t.Fatalf("threads %d n=%d grain=%d: index %d seen %d times", p.Threads(), n, grain, i, c)
		}
	}
}

func TestForCoversRange(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		p := New(threads)
		if p.Threads() != threads {
			t.Errorf("Threads() = %d, want %d", p.Threads(), threads)
		}
		for _, n := range []int{-1, 0, 1, 2, 7, 31, 33, 100, 1000, 4097} {
			for _, grain := range []int{-3, 0, 1, 3, 16, 5000} {
				cover(t, p, n, grain)
			}
		}
		p.Close()
	}
	if p := New(0); p.Threads() != runtime.GOMAXPROCS(0) {
		t.Errorf("New(0).Threads() = %d, want GOMAXPROCS %d", p.Threads(), runtime.GOMAXPROCS(0))
	} else {
		p.Close()
	}
}

// TestForUsesWorkers checks that the work is actually spread: chunks that
// sleep overlap in time, so several goroutines run them.
func TestForUsesWorkers(t *testing.T) {
	p := New(4)
	defer p.Close()
	var inFlight, most atomic.Int32
	p.For(64, 1, func(lo, hi int) {
		k := inFlight.Add(1)
		for m := most.Load(); k > m && !most.CompareAndSwap(m, k); m = most.Load() {
		}
		time.Sleep(2 * time.Millisecond)
		inFlight.Add(-1)
	})
	if most.Load() < 2 {
		t.Errorf("at most %d chunks ran at once on a pool of 4", most.Load())
	}
	t.Logf("at most %d of 4 goroutines ran chunks at once", most.Load())
}

// TestForWakesParkedWorkers checks that a loop started after the workers
// have stopped polling and parked still gets a worker, and that one started
// while they poll does too: the first chunk waits until a second chunk runs
// alongside it, which only a worker can start.
func TestForWakesParkedWorkers(t *testing.T) {
	p := New(2)
	defer p.Close()
	for _, pause := range []time.Duration{0, 3 * spinFor, 20 * time.Millisecond, 0} {
		time.Sleep(pause)
		var started atomic.Int32
		var lonely atomic.Bool
		p.For(2, 1, func(lo, hi int) {
			started.Add(1)
			deadline := time.Now().Add(5 * time.Second)
			for started.Load() < 2 {
				if time.Now().After(deadline) {
					lonely.Store(true)
					return
				}
				runtime.Gosched()
			}
		})
		if lonely.Load() {
			t.Fatalf("after a pause of %v no worker joined the loop within 5 s", pause)
		}
	}
}

func TestForPanic(t *testing.T) {
	p := New(3)
	defer p.Close()
	boom := errors.New("boom")
	for _, at := range []int{0, 50, 99} { // the caller's or a worker's chunk
		func() {
			defer func() {
				r := recover()
				pv, ok := r.(*PanicValue)
				if !ok {
					t.Fatalf("panic at %d: recovered %T %v, want *PanicValue", at, r, r)
				}
				if !errors.Is(pv, boom) || len(pv.Stack) == 0 {
					t.Errorf("PanicValue = %v (stack %d bytes)", pv.Recovered, len(pv.Stack))
				}
			}()
			p.For(100, 1, func(lo, hi int) {
				if lo <= at && at < hi {
					panic(boom)
				}
				time.Sleep(10 * time.Microsecond)
			})
			t.Fatalf("For did not panic (at %d)", at)
		}()
		cover(t, p, 1000, 7) // the pool still works
	}
	// Serial path: the panic propagates unchanged.
	func() {
		defer func() {
			if r := recover(); r != "serial" {
				t.Errorf("serial panic recovered %v", r)
			}
		}()
		p.For(1, 1, func(lo, hi int) { panic("serial") })
	}()
}

func TestForNestedAndConcurrent(t *testing.T) {
	p := New(3)
	defer p.Close()
	var total atomic.Int64
	p.For(10, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			p.For(100, 10, func(lo, hi int) { total.Add(int64(hi - lo)) })
		}
	})
	if total.Load() != 1000 {
		t.Errorf("nested For covered %d of 1000", total.Load())
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				cover(t, p, 257, 3)
			}
		}()
	}
	wg.Wait()
}

func TestClose(t *testing.T) {
	before := runtime.NumGoroutine()
	p := New(5)
	cover(t, p, 100, 1)
	p.Close()
	p.Close() // idempotent
	for i := 0; runtime.NumGoroutine() > before && i < 100; i++ {
		time.Sleep(time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Errorf("%d goroutines after Close, %d before New", g, before)
	}
	cover(t, p, 100, 1) // serial after Close
}

func TestForAllocs(t *testing.T) {
	p := New(2)
	defer p.Close()
	var sum atomic.Int64
	fn := func(lo, hi int) { sum.Add(int64(hi - lo)) }
	if a := testing.AllocsPerRun(100, func() { p.For(1000, 10, fn) }); a != 0 {
		t.Errorf("For allocates %v times per call", a)
	}
}

// BenchmarkFor measures the overhead of one For over trivial chunks (waking
// the workers and waiting for them).
func BenchmarkFor(b *testing.B) {
	for _, threads := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			p := New(threads)
			defer p.Close()
			var sum atomic.Int64
			fn := func(lo, hi int) { sum.Add(int64(hi - lo)) }
			b.ReportAllocs()
			for b.Loop() {
				p.For(1024, 64, fn)
			}
		})
	}
}

// BenchmarkForGap measures what a decoder's per-token loop pays the pool:
// short loops (two chunks of about 10 µs) separated by about 2 µs of serial
// work, as between the matrix products of one token. With 2 threads an op
// ideally costs the serial gap plus one chunk; the excess is the latency of
// waking a worker.
func BenchmarkForGap(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			p := New(threads)
			defer p.Close()
			var sink atomic.Uint64
			fn := func(lo, hi int) { sink.Add(busy(10 * (hi - lo))) }
			b.ReportAllocs()
			for b.Loop() {
				sink.Add(busy(2))
				p.For(2, 1, fn)
			}
		})
	}
}

// busy computes for about us microseconds and returns a value that depends
// on the work, so it is not optimised away.
func busy(us int) uint64 {
	x := uint64(us)
	for i := 0; i < us*700; i++ { // ~1.4 ns per dependent step
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}
