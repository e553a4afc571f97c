package server

import (
	"encoding/json"
	"testing"
)

// FuzzRequestDecoder: the request decoders never panic, and what they
// accept is within the documented bounds; what they reject is a 4xx error
// with a message.
func FuzzRequestDecoder(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"system","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},{"role":"assistant","content":null}],"stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":5,"max_completion_tokens":5,"temperature":0.5,"top_p":0.9,"top_k":40,"min_p":0.05,"seed":-3,"stop":["a","b"],"n":1,"presence_penalty":1,"frequency_penalty":-1,"repeat_penalty":1.1}`,
		`{"model":"m","prompt":"Once upon a time","echo":true,"max_tokens":16}`,
		`{"model":"m","prompt":[1,2,3]}`,
		`{"model":"m","prompt":[[1,2,3]]}`,
		`{"model":"m","prompt":["a"],"stop":"x","best_of":1}`,
		`{"model":"m","input":["a","b"],"encoding_format":"base64","dimensions":3}`,
		`{"model":"m","messages":[{"role":"tool","content":"x"}],"tools":[{}]}`,
		`{"model":"m","messages":[],"n":2,"logprobs":true,"logit_bias":{"1":2}}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"text"},"tool_choice":"none","tools":[]}`,
		`{"model":1e999}`, `{"max_tokens":1e300}`, `[`, `{}`, ``, `null`, `"x"`, `{"a":{"b":{"c":[[[[]]]]}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkErr := func(e *apiError) {
			if e.Status < 400 || e.Status >= 500 || e.Message == "" || e.Type == "" {
				t.Fatalf("bad error %+v", e)
			}
			if _, err := json.Marshal(e.body()); err != nil {
				t.Fatal(err)
			}
		}
		checkGen := func(g *genRequest) {
			if g.Model == "" || len(g.Model) > maxModelIDLen {
				t.Fatalf("model %q accepted", g.Model)
			}
			if g.MaxTokens < 0 || len(g.Stop) > maxStops || (g.IncludeUsage && !g.Stream) {
				t.Fatalf("accepted %+v", g)
			}
			if g.Temperature != nil && !(*g.Temperature >= 0 && *g.Temperature <= 2) {
				t.Fatalf("temperature %v accepted", *g.Temperature)
			}
			if g.TopP != nil && !(*g.TopP >= 0 && *g.TopP <= 1) {
				t.Fatalf("top_p %v accepted", *g.TopP)
			}
			for _, s := range g.Stop {
				if s == "" || len(s) > maxStopLen {
					t.Fatalf("stop %q accepted", s)
				}
			}
		}
		if r, e := decodeChat(body); e != nil {
			checkErr(e)
		} else {
			checkGen(&r.genRequest)
			if len(r.Messages) == 0 || len(r.Messages) > maxMessages {
				t.Fatalf("%d messages accepted", len(r.Messages))
			}
			for _, m := range r.Messages {
				if m.Role != "system" && m.Role != "user" && m.Role != "assistant" {
					t.Fatalf("role %q accepted", m.Role)
				}
			}
		}
		if r, e := decodeCompletion(body); e != nil {
			checkErr(e)
		} else {
			checkGen(&r.genRequest)
			if r.IsIDs != (r.PromptIDs != nil) || (r.IsIDs && (len(r.PromptIDs) == 0 || len(r.PromptIDs) > maxPromptIDs)) {
				t.Fatalf("prompt ids %v (IsIDs %v) accepted", r.PromptIDs, r.IsIDs)
			}
		}
		if r, e := decodeEmbedding(body); e != nil {
			checkErr(e)
		} else {
			if len(r.Input) == 0 || r.Model == "" || len(r.Model) > maxModelIDLen {
				t.Fatalf("embedding request %+v accepted", r)
			}
			for _, s := range r.Input {
				if s == "" {
					t.Fatalf("empty input accepted: %q", r.Input)
				}
			}
		}
	})
}
