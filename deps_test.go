package edgeai_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/edgeai-go/edgeai"

// archRank is the rank of the architecture packages (models/llama, ...).
const archRank = 4

// rank orders edgeai's packages: a package may import only edgeai packages of a
// strictly lower rank (see STYLE.md: quant < kernels < models/nn < models/<arch>
// < runtime < cmd, examples). One architecture never imports another because
// they share a rank.
func rank(pkg string) (float64, bool) {
	p := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	first := func(prefix string) bool { return p == prefix || strings.HasPrefix(p, prefix+"/") }
	switch {
	case p == "":
		return 100, true // the root holds only this test
	case first("quant"):
		return 0, true
	case first("internal/safeopen"):
		return 0.25, true // leaf helpers the other internal packages use
	case first("internal"):
		return 0.5, true
	case first("kernels"):
		return 1, true
	case first("models/gguf"), p == "models/onnx":
		return 2, true
	case first("models/onnx/exec/internal/profile"):
		return 2.75, true // the executor's profiler (a tool) builds on the executor
	case first("models/onnx"):
		return 2.5, true // backends and the executor build on the format reader
	case first("models/tokenizer"), first("models/nn"), first("models/chat"):
		return 3, true
	case p == "models" || first("models/all"):
		return 5, true
	case first("models"):
		return archRank, true // one package per architecture
	case p == "runtime":
		return 6, true
	case first("runtime/server"):
		return 7, true
	case first("runtime"):
		return 5.5, true // runtime/sample, runtime/energy, ...: helpers below the API
	case first("cmd"), first("examples"):
		return 10, true
	}
	return 0, false
}

func goTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go") // go test puts GOROOT/bin first in PATH
	if err != nil {
		t.Fatalf("the go command is not in PATH: %v", err)
	}
	return p
}

type pkgImports struct {
	path    string
	imports []string
}

func listPackages(t *testing.T, args ...string) []pkgImports {
	t.Helper()
	cmd := exec.Command(goTool(t), append([]string{"list", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkgImports
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		pkgs = append(pkgs, pkgImports{f[0], f[1:]})
	}
	return pkgs
}

func isOurs(p string) bool { return p == module || strings.HasPrefix(p, module+"/") }

// TestImportDirection enforces the layering of STYLE.md on every package.
func TestImportDirection(t *testing.T) {
	pkgs := listPackages(t, "./...")
	if len(pkgs) < 3 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	for _, p := range pkgs {
		r, ok := rank(p.path)
		if !ok {
			t.Errorf("%s: no place in the layering; add it to rank() in deps_test.go", p.path)
			continue
		}
		for _, imp := range p.imports {
			if !isOurs(imp) {
				continue
			}
			ri, ok := rank(imp)
			if !ok {
				continue // reported above as a package of its own
			}
			if ri >= r {
				t.Errorf("%s (rank %v) imports %s (rank %v): imports must point down", p.path, r, imp, ri)
			}
			if r == archRank && ri == archRank {
				t.Errorf("%s imports %s: one architecture never imports another (they share through models/nn)", p.path, imp)
			}
		}
		// kernels imports quant only (not even internal/).
		if strings.HasPrefix(p.path, module+"/kernels") {
			for _, imp := range p.imports {
				if isOurs(imp) && !strings.HasPrefix(imp, module+"/quant") && !strings.HasPrefix(imp, module+"/kernels") {
					t.Errorf("%s imports %s: kernels may import only quant", p.path, imp)
				}
			}
		}
	}
}

// networked are the only packages besides the CLI (cmd/edgeai) and the
// examples that may link the network stack: the server, and the client of a
// cloud API that `edgeai bench --cloud-endpoint` compares with. Everything
// that loads and runs models, the public runtime API included, must not.
var networked = []string{module + "/runtime/server", module + "/runtime/cloud"}

// TestNoNetworkInModels checks that the packages that load and run models
// (models, kernels, quant, internal, and runtime with its helpers but for
// the networked ones) never link the network stack.
func TestNoNetworkInModels(t *testing.T) {
	cmd := exec.Command(goTool(t), "list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}",
		"./models/...", "./kernels/...", "./quant/...", "./internal/...", "./runtime/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || slices.Contains(networked, f[0]) {
			continue
		}
		n++
		for _, dep := range f[1:] {
			if dep == "net" || dep == "net/http" {
				t.Errorf("%s depends on %s: only %s may use the network", f[0], dep, strings.Join(networked, ", "))
			}
		}
	}
	if n < 10 {
		t.Fatalf("go list found only %d packages", n)
	}
}
