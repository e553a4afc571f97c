package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Probe texts: distinctive, so that a template's output can be searched.
const (
	probeBOS = "<probe-bos>"
	probeEOS = "<probe-eos>"
)

// probe is a conversation Detect renders to compare a template with the
// built-in families.
type probe struct {
	msgs []Message
	gen  bool
	date time.Time
}

func sys(c string) Message  { return Message{Role: "system", Content: c} }
func user(c string) Message { return Message{Role: "user", Content: c} }
func asst(c string) Message { return Message{Role: "assistant", Content: c} }

var probes = []probe{
	{msgs: []Message{user("Hello")}, gen: true},
	{msgs: []Message{user(" Hi there "), asst("  Hello!  "), user("How are you?\n")}, gen: true},
	{msgs: []Message{sys("You are helpful."), user("Hi"), asst("Hey"), user("Bye")}, gen: true},
	{msgs: []Message{user("One"), asst("Two")}, gen: false},
	{msgs: []Message{user("One"), asst("Two"), user("Three")}, gen: false},
	{msgs: []Message{sys(" Sys "), user("Q")}, gen: true},
	{msgs: []Message{sys(""), user("Q"), asst(" A"), user("R ")}, gen: true},
	{msgs: []Message{sys("You are helpful."), user("Hi"), asst("Hey")}, gen: false},
	{msgs: []Message{user("Hello")}, gen: true, date: time.Date(2001, 2, 3, 0, 0, 0, 0, time.UTC)},
}

// Detect recognises a model's chat template source (see the package
// documentation). The error for a template it cannot use wraps
// ErrUnknownTemplate and names the --chat-template choices. Detect runs the
// template on a few probe conversations, all of them sharing one memory and
// work budget (2 MiB and an eighth of the default work): a template that
// exceeds it is an error that also wraps ErrBudget.
func Detect(src string) (*Template, error) {
	unknown := func(why error) error {
		if errors.Is(why, ErrBudget) {
			return fmt.Errorf("chat: %w: the model's tokenizer.chat_template cannot be used (%w); %s", ErrUnknownTemplate, why, advice())
		}
		return fmt.Errorf("chat: %w: the model's tokenizer.chat_template cannot be used (%v); %s", ErrUnknownTemplate, why, advice())
	}
	if strings.TrimSpace(src) == "" {
		return nil, unknown(fmt.Errorf("it is empty"))
	}
	prog, err := parseTemplate(src)
	if err != nil {
		return nil, unknown(err)
	}
	d := &detector{prog: prog, pool: newPool(detectMemory, detectWork)}
	t := &Template{Name: "jinja", prog: prog, format: formatOf(src), thinks: strings.Contains(src, "think>")}
	if t.caps, err = d.probeCaps(); err != nil {
		return nil, unknown(err)
	}
	if t.caps.noTools {
		t.format = FormatGeneric
	}
	outs := make([]string, len(probes))
	errs := make([]error, len(probes))
	for i, p := range probes {
		outs[i], errs[i] = t.renderJinja(context.Background(), p.msgs, probeOptions(p), d.pool)
		if errors.Is(errs[i], ErrBudget) {
			return nil, unknown(errs[i])
		}
	}
	// The first family that renders the probes as the template does, and
	// preferably the tool probes too (variants differ only there).
	var found *Template
	for _, f := range candidates(outs[0]) {
		if !matches(f, outs, errs) {
			continue
		}
		ft := *t
		ft.Name, ft.fam, ft.stops = f.name, f, f.stops
		if f.format != "" && !t.caps.noTools {
			ft.format = f.format
		}
		if ft.famTools, err = d.matchesTools(&ft); err != nil {
			return nil, unknown(err)
		}
		if ft.famTools {
			return &ft, nil
		}
		if found == nil {
			found = &ft
		}
	}
	if found != nil {
		return found, nil
	}
	t.stops = deriveStops(t, d.pool)
	return t, nil
}

// Detect's budget for all its probes together: real templates use less
// than a hundredth of it.
const (
	detectMemory = 2 << 20
	detectWork   = DefaultWork / 8
)

// detector runs a template's probes under one shared memory and work
// budget.
type detector struct {
	prog []node
	pool *pool
}

func (d *detector) run(msgs []Message, o Options, caps jinjaCaps) (string, error) {
	return run(context.Background(), d.prog, msgs, o, caps, d.pool)
}

func probeOptions(p probe) Options {
	return Options{BOS: probeBOS, EOS: probeEOS, AddGenerationPrompt: p.gen, Date: p.date}
}

// probeCaps finds the polyfills a template needs: whether it can render a
// plain user message (or only one with typed content), whether it prints
// a system message (or rejects or drops it), whether it prints the tools
// (given as tools, or in the system message), and whether it prints the
// tool calls of an assistant message.
func (d *detector) probeCaps() (jinjaCaps, error) {
	var c jinjaCaps
	const needleU, needleS = "probe-user-text", "probe-system-text"
	o := Options{BOS: probeBOS, EOS: probeEOS, AddGenerationPrompt: true}
	out, err := d.run([]Message{user(needleU)}, o, c)
	if errors.Is(err, ErrBudget) {
		return c, err
	}
	if err != nil || !strings.Contains(out, needleU) {
		c.typedContent = true
		out2, err2 := d.run([]Message{user(needleU)}, o, c)
		if errors.Is(err2, ErrBudget) {
			return c, err2
		}
		if err2 != nil || !strings.Contains(out2, needleU) {
			if err == nil {
				err = fmt.Errorf("its output for a user message does not contain the message")
			}
			return c, fmt.Errorf("rendering a user message: %w", err)
		}
	}
	withSys := []Message{sys(needleS), user(needleU)}
	out, err = d.run(withSys, o, c)
	if errors.Is(err, ErrBudget) {
		return c, err
	}
	switch {
	case err == nil && strings.Contains(out, needleS):
	case !c.typedContent: // some templates read system content only as parts
		typed := c
		typed.typedContent = true
		out, err := d.run(withSys, o, typed)
		if errors.Is(err, ErrBudget) {
			return c, err
		}
		if err == nil && strings.Contains(out, needleS) && strings.Contains(out, needleU) {
			c = typed
		} else {
			c.mergeSystem = true
		}
	default:
		c.mergeSystem = true
	}
	return c, d.probeToolCaps(&c)
}

// Tool probes: a tool and a call whose names Detect looks for.
const (
	probeToolName = "probe_tool_fn"
	probeCallName = "probe_call_fn"
	probeTools    = `[{"type": "function", "function": {"name": "` + probeToolName + `", "description": "d", "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}}]`
)

func (d *detector) probeToolCaps(c *jinjaCaps) error {
	o := Options{BOS: probeBOS, EOS: probeEOS, AddGenerationPrompt: true, Tools: []byte(probeTools)}
	shows := func(msgs []Message, o Options, caps jinjaCaps, needle string) (bool, error) {
		if caps.mergeSystem && len(msgs) > 1 && msgs[0].Role == "system" {
			msgs = append([]Message{{Role: "user", Content: msgs[0].Content + "\n" + msgs[1].Content}}, msgs[2:]...)
		}
		out, err := d.run(msgs, o, caps)
		if errors.Is(err, ErrBudget) {
			return false, err
		}
		return err == nil && strings.Contains(out, needle), nil
	}
	q := []Message{sys("s"), user("q")}
	ok, err := shows(q, o, *c, probeToolName)
	if err != nil || !ok {
		if err != nil {
			return err
		}
		in := *c
		in.toolsInSystem = true
		if ok, err = shows(q, o, in, probeToolName); err != nil {
			return err
		}
		if !ok {
			c.noTools = true
			return nil
		}
		c.toolsInSystem = true
	}
	call := []Message{user("q"), {Role: "assistant", ToolCalls: []ToolCall{{ID: "call00001", Name: probeCallName, Arguments: `{"a": "b"}`}}}}
	o.AddGenerationPrompt = false
	if ok, err = shows(call, o, *c, probeCallName); err != nil {
		return err
	}
	c.callsInContent = !ok
	return nil
}

// toolProbes are the conversations with tools, calls, results and
// reasoning on which Detect compares a recognised family with its
// template; the family renders them too only when every one matches.
var toolProbes = func() []probe {
	q := user("What is the weather in Paris?")
	call := Message{Role: "assistant", Content: "", ToolCalls: []ToolCall{{ID: "call00001", Name: "get_weather", Arguments: `{"city": "Paris", "n": 1.5, "ok": true}`}}}
	two := Message{Role: "assistant", Content: "Both.", ToolCalls: []ToolCall{{ID: "call00001", Name: "get_weather", Arguments: `{"city": "Paris"}`}, {ID: "call00002", Name: "get_time", Arguments: "{}"}}}
	result := Message{Role: "tool", Content: `{"temperature": 21}`, ToolCallID: "call00001", Name: "get_weather"}
	result2 := Message{Role: "tool", Content: "12:00", ToolCallID: "call00002", Name: "get_time"}
	answer := asst("It is 21 degrees.")
	think := Message{Role: "assistant", Content: "4", Reasoning: "2 and 2."}
	tagged := asst("<think>\nSum.\n</think>\n\n4")
	return []probe{
		{msgs: []Message{sys("Be brief."), q}, gen: true},
		{msgs: []Message{q}, gen: true},
		{msgs: []Message{q, call, result}, gen: true},
		{msgs: []Message{sys("S"), q, two, result, result2, answer, user("And now?")}, gen: true},
		{msgs: []Message{q, call, result, answer}, gen: false},
		{msgs: []Message{user("2+2?"), think, user("3+3?")}, gen: true},
		{msgs: []Message{user("2+2?"), tagged, user("3+3?")}, gen: true},
		{msgs: []Message{user("2+2?"), tagged}, gen: false},
		{msgs: []Message{sys("Reply. /no_think"), user("Hi")}, gen: true},
	}
}()

// toolProbeOptions are the options of tool probe i in variant v: tools on
// the even variants, the thinking switch unset, on and off.
func toolProbeOptions(p probe, v int) Options {
	o := probeOptions(p)
	if v%2 == 0 {
		o.Tools = []byte(`[{"type": "function", "function": {"name": "get_weather", "description": "Weather (météo)", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}, {"type": "function", "function": {"name": "get_time", "description": "Time", "parameters": {"type": "object", "properties": {}}}}]`)
	}
	switch v / 2 {
	case 1:
		o.EnableThinking = &thinkingOn
	case 2:
		o.EnableThinking = &thinkingOff
	}
	return o
}

var thinkingOn, thinkingOff = true, false

// matchesTools reports whether t's family renders the tool probes as its
// template does (after the polyfills of t's caps).
func (d *detector) matchesTools(t *Template) (bool, error) {
	for _, p := range toolProbes {
		for v := range 6 {
			o := toolProbeOptions(p, v)
			msgs, err := t.prepare(p.msgs, o)
			if err != nil {
				return false, nil
			}
			want, werr := t.renderJinja(context.Background(), msgs, o, d.pool)
			if errors.Is(werr, ErrBudget) {
				return false, werr
			}
			got, gerr := t.fam.render(msgs, o)
			if (werr != nil) != (gerr != nil) || got != want {
				return false, nil
			}
		}
	}
	return true, nil
}

// candidates lists the family variants a template may be; first0 is its
// rendering of the first probe, from which a default system prompt is read.
func candidates(first0 string) []*family {
	c := []*family{chatml("chatml", "", false), chatml("chatml", "", true)}
	if i := strings.Index(first0, "<|im_start|>system\n"); i >= 0 {
		rest := first0[i+len("<|im_start|>system\n"):]
		if j := strings.Index(rest, "<|im_end|>"); j >= 0 {
			c = append(c, chatml("chatml", rest[:j], false), chatml("chatml", rest[:j], true))
		}
	}
	return append(c,
		llama2(), llama3(), llama31("llama3.1", true), llama31("llama3.1", false),
		mistral("mistral", false), mistral("mistral", true), mistral("mistral-v1", false),
		mistral("mistral-v3", false), mistral("mistral-v3-tekken", false), mistral("mistral-v7", false),
		phi3("phi3", false), phi3("phi3", true),
		gemma("gemma", "\n\n", true), gemma("gemma", "\n", true), gemma("gemma", "\n", false),
		zephyr(), qwen3(), smollm3(), phi4mini(), lfm2(), olmo2(),
		granite(graniteVersions[0], "granite"), granite(graniteVersions[1], "granite"),
		granite(graniteVersions[2], "granite"), granite(graniteVersions[3], "granite"),
	)
}

// matches reports whether family f renders every probe as the template did.
func matches(f *family, outs []string, errs []error) bool {
	for i, p := range probes {
		got, err := f.render(p.msgs, probeOptions(p))
		if (err != nil) != (errs[i] != nil) || got != outs[i] {
			return false
		}
	}
	return true
}

// deriveStops finds the end-of-turn text of a template the interpreter runs:
// what follows an assistant message in a rendered conversation, up to the
// end of its first special-looking token ("<|...|>", "<...>", "[...]").
func deriveStops(t *Template, shared *pool) []string {
	const a = "probe-assistant-answer"
	out, err := t.renderJinja(context.Background(), []Message{user("probe-question"), asst(a), user("probe-next")}, Options{BOS: probeBOS, EOS: probeEOS}, shared)
	if err != nil {
		return nil
	}
	i := strings.Index(out, a)
	if i < 0 {
		return nil
	}
	after := strings.TrimLeft(out[i+len(a):], " \n")
	if strings.HasPrefix(after, probeEOS) {
		return nil // the model's EOS token ends the turn
	}
	for _, pair := range [][2]string{{"<", ">"}, {"[", "]"}} {
		if strings.HasPrefix(after, pair[0]) {
			if j := strings.Index(after, pair[1]); j > 0 && !strings.Contains(after[:j], "probe-") {
				return []string{after[:j+1]}
			}
		}
	}
	return nil
}

// interpreted returns the template of src run by the interpreter, whatever
// family it matches (tests compare the families with it).
func interpreted(src string) (*Template, error) {
	prog, err := parseTemplate(src)
	if err != nil {
		return nil, err
	}
	d := &detector{prog: prog, pool: newPool(detectMemory, detectWork)}
	caps, err := d.probeCaps()
	if err != nil {
		return nil, err
	}
	t := &Template{Name: "jinja", prog: prog, caps: caps, format: formatOf(src)}
	if caps.noTools {
		t.format = FormatGeneric
	}
	return t, nil
}
