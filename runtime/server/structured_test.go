package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// personSchema is the schema of the structured-output tests.
const personSchema = `{"type":"object","properties":{"name":{"type":"string","minLength":1,"maxLength":12},` +
	`"age":{"type":"integer","minimum":0,"maximum":120},"pet":{"enum":["cat","dog","bird"]},` +
	`"tags":{"type":"array","items":{"type":"string","maxLength":6},"maxItems":3}},` +
	`"required":["name","age","pet"],"additionalProperties":false}`

// validator compiles schema with a well-kept validator.
func validator(t *testing.T, schema string) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validates(t *testing.T, s *jsonschema.Schema, text string) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		t.Fatalf("the answer %q is not JSON: %v", text, err)
	}
	if err := s.Validate(inst); err != nil {
		t.Fatalf("the answer %q does not validate: %v", text, err)
	}
}

// TestResponseFormat: response_format json_schema (strict or not) and
// json_object constrain real generations of stories260K (which knows
// nothing of JSON) to texts that parse and validate, streamed or not, at
// several seeds and temperatures, on chat and text completions, even when
// max_tokens comes first; the grammar extension takes GBNF.
func TestResponseFormat(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{Parallel: 2}, m)
	person := validator(t, personSchema)
	anyObject := validator(t, `{"type":"object"}`)

	for i, c := range []struct {
		temp   float64
		strict bool
		stream bool
	}{{0, true, false}, {0.8, true, true}, {1.5, false, false}, {1, true, true}} {
		body := fmt.Sprintf(`{"model":"stories","messages":[{"role":"user","content":"Tell me about a person."}],"temperature":%g,"seed":%d,"max_tokens":80,`+
			`"stream":%t,"response_format":{"type":"json_schema","json_schema":{"name":"person","strict":%t,"schema":%s}}}`, c.temp, i+1, c.stream, c.strict, personSchema)
		var text, finish string
		if c.stream {
			resp, b := ts.post(t, "/v1/chat/completions", body)
			if resp.StatusCode != 200 {
				t.Fatalf("case %d: %d %s", i, resp.StatusCode, b)
			}
			text, finish = streamText(t, b, true)
		} else {
			var cc chatCompletion
			postJSON(t, ts, "/v1/chat/completions", body, &cc)
			text, finish = cc.Choices[0].Message.Content, cc.Choices[0].FinishReason
		}
		validates(t, person, text)
		if finish != "stop" {
			t.Errorf("case %d: finish_reason %q for a complete answer", i, finish)
		}
	}

	// json_object on a text completion whose max_tokens is short: the
	// grammar closes the object in time.
	for _, n := range []int{6, 16} {
		var tc textCompletion
		postJSON(t, ts, "/v1/completions", fmt.Sprintf(`{"model":"stories","prompt":"Once upon a time","max_tokens":%d,"temperature":1,"seed":3,"response_format":{"type":"json_object"}}`, n), &tc)
		validates(t, anyObject, tc.Choices[0].Text)
	}

	// GBNF (llama.cpp's "grammar" field).
	var tc textCompletion
	postJSON(t, ts, "/v1/completions", `{"model":"stories","prompt":"Is the cat happy?","max_tokens":10,"grammar":"root ::= (\"yes\" | \"no\") \", \" [a-z]+ \".\""}`, &tc)
	if got := tc.Choices[0].Text; !(strings.HasPrefix(got, "yes, ") || strings.HasPrefix(got, "no, ")) || !strings.HasSuffix(got, ".") {
		t.Errorf("grammar answer %q", got)
	}

	// An unsupported keyword is named in the 400, with its place.
	resp, b := ts.post(t, "/v1/chat/completions", `{"model":"stories","messages":[{"role":"user","content":"x"}],`+
		`"response_format":{"type":"json_schema","json_schema":{"name":"x","strict":true,"schema":{"type":"object","properties":{"e":{"type":"string","format":"email"}},"not":{}}}}}`)
	e := apiErr(t, resp, b, 400, "response_format.json_schema.schema")
	for _, want := range []string{`format "email" at #/properties/e`, "not at #"} {
		if !strings.Contains(e.Message, want) {
			t.Errorf("the message %q does not name %s", e.Message, want)
		}
	}
}

// postJSON posts body, wants a 200 and decodes the answer into v.
func postJSON(t *testing.T, ts *testServer, path, body string, v any) {
	t.Helper()
	resp, b := ts.post(t, path, body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v: %s", path, err, b)
	}
}

// streamText parses a completion stream body and returns its text and
// finish_reason.
func streamText(t *testing.T, b []byte, chat bool) (string, string) {
	t.Helper()
	evs, err := readSSE(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	sr, err := parseStream(evs, chat)
	if err != nil || !sr.done {
		t.Fatalf("stream: %v (done %t): %s", err, sr.done, b)
	}
	return sr.text, sr.finish
}
