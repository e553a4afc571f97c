package runtime_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeai-go/edgeai/models/onnx"
	"github.com/edgeai-go/edgeai/models/onnx/quantize"
	"github.com/edgeai-go/edgeai/runtime"
)

// BenchmarkONNXModels times one run of each real model (its first golden
// case) on every available backend at 1 and 2 threads:
//
//	go test ./runtime -run '^$' -bench ONNXModels -benchtime 20x
//
// Sub-benchmarks are named model/backend/threads, so two backends compare
// with benchstat. The metric ms/run is the mean wall time of one Run.
func BenchmarkONNXModels(b *testing.B) {
	needONNXData(b)
	seen := map[string]bool{}
	for _, c := range readGoldenCases(b) {
		if seen[c.model] {
			continue
		}
		seen[c.model] = true
		name := strings.TrimSuffix(filepath.Base(c.model), ".onnx")
		for _, backend := range runtime.ONNXBackends() {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/%d", name, backend, threads), func(b *testing.B) {
					opts := runtime.ONNXOptions{Backend: backend, Threads: threads}
					if err := runtime.ONNXBackendAvailable(backend, opts); err != nil {
						if errors.Is(err, runtime.ErrONNXBackendUnavailable) {
							b.Skip(err)
						}
						b.Fatal(err)
					}
					s, err := runtime.LoadONNX(context.Background(), c.model, opts)
					if err != nil {
						b.Fatal(err)
					}
					defer s.Close()
					if _, err := s.Run(context.Background(), c.inputs); err != nil { // warm-up
						b.Fatal(err)
					}
					b.ResetTimer()
					for b.Loop() {
						if _, err := s.Run(context.Background(), c.inputs); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/run")
				})
			}
		}
	}
}

var speedRuns = flag.Int("onnx.speed", 0, "TestONNXSpeedTable: runs per model, backend and thread count (0 skips)")

var speedInt8 = flag.Bool("onnx.speed.int8", false, "TestONNXSpeedTable: also the int8 versions of the models (edgeai onnx quantize)")

// TestONNXSpeedTable measures each real model on both backends side by
// side: for 1 and 2 threads, the two sessions run in alternating blocks of
// three runs (so that both see the same load on a shared machine), with a
// pause between blocks so that ONNX Runtime's spinning worker threads have
// gone to sleep before the other backend runs. The table gives each
// backend's median wall time per run and the go/ort ratio, with the median
// CPU time per run (user+system, all threads of the process) as a second
// view, steadier than wall time when the machine is oversubscribed:
//
//	go test ./runtime -run TestONNXSpeedTable -v -args -onnx.speed=30
func TestONNXSpeedTable(t *testing.T) {
	if *speedRuns <= 0 {
		t.Skip("set -onnx.speed=N")
	}
	needONNXData(t)
	needORT(t)
	seen := map[string]bool{}
	var rows []string
	type variant struct {
		name, path string
		inputs     map[string]*runtime.Tensor
	}
	var vs []variant
	for _, c := range readGoldenCases(t) {
		if seen[c.model] {
			continue
		}
		seen[c.model] = true
		name := strings.TrimSuffix(filepath.Base(c.model), ".onnx")
		vs = append(vs, variant{name, c.model, c.inputs})
		if *speedInt8 {
			if p, ok := quantizedCopy(t, c.model); ok {
				vs = append(vs, variant{name + " int8", p, c.inputs})
			}
		}
	}
	for _, v := range vs {
		c := struct {
			model  string
			inputs map[string]*runtime.Tensor
		}{v.path, v.inputs}
		name := v.name
		for _, threads := range []int{1, 2} {
			var sess [2]*runtime.ONNXSession
			for i, b := range []string{runtime.ONNXBackendORT, runtime.ONNXBackendGo} {
				s, err := runtime.LoadONNX(context.Background(), c.model, runtime.ONNXOptions{Backend: b, Threads: threads})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				sess[i] = s
				for range 2 { // warm-up
					if _, err := s.Run(context.Background(), c.inputs); err != nil {
						t.Fatal(err)
					}
				}
			}
			var wall, cpu [2][]float64
			for range (*speedRuns + 2) / 3 {
				for i, s := range sess {
					time.Sleep(20 * time.Millisecond)
					for range 3 {
						c0 := cpuTime()
						t0 := time.Now()
						if _, err := s.Run(context.Background(), c.inputs); err != nil {
							t.Fatal(err)
						}
						wall[i] = append(wall[i], float64(time.Since(t0).Microseconds())/1000)
						cpu[i] = append(cpu[i], float64((cpuTime()-c0).Microseconds())/1000)
					}
				}
			}
			mw := [2]float64{median(wall[0]), median(wall[1])}
			mc := [2]float64{median(cpu[0]), median(cpu[1])}
			row := fmt.Sprintf("| %s | %d | %.3f | %.3f | %.2f× | %.3f | %.3f | %.2f× |", name, threads,
				mw[0], mw[1], mw[1]/mw[0], mc[0], mc[1], mc[1]/mc[0])
			t.Log(row)
			rows = append(rows, row)
		}
	}
	t.Logf("\n| model | threads | ort ms | go ms | go/ort | ort cpu ms | go cpu ms | go/ort cpu |\n|---|---|---|---|---|---|---|---|\n%s", strings.Join(rows, "\n"))
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// quantizedCopy writes the int8 version of a model (quantize.Dynamic) to
// a temporary file; false if there is nothing to quantize.
func quantizedCopy(t *testing.T, path string) (string, bool) {
	m, err := onnx.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err = quantize.Dynamic(m, quantize.Options{})
	if errors.Is(err, quantize.ErrNothing) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err := onnx.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, true
}
