package server

import (
	"fmt"
	"net/http"

	"github.com/edgeai-go/edgeai/models/chat"
	"github.com/edgeai-go/edgeai/runtime"
)

// chatMessages converts validated messages for the template.
func chatMessages(in []message) []chat.Message {
	out := make([]chat.Message, len(in))
	for i, m := range in {
		out[i] = chat.Message{Role: m.Role, Content: m.Content, Reasoning: m.Reasoning, ToolCalls: m.ToolCalls, ToolCallID: m.ToolCallID, Name: m.Name}
	}
	return out
}

// shiftContext is context_shift: when the conversation and the room kept
// for the answer (max_tokens, or a quarter of the context when not given)
// do not fit the context, whole turns are dropped from the oldest (a turn
// is a user message and every message up to the next one), keeping the
// leading system messages and the last turn, until they fit. The answer
// says what was dropped; a conversation whose last turn alone does not fit
// is a 400 with the token counts.
func (s *Server) shiftContext(r *http.Request, sv *served, req *chatRequest, msgs []chat.Message, o chat.Options, turn *runtime.ChatTurn) (*runtime.ChatTurn, *shiftInfo, *apiError) {
	ctxSize := sv.ctxSize
	reserve := req.MaxTokens
	if reserve == 0 {
		reserve = max(1, ctxSize/4)
	}
	reserve = min(reserve, ctxSize-1)
	info := &shiftInfo{PromptTokensBefore: len(turn.IDs), ContextLength: ctxSize, ReservedForAnswer: reserve}
	sys := 0
	for sys < len(msgs) && msgs[sys].Role == "system" {
		sys++
	}
	rest := msgs[sys:]
	for len(turn.IDs)+reserve > ctxSize {
		// The next turn starts at the second user message of what is left.
		next := -1
		for i := 1; i < len(rest); i++ {
			if rest[i].Role == "user" {
				next = i
				break
			}
		}
		if next < 0 {
			return nil, nil, &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: "messages", Code: "context_length_exceeded",
				Message: fmt.Sprintf("This model's maximum context length is %d tokens. With context_shift the system messages and the last turn are kept, and they take %d tokens, leaving less than the %d kept for the answer (max_tokens, or a quarter of the context when not given). Please shorten the last turn or the system prompt.",
					ctxSize, len(turn.IDs), reserve)}
		}
		info.DroppedMessages += next
		rest = rest[next:]
		kept := append(append([]chat.Message(nil), msgs[:sys]...), rest...)
		t, err := sv.Decoder.ChatTurn(r.Context(), kept, o)
		if err != nil {
			return nil, nil, badParam("messages", "the chat template could not format the messages left after context_shift: %s", clientMessage(sv, err))
		}
		turn = t
	}
	info.PromptTokens = len(turn.IDs)
	info.DroppedTokens = info.PromptTokensBefore - info.PromptTokens
	return turn, info, nil
}
