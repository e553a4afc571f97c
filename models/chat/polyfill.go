package chat

import (
	"fmt"
	"strconv"
	"strings"
)

// Tool-call formats: how a model writes tool calls in its output (see
// Template.ToolFormat and NewParser).
const (
	// FormatHermes: <tool_call>{"name": ..., "arguments": {...}}</tool_call>
	// (Qwen2.5, Qwen3, Hermes 2 and 3, SmolLM3).
	FormatHermes = "hermes"
	// FormatLlama3: {"name": ..., "parameters": {...}} as the whole answer,
	// or after <|python_tag|> (Llama 3.1, 3.2, 3.3).
	FormatLlama3 = "llama3"
	// FormatMistral: [TOOL_CALLS][{"name": ..., "arguments": {...}, "id":
	// ...}] (Mistral 7B v0.3, Nemo, Small), or [TOOL_CALLS]name[ARGS]{...}.
	FormatMistral = "mistral"
	// FormatPhi4: functools[{"name": ..., "arguments": {...}}] or
	// <|tool_call|>...<|/tool_call|> (Phi-4-mini).
	FormatPhi4 = "phi4"
	// FormatGranite: <|tool_call|>[{"name": ..., "arguments": {...}}]
	// (Granite 3.x).
	FormatGranite = "granite"
	// FormatLFM2: <|tool_call_start|>[name(arg="value"), ...]<|tool_call_end|>,
	// the calls as Python calls or as a JSON list (LFM2).
	FormatLFM2 = "lfm2"
	// FormatGeneric: {"tool_calls": [{"name": ..., "arguments": {...}}]} as
	// the whole answer, for templates that do not take tools: Render then
	// describes the tools and this format in the system message.
	FormatGeneric = "generic"
)

// formatOf guesses the tool-call format of a template's model from its
// source.
func formatOf(src string) string {
	has := func(s ...string) bool {
		for _, x := range s {
			if !strings.Contains(src, x) {
				return false
			}
		}
		return true
	}
	switch {
	case has("<|tool_call_start|>") || has("<|tool_list_start|>"):
		return FormatLFM2
	case has("<tool_call>"):
		return FormatHermes
	case has("[TOOL_CALLS]") || has("[AVAILABLE_TOOLS]"):
		return FormatMistral
	case has("<|start_of_role|>"):
		return FormatGranite
	case has("<|tool|>", "<|end|>") || has("<|tool_call|>", "<|end|>"):
		return FormatPhi4
	case has("<|start_header_id|>", "parameters") || has("<|python_tag|>"):
		return FormatLlama3
	}
	return FormatGeneric
}

// prepare applies the polyfills of the template's caps to a conversation:
// tool calls written into the content when the template ignores them, and
// for a template that ignores tools, the generic description of the tools
// in the system message, the calls as generic JSON, and tool results as
// user messages.
func (t *Template) prepare(msgs []Message, o Options) ([]Message, error) {
	if t.caps.noTools {
		return genericTools(msgs, o)
	}
	if !t.caps.callsInContent {
		return msgs, nil
	}
	var out []Message
	for i, m := range msgs {
		if len(m.ToolCalls) == 0 {
			continue
		}
		if out == nil {
			out = append([]Message(nil), msgs...)
		}
		calls, err := formatCalls(t.format, m.ToolCalls)
		if err != nil {
			return nil, err
		}
		if t.format == FormatLFM2 {
			out[i].Content = calls + m.Content
		} else {
			out[i].Content = m.Content + calls
		}
		out[i].ToolCalls = nil
	}
	if out == nil {
		return msgs, nil
	}
	return out, nil
}

// formatCalls writes tool calls as a model of that format writes them.
func formatCalls(format string, calls []ToolCall) (string, error) {
	var b strings.Builder
	list := func(withID bool) error {
		b.WriteByte('[')
		for i, c := range calls {
			if i > 0 {
				b.WriteString(", ")
			}
			args, err := callArguments(c)
			if err != nil {
				return err
			}
			b.WriteString(`{"name": ` + jsonString(c.Name) + `, "arguments": ` + args)
			if withID && c.ID != "" {
				b.WriteString(`, "id": ` + jsonString(c.ID))
			}
			b.WriteByte('}')
		}
		b.WriteByte(']')
		return nil
	}
	var err error
	switch format {
	case FormatHermes:
		for i, c := range calls {
			args, err := callArguments(c)
			if err != nil {
				return "", err
			}
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString("<tool_call>\n{\"name\": " + jsonString(c.Name) + ", \"arguments\": " + args + "}\n</tool_call>")
		}
	case FormatLlama3:
		for i, c := range calls {
			args, err := callArguments(c)
			if err != nil {
				return "", err
			}
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString("{\"name\": " + jsonString(c.Name) + ", \"parameters\": " + args + "}")
		}
	case FormatMistral:
		b.WriteString("[TOOL_CALLS]")
		err = list(true)
	case FormatPhi4:
		b.WriteString("functools")
		err = list(false)
	case FormatGranite:
		b.WriteString("<|tool_call|>")
		err = list(false)
	case FormatLFM2:
		b.WriteString("<|tool_call_start|>[")
		for i, c := range calls {
			if i > 0 {
				b.WriteString(", ")
			}
			s, err := pythonCall(c)
			if err != nil {
				return "", err
			}
			b.WriteString(s)
		}
		b.WriteString("]<|tool_call_end|>")
	default:
		b.WriteString(`{"tool_calls": `)
		err = list(false)
		b.WriteByte('}')
	}
	return b.String(), err
}

// pythonCall writes a tool call as a Python call, name(key=value, ...):
// strings, numbers, lists and mappings as JSON, true, false and null as
// True, False and None (LFM2's form).
func pythonCall(c ToolCall) (string, error) {
	d, ok := argumentsValue(c.Arguments).(*dict)
	if !ok {
		return "", fmt.Errorf("chat: the arguments of %s are not a JSON object", c.Name)
	}
	var b strings.Builder
	b.WriteString(c.Name + "(")
	for i, k := range d.keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + "=")
		switch v := d.m[k].(type) {
		case bool:
			b.WriteString(map[bool]string{true: "True", false: "False"}[v])
		case nil:
			b.WriteString("None")
		default:
			s, err := pyValue(v, 0, false)
			if err != nil {
				return "", err
			}
			b.WriteString(s)
		}
	}
	b.WriteByte(')')
	return b.String(), nil
}

// genericToolsPrompt describes the tools and FormatGeneric to a model
// whose template does not take tools.
func genericToolsPrompt(tools []any) (string, error) {
	var b strings.Builder
	b.WriteString("You can call these tools, described by JSON schemas:\n")
	for _, t := range tools {
		if d, ok := t.(*dict); ok {
			if fn, ok := d.get("function"); ok {
				t = fn
			}
		}
		s, err := pyValue(t, 0, false)
		if err != nil {
			return "", err
		}
		b.WriteString(s + "\n")
	}
	b.WriteString("\nTo call tools, answer with only this JSON and nothing else: " +
		`{"tool_calls": [{"name": "<tool name>", "arguments": {<the arguments>}}]}` +
		". The results will come in the next message. Otherwise answer normally.")
	return b.String(), nil
}

// genericTools rewrites a conversation with tools for a template that does
// not take them: the tools described in the system message, assistant
// calls as FormatGeneric JSON after their content, tool results as user
// messages ("Result of ..."), consecutive user messages merged.
func genericTools(msgs []Message, o Options) ([]Message, error) {
	tools, err := toolValues(o)
	if err != nil {
		return nil, err
	}
	needed := tools != nil
	for _, m := range msgs {
		needed = needed || len(m.ToolCalls) > 0 || m.Role == "tool"
	}
	if !needed {
		return msgs, nil
	}
	var out []Message
	if tools != nil {
		p, err := genericToolsPrompt(tools)
		if err != nil {
			return nil, err
		}
		if msgs[0].Role == "system" {
			c := msgs[0].Content
			if c != "" {
				c += "\n\n"
			}
			out = append(out, Message{Role: "system", Content: c + p})
			msgs = msgs[1:]
		} else {
			out = append(out, Message{Role: "system", Content: p})
		}
	}
	for _, m := range msgs {
		switch {
		case m.Role == "tool":
			from := m.Name
			if from == "" {
				from = "a tool"
			}
			if m.ToolCallID != "" {
				from += " (call " + strconv.Quote(m.ToolCallID) + ")"
			}
			m = Message{Role: "user", Content: "Result of " + from + ":\n" + m.Content}
		case len(m.ToolCalls) > 0:
			calls, err := formatCalls(FormatGeneric, m.ToolCalls)
			if err != nil {
				return nil, err
			}
			if m.Content != "" {
				calls = m.Content + "\n" + calls
			}
			m = Message{Role: m.Role, Content: calls, Reasoning: m.Reasoning}
		}
		if n := len(out); n > 0 && m.Role == "user" && out[n-1].Role == "user" {
			out[n-1].Content += "\n\n" + m.Content
			continue
		}
		out = append(out, m)
	}
	return out, nil
}
