package runtime_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"
	"github.com/edgeai-go/edgeai/models/onnx"
	"github.com/edgeai-go/edgeai/runtime"
)

const onnxData = "../../shared/testdata/onnx"

func needONNXData(t testing.TB) {
	t.Helper()
	testutil.Shared(t, "testdata/onnx")
}

// needORT decides the fate of a test that needs ONNX Runtime: when
// EDGEAI_ORT_LIB is set the library must load (a broken setting fails the
// test); when it is unset and no library is found, or the build has no cgo,
// the test is skipped with the reason.
func needORT(t testing.TB) {
	t.Helper()
	path, version, err := runtime.ORTVersion("")
	if err == nil {
		t.Logf("ONNX Runtime %s from %s", version, path)
		return
	}
	if errors.Is(err, runtime.ErrONNXBackendUnavailable) && os.Getenv("EDGEAI_ORT_LIB") == "" {
		t.Skipf("ONNX Runtime unavailable (set EDGEAI_ORT_LIB; .ci/install-ort.sh installs it): %v", err)
	}
	if errors.Is(err, runtime.ErrONNXBackendUnavailable) && !ortCompiled() {
		t.Skipf("this build has no ONNX Runtime backend: %v", err)
	}
	t.Fatalf("EDGEAI_ORT_LIB=%s does not load: %v", os.Getenv("EDGEAI_ORT_LIB"), err)
}

// readPB reads a serialized TensorProto as a runtime.Tensor.
func readPB(path string) (*runtime.Tensor, error) {
	pt, err := onnx.ReadTensorFile(path)
	if err != nil {
		return nil, err
	}
	return fromProto(pt)
}

func fromProto(pt *onnx.Tensor) (*runtime.Tensor, error) {
	if pt.Type == onnx.String {
		s := make([]string, len(pt.Strings))
		for i, b := range pt.Strings {
			s[i] = string(b)
		}
		return &runtime.Tensor{Type: runtime.TensorString, Shape: pt.Dims, Data: s}, nil
	}
	return runtime.TensorFromRaw(runtime.TensorType(pt.Type), pt.Dims, pt.Raw)
}

// diff compares got with want: exactly for integers, booleans and strings,
// within |g-w| <= atol + rtol*|w| for floating-point types (NaN matches
// NaN). It returns nil or an error describing the worst element.
func diff(got, want *runtime.Tensor, rtol, atol float64) error {
	// libonnx-testdata stores bfloat16 expectations as uint16 bits.
	if got.Type == runtime.TensorBFloat16 && want.Type == runtime.TensorUint16 {
		w := *want
		w.Type = runtime.TensorBFloat16
		want = &w
	}
	if got.Type != want.Type {
		return fmt.Errorf("type %v, want %v", got.Type, want.Type)
	}
	if len(got.Shape) != len(want.Shape) {
		return fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	for i := range got.Shape {
		if got.Shape[i] != want.Shape[i] {
			return fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
		}
	}
	if got.Type == runtime.TensorString {
		g, w := got.Data.([]string), want.Data.([]string)
		for i := range w {
			if g[i] != w[i] {
				return fmt.Errorf("[%d] = %q, want %q", i, g[i], w[i])
			}
		}
		return nil
	}
	g, err := got.Float64s()
	if err != nil {
		return err
	}
	w, err := want.Float64s()
	if err != nil {
		return err
	}
	float := got.Type == runtime.TensorFloat32 || got.Type == runtime.TensorFloat64 ||
		got.Type == runtime.TensorFloat16 || got.Type == runtime.TensorBFloat16
	if !float {
		rtol, atol = 0, 0
	}
	worst, wi := 0.0, -1
	for i := range w {
		if math.IsNaN(w[i]) && math.IsNaN(g[i]) {
			continue
		}
		if math.IsInf(w[i], 0) && g[i] == w[i] {
			continue
		}
		d := math.Abs(g[i] - w[i])
		excess := d - (atol + rtol*math.Abs(w[i]))
		if excess > 0 || math.IsNaN(d) {
			if wi < 0 || excess > worst || math.IsNaN(d) {
				worst, wi = excess, i
			}
		}
	}
	if wi >= 0 {
		return fmt.Errorf("[%d] = %v, want %v (rtol %g, atol %g)", wi, g[wi], w[wi], rtol, atol)
	}
	return nil
}
