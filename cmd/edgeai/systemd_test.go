package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"
)

// TestSystemdUnit checks examples/systemd/edgeai.service: the hardening the
// docs promise is there, its ExecStart flags are ones serve knows, and
// systemd-analyze verify accepts it (when systemd-analyze is installed).
func TestSystemdUnit(t *testing.T) {
	path := filepath.Join(testutil.Root(t), "examples", "systemd", "edgeai.service")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	for _, want := range []string{
		"DynamicUser=yes", "ProtectSystem=strict", "PrivateTmp=yes", "NoNewPrivileges=yes", "\nCapabilityBoundingSet=\n",
		"Restart=on-failure", "LoadCredential=api-key:", "--api-key-file %d/api-key", "--audit-key-file %d/audit-key",
		"--tls-cert", "--audit-checkpoint", "StateDirectory=edgeai",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("the unit lacks %q", want)
		}
	}
	// Every flag of ExecStart is one of serve's (as its usage lists them).
	var usage strings.Builder
	runServe(context.Background(), []string{"-h"}, &usage, &usage)
	exec0 := unit[strings.Index(unit, "ExecStart="):]
	exec0 = exec0[:strings.Index(exec0, "\nLoadCredential")]
	for _, f := range strings.Fields(strings.ReplaceAll(exec0, "\\\n", " ")) {
		if strings.HasPrefix(f, "-") && !strings.Contains(usage.String(), "  -"+strings.TrimLeft(f, "-")+" ") &&
			!strings.Contains(usage.String(), "  -"+strings.TrimLeft(f, "-")+"\n") {
			t.Errorf("ExecStart uses %s, which serve does not know", f)
		}
	}
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	// Verify a copy whose ExecStart names an executable that exists here.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "edgeai.service")
	os.WriteFile(copyPath, []byte(strings.ReplaceAll(unit, "/usr/local/bin/edgeai", self)), 0o644)
	out, err := exec.Command(sa, "verify", copyPath).CombinedOutput()
	if err != nil || strings.Contains(string(out), "edgeai.service") {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	t.Logf("systemd-analyze verify: OK %s", strings.TrimSpace(string(out)))
}
