package runtime

import (
	"context"

	"github.com/edgeai-go/edgeai/models/chat"
)

// ChatTurn is a chat prompt ready to generate from, with what reads the
// answer back.
type ChatTurn struct {
	// IDs are the prompt's tokens, Stops the template's end-of-turn strings.
	IDs   []int
	Stops []string
	// Parser splits the answer, fed as it is generated, into content,
	// reasoning (<think> blocks, where the template's model thinks) and
	// tool calls (in the template's format, when Options.Tools offered
	// tools).
	Parser *chat.Parser
	// ToolFormat is how the model writes tool calls (chat.FormatHermes ...).
	ToolFormat string
}

// ChatTurn formats messages with the chat template and o (tools,
// EnableThinking, Limits) as ChatPromptContext does, and returns the parser
// of the answer too.
func (m *Model) ChatTurn(ctx context.Context, messages []chat.Message, o chat.Options) (*ChatTurn, error) {
	ids, stops, text, err := m.chatPrompt(ctx, messages, o)
	if err != nil {
		return nil, err
	}
	return &ChatTurn{IDs: ids, Stops: stops, Parser: m.tmpl.NewParser(text, o), ToolFormat: m.tmpl.ToolFormat()}, nil
}
