package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/models/chat"
)

func TestTopK(t *testing.T) {
	l := []float32{1, 5, 3, 5, -1, 4, 3}
	for k, want := range map[int]string{0: "[]", 1: "[1]", 3: "[1 3 5]", 5: "[1 3 5 2 6]", 9: "[1 3 5 2 6 0 4]"} {
		if got := fmt.Sprint(topK(l, k)); got != want {
			t.Errorf("topK(%d) = %s, want %s", k, got, want)
		}
	}
}

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestLogprobs: the log probabilities of a greedy chat answer are the
// log-softmax of the model's logits at each step (checked against an
// independent evaluation of the whole sequence), the sampled token is the
// most likely one, the token texts add up to the answer, and the stream
// carries the same values to the last bit, although it runs on a session
// that reuses the first request's cached prompt (whole batch chunks only).
func TestLogprobs(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{}, m)
	msgs := []chat.Message{{Role: "user", Content: "Tell me about a dog."}}
	body := `{"model":"stories","messages":[{"role":"user","content":"Tell me about a dog."}],"max_tokens":20,"logprobs":true,"top_logprobs":3}`
	resp, b := ts.post(t, "/v1/chat/completions", body)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	var cc chatCompletion
	if err := json.Unmarshal(b, &cc); err != nil {
		t.Fatal(err)
	}
	lp := cc.Choices[0].Logprobs
	if lp == nil || len(lp.Content) != cc.Usage.CompletionTokens {
		t.Fatalf("logprobs %+v for %d tokens", lp, cc.Usage.CompletionTokens)
	}

	// The reference: the greedy ids from the runtime, then one pass over
	// prompt + answer for every position's logits.
	prompt, _, err := m.ChatPrompt(msgs)
	if err != nil {
		t.Fatal(err)
	}
	ids := directIDs(t, m, prompt, 20)
	if len(ids) != len(lp.Content) {
		t.Fatalf("%d reference tokens, %d logprobs", len(ids), len(lp.Content))
	}
	sess, err := m.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	seq := append(append([]int(nil), prompt...), ids[:len(ids)-1]...)
	all, err := sess.EvalAll(context.Background(), seq)
	if err != nil {
		t.Fatal(err)
	}
	vocab := m.Info().Vocab
	var text strings.Builder
	for k, e := range lp.Content {
		row := all[(len(prompt)-1+k)*vocab : (len(prompt)+k)*vocab]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, float64(v))
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v) - mx)
		}
		want := float64(row[ids[k]]) - mx - math.Log(sum)
		if math.Abs(e.Logprob-want) > 1e-4 || e.Logprob > 0 {
			t.Errorf("token %d: logprob %v, want %v", k, e.Logprob, want)
		}
		if len(e.TopLogprobs) != 3 || e.TopLogprobs[0].Token != e.Token || e.TopLogprobs[0].Logprob != e.Logprob ||
			e.TopLogprobs[1].Logprob > e.TopLogprobs[0].Logprob || e.TopLogprobs[2].Logprob > e.TopLogprobs[1].Logprob {
			t.Errorf("token %d: top_logprobs %+v for greedy token %q", k, e.TopLogprobs, e.Token)
		}
		if len(e.Bytes) != len(e.Token) {
			t.Errorf("token %d: bytes %v for %q", k, e.Bytes, e.Token)
		}
		text.WriteString(e.Token)
	}
	if got := cc.Choices[0].Message.Content; strings.TrimPrefix(text.String(), " ") != got {
		t.Errorf("the token texts make %q, the content is %q", text.String(), got)
	}

	// Streamed: the same entries, spread over the chunks.
	_, res := ts.postStream(t, "/v1/chat/completions", strings.Replace(body, `"logprobs":true`, `"logprobs":true,"stream":true`, 1), true)
	var streamed []tokenLogprob
	for _, c := range res.chunks {
		var ch chatChunk
		b, _ := json.Marshal(c)
		json.Unmarshal(b, &ch)
		for _, choice := range ch.Choices {
			if choice.Logprobs != nil {
				streamed = append(streamed, choice.Logprobs.Content...)
			}
		}
	}
	if jsonString(streamed) != jsonString(lp.Content) {
		t.Errorf("streamed logprobs differ:\n%s\n%s", jsonString(streamed), jsonString(lp.Content))
	}
	// Without logprobs the field is null.
	resp, b = ts.post(t, "/v1/chat/completions", `{"model":"stories","messages":[{"role":"user","content":"x"}],"max_tokens":2}`)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"logprobs":null`) {
		t.Errorf("logprobs not null: %s", b)
	}
}
