//go:build !unix && !windows

package audit

import "os"

// lockFile is a no-op where flock is missing: only appends through one Log
// are serialised (by its mutex).
func lockFile(f *os.File) error { return nil }

func unlockFile(f *os.File) {}
