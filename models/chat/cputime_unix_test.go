//go:build unix

package chat

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time the process has used (user and system): the
// hostile tests bound it rather than the wall time, which depends on the
// load of a shared machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
