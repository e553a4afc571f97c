package runtime_test

import (
	"errors"
	"os"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"
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
