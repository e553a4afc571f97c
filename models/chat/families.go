package chat

import (
	"fmt"
	"strings"
	"unicode"
)

// family is a built-in prompt format: a Go rendering of a model family's
// chat template, written from the templates the models ship with.
type family struct {
	name   string
	stops  []string
	format string    // how the family's models write tool calls ("" for FormatGeneric)
	caps   jinjaCaps // what its template needs beyond messages (tools in the system message, calls written into content)
	render func(msgs []Message, o Options) (string, error)
}

// Each constructor below documents the real template it reproduces. "trim"
// is Jinja's trim filter (Python's str.strip()).

// chatml: <|im_start|>{role}\n{content}<|im_end|>\n ... <|im_start|>assistant\n
// (OpenHermes, Qwen, SmolLM, Hermes, Dolphin ...). defSystem is the system
// message a Qwen or SmolLM template adds when the conversation has none; bos
// whether the template starts with bos_token (Hermes 2 and 3).
func chatml(name, defSystem string, bos bool) *family {
	return &family{name: name, stops: []string{"<|im_end|>"}, render: func(msgs []Message, o Options) (string, error) {
		var b strings.Builder
		if bos {
			b.WriteString(o.BOS)
		}
		if defSystem != "" && msgs[0].Role != "system" {
			b.WriteString("<|im_start|>system\n" + defSystem + "<|im_end|>\n")
		}
		for _, m := range msgs {
			b.WriteString("<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>\n")
		}
		if o.AddGenerationPrompt {
			b.WriteString("<|im_start|>assistant\n")
		}
		return b.String(), nil
	}}
}

// llama2 is Meta's Llama 2 chat template: every user turn is
// bos + "[INST] " + trim(content) + " [/INST]", every assistant turn
// " " + trim(content) + " " + eos, and a system message is folded into the
// first user turn as "<<SYS>>\n{system}\n<</SYS>>\n\n". The closing [/INST]
// is the generation prompt, so AddGenerationPrompt changes nothing.
func llama2() *family {
	return &family{name: "llama2", stops: []string{"</s>"}, render: func(msgs []Message, o Options) (string, error) {
		sys, loop, hasSys := splitSystem(msgs)
		if err := alternate(loop); err != nil {
			return "", err
		}
		var b strings.Builder
		for i, m := range loop {
			c := m.Content
			if i == 0 && hasSys {
				c = "<<SYS>>\n" + sys + "\n<</SYS>>\n\n" + c
			}
			if m.Role == "user" {
				b.WriteString(o.BOS + "[INST] " + pyStrip(c) + " [/INST]")
			} else {
				b.WriteString(" " + pyStrip(c) + " " + o.EOS)
			}
		}
		return b.String(), nil
	}}
}

// llama3 is Meta's Llama 3 (3.0) template: bos, then for every message
// "<|start_header_id|>{role}<|end_header_id|>\n\n" + trim(content) + "<|eot_id|>".
func llama3() *family {
	return &family{name: "llama3", stops: []string{"<|eot_id|>"}, render: func(msgs []Message, o Options) (string, error) {
		var b strings.Builder
		b.WriteString(o.BOS)
		for _, m := range msgs {
			b.WriteString("<|start_header_id|>" + m.Role + "<|end_header_id|>\n\n" + pyStrip(m.Content) + "<|eot_id|>")
		}
		if o.AddGenerationPrompt {
			b.WriteString("<|start_header_id|>assistant<|end_header_id|>\n\n")
		}
		return b.String(), nil
	}}
}

// llama31 is Meta's Llama 3.1 / 3.2 / 3.3 template without tools: it
// always opens with a system turn holding "Cutting Knowledge Date: December
// 2023" and "Today Date: {date}" before the system message. The 3.2
// template prints the current date (Options.Date); the 3.1 and 3.3
// templates always print 26 Jul 2024 (dated false).
func llama31(name string, dated bool) *family {
	return &family{name: name, stops: []string{"<|eot_id|>", "<|eom_id|>"}, render: func(msgs []Message, o Options) (string, error) {
		sys, rest, _ := splitSystem(msgs)
		date := "26 Jul 2024"
		if dated {
			date = o.date().Format("02 Jan 2006")
		}
		var b strings.Builder
		b.WriteString(o.BOS + "<|start_header_id|>system<|end_header_id|>\n\n")
		b.WriteString("Cutting Knowledge Date: December 2023\nToday Date: " + date + "\n\n")
		b.WriteString(pyStrip(sys) + "<|eot_id|>")
		for _, m := range rest {
			b.WriteString("<|start_header_id|>" + m.Role + "<|end_header_id|>\n\n" + pyStrip(m.Content) + "<|eot_id|>")
		}
		if o.AddGenerationPrompt {
			b.WriteString("<|start_header_id|>assistant<|end_header_id|>\n\n")
		}
		return b.String(), nil
	}}
}

// mistral renders Mistral's [INST] formats, which changed between releases
// (llama.cpp names them v1, v3, v3-tekken, v7):
//
//	mistral     (Mistral-7B-Instruct v0.1 and v0.2, Mixtral-8x7B-Instruct
//	            v0.1): bos "[INST] {user} [/INST]{assistant}</s>"; v0.1 also
//	            writes a space after every </s> (v01); no system role: the
//	            system message is merged into the first user message with
//	            "\n" between, as llama.cpp does
//	mistral-v1  bos " [INST] {user} [/INST] {assistant}</s>", the system
//	            message before the first user message, "\n\n" between
//	mistral-v3  bos "[INST] {user}[/INST] {trim(assistant)}</s>", the system
//	            message before the LAST user message
//	mistral-v3-tekken  bos "[INST]{user}[/INST]{assistant}</s>", likewise
//	mistral-v7  bos "[SYSTEM_PROMPT] {system}[/SYSTEM_PROMPT]" for system
//	            messages, "[INST] {user}[/INST]", " {assistant}</s>"
//
// The templates reject conversations whose user and assistant turns do not
// alternate (v7 aside), and so does Apply.
func mistral(name string, v01 bool) *family {
	return &family{name: name, stops: []string{"</s>"}, render: func(msgs []Message, o Options) (string, error) {
		b := strings.Builder{}
		b.WriteString(o.BOS)
		sys, loop, hasSys := splitSystem(msgs)
		if name != "mistral-v7" {
			if err := alternate(loop); err != nil {
				return "", err
			}
		} else {
			loop, hasSys = msgs, false
		}
		for i, m := range loop {
			switch name {
			case "mistral":
				if m.Role == "user" {
					c := m.Content
					if i == 0 && hasSys { // no system role: merged as llama.cpp does
						c = sys + "\n" + c
					}
					b.WriteString("[INST] " + c + " [/INST]")
				} else {
					b.WriteString(m.Content + o.EOS)
					if v01 {
						b.WriteString(" ")
					}
				}
			case "mistral-v1":
				if m.Role == "user" {
					c := m.Content
					if i == 0 && hasSys {
						c = sys + "\n\n" + c
					}
					b.WriteString(" [INST] " + c + " [/INST]")
				} else {
					b.WriteString(" " + m.Content + o.EOS)
				}
			case "mistral-v3", "mistral-v3-tekken":
				sp := " "
				if name == "mistral-v3-tekken" {
					sp = ""
				}
				if m.Role == "user" {
					c := m.Content
					if i == len(loop)-1 && hasSys { // only when a user message is last
						c = sys + "\n\n" + c
					}
					b.WriteString("[INST]" + sp + c + "[/INST]")
				} else if sp == "" {
					b.WriteString(m.Content + o.EOS)
				} else {
					b.WriteString(" " + pyStrip(m.Content) + o.EOS)
				}
			case "mistral-v7":
				switch m.Role {
				case "user":
					b.WriteString("[INST] " + m.Content + "[/INST]")
				case "system":
					b.WriteString("[SYSTEM_PROMPT] " + m.Content + "[/SYSTEM_PROMPT]")
				case "assistant":
					b.WriteString(" " + m.Content + o.EOS)
				}
			}
		}
		return b.String(), nil
	}}
}

// phi3 is the Phi-3 / Phi-3.5 template: "<|{role}|>\n{content}<|end|>\n" per
// message, then "<|assistant|>\n" as the generation prompt, or eos without
// one. Phi-3.5 skips empty system messages (skipEmptySystem).
func phi3(name string, skipEmptySystem bool) *family {
	return &family{name: name, stops: []string{"<|end|>", "<|endoftext|>"}, render: func(msgs []Message, o Options) (string, error) {
		var b strings.Builder
		for _, m := range msgs {
			if m.Role == "system" && skipEmptySystem && m.Content == "" {
				continue
			}
			b.WriteString("<|" + m.Role + "|>\n" + m.Content + "<|end|>\n")
		}
		if o.AddGenerationPrompt {
			b.WriteString("<|assistant|>\n")
		} else {
			b.WriteString(o.EOS)
		}
		return b.String(), nil
	}}
}

// gemma is Google's Gemma template: "<start_of_turn>{user|model}\n" +
// trim(content) + "<end_of_turn>\n", generation prompt
// "<start_of_turn>model\n". Gemma has no system role: Gemma 3's template
// puts the system message before the first user message with "\n\n"
// between (sep); Gemma 1 and 2 reject it, and Apply then merges it the way
// llama.cpp does, with "\n". bos: the template starts with bos_token
// (Gemma 2 and 3; Gemma 1's leaves BOS to the tokenizer).
func gemma(name, sep string, bos bool) *family {
	return &family{name: name, stops: []string{"<end_of_turn>"}, render: func(msgs []Message, o Options) (string, error) {
		sys, loop, hasSys := splitSystem(msgs)
		if err := alternate(loop); err != nil {
			return "", err
		}
		var b strings.Builder
		if bos {
			b.WriteString(o.BOS)
		}
		for i, m := range loop {
			role := m.Role
			if role == "assistant" {
				role = "model"
			}
			c := pyStrip(m.Content)
			if i == 0 && hasSys {
				if sep == "\n" { // merged, then trimmed as one text
					c = pyStrip(sys + sep + m.Content)
				} else {
					c = sys + sep + c
				}
			}
			b.WriteString("<start_of_turn>" + role + "\n" + c + "<end_of_turn>\n")
		}
		if o.AddGenerationPrompt {
			b.WriteString("<start_of_turn>model\n")
		}
		return b.String(), nil
	}}
}

// zephyr is the Zephyr template (HuggingFaceH4/zephyr-7b-beta, TinyLlama
// chat, StableLM Zephyr): "<|{role}|>\n{content}" + eos + "\n" per message,
// generation prompt "<|assistant|>\n".
func zephyr() *family {
	return &family{name: "zephyr", stops: []string{"</s>", "<|endoftext|>"}, render: func(msgs []Message, o Options) (string, error) {
		var b strings.Builder
		for _, m := range msgs {
			b.WriteString("<|" + m.Role + "|>\n" + m.Content + o.EOS + "\n")
		}
		if o.AddGenerationPrompt {
			b.WriteString("<|assistant|>\n")
		}
		return b.String(), nil
	}}
}

// splitSystem separates a leading system message.
func splitSystem(msgs []Message) (sys string, rest []Message, ok bool) {
	if len(msgs) > 0 && msgs[0].Role == "system" {
		return msgs[0].Content, msgs[1:], true
	}
	return "", msgs, false
}

// alternate checks that messages go user, assistant, user, ... as the
// templates of Llama 2, Mistral and Gemma require.
func alternate(msgs []Message) error {
	for i, m := range msgs {
		want := "user"
		if i%2 == 1 {
			want = "assistant"
		}
		if m.Role != want {
			return fmt.Errorf("chat: message %d has role %q, but this template needs user and assistant turns alternating, starting with user (after an optional first system message): %w", i, m.Role, ErrMessages)
		}
	}
	return nil
}

// pyStrip is Python's str.strip() (Jinja's trim filter).
func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

// pyIsSpace is Python's str.isspace for one character: Go's unicode.IsSpace
// and the separators U+001C to U+001F.
func pyIsSpace(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f }

// namedFamilies are the templates Named knows, by name.
var namedFamilies = []*family{
	chatml("chatml", "", false),
	llama2(),
	llama3(),
	llama31("llama3.1", true),
	mistral("mistral", false),
	mistral("mistral-v1", false),
	mistral("mistral-v3", false),
	mistral("mistral-v3-tekken", false),
	mistral("mistral-v7", false),
	phi3("phi3", false),
	gemma("gemma", "\n\n", true),
	zephyr(),
	qwen3(),
	smollm3(),
	phi4mini(),
	granite(graniteVersions[2], "granite"),
	lfm2(),
	olmo2(),
}
