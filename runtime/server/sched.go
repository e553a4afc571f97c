package server

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/edgeai-go/edgeai/runtime"
)

// errQueueFull is returned by acquire when the wait queue is at its bound.
var errQueueFull = errors.New("server: queue full")

// errClosed is returned by acquire after the scheduler is closed.
var errClosed = errors.New("server: shutting down")

// slot is one of a model's parallel sequences. Its sequence (KV cache) is
// created on first use and kept, so a later request sharing a prefix with
// the last one (the same system prompt, the next turn of a chat) reuses it.
type slot struct {
	seq *runtime.Sequence
}

// reusable returns how much of the slot's cached context a prompt may
// reuse: the common prefix, leaving at least one prompt token to evaluate.
// The answer is bit for bit the one a fresh sequence gives, because the
// models' results do not depend on how a sequence was batched
// (models/all TestBatchInvariance).
func (sl *slot) reusable(prompt []int) int {
	if sl.seq == nil || len(prompt) == 0 {
		return 0
	}
	return sl.seq.Reusable(prompt)
}

// waiter is a request in the queue.
type waiter struct {
	prompt []int
	ch     chan *slot // receives the granted slot (buffered, 1)
}

// scheduler hands a model's slots to requests: a free slot at once if no one
// is waiting, otherwise first come, first served, with at most maxQueue
// waiting. Among several free slots it picks the one whose cached tokens
// share the longest prefix with the prompt.
type scheduler struct {
	model    *runtime.Model
	maxQueue int

	mu      sync.Mutex
	free    []*slot
	queue   []*waiter // FIFO
	active  int       // slots handed out
	closed  bool
	allIdle chan struct{} // closed when active drops to 0 after close

	nsess atomic.Int64 // slots holding a sequence (KV cache)
}

func newScheduler(m *runtime.Model, parallel, maxQueue int) *scheduler {
	s := &scheduler{model: m, maxQueue: maxQueue}
	for range parallel {
		s.free = append(s.free, &slot{})
	}
	return s
}

// acquire waits for a slot, in FIFO order. It fails with errQueueFull when
// maxQueue requests are already waiting, errClosed after close, or ctx's
// error when ctx ends first.
func (s *scheduler) acquire(ctx context.Context, prompt []int) (*slot, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errClosed
	}
	if len(s.queue) == 0 && len(s.free) > 0 {
		sl := s.pickLocked(prompt)
		s.active++
		s.mu.Unlock()
		return sl, nil
	}
	if len(s.queue) >= s.maxQueue {
		s.mu.Unlock()
		return nil, errQueueFull
	}
	w := &waiter{prompt: prompt, ch: make(chan *slot, 1)}
	s.queue = append(s.queue, w)
	s.mu.Unlock()

	select {
	case sl := <-w.ch:
		if sl == nil {
			return nil, errClosed
		}
		return sl, nil
	case <-ctx.Done():
		s.mu.Lock()
		if i := indexOf(s.queue, w); i >= 0 {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			s.mu.Unlock()
			return nil, ctx.Err()
		}
		s.mu.Unlock()
		// The slot was granted while ctx ended: pass it on.
		if sl := <-w.ch; sl != nil {
			s.release(sl)
		}
		return nil, ctx.Err()
	}
}

func indexOf(q []*waiter, w *waiter) int {
	for i, x := range q {
		if x == w {
			return i
		}
	}
	return -1
}

// pickLocked removes and returns the free slot best suited to prompt.
func (s *scheduler) pickLocked(prompt []int) *slot {
	best, bestLen := len(s.free)-1, -1
	for i, sl := range s.free {
		n := sl.reusable(prompt)
		if n > bestLen {
			best, bestLen = i, n
		}
	}
	sl := s.free[best]
	s.free = append(s.free[:best], s.free[best+1:]...)
	return sl
}

// release returns a slot: to the oldest waiter, or to the free list.
func (s *scheduler) release(sl *slot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) > 0 && !s.closed {
		w := s.queue[0]
		s.queue = s.queue[1:]
		w.ch <- sl
		return
	}
	s.active--
	s.free = append(s.free, sl)
	if s.closed && s.active == 0 && s.allIdle != nil {
		close(s.allIdle)
		s.allIdle = nil
	}
}

// sequence returns sl's sequence, creating it on first use.
func (s *scheduler) sequence(sl *slot) (*runtime.Sequence, error) {
	if sl.seq == nil {
		seq, err := s.model.NewSequence()
		if err != nil {
			return nil, err
		}
		sl.seq = seq
		s.nsess.Add(1)
	}
	return sl.seq, nil
}

// sequences returns the number of sequences (KV caches) allocated.
func (s *scheduler) sequences() int64 { return s.nsess.Load() }

// queued returns the number of waiting requests and busy slots.
func (s *scheduler) load() (waiting, busy int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue), s.active
}

// close rejects new and queued requests and returns a channel closed when no
// slot is in use any more; then it frees the sequences.
func (s *scheduler) close() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	done := make(chan struct{})
	if !s.closed {
		s.closed = true
		for _, w := range s.queue {
			w.ch <- nil
		}
		s.queue = nil
	}
	if s.active == 0 {
		s.freeLocked()
		close(done)
		return done
	}
	idle := make(chan struct{})
	s.allIdle = idle
	go func() {
		<-idle
		s.mu.Lock()
		s.freeLocked()
		s.mu.Unlock()
		close(done)
	}()
	return done
}

// freeLocked drops the sequences' caches (the memory goes back to the
// garbage collector).
func (s *scheduler) freeLocked() {
	for _, sl := range s.free {
		if sl.seq != nil {
			sl.seq = nil
			s.nsess.Add(-1)
		}
	}
}
