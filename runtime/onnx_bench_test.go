package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

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
