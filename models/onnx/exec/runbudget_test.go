package exec

import (
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/models/onnx"
)

// bigBatchModel is a small valid convolutional model over [N,1,40,64]
// images (a batch of 4096 is a 40 MiB input) whose intermediate tensors
// for that batch are each under the per-tensor limit (671 MiB) but hold
// about 2.7 GiB at once: a = Conv(x), b = Conv(a), c = Conv(b),
// y = a + b + c.
func bigBatchModel() *onnx.Model {
	dims := []onnx.Dim{{Param: "N"}, {Value: 1, Known: true}, {Value: 40, Known: true}, {Value: 64, Known: true}}
	w := func(name string, m, c int64) *onnx.Tensor {
		n := m * c * 9
		raw := make([]byte, 4*n)
		for i := range n {
			v := math.Float32bits(float32(i%7-3) / 16)
			raw[4*i], raw[4*i+1], raw[4*i+2], raw[4*i+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		}
		return &onnx.Tensor{Name: name, Type: onnx.Float, Dims: []int64{m, c, 3, 3}, Raw: raw}
	}
	conv := func(x, w, y string) *onnx.Node {
		return &onnx.Node{OpType: "Conv", Inputs: []string{x, w}, Outputs: []string{y}, Attributes: []*onnx.Attribute{aInts("pads", 1, 1, 1, 1)}}
	}
	g := &onnx.Graph{
		Inputs:       []*onnx.ValueInfo{{Name: "x", Type: &onnx.TypeInfo{Kind: onnx.KindTensor, Elem: onnx.Float, Shape: dims, HasShape: true}}},
		Outputs:      []*onnx.ValueInfo{{Name: "y"}},
		Initializers: []*onnx.Tensor{w("w1", 16, 1), w("w2", 16, 16)},
		Nodes: []*onnx.Node{conv("x", "w1", "a"), conv("a", "w2", "b"), conv("b", "w2", "c"),
			{OpType: "Add", Inputs: []string{"a", "b"}, Outputs: []string{"s"}},
			{OpType: "Add", Inputs: []string{"s", "c"}, Outputs: []string{"y"}}},
	}
	return &onnx.Model{IRVersion: 8, OpsetImports: []onnx.OpsetID{{Version: 17}}, Graph: g}
}

func batchInput(n int) *Tensor {
	return &Tensor{Type: onnx.Float, Shape: []int{n, 1, 40, 64}, Data: make([]float32, n*40*64)}
}

// TestRunBudget: a run whose tensors would exceed Options.MaxRunBytes is
// refused before it allocates them, with an error wrapping ErrLimit; the
// same model runs on a small batch under the same limit.
func TestRunBudget(t *testing.T) {
	e, err := New(bigBatchModel(), Options{Threads: 1, MaxRunBytes: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	if _, err := e.Run(ctx, []*Tensor{batchInput(4096)}); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "MaxRunBytes") {
		t.Errorf("batch 4096 under 1 GiB: %v, want ErrLimit naming MaxRunBytes", err)
	}
	if out, err := e.Run(ctx, []*Tensor{batchInput(2)}); err != nil || out[0].Shape[0] != 2 {
		t.Errorf("batch 2: %v %v", out, err)
	}
}

// TestRunBudgetDataDependent: a shape the estimate cannot see (Expand to a
// shape given as an input) is caught by the arena's accounting at the
// allocation, before it is made.
func TestRunBudgetDataDependent(t *testing.T) {
	x := f32s([]int{1}, 1)
	shape := &Tensor{Type: onnx.Int64, Shape: []int{3}, Data: []int64{1024, 1024, 64}}
	e, err := New(oneNodeModel(13, "Expand", nil, 1, []*Tensor{x, shape}), Options{Threads: 1, MaxRunBytes: 100 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Run(context.Background(), []*Tensor{x, shape}); !errors.Is(err, ErrLimit) {
		t.Errorf("Expand to 256 MiB under 100 MiB: %v, want ErrLimit", err)
	}
	small := &Tensor{Type: onnx.Int64, Shape: []int{3}, Data: []int64{4, 4, 4}}
	if out, err := e.Run(context.Background(), []*Tensor{x, small}); err != nil || out[0].Len() != 64 {
		t.Errorf("small Expand: %v %v", out, err)
	}
}

// TestRunBudgetUlimit runs the big batch in a child process under
// `ulimit -v 4 GiB` with the default options: the default budget follows
// the limit, so the run fails with a clean error (ErrLimit), not Go's
// fatal "out of memory"; a batch of 1 still runs there.
func TestRunBudgetUlimit(t *testing.T) {
	if os.Getenv("EDGEAI_ULIMIT_CHILD") == "1" {
		e, err := New(bigBatchModel(), Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		_, err = e.Run(context.Background(), []*Tensor{batchInput(4096)})
		if !errors.Is(err, ErrLimit) {
			t.Fatalf("batch 4096: %v, want ErrLimit", err)
		}
		t.Logf("batch 4096: %v", err)
		if _, err := e.Run(context.Background(), []*Tensor{batchInput(1)}); err != nil {
			t.Fatalf("batch 1: %v", err)
		}
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("ulimit -v and the default budget from it are Linux's")
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	cmd := exec.Command("sh", "-c", `ulimit -v 4194304 && exec "$0" -test.run='^TestRunBudgetUlimit$' -test.v`, os.Args[0])
	cmd.Env = append(os.Environ(), "EDGEAI_ULIMIT_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "fatal error") || !strings.Contains(string(out), "PASS") {
		t.Fatalf("child under ulimit -v 4 GiB: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "batch 4096") {
			t.Log(strings.TrimSpace(l))
		}
	}
}
