//go:build !unix

package testutil

import "time"

var processStart = time.Now()

// CPUTime is the wall time since the process started where the CPU time is
// not at hand.
func CPUTime() time.Duration { return time.Since(processStart) }
