//go:build unix

package runtime_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/edgeai-go/edgeai/models/onnx"
	"github.com/edgeai-go/edgeai/runtime"
)

// TestONNXFIFO: a FIFO as the model, or as the vocab.txt beside an ONNX
// encoder, is a clear error at once, never a read that blocks forever.
func TestONNXFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "model.onnx")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "vocab.txt"), 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	ctx := context.Background()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := runtime.LoadONNX(ctx, fifo, runtime.ONNXOptions{Backend: runtime.ONNXBackendGo}); !errors.Is(err, onnx.ErrNotRegular) {
			t.Errorf("LoadONNX(fifo): %v, want ErrNotRegular", err)
		}
		if _, err := runtime.InspectONNX(fifo); !errors.Is(err, onnx.ErrNotRegular) {
			t.Errorf("InspectONNX(fifo): %v, want ErrNotRegular", err)
		}
		if _, err := runtime.LoadEmbedder(ctx, fifo); !errors.Is(err, onnx.ErrNotRegular) {
			t.Errorf("LoadEmbedder(fifo): %v, want ErrNotRegular", err)
		}
		// A regular model file beside a FIFO vocab.txt (the tokenizer is
		// read first, so the model's content does not matter).
		model := filepath.Join(dir, "encoder.onnx")
		if err := os.WriteFile(model, []byte("not read"), 0o644); err != nil {
			t.Error(err)
			return
		}
		if _, err := runtime.LoadEmbedder(ctx, model); !errors.Is(err, onnx.ErrNotRegular) {
			t.Errorf("LoadEmbedder with a FIFO vocab.txt: %v, want ErrNotRegular", err)
		}
		tok := filepath.Join(dir, "vocab.txt")
		if _, err := runtime.LoadEmbedder(ctx, model, runtime.WithTokenizer(tok)); !errors.Is(err, onnx.ErrNotRegular) {
			t.Errorf("LoadEmbedder with the FIFO as tokenizer: %v, want ErrNotRegular", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		for _, n := range []string{"model.onnx", "vocab.txt"} {
			if f, err := os.OpenFile(filepath.Join(dir, n), os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				f.Close()
			}
		}
		t.Fatal("reading a FIFO blocked")
	}
}
