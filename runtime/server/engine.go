package server

import (
	"context"
	"sync"
	"time"

	"github.com/edgeai-go/edgeai/runtime"
)

// engine decodes a decoder model's active sequences together (continuous
// batching): one goroutine runs runtime.Batch steps, each one forward pass
// for the decode steps of every generating sequence and chunks of the
// prompts of those that joined, while requests join between steps and
// leave when they end. The goroutine runs while there is work and exits
// when the batch is empty; the batch (its activations and worker threads)
// is kept for the next request until close.
type engine struct {
	model *runtime.Model

	mu      sync.Mutex
	pending []*task
	running bool
	closed  bool
	batch   *runtime.Batch // created on first use; touched by the running goroutine only (or under mu when not running)
	wake    chan struct{}  // (1) a consumer made room, or a task arrived
	active  []*task        // owned by the running goroutine
}

// task is one generation handed to the engine.
type task struct {
	ctx    context.Context
	seq    *runtime.Sequence
	prompt []int
	opts   runtime.GenerateOptions
	out    *mailbox
	// onToken runs on the engine's goroutine for each token before it is
	// queued (log probabilities read the logits there); it may fill in
	// the item.
	onToken func(it *item)
	// ended runs on the engine's goroutine when the generation has ended,
	// before the consumer learns it (the slot goes back to the scheduler
	// there).
	ended func()
}

func newEngine(m *runtime.Model) *engine {
	return &engine{model: m, wake: make(chan struct{}, 1)}
}

// submit hands t to the engine. It fails once the engine is closed.
func (e *engine) submit(t *task) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errClosed
	}
	e.pending = append(e.pending, t)
	if !e.running {
		e.running = true
		go e.loop()
	} else {
		e.signal()
	}
	return nil
}

func (e *engine) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// loop runs steps while there is work.
func (e *engine) loop() {
	for {
		e.mu.Lock()
		pend := e.pending
		e.pending = nil
		if len(pend) == 0 && len(e.active) == 0 {
			e.running = false
			if e.closed && e.batch != nil {
				e.batch.Close()
				e.batch = nil
			}
			e.mu.Unlock()
			return
		}
		if e.batch == nil {
			b, err := e.model.NewBatch(0)
			if err != nil {
				e.mu.Unlock()
				for _, t := range pend {
					t.fail(err)
				}
				continue
			}
			e.batch = b
		}
		e.mu.Unlock()
		for _, t := range pend {
			e.start(t)
		}
		if len(e.active) == 0 {
			continue
		}
		if e.allHeld() {
			// Every sequence waits for its consumer (tests hold them on
			// purpose): wait for room, rechecking the contexts now and
			// then (a cancelled one ends at the next step).
			select {
			case <-e.wake:
			case <-time.After(20 * time.Millisecond):
			}
			if e.allHeld() && !e.anyDone() {
				continue
			}
		}
		e.batch.Step()
	}
}

// start adds t to the batch, or ends it with the error.
func (e *engine) start(t *task) {
	err := e.batch.Start(t.ctx, t.seq, t.prompt, t.opts, runtime.BatchEvents{
		Token: func(tok runtime.Token) bool {
			it := item{tok: tok}
			if t.onToken != nil {
				t.onToken(&it)
			}
			return t.out.put(it)
		},
		Done: func(err error) {
			e.remove(t)
			t.fail(err)
		},
		Hold: t.out.full,
	})
	if err != nil {
		t.fail(err)
		return
	}
	e.active = append(e.active, t)
}

// fail ends t's mailbox with err (nil: a normal end) after its ended hook.
func (t *task) fail(err error) {
	if t.ended != nil { // the sequence is free again

		t.ended()
	}
	t.out.finish(err)
}

func (e *engine) remove(t *task) {
	for i, x := range e.active {
		if x == t {
			e.active = append(e.active[:i], e.active[i+1:]...)
			return
		}
	}
}

func (e *engine) allHeld() bool {
	for _, t := range e.active {
		if !t.out.full() {
			return false
		}
	}
	return true
}

func (e *engine) anyDone() bool {
	for _, t := range e.active {
		if t.ctx.Err() != nil || t.out.abandoned() {
			return true
		}
	}
	return false
}

// close stops the engine: new tasks are refused, and the batch is freed
// once the running goroutine has no work (the schedulers drain first).
func (e *engine) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	if !e.running && e.batch != nil {
		e.batch.Close()
		e.batch = nil
	}
}

// item is one token of a generation on its way to the request's
// goroutine.
type item struct {
	tok runtime.Token
	lp  *tokenLogprob // with logprobs: the token's log probability
}

// mailbox carries a generation's tokens from the engine to the request's
// goroutine. It never blocks the engine: tokens queue up (at most the
// request's max tokens). With a limit (tests), the engine holds the
// sequence while limit tokens wait.
type mailbox struct {
	mu     sync.Mutex
	items  []item
	done   bool
	err    error
	gone   bool          // the consumer stopped reading
	notify chan struct{} // (1) items or the end arrived
	limit  int           // 0: none
	wake   func()        // tells the engine there is room
	// release, when set, gives the sequence back once the reader is done
	// (instead of task.ended; tests).
	release func()
}

func newMailbox(limit int, wake func()) *mailbox {
	return &mailbox{notify: make(chan struct{}, 1), limit: limit, wake: wake}
}

// put queues a token; false tells the engine to stop the generation (the
// consumer is gone).
func (b *mailbox) put(it item) bool {
	b.mu.Lock()
	if b.gone {
		b.mu.Unlock()
		return false
	}
	b.items = append(b.items, it)
	b.mu.Unlock()
	b.ping()
	return true
}

func (b *mailbox) ping() {
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

// finish records the end of the generation.
func (b *mailbox) finish(err error) {
	b.mu.Lock()
	b.done, b.err = true, err
	b.mu.Unlock()
	b.ping()
}

// full reports whether the engine should hold the sequence.
func (b *mailbox) full() bool {
	if b.limit == 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items) >= b.limit && !b.gone
}

func (b *mailbox) abandoned() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.gone
}

// next waits for tokens or the end and returns the tokens queued (the
// caller's buf reused), and whether the generation has ended (then they
// are its last tokens and err is its error).
func (b *mailbox) next(buf []item) ([]item, bool, error) {
	for {
		b.mu.Lock()
		if len(b.items) > 0 || b.done {
			buf = append(buf[:0], b.items...)
			clear(b.items)
			b.items = b.items[:0]
			done, err := b.done, b.err
			b.mu.Unlock()
			if b.limit > 0 && b.wake != nil {
				b.wake()
			}
			return buf, done, err
		}
		b.mu.Unlock()
		<-b.notify
	}
}

// abandon tells the engine that nobody reads the tokens any more (the
// client is gone): the generation stops at its next token.
func (b *mailbox) abandon() {
	b.mu.Lock()
	b.gone = true
	b.mu.Unlock()
	if b.wake != nil {
		b.wake()
	}
}

// wait blocks until the generation has ended and returns its error.
func (b *mailbox) wait() error {
	for {
		b.mu.Lock()
		if b.done {
			err := b.err
			b.mu.Unlock()
			return err
		}
		b.mu.Unlock()
		<-b.notify
	}
}
