//go:build windows

package energy

import (
	"time"

	"golang.org/x/sys/windows"
)

// processCPUTime returns the kernel + user time of this process, from
// GetProcessTimes.
func processCPUTime() (time.Duration, error) {
	var c, e, k, u windows.Filetime
	if err := windows.GetProcessTimes(windows.CurrentProcess(), &c, &e, &k, &u); err != nil {
		return 0, err
	}
	ticks := func(f windows.Filetime) int64 { return int64(f.HighDateTime)<<32 | int64(f.LowDateTime) } // 100 ns units
	return time.Duration((ticks(k) + ticks(u)) * 100), nil
}
