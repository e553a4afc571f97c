package exec

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestProfileModel prints where the time of one real model goes, node by
// node (convolutions by shape), measured in CPU time on one thread:
//
//	PROF_MODEL=det go test ./models/onnx/exec -run TestProfileModel -v
//
// PROF_FILE=other.onnx profiles another model file (a quantized or
// float16 version, say) on the golden inputs of the model PROF_MODEL
// names.
func TestProfileModel(t *testing.T) {
	name := os.Getenv("PROF_MODEL")
	if name == "" {
		t.Skip()
	}
	for _, c := range readGolden(t) {
		if !strings.Contains(c.model, name) {
			continue
		}
		path := c.model
		if f := os.Getenv("PROF_FILE"); f != "" {
			path = f
		}
		e, err := loadModel(path, Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		in := c.ordered(t, e)
		e.Run(context.Background(), in)
		var lastCPU time.Duration
		type row struct {
			key string
			d   time.Duration
			n   int
		}
		agg := map[string]*row{}
		e.profile = func(n *node, ins []*Tensor, _ time.Duration) {
			d := cpuNow() - lastCPU
			key := n.opType
			if _, ok := n.k.(*halfKernel); ok {
				key += " (half)"
			}
			if k, ok := n.k.(*conv); ok {
				w := e.values[n.in[1]].info
				key = fmt.Sprintf("Conv g=%d w=%v x=%v s=%v", k.group, w.shape, ins[0].Shape, k.win.strides)
			}
			if agg[key] == nil {
				agg[key] = &row{key: key}
			}
			agg[key].d += d
			agg[key].n++
			lastCPU = cpuNow()
		}
		const reps = 5
		t0 := cpuNow()
		for range reps {
			lastCPU = cpuNow()
			e.Run(context.Background(), in)
		}
		total := cpuNow() - t0
		var rows []*row
		for _, r := range agg {
			rows = append(rows, r)
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].d > rows[j].d })
		for _, r := range rows[:min(40, len(rows))] {
			t.Logf("%8.3f ms %4d  %s", float64(r.d.Microseconds())/1000/reps, r.n/reps, r.key)
		}
		t.Logf("total %.3f ms", float64(total.Microseconds())/1000/reps)
		return
	}
}
