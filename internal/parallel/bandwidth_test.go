package parallel

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/edgeai-go/edgeai/internal/mmap"
)

// BenchmarkCopyBandwidth measures memory bandwidth the way STREAM's Copy
// does (a[i] = b[i] over arrays far larger than the caches, bytes read plus
// bytes written per second), on 1 and 2 threads of a Pool. On a shared
// machine the wall-clock "GB/s" counts the time the threads were
// descheduled; "GB/cpu-s" divides by the CPU time the threads ran instead
// (times threads, so that it reads as bandwidth with every thread on a CPU). Decoding reads
// every weight once per token, so weight bytes per token ÷ this bandwidth
// bounds tokens per second (BENCHMARKS.md). Reported as "GB/s" (1e9 bytes).
func BenchmarkCopyBandwidth(b *testing.B) {
	const size = 256 << 20 // 8x the 32 MiB L3 of the machines we measure on
	src, dst := make([]byte, size), make([]byte, size)
	for i := range src {
		src[i] = byte(i)
	}
	copy(dst, src) // fault every page in before timing
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			p := New(threads)
			defer p.Close()
			fn := func(lo, hi int) { copy(dst[lo:hi], src[lo:hi]) }
			b.SetBytes(2 * size)
			b.ResetTimer()
			start, cpu := time.Now(), processCPU()
			for range b.N {
				p.For(size, 1<<20, fn)
			}
			reportBandwidth(b, 2*size*b.N, threads, start, cpu)
		})
	}
}

// BenchmarkReadBandwidth measures read-only bandwidth (what a matrix-vector
// product over weights needs): a sum over an array far larger than the
// caches, 1 and 2 threads, in ordinary 4 KiB pages and in transparent huge
// pages (as runtime.Load places weights). The loop is unrolled so the load
// ports, not the additions, set the pace; it reads "GB/s" (1e9 bytes).
func BenchmarkReadBandwidth(b *testing.B) {
	const size = 256 << 20
	small := make([]uint64, size/8)
	hb := mmap.AllocHuge(size)
	huge := unsafe.Slice((*uint64)(unsafe.Pointer(&hb[0])), size/8)
	for i := range small {
		small[i], huge[i] = uint64(i), uint64(i)
	}
	for _, c := range []struct {
		pages   string
		src     []uint64
		threads int
	}{{"4k", small, 1}, {"4k", small, 2}, {"huge", huge, 1}, {"huge", huge, 2}} {
		src, threads := c.src, c.threads
		b.Run(fmt.Sprintf("pages=%s/threads=%d", c.pages, threads), func(b *testing.B) {
			p := New(threads)
			defer p.Close()
			var sink atomic.Uint64
			fn := func(lo, hi int) {
				var s0, s1, s2, s3 uint64
				x := src[lo:hi]
				for i := 0; i+8 <= len(x); i += 8 {
					s0 += x[i] + x[i+4]
					s1 += x[i+1] + x[i+5]
					s2 += x[i+2] + x[i+6]
					s3 += x[i+3] + x[i+7]
				}
				sink.Add(s0 + s1 + s2 + s3)
			}
			b.SetBytes(size)
			b.ResetTimer()
			start, cpu := time.Now(), processCPU()
			for range b.N {
				p.For(len(src), 1<<17, fn)
			}
			reportBandwidth(b, size*b.N, threads, start, cpu)
		})
	}
}

// reportBandwidth reports bytes per second of wall time ("GB/s") and per
// second of CPU time per thread ("GB/cpu-s": what the threads reach while
// they run, the figure to compare with a decoder's CPU time per token).
func reportBandwidth(b *testing.B, bytes, threads int, start time.Time, cpu time.Duration) {
	b.ReportMetric(float64(bytes)/time.Since(start).Seconds()/1e9, "GB/s")
	if c := processCPU() - cpu; c > 0 {
		b.ReportMetric(float64(bytes)/(c.Seconds()/float64(threads))/1e9, "GB/cpu-s")
	}
}
