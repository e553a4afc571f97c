package exec

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// availableMemory returns the bytes this process can still allocate: the
// smallest of the memory the kernel reports available (MemAvailable), the
// room left under the cgroup's memory.max, and the room left under the
// address-space and data limits (ulimit -v, ulimit -d), or 0 when none is
// known.
func availableMemory() int64 {
	best := int64(math.MaxInt64)
	take := func(v int64) {
		if v >= 0 && v < best {
			best = v
		}
	}
	if kb, ok := procField("/proc/meminfo", "MemAvailable:"); ok {
		take(kb << 10)
	}
	if max, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if lim, err := strconv.ParseInt(strings.TrimSpace(string(max)), 10, 64); err == nil {
			used := int64(0)
			if cur, err := os.ReadFile("/sys/fs/cgroup/memory.current"); err == nil {
				used, _ = strconv.ParseInt(strings.TrimSpace(string(cur)), 10, 64)
			}
			take(lim - used)
		}
	}
	for _, l := range []struct {
		res   int
		field string
	}{{syscall.RLIMIT_AS, "VmSize:"}, {syscall.RLIMIT_DATA, "VmData:"}} {
		var rl syscall.Rlimit
		if syscall.Getrlimit(l.res, &rl) != nil || rl.Cur >= math.MaxInt64 { // RLIM_INFINITY is all ones
			continue
		}
		used, _ := procField("/proc/self/status", l.field)
		take(int64(rl.Cur) - used<<10)
	}
	if best == math.MaxInt64 {
		return 0
	}
	return max(best, 1)
}

// procField reads a "Name: value kB" line of a /proc file.
func procField(path, name string) (int64, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				return 0, false
			}
			v, err := strconv.ParseInt(f[0], 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}
