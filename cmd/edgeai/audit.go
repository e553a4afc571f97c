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
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
	keyFile     string
	checkpoint  string

	modelPath string
	modelSHA  string // hex SHA-256 of the loaded model file, when computed
}

// addAuditFlags registers --audit-log, --audit-include-text and
// --model-sha256 on fs.
func addAuditFlags(fs *flag.FlagSet) *auditFlags {
	a := &auditFlags{}
	fs.StringVar(&a.path, "audit-log", "", "append a record of every generation to this JSON-lines `file` (hashes, not text)")
	fs.BoolVar(&a.includeText, "audit-include-text", false, "also store the prompt and response text in the audit log")
	fs.BoolVar(&a.includeText, "audit-text", false, "same as --audit-include-text")
	fs.StringVar(&a.pin, "model-sha256", "", "refuse to run unless the model file has this SHA-256 (`hex`)")
	a.addKeyFlags(fs)
	return a
}

// addKeyFlags registers --audit-key-file and --audit-checkpoint.
func (a *auditFlags) addKeyFlags(fs *flag.FlagSet) {
	fs.StringVar(&a.keyFile, "audit-key-file", "", "make the audit log tamper-evident: an HMAC-SHA256 per record under the key in this `file` (openssl rand -hex 32 > FILE)")
	fs.StringVar(&a.checkpoint, "audit-checkpoint", "", "rewrite this `file` after every record with the last record's number and MAC, so that records cut from the end are detected")
}

// options returns the audit.Options of the flags (reading the key file).
func (a *auditFlags) options() (audit.Options, error) {
	var o audit.Options
	if (a.keyFile != "" || a.checkpoint != "" || a.includeText) && a.path == "" {
		return o, fmt.Errorf("%w: --audit-key-file, --audit-checkpoint and --audit-text need --audit-log", errUsage)
	}
	if a.keyFile != "" {
		k, err := audit.ReadKeyFile(a.keyFile)
		if err != nil {
			return o, err
		}
		o.Key = k
	}
	o.Checkpoint = a.checkpoint
	return o, nil
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
	opts, err := a.options()
	if err != nil {
		return nil, 0, err
	}
	if a.path != "" {
		// Check the log, its key and its checkpoint before the long work.
		l, err := audit.OpenWith(a.path, opts)
		if err != nil {
			return nil, 0, err
		}
		l.Close()
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
	o, err := a.options()
	if err != nil {
		return err
	}
	l, err := audit.OpenWith(a.path, o)
	if err != nil {
		return err
	}
	if err := l.Append(r); err != nil {
		l.Close()
		return err
	}
	return l.Close()
}

// runAudit implements "edgeai audit verify [-v] [--json] [--key-file K]
// [--checkpoint C] FILE".
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "Usage: edgeai audit verify [-v] [--json] [--key-file KEY] [--checkpoint FILE | --init-checkpoint FILE] LOG"
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, usage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return flag.ErrHelp
		}
		return fmt.Errorf("%w: want 'audit verify FILE'", errUsage)
	}
	fs := newFlags("audit verify", stderr)
	list := fs.Bool("v", false, "print every record (one line each)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	keyFile := fs.String("key-file", "", "check every record's MAC with the key in this `file` (the log's --audit-key-file)")
	cpFile := fs.String("checkpoint", "", "check that the log ends where this checkpoint `file` says (detects records cut from the end)")
	initCP := fs.String("init-checkpoint", "", "after a successful check, start a checkpoint `file` for the log (it must not exist yet)")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want one log file", errUsage)
	}
	if *cpFile != "" && *initCP != "" {
		return fmt.Errorf("%w: --checkpoint and --init-checkpoint exclude each other", errUsage)
	}
	var o audit.VerifyOptions
	if *keyFile != "" {
		if o.Key, err = audit.ReadKeyFile(*keyFile); err != nil {
			return err
		}
	}
	if *cpFile != "" {
		if o.Checkpoint, err = audit.ReadCheckpoint(*cpFile, o.Key); err != nil {
			return err
		}
	}
	if *initCP != "" {
		if _, err := os.Lstat(*initCP); err == nil {
			return fmt.Errorf("%w: --init-checkpoint %s exists already", errUsage, *initCP)
		}
	}
	var each func(*audit.Record)
	if *list {
		each = func(r *audit.Record) {
			fmt.Fprintf(stdout, "%6d  %s  %-8s %s\n", r.Seq, r.Time.Format(time.RFC3339), printable(r.Type, 16), recordLine(r))
		}
	}
	s, err := audit.VerifyFileWith(pos[0], o, each)
	if err == nil && *initCP != "" {
		err = audit.WriteCheckpoint(*initCP, s, o.Key)
	}
	if *asJSON {
		out := map[string]any{"file": pos[0], "ok": err == nil, "records": s.Records, "torn": s.Torn, "torn_end": s.TornEnd,
			"keyed": s.Keyed, "head_sha256": s.Last, "last_seq": s.LastSeq}
		if o.Checkpoint != nil {
			out["after_checkpoint"] = s.AfterCheckpoint
		}
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
		name := printable(pos[0], 256)
		fmt.Fprintf(stdout, "%s: OK, %d records", name, s.Records)
		if s.Records > 0 {
			fmt.Fprintf(stdout, " from %s to %s", s.First.Format(time.RFC3339), s.End.Format(time.RFC3339))
		}
		fmt.Fprintln(stdout)
		if s.Keyed {
			fmt.Fprintln(stdout, "every record carries a valid MAC under the key")
		} else {
			fmt.Fprintln(stdout, "hash chain only: give --key-file to check the MACs of a keyed log (without them, a rewritten log cannot be told from the original)")
		}
		if s.Torn > 0 {
			fmt.Fprintf(stdout, "%d torn write(s)", s.Torn)
			if s.TornEnd {
				fmt.Fprint(stdout, " (the last write was interrupted; the next append cuts it and records its hash)")
			}
			fmt.Fprintln(stdout)
		}
		switch {
		case o.Checkpoint != nil && s.AfterCheckpoint == 1:
			fmt.Fprintln(stdout, "the checkpoint names the record before the last (a crash between the two writes); the next append updates it")
		case o.Checkpoint != nil:
			fmt.Fprintln(stdout, "the log ends at the record the checkpoint names")
		case *initCP != "":
			fmt.Fprintf(stdout, "checkpoint %s started at record %d\n", printable(*initCP, 256), s.LastSeq)
		case s.Last != "":
			fmt.Fprintf(stdout, "head %s (without --checkpoint, records cut from the end go unnoticed)\n", s.Last)
		}
	}
	return nil
}

// recordLine summarises a record for audit verify -v, every text from the
// file escaped.
func recordLine(r *audit.Record) string {
	var b strings.Builder
	if r.Type == audit.TypeRecover {
		fmt.Fprintf(&b, "%d torn bytes (sha256 %s)", r.TornBytes, shortHex(r.TornSHA256))
		return b.String()
	}
	if r.Endpoint != "" {
		fmt.Fprintf(&b, "%s %d  client %s", printable(r.Endpoint, 64), r.Status, printable(r.Client, 64))
		if r.KeyID != "" {
			fmt.Fprintf(&b, "  key %s", printable(r.KeyID, 32))
		}
		b.WriteString("  ")
	}
	if r.Model != "" {
		fmt.Fprintf(&b, "model %s ", printable(r.Model, 64))
	}
	fmt.Fprintf(&b, "prompt %d tok  generated %d tok", r.PromptTokens, r.GeneratedTokens)
	if h := shortHex(r.ModelSHA256); h != "" {
		fmt.Fprintf(&b, "  sha256 %s", h)
	}
	if r.Error != "" {
		fmt.Fprintf(&b, "  error %s", printable(r.Error, 120))
	}
	return b.String()
}

// shortHex returns the first 12 characters of a hex hash, escaped.
func shortHex(h string) string {
	if len(h) > 12 {
		h = h[:12]
	}
	return printable(h, 12)
}

// printable escapes what a terminal would interpret (control characters,
// C1 codes, DEL, invalid UTF-8) and bounds the length: text read from a
// log is data, never terminal commands.
func printable(s string, max int) string {
	var b strings.Builder
	for n := 0; len(s) > 0; n++ {
		if n >= max {
			b.WriteString("...")
			break
		}
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\\' || r == 0x2028 || r == 0x2029 || unicode.Is(unicode.Bidi_Control, r):
			q := strconv.QuoteRune(r) // '\x1b', '\u202e', ...
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
		s = s[size:]
	}
	return b.String()
}
