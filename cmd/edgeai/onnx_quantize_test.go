package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/models/onnx"
)

// TestONNXQuantize: edgeai onnx quantize writes an int8 and a float16
// version of a real model that decode, use the quantized operators and
// load on the go backend; usage errors are clear.
func TestONNXQuantize(t *testing.T) {
	model := filepath.Join(needONNXShared(t), "models", "silero-vad", "silero_vad_16k_op15.onnx")
	dir := t.TempDir()
	int8 := filepath.Join(dir, "int8.onnx")
	code, stdout, stderr := edgeai("onnx", "quantize", model, "-o", int8)
	if code != 0 || !strings.Contains(stdout, "quantized") || !strings.Contains(stdout, "Conv") {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	m, err := onnx.ReadFile(int8)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	for _, n := range m.Graph.Nodes {
		ops[n.OpType]++
	}
	if ops["ConvInteger"] == 0 || ops["DynamicQuantizeLinear"] == 0 {
		t.Errorf("int8 model ops %v", ops)
	}
	if code, _, stderr := edgeai("onnx", "quantize", model, "-o", int8); code == 0 || !strings.Contains(stderr, "exists") {
		t.Errorf("overwriting without -f: exit %d %s", code, stderr)
	}
	fp16 := filepath.Join(dir, "fp16.onnx")
	if code, stdout, stderr := edgeai("onnx", "quantize", "--fp16", model, "-o", fp16); code != 0 {
		t.Fatalf("--fp16: exit %d: %s%s", code, stdout, stderr)
	}
	for _, p := range []string{int8, fp16} {
		if code, stdout, stderr := edgeai("onnx", "info", p); code != 0 || !strings.Contains(stdout, "go   yes") {
			t.Errorf("info %s: exit %d\n%s%s", p, code, stdout, stderr)
		}
	}
	if code, _, stderr := edgeai("onnx", "quantize", model); code == 0 || !strings.Contains(stderr, "-o") {
		t.Errorf("without -o: exit %d %s", code, stderr)
	}
	if code, _, stderr := edgeai("onnx", "quantize", model, "-o", filepath.Join(dir, "x.onnx"), "--ops", "Softmax"); code == 0 || !strings.Contains(stderr, "Softmax") {
		t.Errorf("--ops Softmax: exit %d %s", code, stderr)
	}
}
