// Package pi holds run.sh, the Raspberry Pi cross-build and run script, and
// the test that runs it.
package pi

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/edgeai-go/edgeai/internal/testutil"
)

// model is the model the repository carries.
const model = "../../models/testdata/stories260K.gguf"

// goldenText returns llama2.c's greedy text for "Once upon a time", 60 steps:
// what `edgeai run -n 56 --temp 0` (llama2.c's 60 steps: BOS, 4 prompt tokens, 56 new ones) prints.
func goldenText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(testutil.Shared(t, "testdata/stories260K/golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []struct {
			Prompt string `json:"prompt"`
			Steps  int    `json:"steps"`
			Text   string `json:"text"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	for _, c := range g.Cases {
		if c.Prompt == "Once upon a time" && c.Steps == 60 {
			return c.Text
		}
	}
	t.Fatal("golden.json has no 'Once upon a time' case of 60 steps")
	return ""
}

// canRun skips the test unless this host can run a linux/arm64 binary:
// natively, or with qemu-user.
func canRun(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("run.sh runs the arm64 binary on Linux hosts only (natively or under qemu-user), not on %s", runtime.GOOS)
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed: run.sh needs it")
	}
	if runtime.GOARCH == "arm64" {
		return
	}
	if _, err := exec.LookPath("qemu-aarch64-static"); err == nil {
		return
	}
	if _, err := exec.LookPath("qemu-aarch64"); err == nil {
		return
	}
	t.Skipf("host is %s and qemu-aarch64-static (Debian qemu-user-static) is not installed: cannot run the arm64 build", runtime.GOARCH)
}

// TestRunScript runs run.sh as a Pi 5 (qemu's "max" CPU: NEON with dotprod)
// and as a Pi 4 (Cortex-A72: NEON without dotprod), or natively on an arm64
// host, and compares the generated text with the golden text.
func TestRunScript(t *testing.T) {
	canRun(t)
	want := goldenText(t)
	abs, err := filepath.Abs(model)
	if err != nil {
		t.Fatal(err)
	}
	cpus := []string{"max", "cortex-a72"}
	if runtime.GOARCH == "arm64" {
		cpus = []string{""} // native: QEMU_CPU is not used
	}
	out := t.TempDir()
	for _, cpu := range cpus {
		cmd := exec.Command("bash", "run.sh")
		cmd.Env = append(os.Environ(), "MODEL="+abs, "OUT="+out, "QEMU_CPU="+cpu)
		if cpu == "" {
			cmd.Env = append(os.Environ(), "MODEL="+abs, "OUT="+out)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		start := time.Now()
		got, err := cmd.Output()
		if err != nil {
			t.Fatalf("run.sh (cpu %q): %v\n%s", cpu, err, stderr.String())
		}
		if s := strings.TrimSuffix(string(got), "\n"); s != want {
			t.Errorf("run.sh (cpu %q) printed\n%q\nwant\n%q", cpu, s, want)
		}
		t.Logf("cpu %q: golden text in %v\n%s", cpu, time.Since(start).Round(time.Millisecond), strings.TrimSpace(stderr.String()))
	}
	if _, err := os.Stat(filepath.Join(out, "edgeai-linux-arm64")); err != nil {
		t.Errorf("run.sh did not leave the binary in OUT: %v", err)
	}
}

// TestRunScriptNoModel checks that a missing model is a clear error before
// anything is built.
func TestRunScriptNoModel(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed: run.sh needs it")
	}
	cmd := exec.Command("bash", "run.sh")
	cmd.Env = append(os.Environ(), "MODEL="+filepath.Join(t.TempDir(), "none.gguf"))
	b, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "not found") || strings.Contains(string(b), "building") {
		t.Errorf("run.sh with a missing model: %v\n%s", err, b)
	}
}
