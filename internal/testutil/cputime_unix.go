//go:build unix

package testutil

import (
	"syscall"
	"time"
)

// CPUTime is the CPU time the process has used (user and system). Tests
// that bound how soon work stops measure it beside the wall time: on a
// shared, loaded machine the wall time says little, the work done does.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
