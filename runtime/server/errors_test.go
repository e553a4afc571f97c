package server

import (
	"math"
	"net/http"
	"strings"
	"testing"
)

// TestBadRequests: every request the server cannot honour exactly is a 400
// (or 404/405) with an OpenAI error body naming the parameter.
func TestBadRequests(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{}, m)
	const msgs = `"messages":[{"role":"user","content":"hi"}]`
	chatReq := func(extra string) string { return `{"model":"stories",` + msgs + extra + `}` }
	cases := []struct {
		name, path, body string
		status           int
		param            string
		code             string // expected error code, if any
	}{
		{"empty body", "/v1/chat/completions", ``, 400, "", ""},
		{"malformed JSON", "/v1/chat/completions", `{"model":"stories",`, 400, "", ""},
		{"not an object", "/v1/chat/completions", `[1,2]`, 400, "", ""},
		{"trailing garbage", "/v1/chat/completions", chatReq("") + `{}`, 400, "", ""},
		{"no model", "/v1/chat/completions", `{` + msgs + `}`, 400, "model", ""},
		{"model not a string", "/v1/chat/completions", `{"model":5,` + msgs + `}`, 400, "model", ""},
		{"unknown model", "/v1/chat/completions", `{"model":"gpt-4o",` + msgs + `}`, 404, "model", "model_not_found"},
		{"no messages", "/v1/chat/completions", `{"model":"stories"}`, 400, "messages", ""},
		{"empty messages", "/v1/chat/completions", `{"model":"stories","messages":[]}`, 400, "messages", ""},
		{"bad role", "/v1/chat/completions", `{"model":"stories","messages":[{"role":"wizard","content":"x"}]}`, 400, "messages[0].role", ""},
		{"function role", "/v1/chat/completions", `{"model":"stories","messages":[{"role":"function","content":"x","name":"a"}]}`, 400, "messages[0].role", "unsupported_parameter"},
		{"no content", "/v1/chat/completions", `{"model":"stories","messages":[{"role":"user"}]}`, 400, "messages[0].content", ""},
		{"image content", "/v1/chat/completions", `{"model":"stories","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"http://x"}}]}]}`, 400, "messages[0].content[0].type", "unsupported_parameter"},
		{"tool_calls in history", "/v1/chat/completions", `{"model":"stories","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"1"}]}]}`, 400, "messages[0].tool_calls[0]", ""},
		{"tool_calls on a user message", "/v1/chat/completions", `{"model":"stories","messages":[{"role":"user","content":"x","tool_calls":[{"id":"1"}]}]}`, 400, "messages[0].tool_calls", "unsupported_parameter"},
		{"unknown message key", "/v1/chat/completions", `{"model":"stories","messages":[{"role":"user","content":"x","mood":"happy"}]}`, 400, "messages[0].mood", "unknown_parameter"},
		{"n = 2", "/v1/chat/completions", chatReq(`,"n":2`), 400, "n", "unsupported_parameter"},
		{"tool type", "/v1/chat/completions", chatReq(`,"tools":[{"type":"retrieval","function":{"name":"f"}}]`), 400, "tools[0].type", "unsupported_parameter"},
		{"tool name", "/v1/chat/completions", chatReq(`,"tools":[{"type":"function","function":{"name":"a b"}}]`), 400, "tools[0].function.name", ""},
		{"tool_choice required without tools", "/v1/chat/completions", chatReq(`,"tool_choice":"required"`), 400, "tool_choice", ""},
		{"tool_choice unknown function", "/v1/chat/completions", chatReq(`,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}`), 400, "tool_choice", ""},
		{"tool parameters unsupported", "/v1/chat/completions", chatReq(`,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","not":{}}}}],"tool_choice":"required"`), 400, "tools[0].function.parameters", "unsupported_schema"},
		{"reasoning_effort", "/v1/chat/completions", chatReq(`,"reasoning_effort":"extreme"`), 400, "reasoning_effort", ""},
		{"completion: tools", "/v1/completions", `{"model":"stories","prompt":"a","tools":[{"type":"function","function":{"name":"f"}}]}`, 400, "tools", "unsupported_parameter"},
		{"schema keyword unsupported", "/v1/chat/completions", chatReq(`,"response_format":{"type":"json_schema","json_schema":{"name":"x","strict":true,"schema":{"type":"object","properties":{"e":{"type":"string","format":"email"}},"patternProperties":{"a":{}}}}}`), 400, "response_format.json_schema.schema", "unsupported_schema"},
		{"schema invalid", "/v1/chat/completions", chatReq(`,"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"strnig"}}}`), 400, "response_format.json_schema.schema", "invalid_schema"},
		{"response_format type", "/v1/chat/completions", chatReq(`,"response_format":{"type":"xml"}`), 400, "response_format.type", ""},
		{"response_format key", "/v1/chat/completions", chatReq(`,"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{},"strikt":true}}`), 400, "response_format.json_schema.strikt", "unknown_parameter"},
		{"grammar invalid", "/v1/completions", `{"model":"stories","prompt":"x","grammar":"root ::= foo"}`, 400, "grammar", ""},
		{"logit_bias", "/v1/chat/completions", chatReq(`,"logit_bias":{"50":-100}`), 400, "logit_bias", "unsupported_parameter"},
		{"top_logprobs without logprobs", "/v1/chat/completions", chatReq(`,"top_logprobs":3`), 400, "top_logprobs", ""},
		{"top_logprobs 21", "/v1/chat/completions", chatReq(`,"logprobs":true,"top_logprobs":21`), 400, "top_logprobs", ""},
		{"logprobs a number", "/v1/chat/completions", chatReq(`,"logprobs":2`), 400, "logprobs", ""},
		{"unknown parameter", "/v1/chat/completions", chatReq(`,"frobnicate":1`), 400, "frobnicate", "unknown_parameter"},
		{"temperature too high", "/v1/chat/completions", chatReq(`,"temperature":2.5`), 400, "temperature", ""},
		{"temperature a string", "/v1/chat/completions", chatReq(`,"temperature":"hot"`), 400, "temperature", ""},
		{"top_p negative", "/v1/chat/completions", chatReq(`,"top_p":-0.1`), 400, "top_p", ""},
		{"presence_penalty", "/v1/chat/completions", chatReq(`,"presence_penalty":3`), 400, "presence_penalty", ""},
		{"max_tokens zero", "/v1/chat/completions", chatReq(`,"max_tokens":0`), 400, "max_tokens", ""},
		{"max_tokens fraction", "/v1/chat/completions", chatReq(`,"max_tokens":1.5`), 400, "max_tokens", ""},
		{"max_tokens disagree", "/v1/chat/completions", chatReq(`,"max_tokens":5,"max_completion_tokens":6`), 400, "max_completion_tokens", ""},
		{"max_tokens over the limit", "/v1/chat/completions", chatReq(`,"max_tokens":100000`), 400, "max_tokens", ""},
		{"five stops", "/v1/chat/completions", chatReq(`,"stop":["a","b","c","d","e"]`), 400, "stop", ""},
		{"stop a number", "/v1/chat/completions", chatReq(`,"stop":5`), 400, "stop", ""},
		{"stream_options without stream", "/v1/chat/completions", chatReq(`,"stream_options":{"include_usage":true}`), 400, "stream_options", ""},
		{"stream_options unknown key", "/v1/chat/completions", chatReq(`,"stream":true,"stream_options":{"x":1}`), 400, "stream_options.x", "unknown_parameter"},
		{"stream not a bool", "/v1/chat/completions", chatReq(`,"stream":"yes"`), 400, "stream", ""},
		{"completion: no prompt", "/v1/completions", `{"model":"stories"}`, 400, "prompt", ""},
		{"completion: two prompts", "/v1/completions", `{"model":"stories","prompt":["a","b"]}`, 400, "prompt", "unsupported_parameter"},
		{"completion: bad token id", "/v1/completions", `{"model":"stories","prompt":[1,99999]}`, 400, "prompt", ""},
		{"completion: suffix", "/v1/completions", `{"model":"stories","prompt":"a","suffix":"b"}`, 400, "suffix", "unsupported_parameter"},
		{"completion: best_of", "/v1/completions", `{"model":"stories","prompt":"a","best_of":3}`, 400, "best_of", "unsupported_parameter"},
		{"completion: logprobs", "/v1/completions", `{"model":"stories","prompt":"a","logprobs":2}`, 400, "logprobs", "unsupported_parameter"},
		{"completion: max_completion_tokens", "/v1/completions", `{"model":"stories","prompt":"a","max_completion_tokens":2}`, 400, "max_completion_tokens", "unknown_parameter"},
		{"embeddings: no input", "/v1/embeddings", `{"model":"stories"}`, 400, "input", ""},
		{"embeddings: token input", "/v1/embeddings", `{"model":"stories","input":[1,2]}`, 400, "input", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, b := ts.post(t, c.path, c.body)
			e := apiErr(t, resp, b, c.status, c.param)
			if c.code != "" && (e.Code == nil || *e.Code != c.code) {
				t.Errorf("code %v, want %q: %s", e.Code, c.code, b)
			}
			if name := c.param[strings.LastIndex(c.param, ".")+1:]; !strings.Contains(e.Message, name) {
				t.Errorf("the message does not name %s: %q", c.param, e.Message)
			}
		})
	}
	// Methods and paths.
	resp, b := ts.get(t, "/v1/chat/completions")
	apiErr(t, resp, b, http.StatusMethodNotAllowed, "")
	resp, b = ts.post(t, "/v1/models", `{}`)
	apiErr(t, resp, b, http.StatusMethodNotAllowed, "")
	resp, b = ts.post(t, "/v1/files", `{}`)
	apiErr(t, resp, b, http.StatusNotFound, "")
	resp, b = ts.get(t, "/v1/models/../../etc/passwd")
	if resp.StatusCode != 404 && resp.StatusCode != 301 {
		t.Errorf("path traversal: %d %s", resp.StatusCode, b)
	}
	// The server still answers.
	resp, b = ts.post(t, "/v1/completions", `{"model":"stories","prompt":"Once","max_tokens":2}`)
	if resp.StatusCode != 200 {
		t.Fatalf("after the bad requests: %d %s", resp.StatusCode, b)
	}
	golden(t, "error_unsupported_n", mustPost(t, ts, "/v1/chat/completions", chatReq(`,"n":2`)))
	golden(t, "error_context_length", mustPost(t, ts, "/v1/completions", `{"model":"stories","prompt":"`+strings.Repeat("a b c d ", 300)+`"}`))
}

func mustPost(t *testing.T, ts *testServer, path, body string) []byte {
	t.Helper()
	_, b := ts.post(t, path, body)
	return b
}

// TestIntegers: integers are read exactly (a 64-bit seed survives), 5.0
// counts as 5, fractions and strings do not.
func TestIntegers(t *testing.T) {
	for body, want := range map[string]int64{`{"seed":9007199254740993}`: 9007199254740993, `{"seed":-9223372036854775808}`: -9223372036854775808, `{"seed":5.0}`: 5, `{"seed":1e3}`: 1000} {
		f, e := decodeObject([]byte(body))
		if e != nil {
			t.Fatal(e)
		}
		if got := f.integer("seed", math.MinInt64, math.MaxInt64); got == nil || *got != want || f.err != nil {
			t.Errorf("%s: %v %v", body, got, f.err)
		}
	}
	for _, body := range []string{`{"seed":5.5}`, `{"seed":"5"}`, `{"seed":1e30}`, `{"seed":9223372036854775808}`, `{"seed":true}`} {
		f, _ := decodeObject([]byte(body))
		if got := f.integer("seed", math.MinInt64, math.MaxInt64); got != nil || f.err == nil || f.err.Param != "seed" {
			t.Errorf("%s: %v %v", body, got, f.err)
		}
	}
}
