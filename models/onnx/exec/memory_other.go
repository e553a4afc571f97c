//go:build !linux

package exec

// availableMemory is unknown on this system (0).
func availableMemory() int64 { return 0 }
