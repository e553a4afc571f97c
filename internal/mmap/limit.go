package mmap

import (
	"math"
	"strconv"
)

// AddressSpace returns how many bytes of address space the process may
// use: the smaller of its RLIMIT_AS (Linux and macOS, when set) and what a
// 32-bit platform can address in user space (3 GiB). ok is false when
// neither bounds it.
func AddressSpace() (n int64, ok bool) {
	n = math.MaxInt64
	if strconv.IntSize == 32 {
		n, ok = 3<<30, true
	}
	if lim, has := addressLimit(); has && lim < n {
		n, ok = lim, true
	}
	return n, ok
}
