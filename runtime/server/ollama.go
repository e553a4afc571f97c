package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/edgeai-go/edgeai/models/chat"
	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/grammar"
)

// The Ollama API on the same server and port: /api/chat, /api/generate,
// /api/embed (and the older /api/embeddings), /api/tags, /api/show,
// /api/ps and /api/version. Requests are translated into the OpenAI side's
// validated requests (so the same limits, grammar, tools and safety apply)
// and answered in Ollama's shapes: one JSON object, or, by default, a
// stream of NDJSON lines ending with "done": true. Errors are Ollama's
// {"error": "..."} with the HTTP status. Models are the files given with
// -m: nothing is pulled, copied or deleted.

// ollamaVersion is the Ollama API version whose shapes this follows
// (clients check it before using newer fields such as "think").
const ollamaVersion = "0.12.0"

// ollamaOptions are the Ollama "options" the server honours; others are a
// 400 naming them.
var ollamaOptions = map[string]bool{"num_ctx": true, "num_predict": true, "temperature": true, "top_k": true, "top_p": true,
	"min_p": true, "repeat_penalty": true, "repeat_last_n": true, "seed": true, "stop": true,
	"presence_penalty": true, "frequency_penalty": true}

// routeOllama serves the /api/ paths; ok is false for another path.
func (s *Server) routeOllama(w http.ResponseWriter, r *http.Request, info *requestLog) (e *apiError, ok bool) {
	path := r.URL.Path
	get := func() *apiError {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return methodNotAllowed("GET")
		}
		return nil
	}
	defer func() {
		if e != nil {
			e.ollama = true
		}
	}()
	switch path {
	case "/api/version":
		if e := get(); e != nil {
			return e, true
		}
		writeJSON(w, map[string]string{"version": ollamaVersion})
		return nil, true
	case "/api/tags", "/api/ps":
		if e := get(); e != nil {
			return e, true
		}
		s.audit(r, info, http.StatusOK, "")
		writeJSON(w, map[string]any{"models": s.ollamaModels(path == "/api/ps")})
		return nil, true
	case "/api/pull", "/api/push", "/api/create", "/api/copy", "/api/delete", "/api/blobs":
		return &apiError{Status: http.StatusNotImplemented, Type: typeInvalidRequest,
			Message: "this server serves the model files given with -m; it does not pull, push, create, copy or delete models"}, true
	case "/api/show", "/api/chat", "/api/generate", "/api/embed", "/api/embeddings":
	default:
		if strings.HasPrefix(path, "/api/") {
			return &apiError{Status: http.StatusNotFound, Type: typeInvalidRequest, Message: fmt.Sprintf("unknown Ollama endpoint %s", logPath(path))}, true
		}
		return nil, false
	}
	if r.Method != http.MethodPost {
		return methodNotAllowed("POST"), true
	}
	body, e := s.readBody(w, r)
	if e != nil {
		return e, true
	}
	f, e := decodeObject(body)
	if e != nil {
		return e, true
	}
	switch path {
	case "/api/show":
		return s.ollamaShow(w, r, f, info), true
	case "/api/embed", "/api/embeddings":
		return s.ollamaEmbed(w, r, f, info, path == "/api/embeddings"), true
	}
	return s.ollamaGenerate(w, r, f, info, path == "/api/chat"), true
}

// ollamaModel describes a served model in /api/tags and /api/ps.
type ollamaModel struct {
	Name       string        `json:"name"`
	Model      string        `json:"model"`
	ModifiedAt string        `json:"modified_at,omitempty"`
	Size       int64         `json:"size"`
	Digest     string        `json:"digest"`
	Details    ollamaDetails `json:"details"`
	ExpiresAt  string        `json:"expires_at,omitempty"`
	SizeVRAM   int64         `json:"size_vram"`
	Context    int           `json:"context_length,omitempty"`
}

type ollamaDetails struct {
	Format            string   `json:"format"`
	Family            string   `json:"family"`
	Families          []string `json:"families"`
	ParameterSize     string   `json:"parameter_size"`
	QuantizationLevel string   `json:"quantization_level"`
}

func (s *Server) ollamaModels(running bool) []ollamaModel {
	out := []ollamaModel{}
	for _, id := range s.order {
		sv := s.models[id]
		m := ollamaModel{Name: id, Model: id, Digest: sv.SHA256, Details: ollamaDetails{Format: "gguf", Families: []string{}}}
		if sv.Decoder != nil {
			in := sv.Decoder.Info()
			m.Details.Family, m.Details.Families = in.Architecture, []string{in.Architecture}
			m.Details.ParameterSize = paramSize(in.Params)
			m.Context = sv.ctxSize
		}
		if running {
			m.ExpiresAt = time.Unix(0, 0).UTC().Add(100 * 365 * 24 * time.Hour).Format(time.RFC3339) // loaded until the server stops
		} else {
			m.ModifiedAt = time.Unix(s.created, 0).UTC().Format(time.RFC3339)
		}
		out = append(out, m)
	}
	return out
}

// paramSize writes a weight count as Ollama does: "1.1B", "135M".
func paramSize(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.0fM", float64(n)/1e6)
	}
	return fmt.Sprintf("%.0fK", float64(n)/1e3)
}

// ollamaShow serves POST /api/show.
func (s *Server) ollamaShow(w http.ResponseWriter, r *http.Request, f *fields, info *requestLog) *apiError {
	var id string
	if !f.take("model", &id, "a string") && !f.take("name", &id, "a string") {
		if f.err != nil {
			return f.err
		}
		return badParam("model", "model is required")
	}
	f.boolean("verbose")
	if e := f.rest(); e != nil {
		return e
	}
	sv, e := s.lookup(id)
	if e != nil {
		return e
	}
	out := map[string]any{"modelfile": "", "parameters": "", "template": "", "capabilities": []string{"embedding"}}
	d := ollamaDetails{Format: "gguf", Families: []string{}}
	if sv.Decoder != nil {
		in := sv.Decoder.Info()
		d.Family, d.Families, d.ParameterSize = in.Architecture, []string{in.Architecture}, paramSize(in.Params)
		out["model_info"] = map[string]any{"general.architecture": in.Architecture, "general.parameter_count": in.Params,
			in.Architecture + ".context_length": in.ContextLength, in.Architecture + ".embedding_length": in.Embedding,
			in.Architecture + ".block_count": in.Layers, "edgeai.context_size": sv.ctxSize}
		out["capabilities"] = []string{"completion", "tools"}
	}
	out["details"] = d
	s.audit(r, info, http.StatusOK, "")
	writeJSON(w, out)
	return nil
}

// ollamaEmbed serves POST /api/embed ({"input": text or texts} →
// {"embeddings": [...]}) and the older /api/embeddings ({"prompt": text}
// → {"embedding": [...]}).
func (s *Server) ollamaEmbed(w http.ResponseWriter, r *http.Request, f *fields, info *requestLog, old bool) *apiError {
	req := &embeddingRequest{}
	if !f.take("model", &req.Model, "a string") {
		if f.err != nil {
			return f.err
		}
		return badParam("model", "model is required")
	}
	name := "input"
	if old {
		name = "prompt"
	}
	in := f.raw(name)
	if in == nil {
		if f.err != nil {
			return f.err
		}
		return badParam(name, "%s is required", name)
	}
	var one string
	if json.Unmarshal(in, &one) == nil {
		req.Input = []string{one}
	} else if old || json.Unmarshal(in, &req.Input) != nil {
		return badParam(name, "%s must be a string or an array of strings", name)
	}
	if len(req.Input) == 0 || slicesContainEmpty(req.Input) {
		return badParam(name, "%s must not be empty", name)
	}
	f.boolean("truncate")
	f.raw("keep_alive")
	if o := f.raw("options"); o != nil {
		var opts map[string]json.RawMessage
		if json.Unmarshal(o, &opts) != nil {
			return badParam("options", "options must be an object")
		}
		for k := range opts {
			if k != "num_ctx" {
				return badParam("options."+k, "the option %s does not apply to embeddings", quoteKey(k))
			}
		}
	}
	if e := f.rest(); e != nil {
		return e
	}
	rec := &bufferedWriter{header: http.Header{}}
	if e := s.handleEmbeddings(rec, r, req, info); e != nil {
		return e
	}
	var list embeddingList
	if err := json.Unmarshal(rec.body, &list); err != nil {
		return &apiError{Status: http.StatusInternalServerError, Type: typeServer, Message: "encoding the embeddings failed"}
	}
	if old {
		writeJSON(w, map[string]any{"embedding": list.Data[0].Embedding})
		return nil
	}
	vecs := make([]any, len(list.Data))
	for i, d := range list.Data {
		vecs[i] = d.Embedding
	}
	writeJSON(w, map[string]any{"model": req.Model, "embeddings": vecs, "prompt_eval_count": list.Usage.PromptTokens})
	return nil
}

func slicesContainEmpty(s []string) bool {
	for _, x := range s {
		if x == "" {
			return true
		}
	}
	return false
}

// bufferedWriter keeps a handler's answer for translation.
type bufferedWriter struct {
	header http.Header
	body   []byte
	status int
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.body = append(b.body, p...)
	return len(p), nil
}
func (b *bufferedWriter) WriteHeader(status int) { b.status = status }

// ollamaGenerate serves /api/chat and /api/generate by translating them
// into a chat (or, for generate with raw, a text) completion.
func (s *Server) ollamaGenerate(w http.ResponseWriter, r *http.Request, f *fields, info *requestLog, isChat bool) *apiError {
	req := &chatRequest{}
	g := &req.genRequest
	if !f.take("model", &g.Model, "a string") {
		if f.err != nil {
			return f.err
		}
		return badParam("model", "model is required")
	}
	g.Stream = true // Ollama streams unless told not to
	if v := f.raw("stream"); v != nil && json.Unmarshal(v, &g.Stream) != nil {
		return badParam("stream", "stream must be a boolean")
	}
	f.raw("keep_alive") // models stay loaded while the server runs
	if e := ollamaOptionsInto(f, g); e != nil {
		return e
	}
	if v := f.raw("format"); v != nil && f.err == nil {
		var s string
		switch {
		case json.Unmarshal(v, &s) == nil && s == "json":
			g.Grammar, g.Format = grammar.JSONObject(), "json_object"
		case json.Unmarshal(v, &s) == nil && s == "":
		case len(v) > 0 && v[0] == '{':
			gr, err := schemaGrammar(v)
			if err != nil {
				return schemaError("format", err)
			}
			g.Grammar, g.Format = gr, "json_schema"
		default:
			return badParam("format", "format must be \"json\" or a JSON schema object")
		}
	}
	if v := f.raw("think"); v != nil && f.err == nil {
		var b bool
		var level string
		switch {
		case json.Unmarshal(v, &b) == nil:
			req.ReasoningEffort = map[bool]string{true: "medium", false: "none"}[b]
		case json.Unmarshal(v, &level) == nil && (level == "low" || level == "medium" || level == "high"):
			req.ReasoningEffort = level
		default:
			return badParam("think", "think must be a boolean or low, medium or high")
		}
	}
	raw := false
	if isChat {
		decodeTools(f, &req.Tools)
		var msgs []json.RawMessage
		if !f.take("messages", &msgs, "an array of messages") && f.err == nil {
			msgs = nil
		}
		for i, m := range msgs {
			msg, e := ollamaMessage(m, fmt.Sprintf("messages[%d]", i))
			if e != nil {
				return e
			}
			req.Messages = append(req.Messages, msg)
		}
		if len(req.Messages) == 0 && f.err == nil {
			return badParam("messages", "messages must contain at least one message")
		}
	} else {
		var prompt, system string
		f.take("prompt", &prompt, "a string")
		f.take("system", &system, "a string")
		raw = f.boolean("raw")
		if f.take("suffix", new(string), "a string") {
			return unsupported("suffix", "insertion (suffix) is not implemented")
		}
		if v := f.raw("images"); v != nil && compactJSON(v) != "[]" {
			return unsupported("images", "only text input is implemented")
		}
		f.take("context", &req.prefix, "an array of token ids")
		if len(req.prefix) > maxPromptIDs {
			return badParam("context", "context has too many token ids (%d)", len(req.prefix))
		}
		if raw && len(req.prefix) > 0 {
			return badParam("context", "raw mode does not take a context (as in Ollama): the raw prompt is the whole prompt")
		}
		var template string
		f.take("template", &template, "a string")
		switch {
		case raw && system != "":
			return badParam("system", "raw mode does not take a system prompt (as in Ollama): the raw prompt is the whole prompt")
		case raw && template != "":
			return badParam("template", "raw mode does not take a template (as in Ollama): the raw prompt is the whole prompt")
		case template != "":
			return unsupported("template", "template overrides are not implemented: the model's own chat template is used")
		}
		if system != "" && !raw {
			req.Messages = append(req.Messages, message{Role: "system", Content: system})
		}
		req.Messages = append(req.Messages, message{Role: "user", Content: prompt})
		if prompt == "" && f.err == nil {
			// Ollama loads the model and answers done at once.
			writeJSON(w, map[string]any{"model": g.Model, "created_at": time.Now().UTC().Format(time.RFC3339Nano), "response": "", "done": true, "done_reason": "load"})
			return nil
		}
	}
	if e := f.rest(); e != nil {
		return e
	}
	if g.Grammar != nil && req.Tools.forcing() {
		return badParam("format", "format cannot be combined with a required tool call")
	}
	kind := "chat"
	if !isChat {
		kind = "generate"
	}
	if raw {
		creq := &completionRequest{genRequest: *g, Prompt: req.Messages[len(req.Messages)-1].Content}
		return s.handleCompletionAs(w, r, creq, info, kind)
	}
	req.ollama = kind
	return s.handleChat(w, r, req, info)
}

// ollamaOptionsInto reads "options" into g; unknown options are a 400.
func ollamaOptionsInto(f *fields, g *genRequest) *apiError {
	v := f.raw("options")
	if v == nil || f.err != nil {
		return f.err
	}
	o, e := decodeObject(v)
	if e != nil {
		return badParam("options", "options must be an object")
	}
	for k := range o.m {
		if !ollamaOptions[k] {
			e := badParam("options."+k, "the option %s is not supported by this server (supported: num_ctx, num_predict, temperature, top_k, top_p, min_p, repeat_penalty, repeat_last_n, seed, stop, presence_penalty, frequency_penalty)", quoteKey(k))
			e.Code = "unsupported_parameter"
			return e
		}
	}
	if n := o.integer("num_ctx", 1, math.MaxInt32); n != nil {
		g.NumCtx = int(*n) // capped by the server's context (serve --ctx), as Ollama caps it by the model's
	}
	if n := o.integer("num_predict", -2, math.MaxInt32); n != nil && *n > 0 {
		g.MaxTokens, g.MaxTokensParam = int(*n), "options.num_predict"
	}
	g.Temperature = o.float("temperature", 0, 2)
	g.TopP = o.float("top_p", 0, 1)
	if k := o.integer("top_k", 0, 1<<20); k != nil {
		v := int(*k)
		g.TopK = &v
	}
	g.MinP = o.float("min_p", 0, 1)
	g.RepeatPenalty = o.float("repeat_penalty", 0, 10)
	if n := o.integer("repeat_last_n", -1, 1<<20); n != nil {
		v := int(*n)
		g.RepeatLastN = &v
	}
	g.PresencePenalty = o.float("presence_penalty", -2, 2)
	g.FrequencyPenalty = o.float("frequency_penalty", -2, 2)
	g.Seed = o.integer("seed", math.MinInt64, math.MaxInt64)
	g.Stop = decodeStop(o)
	if o.err != nil {
		o.err.Param = "options." + o.err.Param
		return o.err
	}
	return nil
}

// ollamaMessage validates one /api/chat message: role, content, thinking,
// tool_calls ({"function": {"name", "arguments": {...}}}) and tool_name.
func ollamaMessage(v json.RawMessage, where string) (message, *apiError) {
	var m message
	f, e := decodeObject(v)
	if e != nil {
		return m, badParam(where, "%s must be an object with a role and a content", where)
	}
	f.take("role", &m.Role, "a string")
	switch m.Role {
	case "system", "user", "assistant", "tool":
	default:
		return m, badParam(where+".role", "invalid role %q; supported roles are system, user, assistant and tool", quoteKey(m.Role))
	}
	f.take("content", &m.Content, "a string")
	f.take("thinking", &m.Reasoning, "a string")
	f.take("tool_name", &m.Name, "a string")
	if c := f.raw("images"); c != nil && compactJSON(c) != "[]" {
		return m, unsupported(where+".images", "only text content is implemented")
	}
	if c := f.raw("tool_calls"); c != nil && f.err == nil {
		var calls []struct {
			Function struct {
				Name      string          `json:"name"`
				Arguments json.RawMessage `json:"arguments"`
			} `json:"function"`
		}
		if json.Unmarshal(c, &calls) != nil {
			return m, badParam(where+".tool_calls", "%s.tool_calls must be an array of {\"function\": {\"name\", \"arguments\"}}", where)
		}
		for _, tc := range calls {
			args := compactJSON(tc.Function.Arguments)
			if args == "" || args == "null" {
				args = "{}"
			}
			m.ToolCalls = append(m.ToolCalls, chat.ToolCall{Name: tc.Function.Name, Arguments: args})
		}
	}
	if e := f.rest(); e != nil {
		e.Param = where + "." + e.Param
		return m, e
	}
	return m, nil
}

// Ollama's answer shapes.
type (
	ollamaToolCall struct {
		Function struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		} `json:"function"`
	}
	ollamaMsg struct {
		Role      string           `json:"role"`
		Content   string           `json:"content"`
		Thinking  string           `json:"thinking,omitempty"`
		ToolCalls []ollamaToolCall `json:"tool_calls,omitempty"`
	}
	ollamaAnswer struct {
		Model              string     `json:"model"`
		CreatedAt          string     `json:"created_at"`
		Message            *ollamaMsg `json:"message,omitempty"`  // /api/chat
		Response           *string    `json:"response,omitempty"` // /api/generate
		Thinking           string     `json:"thinking,omitempty"` // /api/generate
		Done               bool       `json:"done"`
		DoneReason         string     `json:"done_reason,omitempty"`
		TotalDuration      int64      `json:"total_duration,omitempty"`
		LoadDuration       int64      `json:"load_duration,omitempty"`
		PromptEvalCount    int        `json:"prompt_eval_count,omitempty"`
		PromptEvalDuration int64      `json:"prompt_eval_duration,omitempty"`
		EvalCount          int        `json:"eval_count,omitempty"`
		EvalDuration       int64      `json:"eval_duration,omitempty"`
		Context            []int      `json:"context,omitempty"`       // /api/generate: the conversation's token ids, to send back
		ContextShift       *shiftInfo `json:"context_shift,omitempty"` // extension
	}
)

// ollamaPiece is one answer object (a stream line or the whole answer).
func ollamaPiece(j *genJob, d chat.Delta) ollamaAnswer {
	a := ollamaAnswer{Model: j.sv.ID, CreatedAt: time.Now().UTC().Format(time.RFC3339Nano)}
	if j.ollama == "chat" {
		m := &ollamaMsg{Role: "assistant", Content: d.Content, Thinking: d.Reasoning}
		for _, c := range d.ToolCalls {
			var tc ollamaToolCall
			tc.Function.Name, tc.Function.Arguments = c.Name, json.RawMessage(c.Arguments)
			m.ToolCalls = append(m.ToolCalls, tc)
		}
		a.Message = m
	} else {
		a.Response, a.Thinking = &d.Content, d.Reasoning
	}
	return a
}

// ollamaFinal fills in the last object's statistics.
func ollamaFinal(a *ollamaAnswer, j *genJob, st *runtime.Stats, finish string) {
	a.Done = true
	a.DoneReason = finish
	if finish == "tool_calls" {
		a.DoneReason = "stop"
	}
	a.PromptEvalCount = len(j.ids)
	a.PromptEvalDuration = st.PromptDuration.Nanoseconds()
	a.EvalCount = st.GeneratedTokens
	a.EvalDuration = st.GenerateDuration.Nanoseconds()
	a.TotalDuration = time.Since(time.Unix(j.created, 0)).Nanoseconds()
	a.ContextShift = j.shift
	if j.context {
		a.Context = slices.Concat(j.ids, j.out)
		if eos := j.sv.Decoder.Tokenizer().EOS(); st.StopReason == runtime.StopEOS && eos >= 0 {
			a.Context = append(a.Context, eos) // the answer is over: the next prompt starts a new turn
		}
	}
}

// continueContext returns the prompt of an /api/generate request that
// continues a conversation: the context's token ids (checked against the
// vocabulary by handleChat), then the new turn's ids without their
// beginning-of-text token.
func continueContext(sv *served, prev, turn []int) []int {
	if len(prev) == 0 {
		return turn
	}
	if bos := sv.Decoder.Tokenizer().BOS(); bos >= 0 && len(turn) > 0 && turn[0] == bos {
		turn = turn[1:]
	}
	return slices.Concat(prev, turn)
}

// ollamaStream answers a job as NDJSON lines, Ollama's stream.
func (s *Server) ollamaStream(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController, r *http.Request, j *genJob, box *mailbox, info *requestLog) *apiError {
	h := w.Header()
	h.Set("Content-Type", "application/x-ndjson")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	var werr error
	send := func(v any) {
		if werr != nil {
			return
		}
		b, _ := json.Marshal(v)
		if _, werr = w.Write(append(b, '\n')); werr == nil {
			werr = rc.Flush()
		}
	}
	calls := 0
	delta := func(d chat.Delta) {
		if d.Content == "" && d.Reasoning == "" && len(d.ToolCalls) == 0 {
			return
		}
		calls += len(d.ToolCalls)
		send(ollamaPiece(j, d))
	}
	genErr := s.consume(ctx, j, box, func(it item) bool {
		if werr != nil {
			return false
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
			delta(chat.Delta{Content: it.tok.Text})
		}
		return werr == nil
	})
	if j.parser != nil && werr == nil {
		delta(j.parser.Close())
	}
	st := j.opts.Stats
	info.completionTokens, info.cachedTokens = st.GeneratedTokens, st.CachedTokens
	s.metrics.generated(j.sv.ID, len(j.ids), st.GeneratedTokens)
	if werr != nil {
		info.clientGone = true
		info.err = "writing the stream: " + werr.Error()
		return nil
	}
	finish, e := s.finish(ctx, r, st, genErr, info)
	if e == nil && s.audit(r, info, http.StatusOK, "") != nil {
		e = errAudit()
	}
	if e != nil {
		info.err = e.Message
		if !info.clientGone {
			info.errStatus = e.Status
			s.audit(r, info, e.Status, e.Message)
			send(map[string]string{"error": e.Message})
		}
		return nil
	}
	if calls > 0 && finish == "stop" {
		finish = "tool_calls"
	}
	info.finish = finish
	last := ollamaPiece(j, chat.Delta{})
	ollamaFinal(&last, j, st, finish)
	send(last)
	return nil
}
