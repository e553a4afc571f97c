// Package testutil finds the data tests read: the model the repository
// carries (models/testdata) and the reference data of ../shared, which sits
// beside a developer's or CI's clone but not beside a stranger's. A test that
// needs ../shared skips, naming the missing file and where it comes from.
package testutil

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// SharedHelp says where the reference data comes from; skip messages end
// with it.
const SharedHelp = "the reference data of ../shared (models and outputs of established implementations, see README \"Reference data\") is not beside this clone"

var root = sync.OnceValues(func() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
})

// Root returns the module's root directory (where go.mod is).
func Root(t testing.TB) string {
	t.Helper()
	r, err := root()
	if err != nil {
		t.Fatalf("testutil: module root not found from the working directory: %v", err)
	}
	return r
}

// Stories returns the path of stories260K.gguf, the small trained model the
// repository carries (models/testdata, MIT).
func Stories(t testing.TB) string {
	t.Helper()
	return filepath.Join(Root(t), "models", "testdata", "stories260K.gguf")
}

// SharedPath returns the path of rel inside ../shared without checking it.
func SharedPath(t testing.TB, rel string) string {
	t.Helper()
	return filepath.Join(filepath.Dir(Root(t)), "shared", filepath.FromSlash(rel))
}

// Shared returns the path of rel (slash-separated) inside ../shared, or skips
// the test with a message naming the missing file when it is absent.
func Shared(t testing.TB, rel string) string {
	t.Helper()
	p := SharedPath(t, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("needs ../shared/%s: %s", rel, SharedHelp)
	}
	return p
}

// HasShared reports whether rel exists inside ../shared.
func HasShared(t testing.TB, rel string) bool {
	t.Helper()
	_, err := os.Stat(SharedPath(t, rel))
	return err == nil
}
