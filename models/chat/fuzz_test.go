package chat

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fuzzMessages builds a conversation from fuzz data: contents separated by
// NUL bytes, roles and extras chosen by the bits of flags.
func fuzzMessages(data string, flags uint8) []Message {
	roles := []string{"user", "assistant", "system", "tool"}
	var msgs []Message
	for i, c := range strings.Split(data, "\x00") {
		if i >= 16 {
			break
		}
		m := Message{Role: roles[(int(flags)>>(i%4)+i)%len(roles)], Content: c}
		if i%2 == 1 {
			m.Role = "assistant"
			if flags&0x10 != 0 {
				m.ToolCalls = []ToolCall{{ID: "call12345", Name: "f" + c, Arguments: c}}
			}
			if flags&0x20 != 0 {
				m.Reasoning = c
			}
		}
		if m.Role == "tool" {
			m.ToolCallID, m.Name = "call12345", "f"
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// FuzzRender parses and renders templates with random conversations:
// never a panic, never a hang, every error clean; and Detect, when it
// accepts a template, renders it within its budget too. The corpus holds
// the real templates, llama.cpp's, the interpreter's cases and the hostile
// ones (testdata/fuzz/FuzzRender keeps what the fuzzer found).
func FuzzRender(f *testing.F) {
	for _, c := range realTemplates {
		f.Add(c.tmpl, "Hello\x00Hi there\x00Who are you", uint8(0))
		f.Add(c.tmpl, "sys\x00<think>r</think>a\x00{\"a\": 1}", uint8(0x3c))
	}
	for _, c := range llamaCppCases {
		f.Add(c.tmpl, "You are a helpful assistant\x00Hello\x00Hi there", uint8(0x04))
	}
	for _, c := range interpreterCases {
		f.Add(c.src, c.vars, uint8(1))
	}
	if fuzzing() { // slow as seeds of every go test; TestHostileTemplates runs them
		for _, c := range hostileCases {
			f.Add(c.src, c.msg, uint8(2))
		}
	}
	tools := []byte(`[{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]`)
	f.Fuzz(func(t *testing.T, src, data string, flags uint8) {
		if len(src) > 16<<10 || len(data) > 4<<10 {
			return
		}
		msgs := fuzzMessages(data, flags)
		// Small budgets keep every input fast under the fuzzer's coverage
		// instrumentation (the budget logic is the same at any size).
		opt := Options{BOS: "<s>", EOS: "</s>", AddGenerationPrompt: flags&1 != 0, Limits: Limits{Output: 64 << 10, Memory: 1 << 20, Work: 1 << 23}}
		if flags&0x40 != 0 {
			opt.Tools = tools
		}
		if flags&0x80 != 0 {
			on := flags&0x08 != 0
			opt.EnableThinking = &on
		}
		start := time.Now()
		if prog, err := parseTemplate(src); err == nil {
			out, err := run(context.Background(), prog, msgs, opt, jinjaCaps{typedContent: flags&0x02 != 0}, nil)
			if err == nil && int64(len(out)) > opt.Limits.Output+outputPerInput*inputSize(msgs, opt) {
				t.Fatalf("output of %d bytes beyond the budget", len(out))
			}
		}
		tm, err := Detect(src)
		if err != nil {
			if !errors.Is(err, ErrUnknownTemplate) {
				t.Fatalf("Detect error without ErrUnknownTemplate: %v", err)
			}
		} else if len(msgs) > 0 {
			_, _ = tm.Render(context.Background(), msgs, opt)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Fatalf("took %v", d)
		}
	})
}

// fuzzing reports whether the test binary runs with -test.fuzz.
func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}

// FuzzParser feeds random answers to the output parser whole and in
// random pieces: the same content, reasoning and calls either way, every
// call's arguments valid JSON, and the text only ever rearranged (nothing
// of the content or reasoning that is not in the answer).
func FuzzParser(f *testing.F) {
	for _, c := range parseCases {
		f.Add(c.text, uint8(0), uint64(1))
	}
	formats := []string{FormatHermes, FormatLlama3, FormatMistral, FormatPhi4, FormatGranite, FormatLFM2, FormatGeneric}
	f.Fuzz(func(t *testing.T, text string, flags uint8, seed uint64) {
		if len(text) > 8<<10 {
			return
		}
		o := ParserOptions{Format: formats[int(flags)%len(formats)], Tools: flags&0x10 == 0, Reasoning: flags&0x20 != 0, InReasoning: flags&0x40 != 0}
		n := 0
		o.NewID = func() string { n++; return fmt.Sprint(n) }
		whole := ParseOutput(o, text)
		n = 0
		r := rand.New(rand.NewPCG(seed, seed))
		p := NewParser(o)
		var m Message
		for _, s := range append(chunks(r, text), "") {
			d := p.Feed(s)
			if s == "" {
				d = p.Close()
			}
			m.Content += d.Content
			m.Reasoning += d.Reasoning
			for _, c := range d.ToolCalls {
				m.ToolCalls = append(m.ToolCalls, ToolCall{ID: c.ID, Name: c.Name, Arguments: c.Arguments})
			}
		}
		if m.Content != whole.Content || m.Reasoning != whole.Reasoning || !reflect.DeepEqual(m.ToolCalls, whole.ToolCalls) {
			t.Fatalf("streamed %+v\nwhole    %+v", m, whole)
		}
		for _, c := range m.ToolCalls {
			if !json.Valid([]byte(c.Arguments)) {
				t.Fatalf("arguments %q are not JSON", c.Arguments)
			}
		}
		if len(m.Content)+len(m.Reasoning) > len(text) {
			t.Fatalf("content and reasoning of %d bytes from an answer of %d", len(m.Content)+len(m.Reasoning), len(text))
		}
	})
}
