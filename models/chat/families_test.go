package chat

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestNamedFamilies checks the built-in templates of issue 14's families
// against their models' real templates: Python jinja2's renderings of the
// golden conversations, and the renderings of the tool conversations by
// Detect's template (the Python ones where the template takes tools and
// calls, see TestToolTemplates).
func TestNamedFamilies(t *testing.T) {
	for _, c := range []struct{ name, model string }{
		{"qwen3", "Qwen/Qwen3-0.6B"},
		{"smollm3", "HuggingFaceTB/SmolLM3-3B"},
		{"phi4-mini", "microsoft/Phi-4-mini-instruct"},
		{"granite", "ibm-granite/granite-3.3-2b-instruct (llama.cpp)"},
		{"lfm2", "LiquidAI/LFM2-350M"},
		{"olmo2", "allenai/OLMo-2-1124-7B-Instruct"},
		{"gemma", "google/gemma-3-1b-it"},
	} {
		tm, err := Named(c.name)
		if err != nil {
			t.Fatal(err)
		}
		real := findReal(t, c.model)
		for i, conv := range goldenConversations {
			got, err := tm.Apply(conv.msgs, Options{BOS: real.bos, EOS: real.eos, AddGenerationPrompt: conv.gen})
			if err != nil || got != real.want[i] {
				t.Errorf("Named(%q) vs %s conversation %d:\n got %q, %v\nwant %q", c.name, c.model, i, got, err, real.want[i])
			}
		}
		dt, err := Detect(real.tmpl)
		if err != nil {
			t.Fatal(err)
		}
		if dt.ToolFormat() != tm.ToolFormat() {
			t.Errorf("Named(%q) format %q, Detect's %q", c.name, tm.ToolFormat(), dt.ToolFormat())
		}
		for i, conv := range toolConversations {
			o := conv.options(real)
			want, werr := dt.Render(context.Background(), conv.msgs, o)
			got, err := tm.Render(context.Background(), conv.msgs, o)
			if (err != nil) != (werr != nil) || got != want {
				t.Errorf("Named(%q) vs %s tool conversation %d:\n got %q, %v\nwant %q, %v", c.name, c.model, i, got, err, want, werr)
			}
		}
	}
}

// TestDetectedFamilies checks which templates run on a family's Go
// rendering for tools and reasoning too (Detect compared them on its tool
// probes), so that a template change that breaks one is noticed.
func TestDetectedFamilies(t *testing.T) {
	want := map[string]bool{
		"Qwen/Qwen3-0.6B": true, "HuggingFaceTB/SmolLM3-3B": true, "HuggingFaceTB/SmolLM3-3B (GGUF)": true,
		"microsoft/Phi-4-mini-instruct": true, "LiquidAI/LFM2-350M": true, "allenai/OLMo-2-1124-7B-Instruct": true,
		"ibm-granite/granite-3.1-1b-a400m-instruct": true, "ibm-granite/granite-3.2-8b-instruct": true,
		"ibm-granite/granite-3.3-2b-instruct": true, "ibm-granite/granite-3.3-2b-instruct (llama.cpp)": true,
		"google/gemma-2-2b-it": true, "google/gemma-3-1b-it": true, "google/gemma-3-270m-it": true,
	}
	for _, r := range realTemplates {
		tm, err := Detect(r.tmpl)
		if err != nil {
			t.Fatal(err)
		}
		if want[r.name] && !tm.famTools {
			t.Errorf("%s (%s): the family does not render tools and reasoning as the template does", r.name, tm.Name)
		}
	}
}

// TestFamiliesMatchTemplatesTools compares the families that render tools
// and reasoning with the interpreter running their templates on random
// conversations with tools, calls, results, reasoning, think tags and the
// thinking switch.
func TestFamiliesMatchTemplatesTools(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	words := []string{"a", " b", "c ", "\n", "  ", "déjà", "x y", "<think>", "</think>", "/think", "/no_think", "<tool_response>", "</tool_response>", ""}
	text := func() string {
		var b strings.Builder
		for range r.IntN(5) {
			b.WriteString(words[r.IntN(len(words))])
		}
		return b.String()
	}
	call := func(i int) ToolCall {
		args := []string{`{"city": "Paris"}`, `{}`, `{"n": 1.5, "ok": true, "l": [1, "x", null]}`, `not json`, `{"s": "é\"\n"}`}
		return ToolCall{ID: fmt.Sprintf("call%05d", i), Name: []string{"get_weather", "get_time"}[r.IntN(2)], Arguments: args[r.IntN(len(args))]}
	}
	for _, c := range realTemplates {
		tm, err := Detect(c.tmpl)
		if err != nil {
			t.Fatal(err)
		}
		if tm.fam == nil || !tm.famTools {
			continue
		}
		for n := range 300 {
			var msgs []Message
			if r.IntN(2) == 0 {
				msgs = append(msgs, Message{Role: "system", Content: text()})
			}
			for i := range 1 + r.IntN(6) {
				switch {
				case i%2 == 0 && r.IntN(4) == 0 && len(msgs) > 0:
					msgs = append(msgs, Message{Role: "tool", Content: text(), ToolCallID: "call00001", Name: "get_weather"})
				case i%2 == 0:
					msgs = append(msgs, Message{Role: "user", Content: text()})
				default:
					m := Message{Role: "assistant", Content: text()}
					if r.IntN(3) == 0 {
						m.Reasoning = text()
					}
					for k := range r.IntN(3) {
						m.ToolCalls = append(m.ToolCalls, call(k))
					}
					msgs = append(msgs, m)
				}
			}
			if len(msgs) == 0 {
				continue
			}
			o := Options{BOS: c.bos, EOS: c.eos, AddGenerationPrompt: r.IntN(2) == 0}
			if r.IntN(2) == 0 {
				o.Tools = []byte(toolsJSON)
			}
			switch r.IntN(3) {
			case 1:
				o.EnableThinking = &yes
			case 2:
				o.EnableThinking = &no
			}
			prepared, err := tm.prepare(msgs, o)
			if err != nil {
				continue
			}
			want, werr := tm.renderJinja(context.Background(), prepared, o, nil)
			got, gerr := tm.fam.render(prepared, o)
			if (werr != nil) != (gerr != nil) || got != want {
				t.Fatalf("%s (%s) case %d on %+v, options %+v:\nfamily   %q, %v\ntemplate %q, %v", c.name, tm.Name, n, msgs, o, got, gerr, want, werr)
			}
		}
	}
}
