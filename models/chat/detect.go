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
// exceeds it is an error
// that also wraps ErrBudget.
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
	t := &Template{Name: "jinja", prog: prog}
	if t.caps, err = d.probeCaps(); err != nil {
		return nil, unknown(err)
	}
	outs := make([]string, len(probes))
	errs := make([]error, len(probes))
	for i, p := range probes {
		outs[i], errs[i] = t.renderJinja(context.Background(), p.msgs, probeOptions(p), d.pool)
		if errors.Is(errs[i], ErrBudget) {
			return nil, unknown(errs[i])
		}
	}
	for _, f := range candidates(outs[0]) {
		if matches(f, outs, errs) {
			return &Template{Name: f.name, fam: f, stops: f.stops}, nil
		}
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

func (d *detector) run(msgs []Message, o Options, typed bool) (string, error) {
	return run(context.Background(), d.prog, msgs, o, typed, d.pool)
}

func probeOptions(p probe) Options {
	return Options{BOS: probeBOS, EOS: probeEOS, AddGenerationPrompt: p.gen, Date: p.date}
}

// probeCaps finds the polyfills a template needs: whether it can render a
// plain user message (or only one with typed content), and whether it
// prints a system message (or rejects or drops it).
func (d *detector) probeCaps() (jinjaCaps, error) {
	var c jinjaCaps
	const needleU, needleS = "probe-user-text", "probe-system-text"
	o := Options{BOS: probeBOS, EOS: probeEOS, AddGenerationPrompt: true}
	out, err := d.run([]Message{user(needleU)}, o, false)
	if errors.Is(err, ErrBudget) {
		return c, err
	}
	if err != nil || !strings.Contains(out, needleU) {
		out2, err2 := d.run([]Message{user(needleU)}, o, true)
		if errors.Is(err2, ErrBudget) {
			return c, err2
		}
		if err2 != nil || !strings.Contains(out2, needleU) {
			if err == nil {
				err = fmt.Errorf("its output for a user message does not contain the message")
			}
			return c, fmt.Errorf("rendering a user message: %w", err)
		}
		c.typedContent = true
	}
	withSys := []Message{sys(needleS), user(needleU)}
	out, err = d.run(withSys, o, c.typedContent)
	if errors.Is(err, ErrBudget) {
		return c, err
	}
	if err == nil && strings.Contains(out, needleS) {
		return c, nil
	}
	if !c.typedContent { // some templates read system content only as parts
		out, err := d.run(withSys, o, true)
		if errors.Is(err, ErrBudget) {
			return c, err
		}
		if err == nil && strings.Contains(out, needleS) && strings.Contains(out, needleU) {
			c.typedContent = true
			return c, nil
		}
	}
	c.mergeSystem = true
	return c, nil
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
		zephyr(),
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
	return &Template{Name: "jinja", prog: prog, caps: caps}, nil
}
