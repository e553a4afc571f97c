// Package chat turns a conversation into a model's prompt text with the
// model's chat template (GGUF's tokenizer.chat_template, a Jinja2 string),
// and a model's answer back into content, reasoning and tool calls.
//
// # Templates
//
// Named returns a built-in format by name (what --chat-template chooses).
// Detect takes a model's template source and recognises it: it runs the
// template in a small sandboxed Jinja interpreter on probe conversations
// and, when the output equals a built-in family's on every probe, returns
// that family (Template.Name is the family's name), rendered in Go; a
// template that renders but matches no family is kept and run by the
// interpreter for every Render (Template.Name is "jinja"). A template the
// interpreter cannot parse or run is an error wrapping ErrUnknownTemplate
// that says how to choose a format; there is no silent fallback to another
// format.
//
// The built-in families (see families.go and families_more.go for the
// exact formats and the templates they reproduce): chatml (Qwen2, Qwen2.5,
// SmolLM2, Hermes ...; a detected template keeps its default system prompt
// and BOS), llama2, llama3, llama3.1 (3.1-3.3, with the knowledge-date
// system turn), mistral (v0.1/v0.2), mistral-v1, mistral-v3,
// mistral-v3-tekken, mistral-v7, phi3 (Phi-3, Phi-3.5), phi4-mini, gemma
// (Gemma 3's; Gemma 1/2 are recognised too), zephyr (Zephyr, TinyLlama),
// qwen3, smollm3, granite (3.3; 3.1 and 3.2 are recognised too), lfm2 and
// olmo2. testdata/templates holds the real templates the families are
// checked against, byte for byte, with the Python renderings of
// testdata/gen_goldens.py.
//
// Rendering follows Hugging Face transformers' apply_chat_template
// (trim_blocks, lstrip_blocks; tools and documents always passed, none
// when absent) and, for what transformers leaves to the caller, llama.cpp:
// a template without a system role gets the system message merged into
// the first user message with "\n" between. A template that reads message
// contents only as lists of {"type": "text"} parts gets them in that form.
//
// # Tools and reasoning
//
// Options.Tools (a JSON array of OpenAI function tools) and the messages'
// ToolCalls, ToolCallID, Name and Reasoning reach the template as
// transformers passes them: tools (also as xml_tools, SmolLM3's name),
// and messages with tool_calls ({id, type, function: {name, arguments}},
// the arguments a mapping), tool_call_id, name and reasoning_content.
// Options.EnableThinking sets enable_thinking (Qwen3, SmolLM3) and thinking
// (Granite). Where a model's template needs more, Render fills in what the
// model was trained on, found by probing the template:
//   - Phi-4-mini's template takes the tools as the system message's
//     "tools" text: they are put there (with an empty system message when
//     there is none);
//   - templates that drop assistant tool calls (SmolLM3, Granite, LFM2,
//     Phi-4-mini) get the calls written into the assistant's content in the
//     model's own format (Template.ToolFormat);
//   - templates that ignore tools altogether (Gemma, OLMo 2, Llama 3.0,
//     ...) get FormatGeneric: the tools and the JSON answer form described
//     in the system message, the calls as that JSON, and tool results as
//     user messages.
//
// The output side: Template.NewParser (or NewParser with ParserOptions, or
// NewToolCallParser) returns a Parser fed the model's output as it is
// generated. Each Feed returns a Delta of content, reasoning (a
// <think>...</think> block at the start of the answer, also when the
// prompt opened it) and complete tool calls (name, arguments as compact
// JSON, an ID); text that may begin a tool call's marker or the end of a
// think block is held until it is known, so no delta ever holds part of a
// marker. Close ends the answer. ParseOutput parses a whole answer. The
// formats: FormatHermes, FormatLlama3, FormatMistral, FormatPhi4,
// FormatGranite, FormatLFM2 and FormatGeneric.
//
// # Untrusted templates
//
// A model file is untrusted input, and so is its template. The interpreter
// cannot reach files, the network or the clock (strftime_now prints
// Options.Date), and every render runs under Options.Limits: a budget of
// output bytes, of bytes of strings, lists and dicts built, of work (a unit
// per byte an operator or filter reads or writes, more per evaluated node
// and loop iteration) and of depth (macro calls, nested values walked by
// tojson, repr and comparisons, so cyclic values end too), each sized
// before anything is allocated; Render also stops when its context is
// done. Exceeding a budget is a *BudgetError wrapping ErrBudget ("template
// exceeds its budget: ..."), never a panic or an exhausted machine: the
// default budgets end any template within about a second. A template
// larger than 1 MiB is refused, and Detect runs all its probes under one
// small budget.
package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrUnknownTemplate is wrapped by Named and Detect for a template they do
// not know.
var ErrUnknownTemplate = errors.New("unknown chat template")

// ErrMessages is wrapped by Render when the template rejects the
// conversation (for example roles that do not alternate).
var ErrMessages = errors.New("conversation not accepted by the chat template")

// Message is one turn of a conversation. Role is "system", "user",
// "assistant" or "tool" (a "jinja" template may accept others).
type Message struct {
	Role    string
	Content string
	// Reasoning is an assistant turn's reasoning (the text a model writes
	// between <think> and </think>), given to templates that take it as
	// reasoning_content.
	Reasoning string
	// ToolCalls are the calls of an assistant turn.
	ToolCalls []ToolCall
	// ToolCallID is, on a "tool" message, the ID of the call it answers.
	ToolCallID string
	// Name is, on a "tool" message, the name of the tool that answered.
	Name string
}

// ToolCall is a call of a tool (a function) by the model.
type ToolCall struct {
	ID        string // the call's ID ("call_..."; Mistral's are 9 letters or digits)
	Name      string // the function's name
	Arguments string // a JSON object: the arguments
}

// Options are the inputs of a template besides the messages.
type Options struct {
	// BOS and EOS are the texts of the model's beginning- and end-of-sequence
	// tokens (the template writes them where the model expects them; tokenize
	// the result with special tokens parsed and without adding another BOS).
	BOS, EOS string
	// AddGenerationPrompt ends the prompt with the opening of an assistant
	// turn, for generating the answer.
	AddGenerationPrompt bool
	// Date is today's date for templates that print it (Llama 3.2's
	// "Today Date"); the zero value means 26 Jul 2024, the templates' own
	// default, so that prompts do not change from day to day.
	Date time.Time
	// Tools is a JSON array of the tools the model may call, in OpenAI's
	// form: [{"type": "function", "function": {"name": ..., "description":
	// ..., "parameters": {JSON schema}}}, ...]. Empty: no tools.
	Tools json.RawMessage
	// EnableThinking switches the reasoning of templates that have the
	// switch (Qwen3's and SmolLM3's enable_thinking, Granite's thinking);
	// nil leaves the template's default.
	EnableThinking *bool
	// Limits bound the work of a template the interpreter runs (zero:
	// defaults).
	Limits Limits
}

func (o Options) date() time.Time {
	if o.Date.IsZero() {
		return time.Date(2024, time.July, 26, 0, 0, 0, 0, time.UTC)
	}
	return o.Date
}

// Template formats conversations for one model family.
type Template struct {
	// Name is the family ("chatml", "llama3", ...) or "jinja" for a
	// template that matches no family and is run by the interpreter.
	Name string

	fam      *family
	famTools bool      // fam renders tools, calls and reasoning as prog does (checked by Detect)
	prog     []node    // the parsed Jinja source (Detect only)
	caps     jinjaCaps // what the template needs beyond messages
	format   string    // how the model writes tool calls (see ToolFormat)
	thinks   bool      // the model writes <think> blocks
	stops    []string
}

// Names lists the names Named accepts.
func Names() []string {
	out := make([]string, len(namedFamilies))
	for i, f := range namedFamilies {
		out[i] = f.name
	}
	return out
}

// advice says how to choose a template.
func advice() string {
	return "choose one with --chat-template NAME, one of: " + strings.Join(Names(), ", ")
}

// Named returns the built-in template of that name (see Names).
func Named(name string) (*Template, error) {
	for _, f := range namedFamilies {
		if f.name == name {
			return namedTemplate(f), nil
		}
	}
	return nil, fmt.Errorf("chat: %w %q; the names are: %s", ErrUnknownTemplate, name, strings.Join(Names(), ", "))
}

// namedTemplate is the template of a family without source.
func namedTemplate(f *family) *Template {
	t := &Template{Name: f.name, fam: f, famTools: true, caps: f.caps, format: f.format, stops: f.stops}
	if t.format == "" {
		t.caps.noTools, t.format = true, FormatGeneric
	}
	t.thinks = f.name == "qwen3" || f.name == "smollm3"
	return t
}

// Apply is Render without a context.
func (t *Template) Apply(msgs []Message, opt Options) (string, error) {
	return t.Render(context.Background(), msgs, opt)
}

// Render formats msgs as the prompt text, special tokens written as text.
// A template the interpreter runs stops when ctx is done and when it
// exceeds opt.Limits (an error wrapping ErrBudget).
func (t *Template) Render(ctx context.Context, msgs []Message, opt Options) (string, error) {
	if len(msgs) == 0 {
		return "", fmt.Errorf("chat: no messages: %w", ErrMessages)
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("chat: %w", err)
	}
	if t.fam == nil && t.prog == nil {
		return "", errors.New("chat: zero Template; use Named or Detect")
	}
	msgs, err := t.prepare(msgs, opt)
	if err != nil {
		return "", err
	}
	if t.fam != nil && (t.prog == nil || t.famTools || plain(msgs, opt)) {
		return t.fam.render(msgs, opt)
	}
	return t.renderJinja(ctx, msgs, opt, nil)
}

// plain reports whether a conversation is only system, user and
// assistant texts, without tools, reasoning or the thinking switch (what
// Detect's first probes compare a family with its template on).
func plain(msgs []Message, o Options) bool {
	if len(o.Tools) > 0 || o.EnableThinking != nil {
		return false
	}
	for _, m := range msgs {
		switch m.Role {
		case "system", "user", "assistant":
		default:
			return false
		}
		if len(m.ToolCalls) > 0 || m.Reasoning != "" || m.ToolCallID != "" || m.Name != "" || strings.Contains(m.Content, "think>") {
			return false
		}
	}
	return true
}

// ToolFormat names how the model writes tool calls, for NewParser:
// FormatHermes, FormatLlama3, FormatMistral, FormatPhi4, FormatGranite,
// FormatLFM2, or FormatGeneric for a template that does not take tools
// (Render then describes the tools and the generic format in the system
// message).
func (t *Template) ToolFormat() string { return t.format }

// StopStrings returns the texts that end an assistant turn in this format
// (such as "<|im_end|>" or "<|eot_id|>"), extra stop strings for
// generation next to the model's end-of-generation tokens.
func (t *Template) StopStrings() []string {
	return append([]string(nil), t.stops...)
}

// jinjaCaps are the polyfills a template needs, found by probing it.
type jinjaCaps struct {
	mergeSystem    bool // no system role: merge it into the first user message
	typedContent   bool // content must be a list of {"type": "text", "text": ...}
	toolsInSystem  bool // the tools go in the system message's "tools" (Phi-4-mini)
	callsInContent bool // tool_calls are ignored: write the calls into the content, in the model's format
	noTools        bool // tools are ignored: describe them in the system message (FormatGeneric)
}

// renderJinja runs the template in the interpreter; shared, when not nil, is
// a memory and work budget shared with other renders (Detect's probes).
func (t *Template) renderJinja(ctx context.Context, msgs []Message, opt Options, shared *pool) (string, error) {
	if t.caps.mergeSystem && len(msgs) > 1 && msgs[0].Role == "system" && msgs[1].Role == "user" {
		first := msgs[1]
		first.Content = msgs[0].Content + "\n" + msgs[1].Content
		msgs = append([]Message{first}, msgs[2:]...)
	}
	s, err := run(ctx, t.prog, msgs, opt, t.caps, shared)
	if err != nil {
		return "", templateError(err)
	}
	return s, nil
}

// templateError wraps an error of the interpreter.
func templateError(err error) error {
	var raised *errRaised
	switch {
	case errors.As(err, &raised):
		return fmt.Errorf("chat: %v: %w", err, ErrMessages)
	case errors.Is(err, ErrBudget):
		return fmt.Errorf("chat: %w", err)
	}
	return fmt.Errorf("chat: template: %w", err)
}

// inputSize is the size of a render's inputs, for the budgets' allowances.
func inputSize(msgs []Message, opt Options) int64 {
	n := int64(len(opt.BOS) + len(opt.EOS) + len(opt.Tools))
	for _, m := range msgs {
		n += int64(len(m.Role) + len(m.Content) + len(m.Reasoning) + len(m.ToolCallID) + len(m.Name))
		for _, c := range m.ToolCalls {
			n += int64(len(c.ID) + len(c.Name) + len(c.Arguments))
		}
	}
	return n
}

// run renders a parsed template with the standard chat variables (those
// Hugging Face's apply_chat_template passes).
func run(ctx context.Context, prog []node, msgs []Message, opt Options, caps jinjaCaps, shared *pool) (string, error) {
	root, err := chatVars(msgs, opt, caps)
	if err != nil {
		return "", err
	}
	return runVars(ctx, prog, root, opt, newBudget(opt.Limits, inputSize(msgs, opt), shared))
}

// runVars renders a parsed template with the variables in root.
func runVars(ctx context.Context, prog []node, root map[string]any, opt Options, b *budget) (string, error) {
	var out strings.Builder
	r := newRenderer(ctx, &out, b, root, opt)
	err := r.exec(prog)
	switch err {
	case errBreak, errContinue:
		err = fmt.Errorf("%v", err)
	}
	return out.String(), err
}

// chatVars are the template variables of a conversation: messages as
// dicts with role and content, then, when present, reasoning_content,
// tool_calls ({id, type: "function", function: {name, arguments}}, the
// arguments as a mapping when they are a JSON object), tool_call_id and
// name; tools (and xml_tools, SmolLM3's name for them) or none;
// documents (none); add_generation_prompt, bos_token, eos_token; and
// enable_thinking and thinking when Options.EnableThinking is set. With
// caps.toolsInSystem the system message (added when there is none) also
// has the tools as "tools", a JSON text.
func chatVars(msgs []Message, opt Options, caps jinjaCaps) (map[string]any, error) {
	sysTools := ""
	if caps.toolsInSystem {
		var err error
		if sysTools, err = systemTools(opt); err != nil {
			return nil, err
		}
		if sysTools != "" && msgs[0].Role != "system" {
			msgs = append([]Message{{Role: "system"}}, msgs...)
		}
	}
	list := make([]any, len(msgs))
	for i, m := range msgs {
		d := newDict()
		d.set("role", m.Role)
		if caps.typedContent {
			part := newDict()
			part.set("type", "text")
			part.set("text", m.Content)
			d.set("content", []any{part})
		} else {
			d.set("content", m.Content)
		}
		if m.Reasoning != "" {
			d.set("reasoning_content", m.Reasoning)
		}
		if len(m.ToolCalls) > 0 {
			calls := make([]any, len(m.ToolCalls))
			for j, c := range m.ToolCalls {
				fn := newDict()
				fn.set("name", c.Name)
				fn.set("arguments", argumentsValue(c.Arguments))
				tc := newDict()
				if c.ID != "" {
					tc.set("id", c.ID)
				}
				tc.set("type", "function")
				tc.set("function", fn)
				calls[j] = tc
			}
			d.set("tool_calls", calls)
		}
		if m.ToolCallID != "" {
			d.set("tool_call_id", m.ToolCallID)
		}
		if m.Name != "" {
			d.set("name", m.Name)
		}
		if i == 0 && m.Role == "system" && sysTools != "" {
			d.set("tools", sysTools)
		}
		list[i] = d
	}
	root := map[string]any{
		"messages":              list,
		"add_generation_prompt": opt.AddGenerationPrompt,
		"bos_token":             opt.BOS,
		"eos_token":             opt.EOS,
		"tools":                 nil,
		"documents":             nil,
	}
	if len(opt.Tools) > 0 {
		v, err := decodeJSON(string(opt.Tools))
		if err != nil {
			return nil, fmt.Errorf("tools: %w", err)
		}
		tools, ok := fromJSON(v).([]any)
		if !ok {
			return nil, errors.New("tools: not a JSON array")
		}
		if len(tools) > 0 {
			root["tools"] = tools
			root["xml_tools"] = tools
		}
	}
	if opt.EnableThinking != nil {
		root["enable_thinking"] = *opt.EnableThinking
		root["thinking"] = *opt.EnableThinking
	}
	return root, nil
}

// argumentsValue is a tool call's arguments as templates expect them: a
// mapping when the text is a JSON object, else the text.
func argumentsValue(s string) any {
	if v, err := decodeJSON(s); err == nil {
		if d, ok := fromJSON(v).(*dict); ok {
			return d
		}
	}
	return s
}

// strftime formats t with the C-style directives chat templates use.
func strftime(t time.Time, f string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'e':
			fmt.Fprintf(&b, "%2d", t.Day())
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'Y':
			fmt.Fprintf(&b, "%d", t.Year())
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'b':
			b.WriteString(t.Month().String()[:3])
		case 'B':
			b.WriteString(t.Month().String())
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'A':
			b.WriteString(t.Weekday().String())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case '%':
			b.WriteByte('%')
		default:
			return "", fmt.Errorf("strftime_now: unsupported directive %%%c", f[i])
		}
	}
	return b.String(), nil
}

// fromJSON converts a decoded JSON value (encoding/json's any, objects as
// ordered key lists) into a template value.
func fromJSON(v any) any {
	switch x := v.(type) {
	case float64:
		if x == float64(int(x)) && x < 1<<53 && x > -(1<<53) {
			return int(x)
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = fromJSON(e)
		}
		return out
	case jsonObject:
		d := newDict()
		for _, kv := range x {
			d.set(kv.key, fromJSON(kv.val))
		}
		return d
	}
	return v
}

// jsonObject is a JSON object with its key order (see decodeJSON).
type jsonObject []struct {
	key string
	val any
}
