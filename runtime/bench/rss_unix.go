//go:build unix && !linux

package bench

import (
	"runtime"
	"syscall"
)

// resetPeakRSS cannot reset the mark here: the peak is the process's.
func resetPeakRSS() bool { return false }

// peakRSS returns getrusage's ru_maxrss in bytes (bytes on macOS, KiB on the
// BSDs), or 0.
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss)
	}
	return int64(ru.Maxrss) << 10
}
