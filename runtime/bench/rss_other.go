//go:build !unix

package bench

// resetPeakRSS is not available on this platform.
func resetPeakRSS() bool { return false }

// peakRSS is not available on this platform: 0 (unknown).
func peakRSS() int64 { return 0 }
