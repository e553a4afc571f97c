//go:build !unix

package chat

import "time"

var processStart = time.Now()

// cpuTime is the wall time since the tests started where the CPU time is
// not at hand.
func cpuTime() time.Duration { return time.Since(processStart) }
