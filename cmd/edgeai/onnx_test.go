package main

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"

	"github.com/edgeai-go/edgeai/internal/npy"
	"github.com/edgeai-go/edgeai/models/onnx"
	"github.com/edgeai-go/edgeai/models/onnx/ort"
	"github.com/edgeai-go/edgeai/runtime"
)

// needONNXShared returns ../shared/testdata/onnx, or skips.
func needONNXShared(t *testing.T) string {
	t.Helper()
	return testutil.Shared(t, "testdata/onnx")
}

// needORT: fail when EDGEAI_ORT_LIB is set but broken; skip when it is
// unset and no library is found, or the build has no cgo backend.
func needORT(t *testing.T) {
	t.Helper()
	_, _, err := runtime.ORTVersion("")
	if err == nil {
		return
	}
	if errors.Is(err, runtime.ErrONNXBackendUnavailable) && (os.Getenv("EDGEAI_ORT_LIB") == "" || !ort.Compiled) {
		t.Skipf("ONNX Runtime unavailable (set EDGEAI_ORT_LIB; .ci/install-ort.sh installs it): %v", err)
	}
	t.Fatalf("EDGEAI_ORT_LIB=%s does not load: %v", os.Getenv("EDGEAI_ORT_LIB"), err)
}

func edgeai(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = runMain(args, &o, &e)
	return code, o.String(), e.String()
}

func TestONNXInfo(t *testing.T) {
	onnxShared := needONNXShared(t)
	model := filepath.Join(onnxShared, "models", "silero-vad", "silero_vad_16k_op15.onnx")
	code, out, errOut := edgeai("onnx", "info", model)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"producer:   pytorch 2.3.1, IR version 8",
		"opsets:     ai.onnx 15",
		"input  float32[batch,sequence]",
		"state  float32[2,batch,128]",
		"sr     int64[]",
		"output  float32[batch,1]",
		"    12  If\n",
		"    160  Constant\n",
		"go   yes (loads the model)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("info output lacks %q:\n%s", want, out)
		}
	}
	if code, _, _ := edgeai("onnx", "info"); code != 2 {
		t.Errorf("info without a model: exit %d, want 2", code)
	}
	if code, _, e := edgeai("onnx", "info", filepath.Join(t.TempDir(), "missing.onnx")); code != 1 || e == "" {
		t.Errorf("info on a missing file: exit %d (%s)", code, e)
	}
	if code, _, _ := edgeai("onnx", "frobnicate"); code != 2 {
		t.Errorf("unknown subcommand: exit %d, want 2", code)
	}
}

// writeNPY converts a TensorProto file to .npy, optionally as float64.
func writeNPY(t *testing.T, pb, path string, asFloat64 bool) {
	t.Helper()
	tensor, err := runtime.ReadTensorFile(pb)
	if err != nil {
		t.Fatal(err)
	}
	if asFloat64 {
		if tensor, err = convertTensor(tensor, runtime.TensorFloat64); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeNPYTensor(path, tensor); err != nil {
		t.Fatal(err)
	}
}

// TestONNXRun runs Silero VAD from .npy files made of a golden case and
// compares the written outputs with ONNX Runtime 1.30's.
func TestONNXRun(t *testing.T) {
	needONNXShared(t)
	needORT(t)
	testONNXRun(t, "ort")
}

// TestONNXRunGoBackend is TestONNXRun on the pure-Go backend, which every
// build has.
func TestONNXRunGoBackend(t *testing.T) {
	testONNXRun(t, "go")
}

func testONNXRun(t *testing.T, backend string) {
	onnxShared := needONNXShared(t)
	model := filepath.Join(onnxShared, "models", "silero-vad", "silero_vad_16k_op15.onnx")
	golden := filepath.Join(onnxShared, "golden", "silero_vad_16k_op15", "test_data_set_1")
	dir := t.TempDir()
	// input_0 = input (given as float64: the CLI converts), input_1 = state, input_2 = sr.
	writeNPY(t, filepath.Join(golden, "input_0.pb"), filepath.Join(dir, "audio.npy"), true)
	writeNPY(t, filepath.Join(golden, "input_1.pb"), filepath.Join(dir, "state.npy"), false)
	writeNPY(t, filepath.Join(golden, "input_2.pb"), filepath.Join(dir, "sr.npy"), false)
	out := filepath.Join(dir, "out")
	// sr comes straight from the TensorProto file.
	code, stdout, stderr := edgeai("onnx", "run", model, "--backend", backend, "--threads", "1",
		"--input", "input="+filepath.Join(dir, "audio.npy"), "--input", "state="+filepath.Join(dir, "state.npy"),
		"--input", "sr="+filepath.Join(golden, "input_2.pb"), "--out", out, "--bench", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, `input "input" converted from float64 to float32`) {
		t.Errorf("no conversion note: %q", stderr)
	}
	if !strings.Contains(stdout, "bench: 3 runs after 1 warm-up") {
		t.Errorf("no bench line:\n%s", stdout)
	}
	for i, name := range []string{"output", "stateN"} {
		got, err := readNPYTensor(filepath.Join(out, name+".npy"))
		if err != nil {
			t.Fatal(err)
		}
		pt, err := onnx.ReadTensorFile(filepath.Join(golden, fmt.Sprintf("output_%d.pb", i)))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := pt.Float32s()
		g, _ := got.Float64s()
		if len(g) != len(want) {
			t.Fatalf("%s: %d values, want %d", name, len(g), len(want))
		}
		for j := range want {
			if math.Abs(g[j]-float64(want[j])) > 1e-4*math.Abs(float64(want[j]))+1e-6 {
				t.Fatalf("%s[%d] = %v, want %v", name, j, g[j], want[j])
			}
		}
	}

	bad := [][]string{
		{"onnx", "run", model, "--input", "nope=" + filepath.Join(dir, "sr.npy"), "--out", out},
		{"onnx", "run", model, "--input", "input"},
		{"onnx", "run", model, "--input", "sr=" + filepath.Join(dir, "sr.npy")},
	}
	for _, args := range bad {
		if code, _, _ := edgeai(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	// Missing inputs and unreadable files are run errors (exit 1).
	if code, _, e := edgeai("onnx", "run", model, "--input", "sr="+filepath.Join(dir, "sr.npy"), "--out", out); code != 1 || !strings.Contains(e, "missing input") {
		t.Errorf("missing inputs: exit %d: %s", code, e)
	}
	os.WriteFile(filepath.Join(dir, "bad.npy"), []byte("not npy"), 0o644)
	if code, _, e := edgeai("onnx", "run", model, "--input", "sr="+filepath.Join(dir, "bad.npy"), "--out", out); code != 1 || !strings.Contains(e, "npy") {
		t.Errorf("bad npy: exit %d: %s", code, e)
	}
}

func TestEscapeName(t *testing.T) {
	cases := map[string]string{
		"output":           "output",
		"softmax_11.tmp_0": "softmax_11.tmp_0",
		"a/b":              "a%2Fb",
		"../x":             "%2E.%2Fx",
		".hidden":          "%2Ehidden",
		"x:y*z?":           "x%3Ay%2Az%3F",
		"CON":              "%43ON",
		"nul.txt":          "%6Eul.txt",
		"COM1":             "%43OM1",
		"COMPUTE":          "COMPUTE",
		"100%":             "100%25",
		"é":                "%C3%A9",
		"":                 "%",
	}
	for in, want := range cases {
		if got := escapeName(in); got != want {
			t.Errorf("escapeName(%q) = %q, want %q", in, got, want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		name := string(b)
		e := escapeName(name)
		if strings.ContainsAny(e, `/\:*?"<>|`) || strings.HasPrefix(e, ".") || windowsReserved(e) {
			t.Fatalf("escapeName(%q) = %q is not a safe file name", name, e)
		}
		back, err := unescapeName(e)
		if err != nil || back != name {
			t.Fatalf("unescapeName(escapeName(%q)) = %q, %v", name, back, err)
		}
	}
}

func TestConvertTensor(t *testing.T) {
	i64, _ := runtime.NewTensor([]int64{2}, []int64{16000, -3})
	c, err := convertTensor(i64, runtime.TensorInt32)
	if err != nil || c.Data.([]int32)[0] != 16000 || c.Data.([]int32)[1] != -3 {
		t.Fatalf("int64->int32: %v %v", c, err)
	}
	if _, err := convertTensor(i64, runtime.TensorUint8); err == nil {
		t.Error("int64 16000 -> uint8 accepted")
	}
	big, _ := runtime.NewTensor([]int64{1}, []int64{1<<53 + 1})
	if _, err := convertTensor(big, runtime.TensorInt32); err == nil {
		t.Error("int64 2^53+1 -> int32 accepted")
	}
	if c, err := convertTensor(big, runtime.TensorUint64); err != nil || c.Data.([]uint64)[0] != 1<<53+1 {
		t.Errorf("int64 2^53+1 -> uint64: %v %v", c, err)
	}
	f, _ := runtime.NewTensor([]int64{1}, []float64{0.5})
	if _, err := convertTensor(f, runtime.TensorInt64); err == nil {
		t.Error("float64 -> int64 accepted")
	}
	if c, err := convertTensor(f, runtime.TensorFloat16); err != nil || c.Data.([]uint16)[0] != 0x3800 {
		t.Errorf("float64 0.5 -> float16: %v %v", c, err)
	}
}

func TestNPYTypesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for descr, typ := range npyTypes {
		raw := make([]byte, 6*typ.Size())
		for i := range raw {
			raw[i] = byte(i % 2) // valid for every type, bool included
		}
		tensor, err := runtime.TensorFromRaw(typ, []int64{2, 3}, raw)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "x.npy")
		if err := writeNPYTensor(p, tensor); err != nil {
			t.Fatal(err)
		}
		a, err := npy.ReadFile(p)
		if err != nil || a.Descr != descr || !bytes.Equal(a.Data, raw) {
			t.Errorf("%v: wrote %v %v", typ, a, err)
		}
	}
}
