// Package chat turns a conversation into a model's prompt text with the
// model's chat template (GGUF's tokenizer.chat_template, a Jinja2 string).
//
// Named returns a built-in format by name (what --chat-template chooses).
// Detect takes a model's template source and recognises it: it runs the
// template in a small sandboxed Jinja interpreter on probe conversations
// and, when the output equals a built-in family's on every probe, returns
// that family (Template.Name is the family's name); a template that renders
// but matches no family is kept and run by the interpreter for every Apply
// (Template.Name is "jinja"). A template the interpreter cannot parse or
// run is an error wrapping ErrUnknownTemplate that says how to choose a
// format; there is no silent fallback to another format.
//
// The built-in families (see families.go for the exact formats and the
// templates they reproduce): chatml (Qwen, SmolLM, Hermes, OpenHermes ...;
// a detected template keeps its default system prompt and BOS), llama2,
// llama3, llama3.1 (3.1-3.3, with the knowledge-date system turn), mistral
// (v0.1/v0.2), mistral-v1, mistral-v3, mistral-v3-tekken, mistral-v7, phi3
// (Phi-3, Phi-3.5), gemma (Gemma 3's; Gemma 1/2 are recognised too) and
// zephyr (Zephyr, TinyLlama).
//
// Rendering follows Hugging Face transformers' apply_chat_template
// (trim_blocks, lstrip_blocks) and, for what transformers leaves to the
// caller, llama.cpp: a template without a system role gets the system
// message merged into the first user message with "\n" between. A template
// that reads message contents only as lists of {"type": "text"} parts gets
// them in that form.
//
// The interpreter is sandboxed: templates cannot reach files, the network
// or the clock (strftime_now prints Options.Date), and a render is bounded
// in steps, output size, nesting and collection sizes; a template larger
// than 1 MiB is refused.
package chat

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrUnknownTemplate is wrapped by Named and Detect for a template they do
// not know.
var ErrUnknownTemplate = errors.New("unknown chat template")

// ErrMessages is wrapped by Apply when the template rejects the
// conversation (for example roles that do not alternate).
var ErrMessages = errors.New("conversation not accepted by the chat template")

// Message is one turn of a conversation. Role is "system", "user" or
// "assistant" (a "jinja" template may accept others).
type Message struct {
	Role    string
	Content string
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

	fam   *family
	prog  []node    // the parsed Jinja source (Detect only)
	caps  jinjaCaps // what the source supports (Detect only)
	stops []string
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
			return &Template{Name: f.name, fam: f, stops: f.stops}, nil
		}
	}
	return nil, fmt.Errorf("chat: %w %q; the names are: %s", ErrUnknownTemplate, name, strings.Join(Names(), ", "))
}

// Apply formats msgs as the prompt text, special tokens written as text.
func (t *Template) Apply(msgs []Message, opt Options) (string, error) {
	if len(msgs) == 0 {
		return "", fmt.Errorf("chat: no messages: %w", ErrMessages)
	}
	if t.fam != nil {
		return t.fam.render(msgs, opt)
	}
	if t.prog == nil {
		return "", errors.New("chat: zero Template; use Named or Detect")
	}
	return t.renderJinja(msgs, opt)
}

// StopStrings returns the texts that end an assistant turn in this format
// (such as "<|im_end|>" or "<|eot_id|>"), extra stop strings for
// generation next to the model's end-of-generation tokens.
func (t *Template) StopStrings() []string {
	return append([]string(nil), t.stops...)
}

// jinjaCaps are the polyfills a template needs, found by probing it.
type jinjaCaps struct {
	mergeSystem  bool // no system role: merge it into the first user message
	typedContent bool // content must be a list of {"type": "text", "text": ...}
}

// renderJinja runs the template in the interpreter.
func (t *Template) renderJinja(msgs []Message, opt Options) (string, error) {
	if t.caps.mergeSystem && len(msgs) > 1 && msgs[0].Role == "system" && msgs[1].Role == "user" {
		merged := append([]Message{{Role: "user", Content: msgs[0].Content + "\n" + msgs[1].Content}}, msgs[2:]...)
		msgs = merged
	}
	s, err := run(t.prog, msgs, opt, t.caps.typedContent)
	if err != nil {
		var raised *errRaised
		if errors.As(err, &raised) {
			return "", fmt.Errorf("chat: %v: %w", err, ErrMessages)
		}
		return "", fmt.Errorf("chat: template: %w", err)
	}
	return s, nil
}

// run renders a parsed template with the standard chat variables.
func run(prog []node, msgs []Message, opt Options, typed bool) (string, error) {
	list := make([]any, len(msgs))
	for i, m := range msgs {
		d := newDict()
		d.set("role", m.Role)
		if typed {
			part := newDict()
			part.set("type", "text")
			part.set("text", m.Content)
			d.set("content", []any{part})
		} else {
			d.set("content", m.Content)
		}
		list[i] = d
	}
	root := map[string]any{
		"messages":              list,
		"add_generation_prompt": opt.AddGenerationPrompt,
		"bos_token":             opt.BOS,
		"eos_token":             opt.EOS,
	}
	var out strings.Builder
	r := &renderer{out: &out, scopes: []map[string]any{root}, root: root, opt: opt}
	err := r.exec(prog)
	switch err {
	case errBreak, errContinue:
		err = fmt.Errorf("%v", err)
	}
	return out.String(), err
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
