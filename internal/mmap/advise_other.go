//go:build !linux

package mmap

import "os"

var pageSize = os.Getpagesize()

// Transparent huge pages are a Linux feature.
func adviseHuge([]byte) bool   { return false }
func adviseNoHuge([]byte) bool { return false }

// Other systems keep the pages; the advice is only an optimisation.

func adviseDontNeed([]byte) bool { return false }

// The free memory is not looked up here.
func available() (int64, bool) { return 0, false }
