package mmap

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"unsafe"
)

func TestInterior(t *testing.T) {
	buf := make([]byte, 3*4096)
	base := int(uintptr(unsafe.Pointer(&buf[0])) % 4096)
	for _, tc := range []struct{ off, n int }{{0, 0}, {0, 1}, {1, 4096}, {1, 3*4096 - 1}, {7, 2*4096 + 5}, {0, 3 * 4096}} {
		b := buf[tc.off : tc.off+tc.n]
		lo, hi := interior(b, 4096)
		if lo > hi || hi > len(b) || lo < 0 {
			t.Fatalf("off %d n %d: bounds [%d,%d) outside [0,%d)", tc.off, tc.n, lo, hi, len(b))
		}
		if lo < hi && (uintptr(unsafe.Pointer(&b[lo]))%4096 != 0 || (hi-lo)%4096 != 0) {
			t.Errorf("off %d n %d: [%d,%d) is not page-aligned", tc.off, tc.n, lo, hi)
		}
		// Brute force: the largest aligned part has this many pages.
		pages := 0
		for s := 0; s < len(b); s++ {
			if (base+tc.off+s)%4096 == 0 {
				pages = (len(b) - s) / 4096
				break
			}
		}
		if (hi-lo)/4096 != pages {
			t.Errorf("off %d n %d: %d pages, want %d", tc.off, tc.n, (hi-lo)/4096, pages)
		}
	}
}

func TestAllocHuge(t *testing.T) {
	for _, n := range []int{0, 1, 4095, HugePageSize - 1, HugePageSize + 3, 3*HugePageSize + 17} {
		b := AllocHuge(n)
		if len(b) != n || cap(b) != n {
			t.Fatalf("AllocHuge(%d): len %d cap %d", n, len(b), cap(b))
		}
		if n == 0 {
			continue
		}
		if a := uintptr(unsafe.Pointer(&b[0])); a%HugePageSize != 0 {
			t.Errorf("AllocHuge(%d) starts at %#x, not aligned to %d", n, a, HugePageSize)
		}
		for i, v := range b {
			if v != 0 {
				t.Fatalf("AllocHuge(%d)[%d] = %d, want zero memory", n, i, v)
			}
		}
		for i := range b {
			b[i] = byte(i)
		}
		for i, v := range b {
			if v != byte(i) {
				t.Fatalf("AllocHuge(%d)[%d] = %d after writing %d", n, i, v, byte(i))
			}
		}
	}
	runtime.GC() // the memory is the garbage collector's to free
}

func TestHugePagesSmallSlice(t *testing.T) {
	if HugePages(make([]byte, 100)) {
		t.Error("HugePages took advice for a slice that holds no huge page")
	}
	if HugePages(nil) || DontNeed(nil) {
		t.Error("advice taken for an empty slice")
	}
}

// TestDontNeedKeepsFileContents drops the pages of a mapped file from the
// process and reads them back unchanged.
func TestDontNeedKeepsFileContents(t *testing.T) {
	want := bytes.Repeat([]byte("dont-need "), 10000) // 100 kB: whole pages inside
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, want, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	b := m.Bytes()
	took := DontNeed(b)
	if runtime.GOOS == "linux" && m.Mapped() && !took {
		t.Error("DontNeed on a mapped file was refused")
	}
	if !bytes.Equal(b, want) {
		t.Error("contents changed after DontNeed")
	}
}

func TestAvailable(t *testing.T) {
	n, ok := Available()
	if runtime.GOOS == "linux" && !ok {
		if _, err := os.Stat("/proc/meminfo"); err == nil {
			t.Fatal("Available: /proc/meminfo exists but gave no MemAvailable")
		}
	}
	if ok && n <= 0 {
		t.Errorf("Available = %d bytes", n)
	}
}

func TestAnon(t *testing.T) {
	for _, n := range []int{0, 1, 4097, HugePageSize + 5} {
		m, err := Anon(n)
		if err != nil {
			t.Fatalf("Anon(%d): %v", n, err)
		}
		b := m.Bytes()
		if len(b) != n || m.Len() != n || m.Mapped() {
			t.Fatalf("Anon(%d): %d bytes, Len %d, Mapped %v", n, len(b), m.Len(), m.Mapped())
		}
		if n > 0 && uintptr(unsafe.Pointer(&b[0]))%HugePageSize != 0 {
			t.Errorf("Anon(%d) is not aligned to %d", n, HugePageSize)
		}
		for i, v := range b {
			if v != 0 {
				t.Fatalf("Anon(%d)[%d] = %d, want zero memory", n, i, v)
			}
		}
		for i := range b {
			b[i] = byte(i * 7)
		}
		for i, v := range b {
			if v != byte(i*7) {
				t.Fatalf("Anon(%d)[%d] = %d after writing %d", n, i, v, byte(i*7))
			}
		}
		if err := m.Close(); err != nil {
			t.Fatalf("Anon(%d).Close: %v", n, err)
		}
		if m.Bytes() != nil || m.Close() != nil {
			t.Errorf("Anon(%d): Bytes after Close not nil, or second Close failed", n)
		}
	}
	if _, err := Anon(-1); err == nil {
		t.Error("Anon(-1) succeeded")
	}
}
