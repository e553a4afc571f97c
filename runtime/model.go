// Package runtime is edgeai's public API: load a model, generate text with
// streaming and cancellation, chat with a model's template, tokenize.
//
// A Model holds the read-only weights and is safe for concurrent use by many
// goroutines: each generation runs in its own Session (KV cache and
// activations), and sessions share the weights. The weights are either read
// in place from the memory-mapped file or copied into the process's memory
// at load (the default when memory allows; see WithMmap).
package runtime

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"strings"
	"sync"

	"github.com/edgeai-go/edgeai/internal/mmap"
	"github.com/edgeai-go/edgeai/internal/parallel"
	_ "github.com/edgeai-go/edgeai/models/all" // register the architectures
	"github.com/edgeai-go/edgeai/models/chat"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
	"github.com/edgeai-go/edgeai/models/tokenizer"
	"github.com/edgeai-go/edgeai/quant"
	"github.com/edgeai-go/edgeai/runtime/grammar"
)

// ErrContextFull is returned when a prompt or a generation does not fit in the
// session's context. edgeai never truncates a prompt silently.
var ErrContextFull = nn.ErrContextFull

// ErrClosed is returned by a Model or Session used after Close.
var ErrClosed = errors.New("runtime: closed")

// Options configure Load.
type Options struct {
	Threads      int    // worker threads per session; 0 = runtime.NumCPU()
	ContextSize  int    // KV cache positions per session; 0 = min(the model's trained context, DefaultContextSize)
	BatchSize    int    // prompt tokens per layer pass; 0 = 64
	ChatTemplate string // a template name (chat.Named) overriding the model's own

	Mmap MmapMode // weights read in place from the mapped file or copied (WithMmap)

	// CacheTypeK and CacheTypeV are the KV cache's types: "f16" (the
	// default, as llama.cpp's), "f32", "q8_0" or "q4_0" (WithCacheTypes).
	CacheTypeK, CacheTypeV string
}

// WithCacheTypes sets the types of the KV cache's keys and values, by
// llama.cpp's names (--cache-type-k/-v): "f32", "f16" (the default), "q8_0"
// or "q4_0". F16 halves the memory of F32 with a small change in the logits;
// Q8_0 halves it again (see docs/performance.md for the measured effect).
func WithCacheTypes(k, v string) Option {
	return func(o *Options) { o.CacheTypeK, o.CacheTypeV = k, v }
}

// ParseCacheType returns the tensor type of a KV cache type name.
func ParseCacheType(name string) (quant.Type, error) {
	switch strings.ToLower(name) {
	case "", "f16":
		return quant.F16, nil
	case "f32":
		return quant.F32, nil
	case "q8_0":
		return quant.Q8_0, nil
	case "q4_0":
		return quant.Q4_0, nil
	}
	return 0, fmt.Errorf("runtime: cache type %q is not one of f32, f16, q8_0, q4_0", name)
}

// Option sets one of the Options.
type Option func(*Options)

// WithThreads sets the number of worker threads of each session.
func WithThreads(n int) Option { return func(o *Options) { o.Threads = n } }

// WithContextSize sets the context (KV cache positions) of each session. It is
// capped at the model's trained context. Without it a session holds
// DefaultContextSize positions, or the trained context if that is smaller.
func WithContextSize(n int) Option { return func(o *Options) { o.ContextSize = n } }

// WithBatchSize sets how many prompt tokens go through each layer together.
func WithBatchSize(n int) Option { return func(o *Options) { o.BatchSize = n } }

// WithChatTemplate selects a named chat template ("chatml", "llama3", ...)
// instead of the one the model file carries.
func WithChatTemplate(name string) Option { return func(o *Options) { o.ChatTemplate = name } }

// DefaultContextSize is the context of a session when WithContextSize is not
// given (llama.cpp's default is 4096 too): models are trained for up to
// 128k positions, whose KV cache would not fit a small device.
const DefaultContextSize = 4096

// ErrMemory is wrapped by Load's error when the weights and one session's
// KV cache would not fit in the memory or address space available.
var ErrMemory = errors.New("not enough memory")

// Info describes a loaded model.
type Info struct {
	Path          string
	Architecture  string
	Name          string // general.name, if any
	Params        int64  // number of weights
	ContextLength int    // trained context
	ContextSize   int    // context of each session
	Vocab         int
	Layers        int
	Embedding     int
	Threads       int
	CacheTypeK    string // the KV cache's types: f32, f16, q8_0, q4_0
	CacheTypeV    string
	CacheBytes    int64 // one session's cache (KV and any rolling state) at ContextSize
}

// Model is a loaded decoder model. It is safe for concurrent use.
type Model struct {
	info    Info
	opts    Options
	file    *gguf.File
	dec     nn.Decoder
	tok     *tokenizer.Tokenizer
	tmpl    *chat.Template // nil when the model has none and none was chosen
	tmplErr error          // why tmpl is nil

	mu     sync.Mutex
	idle   []*Session // sessions ready for reuse by Generate
	closed bool

	shaOnce sync.Once // SHA256
	sha     string
	shaErr  error

	grammarOnce  sync.Once
	grammarVocab *grammar.Vocab // GrammarVocab: the vocabulary's byte trie for constrained sampling
}

// Load opens a GGUF model file (memory-mapped) and prepares it for
// generation: it either leaves the weights in the mapping or copies them into
// memory (see WithMmap). Options: WithThreads, WithContextSize,
// WithBatchSize, WithChatTemplate, WithMmap. A context whose KV cache,
// with the weights, cannot fit in the memory or address space available is
// an error wrapping ErrMemory, before anything large is allocated.
func Load(ctx context.Context, path string, opts ...Option) (*Model, error) {
	var o Options
	for _, opt := range opts {
		opt(&o)
	}
	if o.Threads <= 0 {
		o.Threads = goruntime.NumCPU()
	}
	if o.Threads > 1024 || o.ContextSize < 0 || o.BatchSize < 0 {
		return nil, fmt.Errorf("runtime: invalid options: threads %d (1 to 1024), context size %d, batch size %d (not negative)", o.Threads, o.ContextSize, o.BatchSize)
	}
	if o.BatchSize == 0 {
		o.BatchSize = 64
	}
	for _, t := range []string{o.CacheTypeK, o.CacheTypeV} {
		if _, err := ParseCacheType(t); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	m, err := newModel(f, path, o)
	if err == nil {
		err = m.checkMemory()
	}
	if err == nil { // the cache types must suit the model's heads
		_, err = m.dec.NewCache(1, m.cacheOptions())
		if err != nil {
			err = fmt.Errorf("runtime: %w", err)
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	if err := m.placeWeights(ctx); err != nil {
		m.dec.Weights().Close()
		f.Close()
		return nil, err
	}
	k, v := m.cacheOptions().K, m.cacheOptions().V
	m.info.CacheTypeK, m.info.CacheTypeV = strings.ToLower(k.String()), strings.ToLower(v.String())
	m.info.CacheBytes = m.KVCacheBytes()
	return m, nil
}

// checkMemory refuses a model whose weights and one session's state cannot
// fit: the state against the memory available (MemAvailable on Linux), and
// the mapped file, a copy of the weights and the state against the address
// space (a 32-bit platform, or RLIMIT_AS).
func (m *Model) checkMemory() error {
	state := m.dec.CacheBytes(m.opts.ContextSize, m.cacheOptions()) + nn.WorkspaceBytes(m.dec.Dims(), m.opts.BatchSize, m.opts.ContextSize)
	weights := m.dec.Weights().Bytes()
	hint := "lower the context with -c/WithContextSize"
	if avail, ok := mmap.Available(); ok && state > avail {
		return fmt.Errorf("runtime: %w: a context of %d tokens needs %d MiB for its KV cache and buffers, and %d MiB are available; %s",
			ErrMemory, m.opts.ContextSize, state>>20, avail>>20, hint)
	}
	if space, ok := mmap.AddressSpace(); ok {
		need := state + m.file.Size()
		if m.opts.Mmap != MmapOn {
			need += weights // a copy may be made beside the mapping
		}
		if need > space {
			return fmt.Errorf("runtime: %w: the model file (%d MiB), a copy of its weights and a context of %d tokens (%d MiB) need more than the %d MiB of address space this process may use; %s, or map the weights (--mmap)",
				ErrMemory, m.file.Size()>>20, m.opts.ContextSize, state>>20, space>>20, hint)
		}
	}
	return nil
}

func newModel(f *gguf.File, path string, o Options) (*Model, error) {
	dec, err := nn.LoadDecoder(f)
	if err != nil {
		return nil, fmt.Errorf("runtime: %s: %w", path, err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("runtime: %s: %w", path, err)
	}
	c := dec.Config()
	if tok.VocabSize() != c.Vocab {
		return nil, fmt.Errorf("runtime: %s: tokenizer has %d tokens but the model %d", path, tok.VocabSize(), c.Vocab)
	}
	ctxSize := min(c.ContextLength, DefaultContextSize)
	if o.ContextSize > 0 {
		ctxSize = min(o.ContextSize, c.ContextLength)
	}
	o.ContextSize = ctxSize
	m := &Model{opts: o, file: f, dec: dec, tok: tok}
	name, _ := f.String("general.name")
	var params int64
	for i := range f.Tensors {
		params += f.Tensors[i].Elements()
	}
	m.info = Info{Path: path, Architecture: c.Arch, Name: name, Params: params, ContextLength: c.ContextLength,
		ContextSize: ctxSize, Vocab: c.Vocab, Layers: c.Layers, Embedding: c.Dim, Threads: o.Threads}
	switch {
	case o.ChatTemplate != "":
		m.tmpl, err = chat.Named(o.ChatTemplate)
		if err != nil {
			return nil, fmt.Errorf("runtime: %w", err)
		}
	default:
		if src, ok := f.String("tokenizer.chat_template"); ok {
			m.tmpl, m.tmplErr = chat.Detect(src)
		} else {
			m.tmplErr = fmt.Errorf("runtime: %s has no tokenizer.chat_template; choose one with --chat-template (%s)", path, strings.Join(chat.Names(), ", "))
		}
	}
	// The tokenizer holds its own copies of these (SmolLM2's take 2 MiB);
	// nothing reads them from the file again.
	f.Forget("tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.scores",
		"tokenizer.ggml.token_type", "tokenizer.ggml.precompiled_charsmap")
	return m, nil
}

// Info describes the model.
func (m *Model) Info() Info { return m.info }

// cacheOptions returns the options of every session's cache.
func (m *Model) cacheOptions() nn.CacheOptions {
	k, _ := ParseCacheType(m.opts.CacheTypeK) // checked by Load
	v, _ := ParseCacheType(m.opts.CacheTypeV)
	return nn.CacheOptions{K: k, V: v, Batch: m.opts.BatchSize}
}

// Tokenizer returns the model's tokenizer.
func (m *Model) Tokenizer() *tokenizer.Tokenizer { return m.tok }

// Tokenize encodes text. With addSpecial the vocabulary's BOS (or equivalent)
// is added as the model expects; with parseSpecial special-token texts such as
// "<|im_start|>" become their tokens.
func (m *Model) Tokenize(text string, addSpecial, parseSpecial bool) ([]int, error) {
	return m.tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: addSpecial, ParseSpecial: parseSpecial})
}

// Detokenize decodes token ids to text.
func (m *Model) Detokenize(ids []int) string { return m.tok.Decode(ids) }

// Close releases the model file. Sessions must not be used afterwards.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	for _, s := range m.idle {
		s.pool.Close()
	}
	m.idle = nil
	m.dec.Weights().Close()
	return m.file.Close()
}

// Session is one sequence: its KV cache, activations and token history. A
// Session is not safe for concurrent use; make one per goroutine.
type Session struct {
	m      *Model
	pool   *parallel.Pool
	ws     *nn.Workspace // activations of a forward pass
	cache  *nn.Cache     // the KV cache (and any rolling state)
	seq    [1]nn.Seq     // the batch of one sequence eval passes to nn.Run
	tokens []int         // tokens in the cache, in order
	logits []float32     // last logits computed
	all    []float32     // buffer for EvalAll
}

// NewSession allocates a session with the model's context size.
func (m *Model) NewSession() (*Session, error) {
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	pool := parallel.New(m.opts.Threads)
	ws, err := nn.NewWorkspace(m.dec.Dims(), m.opts.BatchSize, m.opts.ContextSize, pool)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("runtime: %w", err)
	}
	cache, err := m.dec.NewCache(m.opts.ContextSize, m.cacheOptions())
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("runtime: %w", err)
	}
	return &Session{m: m, pool: pool, ws: ws, cache: cache, logits: make([]float32, m.dec.Config().Vocab)}, nil
}

// getSession returns an idle session (reset) or a new one.
func (m *Model) getSession() (*Session, error) {
	m.mu.Lock()
	if n := len(m.idle); n > 0 && !m.closed {
		s := m.idle[n-1]
		m.idle = m.idle[:n-1]
		m.mu.Unlock()
		s.Reset()
		return s, nil
	}
	m.mu.Unlock()
	return m.NewSession()
}

// putSession keeps s for reuse (at most a few are kept).
func (m *Model) putSession(s *Session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || len(m.idle) >= 4 {
		s.pool.Close()
		return
	}
	m.idle = append(m.idle, s)
}

// Close releases the session's worker threads.
func (s *Session) Close() { s.pool.Close() }

// Reset empties the session's context.
func (s *Session) Reset() {
	s.tokens = s.tokens[:0]
	s.cache.Reset()
}

// Tokens returns the tokens in the session's context (do not modify).
func (s *Session) Tokens() []int { return s.tokens }

// ContextSize returns the number of positions the session holds.
func (s *Session) ContextSize() int { return s.cache.Cap() }

// Truncate keeps the first n tokens of the context and forgets the rest, so a
// new continuation can reuse a common prefix. A model with a rolling state
// (LFM2's convolutions) cannot rewind it: the context is then emptied and
// Tokens says so.
func (s *Session) Truncate(n int) {
	n = max(0, n)
	if n >= len(s.tokens) {
		return
	}
	if !s.cache.Truncate(n) {
		s.Reset()
		return
	}
	s.tokens = s.tokens[:n]
}

// Eval appends ids to the context and returns the logits after the last one
// (a slice valid until the next call). The context is checked between batches.
// If the ids do not fit, it returns ErrContextFull and evaluates nothing.
func (s *Session) Eval(ctx context.Context, ids []int) ([]float32, error) {
	if err := s.eval(ctx, ids, false); err != nil {
		return nil, err
	}
	return s.logits, nil
}

// EvalAll is Eval returning the logits of every position of ids
// (len(ids) x vocab, row-major).
func (s *Session) EvalAll(ctx context.Context, ids []int) ([]float32, error) {
	v := s.m.dec.Config().Vocab
	if cap(s.all) < len(ids)*v {
		s.all = make([]float32, len(ids)*v)
	}
	s.all = s.all[:len(ids)*v]
	if err := s.eval(ctx, ids, true); err != nil {
		return nil, err
	}
	return s.all, nil
}

func (s *Session) eval(ctx context.Context, ids []int, all bool) error {
	if len(ids) == 0 {
		return errors.New("runtime: no tokens to evaluate")
	}
	pos := len(s.tokens)
	if len(ids) > s.ContextSize()-pos {
		return fmt.Errorf("runtime: %w: %d tokens after %d in a context of %d", ErrContextFull, len(ids), pos, s.ContextSize())
	}
	v := s.m.dec.Config().Vocab
	chunk := s.m.opts.BatchSize
	for start := 0; start < len(ids); start += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(start+chunk, len(ids))
		var out []float32
		switch {
		case all:
			out = s.all[start*v : end*v]
		case end == len(ids):
			out = s.logits
		}
		s.seq[0] = nn.Seq{Cache: s.cache, Tokens: ids[start:end], Logits: out, All: all}
		err := nn.Run(s.m.dec, s.ws, s.seq[:])
		s.seq[0] = nn.Seq{}
		if err != nil {
			return fmt.Errorf("runtime: %w", err)
		}
		s.tokens = append(s.tokens, ids[start:end]...)
	}
	if all {
		copy(s.logits, s.all[(len(ids)-1)*v:])
	}
	return nil
}
