package runtime

import (
	"context"
	"fmt"
)

// The "go" backend: edgeai's own pure-Go ONNX interpreter on its SIMD
// kernels (issue 10). Until it lands it is registered as unavailable, so
// `--backend go` says so instead of failing obscurely. Its implementation
// replaces this file: available reports nil, and open builds an executor
// from m.model (after m.model.LoadExternal()) that satisfies onnxEngine.

func init() {
	registerONNXBackend(&onnxBackend{
		name: ONNXBackendGo,
		available: func(ONNXOptions) error {
			return fmt.Errorf("%w: the pure-Go ONNX backend is not implemented yet; use --backend ort", ErrONNXBackendUnavailable)
		},
		open: func(context.Context, *onnxModel, ONNXOptions) (onnxEngine, error) {
			return nil, fmt.Errorf("%w: the pure-Go ONNX backend is not implemented yet", ErrONNXBackendUnavailable)
		},
	})
}
