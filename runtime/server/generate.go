package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/edgeai-go/edgeai/models/chat"
	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/sample"
)

// systemFingerprint identifies the backend in responses.
const systemFingerprint = "edgeai"

// Causes of a request context's end besides the client going away.
var (
	errShutdown = errors.New("server: shutting down")
	errTimeout  = errors.New("server: request timeout")
)

// Wire shapes of chat and text completions.
type (
	usage struct {
		PromptTokens        int            `json:"prompt_tokens"`
		CompletionTokens    int            `json:"completion_tokens"`
		TotalTokens         int            `json:"total_tokens"`
		PromptTokensDetails *promptDetails `json:"prompt_tokens_details,omitempty"`
	}
	promptDetails struct {
		CachedTokens int `json:"cached_tokens"`
	}
	chatMessage struct {
		Role      string     `json:"role"`
		Content   string     `json:"content"` // null in the JSON when empty beside tool calls
		Reasoning string     `json:"reasoning_content,omitempty"`
		ToolCalls []toolCall `json:"tool_calls,omitempty"`
		Refusal   *string    `json:"refusal"`
	}
	toolCall struct {
		Index    *int         `json:"index,omitempty"` // stream deltas only
		ID       string       `json:"id,omitempty"`
		Type     string       `json:"type,omitempty"`
		Function toolFunction `json:"function"`
	}
	toolFunction struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	}
	// shiftInfo says what context_shift dropped to fit the context.
	shiftInfo struct {
		DroppedMessages    int `json:"dropped_messages"`
		DroppedTokens      int `json:"dropped_tokens"`
		PromptTokensBefore int `json:"prompt_tokens_before"`
		PromptTokens       int `json:"prompt_tokens"`
		ContextLength      int `json:"context_length"`
		ReservedForAnswer  int `json:"reserved_for_answer"`
	}
	chatChoice struct {
		Index        int             `json:"index"`
		Message      chatMessage     `json:"message"`
		Logprobs     *choiceLogprobs `json:"logprobs"`
		FinishReason string          `json:"finish_reason"`
	}
	// choiceLogprobs are the log probabilities of a chat choice's tokens.
	choiceLogprobs struct {
		Content []tokenLogprob `json:"content"`
		Refusal *string        `json:"refusal"`
	}
	tokenLogprob struct {
		Token       string       `json:"token"`
		Logprob     float64      `json:"logprob"`
		Bytes       []int        `json:"bytes"`
		TopLogprobs []topLogprob `json:"top_logprobs"`
	}
	topLogprob struct {
		Token   string  `json:"token"`
		Logprob float64 `json:"logprob"`
		Bytes   []int   `json:"bytes"`
	}
	chatCompletion struct {
		ID                string       `json:"id"`
		Object            string       `json:"object"` // "chat.completion"
		Created           int64        `json:"created"`
		Model             string       `json:"model"`
		Choices           []chatChoice `json:"choices"`
		Usage             usage        `json:"usage"`
		SystemFingerprint string       `json:"system_fingerprint"`
		ContextShift      *shiftInfo   `json:"context_shift,omitempty"` // extension
	}
	chatDelta struct {
		Role      string     `json:"role,omitempty"`
		Content   *string    `json:"content,omitempty"`
		Reasoning *string    `json:"reasoning_content,omitempty"`
		ToolCalls []toolCall `json:"tool_calls,omitempty"`
	}
	chatChunkChoice struct {
		Index        int             `json:"index"`
		Delta        chatDelta       `json:"delta"`
		Logprobs     *choiceLogprobs `json:"logprobs"`
		FinishReason *string         `json:"finish_reason"`
	}
	chatChunk struct {
		ID                string            `json:"id"`
		Object            string            `json:"object"` // "chat.completion.chunk"
		Created           int64             `json:"created"`
		Model             string            `json:"model"`
		SystemFingerprint string            `json:"system_fingerprint"`
		Choices           []chatChunkChoice `json:"choices"`
		Usage             any               `json:"usage,omitempty"`         // null on every chunk but the last with include_usage
		ContextShift      *shiftInfo        `json:"context_shift,omitempty"` // extension, on the first chunk
	}
	textChoice struct {
		Text         string    `json:"text"`
		Index        int       `json:"index"`
		Logprobs     *struct{} `json:"logprobs"`
		FinishReason *string   `json:"finish_reason"`
	}
	textCompletion struct {
		ID                string       `json:"id"`
		Object            string       `json:"object"` // "text_completion"
		Created           int64        `json:"created"`
		Model             string       `json:"model"`
		SystemFingerprint string       `json:"system_fingerprint"`
		Choices           []textChoice `json:"choices"`
		Usage             any          `json:"usage,omitempty"`
	}
)

// jsonNull is the explicit null of "usage" on stream chunks.
var jsonNull = json.RawMessage("null")

// newID returns a random request ID with prefix ("chatcmpl-", "cmpl-").
func newID(prefix string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b [24]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + string(b[:])
}

// requestContext bounds a request by the timeout and the server's shutdown;
// context.Cause tells which ended it (errTimeout, errShutdown, or the client
// going away).
func (s *Server) requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(r.Context())
	tctx, tcancel := context.WithTimeoutCause(ctx, s.cfg.RequestTimeout, errTimeout)
	stop := context.AfterFunc(s.base, func() { cancel(errShutdown) })
	return tctx, func() {
		stop()
		tcancel()
		cancel(nil)
	}
}

// contextError turns the end of a request's context into an answer.
func (s *Server) contextError(ctx context.Context, r *http.Request, info *requestLog, during string) *apiError {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errShutdown):
		return &apiError{Status: http.StatusServiceUnavailable, Type: typeUnavailable, Code: "shutting_down",
			Message: "the server is shutting down", RetryAfter: 5 * time.Second}
	case errors.Is(cause, errTimeout) && during == "queue":
		return &apiError{Status: http.StatusServiceUnavailable, Type: typeUnavailable, Code: "queue_timeout",
			Message:    fmt.Sprintf("the request waited the whole request timeout (%v) for a free sequence; the server is overloaded", s.cfg.RequestTimeout),
			RetryAfter: s.retryAfter}
	case errors.Is(cause, errTimeout):
		return &apiError{Status: http.StatusGatewayTimeout, Type: typeTimeout, Code: "request_timeout",
			Message: fmt.Sprintf("the request exceeded the server's request timeout (%v) while %s", s.cfg.RequestTimeout, during)}
	default:
		info.clientGone = true
		return &apiError{Status: 499, Type: typeInvalidRequest, Message: "the client closed the request"}
	}
}

// acquire waits for one of sched's sequences, turning a full queue into a
// 429 and the end of ctx into the matching error.
func (s *Server) acquire(ctx context.Context, r *http.Request, sched *scheduler, id string, prompt []int, info *requestLog) (*slot, *apiError) {
	sl, err := sched.acquire(ctx, prompt)
	switch {
	case errors.Is(err, errQueueFull):
		waiting, busy := sched.load()
		return nil, &apiError{Status: http.StatusTooManyRequests, Type: typeRateLimit, Code: "queue_full",
			Message:    fmt.Sprintf("the server is busy: %d requests running and %d waiting for model %q; retry later", busy, waiting, id),
			RetryAfter: s.retryAfter}
	case errors.Is(err, errClosed):
		return nil, &apiError{Status: http.StatusServiceUnavailable, Type: typeUnavailable, Code: "shutting_down", Message: "the server is shutting down", RetryAfter: 5 * time.Second}
	case err != nil:
		return nil, s.contextError(ctx, r, info, "queue")
	}
	return sl, nil
}

// genJob is a validated generation: the prompt's tokens and the options.
type genJob struct {
	sv        *served
	g         *genRequest
	ids       []int
	opts      runtime.GenerateOptions
	id        string
	created   int64
	chat      bool
	echo      string       // text completions with echo: the prompt's text
	promptArg string       // "messages" or "prompt", for errors
	parser    *chat.Parser // chat: splits the answer into content, reasoning and tool calls
	shift     *shiftInfo   // chat with context_shift: what was dropped
	ollama    string       // "chat" or "generate": answer in Ollama's shapes
	context   bool         // Ollama generate: answer with the token ids of the prompt and the answer
	out       []int        // with context: the answer's token ids
}

// MarshalJSON writes content null when the message is only tool calls
// (OpenAI's form).
func (m chatMessage) MarshalJSON() ([]byte, error) {
	type plain chatMessage
	if m.Content == "" && len(m.ToolCalls) > 0 {
		return json.Marshal(struct {
			plain
			Content *string `json:"content"`
		}{plain: plain(m)})
	}
	return json.Marshal(plain(m))
}

// handleChat serves POST /v1/chat/completions.
func (s *Server) handleChat(w http.ResponseWriter, r *http.Request, req *chatRequest, info *requestLog) *apiError {
	info.model, info.stream = req.Model, req.Stream
	sv, e := s.decoder(req.Model)
	if e != nil {
		return e
	}
	audited := req.Messages
	if len(req.prefix) > 0 {
		if e := checkIDs(sv, req.prefix, "context"); e != nil {
			return e
		}
		// the audit record shows what the context says, as a message before the others
		audited = append([]message{{Role: "context", Content: sv.Decoder.Detokenize(req.prefix)}}, audited...)
	}
	if s.cfg.Audit != nil {
		info.audit.prompt, info.audit.hasText = chatPromptText(audited), true
	}
	o := chat.Options{}
	if req.Tools.offered() {
		o.Tools = req.Tools.Raw
	}
	switch req.ReasoningEffort {
	case "none", "minimal":
		o.EnableThinking = new(false)
	case "low", "medium", "high":
		o.EnableThinking = new(true)
	}
	msgs := chatMessages(req.Messages)
	turn, err := sv.Decoder.ChatTurn(r.Context(), msgs, o)
	if err != nil {
		return badParam("messages", "the chat template could not format the messages: %s", clientMessage(sv, err))
	}
	var shift *shiftInfo
	if req.ContextShift {
		var e *apiError
		if turn, shift, e = s.shiftContext(r, sv, req, msgs, o, turn); e != nil {
			return e
		}
	}
	ids, promptArg := turn.IDs, "messages"
	if req.ollama == "generate" {
		promptArg = "prompt"
		ids = continueContext(sv, req.prefix, ids)
	}
	j := &genJob{sv: sv, g: &req.genRequest, ids: ids, id: newID("chatcmpl-"), chat: true, promptArg: promptArg, parser: turn.Parser, shift: shift,
		ollama: req.ollama, context: req.ollama == "generate"}
	j.opts.Stop = append(append([]string(nil), req.Stop...), turn.Stops...)
	if req.Tools.forcing() {
		g, e := req.Tools.callGrammar(turn.ToolFormat)
		if e != nil {
			return e
		}
		req.Grammar = g
	}
	return s.generate(w, r, j, info, s.maxTokens(sv))
}

// handleCompletion serves POST /v1/completions.
func (s *Server) handleCompletion(w http.ResponseWriter, r *http.Request, req *completionRequest, info *requestLog) *apiError {
	return s.handleCompletionAs(w, r, req, info, "")
}

// handleCompletionAs is handleCompletion answering in Ollama's shapes when
// ollama is "generate".
func (s *Server) handleCompletionAs(w http.ResponseWriter, r *http.Request, req *completionRequest, info *requestLog, ollama string) *apiError {
	info.model, info.stream = req.Model, req.Stream
	sv, e := s.decoder(req.Model)
	if e != nil {
		if s.cfg.Audit != nil {
			info.audit.prompt, info.audit.hasText = req.Prompt, !req.IsIDs
		}
		return e
	}
	ids := req.PromptIDs
	if req.IsIDs {
		if e := checkIDs(sv, ids, "prompt"); e != nil {
			return e
		}
	} else {
		var err error
		if ids, err = sv.Decoder.Tokenize(req.Prompt, true, false); err != nil {
			return badParam("prompt", "the prompt could not be tokenized: %s", clientMessage(sv, err))
		}
		if len(ids) == 0 {
			return badParam("prompt", "the prompt is empty and the model adds no beginning-of-text token")
		}
	}
	if s.cfg.Audit != nil {
		info.audit.prompt, info.audit.hasText = req.Prompt, true
		if req.IsIDs {
			info.audit.prompt = sv.Decoder.Detokenize(ids)
		}
	}
	j := &genJob{sv: sv, g: &req.genRequest, ids: ids, id: newID("cmpl-"), promptArg: "prompt", ollama: ollama}
	j.opts.Stop = req.Stop
	if req.Echo {
		j.echo = req.Prompt
		if req.IsIDs {
			j.echo = sv.Decoder.Detokenize(ids)
		}
	}
	return s.generate(w, r, j, info, min(DefaultCompletionMaxTokens, s.maxTokens(sv)))
}

// checkIDs fails when a token id of param is outside sv's vocabulary.
func checkIDs(sv *served, ids []int, param string) *apiError {
	vocab := sv.Decoder.Info().Vocab
	for i, id := range ids {
		if id < 0 || id >= vocab {
			return badParam(param, "%s token %d (at %d) is outside the vocabulary [0, %d)", param, id, i, vocab)
		}
	}
	return nil
}

// decoder finds a model that can generate text.
func (s *Server) decoder(id string) (*served, *apiError) {
	sv, e := s.lookup(id)
	if e != nil {
		return nil, e
	}
	if sv.Decoder == nil {
		return nil, &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: "model", Code: "model_not_supported",
			Message: fmt.Sprintf("the model %q is an embedding model and cannot generate text; text models loaded: %s", quoteKey(id), strings.Join(s.ids(false), ", "))}
	}
	return sv, nil
}

// maxTokens is the bound on a request's max_tokens for sv.
func (s *Server) maxTokens(sv *served) int {
	if s.cfg.MaxTokens > 0 {
		return s.cfg.MaxTokens
	}
	return sv.ctxSize
}

// params merges a request's sampling parameters over the server defaults.
func (s *Server) params(g *genRequest) (sample.Params, *apiError) {
	p := s.sampling
	set := func(dst *float32, v *float64) {
		if v != nil {
			*dst = float32(*v)
		}
	}
	set(&p.Temperature, g.Temperature)
	set(&p.TopP, g.TopP)
	set(&p.MinP, g.MinP)
	set(&p.RepeatPenalty, g.RepeatPenalty)
	set(&p.PresencePenalty, g.PresencePenalty)
	set(&p.FrequencyPenalty, g.FrequencyPenalty)
	if g.TopK != nil {
		p.TopK = *g.TopK
	}
	if g.RepeatLastN != nil {
		p.RepeatLastN = *g.RepeatLastN
	}
	switch {
	case g.Seed != nil:
		p.Seed = uint64(*g.Seed)
	case !s.cfg.FixedSeed:
		p.Seed = mrand.Uint64()
	}
	if err := p.Validate(); err != nil {
		return p, badParam("", "invalid sampling parameters: %v", err)
	}
	return p, nil
}

// generate runs a job: checks the prompt against the context, waits for a
// sequence, and answers as one JSON body or as a stream of events.
func (s *Server) generate(w http.ResponseWriter, r *http.Request, j *genJob, info *requestLog, defMax int) *apiError {
	info.id = j.id
	info.promptTokens = len(j.ids)
	j.created = time.Now().Unix()
	ctxSize := j.sv.ctxSize
	if len(j.ids) >= ctxSize {
		return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: j.promptArg, Code: "context_length_exceeded",
			Message: fmt.Sprintf("This model's maximum context length is %d tokens. However, your %s resulted in %d tokens, which leaves no room for the completion. Please reduce the length of the %s.",
				ctxSize, j.promptArg, len(j.ids), j.promptArg)}
	}
	if n := j.g.NumCtx; n > 0 && n < ctxSize {
		// Ollama's num_ctx: the request's own, smaller context.
		ctxSize = n
		if len(j.ids) >= ctxSize {
			return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: "options.num_ctx", Code: "context_length_exceeded",
				Message: fmt.Sprintf("options.num_ctx is %d tokens. However, your %s resulted in %d tokens, which leaves no room for the answer. Please raise num_ctx (up to %d, the server's context for this model) or reduce the length of the %s.",
					n, j.promptArg, len(j.ids), j.sv.ctxSize, j.promptArg)}
		}
	}
	limit := s.maxTokens(j.sv)
	if j.g.MaxTokens > limit {
		return badParam(j.g.MaxTokensParam, "%s is %d; this server allows at most %d tokens per request", j.g.MaxTokensParam, j.g.MaxTokens, limit)
	}
	want := j.g.MaxTokens
	if want == 0 {
		want = defMax
	}
	// The context bounds the completion: it ends with finish_reason "length".
	j.opts.MaxTokens = min(want, ctxSize-len(j.ids))
	p, e := s.params(j.g)
	if e != nil {
		return e
	}
	j.opts.Sampling = p
	j.opts.IgnoreEOS = j.g.IgnoreEOS
	if j.g.Grammar != nil {
		// The answer always parses: near max_tokens the grammar closes it.
		j.opts.Grammar, j.opts.FinishGrammar = j.g.Grammar, true
	}
	j.opts.Stats = new(runtime.Stats)

	if s.cfg.Audit != nil {
		info.audit.params = map[string]any{
			"temperature": p.Temperature, "top_k": p.TopK, "top_p": p.TopP, "min_p": p.MinP,
			"repeat_penalty": p.RepeatPenalty, "presence_penalty": p.PresencePenalty, "frequency_penalty": p.FrequencyPenalty,
			"seed": p.Seed, "max_tokens": j.opts.MaxTokens, "stop_strings": len(j.opts.Stop), "logprobs": j.g.Logprobs,
		}
		info.audit.hasResp = true
	}

	ctx, cancel := s.requestContext(r)
	defer cancel()
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Now().Add(s.cfg.RequestTimeout + 10*time.Second)) // not every ResponseWriter has deadlines

	box, e := s.submit(ctx, r, j, info)
	if e != nil {
		return e
	}
	if j.g.Stream && j.ollama != "" {
		return s.ollamaStream(ctx, w, rc, r, j, box, info)
	}
	if j.g.Stream {
		return s.stream(ctx, w, rc, r, j, box, info)
	}
	var text strings.Builder
	text.WriteString(j.echo)
	var lp *choiceLogprobs
	if j.g.Logprobs {
		lp = &choiceLogprobs{Content: []tokenLogprob{}}
	}
	genErr := s.consume(ctx, j, box, func(it item) bool {
		if lp != nil && it.lp != nil {
			lp.Content = append(lp.Content, *it.lp)
		}
		text.WriteString(it.tok.Text)
		return true
	})
	stats := j.opts.Stats
	info.completionTokens, info.cachedTokens = stats.GeneratedTokens, stats.CachedTokens
	s.metrics.generated(j.sv.ID, len(j.ids), stats.GeneratedTokens)
	if info.audit.hasResp {
		info.audit.response.WriteString(text.String()[len(j.echo):])
	}
	finish, e := s.finish(ctx, r, stats, genErr, info)
	if e != nil {
		return e
	}
	info.finish = finish
	if s.audit(r, info, http.StatusOK, "") != nil {
		return errAudit()
	}
	u := usageOf(j, stats)
	if j.ollama != "" {
		d := chat.Delta{Content: text.String()}
		if j.parser != nil {
			a, b := j.parser.Feed(text.String()), j.parser.Close()
			d = chat.Delta{Content: a.Content + b.Content, Reasoning: a.Reasoning + b.Reasoning, ToolCalls: append(a.ToolCalls, b.ToolCalls...)}
		}
		out := ollamaPiece(j, d)
		ollamaFinal(&out, j, stats, finish)
		writeJSON(w, out)
		return nil
	}
	if j.chat {
		msg := chatMessage{Role: "assistant", Content: text.String()}
		if j.parser != nil {
			msg.Content = ""
			for _, d := range []chat.Delta{j.parser.Feed(text.String()), j.parser.Close()} {
				msg.Content += d.Content
				msg.Reasoning += d.Reasoning
				for _, c := range d.ToolCalls {
					msg.ToolCalls = append(msg.ToolCalls, toolCall{ID: c.ID, Type: "function", Function: toolFunction{Name: c.Name, Arguments: c.Arguments}})
				}
			}
			if len(msg.ToolCalls) > 0 && finish == "stop" {
				finish = "tool_calls"
			}
		}
		writeJSON(w, chatCompletion{ID: j.id, Object: "chat.completion", Created: j.created, Model: j.sv.ID,
			Choices: []chatChoice{{Message: msg, Logprobs: lp, FinishReason: finish}},
			Usage:   u, SystemFingerprint: systemFingerprint, ContextShift: j.shift})
	} else {
		writeJSON(w, textCompletion{ID: j.id, Object: "text_completion", Created: j.created, Model: j.sv.ID,
			SystemFingerprint: systemFingerprint, Choices: []textChoice{{Text: text.String(), FinishReason: &finish}}, Usage: u})
	}
	return nil
}

// submit waits for one of the model's sequences and hands the job to the
// model's engine, which decodes it together with the other sequences in
// use. The sequence goes back to the scheduler as soon as the generation
// ends: the audit record and the last bytes of the answer do not hold it.
func (s *Server) submit(ctx context.Context, r *http.Request, j *genJob, info *requestLog) (*mailbox, *apiError) {
	sched := j.sv.sched
	sl, e := s.acquire(ctx, r, sched, j.sv.ID, j.ids, info)
	if e != nil {
		return nil, e
	}
	seq, err := sched.sequence(sl)
	if err != nil {
		sched.release(sl)
		return nil, &apiError{Status: http.StatusInternalServerError, Type: typeServer, Message: "creating a sequence failed: " + clientMessage(j.sv, err)}
	}
	eng := j.sv.engine
	var box *mailbox
	release := func() { sched.release(sl) }
	if s.hookToken != nil {
		// Tests pause generations in the hook, on the reader's side: keep
		// the engine in step with the reader (one token ahead at most),
		// and hold the sequence until the reader is done, as a generation
		// paused in its own loop would.
		box = newMailbox(1, eng.signal)
		box.release, release = release, nil
	} else {
		box = newMailbox(0, eng.signal)
	}
	timer := s.metrics.timer(j.sv.ID, info.audit.start)
	t := &task{ctx: ctx, seq: seq, prompt: j.ids, opts: j.opts, out: box,
		onToken: func(it *item) {
			timer.token()
			if j.g.Logprobs && it.tok.ID >= 0 {
				lp := s.logprob(j, seq.Logits(), it.tok.ID)
				it.lp = &lp
			}
		},
		ended: release,
	}
	if err := eng.submit(t); err != nil {
		sched.release(sl)
		return nil, &apiError{Status: http.StatusServiceUnavailable, Type: typeUnavailable, Code: "shutting_down", Message: "the server is shutting down", RetryAfter: 5 * time.Second}
	}
	return box, nil
}

// consume reads a generation's tokens as the engine makes them, calling f
// for each; f returning false (the client is gone) stops the generation.
// It returns when the generation has ended, with its error; the job's
// Stats are then final.
func (s *Server) consume(ctx context.Context, j *genJob, box *mailbox, f func(item) bool) error {
	if box.release != nil {
		defer box.release()
	}
	var buf []item
	n := 0
	for {
		items, done, err := box.next(buf)
		for _, it := range items {
			if ctx.Err() != nil {
				break // the request has ended: the engine stops the generation at its next step
			}
			if it.tok.ID >= 0 {
				n++
				if j.context {
					j.out = append(j.out, it.tok.ID)
				}
			}
			if s.hookToken != nil {
				s.hookToken(ctx, j, n)
			}
			if !f(it) {
				box.abandon()
				return box.wait()
			}
		}
		if done {
			return err
		}
		buf = items
	}
}

func usageOf(j *genJob, st *runtime.Stats) usage {
	return usage{PromptTokens: len(j.ids), CompletionTokens: st.GeneratedTokens, TotalTokens: len(j.ids) + st.GeneratedTokens,
		PromptTokensDetails: &promptDetails{CachedTokens: st.CachedTokens}}
}

// finish maps how a generation ended to an OpenAI finish_reason, or to an
// error when it did not end normally.
func (s *Server) finish(ctx context.Context, r *http.Request, st *runtime.Stats, genErr error, info *requestLog) (string, *apiError) {
	switch {
	case ctx.Err() != nil:
		return "", s.contextError(ctx, r, info, "generating")
	case genErr != nil && !errors.Is(genErr, runtime.ErrContextFull):
		return "", &apiError{Status: http.StatusInternalServerError, Type: typeServer, Message: "generation failed: " + clientMessage(nil, genErr)}
	case st.StopReason == runtime.StopLength || st.StopReason == runtime.StopContext || genErr != nil:
		return "length", nil
	}
	return "stop", nil
}

// sse writes server-sent events.
type sse struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error
}

func (e *sse) send(v any) {
	if e.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		e.err = err
		return
	}
	e.raw(b)
}

func (e *sse) raw(b []byte) {
	if e.err != nil {
		return
	}
	buf := make([]byte, 0, len(b)+8)
	buf = append(append(append(buf, "data: "...), b...), "\n\n"...)
	if _, e.err = e.w.Write(buf); e.err == nil {
		e.err = e.rc.Flush()
	}
}

// stream answers a job as server-sent events: chunks as the tokens come,
// a final chunk with the finish_reason, the usage chunk when asked for, and
// "data: [DONE]". An error after the stream began is sent as an event
// {"error": {...}} and the stream ends without [DONE].
func (s *Server) stream(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController, r *http.Request, j *genJob, box *mailbox, info *requestLog) *apiError {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	out := &sse{w: w, rc: rc}
	var u any
	if j.g.IncludeUsage {
		u = jsonNull
	}
	var pending []tokenLogprob // log probabilities not yet sent (their text is held back)
	chunk := func(text *string, finish *string) any {
		if j.chat {
			c := chatChunk{ID: j.id, Object: "chat.completion.chunk", Created: j.created, Model: j.sv.ID,
				SystemFingerprint: systemFingerprint, Usage: u, Choices: []chatChunkChoice{{Delta: chatDelta{Content: text}, FinishReason: finish}}}
			if len(pending) > 0 {
				c.Choices[0].Logprobs = &choiceLogprobs{Content: pending}
				pending = nil
			}
			return c
		}
		t := ""
		if text != nil {
			t = *text
		}
		return textCompletion{ID: j.id, Object: "text_completion", Created: j.created, Model: j.sv.ID,
			SystemFingerprint: systemFingerprint, Choices: []textChoice{{Text: t, FinishReason: finish}}, Usage: u}
	}
	calls := 0
	// delta sends what a piece of the answer adds: reasoning, content and
	// whole tool calls, each in its own chunk.
	delta := func(d chat.Delta) {
		if d.Reasoning != "" {
			c := chunk(nil, nil).(chatChunk)
			c.Choices[0].Delta.Reasoning = &d.Reasoning
			out.send(c)
		}
		if d.Content != "" {
			out.send(chunk(&d.Content, nil))
		}
		for _, tc := range d.ToolCalls {
			c := chunk(nil, nil).(chatChunk)
			c.Choices[0].Delta.ToolCalls = []toolCall{{Index: &tc.Index, ID: tc.ID, Type: "function", Function: toolFunction{Name: tc.Name, Arguments: tc.Arguments}}}
			out.send(c)
			calls++
		}
	}
	if j.chat {
		empty := ""
		c := chunk(&empty, nil).(chatChunk)
		c.Choices[0].Delta.Role = "assistant"
		c.ContextShift = j.shift
		out.send(c)
	} else if j.echo != "" {
		out.send(chunk(&j.echo, nil))
	}
	genErr := s.consume(ctx, j, box, func(it item) bool {
		if out.err != nil {
			return false // the client is gone: stop generating
		}
		if it.lp != nil {
			pending = append(pending, *it.lp)
		}
		if it.tok.Text == "" {
			return true
		}
		if info.audit.hasResp {
			info.audit.response.WriteString(it.tok.Text)
		}
		if j.parser != nil {
			delta(j.parser.Feed(it.tok.Text))
		} else {
			out.send(chunk(&it.tok.Text, nil))
		}
		return out.err == nil
	})
	if j.parser != nil && out.err == nil {
		delta(j.parser.Close())
	}
	st := j.opts.Stats
	info.completionTokens, info.cachedTokens = st.GeneratedTokens, st.CachedTokens
	s.metrics.generated(j.sv.ID, len(j.ids), st.GeneratedTokens)
	if out.err != nil {
		info.clientGone = true
		info.err = "writing the stream: " + out.err.Error()
		return nil
	}
	finish, e := s.finish(ctx, r, st, genErr, info)
	if e == nil {
		info.finish = finish
		if s.audit(r, info, http.StatusOK, "") != nil {
			info.finish, e = "", errAudit()
		}
	}
	if e != nil {
		info.err = e.Message
		if !info.clientGone {
			info.errStatus = e.Status
			s.audit(r, info, e.Status, e.Message)
			out.send(e.body())
		}
		return nil
	}
	if calls > 0 && finish == "stop" {
		finish = "tool_calls"
	}
	info.finish = finish
	out.send(chunk(nil, &finish))
	if j.g.IncludeUsage {
		uu := usageOf(j, st)
		if j.chat {
			out.send(chatChunk{ID: j.id, Object: "chat.completion.chunk", Created: j.created, Model: j.sv.ID,
				SystemFingerprint: systemFingerprint, Choices: []chatChunkChoice{}, Usage: uu})
		} else {
			out.send(textCompletion{ID: j.id, Object: "text_completion", Created: j.created, Model: j.sv.ID,
				SystemFingerprint: systemFingerprint, Choices: []textChoice{}, Usage: uu})
		}
	}
	out.raw([]byte("[DONE]"))
	if out.err != nil {
		info.clientGone = true
	}
	return nil
}
