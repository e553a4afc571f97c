package cloud

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestAssumptions(t *testing.T) {
	a, err := DefaultAssumptions()
	if err != nil {
		t.Fatal(err)
	}
	if a.Version == "" || a.Date == "" || len(a.Energy) < 3 || len(a.Prices) == 0 {
		t.Fatalf("%+v", a)
	}
	// The derived per-token figures agree with their per-query sources.
	for _, e := range a.Energy {
		if e.WhPerQuery == nil {
			continue
		}
		if e.TokensPerQuery != nil {
			want := *e.WhPerQuery * 3600 / *e.TokensPerQuery
			if math.Abs(e.JPerTokenLow-want) > 1e-9 || math.Abs(e.JPerTokenHigh-want) > 1e-9 {
				t.Errorf("%s: %g-%g J/token, want %g", e.ID, e.JPerTokenLow, e.JPerTokenHigh, want)
			}
		} else {
			lo, hi := *e.WhPerQuery*3600/a.TokensPerQuery.High, *e.WhPerQuery*3600/a.TokensPerQuery.Low
			if math.Abs(e.JPerTokenLow-lo) > 1e-9 || math.Abs(e.JPerTokenHigh-hi) > 1e-9 {
				t.Errorf("%s: %g-%g J/token, want %g-%g", e.ID, e.JPerTokenLow, e.JPerTokenHigh, lo, hi)
			}
		}
	}
	lo, hi := a.EnergyRange()
	if lo != 0.1 || math.Abs(hi-3.456) > 1e-12 {
		t.Fatalf("energy range %g-%g", lo, hi)
	}
	if lo, hi := a.PriceRange(); lo != 0.40 || hi != 10 {
		t.Fatalf("price range %g-%g", lo, hi)
	}
	for _, bad := range []string{
		`{}`, `not json`,
		`{"version":"1","date":"2025","energy":[{"id":"x","url":"u","published":"p","j_per_token_low":2,"j_per_token_high":1}],"defaults":{"price_per_kwh":1,"grid_gco2_per_kwh":1}}`,
		`{"version":"1","date":"2025","energy":[{"id":"x","published":"p","j_per_token_low":1,"j_per_token_high":2}],"defaults":{"price_per_kwh":1,"grid_gco2_per_kwh":1}}`,
		`{"version":"1","date":"2025","energy":[{"id":"x","url":"u","published":"p","j_per_token_low":1,"j_per_token_high":2}],"defaults":{}}`,
	} {
		if _, err := ParseAssumptions([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// sse writes a stream of chunks with a delay between them.
func sse(w http.ResponseWriter, delay time.Duration, chunks ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	for _, c := range chunks {
		fmt.Fprintf(w, "data: %s\n\n", c)
		w.(http.Flusher).Flush()
		time.Sleep(delay)
	}
}

func contentChunk(s string) string {
	b, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": s}, "finish_reason": nil}}})
	return string(b)
}

func TestStream(t *testing.T) {
	var got map[string]any
	var auth, path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, auth = r.URL.Path, r.Header.Get("Authorization")
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &got)
		time.Sleep(20 * time.Millisecond) // the time to the first token
		sse(w, 5*time.Millisecond,
			`{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
			contentChunk("Once"), contentChunk(" upon"), contentChunk(" a"), contentChunk(" time"),
			`{"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}`,
			`{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":4,"total_tokens":16}}`,
			"[DONE]")
	}))
	defer srv.Close()
	c := &Client{Endpoint: srv.URL + "/v1/", Model: "m1", APIKey: "sk-test"}
	call, err := c.Stream(context.Background(), "hello", 4)
	if err != nil {
		t.Fatal(err)
	}
	if path != "/v1/chat/completions" || auth != "Bearer sk-test" {
		t.Fatalf("path %q auth %q", path, auth)
	}
	if got["model"] != "m1" || got["max_tokens"] != 4.0 || got["stream"] != true ||
		got["stream_options"].(map[string]any)["include_usage"] != true || !strings.Contains(fmt.Sprint(got["messages"]), "hello") {
		t.Fatalf("request %v", got)
	}
	if !call.UsageReported || call.OutputTokens != 4 || call.PromptTokens != 12 || call.FinishReason != "length" {
		t.Fatalf("%+v", call)
	}
	if call.TTFT < 20*time.Millisecond || call.Total < call.TTFT+15*time.Millisecond {
		t.Fatalf("ttft %v total %v", call.TTFT, call.Total)
	}
	if ts := call.TokensPerSecond(); ts <= 0 || ts > 3/0.015 {
		t.Fatalf("tokens/s %v", ts)
	}
}

func TestStreamWithoutUsageAndErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string // error substring; "" = ok with 3 tokens counted
	}{
		{"no usage", func(w http.ResponseWriter, r *http.Request) {
			sse(w, 0, contentChunk("a"), contentChunk("b"), contentChunk("c"), "[DONE]")
		}, ""},
		{"status", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"error":{"message":"invalid api key"}}`, http.StatusUnauthorized)
		}, "invalid api key"},
		{"mid-stream error", func(w http.ResponseWriter, r *http.Request) {
			sse(w, 0, contentChunk("a"), `{"error":{"message":"overloaded"}}`)
		}, "overloaded"},
		{"cut", func(w http.ResponseWriter, r *http.Request) { sse(w, 0, contentChunk("a")) }, "[DONE]"},
		{"garbage", func(w http.ResponseWriter, r *http.Request) { sse(w, 0, "{nope") }, "not JSON"},
		{"empty", func(w http.ResponseWriter, r *http.Request) { sse(w, 0, "[DONE]") }, "no content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			c := &Client{Endpoint: srv.URL + "/v1/chat/completions", Model: "m"}
			call, err := c.Stream(context.Background(), "x", 8)
			if tc.want == "" {
				if err != nil || call.UsageReported || call.OutputTokens != 3 {
					t.Fatalf("%+v %v", call, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	for _, ep := range []string{"", "ftp://x", "api.openai.com/v1", "http://"} {
		if _, err := (&Client{Endpoint: ep, Model: "m"}).Stream(context.Background(), "x", 1); err == nil {
			t.Errorf("endpoint %q accepted", ep)
		}
	}
	if _, err := (&Client{Endpoint: "http://127.0.0.1:1/v1"}).Stream(context.Background(), "x", 1); err == nil || !strings.Contains(err.Error(), "model") {
		t.Errorf("no model: %v", err)
	}
}

func TestSyntheticPrompt(t *testing.T) {
	a, b := SyntheticPrompt(3, 40), SyntheticPrompt(3, 40)
	if a != b || a == SyntheticPrompt(4, 40) {
		t.Fatal("prompts must be deterministic and differ by index")
	}
	if n := len(strings.Fields(a)); n != 40 {
		t.Fatalf("%d words", n)
	}
	if n := len(strings.Fields(SyntheticPrompt(0, 1))); n < 8 {
		t.Fatalf("a short prompt keeps its sentence: %d words", n)
	}
}

func TestCompare(t *testing.T) {
	a, _ := DefaultAssumptions()
	for _, tc := range []struct {
		local  Local
		winner string
		factor float64
		words  []string
	}{
		{Local{JPerToken: 0.02, JPerTokenAboveIdle: 0.01, Kind: "measured", Meter: "rapl", TokensPerSecond: 50}, "local", 10,
			[]string{"local wins", "0.01 J", "above idle", "10x less than the cloud's lowest", "346x less than its highest"}},
		{Local{JPerToken: 8, JPerTokenAboveIdle: 6.912, Kind: "estimate", Meter: "estimate", TokensPerSecond: 5}, "cloud", 2,
			[]string{"the cloud wins", "2.0x more than the cloud's highest", "69x more than its lowest", "estimate too"}},
		{Local{JPerToken: 0.5, JPerTokenAboveIdle: 0, Kind: "measured", Meter: "battery:BAT0", TokensPerSecond: 5}, "neither", 1,
			[]string{"no clear winner", "in total", "5.0x more than efficient", "6.9x less than the highest"}},
	} {
		c, err := Compare(a, tc.local, nil, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(c.Verdict, "\n")
		if c.EnergyWinner != tc.winner || math.Abs(c.EnergyFactor-tc.factor) > 1e-9 {
			t.Errorf("winner %s by %v, want %s by %v\n%s", c.EnergyWinner, c.EnergyFactor, tc.winner, tc.factor, text)
		}
		for _, w := range tc.words {
			if !strings.Contains(text, w) {
				t.Errorf("verdict lacks %q:\n%s", w, text)
			}
		}
		if !strings.Contains(text, "not per useful answer") || !strings.Contains(text, a.Date) {
			t.Errorf("verdict lacks the caveat:\n%s", text)
		}
	}
	// Cost and CO2 arithmetic: 3.6 J/token = 1 kWh per million tokens.
	c, _ := Compare(a, Local{JPerToken: 3.6, JPerTokenAboveIdle: 3.6, Kind: "measured", Meter: "x"}, &Summary{Model: "gpt-4o-mini",
		Calls: []Call{{TTFT: 300 * time.Millisecond, Total: 2300 * time.Millisecond, OutputTokens: 101}}}, 0.25, 300)
	if c.LocalCostPerMTok != 0.25 || c.LocalGCO2PerMTok != 300 || c.ModelPrice == nil || c.ModelPrice.OutputPerMTok != 0.60 {
		t.Fatalf("%+v", c)
	}
	text := strings.Join(c.Verdict, "\n")
	if !strings.Contains(text, "the cloud streamed 50.0 tokens/s") || !strings.Contains(text, "Local is 1.6x cheaper") {
		t.Errorf("%s", text)
	}
	if _, err := Compare(a, Local{}, nil, 0, 0); err == nil {
		t.Error("no local energy accepted")
	}
	if _, err := Compare(a, Local{JPerToken: 1}, nil, -1, 0); err == nil {
		t.Error("negative price accepted")
	}
}
