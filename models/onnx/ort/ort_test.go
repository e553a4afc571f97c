package ort

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"
)

// needORT loads ONNX Runtime or decides the test's fate: when EDGEAI_ORT_LIB
// is set the library must load (a broken setting fails the test); when it is
// unset and no library is found, or this build has no backend, the test is
// skipped with the reason.
func needORT(t *testing.T) {
	t.Helper()
	path, version, err := Load("")
	if err == nil {
		t.Logf("ONNX Runtime %s from %s", version, path)
		return
	}
	if !Compiled {
		t.Skipf("this build has no ONNX Runtime backend: %v", err)
	}
	if os.Getenv(EnvLibrary) == "" && errors.Is(err, ErrUnavailable) {
		t.Skipf("ONNX Runtime backend unavailable (set %s, see .ci/install-ort.sh): %v", EnvLibrary, err)
	}
	t.Fatalf("loading ONNX Runtime: %v", err)
}

func TestLoad(t *testing.T) {
	needORT(t)
	if !Compiled {
		t.Fatal("Load succeeded in a build without the backend")
	}
	if _, _, err := Load("/nonexistent/libonnxruntime.so.1"); err == nil {
		t.Error("Load with another library after the first succeeded")
	}
}

func TestNotCompiled(t *testing.T) {
	if Compiled {
		t.Skip("this build has the ONNX Runtime backend")
	}
	if _, _, err := Load(""); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Load: %v, want ErrUnavailable", err)
	}
	if _, err := NewSession(nil, "", nil, nil, Options{}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("NewSession: %v, want ErrUnavailable", err)
	}
}

const addModel = "../../../../shared/testdata/onnx/node/test_add/model.onnx"

func TestRunAdd(t *testing.T) {
	needORT(t)
	model, err := os.ReadFile(addModel)
	if err != nil {
		t.Skipf("needs ../shared/testdata/onnx/node/test_add/model.onnx: %s (%v)", testutil.SharedHelp, err)
	}
	dims := []int64{3, 4, 5}
	in := []IO{{Name: "x", Type: Float32, Tensor: true, Dims: dims, HasShape: true},
		{Name: "y", Type: Float32, Tensor: true, Dims: dims, HasShape: true}}
	out := []IO{{Name: "sum", Type: Float32, Tensor: true, Dims: dims, HasShape: true}}
	s, err := NewSession(model, filepath.Dir(addModel), in, out, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	x, y := make([]float32, 60), make([]float32, 60)
	for i := range x {
		x[i], y[i] = float32(i)*0.5, float32(i*i)
	}
	// Concurrent runs share the session.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.Run(context.Background(), []Value{{Float32, dims, x}, {Float32, dims, y}})
			if err != nil {
				t.Error(err)
				return
			}
			sum := res[0].Data.([]float32)
			for i := range sum {
				if sum[i] != x[i]+y[i] {
					t.Errorf("sum[%d] = %v, want %v", i, sum[i], x[i]+y[i])
					return
				}
			}
		}()
	}
	wg.Wait()

	bad := []struct {
		name string
		in   []Value
	}{
		{"short data", []Value{{Float32, dims, x[:59]}, {Float32, dims, y}}},
		{"wrong type", []Value{{Float32, dims, make([]int64, 60)}, {Float32, dims, y}}},
		{"negative dim", []Value{{Float32, []int64{-3, 4, 5}, x}, {Float32, dims, y}}},
		{"one input", []Value{{Float32, dims, x}}},
		{"wrong rank", []Value{{Float32, []int64{60}, x}, {Float32, dims, y}}},
	}
	for _, c := range bad {
		if _, err := s.Run(context.Background(), c.in); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Run(ctx, []Value{{Float32, dims, x}, {Float32, dims, y}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
	s.Close()
	if _, err := s.Run(context.Background(), []Value{{Float32, dims, x}, {Float32, dims, y}}); err == nil {
		t.Error("run after Close succeeded")
	}
}

// TestLoadBrokenCandidate runs Load in a child process whose only candidate
// library (the install-ort.sh cache path) is not a library: the error must
// wrap ErrUnavailable and say the library does not load.
func TestLoadBrokenCandidate(t *testing.T) {
	if os.Getenv("EDGEAI_ORT_TEST_CHILD") == "1" {
		_, _, err := Load("")
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "does not load") {
			t.Fatalf("Load: %v", err)
		}
		return
	}
	if !Compiled || goruntime.GOOS != "linux" {
		t.Skip("needs the cgo backend on Linux")
	}
	cache := t.TempDir()
	lib := installCachePath()
	home, _ := os.UserHomeDir()
	rel, err := filepath.Rel(os.Getenv("XDG_CACHE_HOME"), lib)
	if os.Getenv("XDG_CACHE_HOME") == "" {
		rel, err = filepath.Rel(filepath.Join(home, ".cache"), lib)
	}
	if err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(cache, rel)
	os.MkdirAll(filepath.Dir(junk), 0o755)
	os.WriteFile(junk, []byte("not a shared library"), 0o644)
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadBrokenCandidate$", "-test.count=1")
	cmd.Env = append(os.Environ(), "EDGEAI_ORT_TEST_CHILD=1", "XDG_CACHE_HOME="+cache, EnvLibrary+"=", "LD_LIBRARY_PATH=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
