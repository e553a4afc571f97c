package server

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/edgeai-go/edgeai/internal/testutil"
	"github.com/edgeai-go/edgeai/models/chat"
	"github.com/edgeai-go/edgeai/runtime"
)

// goClient is the official OpenAI Go SDK pointed at a test server: no
// retries, so an error is the server's first answer.
func goClient(ts *testServer, key string) openai.Client {
	return openai.NewClient(
		option.WithBaseURL(ts.url+"/v1/"),
		option.WithAPIKey(key),
		option.WithMaxRetries(0),
		option.WithRequestTimeout(time.Minute),
	)
}

// schemaMap decodes a JSON schema for the SDK's map-typed fields.
func schemaMap(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestOfficialGoClient: the official OpenAI Go SDK, unchanged, gets a chat
// completion and its stream (accumulated by the SDK's own accumulator)
// equal to the runtime's greedy answer with usage, an answer to
// response_format json_schema that parses and validates, and the
// documented error type for a parameter the server refuses and a wrong key.
func TestOfficialGoClient(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{APIKey: "go-key", Parallel: 2}, m)
	client := goClient(ts, "go-key")
	ctx := context.Background()

	models, err := client.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(models.Data) != 1 || models.Data[0].ID != "stories" {
		t.Errorf("models %+v", models.Data)
	}

	msgs := []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Tell stories."), openai.UserMessage("A cat")}
	want, _ := directChat(t, m, []chat.Message{{Role: "system", Content: "Tell stories."}, {Role: "user", Content: "A cat"}}, 12)
	params := openai.ChatCompletionNewParams{Model: "stories", Messages: msgs, MaxTokens: openai.Int(12), Temperature: openai.Float(0)}
	c, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Choices) != 1 || c.Choices[0].Message.Content != want || c.Choices[0].FinishReason != "length" ||
		c.Usage.CompletionTokens != 12 || c.Object != "chat.completion" || c.ID == "" {
		t.Errorf("chat %+v, want %q", c, want)
	}

	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	for stream.Next() {
		chunks++
		if !acc.AddChunk(stream.Current()) {
			t.Fatalf("the accumulator refused chunk %d: %s", chunks, stream.Current().RawJSON())
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	stream.Close()
	if len(acc.Choices) != 1 || acc.Choices[0].Message.Content != want || acc.Choices[0].FinishReason != "length" ||
		acc.Usage.CompletionTokens != 12 || chunks < 12 {
		t.Errorf("stream of %d chunks accumulated to %+v, want %q", chunks, acc.ChatCompletion, want)
	}

	// response_format json_schema, strict, sampled, whole and streamed.
	person := validator(t, personSchema)
	format := openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
		JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "person", Strict: openai.Bool(true), Schema: schemaMap(t, personSchema)},
	}}
	sp := openai.ChatCompletionNewParams{Model: "stories", MaxTokens: openai.Int(80), Temperature: openai.Float(0.8), Seed: openai.Int(3),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell me about a person.")}, ResponseFormat: format}
	c, err = client.Chat.Completions.New(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	validates(t, person, c.Choices[0].Message.Content)
	if c.Choices[0].FinishReason != "stop" {
		t.Errorf("json_schema finish_reason %q", c.Choices[0].FinishReason)
	}
	var p struct {
		Name string
		Age  int
		Pet  string
	}
	if err := json.Unmarshal([]byte(c.Choices[0].Message.Content), &p); err != nil || p.Name == "" {
		t.Errorf("decoding %q: %+v %v", c.Choices[0].Message.Content, p, err)
	}
	stream = client.Chat.Completions.NewStreaming(ctx, sp)
	acc = openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	stream.Close()
	if got := acc.Choices[0].Message.Content; got != c.Choices[0].Message.Content {
		t.Errorf("streamed json_schema answer %q, whole %q (same seed)", got, c.Choices[0].Message.Content)
	}

	// json_object.
	sp.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONObject: &shared.ResponseFormatJSONObjectParam{}}
	sp.MaxTokens = openai.Int(30)
	if c, err = client.Chat.Completions.New(ctx, sp); err != nil {
		t.Fatal(err)
	}
	validates(t, validator(t, `{"type":"object"}`), c.Choices[0].Message.Content)

	// Errors: the SDK's *openai.Error with the server's status and param.
	bad := params
	bad.StreamOptions = openai.ChatCompletionStreamOptionsParam{}
	bad.N = openai.Int(2)
	_, err = client.Chat.Completions.New(ctx, bad)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "n" {
		t.Errorf("n=2: %v", err)
	}
	bad.N = openai.Int(1)
	bad.Model = "gpt-4o"
	if _, err = client.Chat.Completions.New(ctx, bad); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Param != "model" {
		t.Errorf("unknown model: %v", err)
	}
	wrong := goClient(ts, "wrong")
	if _, err = wrong.Models.List(ctx); !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Errorf("wrong key: %v", err)
	}
}

// TestOfficialGoClientTools: through the official OpenAI Go SDK, tiny-qwen2
// (chatml: the generic call format) called with tool_choice named and
// required answers tool calls that the SDK parses into its typed
// tool_calls, with the function's name and arguments that validate against
// the tool's parameters; streamed, the SDK's accumulator rebuilds the same
// call; the call and a tool answer go back as history.
func TestOfficialGoClientTools(t *testing.T) {
	file := testutil.Shared(t, "testdata/qwen2/tiny-qwen2-Q8_0.gguf")
	m, err := runtime.Load(context.Background(), file, runtime.WithChatTemplate("chatml"), runtime.WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ts := start(t, Config{Parallel: 2}, m)
	client := goClient(ts, "")
	ctx := context.Background()
	weather := validator(t, weatherParams)

	tools := []openai.ChatCompletionToolUnionParam{
		openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_weather",
			Parameters: schemaMap(t, weatherParams)}),
		openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_time"}),
	}
	params := openai.ChatCompletionNewParams{
		Model:      "stories",
		Messages:   []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")},
		MaxTokens:  openai.Int(150),
		Tools:      tools,
		ToolChoice: openai.ToolChoiceOptionFunctionToolChoice(openai.ChatCompletionNamedToolChoiceFunctionParam{Name: "get_weather"}),
	}
	c, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	ch := c.Choices[0]
	if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 1 || ch.Message.Content != "" {
		t.Fatalf("named choice: %+v", ch)
	}
	call := ch.Message.ToolCalls[0]
	fn := call.AsFunction()
	if call.Type != "function" || fn.Function.Name != "get_weather" || fn.ID == "" || call.ID != fn.ID {
		t.Errorf("call %+v", call)
	}
	validates(t, weather, fn.Function.Arguments)

	// Streamed: the accumulator's call and its just-finished event.
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	var acc openai.ChatCompletionAccumulator
	var finished []openai.FinishedChatCompletionToolCall
	for stream.Next() {
		if !acc.AddChunk(stream.Current()) {
			t.Fatalf("the accumulator refused %s", stream.Current().RawJSON())
		}
		if tc, ok := acc.JustFinishedToolCall(); ok {
			finished = append(finished, tc)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	stream.Close()
	if len(acc.Choices) != 1 || len(acc.Choices[0].Message.ToolCalls) != 1 || acc.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("streamed: %+v", acc.ChatCompletion)
	}
	sc := acc.Choices[0].Message.ToolCalls[0]
	if sc.Function.Name != "get_weather" || sc.Function.Arguments != fn.Function.Arguments || sc.ID == "" {
		t.Errorf("streamed call %+v, whole %+v", sc, fn)
	}
	if len(finished) != 1 || finished[0].Name != "get_weather" || finished[0].Arguments != fn.Function.Arguments || finished[0].ID != sc.ID {
		t.Errorf("just-finished calls %+v", finished)
	}

	// required, one call, sampled: either tool, its arguments valid.
	params.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String(string(openai.ChatCompletionToolChoiceOptionAutoRequired))}
	params.ParallelToolCalls = openai.Bool(false)
	params.Temperature = openai.Float(1)
	for seed := range 3 {
		params.Seed = openai.Int(int64(seed))
		c, err := client.Chat.Completions.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		calls := c.Choices[0].Message.ToolCalls
		if len(calls) != 1 {
			t.Fatalf("required: %+v", c.Choices[0])
		}
		switch f := calls[0].AsFunction().Function; f.Name {
		case "get_weather":
			validates(t, weather, f.Arguments)
		case "get_time":
			validates(t, validator(t, `{"type":"object"}`), f.Arguments)
		default:
			t.Errorf("required: a call of %q", f.Name)
		}
	}

	// The call and the tool's answer go back as history (the SDK's ToParam;
	// without the tools: the prompt would not fit tiny-qwen2's 256 positions).
	hist := openai.ChatCompletionNewParams{Model: "stories", MaxTokens: openai.Int(4), Messages: []openai.ChatCompletionMessageParamUnion{
		openai.UserMessage("Weather in Paris?"),
		ch.Message.ToParam(),
		openai.ToolMessage("21 degrees", fn.ID),
	}}
	if c, err = client.Chat.Completions.New(ctx, hist); err != nil {
		var e *openai.Error
		if errors.As(err, &e) {
			t.Fatalf("%v: %s", err, e.RawJSON())
		}
		t.Fatal(err)
	}
	if c.Usage.PromptTokens == 0 || len(c.Choices) != 1 {
		t.Errorf("history: %+v", c)
	}
}
