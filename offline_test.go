package edgeai_test

// The offline proof (issue 9): the packages that load and run models never
// open a network connection.
//
//   - TestNoNetworkInRuntime: runtime and its helpers (all but runtime/server)
//     do not link the network stack (deps_test.go's TestNoNetworkInModels
//     covers models, kernels and quant).
//   - TestOfflineGeneration: a real generation (stories260K, greedy) in this
//     process reproduces the golden tokens.
//   - offline_linux_test.go: the same generation in a child process that
//     the kernel kills if it creates any socket (seccomp), and in a child
//     without network (unshare -n).
//   - TestArm64EndToEnd: edgeai run, cross-built for linux/arm64, under
//     qemu-user reproduces the golden text (TestArmV7EndToEnd: linux/arm).

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeai-go/edgeai/internal/testutil"

	edgeruntime "github.com/edgeai-go/edgeai/runtime"
)

const (
	storiesModel = "models/testdata/stories260K.gguf" // carried by the repository
)

// golden is the first case of golden.json: "Once upon a time", 60 steps.
type golden struct {
	Prompt    string `json:"prompt"`
	Steps     int    `json:"steps"`
	PromptIDs []int  `json:"prompt_ids"`
	AllIDs    []int  `json:"all_ids"`
	Text      string `json:"text"`
}

func readGolden(t *testing.T) golden {
	t.Helper()
	b, err := os.ReadFile(testutil.Shared(t, "testdata/stories260K/golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []golden `json:"cases"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	for _, c := range g.Cases {
		if c.Prompt == "Once upon a time" && c.Steps == 60 {
			return c
		}
	}
	t.Fatal("golden.json has no 'Once upon a time' case of 60 steps")
	return golden{}
}

// generateGolden runs the golden case greedily through the runtime API and
// returns the generated ids and text.
func generateGolden(g golden) ([]int, string, error) {
	ctx := context.Background()
	m, err := edgeruntime.Load(ctx, storiesModel, edgeruntime.WithThreads(2))
	if err != nil {
		return nil, "", err
	}
	defer m.Close()
	var stats edgeruntime.Stats
	var ids []int
	opts := edgeruntime.GenerateOptions{MaxTokens: len(g.AllIDs) - len(g.PromptIDs), IgnoreEOS: true, Stats: &stats}
	for tok, err := range m.GenerateTokens(ctx, g.PromptIDs, opts) {
		if err != nil {
			return nil, "", err
		}
		ids = append(ids, tok.ID)
	}
	return ids, m.Detokenize(g.PromptIDs) + stats.Text, nil
}

func checkGolden(t *testing.T, g golden, ids []int, text string) {
	t.Helper()
	if want := g.AllIDs[len(g.PromptIDs):]; !slices.Equal(ids, want) {
		t.Errorf("generated ids %v\nwant %v", ids, want)
	}
	if text != g.Text {
		t.Errorf("text %q\nwant %q", text, g.Text)
	}
}

// networkPackages are the runtime packages whose job is the network: the
// OpenAI-compatible server and the cloud side of bench.
var networkPackages = []string{module + "/runtime/server", module + "/runtime/cloud"}

// TestNoNetworkInRuntime checks that runtime and its helper packages (every
// runtime package but those of networkPackages) do not link net, net/http or
// crypto/tls: without them, they have no way to open a connection short of
// raw system calls, which offline_linux_test.go rules out at run time.
func TestNoNetworkInRuntime(t *testing.T) {
	var pkgs []string
	for _, p := range listPackages(t, "./runtime/...") {
		if !slices.ContainsFunc(networkPackages, func(n string) bool { return p.path == n || strings.HasPrefix(p.path, n+"/") }) {
			pkgs = append(pkgs, p.path)
		}
	}
	if !slices.Contains(pkgs, module+"/runtime") {
		t.Fatalf("go list found no runtime package among %v", pkgs)
	}
	for _, p := range listPackages(t, append([]string{"-deps"}, pkgs...)...) {
		switch p.path {
		case "net", "net/http", "crypto/tls", "net/rpc", "net/smtp":
			t.Errorf("runtime (without %v) depends on %s", networkPackages, p.path)
		}
	}
}

// TestOfflineGeneration runs the golden generation in this process.
func TestOfflineGeneration(t *testing.T) {
	g := readGolden(t)
	ids, text, err := generateGolden(g)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, g, ids, text)
}

// offlineChildEnv selects what the test binary does when re-executed as a
// child of an offline test (see offline_linux_test.go).
const offlineChildEnv = "EDGEAI_OFFLINE_CHILD"

// childResult is what a child prints on standard output, after this prefix.
const childResultPrefix = "EDGEAI-OFFLINE-RESULT "

type childResult struct {
	IDs  []int  `json:"ids"`
	Text string `json:"text"`
	Note string `json:"note,omitempty"`
}

// runChild re-executes this test binary running only TestOfflineChild in
// mode, with argv prefixed by wrap (e.g. "unshare", "-n"), and returns the
// child's result, its combined output and its error.
func runChild(t *testing.T, mode string, wrap ...string) (*childResult, string, error) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	argv := append(append([]string(nil), wrap...), self, "-test.run=^TestOfflineChild$", "-test.count=1")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), offlineChildEnv+"="+mode)
	out, err := cmd.CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, childResultPrefix); ok {
			var r childResult
			if jerr := json.Unmarshal([]byte(rest), &r); jerr != nil {
				t.Fatalf("child result %q: %v", rest, jerr)
			}
			return &r, string(out), err
		}
	}
	return nil, string(out), err
}

// prepareChild readies a child for its mode before it generates, returning a
// note for the parent; offline_linux_test.go replaces it.
var prepareChild = func(mode string) (string, error) {
	return "", fmt.Errorf("child mode %q is not supported on %s", mode, runtime.GOOS)
}

// TestOfflineChild is the child side: it does nothing unless re-executed by
// an offline test with EDGEAI_OFFLINE_CHILD set.
func TestOfflineChild(t *testing.T) {
	mode := os.Getenv(offlineChildEnv)
	if mode == "" {
		t.Skip("runs only as the child of an offline test")
	}
	note, err := prepareChild(mode)
	if err != nil {
		t.Fatalf("%s: %v", mode, err)
	}
	g := readGolden(t)
	ids, text, err := generateGolden(g)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(childResult{IDs: ids, Text: text, Note: note})
	fmt.Printf("%s%s\n", childResultPrefix, b)
}

// buildEdgeai cross-builds cmd/edgeai for goos/goarch (env adds GOARM ...)
// into dir.
func buildEdgeai(t *testing.T, dir, goos, goarch string, env ...string) string {
	t.Helper()
	bin := filepath.Join(dir, "edgeai-"+goos+"-"+goarch)
	cmd := exec.Command(goTool(t), "build", "-o", bin, "./cmd/edgeai")
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch), env...)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build for %s/%s: %v\n%s", goos, goarch, err, out)
	}
	t.Logf("built %s/%s in %v", goos, goarch, time.Since(start).Round(time.Millisecond))
	return bin
}

// runUnderQEMU runs bin with qemu and compares edgeai run's output with the
// golden text.
func runUnderQEMU(t *testing.T, g golden, qemu string, qemuArgs []string, bin string) {
	t.Helper()
	args := append(append([]string(nil), qemuArgs...), bin, "run", "-m", storiesModel, "-p", g.Prompt,
		"-n", fmt.Sprint(len(g.AllIDs)-len(g.PromptIDs)), "--temp", "0", "-t", "2")
	cmd := exec.Command(qemu, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", qemu, qemuArgs, err, stderr.String())
	}
	if got := strings.TrimSuffix(string(out), "\n"); got != g.Text {
		t.Errorf("%s %v: edgeai run printed\n%q\nwant\n%q", qemu, qemuArgs, got, g.Text)
	}
	t.Logf("%s %v: golden text in %v (%s)", filepath.Base(qemu), qemuArgs, time.Since(start).Round(time.Millisecond), strings.TrimSpace(stderr.String()))
}

// TestArm64EndToEnd cross-builds edgeai for linux/arm64 and runs it under
// qemu-user as a Raspberry Pi 5 (-cpu max: dotprod) and a Pi 4 (Cortex-A72:
// NEON without dotprod).
func TestArm64EndToEnd(t *testing.T) {
	g := readGolden(t)
	qemu, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		if qemu, err = exec.LookPath("qemu-aarch64"); err != nil {
			t.Skip("qemu-aarch64-static (Debian qemu-user-static) is not installed: the arm64 end-to-end run needs it")
		}
	}
	if runtime.GOOS != "linux" {
		t.Skip("qemu-user runs linux binaries on linux hosts only")
	}
	bin := buildEdgeai(t, t.TempDir(), "linux", "arm64")
	runUnderQEMU(t, g, qemu, []string{"-cpu", "max"}, bin)
	runUnderQEMU(t, g, qemu, []string{"-cpu", "cortex-a72"}, bin)
}

// TestArmV7EndToEnd does the same for 32-bit linux/arm (GOARM=7: Raspberry
// Pi OS 32-bit), which runs the generic kernels. Skipped with -short: its
// first build takes ~40 s here.
func TestArmV7EndToEnd(t *testing.T) {
	g := readGolden(t)
	if testing.Short() {
		t.Skip("-short: the linux/arm build is slow")
	}
	qemu, err := exec.LookPath("qemu-arm-static")
	if err != nil {
		if qemu, err = exec.LookPath("qemu-arm"); err != nil {
			t.Skip("qemu-arm-static (Debian qemu-user-static) is not installed")
		}
	}
	if runtime.GOOS != "linux" {
		t.Skip("qemu-user runs linux binaries on linux hosts only")
	}
	bin := buildEdgeai(t, t.TempDir(), "linux", "arm", "GOARM=7")
	runUnderQEMU(t, g, qemu, []string{"-cpu", "cortex-a7"}, bin)
}

// TestArmV6EndToEnd runs a GOARM=6 build as a Raspberry Pi Zero / Pi 1
// (ARM1176, ARMv6 with VFPv2: a GOARM=7 binary dies there with SIGILL).
// Skipped with -short, as TestArmV7EndToEnd.
func TestArmV6EndToEnd(t *testing.T) {
	g := readGolden(t)
	if testing.Short() {
		t.Skip("-short: the linux/arm build is slow")
	}
	qemu, err := exec.LookPath("qemu-arm-static")
	if err != nil {
		if qemu, err = exec.LookPath("qemu-arm"); err != nil {
			t.Skip("qemu-arm-static (Debian qemu-user-static) is not installed")
		}
	}
	if runtime.GOOS != "linux" {
		t.Skip("qemu-user runs linux binaries on linux hosts only")
	}
	bin := buildEdgeai(t, t.TempDir(), "linux", "arm", "GOARM=6")
	runUnderQEMU(t, g, qemu, []string{"-cpu", "arm1176"}, bin)
}
