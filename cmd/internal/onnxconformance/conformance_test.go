package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"
	"github.com/edgeai-go/edgeai/models/onnx/exec"
	"github.com/edgeai-go/edgeai/models/onnx/ort"
	"github.com/edgeai-go/edgeai/runtime"
)

// needORT skips when ONNX Runtime is not installed (and fails when
// EDGEAI_ORT_LIB names a library that does not load).
func needORT(t *testing.T) {
	t.Helper()
	path, version, err := runtime.ORTVersion("")
	if err == nil {
		t.Logf("ONNX Runtime %s from %s", version, path)
		return
	}
	if errors.Is(err, runtime.ErrONNXBackendUnavailable) && (os.Getenv("EDGEAI_ORT_LIB") == "" || !ort.Compiled) {
		t.Skipf("ONNX Runtime unavailable (set EDGEAI_ORT_LIB; .ci/install-ort.sh installs it): %v", err)
	}
	t.Fatalf("EDGEAI_ORT_LIB=%s does not load: %v", os.Getenv("EDGEAI_ORT_LIB"), err)
}

// sharedNodeTests returns ../shared's node tests and their index.
func sharedNodeTests(t *testing.T) ([]string, map[string][2]string) {
	node := testutil.Shared(t, "testdata/onnx/node")
	index, err := readIndex(node)
	if err != nil {
		t.Fatal(err)
	}
	dirs, _ := filepath.Glob(filepath.Join(node, "test_*"))
	if len(dirs) != 439 {
		t.Fatalf("found %d node tests, want 439", len(dirs))
	}
	return dirs, index
}

func checkNodeTests(t *testing.T, dirs []string, index map[string][2]string, backend string) {
	res, counts, bad := runNodeTests(dirs, index, backend, nodeExpected[backend])
	for _, b := range bad {
		t.Error(b)
	}
	t.Logf("%s backend: %d node tests: %d pass, %d fail, %d error, %d unsupported",
		backend, len(res), counts["pass"], counts["fail"], counts["error"], counts["unsupported"])
}

// TestNodeConformanceORT runs ../shared's node tests through ONNX Runtime.
func TestNodeConformanceORT(t *testing.T) {
	dirs, index := sharedNodeTests(t)
	needORT(t)
	checkNodeTests(t, dirs, index, runtime.ONNXBackendORT)
}

// TestNodeConformanceGo runs ../shared's node tests through the pure-Go
// backend.
func TestNodeConformanceGo(t *testing.T) {
	dirs, index := sharedNodeTests(t)
	checkNodeTests(t, dirs, index, runtime.ONNXBackendGo)
}

// TestNodeTestsMore runs the node tests of the operators added for issue
// 21's sweep that ../shared's selection lacks, from Debian's
// libonnx-testdata package (`apt-get install libonnx-testdata`; .ci/run
// installs it), on both backends.
func TestNodeTestsMore(t *testing.T) {
	if _, err := os.Stat(debianNodeData); err != nil {
		t.Skipf("%s: %v (apt-get install libonnx-testdata)", debianNodeData, err)
	}
	sel := moreNodeTests(debianNodeData)
	if len(sel) != 37 {
		t.Fatalf("found %d node tests of the new operators in %s, want 37", len(sel), debianNodeData)
	}
	checkNodeTests(t, sel, nil, runtime.ONNXBackendGo)
	if _, _, err := runtime.ORTVersion(""); err == nil {
		checkNodeTests(t, sel, nil, runtime.ONNXBackendORT)
	}
}

// TestOperatorStatusList keeps onnxOps honest: every operator the go
// backend implements is listed, and a note saying "not" is only on one it
// lacks.
func TestOperatorStatusList(t *testing.T) {
	listed := map[string]bool{}
	for _, o := range onnxOps {
		if listed[o.op] {
			t.Errorf("%s listed twice", o.op)
		}
		listed[o.op] = true
		if exec.Supported(o.op) && strings.HasPrefix(o.note, "not") {
			t.Errorf("%s: implemented, but noted %q", o.op, o.note)
		}
		if !exec.Supported(o.op) && !strings.HasPrefix(o.note, "not") && !strings.HasPrefix(o.note, "deprecated") {
			t.Errorf("%s: not implemented, but noted %q", o.op, o.note)
		}
	}
	for _, op := range exec.Operators() {
		if !listed[op] {
			t.Errorf("the go backend implements %s, missing from the list", op)
		}
	}
	if n := len(onnxOps) - len(opset23); n != 193 {
		t.Errorf("%d operators up to opset 21, want 193", n)
	}
}
