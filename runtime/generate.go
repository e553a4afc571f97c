package runtime

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/edgeai-go/edgeai/models/chat"
	"github.com/edgeai-go/edgeai/runtime/grammar"
	"github.com/edgeai-go/edgeai/runtime/sample"
)

// GenerateOptions control a generation.
type GenerateOptions struct {
	// MaxTokens caps the new tokens; 0 means until an end-of-generation token,
	// a stop string, or a full context (StopContext: the generation ends
	// normally, like a length stop). A prompt that does not fit the context
	// is an error wrapping ErrContextFull.
	MaxTokens int
	// Sampling chooses the next token. The zero value is greedy decoding
	// (temperature 0); start from sample.DefaultParams() for sampling.
	Sampling sample.Params
	// Stop ends the generation at the first occurrence of any of these
	// strings; the stop string itself is not emitted.
	Stop []string
	// IgnoreEOS keeps generating past end-of-generation tokens.
	IgnoreEOS bool
	// Grammar, when not nil, constrains the generated text to the strings
	// of a grammar (runtime/grammar: GBNF, a JSON Schema, any JSON object):
	// every token is sampled among those that can continue a valid text
	// (the mask is applied before the sampling chain), end-of-generation
	// tokens only where the text is complete, and the generation stops as
	// at an end-of-generation token (StopEOS) once the grammar is complete
	// and nothing can follow. If MaxTokens, a stop string or a full context
	// ends it first, the text is incomplete: StopReason says why and
	// Stats.GrammarComplete is false. With IgnoreEOS the grammar ends only
	// when nothing can follow.
	Grammar *grammar.Grammar
	// FinishGrammar, with Grammar and MaxTokens, keeps the text completable
	// within MaxTokens: near the limit only tokens after which the grammar
	// can still be completed in the tokens left are allowed, so the last
	// tokens close the text (a string value may be cut short, an optional
	// part left out). It relies on the vocabulary spelling every byte (a
	// byte-fallback or byte-level vocabulary, as llama and GPT-2 style
	// models have). The stop reason is then "length" or "eos" with
	// Stats.GrammarComplete true.
	FinishGrammar bool
	// Stats, when not nil, is filled in when the generation ends.
	Stats *Stats
}

// Token is one step of a generation.
type Token struct {
	ID   int    // the sampled token
	Text string // text made final by this token; may be empty while a UTF-8 character or a possible stop string is incomplete
}

// Stop reasons reported in Stats.
const (
	StopEOS       = "eos"       // the model emitted an end-of-generation token
	StopLength    = "length"    // MaxTokens reached
	StopString    = "stop"      // a stop string was generated
	StopContext   = "context"   // the context is full
	StopCancelled = "cancelled" // the context.Context was cancelled or the caller stopped iterating
)

// Stats describe a finished generation.
type Stats struct {
	PromptTokens     int           // prompt tokens evaluated (not counting a reused cached prefix)
	CachedTokens     int           // prompt tokens reused from the session's cache
	GeneratedTokens  int           // tokens sampled
	PromptDuration   time.Duration // time to evaluate the prompt (time to first token, minus sampling)
	GenerateDuration time.Duration // time from the first sampled token to the end
	StopReason       string        // one of the Stop* constants
	Text             string        // the whole generated text
	GrammarComplete  bool          // with GenerateOptions.Grammar: Text is a complete string of the grammar
}

// PromptTokensPerSecond returns the prompt processing speed.
func (s *Stats) PromptTokensPerSecond() float64 {
	return perSecond(s.PromptTokens, s.PromptDuration)
}

// GenerateTokensPerSecond returns the generation speed.
func (s *Stats) GenerateTokensPerSecond() float64 {
	return perSecond(s.GeneratedTokens, s.GenerateDuration)
}

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Generate continues prompt (text, tokenized with the vocabulary's BOS rule)
// and streams the new tokens. Ranging over the result runs the generation;
// breaking out of the loop or cancelling ctx stops it within one token. The
// final element carries a non-nil error if the generation failed (for example
// ErrContextFull).
func (m *Model) Generate(ctx context.Context, prompt string, opts GenerateOptions) iter.Seq2[Token, error] {
	ids, err := m.Tokenize(prompt, true, false)
	if err != nil {
		return errSeq(fmt.Errorf("runtime: tokenize: %w", err))
	}
	return m.GenerateTokens(ctx, ids, opts)
}

// GenerateTokens is Generate for a prompt given as token ids.
func (m *Model) GenerateTokens(ctx context.Context, ids []int, opts GenerateOptions) iter.Seq2[Token, error] {
	return func(yield func(Token, error) bool) {
		s, err := m.getSession()
		if err != nil {
			yield(Token{}, err)
			return
		}
		defer m.putSession(s)
		s.Generate(ctx, ids, opts)(yield)
	}
}

// Chat applies the model's chat template (or the one chosen with
// WithChatTemplate) to messages and generates the assistant's answer. The
// template's end-of-turn strings are added to opts.Stop.
func (m *Model) Chat(ctx context.Context, messages []chat.Message, opts GenerateOptions) iter.Seq2[Token, error] {
	ids, stops, err := m.ChatPromptContext(ctx, messages, chat.Options{})
	if err != nil {
		return errSeq(err)
	}
	opts.Stop = append(append([]string(nil), opts.Stop...), stops...)
	return m.GenerateTokens(ctx, ids, opts)
}

// ChatPrompt returns the tokens of messages formatted with the chat template,
// ending with the assistant's turn, and the template's stop strings.
func (m *Model) ChatPrompt(messages []chat.Message) ([]int, []string, error) {
	return m.ChatPromptContext(context.Background(), messages, chat.Options{})
}

// ChatPromptContext is ChatPrompt with the template's other inputs (tools,
// EnableThinking, Limits; the model fills in BOS, EOS, the date and the
// generation prompt), stopping when ctx is done.
func (m *Model) ChatPromptContext(ctx context.Context, messages []chat.Message, o chat.Options) ([]int, []string, error) {
	ids, stops, _, err := m.chatPrompt(ctx, messages, o)
	return ids, stops, err
}

// chatPrompt is ChatPromptContext that also returns the prompt's text.
func (m *Model) chatPrompt(ctx context.Context, messages []chat.Message, o chat.Options) ([]int, []string, string, error) {
	if m.tmpl == nil {
		return nil, nil, "", m.tmplErr
	}
	o.AddGenerationPrompt = true
	o.Date = time.Now() // for templates that print today's date (Llama 3.x)
	if id := m.tok.BOS(); id >= 0 {
		o.BOS = m.tok.Piece(id)
	}
	if id := m.tok.EOS(); id >= 0 {
		o.EOS = m.tok.Piece(id)
	}
	text, err := m.tmpl.Render(ctx, messages, o)
	if err != nil {
		return nil, nil, "", fmt.Errorf("runtime: chat template: %w", err)
	}
	ids, err := m.Tokenize(text, false, true)
	if err != nil {
		return nil, nil, "", fmt.Errorf("runtime: tokenize: %w", err)
	}
	return ids, m.tmpl.StopStrings(), text, nil
}

func errSeq(err error) iter.Seq2[Token, error] {
	return func(yield func(Token, error) bool) { yield(Token{}, err) }
}

// Generate continues the session's context with prompt and streams new
// tokens, as Model.Generate. A prefix of prompt already in the session's
// context is reused, not evaluated again (so a chat can keep one session).
func (s *Session) Generate(ctx context.Context, prompt []int, opts GenerateOptions) iter.Seq2[Token, error] {
	return func(yield func(Token, error) bool) {
		st := opts.Stats
		if st == nil {
			st = new(Stats)
		}
		*st = Stats{}
		err := s.generate(ctx, prompt, opts, st, yield)
		if err != nil {
			yield(Token{}, err)
		}
	}
}

func (s *Session) generate(ctx context.Context, prompt []int, opts GenerateOptions, st *Stats, yield func(Token, error) bool) error {
	if len(prompt) == 0 {
		return errors.New("runtime: empty prompt (no tokens)")
	}
	if opts.MaxTokens < 0 {
		return fmt.Errorf("runtime: MaxTokens %d is negative", opts.MaxTokens)
	}
	if len(prompt) > s.ContextSize() {
		return fmt.Errorf("runtime: %w: the prompt has %d tokens, the context holds %d", ErrContextFull, len(prompt), s.ContextSize())
	}
	smp, err := sample.New(opts.Sampling, s.m.dec.Config().Vocab)
	if err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	var gm *grammar.Matcher
	var mask []uint64
	if opts.Grammar != nil {
		// The text stream drops the first space after a prompt that ends in
		// BOS (SentencePiece): the grammar must see the text as streamed.
		tok := s.m.tok
		strip := tok.BOS() >= 0 && prompt[len(prompt)-1] == tok.BOS() && tok.StripsFirstSpace()
		gm, err = grammar.NewMatcher(opts.Grammar, s.m.GrammarVocab(), grammar.Options{StripFirstSpace: strip, NoEOG: opts.IgnoreEOS})
		if err != nil {
			return fmt.Errorf("runtime: %w", err)
		}
		mask = make([]uint64, max((s.m.dec.Config().Vocab+63)/64, s.m.GrammarVocab().Words()))
		defer func() { st.GrammarComplete = gm.Complete() }()
	}
	// Reuse the longest common prefix, keeping at least one token to evaluate
	// so there are logits to sample from.
	common := 0
	for common < len(s.tokens) && common < len(prompt)-1 && s.tokens[common] == prompt[common] {
		common++
	}
	s.Truncate(common)
	common = len(s.tokens) // less when a rolling state could not be rewound
	st.CachedTokens = common
	start := time.Now()
	logits, err := s.Eval(ctx, prompt[common:])
	if err != nil {
		if ctx.Err() != nil {
			st.StopReason = StopCancelled
		}
		return err
	}
	st.PromptTokens = len(prompt) - common
	st.PromptDuration = time.Since(start)
	start = time.Now()
	defer func() { st.GenerateDuration = time.Since(start) }()

	dec := s.m.tok.NewStreamDecoder()
	if bos := s.m.tok.BOS(); bos >= 0 && prompt[len(prompt)-1] == bos {
		dec.Push(bos) // text right after BOS starts a sequence: no leading space
	}
	stop := stopFilter{stops: opts.Stop}
	var text strings.Builder
	if gm != nil && gm.Done() { // a grammar of the empty string alone
		st.StopReason = StopEOS
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			st.StopReason = StopCancelled
			return err
		}
		var id int
		if gm != nil {
			if id, err = sampleGrammar(smp, gm, mask, logits, s.tokens, opts, st.GeneratedTokens); err != nil {
				return err
			}
		} else {
			id = smp.Sample(logits, s.tokens)
		}
		if !opts.IgnoreEOS && s.m.tok.IsEOG(id) {
			st.StopReason = StopEOS
			if rest := stop.flush(dec.Flush()); rest != "" {
				text.WriteString(rest)
				if !yield(Token{ID: -1, Text: rest}, nil) {
					st.StopReason = StopCancelled
				}
			}
			st.Text = text.String()
			return nil
		}
		st.GeneratedTokens++
		out, hit := stop.push(dec.Push(id))
		full := opts.MaxTokens > 0 && st.GeneratedTokens >= opts.MaxTokens
		done := gm != nil && gm.Done()
		last := hit || full || done
		if last && !hit {
			out += stop.flush(dec.Flush())
		}
		text.WriteString(out)
		st.Text = text.String()
		if !yield(Token{ID: id, Text: out}, nil) {
			st.StopReason = StopCancelled
			return nil
		}
		switch {
		case hit:
			st.StopReason = StopString
			return nil
		case done:
			st.StopReason = StopEOS
			return nil
		case last:
			st.StopReason = StopLength
			return nil
		}
		if len(s.tokens) >= s.ContextSize() {
			st.StopReason = StopContext // like a length stop: what was held back is emitted
			if rest := stop.flush(dec.Flush()); rest != "" {
				text.WriteString(rest)
				st.Text = text.String()
				yield(Token{ID: -1, Text: rest}, nil)
			}
			return nil
		}
		if logits, err = s.Eval(ctx, []int{id}); err != nil {
			if ctx.Err() != nil {
				st.StopReason = StopCancelled
			}
			return err
		}
	}
}

// sampleGrammar samples a token the grammar allows and moves the matcher
// past it; generated is the number of tokens generated so far.
func sampleGrammar(smp *sample.Sampler, gm *grammar.Matcher, mask []uint64, logits []float32, history []int, opts GenerateOptions, generated int) (int, error) {
	var err error
	if opts.FinishGrammar && opts.MaxTokens > 0 {
		err = gm.MaskWithin(mask, opts.MaxTokens-generated)
	} else {
		err = gm.Mask(mask)
	}
	if err != nil {
		return 0, fmt.Errorf("runtime: %w", err)
	}
	id := smp.SampleMasked(logits, history, mask)
	if id < 0 {
		return 0, fmt.Errorf("runtime: %w", grammar.ErrNoToken)
	}
	if err := gm.Accept(id); err != nil {
		return 0, fmt.Errorf("runtime: %w", err)
	}
	return id, nil
}

// stopFilter holds back generated text that might be the start of a stop
// string, and cuts the text at the first complete stop string.
type stopFilter struct {
	stops   []string
	pending string
}

// push adds text and returns what is safe to emit, and whether a stop string
// was completed (the text before it is returned, the rest dropped).
func (f *stopFilter) push(t string) (string, bool) {
	f.pending += t
	if len(f.stops) == 0 {
		out := f.pending
		f.pending = ""
		return out, false
	}
	cut := -1
	for _, s := range f.stops {
		if s == "" {
			continue
		}
		if i := strings.Index(f.pending, s); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		out := f.pending[:cut]
		f.pending = ""
		return out, true
	}
	hold := 0
	for _, s := range f.stops {
		for k := min(len(s)-1, len(f.pending)); k > hold; k-- {
			if strings.HasSuffix(f.pending, s[:k]) {
				hold = k
				break
			}
		}
	}
	out := f.pending[:len(f.pending)-hold]
	f.pending = f.pending[len(f.pending)-hold:]
	return out, false
}

// flush adds t and returns everything still held (the generation ended).
func (f *stopFilter) flush(t string) string {
	out, hit := f.push(t)
	if hit {
		return out
	}
	out += f.pending
	f.pending = ""
	return out
}
