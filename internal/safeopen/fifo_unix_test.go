//go:build unix

package safeopen

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestFIFO: a named pipe with no writer is refused at once (a plain
// os.Open would block until a writer comes).
func TestFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := ReadFile(p, 1<<20)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Fatalf("got %v, want ErrNotRegular", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("opening a FIFO blocked")
	}
	if err := Check(p); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Check: %v", err)
	}
}
