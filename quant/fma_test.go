package quant_test

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// fusedOp matches the fused multiply-add instructions of the Go assemblers of
// arm64, riscv64, ppc64, s390x, loong64 (FMADDS, FNMSUBF, ...) and amd64 (VFMADD231SS ...).
var fusedOp = regexp.MustCompile(`\s(V?FN?M(ADD|SUB)[0-9A-Z]*)\s`)

// TestNoFusedMultiplyAdd compiles this package for every port where the Go
// compiler may fuse x*y+z into one rounding and checks that it did not: the
// reference code must round like ggml's C (compiled without FMA) to stay
// bit-exact on a Raspberry Pi as on x86.
func TestNoFusedMultiplyAdd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the package for 6 targets")
	}
	goTool, err := exec.LookPath("go") // go test puts GOROOT/bin first in PATH
	if err != nil {
		t.Fatalf("the go command is not in PATH: %v", err)
	}
	for _, target := range [][]string{
		{"GOARCH=arm64"}, {"GOARCH=riscv64"}, {"GOARCH=ppc64le"}, {"GOARCH=s390x"}, {"GOARCH=loong64"},
		{"GOARCH=amd64", "GOAMD64=v3"},
	} {
		cmd := exec.Command(goTool, "build", "-gcflags=-S", "-o", "/dev/null", ".")
		cmd.Env = append(cmd.Environ(), append([]string{"CGO_ENABLED=0", "GOOS=linux"}, target...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: go build: %v\n%s", target, err, out)
		}
		if !strings.Contains(string(out), "STEXT") {
			t.Fatalf("%v: no assembly listing in the build output", target)
		}
		fn := ""
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, " STEXT ") {
				fn = strings.Fields(line)[0]
			}
			if m := fusedOp.FindStringSubmatch(line); m != nil && strings.HasPrefix(strings.TrimSpace(line), "0x") {
				t.Errorf("%v: %s uses %s: %s", target, fn, m[1], strings.TrimSpace(line))
			}
		}
	}
}
