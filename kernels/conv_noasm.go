//go:build purego || !amd64

package kernels

// dwTaps has no assembly here: the callers do the work.
func dwTaps(dst, x []float32, offs []int, w []float32) bool { return false }

// dwTapsSet has no assembly here: the callers do the work.
func dwTapsSet(dst, x []float32, offs []int, w []float32, bias float32) bool { return false }

// epiArch has no assembly here.
func epiArch(x []float32, kind EpiKind, v, w float32) int { return 0 }

// dwTapsAvailable reports whether dwTaps has a SIMD path: not here.
func dwTapsAvailable() bool { return false }
