package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/edgeai-go/edgeai/models/chat"
	"github.com/edgeai-go/edgeai/runtime"
)

func init() {
	register(&command{name: "chat", summary: "chat with a model (multi-turn, its chat template)", run: runChat, ownSignals: true})
}

// runChat reads one user message per line from standard input. Ctrl-C stops
// the answer being generated; Ctrl-D (end of input) exits. One session keeps
// the conversation's KV cache, so each turn only evaluates the new tokens.
func runChat(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("chat", stderr)
	var mf modelFlags
	var sf samplingFlags
	mf.add(fs)
	sf.add(fs)
	au := addAuditFlags(fs)
	system := fs.String("system", "", "system message")
	fs.StringVar(system, "sys", "", "same as --system (llama.cpp's name)")
	fs.StringVar(system, "system-prompt", "", "same as --system")
	tmpl := fs.String("chat-template", "", "use this template instead of the model's: "+strings.Join(chat.Names(), ", "))
	maxNew := fs.Int("n", -1, "at most this many new tokens per answer (-1 = until the end of the turn)")
	fs.IntVar(maxNew, "n-predict", -1, "same as -n")
	fs.IntVar(maxNew, "max-new", -1, "same as -n")
	shift := fs.Bool("context-shift", false, "when the conversation no longer fits the context, drop its oldest turns (the system prompt stays) and say so, instead of stopping")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	var extra []runtime.Option
	if *tmpl != "" {
		extra = append(extra, runtime.WithChatTemplate(*tmpl))
	}
	model, _, err := au.load(ctx, &mf, extra...)
	if err != nil {
		return err
	}
	defer model.Close()
	sess, err := model.NewSession()
	if err != nil {
		return err
	}
	defer sess.Close()

	var msgs []chat.Message
	if *system != "" {
		msgs = append(msgs, chat.Message{Role: "system", Content: *system})
	}
	// Check the template before the first question.
	if _, _, err := model.ChatPrompt(append(msgs, chat.Message{Role: "user", Content: "hi"})); err != nil {
		return err
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	in := bufio.NewScanner(stdin)
	in.Buffer(make([]byte, 64<<10), 1<<20)
	params, random := sf.params()
	if random {
		fmt.Fprintf(stderr, "seed: %d\n", params.Seed)
	}
	for {
		fmt.Fprint(stderr, "> ")
		if !in.Scan() {
			fmt.Fprintln(stderr)
			return in.Err()
		}
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		msgs = append(msgs, chat.Message{Role: "user", Content: line})
		ids, stops, err := model.ChatPrompt(msgs)
		if err != nil {
			return err
		}
		if ctxSize := sess.ContextSize(); len(ids)+answerRoom(*maxNew, ctxSize) > ctxSize {
			if !*shift {
				fmt.Fprintf(stderr, "[the conversation is %d tokens and the context %d: start a new chat, use a larger -c, or --context-shift]\n", len(ids), ctxSize)
				return fmt.Errorf("runtime: %w: the conversation is %d tokens, the context holds %d", runtime.ErrContextFull, len(ids), ctxSize)
			}
			var dropped, before int
			for before = len(ids); len(ids)+answerRoom(*maxNew, ctxSize) > ctxSize; dropped++ {
				var ok bool
				if msgs, ok = dropOldestTurn(msgs); !ok {
					return fmt.Errorf("runtime: %w: the last message alone is %d tokens with the system prompt, the context holds %d", runtime.ErrContextFull, len(ids), ctxSize)
				}
				if ids, stops, err = model.ChatPrompt(msgs); err != nil {
					return err
				}
			}
			fmt.Fprintf(stderr, "[context shift: dropped the %d oldest turns (%d tokens); the system prompt and the last %d messages stay]\n",
				dropped, before-len(ids), len(msgs))
		}
		turn, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			select {
			case s := <-sigs:
				cancel()
				if s == syscall.SIGTERM {
					os.Exit(0)
				}
			case <-done:
			}
		}()
		var answer strings.Builder
		var genErr error
		opts := runtime.GenerateOptions{Sampling: params, Stop: stops, MaxTokens: max(*maxNew, 0), Stats: new(runtime.Stats)}
		for tok, err := range sess.Generate(turn, ids, opts) {
			if err != nil {
				genErr = err
				break
			}
			answer.WriteString(tok.Text)
			io.WriteString(stdout, tok.Text)
		}
		close(done)
		cancel()
		fmt.Fprintln(stdout)
		if err := au.record(model, opts, auditEntry{Event: "chat", Prompt: line, PromptTokens: len(ids), Response: answer.String(), Err: genErr}); err != nil {
			return err
		}
		switch {
		case genErr == nil && opts.Stats.StopReason == runtime.StopContext:
			fmt.Fprintln(stderr, "[the answer filled the context: start a new chat or use a larger -c]")
		case genErr == nil:
		case errors.Is(genErr, context.Canceled):
			fmt.Fprintln(stderr, "[stopped]")
		case errors.Is(genErr, runtime.ErrContextFull):
			fmt.Fprintln(stderr, "[the context is full: start a new chat or use a larger -c]")
			return genErr
		default:
			return genErr
		}
		msgs = append(msgs, chat.Message{Role: "assistant", Content: strings.TrimSpace(answer.String())})
		params.Seed++ // a new draw each turn, still reproducible from --seed
	}
}

// answerRoom is the room a turn keeps for its answer when shifting: -n, or a
// quarter of the context up to 256 tokens.
func answerRoom(maxNew, ctxSize int) int {
	if maxNew > 0 {
		return min(maxNew, ctxSize/2)
	}
	return min(256, ctxSize/4)
}

// dropOldestTurn removes the oldest turn after the leading system messages:
// a user message and every message up to the next user message. It reports
// false when only the last user turn is left.
func dropOldestTurn(msgs []chat.Message) ([]chat.Message, bool) {
	first := 0
	for first < len(msgs) && msgs[first].Role == "system" {
		first++
	}
	next := first + 1
	for next < len(msgs) && msgs[next].Role != "user" {
		next++
	}
	if next >= len(msgs) {
		return msgs, false
	}
	return append(msgs[:first], msgs[next:]...), true
}
