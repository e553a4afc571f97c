package chat

import (
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

func sys(c string) Message  { return Message{"system", c} }
func user(c string) Message { return Message{"user", c} }
func asst(c string) Message { return Message{"assistant", c} }

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
// ErrUnknownTemplate and names the --chat-template choices.
func Detect(src string) (*Template, error) {
	unknown := func(why error) error {
		return fmt.Errorf("chat: %w: the model's tokenizer.chat_template cannot be used (%v); %s", ErrUnknownTemplate, why, advice())
	}
	if strings.TrimSpace(src) == "" {
		return nil, unknown(fmt.Errorf("it is empty"))
	}
	prog, err := parseTemplate(src)
	if err != nil {
		return nil, unknown(err)
	}
	t := &Template{Name: "jinja", prog: prog}
	if t.caps, err = probeCaps(prog); err != nil {
		return nil, unknown(err)
	}
	outs := make([]string, len(probes))
	errs := make([]error, len(probes))
	for i, p := range probes {
		outs[i], errs[i] = t.renderJinja(p.msgs, probeOptions(p))
	}
	for _, f := range candidates(outs[0]) {
		if matches(f, outs, errs) {
			return &Template{Name: f.name, fam: f, stops: f.stops}, nil
		}
	}
	t.stops = deriveStops(t)
	return t, nil
}

func probeOptions(p probe) Options {
	return Options{BOS: probeBOS, EOS: probeEOS, AddGenerationPrompt: p.gen, Date: p.date}
}

// probeCaps finds the polyfills a template needs: whether it can render a
// plain user message (or only one with typed content), and whether it
// prints a system message (or rejects or drops it).
func probeCaps(prog []node) (jinjaCaps, error) {
	var c jinjaCaps
	const needleU, needleS = "probe-user-text", "probe-system-text"
	o := Options{BOS: probeBOS, EOS: probeEOS, AddGenerationPrompt: true}
	out, err := run(prog, []Message{user(needleU)}, o, false)
	if err != nil || !strings.Contains(out, needleU) {
		out2, err2 := run(prog, []Message{user(needleU)}, o, true)
		if err2 != nil || !strings.Contains(out2, needleU) {
			if err == nil {
				err = fmt.Errorf("its output for a user message does not contain the message")
			}
			return c, fmt.Errorf("rendering a user message: %w", err)
		}
		c.typedContent = true
	}
	withSys := []Message{sys(needleS), user(needleU)}
	out, err = run(prog, withSys, o, c.typedContent)
	if err == nil && strings.Contains(out, needleS) {
		return c, nil
	}
	if !c.typedContent { // some templates read system content only as parts
		if out, err := run(prog, withSys, o, true); err == nil && strings.Contains(out, needleS) && strings.Contains(out, needleU) {
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
func deriveStops(t *Template) []string {
	const a = "probe-assistant-answer"
	out, err := t.renderJinja([]Message{user("probe-question"), asst(a), user("probe-next")}, Options{BOS: probeBOS, EOS: probeEOS})
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
