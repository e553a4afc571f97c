package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/audit"
)

const (
	model = "../../models/testdata/stories260K.gguf" // carried by the repository
	note  = "testdata/note.txt"
)

func needModel(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(model); err != nil {
		t.Fatalf("the repository's model is missing: %v", err)
	}
}

func sha(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// summarise runs the example as the README shows, logging to logPath.
func summarise(t *testing.T, logPath string, extra ...string) string {
	t.Helper()
	args := append([]string{"-m", model, "-template", "chatml", "-audit-log", logPath}, extra...)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append(args, note), &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	return out.String()
}

// readmeOutput returns the summary the README shows: the lines after the
// README's command up to the closing fence.
func readmeOutput(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	const cmd = "testdata/note.txt 2>/dev/null\n"
	_, rest, ok := strings.Cut(string(b), cmd)
	if !ok {
		t.Fatal("README has no example command")
	}
	out, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("README's example output has no closing fence")
	}
	return out
}

// TestAuditLog summarises the sample note twice and checks the output
// against the README, the log's hash chain with audit.VerifyFile, each
// record's hashes against independently computed ones, and that no line of
// the note reaches the log.
func TestAuditLog(t *testing.T) {
	needModel(t)
	logPath := filepath.Join(t.TempDir(), "audit.jsonl")
	got := summarise(t, logPath)
	if want := readmeOutput(t); got != want {
		t.Errorf("summary\n%q\nREADME shows\n%q", got, want)
	}
	if again := summarise(t, logPath); again != got {
		t.Errorf("second (greedy) run printed\n%q\nfirst\n%q", again, got)
	}

	var recs []audit.Record
	s, err := audit.VerifyFile(logPath, func(r *audit.Record) { recs = append(recs, *r) })
	if err != nil {
		t.Fatal(err)
	}
	if s.Records != 2 || len(recs) != 2 || s.Torn != 0 {
		t.Fatalf("summary %+v, %d records; want 2 records, none torn", s, len(recs))
	}
	modelSHA, noteSHA := sha(t, model), sha(t, note)
	for i, r := range recs {
		if r.Seq != uint64(i+1) || r.Type != "summarise" || r.Error != "" {
			t.Errorf("record %d: seq %d, event %q, error %q", i, r.Seq, r.Type, r.Error)
		}
		if r.ModelSHA256 != modelSHA || r.PromptSHA256 != noteSHA || r.ResponseSHA256 != audit.HashText(strings.TrimSpace(got)) {
			t.Errorf("record %d hashes: model %s note %s summary %s; want %s %s %s", i,
				r.ModelSHA256, r.PromptSHA256, r.ResponseSHA256, modelSHA, noteSHA, audit.HashText(strings.TrimSpace(got)))
		}
		if r.PromptTokens < 50 || r.GeneratedTokens != 96 || r.StopReason != "length" {
			t.Errorf("record %d: %d prompt tokens, %d generated, stop %q; want >= 50, 96, length", i, r.PromptTokens, r.GeneratedTokens, r.StopReason)
		}
		if r.Params["temperature"] != 0.0 || r.Params["chat_template"] != "chatml" || r.Threads <= 0 || r.Context != 512 || r.Kernels == "" {
			t.Errorf("record %d settings: params %v, threads %d, context %d, kernels %q", i, r.Params, r.Threads, r.Context, r.Kernels)
		}
		if r.Prompt != nil || r.Response != nil {
			t.Errorf("record %d stores text without -audit-include-text", i)
		}
	}

	logText, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	noteText, _ := os.ReadFile(note)
	for _, frag := range append(strings.Split(strings.TrimSpace(string(noteText)), "\n"), "Kowalski", "lisinopril", strings.TrimSpace(got)[:20]) {
		if bytes.Contains(logText, []byte(frag)) {
			t.Errorf("the audit log contains note or summary text %q", frag)
		}
	}

	// The check can fail: change one count in the first record.
	bad := bytes.Replace(logText, []byte(`"generated_tokens":96`), []byte(`"generated_tokens":95`), 1)
	if _, err := audit.Verify(bytes.NewReader(bad), nil); !errors.Is(err, audit.ErrCorrupt) {
		t.Errorf("tampered log: Verify returned %v, want ErrCorrupt", err)
	}
}

// TestIncludeText checks that -audit-include-text stores the note and the
// summary, and only then.
func TestIncludeText(t *testing.T) {
	needModel(t)
	logPath := filepath.Join(t.TempDir(), "audit.jsonl")
	got := summarise(t, logPath, "-audit-include-text")
	noteText, _ := os.ReadFile(note)
	var recs []audit.Record
	if _, err := audit.VerifyFile(logPath, func(r *audit.Record) { recs = append(recs, *r) }); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Prompt == nil || recs[0].Response == nil {
		t.Fatalf("records %+v: want one with the text", recs)
	}
	if *recs[0].Prompt != strings.TrimSpace(string(noteText)) || *recs[0].Response != strings.TrimSpace(got) {
		t.Errorf("stored text %q / %q", *recs[0].Prompt, *recs[0].Response)
	}
}

// TestBadInput checks that bad arguments and files are errors, and that
// nothing is logged for a run that never reached the model.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.txt")
	big := filepath.Join(dir, "big.txt")
	os.WriteFile(empty, []byte(" \n\t\n"), 0o600)
	os.WriteFile(big, bytes.Repeat([]byte("x"), maxNote+1), 0o600)
	logPath := filepath.Join(dir, "audit.jsonl")
	for _, args := range [][]string{
		{note},                                  // no model
		{"-m", model},                           // no note
		{"-m", model, "-n", "0", note},          // bad length
		{"-m", model, "-audit-log", "", note},   // audit log off
		{"-m", model, empty},                    // blank note
		{"-m", model, big},                      // note too long
		{"-m", model, filepath.Join(dir, "no")}, // missing note
		{"-m", "main.go", note},                 // not a GGUF file
		{"-m", filepath.Join(dir, "no.gguf"), note},
	} {
		var out, errOut bytes.Buffer
		args = append([]string{"-audit-log", logPath}, args...)
		if err := run(context.Background(), args, &out, &errOut); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	if _, err := os.Stat(logPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a log was written for runs that never generated: %v", err)
	}
}
