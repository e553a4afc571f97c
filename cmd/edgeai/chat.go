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
	think := fs.String("think", "", "switch the model's reasoning on or off where its template can (Qwen3, SmolLM3, Granite): on, off (default: the template's)")
	budget := fs.Int("reasoning-budget", -1, "llama.cpp's switch: 0 turns reasoning off (as --think off), -1 leaves it to the template")
	showReasoning := fs.Bool("show-reasoning", false, "print the model's reasoning (<think> blocks), dimmed on a terminal, on standard error otherwise; by default it is hidden")
	shift := fs.Bool("context-shift", false, "when the conversation no longer fits the context, drop its oldest turns (the system prompt stays) and say so, instead of stopping")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	var copts chat.Options
	switch strings.ToLower(*think) {
	case "":
	case "on", "true", "1":
		copts.EnableThinking = new(true)
	case "off", "false", "0":
		copts.EnableThinking = new(false)
	default:
		return fmt.Errorf("%w: --think %q: want on or off", errUsage, *think)
	}
	switch {
	case *budget == 0:
		copts.EnableThinking = new(false)
	case *budget != -1:
		return fmt.Errorf("%w: --reasoning-budget %d: only 0 (off) and -1 (the template's default) are supported", errUsage, *budget)
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
	if _, _, err := model.ChatPromptContext(ctx, append(msgs, chat.Message{Role: "user", Content: "hi"}), copts); err != nil {
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
		ids, stops, err := model.ChatPromptContext(ctx, msgs, copts)
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
				if ids, stops, err = model.ChatPromptContext(ctx, msgs, copts); err != nil {
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
		answer := newAnswerWriter(stdout, stderr, *showReasoning, promptEndsThinking(model, ids))
		var genErr error
		opts := runtime.GenerateOptions{Sampling: params, Stop: stops, MaxTokens: max(*maxNew, 0), Stats: new(runtime.Stats)}
		for tok, err := range sess.Generate(turn, ids, opts) {
			if err != nil {
				genErr = err
				break
			}
			answer.feed(tok.Text)
		}
		answer.close()
		close(done)
		cancel()
		fmt.Fprintln(stdout)
		if err := au.record(model, opts, auditEntry{Event: "chat", Prompt: line, PromptTokens: len(ids), Response: answer.raw.String(), Err: genErr}); err != nil {
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
		msgs = append(msgs, chat.Message{Role: "assistant", Content: strings.TrimSpace(answer.content.String()), Reasoning: strings.TrimSpace(answer.reasoning.String())})
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

// promptEndsThinking reports whether a chat prompt ends inside an open
// think block (templates that start the answer with "<think>").
func promptEndsThinking(m *runtime.Model, ids []int) bool {
	tail := m.Detokenize(ids[max(0, len(ids)-8):])
	return strings.HasSuffix(strings.TrimRight(tail, " \n"), "<think>")
}

// answerWriter routes a chat answer as it is generated: content to stdout,
// reasoning (a <think> block) hidden behind a note on stderr, or shown:
// dimmed on a terminal, on stderr when stdout is a pipe or a file, so that
// stdout holds only answers.
type answerWriter struct {
	p                 *chat.Parser
	out, errw         io.Writer
	show, tty         bool
	noted, dim, began bool
	raw               strings.Builder // everything the model wrote
	content           strings.Builder
	reasoning         strings.Builder
}

func newAnswerWriter(stdout, stderr io.Writer, show, inReasoning bool) *answerWriter {
	w := &answerWriter{out: stdout, errw: stderr, show: show}
	if f, ok := stdout.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			w.tty = true
		}
	}
	w.p = chat.NewParser(chat.ParserOptions{Reasoning: true, InReasoning: inReasoning})
	return w
}

func (w *answerWriter) feed(text string) {
	w.raw.WriteString(text)
	w.emit(w.p.Feed(text))
}

func (w *answerWriter) close() {
	w.emit(w.p.Close())
	w.endDim()
}

func (w *answerWriter) endDim() {
	if w.dim {
		io.WriteString(w.out, "\x1b[0m\n")
		w.dim = false
	}
}

func (w *answerWriter) emit(d chat.Delta) {
	if d.Reasoning != "" {
		w.reasoning.WriteString(d.Reasoning)
		switch {
		case w.show && w.tty:
			if !w.dim {
				io.WriteString(w.out, "\x1b[2m")
				w.dim = true
			}
			io.WriteString(w.out, d.Reasoning)
		case w.show:
			io.WriteString(w.errw, d.Reasoning)
		case !w.noted:
			fmt.Fprintln(w.errw, "[thinking... (--show-reasoning shows it)]")
			w.noted = true
		}
	}
	if d.Content != "" {
		text := d.Content
		if !w.began { // the blank lines after </think>
			if text = strings.TrimLeft(text, " \n"); text == "" {
				return
			}
			w.began = true
			if w.show && !w.tty && w.reasoning.Len() > 0 {
				fmt.Fprintln(w.errw)
			}
		}
		w.endDim()
		w.content.WriteString(text)
		io.WriteString(w.out, text)
	}
}
