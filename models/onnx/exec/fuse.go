package exec

// activation is an elementwise function fused into the operator that
// produces its input (Conv), applied to the output while it is in cache.
type activation struct {
	kind     int
	lo, hi   float32 // Clip bounds
	alpha, b float32 // LeakyRelu slope; HardSigmoid alpha and beta
}

const (
	actNone = iota
	actRelu
	actClip
	actLeakyRelu
	actHardSigmoid
	actSigmoid
)

// apply applies the activation to x in place.
func (a *activation) apply(x []float32) {
	switch a.kind {
	case actRelu:
		for i, v := range x {
			x[i] = max(v, 0)
		}
	case actClip:
		for i, v := range x {
			x[i] = min(max(v, a.lo), a.hi)
		}
	case actLeakyRelu:
		for i, v := range x {
			if v < 0 {
				x[i] = v * a.alpha
			}
		}
	case actHardSigmoid:
		for i, v := range x {
			x[i] = max(0, min(1, a.alpha*v+a.b))
		}
	case actSigmoid:
		sigmoidF32(x, x)
	}
}

// applyPar applies the activation on the worker pool.
func (a *activation) applyPar(rc *runCtx, x []float32) {
	if len(x) < parallelGrain {
		a.apply(x)
		return
	}
	rc.par(len(x), parallelGrain/4, func(lo, hi int) { a.apply(x[lo:hi]) })
}
