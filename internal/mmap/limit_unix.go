//go:build linux || darwin

package mmap

import (
	"math"

	"golang.org/x/sys/unix"
)

// addressLimit returns RLIMIT_AS's soft limit, if one is set.
func addressLimit() (int64, bool) {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_AS, &r); err != nil || r.Cur == unix.RLIM_INFINITY || r.Cur > math.MaxInt64 {
		return 0, false
	}
	return int64(r.Cur), true
}
