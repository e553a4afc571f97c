// Command clinic-notes summarises one clinic note offline, with an audit log.
//
//	go run ./examples/clinic-notes -m MODEL.gguf [-audit-log audit.jsonl] NOTE.txt
//
// It reads the note, asks an instruct model (any GGUF with a chat template;
// -template overrides or supplies one) for a short summary, prints the
// summary and appends one record to a hash-chained JSON-lines audit log
// (internal/audit): the model file's SHA-256, the edgeai version, kernel path,
// threads, context, sampling settings, seed, token counts, stop reason, and
// the SHA-256 of the note file and of the summary. The note and summary text are
// stored only with -audit-include-text. Nothing is sent anywhere: the runtime
// packages do not link the network stack. Check the log with
//
//	edgeai audit verify audit.jsonl
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"

	"github.com/edgeai-go/edgeai/internal/audit"
	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/chat"
	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/sample"
)

// maxNote bounds the note read (a clinic note, not a record dump).
const maxNote = 64 << 10

// instruction is the system message; the note follows as the user message.
const instruction = "Summarise this clinic note in three short sentences: problem, findings, plan."

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "clinic-notes:", err)
		}
		os.Exit(1)
	}
}

// run parses args, summarises the note and writes the summary to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("clinic-notes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelPath := fs.String("m", "", "instruct GGUF model `file`")
	tmpl := fs.String("template", "", "chat template `name` (chatml, llama3, ...) instead of the model's own")
	logPath := fs.String("audit-log", "audit.jsonl", "append-only audit log `file` (JSON lines, hash chain)")
	withText := fs.Bool("audit-include-text", false, "also store the note and the summary text in the audit log")
	maxTokens := fs.Int("n", 96, "summary length limit in `tokens`")
	temp := fs.Float64("temp", 0, "sampling temperature (0 = greedy: same note, same summary)")
	seed := fs.Uint64("seed", 1, "sampling seed (used when -temp > 0)")
	threads := fs.Int("t", 0, "threads (0 = all cores)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *modelPath == "" || fs.NArg() != 1 {
		fs.Usage()
		return errors.New("want -m MODEL.gguf and one note file")
	}
	if *logPath == "" {
		return errors.New("-audit-log must name a file: this example always keeps an audit log")
	}
	if *maxTokens <= 0 {
		return fmt.Errorf("-n %d: want a positive token count", *maxTokens)
	}
	raw, err := readNote(fs.Arg(0))
	if err != nil {
		return err
	}

	// Hash the model, load it, and check that the file loaded is the file
	// hashed (not replaced in between).
	before, err := os.Stat(*modelPath)
	if err != nil {
		return err
	}
	sum, err := fileSHA256(ctx, *modelPath)
	if err != nil {
		return fmt.Errorf("hashing the model: %w", err)
	}
	opts := []runtime.Option{runtime.WithThreads(*threads)}
	if *tmpl != "" {
		opts = append(opts, runtime.WithChatTemplate(*tmpl))
	}
	m, err := runtime.Load(ctx, *modelPath, opts...)
	if err != nil {
		return err
	}
	defer m.Close()
	after, err := os.Stat(*modelPath)
	if err != nil || !os.SameFile(before, after) || after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		return fmt.Errorf("%s changed while it was being hashed and loaded", *modelPath)
	}

	log, err := audit.Open(*logPath)
	if err != nil {
		return err
	}
	defer log.Close()

	note := strings.TrimSpace(raw)
	msgs := []chat.Message{{Role: "system", Content: instruction}, {Role: "user", Content: note}}
	ids, _, err := m.ChatPrompt(msgs)
	if err != nil {
		return err
	}
	// Leave the summary the room the context has after the prompt.
	room := m.Info().ContextSize - len(ids)
	if room < 8 {
		return fmt.Errorf("the note takes %d of the model's %d context tokens: too long to summarise", len(ids), m.Info().ContextSize)
	}
	p := sample.DefaultParams()
	p.Temperature, p.Seed = float32(*temp), *seed
	var stats runtime.Stats
	gen := runtime.GenerateOptions{MaxTokens: min(*maxTokens, room), Sampling: p, Stats: &stats}
	var genErr error
	for _, err := range m.Chat(ctx, msgs, gen) {
		if err != nil {
			genErr = err
			break
		}
	}
	summary := strings.TrimSpace(stats.Text)

	info := m.Info()
	rec := &audit.Record{
		Type:        "summarise",
		Version:     version(),
		Model:       *modelPath,
		ModelSHA256: sum,
		Kernels:     kernels.Path(),
		Threads:     info.Threads,
		Context:     info.ContextSize,
		Params: map[string]any{
			"task": "clinic-note-summary", "chat_template": *tmpl,
			"temperature": p.Temperature, "top_k": p.TopK, "top_p": p.TopP, "min_p": p.MinP,
			"repeat_penalty": p.RepeatPenalty, "max_tokens": gen.MaxTokens,
		},
		Seed:            p.Seed,
		PromptTokens:    stats.PromptTokens + stats.CachedTokens,
		GeneratedTokens: stats.GeneratedTokens,
		StopReason:      stats.StopReason,
		PromptSHA256:    audit.HashText(raw), // = sha256sum of the note file
		ResponseSHA256:  audit.HashText(summary),
	}
	if genErr != nil {
		rec.Error = genErr.Error()
	}
	if *withText {
		rec.Prompt, rec.Response = &note, &summary
	}
	// The record is written even when generation failed: the attempt is audited.
	if err := log.Append(rec); err != nil {
		return err
	}
	if genErr != nil {
		return genErr
	}
	if _, err := fmt.Fprintln(stdout, summary); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "audit: record %d appended to %s (model %s, %d+%d tokens, %s)\n",
		rec.Seq, *logPath, sum[:12], rec.PromptTokens, rec.GeneratedTokens, rec.StopReason)
	return log.Close()
}

// readNote reads a note file of at most maxNote bytes that is not blank.
func readNote(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxNote+1))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	if len(b) > maxNote {
		return "", fmt.Errorf("%s: note longer than %d bytes", path, maxNote)
	}
	if strings.TrimSpace(string(b)) == "" {
		return "", fmt.Errorf("%s: empty note", path)
	}
	return string(b), nil
}

// fileSHA256 returns the hex SHA-256 of the file at path.
func fileSHA256(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		n, err := f.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			return hex.EncodeToString(h.Sum(nil)), nil
		}
		if err != nil {
			return "", err
		}
	}
}

// version is the module version and VCS revision from the build info.
func version() string {
	b, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := b.Main.Version
	for _, s := range b.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}
