//go:build unix

package exec

import (
	"syscall"
	"time"
)

// cpuNow returns the process's CPU time so far (0 where unknown).
func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
