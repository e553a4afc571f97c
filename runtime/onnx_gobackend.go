package runtime

import (
	"context"
	"fmt"

	"github.com/edgeai-go/edgeai/models/onnx"
	"github.com/edgeai-go/edgeai/models/onnx/exec"
)

// The "go" backend: edgeai's own pure-Go ONNX interpreter
// (models/onnx/exec) on its SIMD kernels. It runs in every build, cgo or
// not. Tensors cross without copying: exec.Tensor holds the same typed
// slices as Tensor.

func init() {
	registerONNXBackend(&onnxBackend{
		name:      ONNXBackendGo,
		available: func(ONNXOptions) error { return nil },
		open:      goOpen,
	})
}

func goOpen(ctx context.Context, m *onnxModel, opts ONNXOptions) (onnxEngine, error) {
	if err := m.model.LoadExternal(); err != nil {
		return nil, err
	}
	e, err := exec.New(m.model, exec.Options{Threads: opts.Threads, MaxRunBytes: opts.MaxRunBytes})
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		e.Close()
		return nil, err
	}
	ins, outs := e.Inputs(), e.Outputs()
	if len(ins) != len(m.inputs) || len(outs) != len(m.outputs) {
		e.Close()
		return nil, fmt.Errorf("the executor sees %d inputs and %d outputs, the model declares %d and %d",
			len(ins), len(outs), len(m.inputs), len(m.outputs))
	}
	for i, io := range ins {
		if io.Name != m.inputs[i].Name || TensorType(io.Type) != m.inputs[i].Type {
			e.Close()
			return nil, fmt.Errorf("input %d: executor %q %v, model %q %v", i, io.Name, io.Type, m.inputs[i].Name, m.inputs[i].Type)
		}
	}
	return goEngine{e}, nil
}

type goEngine struct{ e *exec.Executor }

func (g goEngine) run(ctx context.Context, inputs []*Tensor) ([]*Tensor, error) {
	in := make([]*exec.Tensor, len(inputs))
	for i, t := range inputs {
		shape := make([]int, len(t.Shape))
		for j, d := range t.Shape {
			shape[j] = int(d)
		}
		in[i] = &exec.Tensor{Type: onnx.DataType(t.Type), Shape: shape, Data: t.Data}
	}
	outs, err := g.e.Run(ctx, in)
	if err != nil {
		return nil, err
	}
	res := make([]*Tensor, len(outs))
	for i, t := range outs {
		shape := make([]int64, len(t.Shape))
		for j, d := range t.Shape {
			shape[j] = int64(d)
		}
		res[i] = &Tensor{Type: TensorType(t.Type), Shape: shape, Data: t.Data}
		if err := res[i].Validate(); err != nil {
			return nil, fmt.Errorf("output %d: %w", i, err)
		}
	}
	return res, nil
}

func (g goEngine) close() error {
	g.e.Close()
	return nil
}
