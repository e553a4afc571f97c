package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sync"

	"github.com/edgeai-go/edgeai/internal/safeopen"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
	"github.com/edgeai-go/edgeai/models/tokenizer"
)

// Text embeddings: an EmbedModel turns texts into vectors with an encoder,
// either a GGUF run on edgeai's own kernels (the BERT family, nomic-bert,
// jina-bert-v2/v3, neo-bert, gemma-embedding, or a decoder such as Qwen3
// trained as an embedder) or an ONNX export run through an ONNX backend,
// with the same tokenizer and the same pooling either way. A model whose
// pooling is "rank" is a reranker (a cross-encoder): see Rerank.

// EmbedOptions configure LoadEmbedder. The zero value is the model's own
// settings: its pooling, L2-normalised vectors, all cores, no truncation.
type EmbedOptions struct {
	// Threads is the number of worker threads (GGUF) or the ONNX backend's
	// threads per run (ONNX); 0 = every core (GGUF), the backend's default
	// (ONNX).
	Threads int
	// BatchTokens is the most tokens one encoder pass takes, over all its
	// texts; 0 = 2048 or the model's context if larger. Embed splits larger
	// inputs into several passes.
	BatchTokens int
	// Pooling overrides the model's pooling: "mean", "cls", "last" or
	// "none" (token vectors, see EmbedTokens); "" keeps the model's
	// ({arch}.pooling_type for GGUF, "rank" for a reranker; a
	// sentence-transformers 1_Pooling/config.json beside an ONNX model,
	// else mean). A decoder GGUF (Qwen3-Embedding) loads as an embedder
	// when its file has a pooling_type or this option is set.
	Pooling string
	// NoNormalize keeps the vectors as pooled; by default they are scaled
	// to unit length (L2), as llama.cpp and sentence-transformers do.
	NoNormalize bool
	// Truncate cuts a text longer than the model's context to its first
	// tokens ([CLS] and [SEP] kept); without it such a text is an error
	// wrapping ErrContextFull. Never silent: see CountTokens.
	Truncate bool
	// ONNX selects the ONNX backend and its options (ONNX models only).
	ONNX ONNXOptions
	// Tokenizer is the tokenizer of an ONNX model: a tokenizer.json or
	// vocab.txt file, or a directory holding one; "" looks in the model's
	// directory, then in its parent.
	Tokenizer string
	// MaxLength is the most tokens per text of an ONNX model ([CLS] and
	// [SEP] included); 0 = the tokenizer's configured length, else 512.
	MaxLength int
}

// EmbedOption sets one of the EmbedOptions.
type EmbedOption func(*EmbedOptions)

// WithEmbedOptions replaces all options at once.
func WithEmbedOptions(o EmbedOptions) EmbedOption { return func(p *EmbedOptions) { *p = o } }

// WithEmbedThreads sets EmbedOptions.Threads.
func WithEmbedThreads(n int) EmbedOption { return func(o *EmbedOptions) { o.Threads = n } }

// WithPooling sets EmbedOptions.Pooling ("mean", "cls", "last", "none").
func WithPooling(p string) EmbedOption { return func(o *EmbedOptions) { o.Pooling = p } }

// WithNormalize turns the L2 normalisation of the vectors on (the default)
// or off.
func WithNormalize(on bool) EmbedOption { return func(o *EmbedOptions) { o.NoNormalize = !on } }

// WithTruncation sets EmbedOptions.Truncate.
func WithTruncation(on bool) EmbedOption { return func(o *EmbedOptions) { o.Truncate = on } }

// WithBatchTokens sets EmbedOptions.BatchTokens.
func WithBatchTokens(n int) EmbedOption { return func(o *EmbedOptions) { o.BatchTokens = n } }

// WithONNX sets EmbedOptions.ONNX (backend, threads, ONNX Runtime library).
func WithONNX(opts ONNXOptions) EmbedOption { return func(o *EmbedOptions) { o.ONNX = opts } }

// WithTokenizer sets EmbedOptions.Tokenizer.
func WithTokenizer(path string) EmbedOption { return func(o *EmbedOptions) { o.Tokenizer = path } }

// EmbedInfo describes a loaded embedding model.
type EmbedInfo struct {
	Path          string
	Format        string // "gguf" or "onnx"
	Architecture  string // general.architecture ("bert", "nomic-bert", "qwen3", ...); "onnx" for ONNX models
	Name          string // general.name, if any
	Backend       string // "edgeai" (own kernels) or the ONNX backend's name
	Dim           int    // values per vector (per text for a reranker: its scores)
	ContextLength int    // most tokens per text, [CLS] and [SEP] included
	Vocab         int
	Pooling       string // "mean", "cls", "last", "none" or "rank" (a reranker)
	Normalize     bool   // vectors are scaled to unit length
	Truncate      bool   // over-long texts are cut instead of refused
	Threads       int    // 0 for an ONNX backend's default
	Tokenizer     string // where the vocabulary came from
}

// EmbedModel is a loaded text encoder. Embed is safe for concurrent use.
type EmbedModel struct {
	info      EmbedInfo
	opts      EmbedOptions
	tok       *tokenizer.Tokenizer
	pooling   nn.Pooling
	normalize bool
	maxLen    int
	eng       embedEngine

	rerankTemplate string // tokenizer.chat_template.rerank: "{query}" and "{document}" replaced (Qwen3-Reranker)
}

// embedEngine runs token sequences through an encoder.
type embedEngine interface {
	// run encodes seqs (each at most the model's context) and calls emit
	// once per sequence, in any order: states is n x dim token states, or
	// (pooled) the model's own pooled vector.
	run(ctx context.Context, seqs [][]int, emit func(i int, states []float32, n int, pooled bool) error) error
	dim() int
	close() error
}

// ErrNotEncoder is wrapped by LoadEmbedder's error for a model that is not
// a text encoder (a decoder GGUF, for one).
var ErrNotEncoder = errors.New("runtime: not an embedding model")

// LoadEmbedder loads a text-embedding model or a reranker: a GGUF of an
// encoder architecture (bert, nomic-bert, jina-bert-v2, jina-bert-v3,
// neo-bert, gemma-embedding) or of a decoder with a pooling_type
// (Qwen3-Embedding, Qwen3-Reranker), run on edgeai's kernels, or an ONNX
// encoder export (inputs input_ids and optionally attention_mask and
// token_type_ids; tokenizer.json or vocab.txt beside it). A directory is
// searched for model.onnx and onnx/model.onnx. The format is told by the
// file's first bytes.
func LoadEmbedder(ctx context.Context, path string, opts ...EmbedOption) (*EmbedModel, error) {
	var o EmbedOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.Threads < 0 || o.Threads > 1024 || o.BatchTokens < 0 || o.MaxLength < 0 {
		return nil, fmt.Errorf("runtime: invalid embedding options %+v", o)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		found := ""
		for _, p := range []string{"model.onnx", filepath.Join("onnx", "model.onnx")} {
			if _, err := os.Stat(filepath.Join(path, p)); err == nil {
				found = filepath.Join(path, p)
				break
			}
		}
		if found == "" {
			return nil, fmt.Errorf("runtime: %s is a directory without model.onnx or onnx/model.onnx", path)
		}
		path = found
	}
	isGGUF, err := hasGGUFMagic(path)
	if err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	if isGGUF {
		return loadGGUFEmbedder(path, o)
	}
	return loadONNXEmbedder(ctx, path, o)
}

func hasGGUFMagic(path string) (bool, error) {
	f, err := safeopen.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return false, nil
		}
		return false, err
	}
	return string(magic[:]) == "GGUF", nil
}

// resolvePooling applies the Pooling option over the model's default.
func (m *EmbedModel) resolvePooling(def nn.Pooling) error {
	m.pooling = def
	if m.opts.Pooling != "" {
		p, err := nn.ParsePooling(m.opts.Pooling)
		if err != nil {
			return fmt.Errorf("runtime: %w", err)
		}
		m.pooling = p
	}
	m.normalize = !m.opts.NoNormalize
	m.info.Pooling, m.info.Normalize, m.info.Truncate = m.pooling.String(), m.normalize, m.opts.Truncate
	return nil
}

func loadGGUFEmbedder(path string, o EmbedOptions) (*EmbedModel, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	m, err := newGGUFEmbedder(f, path, o)
	if err != nil {
		f.Close()
		return nil, err
	}
	return m, nil
}

func newGGUFEmbedder(f *gguf.File, path string, o EmbedOptions) (*EmbedModel, error) {
	var enc nn.Encoder
	var err error
	switch _, hasPooling := f.Lookup(f.ArchKey("pooling_type")); {
	case nn.IsEncoder(f.Arch()):
		enc, err = nn.LoadEncoder(f)
	case hasPooling || o.Pooling != "":
		var d nn.Decoder
		if d, err = nn.LoadDecoder(f); err == nil {
			enc, err = nn.DecoderEncoder(d, f)
		}
	default:
		return nil, fmt.Errorf("runtime: %s: %w: architecture %q has no pooling_type (encoders: %v; a decoder trained as an embedder, such as Qwen3-Embedding, has one); load text-generation models with Load",
			path, ErrNotEncoder, f.Arch(), nn.EncoderArchitectures())
	}
	if err != nil {
		return nil, fmt.Errorf("runtime: %s: %w", path, err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("runtime: %s: %w", path, err)
	}
	c := enc.Config()
	if tok.VocabSize() != c.Vocab {
		return nil, fmt.Errorf("runtime: %s: tokenizer has %d tokens but the model %d", path, tok.VocabSize(), c.Vocab)
	}
	if o.Threads == 0 {
		o.Threads = goruntime.NumCPU()
	}
	if o.BatchTokens == 0 {
		o.BatchTokens = max(2048, c.ContextLength)
	}
	if o.BatchTokens < c.ContextLength {
		return nil, fmt.Errorf("runtime: %d batch tokens cannot hold one text of the model's context (%d)", o.BatchTokens, c.ContextLength)
	}
	name, _ := f.String("general.name")
	eng := &ggufEngine{file: f, enc: enc, threads: o.Threads, batchTokens: o.BatchTokens}
	m := &EmbedModel{opts: o, tok: tok, maxLen: c.ContextLength, eng: eng}
	m.info = EmbedInfo{Path: path, Format: "gguf", Architecture: c.Arch, Name: name, Backend: "edgeai", Dim: c.Dim,
		ContextLength: c.ContextLength, Vocab: c.Vocab, Threads: o.Threads, Tokenizer: "gguf"}
	if err := m.resolvePooling(c.Pooling); err != nil {
		return nil, err
	}
	if m.pooling == nn.PoolRank && c.Pooling != nn.PoolRank {
		return nil, fmt.Errorf("runtime: %s: pooling rank needs a reranker (a classification head); the model's pooling is %v", path, c.Pooling)
	}
	if m.pooling != nn.PoolRank && c.Pooling == nn.PoolRank {
		return nil, fmt.Errorf("runtime: %s is a reranker (pooling rank): it scores query-document pairs (Rerank) and gives no embeddings", path)
	}
	// The vectors' width after the model's layers past the pooling
	// (EmbeddingGemma's projections, a reranker's head), known from a state.
	st, err := eng.get()
	if err != nil {
		return nil, err
	}
	m.info.Dim = st.outDim(m.pooling)
	eng.put(st)
	if m.pooling == nn.PoolRank {
		m.rerankTemplate, _ = f.String("tokenizer.chat_template.rerank")
	}
	return m, nil
}

// Info describes the model.
func (m *EmbedModel) Info() EmbedInfo { return m.info }

// Dim returns the number of values per vector.
func (m *EmbedModel) Dim() int { return m.info.Dim }

// Tokenizer returns the model's tokenizer.
func (m *EmbedModel) Tokenizer() *tokenizer.Tokenizer { return m.tok }

// Close releases the model. Calls in progress must have returned.
func (m *EmbedModel) Close() error { return m.eng.close() }

// Tokenize returns the token ids Embed runs for text: [CLS], the text's
// word pieces, [SEP] (special-token texts such as "[SEP]" in the text become
// their tokens, as llama.cpp and Hugging Face tokenizers do). A text longer
// than the context is cut with truncation on, an error wrapping
// ErrContextFull otherwise.
func (m *EmbedModel) Tokenize(text string) ([]int, error) {
	ids, err := m.tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
	if err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	if len(ids) > m.maxLen {
		if !m.opts.Truncate {
			return nil, fmt.Errorf("runtime: %w: the text is %d tokens, the model takes %d; shorten it or turn truncation on", ErrContextFull, len(ids), m.maxLen)
		}
		last := ids[len(ids)-1]
		ids = append(ids[:m.maxLen-1], last)
	}
	return ids, nil
}

// CountTokens returns how many tokens Embed runs for text (after
// truncation), for usage accounting.
func (m *EmbedModel) CountTokens(text string) (int, error) {
	ids, err := m.Tokenize(text)
	return len(ids), err
}

// Embed returns one vector per text, in order: the encoder's token states
// pooled (mean, CLS or last, see EmbedOptions.Pooling) and, unless turned
// off, scaled to unit length, so that the dot product of two vectors is
// their cosine similarity. Texts are batched: many go through the encoder
// together, split across threads; ctx is checked between passes.
func (m *EmbedModel) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if m.pooling == nn.PoolRank {
		return nil, ErrReranker
	}
	if m.pooling == nn.PoolNone {
		return nil, fmt.Errorf("runtime: the model's pooling is none (one vector per token): use EmbedTokens, or choose a pooling (WithPooling)")
	}
	seqs, err := m.tokenizeAll(texts)
	if err != nil {
		return nil, err
	}
	return m.embedSeqs(ctx, seqs)
}

// EmbedIDs is Embed for texts already tokenized: each sequence as Tokenize
// returns it ([CLS] … [SEP], at most ContextLength tokens, ids within the
// vocabulary). Benchmarks use it to run sequences of an exact length.
func (m *EmbedModel) EmbedIDs(ctx context.Context, seqs [][]int) ([][]float32, error) {
	if m.pooling == nn.PoolRank {
		return nil, ErrReranker
	}
	if m.pooling == nn.PoolNone {
		return nil, fmt.Errorf("runtime: the model's pooling is none (one vector per token): use EmbedTokens, or choose a pooling (WithPooling)")
	}
	for i, s := range seqs {
		if len(s) == 0 || len(s) > m.maxLen {
			return nil, &TextError{Index: i, Err: fmt.Errorf("runtime: %w: %d tokens, the model takes 1 to %d", ErrContextFull, len(s), m.maxLen)}
		}
		for _, id := range s {
			if id < 0 || id >= m.tok.VocabSize() {
				return nil, &TextError{Index: i, Err: fmt.Errorf("runtime: token id %d out of range [0,%d)", id, m.tok.VocabSize())}
			}
		}
	}
	return m.embedSeqs(ctx, seqs)
}

func (m *EmbedModel) embedSeqs(ctx context.Context, seqs [][]int) ([][]float32, error) {
	out := make([][]float32, len(seqs))
	if ge, ok := m.eng.(*ggufEngine); ok { // pooling and the layers after it on edgeai's kernels
		err := ge.runPooled(ctx, seqs, m.pooling, func(i int, v []float32) {
			v = slices.Clone(v)
			if m.normalize && m.pooling != nn.PoolRank {
				nn.Normalize(v)
			}
			out[i] = v
		})
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	dim := m.eng.dim()
	err := m.eng.run(ctx, seqs, func(i int, states []float32, n int, pooled bool) error {
		v := make([]float32, dim)
		if pooled {
			copy(v, states)
		} else if err := nn.Pool(m.pooling, states, n, v); err != nil {
			return err
		}
		if m.normalize {
			nn.Normalize(v)
		}
		out[i] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EmbedTokens returns, for every text, one vector per token (the final
// hidden states, [CLS] and [SEP] included), each scaled to unit length
// unless normalisation is off. It is the output of pooling "none".
func (m *EmbedModel) EmbedTokens(ctx context.Context, texts []string) ([][][]float32, error) {
	seqs, err := m.tokenizeAll(texts)
	if err != nil {
		return nil, err
	}
	out := make([][][]float32, len(texts))
	if m.pooling == nn.PoolRank {
		return nil, ErrReranker
	}
	dim := m.eng.dim()
	if ge, ok := m.eng.(*ggufEngine); ok {
		dim = m.info.Dim
		if m.pooling != nn.PoolNone { // the layers after a pooling apply to token states as llama.cpp does
			if st, err := ge.get(); err == nil {
				dim = st.outDim(nn.PoolNone)
				ge.put(st)
			}
		}
		err = ge.runPooled(ctx, seqs, nn.PoolNone, func(i int, states []float32) {
			n := len(states) / dim
			vs := make([][]float32, n)
			for t := range vs {
				vs[t] = slices.Clone(states[t*dim : (t+1)*dim])
				if m.normalize {
					nn.Normalize(vs[t])
				}
			}
			out[i] = vs
		})
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	err = m.eng.run(ctx, seqs, func(i int, states []float32, n int, pooled bool) error {
		if pooled {
			return fmt.Errorf("runtime: %s gives pooled vectors only, no token states", filepath.Base(m.info.Path))
		}
		vs := make([][]float32, n)
		for t := range vs {
			vs[t] = append([]float32(nil), states[t*dim:(t+1)*dim]...)
			if m.normalize {
				nn.Normalize(vs[t])
			}
		}
		out[i] = vs
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// TextError reports which text of an Embed call could not be embedded (one
// longer than the context, for example).
type TextError struct {
	Index int // the text's index in the call
	Err   error
}

// Error formats the error as "text INDEX: ...".
func (e *TextError) Error() string { return fmt.Sprintf("text %d: %v", e.Index, e.Err) }

// Unwrap returns the underlying error.
func (e *TextError) Unwrap() error { return e.Err }

func (m *EmbedModel) tokenizeAll(texts []string) ([][]int, error) {
	seqs := make([][]int, len(texts))
	for i, t := range texts {
		ids, err := m.Tokenize(t)
		if err != nil {
			return nil, &TextError{Index: i, Err: err}
		}
		seqs[i] = ids
	}
	return seqs, nil
}

// ggufEngine runs a GGUF encoder on edgeai's kernels, keeping a few states
// (activations + worker pool) for reuse by later calls.
type ggufEngine struct {
	file        *gguf.File
	enc         nn.Encoder
	threads     int
	batchTokens int

	mu     sync.Mutex
	idle   []*ggufState
	closed bool
}

type ggufState struct {
	pool   *parallel.Pool
	st     nn.EncoderState
	enc    nn.Encoder
	out    []float32
	pooled []float32 // the pass's pooled vectors
	headed []float32 // the layers after the pooling's outputs
}

// outDim returns the values per text (per token for PoolNone) that pooling
// p and the model's layers after it give.
func (s *ggufState) outDim(p nn.Pooling) int {
	if hs, ok := s.st.(nn.HeadState); ok {
		if k := hs.HeadOutputs(p); k > 0 {
			return k
		}
	}
	return s.enc.Config().Dim
}

func (e *ggufEngine) dim() int { return e.enc.Config().Dim }

func (e *ggufEngine) get() (*ggufState, error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	if n := len(e.idle); n > 0 {
		s := e.idle[n-1]
		e.idle = e.idle[:n-1]
		e.mu.Unlock()
		return s, nil
	}
	e.mu.Unlock()
	pool := parallel.New(e.threads)
	st, err := e.enc.NewState(e.batchTokens, pool)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("runtime: %w", err)
	}
	return &ggufState{pool: pool, st: st, enc: e.enc, out: make([]float32, e.batchTokens*e.dim())}, nil
}

func (e *ggufEngine) put(s *ggufState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || len(e.idle) >= 2 {
		s.pool.Close()
		return
	}
	e.idle = append(e.idle, s)
}

func (e *ggufEngine) close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	for _, s := range e.idle {
		s.pool.Close()
	}
	e.idle = nil
	return e.file.Close()
}

// run packs consecutive texts into passes of at most batchTokens tokens.
func (e *ggufEngine) run(ctx context.Context, seqs [][]int, emit func(int, []float32, int, bool) error) error {
	s, err := e.get()
	if err != nil {
		return err
	}
	defer e.put(s)
	dim := e.dim()
	for start := 0; start < len(seqs); {
		if err := ctx.Err(); err != nil {
			return err
		}
		end, total := start, 0
		for end < len(seqs) && total+len(seqs[end]) <= e.batchTokens {
			total += len(seqs[end])
			end++
		}
		if end == start {
			return fmt.Errorf("runtime: text %d has %d tokens, more than a pass holds (%d)", start, len(seqs[start]), e.batchTokens)
		}
		if err := s.st.Forward(seqs[start:end], s.out); err != nil {
			return fmt.Errorf("runtime: %w", err)
		}
		off := 0
		for i := start; i < end; i++ {
			n := len(seqs[i])
			if err := emit(i, s.out[off*dim:(off+n)*dim], n, false); err != nil {
				return err
			}
			off += n
		}
		start = end
	}
	return nil
}

// runPooled runs seqs in passes as run does, then, per pass, pools every
// text's states with p (PoolNone: every token; PoolRank: the token the
// reranker's head reads), runs the pooled vectors of the pass together
// through the model's layers after the pooling (if any), and calls emit
// with each text's result: one vector, or n token vectors back to back for
// PoolNone.
func (e *ggufEngine) runPooled(ctx context.Context, seqs [][]int, p nn.Pooling, emit func(i int, v []float32)) error {
	s, err := e.get()
	if err != nil {
		return err
	}
	defer e.put(s)
	dim := e.dim()
	hs, _ := s.st.(nn.HeadState)
	heads := hs != nil && hs.HeadOutputs(p) > 0
	if p == nn.PoolRank && !heads {
		return errors.New("runtime: the model has no classification head")
	}
	pooling := p
	if p == nn.PoolRank {
		pooling = nn.PoolCLS
		if ri, ok := e.enc.(nn.RankInput); ok {
			pooling = ri.RankPooling()
		}
	}
	for start := 0; start < len(seqs); {
		if err := ctx.Err(); err != nil {
			return err
		}
		end, total := start, 0
		for end < len(seqs) && total+len(seqs[end]) <= e.batchTokens {
			total += len(seqs[end])
			end++
		}
		if end == start {
			return fmt.Errorf("runtime: text %d has %d tokens, more than a pass holds (%d)", start, len(seqs[start]), e.batchTokens)
		}
		if err := s.st.Forward(seqs[start:end], s.out); err != nil {
			return fmt.Errorf("runtime: %w", err)
		}
		// One vector per text, or every token's for PoolNone.
		vecs, rows := s.out[:total*dim], total
		if pooling != nn.PoolNone {
			rows = end - start
			if cap(s.pooled) < rows*dim {
				s.pooled = make([]float32, rows*dim)
			}
			vecs = s.pooled[:rows*dim]
			off := 0
			for i := start; i < end; i++ {
				if err := nn.Pool(pooling, s.out[off*dim:], len(seqs[i]), vecs[(i-start)*dim:(i-start+1)*dim]); err != nil {
					return err
				}
				off += len(seqs[i])
			}
		}
		width := dim
		if heads {
			width = hs.HeadOutputs(p)
			if cap(s.headed) < rows*width {
				s.headed = make([]float32, rows*width)
			}
			h := s.headed[:rows*width]
			if err := hs.Head(p, vecs, rows, h); err != nil {
				return fmt.Errorf("runtime: %w", err)
			}
			vecs = h
		}
		off := 0
		for i := start; i < end; i++ {
			n := 1
			if pooling == nn.PoolNone {
				n = len(seqs[i])
			}
			emit(i, vecs[off*width:(off+n)*width])
			off += n
		}
		start = end
	}
	return nil
}
