package chat

import (
	"context"
	"fmt"
	"strings"
)

// The families of issue 14's models (Qwen3, SmolLM3, Phi-4-mini, Granite
// 3.x, LFM2, OLMo 2), each a Go rendering of its real template, tools and
// reasoning included; testdata/templates holds the templates and
// TestFamiliesMatchTemplates checks each family against the interpreter
// running its template.

// toolValues decodes Options.Tools into template values (nil when empty).
func toolValues(o Options) ([]any, error) {
	if len(o.Tools) == 0 {
		return nil, nil
	}
	v, err := decodeJSON(string(o.Tools))
	if err != nil {
		return nil, fmt.Errorf("chat: tools: %w", err)
	}
	tools, ok := fromJSON(v).([]any)
	if !ok {
		return nil, fmt.Errorf("chat: tools: not a JSON array")
	}
	if len(tools) == 0 {
		return nil, nil
	}
	return tools, nil
}

// pyValue formats a template value as Python's json.dumps (ensure_ascii
// off; indent > 0 pretty-prints) or, with repr, as Python's repr.
func pyValue(v any, indent int, repr bool) (string, error) {
	var b strings.Builder
	r := newRenderer(context.Background(), &b, newBudget(Limits{Memory: 1 << 40, Work: 1 << 50}, 0, nil), nil, Options{})
	if repr {
		err := r.writeRepr(&b, v, 0)
		return b.String(), err
	}
	f := jsonFormat{itemSep: ", ", keySep: ": "}
	if indent > 0 {
		f.pretty, f.indent, f.itemSep = true, strings.Repeat(" ", indent), ","
	}
	err := r.writeJSON(&b, v, f, 0)
	return b.String(), err
}

// callArguments is a tool call's arguments as a template prints them with
// "arguments | tojson" (the text itself when it is not a JSON object).
func callArguments(c ToolCall) (string, error) {
	a := argumentsValue(c.Arguments)
	if s, ok := a.(string); ok {
		return s, nil
	}
	return pyValue(a, 0, false)
}

// qwen3 is Qwen3's template: chatml, the tools in the system turn ("#
// Tools" and a <tools> list of their JSON), calls as <tool_call> JSON,
// results as <tool_response> in user turns, and the reasoning of the
// assistant turns after the last user query shown in <think> blocks;
// enable_thinking false ends the generation prompt with an empty think
// block.
func qwen3() *family {
	return &family{name: "qwen3", stops: []string{"<|im_end|>"}, format: FormatHermes, render: func(msgs []Message, o Options) (string, error) {
		tools, err := toolValues(o)
		if err != nil {
			return "", err
		}
		var b strings.Builder
		if tools != nil {
			b.WriteString("<|im_start|>system\n")
			if msgs[0].Role == "system" {
				b.WriteString(msgs[0].Content + "\n\n")
			}
			b.WriteString("# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>")
			for _, t := range tools {
				j, err := pyValue(t, 0, false)
				if err != nil {
					return "", err
				}
				b.WriteString("\n" + j)
			}
			b.WriteString("\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n")
		} else if msgs[0].Role == "system" {
			b.WriteString("<|im_start|>system\n" + msgs[0].Content + "<|im_end|>\n")
		}
		lastQuery := len(msgs) - 1
		for i := len(msgs) - 1; i >= 0; i-- {
			c := msgs[i].Content
			if msgs[i].Role == "user" && !(strings.HasPrefix(c, "<tool_response>") && strings.HasSuffix(c, "</tool_response>")) {
				lastQuery = i
				break
			}
		}
		for i, m := range msgs {
			switch {
			case m.Role == "user" || (m.Role == "system" && i > 0):
				b.WriteString("<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>\n")
			case m.Role == "assistant":
				content, reasoning := m.Content, ""
				if m.Reasoning != "" {
					reasoning = m.Reasoning
				} else if strings.Contains(content, "</think>") {
					parts := strings.Split(m.Content, "</think>")
					content = strings.TrimLeft(parts[len(parts)-1], "\n")
					r := strings.Split(strings.TrimRight(parts[0], "\n"), "<think>")
					reasoning = strings.TrimLeft(r[len(r)-1], "\n")
				}
				if i > lastQuery && (i == len(msgs)-1 || reasoning != "") {
					b.WriteString("<|im_start|>assistant\n<think>\n" + strings.Trim(reasoning, "\n") + "\n</think>\n\n" + strings.TrimLeft(content, "\n"))
				} else {
					b.WriteString("<|im_start|>assistant\n" + content)
				}
				for j, c := range m.ToolCalls {
					if j > 0 || content != "" {
						b.WriteString("\n")
					}
					args, err := callArguments(c)
					if err != nil {
						return "", err
					}
					b.WriteString("<tool_call>\n{\"name\": \"" + c.Name + "\", \"arguments\": " + args + "}\n</tool_call>")
				}
				b.WriteString("<|im_end|>\n")
			case m.Role == "tool":
				if i == 0 || msgs[i-1].Role != "tool" {
					b.WriteString("<|im_start|>user")
				}
				b.WriteString("\n<tool_response>\n" + m.Content + "\n</tool_response>")
				if i == len(msgs)-1 || msgs[i+1].Role != "tool" {
					b.WriteString("<|im_end|>\n")
				}
			}
		}
		if o.AddGenerationPrompt {
			b.WriteString("<|im_start|>assistant\n")
			if o.EnableThinking != nil && !*o.EnableThinking {
				b.WriteString("<think>\n\n</think>\n\n")
			}
		}
		return b.String(), nil
	}}
}

// smolThinkPrompt is SmolLM3's default system prompt in /think mode.
const smolThinkPrompt = "You are a helpful AI assistant named SmolLM, trained by Hugging Face. Your role as an assistant involves thoroughly exploring questions through a systematic thinking process before providing the final precise and accurate solutions. This requires engaging in a comprehensive cycle of analysis, summarizing, exploration, reassessment, reflection, backtracking, and iteration to develop well-considered thinking process. Please structure your response into two main sections: Thought and Solution using the specified format: <think> Thought section </think> Solution section. In the Thought section, detail your reasoning process in steps. Each step should include detailed considerations such as analysing questions, summarizing relevant findings, brainstorming new ideas, verifying the accuracy of the current steps, refining any errors, and revisiting previous steps. In the Solution section, based on various attempts, explorations, and reflections from the Thought section, systematically present the final solution that you deem correct. The Solution section should be logical, accurate, and concise and detail necessary steps needed to reach the conclusion."

// smollm3 is SmolLM3's template: a system turn with a "## Metadata" block
// (knowledge cutoff, today's date, the reasoning mode), the custom
// instructions (the system message without /think and /no_think, or a
// default) and the tools (xml_tools, each as Python's repr), then chatml
// turns; the mode is /think unless enable_thinking is false or the system
// message says /no_think (it wins over /think), and in /no_think mode every
// assistant turn and the generation prompt start with an empty think
// block. As in the real template, the system turn is closed only when
// there are tools.
func smollm3() *family {
	return &family{name: "smollm3", stops: []string{"<|im_end|>"}, format: FormatHermes, caps: jinjaCaps{callsInContent: true}, render: func(msgs []Message, o Options) (string, error) {
		tools, err := toolValues(o)
		if err != nil {
			return "", err
		}
		mode := "/think"
		if o.EnableThinking != nil && !*o.EnableThinking {
			mode = "/no_think"
		}
		custom, sysMsg := "", ""
		if msgs[0].Role == "system" {
			sysMsg = msgs[0].Content
			switch {
			case strings.Contains(sysMsg, "/no_think"):
				mode = "/no_think"
			case strings.Contains(sysMsg, "/think"):
				mode = "/think"
			}
			custom = strings.TrimRightFunc(strings.ReplaceAll(strings.ReplaceAll(sysMsg, "/no_think", ""), "/think", ""), pyIsSpace)
		}
		var b strings.Builder
		b.WriteString("<|im_start|>system\n")
		if strings.Contains(sysMsg, "/system_override") {
			b.WriteString(strings.TrimRightFunc(strings.ReplaceAll(custom, "/system_override", ""), pyIsSpace) + "<|im_end|>\n")
		} else {
			date, _ := strftime(o.date(), "%d %B %Y")
			b.WriteString("## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: " + date + "\nReasoning Mode: " + mode + "\n\n## Custom Instructions\n\n")
			switch {
			case custom != "":
				b.WriteString(custom + "\n\n")
			case mode == "/think":
				b.WriteString(smolThinkPrompt + "\n\n")
			default:
				b.WriteString("You are a helpful AI assistant named SmolLM, trained by Hugging Face.\n\n")
			}
			if tools != nil {
				b.WriteString("### Tools\n\nYou may call one or more functions to assist with the user query.\nYou are provided with function signatures within <tools></tools> XML tags:\n\n<tools>\n")
				for _, t := range tools {
					s, err := pyValue(t, 0, true)
					if err != nil {
						return "", err
					}
					b.WriteString(s + "\n")
				}
				b.WriteString("</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>\n\n<|im_end|>\n")
			}
		}
		empty := ""
		if mode == "/no_think" {
			empty = "<think>\n\n</think>\n"
		}
		for _, m := range msgs {
			switch m.Role {
			case "user", "tool":
				b.WriteString("<|im_start|>user\n" + m.Content + "<|im_end|>\n")
			case "assistant":
				b.WriteString("<|im_start|>assistant\n" + empty + strings.TrimLeft(m.Content, "\n") + "<|im_end|>\n")
			}
		}
		if o.AddGenerationPrompt {
			b.WriteString("<|im_start|>assistant\n" + empty)
		}
		return b.String(), nil
	}}
}

// phi4mini is Phi-4-mini's template: "<|{role}|>{content}<|end|>" per
// message (no newlines, unlike Phi-3's), "<|assistant|>" as the generation
// prompt or eos without one; the tools are a JSON list in the system turn
// between <|tool|> and <|/tool|> (Options.Tools given to the template as
// the system message's "tools" text, as Microsoft's model card passes
// them).
func phi4mini() *family {
	return &family{name: "phi4-mini", stops: []string{"<|end|>", "<|endoftext|>"}, format: FormatPhi4,
		caps: jinjaCaps{toolsInSystem: true, callsInContent: true}, render: func(msgs []Message, o Options) (string, error) {
			tools, err := systemTools(o)
			if err != nil {
				return "", err
			}
			var b strings.Builder
			if tools != "" && msgs[0].Role != "system" {
				b.WriteString("<|system|><|tool|>" + tools + "<|/tool|><|end|>")
			}
			for i, m := range msgs {
				if i == 0 && m.Role == "system" && tools != "" {
					b.WriteString("<|system|>" + m.Content + "<|tool|>" + tools + "<|/tool|><|end|>")
					continue
				}
				b.WriteString("<|" + m.Role + "|>" + m.Content + "<|end|>")
			}
			if o.AddGenerationPrompt {
				b.WriteString("<|assistant|>")
			} else {
				b.WriteString(o.EOS)
			}
			return b.String(), nil
		}}
}

// systemTools is the tools as templates that take them in the system
// message want them: a JSON list of the functions.
func systemTools(o Options) (string, error) {
	tools, err := toolValues(o)
	if err != nil || tools == nil {
		return "", err
	}
	fns := make([]any, len(tools))
	for i, t := range tools {
		fns[i] = t
		if d, ok := t.(*dict); ok {
			if fn, ok := d.get("function"); ok {
				fns[i] = fn
			}
		}
	}
	return pyValue(fns, 0, false)
}

// granite are IBM's Granite 3.1, 3.2 and 3.3 templates:
// "<|start_of_role|>{role}<|end_of_role|>{content}<|end_of_text|>\n" per
// message, a default system message naming the knowledge cutoff and
// today's date when the conversation has none (with sentences about tools
// or, when thinking is on, about reasoning), the tools as indented JSON in
// a "tools" (3.3: "available_tools") turn, and the generation prompt
// "<|start_of_role|>assistant<|end_of_role|>" after the last message.
type graniteText struct {
	name          string
	before, after string // the default system message around the date
	toolsRole     string
	tools, think  string // sentences added to the default system message
}

var (
	granite31Tools  = " You are a helpful AI assistant with access to the following tools. When a tool is required to answer the user's query, respond with <|tool_call|> followed by a JSON list of tools used. If a tool does not exist in the provided list of tools, notify the user that you do not have the ability to fulfill the request."
	granite33Tools  = " You are a helpful assistant with access to the following tools. When a tool is required to answer the user's query, respond only with <|tool_call|> followed by a JSON list of tools used. If a tool does not exist in the provided list of tools, notify the user that you do not have the ability to fulfill the request."
	graniteThink    = " You are a helpful AI assistant.\nRespond to every user query in a comprehensive and detailed way. You can write down your thoughts and reasoning process before responding. In the thought process, engage in a comprehensive cycle of analysis, summarization, exploration, reassessment, reflection, backtracing, and iteration to develop well-considered thinking process. In the response section, based on various attempts, explorations, and reflections from the thoughts section, systematically present the final solution that you deem correct. The response should summarize the thought process. "
	graniteVersions = []graniteText{
		{name: "granite-3.1", before: "Knowledge Cutoff Date: April 2024.\nToday's Date: ", after: ".\nYou are Granite, developed by IBM.", toolsRole: "tools", tools: granite31Tools},
		{name: "granite-3.2", before: "Knowledge Cutoff Date: April 2024.\nToday's Date: ", after: ".\nYou are Granite, developed by IBM.", toolsRole: "tools", tools: granite31Tools,
			think: graniteThink + "Write your thoughts after 'Here is my thought process:' and write your response after 'Here is my response:' for each user query."},
		{name: "granite-3.3", before: "Knowledge Cutoff Date: April 2024. Today's Date: ", after: ". You are Granite, developed by IBM.", toolsRole: "available_tools", tools: granite33Tools,
			think: graniteThink + "Write your thoughts between <think></think> and write your response between <response></response> for each user query."},
		{name: "granite-3.3-gguf", before: " Knowledge Cutoff Date: April 2024.\n Today's Date: ", after: ". You are Granite, developed by IBM.", toolsRole: "available_tools", tools: granite33Tools,
			think: graniteThink + "Write your thoughts between <think></think> and write your response between <response></response> for each user query."},
	}
)

func granite(v graniteText, name string) *family {
	return &family{name: name, stops: []string{"<|end_of_text|>"}, format: FormatGranite, caps: jinjaCaps{callsInContent: true},
		render: func(msgs []Message, o Options) (string, error) {
			tools, err := toolValues(o)
			if err != nil {
				return "", err
			}
			sys, loop := "", msgs
			if msgs[0].Role == "system" {
				sys, loop = msgs[0].Content, msgs[1:]
			} else {
				date, _ := strftime(o.date(), "%B %d, %Y")
				sys = v.before + date + v.after
				switch {
				case tools != nil:
					sys += v.tools
				case v.think != "" && o.EnableThinking != nil && *o.EnableThinking:
					sys += v.think
				default:
					sys += " You are a helpful AI assistant."
				}
			}
			var b strings.Builder
			b.WriteString("<|start_of_role|>system<|end_of_role|>" + sys + "<|end_of_text|>\n")
			if tools != nil {
				j, err := pyValue(tools, 4, false)
				if err != nil {
					return "", err
				}
				b.WriteString("<|start_of_role|>" + v.toolsRole + "<|end_of_role|>" + j + "<|end_of_text|>\n")
			}
			for i, m := range loop {
				b.WriteString("<|start_of_role|>" + m.Role + "<|end_of_role|>" + m.Content + "<|end_of_text|>\n")
				if i == len(loop)-1 && o.AddGenerationPrompt {
					b.WriteString("<|start_of_role|>assistant<|end_of_role|>")
				}
			}
			return b.String(), nil
		}}
}

// lfm2 is Liquid AI's LFM2 template: bos, then chatml turns; the tools are
// appended to the system message as "List of tools:
// <|tool_list_start|>[...]<|tool_list_end|>" (a system turn is written
// when there is a system message or tools), and tool results are wrapped
// in <|tool_response_start|> and <|tool_response_end|>.
func lfm2() *family {
	return &family{name: "lfm2", stops: []string{"<|im_end|>"}, format: FormatLFM2, caps: jinjaCaps{callsInContent: true},
		render: func(msgs []Message, o Options) (string, error) {
			tools, err := toolValues(o)
			if err != nil {
				return "", err
			}
			var b strings.Builder
			b.WriteString(o.BOS)
			sys, loop := "", msgs
			if msgs[0].Role == "system" {
				sys, loop = msgs[0].Content, msgs[1:]
			}
			if tools != nil {
				if sys != "" {
					sys += "\n"
				}
				sys += "List of tools: <|tool_list_start|>["
				for i, t := range tools {
					j, err := pyValue(t, 0, false)
					if err != nil {
						return "", err
					}
					if i > 0 {
						sys += ", "
					}
					sys += j
				}
				sys += "]<|tool_list_end|>"
			}
			if sys != "" {
				b.WriteString("<|im_start|>system\n" + sys + "<|im_end|>\n")
			}
			for _, m := range loop {
				c := m.Content
				if m.Role == "tool" {
					c = "<|tool_response_start|>" + c + "<|tool_response_end|>"
				}
				b.WriteString("<|im_start|>" + m.Role + "\n" + c + "<|im_end|>\n")
			}
			if o.AddGenerationPrompt {
				b.WriteString("<|im_start|>assistant\n")
			}
			return b.String(), nil
		}}
}

// olmo2 is AllenAI's OLMo 2 (Tülu 3) template: bos, then
// "<|system|>\n{content}\n", "<|user|>\n{content}\n", and
// "<|assistant|>\n{content}" + eos (+ "\n" unless it is the last message);
// the generation prompt "<|assistant|>\n" follows the last message.
func olmo2() *family {
	return &family{name: "olmo2", stops: []string{"<|endoftext|>"}, render: func(msgs []Message, o Options) (string, error) {
		var b strings.Builder
		b.WriteString(o.BOS)
		for i, m := range msgs {
			last := i == len(msgs)-1
			switch m.Role {
			case "system", "user":
				b.WriteString("<|" + m.Role + "|>\n" + m.Content + "\n")
			case "assistant":
				b.WriteString("<|assistant|>\n" + m.Content + o.EOS)
				if !last {
					b.WriteString("\n")
				}
			}
			if last && o.AddGenerationPrompt {
				b.WriteString("<|assistant|>\n")
			}
		}
		return b.String(), nil
	}}
}
