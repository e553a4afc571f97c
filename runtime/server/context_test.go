package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/models/chat"
)

// TestContextShift: a scripted 30-turn chat with stories260K (512
// positions) goes past the context. Without context_shift the request that
// does not fit is a 400 naming the token counts; with it, whole old turns
// are dropped (the system prompt kept), the answer says how many messages
// and tokens, and the prompt is exactly the kept conversation's.
func TestContextShift(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{}, m)
	system := chat.Message{Role: "system", Content: "You tell short stories about a cat named Tom."}
	msgs := []chat.Message{system}
	body := func(shift bool) string {
		type wm struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		}
		var list []wm
		for _, x := range msgs {
			list = append(list, wm{x.Role, x.Content})
		}
		b, _ := json.Marshal(list)
		return fmt.Sprintf(`{"model":"stories","max_tokens":12,"context_shift":%t,"messages":%s}`, shift, b)
	}
	shifted := 0
	for turn := range 30 {
		msgs = append(msgs, chat.Message{Role: "user", Content: fmt.Sprintf("Turn %d: tell me what Tom did next.", turn)})
		ids, _, err := m.ChatPrompt(msgs)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) >= 512 {
			resp, b := ts.post(t, "/v1/chat/completions", body(false))
			e := apiErr(t, resp, b, 400, "messages")
			if e.Code == nil || *e.Code != "context_length_exceeded" || !strings.Contains(e.Message, fmt.Sprint(len(ids))) || !strings.Contains(e.Message, "512") {
				t.Fatalf("turn %d without context_shift: %s", turn, b)
			}
		}
		var cc chatCompletion
		postJSON(t, ts, "/v1/chat/completions", body(true), &cc)
		sh := cc.ContextShift
		if sh == nil {
			t.Fatalf("turn %d: no context_shift field", turn)
		}
		if sh.PromptTokensBefore != len(ids) || sh.ContextLength != 512 || sh.ReservedForAnswer != 12 || sh.PromptTokens != cc.Usage.PromptTokens {
			t.Fatalf("turn %d: %+v, usage %+v, prompt %d", turn, sh, cc.Usage, len(ids))
		}
		if len(ids)+12 <= 512 {
			if sh.DroppedMessages != 0 {
				t.Fatalf("turn %d: dropped %d messages of a conversation that fits", turn, sh.DroppedMessages)
			}
		} else {
			shifted++
			// Whole turns (a user message and the answer) go, the system
			// prompt stays: the prompt is that of the kept conversation.
			if sh.DroppedMessages%2 != 0 || sh.DroppedMessages == 0 {
				t.Fatalf("turn %d: dropped %d messages", turn, sh.DroppedMessages)
			}
			kept := append([]chat.Message{system}, msgs[1+sh.DroppedMessages:]...)
			want, _, _ := m.ChatPrompt(kept)
			if len(want) != cc.Usage.PromptTokens || sh.DroppedTokens != len(ids)-len(want) || len(want)+12 > 512 {
				t.Fatalf("turn %d: %+v; the kept conversation has %d tokens", turn, sh, len(want))
			}
			// As few as possible: one turn fewer would not fit.
			more := append([]chat.Message{system}, msgs[1+sh.DroppedMessages-2:]...)
			if ids2, _, _ := m.ChatPrompt(more); len(ids2)+12 <= 512 {
				t.Fatalf("turn %d: dropped %d messages, %d would have done", turn, sh.DroppedMessages, sh.DroppedMessages-2)
			}
		}
		msgs = append(msgs, chat.Message{Role: "assistant", Content: cc.Choices[0].Message.Content})
	}
	if shifted < 5 {
		t.Errorf("the chat went past the context only %d times", shifted)
	}
	// A last turn that cannot fit alone: a 400 with the counts.
	resp, b := ts.post(t, "/v1/chat/completions", `{"model":"stories","context_shift":true,"max_tokens":24,"messages":[{"role":"system","content":"x"},{"role":"user","content":"`+strings.Repeat("a b c ", 200)+`"}]}`)
	if e := apiErr(t, resp, b, 400, "messages"); e.Code == nil || *e.Code != "context_length_exceeded" {
		t.Errorf("%s", b)
	}
}
