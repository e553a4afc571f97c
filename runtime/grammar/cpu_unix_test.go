//go:build unix

package grammar

import "syscall"

// cpuNow returns the process's user+system CPU time in nanoseconds: on a
// loaded machine it measures work where wall time measures the queue.
func cpuNow() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
