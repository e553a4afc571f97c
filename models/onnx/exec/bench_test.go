package exec

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkModels times one run of each real model (its first golden case)
// at 1 and 2 threads:
//
//	go test ./models/onnx/exec -run '^$' -bench Models -benchtime 20x
func BenchmarkModels(b *testing.B) {
	needData(b)
	seen := map[string]bool{}
	for _, c := range readGolden(b) {
		if seen[c.model] {
			continue
		}
		seen[c.model] = true
		name := strings.TrimSuffix(filepath.Base(c.model), ".onnx")
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/%d", name, threads), func(b *testing.B) {
				e, err := loadModel(c.model, Options{Threads: threads})
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				in := c.ordered(b, e)
				if _, err := e.Run(context.Background(), in); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for b.Loop() {
					if _, err := e.Run(context.Background(), in); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/run")
			})
		}
	}
}
