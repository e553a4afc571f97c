//go:build unix

package energy

import (
	"syscall"
	"time"
)

// processCPUTime returns the user + system CPU time of this process (all
// threads), from getrusage(RUSAGE_SELF).
func processCPUTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
