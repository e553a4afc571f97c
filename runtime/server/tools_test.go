package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"
	"github.com/edgeai-go/edgeai/models/chat"
	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/grammar"
)

// The tools are small: stories260K's context is 512 tokens of a 512-token
// vocabulary.
const weatherTools = `[{"type":"function","function":{"name":"get_weather","parameters":` + weatherParams + `}},` +
	`{"type":"function","function":{"name":"get_time"}}]`

const weatherParams = `{"type":"object","properties":{"city":{"type":"string","minLength":1,"maxLength":8},"unit":{"enum":["C","F"]}},"required":["city","unit"],"additionalProperties":false}`

// streamChunks returns the decoded chunks of a chat stream.
func streamChunks(t *testing.T, b []byte) []chatChunk {
	t.Helper()
	evs, err := readSSE(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out []chatChunk
	for _, ev := range evs {
		if ev.data == "[DONE]" {
			continue
		}
		var c chatChunk
		if err := json.Unmarshal([]byte(ev.data), &c); err != nil {
			t.Fatalf("%v: %s", err, ev.data)
		}
		out = append(out, c)
	}
	return out
}

// TestToolCalls: with tool_choice named or required, real generations of
// tiny-qwen2 under a Hermes template (qwen3) and a template without tools
// (chatml: the generic format) are tool calls whose arguments validate
// against the tool's parameters, parsed into tool_calls with
// finish_reason "tool_calls" and content null, and streamed as tool_calls
// deltas that give the same call; parallel_tool_calls false gives one
// call; a conversation with an assistant's tool_calls and a tool message
// renders; tool_choice none hides the tools.
func TestToolCalls(t *testing.T) {
	weather := validator(t, weatherParams)
	for _, tmpl := range []string{"chatml"} { // the generic format; the others: TestCallGrammarFormats
		t.Run(tmpl, func(t *testing.T) {
			// tiny-qwen2 (random weights, Qwen2's 151k vocabulary): the
			// tool prompts do not fit stories260K's 512 tokens.
			// The test models' contexts (256 to 512 positions) are too
			// small for the tool prompts of Qwen3's and SmolLM3's templates.
			file := testutil.Shared(t, "testdata/qwen2/tiny-qwen2-Q8_0.gguf")
			m, err := runtime.Load(context.Background(), file, runtime.WithChatTemplate(tmpl), runtime.WithThreads(1))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { m.Close() })
			ts := start(t, Config{Parallel: 2}, m)
			req := func(extra string) string {
				return `{"model":"stories","messages":[{"role":"user","content":"Weather in Paris?"}],"max_tokens":150,"tools":` + weatherTools + extra + `}`
			}
			var cc chatCompletion
			postJSON(t, ts, "/v1/chat/completions", req(`,"tool_choice":{"type":"function","function":{"name":"get_weather"}}`), &cc)
			ch := cc.Choices[0]
			if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 1 {
				t.Fatalf("named choice: %+v", ch)
			}
			call := ch.Message.ToolCalls[0]
			if call.Function.Name != "get_weather" || call.Type != "function" || !strings.HasPrefix(call.ID, "call_") {
				t.Errorf("call %+v", call)
			}
			validates(t, weather, call.Function.Arguments)
			var raw map[string]map[string][]map[string]any
			_, b := ts.post(t, "/v1/chat/completions", req(`,"tool_choice":{"type":"function","function":{"name":"get_weather"}}`))
			json.Unmarshal(b, &raw)
			if msg := raw["choices"]; msg == nil {
				var generic map[string]any
				json.Unmarshal(b, &generic)
				m := generic["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
				if c, ok := m["content"]; !ok || c != nil {
					t.Errorf("content %v beside tool calls, want null", c)
				}
			}

			// Streamed: the same call, as a tool_calls delta.
			resp, b := ts.post(t, "/v1/chat/completions", req(`,"stream":true,"tool_choice":{"type":"function","function":{"name":"get_weather"}}`))
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			var got []toolCall
			finish := ""
			for _, c := range streamChunks(t, b) {
				if len(c.Choices) == 0 {
					continue
				}
				if d := c.Choices[0].Delta; d.Content != nil && *d.Content != "" {
					t.Errorf("content %q in a forced call's stream", *d.Content)
				}
				got = append(got, c.Choices[0].Delta.ToolCalls...)
				if f := c.Choices[0].FinishReason; f != nil {
					finish = *f
				}
			}
			if len(got) != 1 || got[0].Index == nil || *got[0].Index != 0 || got[0].Function.Name != "get_weather" ||
				got[0].Function.Arguments != call.Function.Arguments || finish != "tool_calls" {
				t.Errorf("streamed calls %+v finish %q; want the call %+v", got, finish, call)
			}

			// required, one call: either tool, its arguments valid.
			for seed := range 4 {
				var cc chatCompletion
				postJSON(t, ts, "/v1/chat/completions", req(fmt.Sprintf(`,"tool_choice":"required","parallel_tool_calls":false,"temperature":1,"seed":%d`, seed)), &cc)
				calls := cc.Choices[0].Message.ToolCalls
				if len(calls) != 1 {
					t.Fatalf("required: %+v", cc.Choices[0])
				}
				switch calls[0].Function.Name {
				case "get_weather":
					validates(t, weather, calls[0].Function.Arguments)
				case "get_time":
					validates(t, validator(t, `{"type":"object"}`), calls[0].Function.Arguments)
				default:
					t.Errorf("required: call of %q", calls[0].Function.Name)
				}
			}

			// The tools reach the prompt (auto), not with none; a history
			// with calls and a tool answer renders.
			var auto, none chatCompletion
			postJSON(t, ts, "/v1/chat/completions", req(`,"max_tokens":1`), &auto)
			postJSON(t, ts, "/v1/chat/completions", req(`,"max_tokens":1,"tool_choice":"none"`), &none)
			if auto.Usage.PromptTokens <= none.Usage.PromptTokens+20 {
				t.Errorf("prompt tokens with tools %d, with tool_choice none %d: the tools are not rendered", auto.Usage.PromptTokens, none.Usage.PromptTokens)
			}
			hist := `{"model":"stories","max_tokens":4,"messages":[{"role":"user","content":"Weather in Paris?"},` +
				`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"unit\":\"C\"}"}}]},` +
				`{"role":"tool","tool_call_id":"call_1","content":"21 degrees"}]}`
			var h chatCompletion
			postJSON(t, ts, "/v1/chat/completions", hist, &h)
			t.Logf("prompt tokens: tools %d, none %d, history %d", auto.Usage.PromptTokens, none.Usage.PromptTokens, h.Usage.PromptTokens)
			if h.Usage.PromptTokens <= none.Usage.PromptTokens {
				t.Errorf("history with a call: %d prompt tokens", h.Usage.PromptTokens)
			}
		})
	}
}

// TestReasoning: a think block at the start of the answer goes to
// reasoning_content, apart from content, whole and streamed (stories260K
// is made to write one by a grammar; the system prompt mentions <think>,
// which is what turns the parsing on for a template that does not think).
func TestReasoning(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{}, m)
	body := func(stream bool) string {
		return fmt.Sprintf(`{"model":"stories","stream":%t,"max_tokens":60,"reasoning_effort":"low","messages":[{"role":"system","content":"Think in <think></think> first."},{"role":"user","content":"Hi"}],`+
			`"grammar":"root ::= \"<think>\" [a-z ]{3,12} \"</think>\" [a-z ]{3,12} \".\""}`, stream)
	}
	var cc chatCompletion
	postJSON(t, ts, "/v1/chat/completions", body(false), &cc)
	msg := cc.Choices[0].Message
	if msg.Reasoning == "" || msg.Content == "" || strings.Contains(msg.Content, "think>") || strings.Contains(msg.Reasoning, "think>") {
		t.Fatalf("reasoning %q content %q", msg.Reasoning, msg.Content)
	}
	_, b := ts.post(t, "/v1/chat/completions", body(true))
	var reasoning, content string
	for _, c := range streamChunks(t, b) {
		if len(c.Choices) == 0 {
			continue
		}
		d := c.Choices[0].Delta
		if d.Reasoning != nil {
			reasoning += *d.Reasoning
		}
		if d.Content != nil {
			content += *d.Content
		}
	}
	if reasoning != msg.Reasoning || content != msg.Content {
		t.Errorf("streamed reasoning %q content %q; whole %q %q", reasoning, content, msg.Reasoning, msg.Content)
	}
}

// TestCallGrammarFormats: the grammar that enforces tool_choice accepts a
// call as each family writes it (the chat package's documented forms), and
// the family's parser reads that text back as the same call.
func TestCallGrammarFormats(t *testing.T) {
	m := loadStories(t)
	spec := toolSpec{Choice: "function", Named: "get_weather", Parallel: true,
		Tools: []tool{{Name: "get_weather", Parameters: json.RawMessage(weatherParams)}, {Name: "get_time"}}}
	args := `{"city": "Paris", "unit": "C"}`
	for _, c := range []struct{ format, text string }{
		{chat.FormatHermes, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": " + args + "}\n</tool_call>"},
		{chat.FormatMistral, "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": " + args + "}]"},
		{chat.FormatGranite, "<|tool_call|>[{\"name\": \"get_weather\", \"arguments\": " + args + "}]"},
		{chat.FormatPhi4, "<|tool_call|>[{\"name\": \"get_weather\", \"arguments\": " + args + "}]<|/tool_call|>"},
		{chat.FormatLlama3, "{\"name\": \"get_weather\", \"parameters\": " + args + "}"},
		{chat.FormatGeneric, "{\"tool_calls\": [{\"name\": \"get_weather\", \"arguments\": " + args + "}]}"},
	} {
		g, e := spec.callGrammar(c.format)
		if e != nil {
			t.Fatalf("%s: %v", c.format, e)
		}
		mt, err := grammar.NewMatcher(g, m.GrammarVocab(), grammar.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := mt.AcceptString(c.text); err != nil || !mt.Complete() {
			t.Errorf("%s: the grammar refuses %q: %v (complete %t)", c.format, c.text, err, mt.Complete())
		}
		msg := chat.ParseOutput(chat.ParserOptions{Format: c.format, Tools: true}, c.text)
		if len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Name != "get_weather" || msg.ToolCalls[0].Arguments != `{"city":"Paris","unit":"C"}` || msg.Content != "" {
			t.Errorf("%s: parsed %+v", c.format, msg)
		}
		// Another function's call is refused.
		mt, _ = grammar.NewMatcher(g, m.GrammarVocab(), grammar.Options{})
		if mt.AcceptString(strings.Replace(c.text, "get_weather", "get_time", 1)) == nil && mt.Complete() {
			t.Errorf("%s: the named choice accepts another function", c.format)
		}
	}
	if _, e := spec.callGrammar(chat.FormatLFM2); e == nil || e.Param != "tool_choice" {
		t.Errorf("lfm2: %v", e)
	}
}

// TestOllamaToolCalls: /api/chat takes the same tools and returns the
// parsed calls with their arguments as a JSON object, whole and in the
// NDJSON stream (tool_choice, an extension there, forces the call).
func TestOllamaToolCalls(t *testing.T) {
	m, err := runtime.Load(context.Background(), testutil.Shared(t, "testdata/qwen2/tiny-qwen2-Q8_0.gguf"), runtime.WithChatTemplate("chatml"), runtime.WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ts := start(t, Config{}, m)
	body := func(stream bool) string {
		return fmt.Sprintf(`{"model":"stories","stream":%t,"options":{"num_predict":150},"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":%s,"tool_choice":{"type":"function","function":{"name":"get_weather"}}}`, stream, weatherTools)
	}
	var a ollamaAnswer
	postJSON(t, ts, "/api/chat", body(false), &a)
	if len(a.Message.ToolCalls) != 1 || a.Message.ToolCalls[0].Function.Name != "get_weather" || a.DoneReason != "stop" {
		t.Fatalf("%+v %+v", a, a.Message)
	}
	args := a.Message.ToolCalls[0].Function.Arguments
	if args[0] != '{' {
		t.Errorf("arguments %s are not an object", args)
	}
	validates(t, validator(t, weatherParams), string(args))
	_, b := ts.post(t, "/api/chat", body(true))
	var got []ollamaToolCall
	for _, l := range ndjson(t, b) {
		got = append(got, l.Message.ToolCalls...)
	}
	if len(got) != 1 || string(got[0].Function.Arguments) != string(args) {
		t.Errorf("streamed calls %+v, want %s", got, args)
	}
}
