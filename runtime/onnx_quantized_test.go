package runtime_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/models/onnx"
	"github.com/edgeai-go/edgeai/models/onnx/quantize"
	"github.com/edgeai-go/edgeai/runtime"
)

// goldenSet is one golden case: the model and its inputs and ONNX
// Runtime's float outputs.
type goldenSet struct {
	name, model string
	in, out     map[string]*runtime.Tensor
}

func goldenSets(t *testing.T) []goldenSet {
	needONNXData(t)
	metas, _ := filepath.Glob(filepath.Join(onnxData, "golden", "*", "test_data_set_0", "meta.json"))
	var sets []goldenSet
	for _, mp := range metas {
		raw, err := os.ReadFile(mp)
		if err != nil {
			t.Fatal(err)
		}
		var meta struct {
			Model   string
			Tensors []struct {
				Kind, Name string
				Idx        int
			}
		}
		if err := json.Unmarshal(raw, &meta); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Dir(mp)
		s := goldenSet{name: filepath.Base(filepath.Dir(dir)), model: filepath.Join(onnxData, "models", meta.Model),
			in: map[string]*runtime.Tensor{}, out: map[string]*runtime.Tensor{}}
		for _, mt := range meta.Tensors {
			tt, err := runtime.ReadTensorFile(filepath.Join(dir, fmt.Sprintf("%s_%d.pb", mt.Kind, mt.Idx)))
			if err != nil {
				t.Fatal(err)
			}
			if mt.Kind == "input" {
				s.in[mt.Name] = tt
			} else {
				s.out[mt.Name] = tt
			}
		}
		sets = append(sets, s)
	}
	return sets
}

func runOn(t *testing.T, backend, path string, in map[string]*runtime.Tensor) map[string]*runtime.Tensor {
	t.Helper()
	ctx := context.Background()
	s, err := runtime.LoadONNX(ctx, path, runtime.ONNXOptions{Backend: backend, Threads: 2})
	if err != nil {
		t.Fatalf("%s: %v", backend, err)
	}
	defer s.Close()
	out, err := s.Run(ctx, in)
	if err != nil {
		t.Fatalf("%s: %v", backend, err)
	}
	return out
}

// nudged returns the inputs with every float32 value moved by one ulp:
// up (dir > 0), down (dir < 0), or each way at random (dir 0, seeded).
func nudged(in map[string]*runtime.Tensor, dir int, seed uint64) map[string]*runtime.Tensor {
	out := map[string]*runtime.Tensor{}
	r := seed*2654435761 + 1
	for k, t := range in {
		d, ok := t.Data.([]float32)
		if !ok {
			out[k] = t
			continue
		}
		c := make([]float32, len(d))
		for i, v := range d {
			up := dir > 0
			if dir == 0 {
				r = r*6364136223846793005 + 1442695040888963407
				up = r>>63 == 1
			}
			if up {
				c[i] = math.Nextafter32(v, float32(math.Inf(1)))
			} else {
				c[i] = math.Nextafter32(v, float32(math.Inf(-1)))
			}
		}
		nt := *t
		nt.Data = c
		out[k] = &nt
	}
	return out
}

// maxAbs returns the largest |a-b| and the largest |b|.
func maxAbs(a, b *runtime.Tensor) (float64, float64) {
	x, _ := a.Float64s()
	y, _ := b.Float64s()
	d, m := 0.0, 0.0
	for i := range y {
		d = max(d, math.Abs(x[i]-y[i]))
		m = max(m, math.Abs(y[i]))
	}
	return d, m
}

// nudgeParams moves the values of m's float32 parameters (initializers
// of two values or more that only arithmetic reads: Add, Mul, Conv,
// MatMul, Gemm, BatchNormalization) by one ulp, up or down at random
// (seeded). Constants that carry shapes or bounds are left alone.
func nudgeParams(m *onnx.Model, seed uint64) {
	arith := map[string]bool{"Add": true, "Mul": true, "Conv": true, "MatMul": true, "Gemm": true, "BatchNormalization": true}
	ok := map[string]bool{}
	bad := map[string]bool{}
	for _, n := range m.Graph.Nodes {
		for _, in := range n.Inputs {
			if arith[n.OpType] {
				ok[in] = true
			} else {
				bad[in] = true
			}
		}
	}
	r := seed*2654435761 + 1
	for _, t := range m.Graph.Initializers {
		if t.Type != onnx.Float || len(t.Raw)%4 != 0 || len(t.Raw) < 8 || !ok[t.Name] || bad[t.Name] {
			continue
		}
		raw := make([]byte, len(t.Raw))
		for i := 0; i < len(raw); i += 4 {
			v := math.Float32frombits(binary.LittleEndian.Uint32(t.Raw[i:]))
			r = r*6364136223846793005 + 1442695040888963407
			dir := float32(math.Inf(1))
			if r>>63 == 0 {
				dir = float32(math.Inf(-1))
			}
			binary.LittleEndian.PutUint32(raw[i:], math.Float32bits(math.Nextafter32(v, dir)))
		}
		t.Raw = raw
	}
}

func nmse(a, b *runtime.Tensor) float64 {
	x, _ := a.Float64s()
	y, _ := b.Float64s()
	var e, s float64
	for i := range y {
		e += (x[i] - y[i]) * (x[i] - y[i])
		s += y[i] * y[i]
	}
	return e / max(s, 1e-300)
}

// TestQuantizedModels quantizes every real model (edgeai onnx quantize's
// dynamic int8) and runs the result on ONNX Runtime and on the go backend.
// Dynamically quantized graphs are discontinuous: an activation that moves
// by one ulp can cross a rounding boundary of DynamicQuantizeLinear and
// move the output by a quantization step, and the go backend's float
// operators differ from ORT's in the last bit here and there. The bound is
// therefore measured: the floor is the most ORT's own output moves when
// every input value moves by one ulp (up, down, and at random, 2-4
// samples), and the go backend must stay within twice that floor (its
// float operators differ from ORT's at every layer, not only at the input)
// plus the float tolerance (1e-5 + 1e-4·max|y|). Most models come out
// bit-identical or within the float tolerance.
func TestQuantizedModels(t *testing.T) {
	needORT(t)
	for _, s := range goldenSets(t) {
		t.Run(s.name, func(t *testing.T) {
			if longModel(s.name) {
				t.Skip("a long model: set EDGEAI_ONNX_LONG=1")
			}
			m, err := onnx.ReadFile(s.model)
			if err != nil {
				t.Fatal(err)
			}
			m, _, err = quantize.Dynamic(m, quantize.Options{})
			if errors.Is(err, quantize.ErrNothing) {
				t.Skipf("nothing to quantize: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := onnx.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "int8.onnx")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			ort := runOn(t, "ort", path, s.in)
			gob := runOn(t, "go", path, s.in)
			samples := []int{1, -1, 0}
			floor := map[string]float64{}
			for i, dir := range samples {
				o := runOn(t, "ort", path, nudged(s.in, dir, uint64(i)))
				for k := range ort {
					d, _ := maxAbs(o[k], ort[k])
					floor[k] = max(floor[k], d)
				}
			}
			// And every float parameter (scales, biases, the float
			// layers' weights) moved by one ulp at random: what a last-bit
			// difference inside the network does.
			nudgeParams(m, 7)
			b, err = onnx.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			path2 := filepath.Join(t.TempDir(), "int8-nudged.onnx")
			if err := os.WriteFile(path2, b, 0o644); err != nil {
				t.Fatal(err)
			}
			o := runOn(t, "ort", path2, s.in)
			for k := range ort {
				d, _ := maxAbs(o[k], ort[k])
				floor[k] = max(floor[k], d)
			}
			for k, want := range ort {
				d, top := maxAbs(gob[k], want)
				bound := 2*floor[k] + 1e-5 + 1e-4*top
				t.Logf("%s: go-ORT max |Δ| %.3g, ORT's 1-ulp floor %.3g, bound %.3g, nmse %.2g", k, d, floor[k], bound, nmse(gob[k], want))
				if d > bound {
					t.Errorf("%s: go differs from ORT by %.3g, more than the bound %.3g", k, d, bound)
				}
			}
		})
	}
}

// TestFloat16Models converts every real model to float16 (edgeai onnx
// quantize --fp16) and runs it on both backends. ORT runs the operators it
// has no float16 kernel for in float32 between inserted casts, and removes
// the casts between neighbours; the go backend keeps the same chains in
// float32 (exec's half.go), so the two round at about the same places
// (Silero v4's front end, which multiplies by a constant saturated to
// 65504, no longer overflows). The comparison is with the float32 model's
// outputs (the golden data): the go backend's error (normalised mean
// squared) within 4x ORT's own or 1e-4.
func TestFloat16Models(t *testing.T) {
	needORT(t)
	for _, s := range goldenSets(t) {
		t.Run(s.name, func(t *testing.T) {
			if longModel(s.name) {
				t.Skip("a long model: set EDGEAI_ONNX_LONG=1")
			}
			m, err := onnx.ReadFile(s.model)
			if err != nil {
				t.Fatal(err)
			}
			if m, err = quantize.Float16(m); err != nil {
				t.Fatal(err)
			}
			b, err := onnx.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "fp16.onnx")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			ort := runOn(t, "ort", path, s.in)
			gob := runOn(t, "go", path, s.in)
			for k, ref := range s.out {
				eo, eg := nmse(ort[k], ref), nmse(gob[k], ref)
				d, _ := maxAbs(gob[k], ort[k])
				t.Logf("%s: nmse vs float32: ORT %.2g, go %.2g; go-ORT max |Δ| %.3g", k, eo, eg, d)
				if math.IsNaN(eo) && math.IsNaN(eg) {
					t.Logf("%s: float16 overflows in this model (ORT and go give NaN too)", k)
					continue
				}
				if !(eg <= max(4*eo, 1e-4)) {
					t.Errorf("%s: go's float16 error %.3g, ORT's %.3g", k, eg, eo)
				}
			}
		})
	}
}

// longModel reports the models whose quantized and float16 runs take
// seconds (PP-OCR's detector and recognizer): run with EDGEAI_ONNX_LONG=1.
func longModel(name string) bool {
	return os.Getenv("EDGEAI_ONNX_LONG") == "" && (strings.Contains(name, "det") || strings.Contains(name, "rec"))
}
