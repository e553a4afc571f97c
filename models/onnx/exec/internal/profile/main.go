// Command profile prints where the pure-Go backend spends one model's time,
// node by node (convolutions by shape), in CPU time per run:
//
//	go run ./models/onnx/exec/internal/profile -model det
//	go run ./models/onnx/exec/internal/profile -model rec -file rec_int8.onnx -threads 2
//
// -model picks the golden case of ../shared/testdata/onnx/golden whose
// model path contains it, and runs that model on its inputs; -file runs
// another model file (a quantized or float16 version, say) on the same
// inputs. CPU time (the process's user and system time, where the system
// reports it; wall time elsewhere) is what to read on a shared machine.
// With more than one thread a node's CPU time includes the pool's.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/edgeai-go/edgeai/models/onnx"
	"github.com/edgeai-go/edgeai/models/onnx/exec"
)

func main() {
	data := flag.String("data", "../shared/testdata/onnx", "the directory of golden/ and models/")
	model := flag.String("model", "", "a substring of the model path of a golden case (det, rec, cls, silero_vad_16k_op15, embedding...)")
	file := flag.String("file", "", "run this model file instead, on the golden case's inputs")
	threads := flag.Int("threads", 1, "threads of the run")
	runs := flag.Int("runs", 5, "profiled runs (after one warm-up)")
	top := flag.Int("top", 40, "rows to print")
	wall := flag.Bool("wall", false, "wall time per node instead of CPU time (to see which nodes gain from threads)")
	flag.Parse()
	useWall = *wall
	if *model == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*data, *model, *file, *threads, *runs, *top); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		os.Exit(1)
	}
}

// useWall makes the profile sum wall times (NodeProfile.Wall).
var useWall bool

type meta struct {
	Model   string `json:"model"`
	Tensors []struct {
		Kind string `json:"kind"`
		Idx  int    `json:"idx"`
		Name string `json:"name"`
	} `json:"tensors"`
}

func run(data, model, file string, threads, runs, top int) error {
	metas, _ := filepath.Glob(filepath.Join(data, "golden", "*", "test_data_set_*", "meta.json"))
	sort.Strings(metas)
	for _, mp := range metas {
		raw, err := os.ReadFile(mp)
		if err != nil {
			return err
		}
		var m meta
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("%s: %w", mp, err)
		}
		if !strings.Contains(m.Model, model) {
			continue
		}
		path := filepath.Join(data, "models", m.Model)
		if file != "" {
			path = file
		}
		inputs := map[string]*exec.Tensor{}
		for _, t := range m.Tensors {
			if t.Kind != "input" {
				continue
			}
			pt, err := onnx.ReadTensorFile(filepath.Join(filepath.Dir(mp), fmt.Sprintf("input_%d.pb", t.Idx)))
			if err != nil {
				return err
			}
			if inputs[t.Name], err = exec.FromProto(pt); err != nil {
				return err
			}
		}
		fmt.Printf("%s on %s, %d thread(s), %d runs\n", path, filepath.Dir(mp), threads, runs)
		return profile(path, inputs, threads, runs, top)
	}
	return fmt.Errorf("no golden case in %s/golden has a model matching %q", data, model)
}

func profile(path string, inputs map[string]*exec.Tensor, threads, runs, top int) error {
	m, err := onnx.ReadFile(path)
	if err != nil {
		return err
	}
	type row struct {
		key string
		d   time.Duration
		n   int
	}
	agg := map[string]*row{}
	var last time.Duration
	on := false
	e, err := exec.New(m, exec.Options{Threads: threads, Profile: func(p exec.NodeProfile) {
		now := cpuTime()
		if on {
			r := agg[p.Key]
			if r == nil {
				r = &row{key: p.Key}
				agg[p.Key] = r
			}
			if useWall {
				r.d += p.Wall
			} else {
				r.d += now - last
			}
			r.n++
		}
		last = cpuTime()
	}})
	if err != nil {
		return err
	}
	defer e.Close()
	var in []*exec.Tensor
	for _, io := range e.Inputs() {
		t := inputs[io.Name]
		if t == nil {
			return fmt.Errorf("the golden case has no input %q", io.Name)
		}
		in = append(in, t)
	}
	ctx := context.Background()
	if _, err := e.Run(ctx, in); err != nil {
		return err
	}
	on = true
	t0, w0 := cpuTime(), time.Now()
	for range runs {
		last = cpuTime()
		if _, err := e.Run(ctx, in); err != nil {
			return err
		}
	}
	total := cpuTime() - t0
	if useWall {
		total = time.Since(w0)
	}
	rows := make([]*row, 0, len(agg))
	var sum time.Duration
	for _, r := range agg {
		rows = append(rows, r)
		sum += r.d
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].d > rows[j].d })
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(runs) }
	for _, r := range rows[:min(top, len(rows))] {
		fmt.Printf("%8.3f ms %5.1f%% %4d  %s\n", per(r.d), 100*float64(r.d)/float64(max(sum, 1)), r.n/runs, r.key)
	}
	fmt.Printf("total %.3f ms per run (%.3f ms in nodes)\n", per(total), per(sum))
	return nil
}
