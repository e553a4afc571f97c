package mmap

import (
	"bytes"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

var pageSize = os.Getpagesize()

func adviseHuge(b []byte) bool { return unix.Madvise(b, unix.MADV_HUGEPAGE) == nil }

func adviseNoHuge(b []byte) bool { return unix.Madvise(b, unix.MADV_NOHUGEPAGE) == nil }

func adviseDontNeed(b []byte) bool { return unix.Madvise(b, unix.MADV_DONTNEED) == nil }

func available() (int64, bool) {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	for line := range bytes.Lines(data) {
		rest, ok := bytes.CutPrefix(line, []byte("MemAvailable:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest) // "123456 kB"
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil || kb < 0 || kb > 1<<50 {
			return 0, false
		}
		return kb << 10, true
	}
	return 0, false
}
