package exec

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// The real models must reproduce ONNX Runtime 1.30's outputs to these
// tolerances (issue 10).
const goldenRTol, goldenATol = 1e-4, 1e-5

type goldenCase struct {
	name    string
	model   string
	inputs  map[string]*Tensor
	outputs map[string]*Tensor
}

func readGolden(t testing.TB) []goldenCase {
	t.Helper()
	metas, _ := filepath.Glob(filepath.Join(testdata, "golden", "*", "test_data_set_*", "meta.json"))
	if len(metas) < 8 {
		t.Fatalf("found %d golden cases, want at least 8", len(metas))
	}
	var cases []goldenCase
	for _, mp := range metas {
		raw, err := os.ReadFile(mp)
		if err != nil {
			t.Fatal(err)
		}
		var meta struct {
			Model   string `json:"model"`
			Tensors []struct {
				Kind string `json:"kind"`
				Idx  int    `json:"idx"`
				Name string `json:"name"`
			} `json:"tensors"`
		}
		if err := json.Unmarshal(raw, &meta); err != nil {
			t.Fatalf("%s: %v", mp, err)
		}
		dir := filepath.Dir(mp)
		rel, _ := filepath.Rel(filepath.Join(testdata, "golden"), dir)
		c := goldenCase{name: rel, model: filepath.Join(testdata, "models", meta.Model),
			inputs: map[string]*Tensor{}, outputs: map[string]*Tensor{}}
		for _, mt := range meta.Tensors {
			tensor, err := readTensor(filepath.Join(dir, mt.Kind+"_"+strconv.Itoa(mt.Idx)+".pb"))
			if err != nil {
				t.Fatal(err)
			}
			if mt.Kind == "input" {
				c.inputs[mt.Name] = tensor
			} else {
				c.outputs[mt.Name] = tensor
			}
		}
		cases = append(cases, c)
	}
	return cases
}

// ordered returns the case's inputs in the executor's order.
func (c *goldenCase) ordered(t testing.TB, e *Executor) []*Tensor {
	in := make([]*Tensor, len(e.Inputs()))
	for i, io := range e.Inputs() {
		in[i] = c.inputs[io.Name]
		if in[i] == nil {
			t.Fatalf("%s: no input %q", c.name, io.Name)
		}
	}
	return in
}

// TestGolden runs the real models (Silero VAD, PaddleOCR, openWakeWord) on
// the golden inputs and compares with ONNX Runtime 1.30's outputs, at one
// and two threads, twice each (the second run reuses buffers).
func TestGolden(t *testing.T) {
	needData(t)
	for _, threads := range []int{1, 2} {
		execs := map[string]*Executor{}
		for _, c := range readGolden(t) {
			e := execs[c.model]
			if e == nil {
				var err error
				if e, err = loadModel(c.model, Options{Threads: threads}); err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				defer e.Close()
				execs[c.model] = e
			}
			in := c.ordered(t, e)
			for rep := range 2 {
				out, err := e.Run(context.Background(), in)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				for i, io := range e.Outputs() {
					want := c.outputs[io.Name]
					if want == nil {
						continue
					}
					if err := compare(out[i], want, goldenRTol, goldenATol); err != nil {
						t.Errorf("%s (%d threads, run %d): output %q: %v", c.name, threads, rep+1, io.Name, err)
						continue
					}
					if rep == 0 && threads == 1 {
						g, _ := asFloat64(out[i])
						w, _ := asFloat64(want)
						worst := 0.0
						for j := range w {
							worst = max(worst, math.Abs(g[j]-w[j]))
						}
						t.Logf("%s: %s %v matches ONNX Runtime (max |diff| %.3g)", c.name, io.Name, out[i].Shape, worst)
					}
				}
			}
		}
	}
}
