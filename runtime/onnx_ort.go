package runtime

import (
	"context"
	"errors"
	"fmt"

	"github.com/edgeai-go/edgeai/models/onnx/ort"
)

// The "ort" backend: ONNX Runtime through models/onnx/ort. Tensors cross
// without conversion: ort.Value has the same typed-slice layout as Tensor.

func init() {
	registerONNXBackend(&onnxBackend{
		name:      ONNXBackendORT,
		available: ortAvailable,
		open:      ortOpen,
	})
}

func ortAvailable(opts ONNXOptions) error {
	_, _, err := ort.Load(opts.ORTLibrary)
	if errors.Is(err, ort.ErrUnavailable) {
		return fmt.Errorf("%w: %w", ErrONNXBackendUnavailable, err)
	}
	return err
}

// ORTVersion loads ONNX Runtime (see ONNXOptions.ORTLibrary) and returns the
// library's path and version.
func ORTVersion(library string) (path, version string, err error) {
	path, version, err = ort.Load(library)
	if errors.Is(err, ort.ErrUnavailable) {
		err = fmt.Errorf("%w: %w", ErrONNXBackendUnavailable, err)
	}
	return path, version, err
}

func ortIO(ti TensorInfo) ort.IO {
	return ort.IO{Name: ti.Name, Type: ort.ElemType(ti.Type), Tensor: true, Dims: ti.Shape, HasShape: ti.HasShape}
}

func ortOpen(ctx context.Context, m *onnxModel, opts ONNXOptions) (onnxEngine, error) {
	in := make([]ort.IO, len(m.inputs))
	for i, ti := range m.inputs {
		in[i] = ortIO(ti)
	}
	out := make([]ort.IO, len(m.outputs))
	for i, ti := range m.outputs {
		out[i] = ortIO(ti)
	}
	s, err := ort.NewSession(m.data, m.dir, in, out, ort.Options{Threads: opts.Threads, Library: opts.ORTLibrary})
	if err != nil {
		return nil, err
	}
	return ortEngine{s}, nil
}

type ortEngine struct{ s *ort.Session }

func (e ortEngine) run(ctx context.Context, inputs []*Tensor) ([]*Tensor, error) {
	vals := make([]ort.Value, len(inputs))
	for i, t := range inputs {
		vals[i] = ort.Value{Type: ort.ElemType(t.Type), Shape: t.Shape, Data: t.Data}
	}
	outs, err := e.s.Run(ctx, vals)
	if err != nil {
		return nil, err
	}
	res := make([]*Tensor, len(outs))
	for i, v := range outs {
		res[i] = &Tensor{Type: TensorType(v.Type), Shape: v.Shape, Data: v.Data}
		if err := res[i].Validate(); err != nil {
			return nil, fmt.Errorf("output %d: %w", i, err)
		}
	}
	return res, nil
}

func (e ortEngine) close() error { return e.s.Close() }
