package runtime_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/edgeai-go/edgeai/models/onnx"
	"github.com/edgeai-go/edgeai/runtime"
)

func TestTensorRaw(t *testing.T) {
	raw := []byte{1, 0, 0x80, 0x3f, 0xff, 0xff, 0xff, 0xff, 0, 0x3c, 0, 0x80, 7, 0, 0, 0}
	for typ := runtime.TensorType(1); typ <= 16; typ++ {
		size := typ.Size()
		if size == 0 {
			continue
		}
		n := len(raw) / size
		src := raw[:n*size]
		if typ == runtime.TensorBool {
			src = []byte{1, 0, 1, 1}
			n = 4
		}
		tensor, err := runtime.TensorFromRaw(typ, []int64{int64(n)}, src)
		if err != nil {
			t.Fatalf("%v: %v", typ, err)
		}
		if err := tensor.Validate(); err != nil {
			t.Fatalf("%v: %v", typ, err)
		}
		back, err := tensor.Raw()
		if err != nil || string(back) != string(src) {
			t.Errorf("%v: raw round trip %x -> %x (%v)", typ, src, back, err)
		}
		if _, err := runtime.TensorFromRaw(typ, []int64{int64(n + 1)}, src); err == nil {
			t.Errorf("%v: short data accepted", typ)
		}
	}
	h, _ := runtime.TensorFromRaw(runtime.TensorFloat16, []int64{2}, []byte{0, 0x3c, 0, 0xc0})
	if f, err := h.Float64s(); err != nil || f[0] != 1 || f[1] != -2 {
		t.Errorf("float16 values %v %v, want [1 -2]", f, err)
	}
	b, _ := runtime.TensorFromRaw(runtime.TensorBFloat16, []int64{1}, []byte{0x80, 0x3f})
	if f, err := b.Float64s(); err != nil || f[0] != 1 {
		t.Errorf("bfloat16 value %v %v, want [1]", f, err)
	}
}

func TestTensorValidate(t *testing.T) {
	good, err := runtime.NewTensor([]int64{2, 3}, make([]float32, 6))
	if err != nil || good.Type != runtime.TensorFloat32 {
		t.Fatalf("NewTensor: %v %v", good, err)
	}
	if v, err := runtime.TensorValues[float32](good); err != nil || len(v) != 6 {
		t.Errorf("TensorValues: %v %v", v, err)
	}
	if _, err := runtime.TensorValues[int64](good); err == nil {
		t.Error("TensorValues[int64] of a float32 tensor succeeded")
	}
	if s, err := runtime.NewTensor(nil, []int64{16000}); err != nil || s.Type != runtime.TensorInt64 {
		t.Errorf("scalar: %v %v", s, err)
	}
	bad := []*runtime.Tensor{
		{Type: runtime.TensorFloat32, Shape: []int64{2, 3}, Data: make([]float32, 5)},
		{Type: runtime.TensorFloat32, Shape: []int64{2}, Data: make([]float64, 2)},
		{Type: runtime.TensorFloat16, Shape: []int64{2}, Data: make([]float32, 2)},
		{Type: runtime.TensorFloat32, Shape: []int64{-2}, Data: make([]float32, 2)},
		{Type: runtime.TensorFloat32, Shape: []int64{1 << 40, 1 << 40}, Data: make([]float32, 2)},
		{Type: runtime.TensorType(99), Shape: []int64{1}, Data: []float32{1}},
		{Type: runtime.TensorFloat32, Shape: []int64{1}, Data: nil},
	}
	for i, b := range bad {
		if err := b.Validate(); err == nil {
			t.Errorf("bad tensor %d accepted", i)
		}
	}
	if _, err := runtime.NewTensor([]int64{4}, []bool{true}); err == nil {
		t.Error("NewTensor with too little data succeeded")
	}
}

func sileroPath() string {
	return filepath.Join(onnxData, "models", "silero-vad", "silero_vad_16k_op15.onnx")
}

func TestLoadONNXErrors(t *testing.T) {
	needONNXData(t)
	ctx := context.Background()
	if _, err := runtime.LoadONNX(ctx, filepath.Join(t.TempDir(), "none.onnx"), runtime.ONNXOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := runtime.LoadONNX(ctx, sileroPath(), runtime.ONNXOptions{Backend: "tpu"}); err == nil || !strings.Contains(err.Error(), "unknown ONNX backend") {
		t.Errorf("unknown backend: %v", err)
	}
	if _, err := runtime.LoadONNX(ctx, sileroPath(), runtime.ONNXOptions{Threads: -1}); err == nil {
		t.Error("negative threads accepted")
	}
	if s, err := runtime.LoadONNX(ctx, sileroPath(), runtime.ONNXOptions{Backend: runtime.ONNXBackendGo}); err != nil {
		t.Errorf("go backend: %v", err)
	} else {
		s.Close()
	}
	seq := filepath.Join(onnxData, "node", "test_identity_sequence", "model.onnx")
	if _, err := runtime.LoadONNX(ctx, seq, runtime.ONNXOptions{}); err == nil || !strings.Contains(err.Error(), "only tensors") {
		t.Errorf("sequence model: %v", err)
	}
	junk := filepath.Join(t.TempDir(), "junk.onnx")
	os.WriteFile(junk, []byte("\x0a\xff\xff\xff"), 0o644)
	if _, err := runtime.LoadONNX(ctx, junk, runtime.ONNXOptions{}); !errors.Is(err, onnx.ErrFormat) {
		t.Errorf("junk model: %v", err)
	}
}

// sileroCase returns the inputs and outputs of a golden Silero VAD case.
func sileroCase(t *testing.T, set string) (map[string]*runtime.Tensor, map[string]*runtime.Tensor) {
	t.Helper()
	dir := filepath.Join(onnxData, "golden", "silero_vad_16k_op15", set)
	in, out := map[string]*runtime.Tensor{}, map[string]*runtime.Tensor{}
	for i, name := range []string{"input", "state", "sr"} {
		tensor, err := runtime.ReadTensorFile(filepath.Join(dir, "input_"+string(rune('0'+i))+".pb"))
		if err != nil {
			t.Fatal(err)
		}
		in[name] = tensor
	}
	for i, name := range []string{"output", "stateN"} {
		tensor, err := runtime.ReadTensorFile(filepath.Join(dir, "output_"+string(rune('0'+i))+".pb"))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = tensor
	}
	return in, out
}

func TestONNXSessionORT(t *testing.T) {
	needONNXData(t)
	needORT(t)
	ctx := context.Background()
	s, err := runtime.LoadONNX(ctx, sileroPath(), runtime.ONNXOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Backend() != runtime.ONNXBackendORT {
		t.Errorf("auto backend = %q, want ort", s.Backend())
	}
	ins := s.Inputs()
	if len(ins) != 3 || ins[0].String() != "input float32[batch,sequence]" || ins[2].String() != "sr int64[]" {
		t.Errorf("inputs %v", ins)
	}
	if o := s.Outputs(); len(o) != 2 || o[1].Name != "stateN" {
		t.Errorf("outputs %v", o)
	}

	// Concurrent runs on two golden cases give each its own answer.
	cases := []string{"test_data_set_0", "test_data_set_1", "test_data_set_2"}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in, want := sileroCase(t, cases[i%3])
			got, err := s.Run(ctx, in)
			if err != nil {
				t.Error(err)
				return
			}
			for name, w := range want {
				if err := runtime.CompareTensors(got[name], w, 1e-4, 1e-6); err != nil {
					t.Errorf("%s %s: %v", cases[i%3], name, err)
				}
			}
		}()
	}
	wg.Wait()

	in, _ := sileroCase(t, "test_data_set_0")
	with := func(name string, t *runtime.Tensor) map[string]*runtime.Tensor {
		m := map[string]*runtime.Tensor{}
		for k, v := range in {
			m[k] = v
		}
		if t == nil {
			delete(m, name)
		} else {
			m[name] = t
		}
		return m
	}
	f32sr, _ := runtime.NewTensor(nil, []float32{16000})
	wrongRank, _ := runtime.NewTensor([]int64{512}, make([]float32, 512))
	wrongDim, _ := runtime.NewTensor([]int64{2, 2, 128}, make([]float32, 512))
	extra := with("extra", f32sr)
	bad := map[string]map[string]*runtime.Tensor{
		"missing sr":      with("sr", nil),
		"sr as float32":   with("sr", f32sr),
		"input rank 1":    with("input", wrongRank),
		"state dim 1 = 2": with("state", wrongDim),
		"extra input":     extra,
		"inconsistent":    with("input", &runtime.Tensor{Type: runtime.TensorFloat32, Shape: []int64{1, 512}, Data: make([]float32, 3)}),
	}
	for name, m := range bad {
		if _, err := s.Run(ctx, m); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Run(cctx, in); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Run(ctx, in); err == nil {
		t.Error("Run after Close succeeded")
	}
}

// externalModel writes "y = x + w" with w (float32[2]) stored at location
// and returns the model's path.
func externalModel(t *testing.T, dir, location string) string {
	t.Helper()
	b := func(dst []byte, num protowire.Number, v []byte) []byte {
		dst = protowire.AppendTag(dst, num, protowire.BytesType)
		return protowire.AppendBytes(dst, v)
	}
	s := func(dst []byte, num protowire.Number, v string) []byte { return b(dst, num, []byte(v)) }
	vi := func(dst []byte, num protowire.Number, name string) []byte {
		dim := b(nil, 1, protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 2))
		tt := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1)
		tt = b(tt, 2, dim)
		return b(dst, num, b(s(nil, 1, name), 2, b(nil, 1, tt)))
	}
	var w []byte
	w = b(w, 1, protowire.AppendVarint(nil, 2))
	w = protowire.AppendVarint(protowire.AppendTag(w, 2, protowire.VarintType), 1)
	w = s(w, 8, "w")
	w = b(w, 13, s(s(nil, 1, "location"), 2, location))
	w = protowire.AppendVarint(protowire.AppendTag(w, 14, protowire.VarintType), 1)
	node := s(s(s(s(nil, 1, "x"), 1, "w"), 2, "y"), 4, "Add")
	g := b(nil, 1, node)
	g = s(g, 2, "g")
	g = b(g, 5, w)
	g = vi(g, 11, "x")
	g = vi(g, 12, "y")
	m := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 8)
	m = b(m, 7, g)
	m = b(m, 8, protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.VarintType), 13))
	path := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(path, m, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestONNXExternalData runs a model whose weight lives in a side file, and
// checks that a reference leaving the model's directory is refused before
// any backend sees the model.
func TestONNXExternalData(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "model")
	os.Mkdir(dir, 0o755)
	w := []byte{0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40} // float32 3, 4
	os.WriteFile(filepath.Join(dir, "w.bin"), w, 0o644)
	os.WriteFile(filepath.Join(root, "secret.bin"), w, 0o644)
	ctx := context.Background()
	for _, loc := range []string{"../secret.bin", filepath.Join(root, "secret.bin")} {
		_, err := runtime.LoadONNX(ctx, externalModel(t, dir, loc), runtime.ONNXOptions{})
		if !errors.Is(err, onnx.ErrExternalData) {
			t.Errorf("location %q: %v, want ErrExternalData", loc, err)
		}
	}
	if err := os.Symlink(filepath.Join(root, "secret.bin"), filepath.Join(dir, "link.bin")); err == nil {
		_, err := runtime.LoadONNX(ctx, externalModel(t, dir, "link.bin"), runtime.ONNXOptions{})
		if !errors.Is(err, onnx.ErrExternalData) {
			t.Errorf("symlink out: %v, want ErrExternalData", err)
		}
	}
	needORT(t)
	s, err := runtime.LoadONNX(ctx, externalModel(t, dir, "w.bin"), runtime.ONNXOptions{Backend: runtime.ONNXBackendORT})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	x, _ := runtime.NewTensor([]int64{2}, []float32{1, 2})
	out, err := s.Run(ctx, map[string]*runtime.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	if y := out["y"].Data.([]float32); y[0] != 4 || y[1] != 6 {
		t.Errorf("y = %v, want [4 6]", y)
	}
}

func TestInspectONNX(t *testing.T) {
	needONNXData(t)
	info, err := runtime.InspectONNX(filepath.Join(onnxData, "models", "paddleocr", "ch_PP-OCRv4_rec_infer.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Inputs) != 1 || info.Inputs[0].Name != "x" || info.Inputs[0].Shape[1] != 3 || info.Inputs[0].Shape[2] != 48 {
		t.Errorf("inputs %v", info.Inputs)
	}
	if info.Nodes == 0 || len(info.Ops) == 0 || info.Parameters < 1e6 || info.Invalid != "" {
		t.Errorf("info %+v", info)
	}
	total := 0
	for _, o := range info.Ops {
		total += o.Count
	}
	if total != info.Nodes {
		t.Errorf("op histogram sums to %d, nodes %d", total, info.Nodes)
	}
	seq, err := runtime.InspectONNX(filepath.Join(onnxData, "node", "test_identity_sequence", "model.onnx"))
	if err != nil || len(seq.NonTensor) != 2 {
		t.Errorf("sequence model: %+v %v", seq, err)
	}
}

func ExampleLoadONNX() {
	ctx := context.Background()
	s, err := runtime.LoadONNX(ctx, "silero_vad.onnx", runtime.ONNXOptions{Threads: 1})
	if err != nil {
		return // for example: no backend can run here
	}
	defer s.Close()
	audio, _ := runtime.NewTensor([]int64{1, 512}, make([]float32, 512))
	state, _ := runtime.NewTensor([]int64{2, 1, 128}, make([]float32, 256))
	sr, _ := runtime.NewTensor(nil, []int64{16000})
	out, err := s.Run(ctx, map[string]*runtime.Tensor{"input": audio, "state": state, "sr": sr})
	if err != nil {
		return
	}
	p, _ := runtime.TensorValues[float32](out["output"])
	_ = math.Round(float64(p[0]) * 100) // speech probability of the 32 ms chunk
}

// TestONNXCancelORT cancels a long run (the PP-OCRv4 detector on a 960x960
// image) and expects ONNX Runtime to stop early with the context's error.
func TestONNXCancelORT(t *testing.T) {
	needONNXData(t)
	needORT(t)
	s, err := runtime.LoadONNX(context.Background(), filepath.Join(onnxData, "models", "paddleocr", "ch_PP-OCRv4_det_infer.onnx"),
		runtime.ONNXOptions{Backend: runtime.ONNXBackendORT, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	x, _ := runtime.NewTensor([]int64{1, 3, 960, 960}, make([]float32, 3*960*960))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = s.Run(ctx, map[string]*runtime.Tensor{"x": x})
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run after %v: %v, want context.DeadlineExceeded", took, err)
	}
	t.Logf("cancelled run returned after %v", took)
}

// TestInspectONNXNodeTests describes every node-test model: no errors, and
// the operator histogram accounts for every node.
func TestInspectONNXNodeTests(t *testing.T) {
	needONNXData(t)
	dirs, _ := filepath.Glob(filepath.Join(onnxData, "node", "test_*"))
	for _, dir := range dirs {
		info, err := runtime.InspectONNX(filepath.Join(dir, "model.onnx"))
		if err != nil {
			t.Errorf("%s: %v", dir, err)
			continue
		}
		total := 0
		for _, o := range info.Ops {
			total += o.Count
		}
		if total != info.Nodes || info.Nodes == 0 || info.Invalid != "" || len(info.Opsets) == 0 {
			t.Errorf("%s: %d nodes, histogram %v, invalid %q", dir, info.Nodes, info.Ops, info.Invalid)
		}
		if len(info.Inputs)+len(info.NonTensor) == 0 && !strings.HasSuffix(dir, "test_constant") {
			t.Errorf("%s: no inputs", dir)
		}
	}
}
