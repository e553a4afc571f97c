package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/edgeai-go/edgeai/models/chat"
	"github.com/edgeai-go/edgeai/runtime/grammar"
)

// Bounds on request values (OpenAI's where it has one).
const (
	maxStops       = 4    // stop strings per request
	maxStopLen     = 256  // bytes per stop string
	maxMessages    = 4096 // messages per chat request
	maxPromptIDs   = 1 << 20
	maxModelIDLen  = 256
	maxRequestKeys = 64 // top-level keys of a request object
)

// message is one chat message after validation (role normalised: "developer"
// becomes "system").
type message struct {
	Role       string
	Content    string
	Reasoning  string          // assistant: reasoning_content
	ToolCalls  []chat.ToolCall // assistant: tool_calls
	ToolCallID string          // tool: tool_call_id
	Name       string          // tool: the function's name
}

// genRequest holds what chat and text completions share: the model, the
// sampling parameters and the streaming options. A nil pointer means "not
// given" (the server's default applies).
type genRequest struct {
	Model            string
	Stream           bool
	IncludeUsage     bool   // stream_options.include_usage
	MaxTokens        int    // 0 = not given
	MaxTokensParam   string // the parameter that gave MaxTokens
	Temperature      *float64
	TopP             *float64
	TopK             *int     // extension (llama.cpp, vLLM)
	MinP             *float64 // extension
	RepeatPenalty    *float64 // extension
	RepeatLastN      *int     // Ollama's repeat_last_n
	IgnoreEOS        bool     // extension (llama.cpp, vLLM): generate past end-of-text tokens
	PresencePenalty  *float64
	FrequencyPenalty *float64
	Seed             *int64
	Stop             []string
	Grammar          *grammar.Grammar // response_format json_object/json_schema or grammar: the output's language
	Format           string           // "json_object", "json_schema", "grammar" or ""
	Logprobs         bool             // chat: return the sampled tokens' log probabilities
	TopLogprobs      int              // chat: and this many most likely alternatives per token
	NumCtx           int              // Ollama's options.num_ctx: the request's context (0: the server's; above it: the server's)
}

// chatRequest is a validated POST /v1/chat/completions body.
type chatRequest struct {
	genRequest
	Messages        []message
	Tools           toolSpec
	ReasoningEffort string // "" when not given
	ContextShift    bool   // drop whole old turns when the conversation does not fit
	ollama          string // "chat" or "generate": answer in Ollama's shapes
	prefix          []int  // Ollama generate's context: token ids that come before the prompt
}

// maxTopLogprobs bounds top_logprobs (OpenAI's bound).
const maxTopLogprobs = 20

// completionRequest is a validated POST /v1/completions body. Exactly one of
// Prompt and PromptIDs is set (PromptIDs when the client sent token ids).
type completionRequest struct {
	genRequest
	Prompt    string
	PromptIDs []int
	IsIDs     bool
	Echo      bool
}

// embeddingRequest is a validated POST /v1/embeddings body.
type embeddingRequest struct {
	Model      string
	Input      []string
	Base64     bool // encoding_format "base64"
	Dimensions int  // 0 = not given
}

// fields walks the keys of a JSON request object. Each take/opt call removes
// a key; rest reports the first key nobody took.
type fields struct {
	m   map[string]json.RawMessage
	err *apiError
}

// decodeObject parses body as one JSON object.
func decodeObject(body []byte) (*fields, *apiError) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, badParam("", "the request body is empty; expected a JSON object")
	}
	if body[0] != '{' {
		return nil, badParam("", "the request body must be a JSON object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, badParam("", "could not parse the request body as JSON: %v", err)
	}
	if len(m) > maxRequestKeys {
		return nil, badParam("", "the request has %d keys; at most %d are accepted", len(m), maxRequestKeys)
	}
	return &fields{m: m}, nil
}

// raw removes name and returns its value, or nil when absent or null.
func (f *fields) raw(name string) json.RawMessage {
	v, ok := f.m[name]
	if !ok {
		return nil
	}
	delete(f.m, name)
	if isNull(v) {
		return nil
	}
	return v
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// take decodes name into dst when present and not null, and reports whether it did.
func (f *fields) take(name string, dst any, what string) bool {
	v := f.raw(name)
	if v == nil || f.err != nil {
		return false
	}
	if err := json.Unmarshal(v, dst); err != nil {
		f.err = badParam(name, "%s must be %s", name, what)
		return false
	}
	return true
}

// float decodes an optional number in [lo, hi].
func (f *fields) float(name string, lo, hi float64) *float64 {
	var v float64
	if !f.take(name, &v, "a number") {
		return nil
	}
	if math.IsNaN(v) || v < lo || v > hi {
		f.err = badParam(name, "%s must be between %g and %g, got %g", name, lo, hi, v)
		return nil
	}
	return &v
}

// integer decodes an optional integer in [lo, hi].
func (f *fields) integer(name string, lo, hi int64) *int64 {
	v := f.raw(name)
	if v == nil || f.err != nil {
		return nil
	}
	var num json.Number
	if v[0] == '"' || json.Unmarshal(v, &num) != nil { // a quoted "5" is not a number
		f.err = badParam(name, "%s must be an integer between %d and %d", name, lo, hi)
		return nil
	}
	n, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil {
		// 5.0 and 1e3 are integers too.
		v, ferr := strconv.ParseFloat(string(num), 64)
		if ferr != nil || v != math.Trunc(v) || v < -(1<<53) || v > 1<<53 {
			f.err = badParam(name, "%s must be an integer between %d and %d", name, lo, hi)
			return nil
		}
		n = int64(v)
	}
	if n < lo || n > hi {
		f.err = badParam(name, "%s must be between %d and %d, got %d", name, lo, hi, n)
		return nil
	}
	return &n
}

// boolean decodes an optional boolean (false when absent).
func (f *fields) boolean(name string) bool {
	var v bool
	f.take(name, &v, "a boolean")
	return v
}

// rest fails on the first key (in sorted order) that no one took.
func (f *fields) rest() *apiError {
	if f.err != nil {
		return f.err
	}
	if len(f.m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(f.m))
	for k := range f.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	k := keys[0]
	if unsupportedParams[k] != "" {
		return unsupported(k, unsupportedParams[k])
	}
	e := badParam(k, "Unrecognized request argument supplied: %s", quoteKey(k))
	e.Code = "unknown_parameter"
	return e
}

// quoteKey makes a client-supplied key safe to echo in a message.
func quoteKey(k string) string {
	if len(k) > 64 {
		k = k[:64] + "..."
	}
	return strings.ToValidUTF8(k, "\uFFFD")
}

// unsupportedParams are OpenAI parameters this server recognises but cannot
// honour; a request that sets one (to anything but its neutral value) fails
// with a 400 naming it.
var unsupportedParams = map[string]string{
	"tools":               "tools are accepted by /v1/chat/completions only",
	"tool_choice":         "tools are accepted by /v1/chat/completions only",
	"parallel_tool_calls": "tools are accepted by /v1/chat/completions only",
	"functions":           "function calling is not implemented",
	"function_call":       "function calling is not implemented",
	"logit_bias":          "per-token logit bias is not implemented",
	"logprobs":            "log probabilities are returned by /v1/chat/completions only",
	"top_logprobs":        "log probabilities are returned by /v1/chat/completions only",
	"audio":               "audio output is not implemented",
	"modalities":          "only text output is implemented",
	"prediction":          "predicted outputs are not implemented",
	"web_search_options":  "web search is not available",
	"reasoning_effort":    "reasoning_effort is accepted by /v1/chat/completions only",
	"suffix":              "insertion (suffix) is not implemented",
	"best_of":             "best_of > 1 is not implemented",
	"n":                   "only n = 1 is implemented",
	"service_tier":        "service tiers do not exist on this server",
}

// decodeGen reads the parameters chat and text completions share.
func decodeGen(f *fields, g *genRequest, maxTokensName ...string) {
	if !f.take("model", &g.Model, "a string") {
		if f.err == nil {
			f.err = badParam("model", "you must provide a model parameter")
		}
		return
	}
	if g.Model == "" || len(g.Model) > maxModelIDLen || !utf8.ValidString(g.Model) {
		f.err = badParam("model", "model must be a non-empty string of at most %d bytes", maxModelIDLen)
		return
	}
	g.Stream = f.boolean("stream")
	if v := f.raw("stream_options"); v != nil && f.err == nil {
		if !g.Stream {
			f.err = badParam("stream_options", "stream_options is only allowed when stream is true")
			return
		}
		so, err := decodeObject(v)
		if err != nil {
			f.err = badParam("stream_options", "stream_options must be an object")
			return
		}
		g.IncludeUsage = so.boolean("include_usage")
		so.raw("include_obfuscation") // a transport detail; nothing to obfuscate on loopback
		if e := so.rest(); e != nil {
			e.Param = "stream_options." + e.Param
			f.err = e
			return
		}
	}
	for _, name := range maxTokensName {
		if n := f.integer(name, 1, math.MaxInt32); n != nil {
			if g.MaxTokens != 0 && g.MaxTokens != int(*n) {
				f.err = badParam(name, "max_tokens and max_completion_tokens disagree (%d and %d); give one", g.MaxTokens, *n)
				return
			}
			g.MaxTokens, g.MaxTokensParam = int(*n), name
		}
	}
	g.Temperature = f.float("temperature", 0, 2)
	g.TopP = f.float("top_p", 0, 1)
	if k := f.integer("top_k", 0, 1<<20); k != nil {
		v := int(*k)
		g.TopK = &v
	}
	g.MinP = f.float("min_p", 0, 1)
	g.RepeatPenalty = f.float("repeat_penalty", 0, 10)
	g.PresencePenalty = f.float("presence_penalty", -2, 2)
	g.FrequencyPenalty = f.float("frequency_penalty", -2, 2)
	g.Seed = f.integer("seed", math.MinInt64, math.MaxInt64)
	g.IgnoreEOS = f.boolean("ignore_eos")
	g.Stop = decodeStop(f)
	decodeResponseFormat(f, g)
	// n and best_of: 1 is the only value; anything else is left for rest().
	for _, name := range []string{"n", "best_of"} {
		if v := f.m[name]; v != nil {
			var n float64
			if isNull(v) || (json.Unmarshal(v, &n) == nil && n == 1) {
				delete(f.m, name)
			}
		}
	}
	// Neutral values of unsupported features are accepted.
	neutral := map[string][]string{
		"logprobs":            {"false", "0"},
		"top_logprobs":        {"0"},
		"logit_bias":          {"{}"},
		"tools":               {"[]"},
		"tool_choice":         {`"none"`},
		"functions":           {"[]"},
		"modalities":          {`["text"]`},
		"service_tier":        {`"auto"`, `"default"`},
		"parallel_tool_calls": {},
	}
	for name, ok := range neutral {
		if v, present := f.m[name]; present {
			c := compactJSON(v)
			if c == "null" || slices.Contains(ok, c) {
				delete(f.m, name)
			}
		}
	}
	// Bookkeeping fields that do not change the generation.
	for _, name := range []string{"user", "metadata", "store", "safety_identifier", "prompt_cache_key"} {
		f.raw(name)
	}
}

func compactJSON(v json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return ""
	}
	return b.String()
}

// decodeStop reads "stop": a string or an array of up to 4 strings.
func decodeStop(f *fields) []string {
	v := f.raw("stop")
	if v == nil || f.err != nil {
		return nil
	}
	var one string
	if json.Unmarshal(v, &one) == nil {
		if one == "" {
			return nil
		}
		v = json.RawMessage(`[` + string(v) + `]`)
	}
	var list []string
	if err := json.Unmarshal(v, &list); err != nil {
		f.err = badParam("stop", "stop must be a string or an array of strings")
		return nil
	}
	if len(list) > maxStops {
		f.err = badParam("stop", "stop accepts at most %d sequences, got %d", maxStops, len(list))
		return nil
	}
	out := list[:0]
	for _, s := range list {
		if len(s) > maxStopLen {
			f.err = badParam("stop", "each stop sequence must be at most %d bytes", maxStopLen)
			return nil
		}
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// decodeChat parses and validates a chat completion request.
func decodeChat(body []byte) (*chatRequest, *apiError) {
	f, e := decodeObject(body)
	if e != nil {
		return nil, e
	}
	r := new(chatRequest)
	r.Logprobs = f.boolean("logprobs")
	if n := f.integer("top_logprobs", 0, maxTopLogprobs); n != nil {
		if !r.Logprobs && *n > 0 {
			return nil, badParam("top_logprobs", "top_logprobs needs logprobs: true")
		}
		r.TopLogprobs = int(*n)
	}
	if f.err != nil {
		return nil, f.err
	}
	decodeTools(f, &r.Tools)
	if f.take("reasoning_effort", &r.ReasoningEffort, "a string") {
		switch r.ReasoningEffort {
		case "none", "minimal", "low", "medium", "high":
		default:
			return nil, badParam("reasoning_effort", "reasoning_effort must be none, minimal, low, medium or high, got %q", quoteKey(r.ReasoningEffort))
		}
	}
	r.ContextShift = f.boolean("context_shift")
	if f.err != nil {
		return nil, f.err
	}
	decodeGen(f, &r.genRequest, "max_tokens", "max_completion_tokens")
	if r.Grammar != nil && r.Tools.forcing() {
		return nil, badParam("tool_choice", "tool_choice %s and a JSON response_format or grammar cannot be combined", r.Tools.Choice)
	}
	if f.err != nil {
		return nil, f.err
	}
	var raw []json.RawMessage
	if !f.take("messages", &raw, "an array of messages") {
		if f.err == nil {
			f.err = badParam("messages", "you must provide a messages parameter")
		}
		return nil, f.err
	}
	if len(raw) == 0 {
		return nil, badParam("messages", "messages must contain at least one message")
	}
	if len(raw) > maxMessages {
		return nil, badParam("messages", "at most %d messages are accepted, got %d", maxMessages, len(raw))
	}
	r.Messages = make([]message, len(raw))
	for i, v := range raw {
		m, e := decodeMessage(v, fmt.Sprintf("messages[%d]", i))
		if e != nil {
			return nil, e
		}
		r.Messages[i] = m
	}
	if e := f.rest(); e != nil {
		return nil, e
	}
	return r, nil
}

// decodeMessage validates one chat message.
func decodeMessage(v json.RawMessage, where string) (message, *apiError) {
	var m message
	f, e := decodeObject(v)
	if e != nil {
		return m, badParam(where, "%s must be an object with a role and a content", where)
	}
	if !f.take("role", &m.Role, "a string") {
		if f.err == nil {
			f.err = badParam(where+".role", "%s.role is required", where)
		}
		return m, f.err
	}
	switch m.Role {
	case "system", "user", "assistant", "tool":
	case "developer":
		m.Role = "system"
	case "function":
		return m, unsupported(where+".role", "function messages (the deprecated functions API) are not implemented; use tools and role tool")
	default:
		return m, badParam(where+".role", "invalid role %q; supported roles are system, developer, user, assistant and tool", quoteKey(m.Role))
	}
	if c := f.raw("content"); c != nil {
		text, e := decodeContent(c, where+".content")
		if e != nil {
			return m, e
		}
		m.Content = text
	} else if m.Role != "assistant" {
		return m, badParam(where+".content", "%s.content is required for role %s", where, m.Role)
	}
	f.take("name", &m.Name, "a string") // participant names are not part of the templates; a tool's name is
	if m.Role == "tool" {
		f.take("tool_call_id", &m.ToolCallID, "a string")
	}
	if m.Role == "assistant" {
		f.take("reasoning_content", &m.Reasoning, "a string")
		if c := f.raw("tool_calls"); c != nil && f.err == nil {
			var calls []struct {
				ID       string `json:"id"`
				Type     string `json:"type"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			}
			if json.Unmarshal(c, &calls) != nil {
				return m, badParam(where+".tool_calls", "%s.tool_calls must be an array of {\"id\", \"type\": \"function\", \"function\": {\"name\", \"arguments\"}}", where)
			}
			for i, tc := range calls {
				if tc.Function.Name == "" || (tc.Type != "" && tc.Type != "function") {
					return m, badParam(fmt.Sprintf("%s.tool_calls[%d]", where, i), "%s.tool_calls[%d] must be a function call with a name", where, i)
				}
				args := tc.Function.Arguments
				if args == "" {
					args = "{}"
				}
				m.ToolCalls = append(m.ToolCalls, chat.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: args})
			}
		}
	}
	if c := f.raw("refusal"); c != nil && f.err == nil {
		var s string
		if json.Unmarshal(c, &s) != nil {
			return m, badParam(where+".refusal", "%s.refusal must be a string", where)
		}
	}
	for _, k := range []string{"tool_calls", "function_call", "tool_call_id", "audio"} {
		if c := f.raw(k); c != nil && f.err == nil && compactJSON(c) != "[]" {
			return m, unsupported(where+"."+k, fmt.Sprintf("%s is not accepted on a %s message", k, m.Role))
		}
	}
	if e := f.rest(); e != nil {
		e.Param = where + "." + e.Param
		return m, e
	}
	return m, nil
}

// decodeContent accepts a string or an array of text parts.
func decodeContent(v json.RawMessage, where string) (string, *apiError) {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s, nil
	}
	var parts []json.RawMessage
	if json.Unmarshal(v, &parts) != nil {
		return "", badParam(where, "%s must be a string or an array of content parts", where)
	}
	texts := make([]string, 0, len(parts))
	for i, p := range parts {
		pw := fmt.Sprintf("%s[%d]", where, i)
		f, e := decodeObject(p)
		if e != nil {
			return "", badParam(pw, "%s must be an object", pw)
		}
		var typ, text string
		f.take("type", &typ, "a string")
		switch typ {
		case "text":
			if !f.take("text", &text, "a string") && f.err == nil {
				f.err = badParam(pw+".text", "%s.text is required", pw)
			}
		case "image_url", "input_audio", "file", "image", "audio":
			return "", unsupported(pw+".type", "only text content is implemented")
		default:
			if f.err == nil {
				return "", badParam(pw+".type", "invalid content part type %q", quoteKey(typ))
			}
		}
		if e := f.rest(); e != nil {
			e.Param = pw + "." + e.Param
			return "", e
		}
		texts = append(texts, text)
	}
	return strings.Join(texts, "\n"), nil
}

// decodeCompletion parses and validates a text completion request.
func decodeCompletion(body []byte) (*completionRequest, *apiError) {
	f, e := decodeObject(body)
	if e != nil {
		return nil, e
	}
	r := new(completionRequest)
	decodeGen(f, &r.genRequest, "max_tokens")
	if f.err != nil {
		return nil, f.err
	}
	r.Echo = f.boolean("echo")
	if f.err != nil {
		return nil, f.err
	}
	p := f.raw("prompt")
	if p == nil {
		return nil, badParam("prompt", "you must provide a prompt parameter")
	}
	if e := decodePrompt(p, r); e != nil {
		return nil, e
	}
	if e := f.rest(); e != nil {
		return nil, e
	}
	return r, nil
}

// decodePrompt accepts a string, an array of one string, an array of token
// ids, or an array of one array of token ids. Several prompts would be n > 1.
func decodePrompt(v json.RawMessage, r *completionRequest) *apiError {
	if json.Unmarshal(v, &r.Prompt) == nil {
		return nil
	}
	var strs []string
	if json.Unmarshal(v, &strs) == nil && len(strs) > 0 {
		if len(strs) > 1 {
			return unsupported("prompt", "one prompt per request (an array of several prompts is n > 1)")
		}
		r.Prompt = strs[0]
		return nil
	}
	var ids []int
	if json.Unmarshal(v, &ids) != nil {
		var lists [][]int
		if json.Unmarshal(v, &lists) != nil || len(lists) == 0 {
			return badParam("prompt", "prompt must be a string, an array of strings, or an array of token ids")
		}
		if len(lists) > 1 {
			return unsupported("prompt", "one prompt per request (an array of several prompts is n > 1)")
		}
		ids = lists[0]
	}
	if len(ids) == 0 {
		return badParam("prompt", "prompt must not be an empty array")
	}
	if len(ids) > maxPromptIDs {
		return badParam("prompt", "prompt has too many token ids (%d)", len(ids))
	}
	r.PromptIDs, r.IsIDs = ids, true
	return nil
}

// decodeEmbedding parses and validates an embeddings request.
func decodeEmbedding(body []byte) (*embeddingRequest, *apiError) {
	f, e := decodeObject(body)
	if e != nil {
		return nil, e
	}
	r := new(embeddingRequest)
	if !f.take("model", &r.Model, "a string") {
		if f.err == nil {
			f.err = badParam("model", "you must provide a model parameter")
		}
		return nil, f.err
	}
	if r.Model == "" || len(r.Model) > maxModelIDLen || !utf8.ValidString(r.Model) {
		return nil, badParam("model", "model must be a non-empty string of at most %d bytes", maxModelIDLen)
	}
	in := f.raw("input")
	if f.err != nil {
		return nil, f.err
	}
	if in == nil {
		return nil, badParam("input", "you must provide an input parameter")
	}
	var one string
	if json.Unmarshal(in, &one) == nil {
		r.Input = []string{one}
	} else if json.Unmarshal(in, &r.Input) != nil {
		return nil, badParam("input", "input must be a string or an array of strings (token-id input is not implemented)")
	}
	if len(r.Input) == 0 {
		return nil, badParam("input", "input must not be empty")
	}
	for i, t := range r.Input {
		if t == "" {
			return nil, badParam("input", "input[%d] is an empty string", i)
		}
	}
	var format string
	if f.take("encoding_format", &format, "a string") {
		switch format {
		case "float":
		case "base64":
			r.Base64 = true
		default:
			return nil, badParam("encoding_format", "encoding_format must be float or base64")
		}
	}
	if d := f.integer("dimensions", 1, 1<<16); d != nil {
		r.Dimensions = int(*d)
	}
	f.raw("user")
	if e := f.rest(); e != nil {
		return nil, e
	}
	return r, nil
}

// methodNotAllowed answers a wrong method on a known path.
func methodNotAllowed(allow string) *apiError {
	return &apiError{Status: http.StatusMethodNotAllowed, Type: typeInvalidRequest,
		Message: fmt.Sprintf("this endpoint accepts %s only", allow)}
}
