//go:build unix

package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestFIFO: a FIFO given as the model, as a tensor file or as external data
// is refused at once (a read would block until a writer comes, forever).
func TestFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := ReadFile(fifo); !errors.Is(err, ErrNotRegular) {
			t.Errorf("ReadFile(fifo): %v, want ErrNotRegular", err)
		}
		if _, err := ReadTensorFile(fifo); !errors.Is(err, ErrNotRegular) {
			t.Errorf("ReadTensorFile(fifo): %v, want ErrNotRegular", err)
		}
		if _, err := ReadRegularFile(dir); !errors.Is(err, ErrNotRegular) {
			t.Errorf("ReadRegularFile(dir): %v, want ErrNotRegular", err)
		}
		model := addModelPB(externalTensorPB("w", Float, []int64{2}, "location", "fifo"))
		path := filepath.Join(dir, "model.onnx")
		if err := os.WriteFile(path, model, 0o644); err != nil {
			t.Error(err)
			return
		}
		_, err := ReadFile(path)
		if !errors.Is(err, ErrExternalData) || !errors.Is(err, ErrNotRegular) {
			t.Errorf("external data in a FIFO: %v, want ErrExternalData and ErrNotRegular", err)
		}
		m, err := Decode(model)
		if err != nil {
			t.Error(err)
			return
		}
		m.Dir = dir
		if err := m.LoadExternal(); !errors.Is(err, ErrNotRegular) {
			t.Errorf("LoadExternal of a FIFO: %v, want ErrNotRegular", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		// Unblock the reader so the test binary can end.
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
		t.Fatal("reading a FIFO blocked")
	}
}
