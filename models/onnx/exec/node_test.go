package exec

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"

	"github.com/edgeai-go/edgeai/models/onnx"
	"github.com/edgeai-go/edgeai/quant"
)

const testdata = "../../../../shared/testdata/onnx"

func needData(t testing.TB) {
	t.Helper()
	testutil.Shared(t, "testdata/onnx")
}

// Node tests use the tolerances of ONNX's own backend test runner.
const nodeRTol, nodeATol = 1e-3, 1e-7

// nodeExpected lists the node tests this backend does not pass, and why.
// Every other node test must pass, and these must still fail.
var nodeExpected = map[string]string{
	"test_identity_opt":           "optional(sequence) input and output: the executor passes tensors only",
	"test_identity_sequence":      "sequence input and output: the executor passes tensors only",
	"test_cast_FLOAT_to_BFLOAT16": "the reference data (ONNX 1.12) truncates float32 to bfloat16; the executor rounds to nearest even, as ONNX Runtime and later ONNX releases do",
}

// loadModel reads and prepares a model file.
func loadModel(path string, opts Options) (*Executor, error) {
	m, err := onnx.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return New(m, opts)
}

func readTensor(path string) (*Tensor, error) {
	p, err := onnx.ReadTensorFile(path)
	if err != nil {
		return nil, err
	}
	return fromProto(p, 1<<30)
}

// runNode runs one node test directory; it returns "pass", "fail" or
// "error" and a detail.
func runNode(dir string, threads int) (status, detail string) {
	e, err := loadModel(filepath.Join(dir, "model.onnx"), Options{Threads: threads})
	if err != nil {
		return "error", err.Error()
	}
	defer e.Close()
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if len(sets) == 0 {
		return "error", "no test_data_set_*"
	}
	for _, set := range sets {
		in := make([]*Tensor, len(e.Inputs()))
		for i := range in {
			t, err := readTensor(filepath.Join(set, "input_"+strconv.Itoa(i)+".pb"))
			if err != nil {
				return "error", err.Error()
			}
			in[i] = t
		}
		// Twice: the second run reuses the arena's buffers.
		for rep := range 2 {
			out, err := e.Run(context.Background(), in)
			if err != nil {
				return "error", err.Error()
			}
			for i := range e.Outputs() {
				want, err := readTensor(filepath.Join(set, "output_"+strconv.Itoa(i)+".pb"))
				if err != nil {
					return "error", err.Error()
				}
				if err := compare(out[i], want, nodeRTol, nodeATol); err != nil {
					return "fail", fmt.Sprintf("%s run %d: output %q: %v", filepath.Base(set), rep+1, e.Outputs()[i].Name, err)
				}
			}
		}
	}
	return "pass", ""
}

// asFloat64 converts a numeric tensor for comparison.
func asFloat64(t *Tensor) ([]float64, bool) {
	out := make([]float64, t.Len())
	switch d := t.Data.(type) {
	case []float32:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []float64:
		copy(out, d)
	case []uint16:
		for i, v := range d {
			switch t.Type {
			case onnx.Float16:
				out[i] = float64(quant.F16ToF32(v))
			case onnx.BFloat16:
				out[i] = float64(quant.BF16ToF32(v))
			default:
				out[i] = float64(v)
			}
		}
	default:
		ints, err := intsOf(t)
		if err != nil {
			if b, ok := t.Data.([]bool); ok {
				for i, v := range b {
					if v {
						out[i] = 1
					}
				}
				return out, false
			}
			return nil, false
		}
		for i, v := range ints {
			out[i] = float64(v)
		}
		return out, false
	}
	return out, true
}

// compare checks got against want: exactly for integers, booleans and
// strings, within atol + rtol·|want| for floats (NaN matches NaN).
func compare(got, want *Tensor, rtol, atol float64) error {
	if want.Type == onnx.Uint16 && got.Type == onnx.BFloat16 {
		w := *want
		w.Type = onnx.BFloat16
		want = &w
	}
	if got.Type != want.Type {
		return fmt.Errorf("type %v, want %v", got.Type, want.Type)
	}
	if len(got.Shape) != len(want.Shape) {
		return fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	for i := range got.Shape {
		if got.Shape[i] != want.Shape[i] {
			return fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
		}
	}
	if gs, ok := got.Data.([]string); ok {
		ws := want.Data.([]string)
		for i := range ws {
			if gs[i] != ws[i] {
				return fmt.Errorf("[%d] = %q, want %q", i, gs[i], ws[i])
			}
		}
		return nil
	}
	g, isFloat := asFloat64(got)
	w, _ := asFloat64(want)
	if g == nil || w == nil {
		return fmt.Errorf("cannot compare %v", got.Type)
	}
	if !isFloat {
		rtol, atol = 0, 0
	}
	for i := range w {
		if math.IsNaN(w[i]) && math.IsNaN(g[i]) || math.IsInf(w[i], 0) && g[i] == w[i] {
			continue
		}
		if d := math.Abs(g[i] - w[i]); !(d <= atol+rtol*math.Abs(w[i])) {
			return fmt.Errorf("[%d] = %v, want %v (rtol %g, atol %g)", i, g[i], w[i], rtol, atol)
		}
	}
	return nil
}

// TestNodeConformance runs every ONNX backend node test of ../shared.
func TestNodeConformance(t *testing.T) {
	needData(t)
	dirs, _ := filepath.Glob(filepath.Join(testdata, "node", "test_*"))
	if len(dirs) != 439 {
		t.Fatalf("found %d node tests, want 439", len(dirs))
	}
	sort.Strings(dirs)
	counts := map[string]int{}
	for _, dir := range dirs {
		name := filepath.Base(dir)
		threads := 1
		if len(name)%2 == 0 {
			threads = 2 // half of them on two threads
		}
		status, detail := runNode(dir, threads)
		counts[status]++
		reason, expected := nodeExpected[name]
		switch {
		case status == "pass" && expected:
			t.Errorf("%s passes now; remove it from nodeExpected (%s)", name, reason)
		case status != "pass" && !expected:
			t.Errorf("%s: %s: %s", name, status, strings.SplitN(detail, "\n", 2)[0])
		}
	}
	t.Logf("%d node tests: %d pass, %d fail, %d error", len(dirs), counts["pass"], counts["fail"], counts["error"])
}
