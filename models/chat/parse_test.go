package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// parseCase is a model's answer and what it means.
type parseCase struct {
	name              string
	o                 ParserOptions
	text              string
	content, thinking string
	calls             []ToolCall // IDs compared when set
}

func hermes() ParserOptions         { return ParserOptions{Format: FormatHermes, Tools: true, Reasoning: true} }
func format(f string) ParserOptions { return ParserOptions{Format: f, Tools: true} }

var weather = ToolCall{Name: "get_weather", Arguments: `{"city":"Paris"}`}

var parseCases = []parseCase{
	{"hermes", hermes(), "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>", "", "", []ToolCall{weather}},
	{"hermes-content-two-calls", hermes(), "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>", "Let me check.\n", "",
		[]ToolCall{weather, {Name: "get_time", Arguments: "{}"}}},
	{"hermes-think", hermes(), "<think>\nThe user wants the weather.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>", "", "The user wants the weather.", []ToolCall{weather}},
	{"hermes-string-arguments", hermes(), "<tool_call>{\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": \\\"Paris\\\"}\"}</tool_call>", "", "", []ToolCall{weather}},
	{"hermes-unterminated", hermes(), "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}", "", "", []ToolCall{weather}},
	{"hermes-not-json", hermes(), "<tool_call>not json</tool_call> after", "<tool_call>not json</tool_call> after", "", nil},
	{"hermes-text-like-a-marker", hermes(), "Use <b>bold</b> and <tool", "Use <b>bold</b> and <tool", "", nil},
	{"hermes-no-tools", ParserOptions{Format: FormatHermes, Reasoning: true}, "<think>hm</think>Text <tool_call>{}</tool_call>", "Text <tool_call>{}</tool_call>", "hm", nil},
	{"hermes-nested-braces-in-strings", hermes(), "<tool_call>{\"name\": \"note\", \"arguments\": {\"text\": \"a } ] </tool_call> b\"}}</tool_call>", "", "", []ToolCall{{Name: "note", Arguments: `{"text":"a } ] </tool_call> b"}`}}},
	{"think-only", ParserOptions{Format: FormatHermes, Reasoning: true}, "<think>\nA\nB\n</think>\n\nAnswer.", "Answer.", "A\nB", nil},
	{"think-open-prompt", ParserOptions{Format: FormatHermes, Reasoning: true, InReasoning: true}, "Sum 2 and 2.\n</think>\n\n4", "4", "Sum 2 and 2.", nil},
	{"think-unterminated", ParserOptions{Format: FormatHermes, Reasoning: true}, "<think>still thinking", "", "still thinking", nil},
	{"think-not-at-start", ParserOptions{Format: FormatHermes, Reasoning: true}, "I <think> so", "I <think> so", "", nil},
	{"llama3-json", format(FormatLlama3), "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}", "", "", []ToolCall{weather}},
	{"llama3-python-tag", format(FormatLlama3), "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}", "", "", []ToolCall{weather}},
	{"llama3-builtin", format(FormatLlama3), "<|python_tag|>brave_search.call(query=\"weather in Paris\")", "", "", []ToolCall{{Name: "brave_search", Arguments: `{"query":"weather in Paris"}`}}},
	{"llama3-code", format(FormatLlama3), "<|python_tag|>print('hey')", "", "", []ToolCall{{Name: "python", Arguments: `{"code":"print('hey')"}`}}},
	{"llama3-two", format(FormatLlama3), "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}; {\"name\": \"get_time\", \"parameters\": {}}", "", "", []ToolCall{weather, {Name: "get_time", Arguments: "{}"}}},
	{"llama3-json-answer", format(FormatLlama3), "{\"answer\": 42}", "{\"answer\": 42}", "", nil},
	{"llama3-text", format(FormatLlama3), "Paris is sunny {today}.", "Paris is sunny {today}.", "", nil},
	{"mistral-list", format(FormatMistral), "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}, \"id\": \"abc123def\"}]", "", "",
		[]ToolCall{{ID: "abc123def", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
	{"mistral-list-space", format(FormatMistral), "[TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}, {\"name\": \"get_time\", \"arguments\": {}}]", "", "", []ToolCall{weather, {Name: "get_time", Arguments: "{}"}}},
	{"mistral-args-form", format(FormatMistral), "[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\"}", "", "", []ToolCall{weather}},
	{"phi4-functools", format(FormatPhi4), "functools[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]", "", "", []ToolCall{weather}},
	{"phi4-tags", format(FormatPhi4), "<|tool_call|>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}<|/tool_call|>", "", "", []ToolCall{weather}},
	{"granite", format(FormatGranite), "<|tool_call|>[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]", "", "", []ToolCall{weather}},
	{"granite-think", ParserOptions{Format: FormatGranite, Tools: true, Reasoning: true}, "<think>I'm\nthinking</think>Hello, world!", "Hello, world!", "I'm\nthinking", nil},
	{"lfm2-python", format(FormatLFM2), "<|tool_call_start|>[get_weather(city=\"Paris\"), get_time()]<|tool_call_end|>Checking.", "Checking.", "",
		[]ToolCall{weather, {Name: "get_time", Arguments: "{}"}}},
	{"lfm2-python-values", format(FormatLFM2), "<|tool_call_start|>[f(a='x\\'y', b=-1.5e3, c=True, d=None, e=[1, 'two', {'k': False}])]<|tool_call_end|>", "", "",
		[]ToolCall{{Name: "f", Arguments: `{"a":"x'y","b":-1.5e3,"c":true,"d":null,"e":[1,"two",{"k":false}]}`}}},
	{"lfm2-json", format(FormatLFM2), "<|tool_call_start|>[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]<|tool_call_end|>", "", "", []ToolCall{weather}},
	{"generic", format(FormatGeneric), "{\"tool_calls\": [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]}", "", "", []ToolCall{weather}},
	{"generic-fenced", format(FormatGeneric), "```json\n{\"tool_calls\": [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]}\n```", "", "", []ToolCall{weather}},
	{"generic-response", format(FormatGeneric), "{\"response\": \"It is sunny.\"}", "It is sunny.", "", nil},
	{"generic-text", format(FormatGeneric), "  It is sunny.", "  It is sunny.", "", nil},
	{"generic-code-fence", format(FormatGeneric), "```go\nx := 1\n```", "```go\nx := 1\n```", "", nil},
}

// collect feeds text to a parser in the given pieces and gathers the
// answer, checking that call indexes count up.
func collect(t *testing.T, o ParserOptions, pieces []string) Message {
	t.Helper()
	n := 0
	o.NewID = func() string { n++; return fmt.Sprintf("id%d", n) }
	p := NewParser(o)
	m := Message{Role: "assistant"}
	add := func(d Delta) {
		m.Content += d.Content
		m.Reasoning += d.Reasoning
		for _, c := range d.ToolCalls {
			if c.Index != len(m.ToolCalls) {
				t.Errorf("call index %d, want %d", c.Index, len(m.ToolCalls))
			}
			m.ToolCalls = append(m.ToolCalls, ToolCall{ID: c.ID, Name: c.Name, Arguments: c.Arguments})
		}
	}
	for _, s := range pieces {
		add(p.Feed(s))
	}
	add(p.Close())
	return m
}

// sameCalls compares calls: names, JSON-equal arguments, and IDs where
// want has them.
func sameCalls(got, want []ToolCall) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		var a, b any
		if json.Unmarshal([]byte(got[i].Arguments), &a) != nil || json.Unmarshal([]byte(want[i].Arguments), &b) != nil {
			return false
		}
		if got[i].Name != want[i].Name || !reflect.DeepEqual(a, b) || (want[i].ID != "" && got[i].ID != want[i].ID) || got[i].ID == "" {
			return false
		}
	}
	return true
}

// chunks splits s at random places (bytes, not characters: a piece may
// end inside a UTF-8 sequence).
func chunks(r *rand.Rand, s string) []string {
	var out []string
	for len(s) > 0 {
		n := 1 + r.IntN(min(len(s), 12))
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

// TestParser checks each format's answers, parsed whole, byte by byte
// and in random pieces.
func TestParser(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range parseCases {
		splits := [][]string{{c.text}, strings.Split(c.text, "")}
		for range 20 {
			splits = append(splits, chunks(r, c.text))
		}
		for _, pieces := range splits {
			m := collect(t, c.o, pieces)
			if m.Content != c.content || m.Reasoning != c.thinking || !sameCalls(m.ToolCalls, c.calls) {
				t.Errorf("%s in %d pieces: content %q reasoning %q calls %+v\nwant content %q reasoning %q calls %+v", c.name, len(pieces), m.Content, m.Reasoning, m.ToolCalls, c.content, c.thinking, c.calls)
				break
			}
		}
		if m := ParseOutput(c.o, c.text); m.Content != c.content || !sameCalls(m.ToolCalls, c.calls) {
			t.Errorf("%s: ParseOutput %+v", c.name, m)
		}
	}
}

// TestParserNeverLeaksMarkers checks that no content delta holds the
// beginning of a call marker while the call is being written.
func TestParserNeverLeaksMarkers(t *testing.T) {
	for _, f := range []string{FormatHermes, FormatMistral, FormatPhi4, FormatGranite, FormatLFM2, FormatLlama3} {
		for _, m := range callMarkers(f) {
			text := "Sure." + m[0] + `[{"name": "f", "arguments": {}}]` + m[1]
			p := NewParser(ParserOptions{Format: f, Tools: true})
			var content string
			for i := range len(text) {
				content += p.Feed(text[i : i+1]).Content
			}
			content += p.Close().Content
			if content != "Sure." {
				t.Errorf("%s %s: content %q", f, m[0], content)
			}
		}
	}
}

// TestToolRoundTrip renders a request with tools through each family's
// real template, parses a scripted answer in the model's own format (fed
// whole, byte by byte and in random pieces), and renders the conversation
// continued with the parsed calls and a tool result.
func TestToolRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	q := Message{Role: "user", Content: "What's the weather in Paris?"}
	for _, c := range []struct {
		model, answer string
		content       string
		calls         []ToolCall
		inPrompt      string // the tools' text the prompt must hold
	}{
		{"Qwen/Qwen3-0.6B", "<think>\nThe user asks for the weather.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>", "",
			[]ToolCall{{Name: "get_weather", Arguments: `{"city":"Paris","unit":"celsius"}`}}, "<tools>\n{\"type\": \"function\""},
		{"Qwen/Qwen2.5-7B-Instruct", "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>", "",
			[]ToolCall{weather, {Name: "get_time", Arguments: "{}"}}, "<tools>\n{\"type\": \"function\""},
		{"meta-llama/Llama-3.1-8B-Instruct", "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}", "", []ToolCall{weather}, "\"name\": \"get_weather\""},
		{"meta-llama/Llama-3.2-3B-Instruct", "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}", "", []ToolCall{weather}, "\"name\": \"get_weather\""},
		{"mistralai/Mistral-Nemo-Instruct-2407", "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}, \"id\": \"a1b2c3d4e\"}]", "",
			[]ToolCall{{ID: "a1b2c3d4e", Name: "get_weather", Arguments: `{"city":"Paris"}`}}, "[AVAILABLE_TOOLS][{\"type\": \"function\""},
		{"mistralai/Mistral-7B-Instruct-v0.3", "[TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]", "", []ToolCall{weather}, "[AVAILABLE_TOOLS]"},
		{"microsoft/Phi-4-mini-instruct", "functools[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]", "", []ToolCall{weather}, "<|tool|>[{\"name\": \"get_weather\""},
		{"ibm-granite/granite-3.3-2b-instruct", "<|tool_call|>[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]", "", []ToolCall{weather}, "<|start_of_role|>available_tools<|end_of_role|>["},
		{"ibm-granite/granite-3.1-1b-a400m-instruct", "<|tool_call|>[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]", "", []ToolCall{weather}, "<|start_of_role|>tools<|end_of_role|>["},
		{"HuggingFaceTB/SmolLM3-3B", "<think>\nCall the tool.\n</think>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>", "", []ToolCall{weather}, "<tools>\n{'type': 'function'"},
		{"LiquidAI/LFM2-350M", "<|tool_call_start|>[get_weather(city=\"Paris\")]<|tool_call_end|>Let me check the weather.", "Let me check the weather.", []ToolCall{weather}, "List of tools: <|tool_list_start|>["},
		{"google/gemma-3-1b-it", "{\"tool_calls\": [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]}", "", []ToolCall{weather}, "You can call these tools"},
		{"allenai/OLMo-2-1124-7B-Instruct", "```json\n{\"tool_calls\": [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]}\n```", "", []ToolCall{weather}, "You can call these tools"},
		{"deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "<think>\nI need the weather.\n</think>\n\n{\"tool_calls\": [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]}", "", []ToolCall{weather}, "You can call these tools"},
	} {
		real := findReal(t, c.model)
		tm, err := Detect(real.tmpl)
		if err != nil {
			t.Fatal(err)
		}
		o := Options{BOS: real.bos, EOS: real.eos, AddGenerationPrompt: true, Tools: []byte(toolsJSON)}
		prompt, err := tm.Render(context.Background(), []Message{q}, o)
		if err != nil {
			t.Errorf("%s: %v", c.model, err)
			continue
		}
		if !strings.Contains(prompt, c.inPrompt) || !strings.Contains(prompt, "get_time") {
			t.Errorf("%s: the prompt lacks the tools (%q):\n%s", c.model, c.inPrompt, prompt)
		}
		for k, pieces := range [][]string{{c.answer}, strings.Split(c.answer, ""), chunks(r, c.answer), chunks(r, c.answer)} {
			p := tm.NewParser(prompt, o)
			m := Message{Role: "assistant"}
			for _, d := range append([]Delta{}, func() []Delta {
				var ds []Delta
				for _, s := range pieces {
					ds = append(ds, p.Feed(s))
				}
				return append(ds, p.Close())
			}()...) {
				m.Content += d.Content
				m.Reasoning += d.Reasoning
				for _, tc := range d.ToolCalls {
					m.ToolCalls = append(m.ToolCalls, ToolCall{ID: tc.ID, Name: tc.Name, Arguments: tc.Arguments})
				}
			}
			if m.Content != c.content || !sameCalls(m.ToolCalls, c.calls) {
				t.Errorf("%s (%s, split %d): content %q calls %+v, want %q %+v", c.model, tm.ToolFormat(), k, m.Content, m.ToolCalls, c.content, c.calls)
				break
			}
			if k > 0 {
				continue
			}
			// The conversation goes on with the calls and their results.
			msgs := []Message{q, m}
			for _, tc := range m.ToolCalls {
				msgs = append(msgs, Message{Role: "tool", Content: `{"temperature": 21}`, ToolCallID: tc.ID, Name: tc.Name})
			}
			next, err := tm.Render(context.Background(), msgs, o)
			if err != nil {
				if c.model == "meta-llama/Llama-3.1-8B-Instruct" || c.model == "mistralai/Mistral-Nemo-Instruct-2407" {
					t.Errorf("%s: rendering the calls: %v", c.model, err)
				}
				continue
			}
			// (Mistral v0.3's template takes results as "tool_results" messages.)
			if !strings.Contains(next, "get_weather") || !strings.Contains(next, "temperature") && c.model != "mistralai/Mistral-7B-Instruct-v0.3" {
				t.Errorf("%s: the next prompt lacks the call or its result:\n%s", c.model, next)
			}
		}
	}
}

func ExampleTemplate_NewParser() {
	tm, err := Named("qwen3")
	if err != nil {
		panic(err)
	}
	opt := Options{AddGenerationPrompt: true, Tools: []byte(`[{"type": "function", "function": {"name": "get_weather",
		"parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]`)}
	msgs := []Message{{Role: "user", Content: "What's the weather in Paris?"}}
	prompt, err := tm.Render(context.Background(), msgs, opt)
	if err != nil {
		panic(err)
	}
	// The model's answer, as it is generated.
	p := tm.NewParser(prompt, opt)
	for _, piece := range []string{"<think>\nUse the tool.\n</th", "ink>\n\n<tool", "_call>\n{\"name\": \"get_weather\", ", "\"arguments\": {\"city\": \"Paris\"}}\n</tool_call>", ""} {
		d := p.Feed(piece)
		if piece == "" {
			d = p.Close()
		}
		fmt.Printf("%q %q", d.Reasoning, d.Content)
		for _, c := range d.ToolCalls {
			fmt.Printf(" call %d: %s %s", c.Index, c.Name, c.Arguments)
		}
		fmt.Println()
	}
	// Output:
	// "Use the tool." ""
	// "" ""
	// "" ""
	// "" "" call 0: get_weather {"city":"Paris"}
	// "" ""
}
