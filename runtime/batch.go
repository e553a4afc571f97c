package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/models/nn"
	"github.com/edgeai-go/edgeai/models/tokenizer"
	"github.com/edgeai-go/edgeai/runtime/grammar"
	"github.com/edgeai-go/edgeai/runtime/sample"
)

// Continuous batching: a Batch decodes the generations of several
// Sequences together, one forward pass per Step for all of them (one
// matrix-matrix product per layer, so the weights are read once per step
// whatever the number of sequences), while new generations join between
// steps and finished ones leave. A long prompt is read in chunks between
// decode steps, in the same passes, so the streams already running are held
// back by at most one chunk.
//
// Every sequence gets, token for token, what Session.Generate gives it alone:
// the models' logits for a sequence do not depend on which other sequences
// share a pass nor on how its prompt is cut (models/all TestBatchInvariance),
// and each generation keeps its own sampler, stop strings, limits and
// cancellation.

// Sequence is one sequence of a Batch: a KV cache and the tokens in it,
// without the activations and worker threads of a Session (the Batch's
// passes bring those). A Sequence keeps its context between generations,
// so a later prompt that starts the same way reuses the common prefix. It
// is used by one Batch at a time.
type Sequence struct {
	m      *Model
	cache  *nn.Cache
	tokens []int
	logits []float32
	busy   bool // in a generation of a Batch
}

// NewSequence allocates a sequence with the model's context size: its KV
// cache takes KVCacheBytes.
func (m *Model) NewSequence() (*Sequence, error) {
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	cache, err := m.dec.NewCache(m.opts.ContextSize, m.cacheOptions())
	if err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	return &Sequence{m: m, cache: cache, logits: make([]float32, m.dec.Config().Vocab)}, nil
}

// Tokens returns the tokens in the sequence's context (do not modify).
func (q *Sequence) Tokens() []int { return q.tokens }

// ContextSize returns the number of positions the sequence holds.
func (q *Sequence) ContextSize() int { return q.cache.Cap() }

// Logits returns the logits the sequence's last pass computed: inside a
// generation's token callback, those the token was sampled from (before
// penalties and temperature). Read them before the next Step.
func (q *Sequence) Logits() []float32 { return q.logits }

// Reset empties the sequence's context.
func (q *Sequence) Reset() {
	q.tokens = q.tokens[:0]
	q.cache.Reset()
}

// Truncate keeps the first n tokens of the context, as Session.Truncate.
func (q *Sequence) Truncate(n int) {
	n = max(0, n)
	if n >= len(q.tokens) {
		return
	}
	if !q.cache.Truncate(n) {
		q.Reset()
		return
	}
	q.tokens = q.tokens[:n]
}

// Reusable returns how many tokens of prompt a generation of q would take
// from its cache instead of evaluating them: the common prefix, keeping at
// least one prompt token to evaluate (a sliding-window or recurrent cache
// may give less when the generation starts).
func (q *Sequence) Reusable(prompt []int) int {
	n := 0
	for n < len(q.tokens) && n < len(prompt)-1 && q.tokens[n] == prompt[n] {
		n++
	}
	return n
}

// BatchEvents receive a generation's output from Batch.Step.
type BatchEvents struct {
	// Token receives each token as Session.Generate yields it (a last
	// Token with ID -1 may carry held-back text). Returning false stops
	// the generation (StopCancelled, no error).
	Token func(Token) bool
	// Done is called once when the generation ends, after opts.Stats is
	// filled in, with nil or the error that ended it (the context's error
	// when it was cancelled). The sequence has then left the batch.
	Done func(error)
	// Hold, when set and true, keeps the generation out of a step (its
	// reader is behind: backpressure); it keeps its place and its state.
	Hold func() bool
}

// Batch runs the generations of several Sequences of one model together
// (continuous batching). It owns the activations of one forward pass and
// a pool of worker threads. A Batch is not safe for concurrent use: one
// goroutine calls Start and Step.
type Batch struct {
	m      *Model
	pool   *parallel.Pool
	ws     *nn.Workspace
	gens   []*generation // in order of arrival
	run    []nn.Seq
	inRun  []*generation // the generation of each run entry
	minPro int           // prompt tokens per step while the workspace is full of decode steps
}

// NewBatch returns a batch for m's sequences whose passes run on threads
// worker threads (0: the model's Threads) and hold up to the model's batch
// size of tokens (WithBatchSize): the decode steps of every sequence and,
// in what is left, chunks of prompts.
func (m *Model) NewBatch(threads int) (*Batch, error) {
	if threads <= 0 {
		threads = m.opts.Threads
	}
	pool := parallel.New(threads)
	ws, err := nn.NewWorkspace(m.dec.Dims(), m.opts.BatchSize, m.opts.ContextSize, pool)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("runtime: %w", err)
	}
	return &Batch{m: m, pool: pool, ws: ws, minPro: max(1, ws.MaxTokens/4)}, nil
}

// Close releases the batch's worker threads. Generations still in it end
// with ErrClosed.
func (b *Batch) Close() {
	for _, g := range b.gens {
		g.finish(ErrClosed)
	}
	b.gens = nil
	b.pool.Close()
}

// Len returns the number of generations in the batch.
func (b *Batch) Len() int { return len(b.gens) }

// generation is one sequence's generation in a Batch: the state
// Session.generate keeps in its loop.
type generation struct {
	q      *Sequence
	ctx    context.Context
	opts   GenerateOptions
	st     *Stats
	ev     BatchEvents
	smp    *sample.Sampler
	gm     *grammar.Matcher // with opts.Grammar
	mask   []uint64
	dec    *tokenizer.StreamDecoder
	stop   stopFilter
	text   strings.Builder
	prompt []int // prompt tokens not evaluated yet
	next   [1]int
	decode bool // the prompt is read: next holds the token to evaluate
	held   bool // out of this step (BatchEvents.Hold)
	start  time.Time
	ended  bool
}

// Start adds a generation of prompt on q to the batch, with the options of
// Session.Generate (opts.Stats, when set, is filled in before ev.Done).
// The prompt's common prefix with q's context is reused. Step then reads
// the prompt and generates; ev.Token receives the tokens and ev.Done the
// end. ctx is checked at every step. Start fails at once (and q is left as
// it was) on an empty prompt, a prompt longer than the context, invalid
// options, or a q that belongs to another model or generation.
func (b *Batch) Start(ctx context.Context, q *Sequence, prompt []int, opts GenerateOptions, ev BatchEvents) error {
	switch {
	case q == nil || q.m != b.m:
		return errors.New("runtime: the sequence belongs to another model")
	case q.busy:
		return errors.New("runtime: the sequence is already generating")
	case ev.Token == nil || ev.Done == nil:
		return errors.New("runtime: BatchEvents needs Token and Done")
	case len(prompt) == 0:
		return errors.New("runtime: empty prompt (no tokens)")
	case opts.MaxTokens < 0:
		return fmt.Errorf("runtime: MaxTokens %d is negative", opts.MaxTokens)
	case len(prompt) > q.ContextSize():
		return fmt.Errorf("runtime: %w: the prompt has %d tokens, the context holds %d", ErrContextFull, len(prompt), q.ContextSize())
	}
	vocab := b.m.dec.Config().Vocab
	for i, id := range prompt {
		if id < 0 || id >= vocab {
			return fmt.Errorf("runtime: prompt token %d (at %d) is outside the vocabulary [0, %d)", id, i, vocab)
		}
	}
	smp, err := sample.New(opts.Sampling, vocab)
	if err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	var gm *grammar.Matcher
	if opts.Grammar != nil {
		// As in Session.generate: the text stream drops the first space
		// after a prompt that ends in BOS (SentencePiece).
		tok := b.m.tok
		strip := tok.BOS() >= 0 && prompt[len(prompt)-1] == tok.BOS() && tok.StripsFirstSpace()
		gm, err = grammar.NewMatcher(opts.Grammar, b.m.GrammarVocab(), grammar.Options{StripFirstSpace: strip, NoEOG: opts.IgnoreEOS})
		if err != nil {
			return fmt.Errorf("runtime: %w", err)
		}
	}
	st := opts.Stats
	if st == nil {
		st = new(Stats)
	}
	*st = Stats{}
	q.Truncate(q.Reusable(prompt))
	common := len(q.tokens) // less when a rolling state could not be rewound
	st.CachedTokens = common
	g := &generation{q: q, ctx: ctx, opts: opts, st: st, ev: ev, smp: smp, gm: gm, prompt: prompt[common:], start: time.Now()}
	if gm != nil {
		g.mask = make([]uint64, max((vocab+63)/64, b.m.GrammarVocab().Words()))
	}
	g.dec = b.m.tok.NewStreamDecoder()
	if bos := b.m.tok.BOS(); bos >= 0 && prompt[len(prompt)-1] == bos {
		g.dec.Push(bos) // text right after BOS starts a sequence: no leading space
	}
	g.stop = stopFilter{stops: opts.Stop}
	q.busy = true
	b.gens = append(b.gens, g)
	return nil
}

// Step runs one forward pass: the pending token of every generation past
// its prompt, and chunks of the prompts still being read (first come,
// first served) in the room left (at least a quarter of the batch size),
// then samples the next token of each generation whose logits it
// computed. Generations that Hold sit out. It returns the number of
// generations still in the batch. Generations whose context was cancelled
// end before the pass.
func (b *Batch) Step() int {
	b.drop()
	if len(b.gens) == 0 {
		return 0
	}
	b.run, b.inRun = b.run[:0], b.inRun[:0]
	ndecode := 0
	for _, g := range b.gens {
		if g.held = g.ev.Hold != nil && g.ev.Hold(); g.held {
			continue
		}
		if g.decode {
			b.run = append(b.run, nn.Seq{Cache: g.q.cache, Tokens: g.next[:], Logits: g.q.logits})
			b.inRun = append(b.inRun, g)
			ndecode++
		}
	}
	room := max(b.ws.MaxTokens-ndecode, b.minPro)
	for _, g := range b.gens {
		if g.decode || g.held || room == 0 {
			continue
		}
		n := min(len(g.prompt), room)
		s := nn.Seq{Cache: g.q.cache, Tokens: g.prompt[:n]}
		if n == len(g.prompt) {
			s.Logits = g.q.logits
		}
		b.run = append(b.run, s)
		b.inRun = append(b.inRun, g)
		room -= n
	}
	err := nn.Run(b.m.dec, b.ws, b.run)
	for i, g := range b.inRun {
		s := b.run[i]
		b.run[i] = nn.Seq{}
		if err != nil {
			g.q.Reset() // a failed pass may have filled some positions
			g.finish(fmt.Errorf("runtime: %w", err))
			continue
		}
		g.q.tokens = append(g.q.tokens, s.Tokens...)
		if !g.decode {
			g.prompt = g.prompt[len(s.Tokens):]
			if len(g.prompt) > 0 {
				continue
			}
			g.st.PromptTokens = len(g.q.tokens) - g.st.CachedTokens
			g.st.PromptDuration = time.Since(g.start)
			g.start = time.Now()
			g.decode = true
			if g.gm != nil && g.gm.Done() { // a grammar of the empty string alone
				g.st.StopReason = StopEOS
				g.finish(nil)
				continue
			}
		}
		g.sample()
	}
	b.drop()
	return len(b.gens)
}

// drop ends the generations whose context is done and removes the ended
// ones.
func (b *Batch) drop() {
	kept := b.gens[:0]
	for _, g := range b.gens {
		if !g.ended {
			if err := g.ctx.Err(); err != nil {
				g.st.StopReason = StopCancelled
				g.finish(err)
			}
		}
		if !g.ended {
			kept = append(kept, g)
		}
	}
	clear(b.gens[len(kept):])
	b.gens = kept
}

// sample draws the next token from the logits of the last pass and hands
// it out; it ends the generation where Session.generate's loop would.
func (g *generation) sample() {
	st, opts, q := g.st, &g.opts, g.q
	tok := q.m.tok
	var id int
	if g.gm != nil {
		var err error
		if id, err = sampleGrammar(g.smp, g.gm, g.mask, q.logits, q.tokens, *opts, st.GeneratedTokens); err != nil {
			st.Text = g.text.String()
			g.finish(err)
			return
		}
	} else {
		id = g.smp.Sample(q.logits, q.tokens)
	}
	if !opts.IgnoreEOS && tok.IsEOG(id) {
		st.StopReason = StopEOS
		if rest := g.stop.flush(g.dec.Flush()); rest != "" {
			g.text.WriteString(rest)
			if !g.ev.Token(Token{ID: -1, Text: rest}) {
				st.StopReason = StopCancelled
			}
		}
		st.Text = g.text.String()
		g.finish(nil)
		return
	}
	st.GeneratedTokens++
	out, hit := g.stop.push(g.dec.Push(id))
	done := g.gm != nil && g.gm.Done()
	last := hit || done || (opts.MaxTokens > 0 && st.GeneratedTokens >= opts.MaxTokens)
	if last && !hit {
		out += g.stop.flush(g.dec.Flush())
	}
	g.text.WriteString(out)
	st.Text = g.text.String()
	if !g.ev.Token(Token{ID: id, Text: out}) {
		st.StopReason = StopCancelled
		g.finish(nil)
		return
	}
	switch {
	case hit:
		st.StopReason = StopString
		g.finish(nil)
		return
	case done:
		st.StopReason = StopEOS
		g.finish(nil)
		return
	case last:
		st.StopReason = StopLength
		g.finish(nil)
		return
	}
	if len(q.tokens) >= q.ContextSize() {
		st.StopReason = StopContext // like a length stop: what was held back is emitted
		if rest := g.stop.flush(g.dec.Flush()); rest != "" {
			g.text.WriteString(rest)
			st.Text = g.text.String()
			g.ev.Token(Token{ID: -1, Text: rest})
		}
		g.finish(nil)
		return
	}
	g.next[0] = id
}

// finish ends the generation once: the stats are completed, the sequence
// is free again, and Done is told.
func (g *generation) finish(err error) {
	if g.ended {
		return
	}
	g.ended = true
	if g.gm != nil {
		g.st.GrammarComplete = g.gm.Complete()
	}
	if g.decode {
		g.st.GenerateDuration = time.Since(g.start)
	} else if err != nil && g.st.StopReason == "" && g.ctx.Err() != nil {
		g.st.StopReason = StopCancelled
	}
	g.q.busy = false
	g.ev.Done(err)
}
