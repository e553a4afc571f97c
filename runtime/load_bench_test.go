package runtime_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/edgeai-go/edgeai/internal/testutil"

	"github.com/edgeai-go/edgeai/runtime"
)

// benchModel returns the model named by $EDGEAI_BENCH_MODEL (default: the
// tiny reference model) loaded with $EDGEAI_BENCH_THREADS threads (default
// 1), batch size $EDGEAI_BENCH_BATCH (default: the runtime's) and, when
// $EDGEAI_BENCH_MMAP is set, its mmap choice ("0" = copy into memory).
func benchModel(b *testing.B) *runtime.Model {
	b.Helper()
	path := os.Getenv("EDGEAI_BENCH_MODEL")
	if path == "" {
		path = testutil.Stories(b)
	}
	if _, err := os.Stat(path); err != nil {
		b.Skipf("benchmark model not found at %s (set EDGEAI_BENCH_MODEL): %v", path, err)
	}
	threads := 1
	if v := os.Getenv("EDGEAI_BENCH_THREADS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("EDGEAI_BENCH_THREADS=%q: %v", v, err)
		}
		threads = n
	}
	opts := []runtime.Option{runtime.WithThreads(threads), runtime.WithContextSize(512)}
	if v := os.Getenv("EDGEAI_BENCH_BATCH"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("EDGEAI_BENCH_BATCH=%q: %v", v, err)
		}
		opts = append(opts, runtime.WithBatchSize(n))
	}
	if v := os.Getenv("EDGEAI_BENCH_MMAP"); v != "" {
		opts = append(opts, runtime.WithMmap(v != "0"))
	}
	key := fmt.Sprint(path, threads, os.Getenv("EDGEAI_BENCH_MMAP"), os.Getenv("EDGEAI_BENCH_BATCH"))
	if m := benchModels[key]; m != nil { // b.N's growing runs share one load
		return m
	}
	m, err := runtime.Load(context.Background(), path, opts...)
	if err != nil {
		b.Fatal(err)
	}
	benchModels[key] = m
	return m
}

// benchModels holds the models loaded by benchModel, for the process's life.
var benchModels = map[string]*runtime.Model{}

// BenchmarkDecode measures generation as llama-bench's tgN does: one token
// per Eval after the previous ones, from an empty context. One op is one
// token; allocs/op must be 0.
func BenchmarkDecode(b *testing.B) {
	m := benchModel(b)
	s, err := m.NewSession()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	tok := []int{1}
	// Warm up (page in the weights, size the buffers).
	for range 4 {
		if _, err := s.Eval(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
	s.Reset()
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), processCPU()
	for i := 0; i < b.N; i++ {
		if len(s.Tokens()) >= 64 { // tg64: positions 0..63
			s.Reset()
		}
		tok[0] = 1 + i%100
		if _, err := s.Eval(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportSpeed(b, b.N, start, cpu)
	if os.Getenv("EDGEAI_BENCH_SMAPS") != "" {
		data, _ := os.ReadFile("/proc/self/smaps_rollup")
		b.Logf("%s", data)
	}
}

// BenchmarkPrompt measures prompt processing as llama-bench's pp128 does:
// 128 tokens in one Eval from an empty context. One op is one prompt; the
// tok/s and cpu-ms/tok metrics count prompt tokens.
func BenchmarkPrompt(b *testing.B) {
	m := benchModel(b)
	s, err := m.NewSession()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	n := min(128, s.ContextSize())
	ids := make([]int, n)
	for i := range ids {
		ids[i] = 1 + i%100
	}
	if _, err := s.Eval(ctx, ids); err != nil { // warm up
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), processCPU()
	for i := 0; i < b.N; i++ {
		s.Reset()
		if _, err := s.Eval(ctx, ids); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportSpeed(b, b.N*n, start, cpu)
}

// reportSpeed reports tokens per second of wall time and the process's CPU
// milliseconds per token (the steadier figure on a shared machine: time
// spent descheduled does not count, time stalled on memory does).
func reportSpeed(b *testing.B, tokens int, start time.Time, cpu time.Duration) {
	b.ReportMetric(float64(tokens)/time.Since(start).Seconds(), "tok/s")
	if c := processCPU() - cpu; c > 0 {
		b.ReportMetric(c.Seconds()*1e3/float64(tokens), "cpu-ms/tok")
	}
}

// BenchmarkLoad measures Load (and Close) of $EDGEAI_BENCH_MODEL, mapped and
// copied. The file is in the page cache after the first run.
func BenchmarkLoad(b *testing.B) {
	path := os.Getenv("EDGEAI_BENCH_MODEL")
	if path == "" {
		path = testutil.Stories(b)
	}
	if _, err := os.Stat(path); err != nil {
		b.Skipf("benchmark model not found at %s (set EDGEAI_BENCH_MODEL): %v", path, err)
	}
	for _, mapped := range []bool{true, false} {
		b.Run(fmt.Sprintf("mmap=%v", mapped), func(b *testing.B) {
			start, cpu := time.Now(), processCPU()
			for range b.N {
				m, err := runtime.Load(context.Background(), path, runtime.WithMmap(mapped), runtime.WithContextSize(64))
				if err != nil {
					b.Fatal(err)
				}
				m.Close()
			}
			b.ReportMetric(time.Since(start).Seconds()*1e3/float64(b.N), "wall-ms/load")
			b.ReportMetric((processCPU()-cpu).Seconds()*1e3/float64(b.N), "cpu-ms/load")
		})
	}
}
