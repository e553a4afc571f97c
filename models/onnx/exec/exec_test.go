package exec

import (
	"context"
	"errors"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"

	"github.com/edgeai-go/edgeai/models/onnx"
)

func readNodeModel(t *testing.T, name string) *onnx.Model {
	t.Helper()
	needData(t)
	m, err := onnx.ReadFile(filepath.Join(testdata, "node", name, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestUnsupported checks that what the executor does not implement is an
// error naming it, at load, before anything runs.
func TestUnsupported(t *testing.T) {
	m := readNodeModel(t, "test_relu")
	m.Graph.Nodes[0].OpType = "FrobnicateV2"
	if _, err := New(m, Options{}); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "FrobnicateV2") {
		t.Errorf("unknown operator: %v", err)
	}
	m = readNodeModel(t, "test_relu")
	m.Graph.Nodes[0].Domain = "com.example"
	m.OpsetImports = append(m.OpsetImports, onnx.OpsetID{Domain: "com.example", Version: 1})
	if _, err := New(m, Options{}); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "com.example") {
		t.Errorf("unknown domain: %v", err)
	}
	m = readNodeModel(t, "test_relu")
	m.Graph.Nodes[0].Attributes = append(m.Graph.Nodes[0].Attributes, &onnx.Attribute{Name: "mystery", Type: onnx.AttrInt, I: 3})
	if _, err := New(m, Options{}); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), `"mystery"`) {
		t.Errorf("unknown attribute: %v", err)
	}
	m = readNodeModel(t, "test_maxpool_2d_default")
	for _, a := range m.Graph.Nodes[0].Attributes {
		if a.Name == "kernel_shape" {
			a.Type = onnx.AttrFloats
		}
	}
	if _, err := New(m, Options{}); err == nil || !strings.Contains(err.Error(), "kernel_shape") {
		t.Errorf("attribute of the wrong type: %v", err)
	}
	m = readNodeModel(t, "test_resize_upsample_scales_linear")
	m.Graph.Nodes[0].Attributes = append(m.Graph.Nodes[0].Attributes, &onnx.Attribute{Name: "coordinate_transformation_mode", Type: onnx.AttrString, S: []byte("moonwalk")})
	if _, err := New(m, Options{}); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "moonwalk") {
		t.Errorf("unknown attribute value: %v", err)
	}
	if Supported("FrobnicateV2") || !Supported("Conv") {
		t.Error("Supported")
	}
}

// TestRunErrors checks the inputs Run refuses and the size limit.
func TestRunErrors(t *testing.T) {
	e, err := New(readNodeModel(t, "test_add"), Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	good := func() *Tensor { return &Tensor{Type: onnx.Float, Shape: []int{3, 4, 5}, Data: make([]float32, 60)} }
	for name, in := range map[string][]*Tensor{
		"too few":    {good()},
		"nil":        {good(), nil},
		"wrong type": {good(), {Type: onnx.Int64, Shape: []int{3, 4, 5}, Data: make([]int64, 60)}},
		"bad data":   {good(), {Type: onnx.Float, Shape: []int{3, 4, 5}, Data: make([]float32, 59)}},
		"bad shape":  {good(), {Type: onnx.Float, Shape: []int{3, 4, 6}, Data: make([]float32, 72)}},
	} {
		if _, err := e.Run(ctx, in); !errors.Is(err, ErrInput) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := e.Run(ctx, []*Tensor{good(), good()}); err != nil {
		t.Fatal(err)
	}
	// A model whose constants exceed the limit does not load.
	if _, err := loadModel(filepath.Join(testdata, "models", "paddleocr", "ch_ppocr_mobile_v2.0_cls_infer.onnx"), Options{MaxTensorBytes: 1024}); !errors.Is(err, ErrLimit) {
		t.Errorf("constants over the limit: %v", err)
	}
	// So does a run whose tensors would.
	small, err := New(readNodeModel(t, "test_add"), Options{Threads: 1, MaxTensorBytes: 128})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	if _, err := small.Run(ctx, []*Tensor{good(), good()}); !errors.Is(err, ErrLimit) {
		t.Errorf("inputs over the limit: %v", err)
	}
	// Cancellation is checked between nodes.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.Run(cctx, []*Tensor{good(), good()}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestConcurrentRuns runs a real model from several goroutines at once
// (each Run has its own buffers) and checks every result.
func TestConcurrentRuns(t *testing.T) {
	needData(t)
	var c *goldenCase
	cases := readGolden(t)
	for i := range cases {
		if strings.Contains(cases[i].model, "silero_vad_16k_op15") {
			c = &cases[i]
			break
		}
	}
	e, err := loadModel(c.model, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	in := c.ordered(t, e)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 4 {
		wg.Go(func() {
			for range 8 {
				out, err := e.Run(context.Background(), in)
				if err != nil {
					errs <- err
					return
				}
				for i, io := range e.Outputs() {
					if err := compare(out[i], c.outputs[io.Name], goldenRTol, goldenATol); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestArenaReuse checks that repeated runs on inputs of one shape reuse
// their buffers: after the first run, a run allocates only its outputs
// and small bookkeeping, not tensor memory.
func TestArenaReuse(t *testing.T) {
	needData(t)
	for _, c := range readGolden(t) {
		if !strings.Contains(c.model, "ch_ppocr_mobile") {
			continue
		}
		e, err := loadModel(c.model, Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		in := c.ordered(t, e)
		if _, err := e.Run(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		var before, after runtimeMem
		before.read()
		const runs = 5
		for range runs {
			if _, err := e.Run(context.Background(), in); err != nil {
				t.Fatal(err)
			}
		}
		after.read()
		perRun := (after.bytes - before.bytes) / runs
		// The model's activations are megabytes; a run that reuses them
		// allocates a few tens of kilobytes (tensor headers, shapes, the
		// output copy).
		if perRun > 200<<10 {
			t.Errorf("%d bytes allocated per run", perRun)
		}
		t.Logf("%d bytes allocated per run", perRun)
		return
	}
}

// runtimeMem reads the bytes allocated so far.
type runtimeMem struct{ bytes uint64 }

func (m *runtimeMem) read() {
	var s goruntime.MemStats
	goruntime.ReadMemStats(&s)
	m.bytes = s.TotalAlloc
}
