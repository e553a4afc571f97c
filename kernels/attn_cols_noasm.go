//go:build purego || !amd64

package kernels

// attnDotColsArch has no assembly here: the columns go one by one.
func attnDotColsArch(out, x, m []float32, stride int) int { return 0 }

// attnDotRowsArch has no assembly here: the rows go one by one.
func attnDotRowsArch(out, x, k []float32, stride int) int { return 0 }
