// Command onnxconformance writes docs/onnx-conformance.md: ONNX's backend
// node tests run on both backends of runtime.LoadONNX (ONNX Runtime and the
// pure-Go executor), side by side, and the status of every operator of the
// ONNX spec on the go backend. Its tests (go test ./cmd/internal/onnxconformance)
// check the same results against the expected failures.
//
//	export EDGEAI_ORT_LIB="$(.ci/install-ort.sh)"
//	go run ./cmd/internal/onnxconformance -o docs/onnx-conformance.md
//
// The node tests come from ../shared/testdata/onnx/node (-node) and, when
// Debian's libonnx-testdata package is installed, from its own directory
// for the operators that selection lacks.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/edgeai-go/edgeai/runtime"
)

func main() {
	out := flag.String("o", "docs/onnx-conformance.md", "the markdown file to write")
	node := flag.String("node", "../shared/testdata/onnx/node", "the directory of the node tests (../shared's selection)")
	flag.Parse()
	if err := run(*out, *node); err != nil {
		fmt.Fprintln(os.Stderr, "onnxconformance:", err)
		os.Exit(1)
	}
}

func run(out, node string) error {
	_, version, err := runtime.ORTVersion("")
	if err != nil {
		return fmt.Errorf("the table compares with ONNX Runtime: %w", err)
	}
	index, err := readIndex(node)
	if err != nil {
		return fmt.Errorf("%w (is ../shared beside the clone?)", err)
	}
	shared, _ := filepath.Glob(filepath.Join(node, "test_*"))
	more := moreNodeTests(debianNodeData)
	if len(more) == 0 {
		return fmt.Errorf("no node tests in %s: apt-get install libonnx-testdata", debianNodeData)
	}
	dirs := append(shared, more...)
	var res [2][]nodeResult
	var counts [2]map[string]int
	for i, backend := range []string{runtime.ONNXBackendORT, runtime.ONNXBackendGo} {
		var bad []string
		res[i], counts[i], bad = runNodeTests(dirs, index, backend, nodeExpected[backend])
		for _, b := range bad {
			fmt.Fprintln(os.Stderr, "unexpected:", b)
		}
		fmt.Fprintf(os.Stderr, "%s: %d node tests: %d pass\n", backend, len(dirs), counts[i]["pass"])
	}
	return writeConformance(out, version, len(shared), len(more), res[0], res[1], counts[0], counts[1])
}
