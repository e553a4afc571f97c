package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/audit"
)

// TestAuditVerifyCLI: audit verify with a key and a checkpoint, a tampered
// last record, and -v printing hostile record text escaped.
func TestAuditVerifyCLI(t *testing.T) {
	dir := t.TempDir()
	logPath, cpPath, keyPath := filepath.Join(dir, "audit.jsonl"), filepath.Join(dir, "audit.cp"), filepath.Join(dir, "audit.key")
	os.WriteFile(keyPath, []byte("6b0d3f1c2a4e5f60718293a4b5c6d7e8\n"), 0o600)
	key, err := audit.ReadKeyFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.OpenWith(logPath, audit.Options{Key: key, Checkpoint: cpPath})
	if err != nil {
		t.Fatal(err)
	}
	hostile := "evil\x1b[2J\x1b]0;pwned\x07\u202e\u009b31m\r"
	for _, r := range []*audit.Record{
		{Type: "serve", Endpoint: "POST /v1/chat/completions", Status: 200, Client: "127.0.0.1:5555", KeyID: "k-1234", Model: "tiny", PromptTokens: 3, GeneratedTokens: 4},
		{Type: hostile, Model: hostile, Error: hostile, Endpoint: hostile, Client: hostile},
	} {
		if err := l.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	code, stdout, stderr := edgeai("audit", "verify", "-v", "--key-file", keyPath, "--checkpoint", cpPath, logPath)
	if code != 0 || !strings.Contains(stdout, "OK, 2 records") || !strings.Contains(stdout, "valid MAC") || !strings.Contains(stdout, "checkpoint names") {
		t.Fatalf("verify: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, c := range stdout {
		if (c < 0x20 && c != '\n') || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x202e {
			t.Fatalf("verify -v printed a control character %U:\n%q", c, stdout)
		}
	}
	if !strings.Contains(stdout, `evil\x1b[2J\x1b]0;pwned\a\u202e\u009b31m\r`) {
		t.Errorf("escaped text missing:\n%s", stdout)
	}
	t.Logf("audit verify -v:\n%s", stdout)

	// Change the last record's status: the MAC catches it.
	raw, _ := os.ReadFile(logPath)
	lines := strings.SplitAfter(string(raw), "\n")
	tampered := lines[0] + strings.Replace(lines[1], `"seed":0`, `"seed":1`, 1)
	os.WriteFile(logPath, []byte(tampered), 0o600)
	code, _, stderr = edgeai("audit", "verify", "--key-file", keyPath, logPath)
	if code != 1 || !strings.Contains(stderr, "valid MAC") {
		t.Errorf("tampered: exit %d: %s", code, stderr)
	}
	// Cut the last record: only the checkpoint tells.
	os.WriteFile(logPath, []byte(lines[0]), 0o600)
	if code, _, _ := edgeai("audit", "verify", "--key-file", keyPath, logPath); code != 0 {
		t.Errorf("cut without checkpoint: exit %d", code)
	}
	code, _, stderr = edgeai("audit", "verify", "--key-file", keyPath, "--checkpoint", cpPath, logPath)
	if code != 1 || !strings.Contains(stderr, "removed from the end") || strings.Contains(stderr, "{") {
		t.Errorf("cut with checkpoint: exit %d: %s", code, stderr)
	}
	// --init-checkpoint starts a checkpoint for a verified log.
	cp2 := filepath.Join(dir, "new.cp")
	code, stdout, _ = edgeai("audit", "verify", "--key-file", keyPath, "--init-checkpoint", cp2, logPath)
	if code != 0 || !strings.Contains(stdout, "started at record 1") {
		t.Errorf("init checkpoint: exit %d: %s", code, stdout)
	}
	if code, _, _ := edgeai("audit", "verify", "--key-file", keyPath, "--checkpoint", cp2, logPath); code != 0 {
		t.Errorf("with the new checkpoint: exit %d", code)
	}
}
