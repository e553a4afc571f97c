package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/edgeai-go/edgeai/internal/audit"
	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/runtime"
)

func init() {
	register(&command{name: "audit", summary: "check an audit log's integrity (audit verify FILE)", run: runAudit})
}

// auditFlags are the provenance flags of run and chat. Use:
//
//	au := addAuditFlags(fs)                    // with the other flags
//	model, loadTime, err := au.load(ctx, &mf)  // instead of mf.load(ctx)
//	au.record(model, opts, auditEntry{...})    // after each generation
type auditFlags struct {
	path        string
	includeText bool
	pin         string

	modelPath string
	modelSHA  string // hex SHA-256 of the loaded model file, when computed
}

// addAuditFlags registers --audit-log, --audit-include-text and
// --model-sha256 on fs.
func addAuditFlags(fs *flag.FlagSet) *auditFlags {
	a := &auditFlags{}
	fs.StringVar(&a.path, "audit-log", "", "append a record of every generation to this JSON-lines `file` (hashes, not text)")
	fs.BoolVar(&a.includeText, "audit-include-text", false, "also store the prompt and response text in the audit log")
	fs.StringVar(&a.pin, "model-sha256", "", "refuse to run unless the model file has this SHA-256 (`hex`)")
	return a
}

// errModelHash is returned when the model does not match --model-sha256.
var errModelHash = errors.New("the model file's SHA-256 does not match --model-sha256")

// load loads the model as mf.load does, after checking --model-sha256. With
// --model-sha256 or --audit-log it hashes the model file (about a second per
// GB) and checks afterwards that the file mapped is the file hashed.
func (a *auditFlags) load(ctx context.Context, mf *modelFlags, extra ...runtime.Option) (*runtime.Model, time.Duration, error) {
	if a.pin == "" && a.path == "" {
		return mf.load(ctx, extra...)
	}
	if mf.model == "" {
		return nil, 0, fmt.Errorf("%w: -m MODEL is required", errUsage)
	}
	pin := strings.ToLower(strings.TrimSpace(a.pin))
	if pin != "" {
		if b, err := hex.DecodeString(pin); err != nil || len(b) != 32 {
			return nil, 0, fmt.Errorf("%w: --model-sha256 %q is not 64 hex digits", errUsage, a.pin)
		}
	}
	if a.includeText && a.path == "" {
		return nil, 0, fmt.Errorf("%w: --audit-include-text needs --audit-log", errUsage)
	}
	before, err := os.Stat(mf.model)
	if err != nil {
		return nil, 0, err
	}
	sum, err := infoSHA256(ctx, mf.model)
	if err != nil {
		return nil, 0, fmt.Errorf("hashing the model: %w", err)
	}
	if pin != "" && sum != pin {
		return nil, 0, fmt.Errorf("%w: %s has %s", errModelHash, mf.model, sum)
	}
	model, d, err := mf.load(ctx, extra...)
	if err != nil {
		return nil, 0, err
	}
	after, err := os.Stat(mf.model)
	if err != nil || !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) || after.Size() != before.Size() {
		model.Close()
		return nil, 0, fmt.Errorf("%s changed while it was being hashed and loaded", mf.model)
	}
	a.modelPath, a.modelSHA = mf.model, sum
	return model, d, nil
}

// auditEntry is what one generation adds to an audit record. Counts and
// stop reason left zero are taken from opts.Stats when it is set.
type auditEntry struct {
	Event           string // "run", "chat"
	Prompt          string // the prompt (text, or the detokenized prompt ids)
	PromptTokens    int
	Response        string
	GeneratedTokens int
	StopReason      string
	Err             error // the generation's error, if any
}

// record appends one record for a generation to --audit-log (nothing without
// it). The text of prompt and response is stored only with
// --audit-include-text; otherwise only their SHA-256.
func (a *auditFlags) record(model *runtime.Model, opts runtime.GenerateOptions, e auditEntry) error {
	if a.path == "" {
		return nil
	}
	if st := opts.Stats; st != nil {
		if e.PromptTokens == 0 {
			e.PromptTokens = st.PromptTokens + st.CachedTokens
		}
		if e.GeneratedTokens == 0 {
			e.GeneratedTokens = st.GeneratedTokens
		}
		if e.StopReason == "" {
			e.StopReason = st.StopReason
		}
		if e.Response == "" {
			e.Response = st.Text
		}
	}
	p := opts.Sampling
	info := model.Info()
	r := &audit.Record{
		Type:        e.Event,
		Version:     edgeaiVersion(),
		Model:       a.modelPath,
		ModelSHA256: a.modelSHA,
		Kernels:     kernels.Path(),
		Threads:     info.Threads,
		Context:     info.ContextSize,
		Params: map[string]any{
			"temperature": p.Temperature, "top_k": p.TopK, "top_p": p.TopP, "min_p": p.MinP,
			"repeat_penalty": p.RepeatPenalty, "repeat_last_n": p.RepeatLastN,
			"presence_penalty": p.PresencePenalty, "frequency_penalty": p.FrequencyPenalty,
			"max_tokens": opts.MaxTokens, "stop_strings": len(opts.Stop), "ignore_eos": opts.IgnoreEOS,
		},
		Seed:            p.Seed,
		PromptTokens:    e.PromptTokens,
		GeneratedTokens: e.GeneratedTokens,
		StopReason:      e.StopReason,
		PromptSHA256:    audit.HashText(e.Prompt),
		ResponseSHA256:  audit.HashText(e.Response),
	}
	if e.Err != nil {
		r.Error = e.Err.Error()
	}
	if a.includeText {
		r.Prompt, r.Response = &e.Prompt, &e.Response
	}
	l, err := audit.Open(a.path)
	if err != nil {
		return err
	}
	if err := l.Append(r); err != nil {
		l.Close()
		return err
	}
	return l.Close()
}

// runAudit implements "edgeai audit verify [-v] [--json] FILE".
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, "Usage: edgeai audit verify [-v] [--json] FILE")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return flag.ErrHelp
		}
		return fmt.Errorf("%w: want 'audit verify FILE'", errUsage)
	}
	fs := newFlags("audit verify", stderr)
	list := fs.Bool("v", false, "print every record (one line each)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want one log file", errUsage)
	}
	var each func(*audit.Record)
	if *list {
		each = func(r *audit.Record) {
			fmt.Fprintf(stdout, "%6d  %s  %-8s prompt %5d tok  generated %5d tok  %s\n", r.Seq, r.Time.Format(time.RFC3339), r.Type,
				r.PromptTokens, r.GeneratedTokens, shortHash(r.ModelSHA256))
		}
	}
	s, err := audit.VerifyFile(pos[0], each)
	if *asJSON {
		out := map[string]any{"file": pos[0], "ok": err == nil, "records": s.Records, "torn": s.Torn, "torn_end": s.TornEnd, "head_sha256": s.Last}
		if err != nil {
			out["error"] = err.Error()
		}
		b, _ := json.Marshal(out)
		fmt.Fprintln(stdout, string(b))
	}
	if err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "%s: OK, %d records", pos[0], s.Records)
		if s.Records > 0 {
			fmt.Fprintf(stdout, " from %s to %s", s.First.Format(time.RFC3339), s.End.Format(time.RFC3339))
		}
		fmt.Fprintln(stdout)
		if s.Torn > 0 {
			fmt.Fprintf(stdout, "%d torn write(s) skipped", s.Torn)
			if s.TornEnd {
				fmt.Fprint(stdout, " (the last write was interrupted)")
			}
			fmt.Fprintln(stdout)
		}
		if s.Last != "" {
			fmt.Fprintf(stdout, "head %s (keep it elsewhere to detect truncation)\n", s.Last)
		}
	}
	return nil
}

func shortHash(h string) string {
	if len(h) > 12 {
		return "model " + h[:12]
	}
	return ""
}
