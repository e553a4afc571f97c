//go:build !purego

package kernels

// dwTapsAVX2 accumulates taps into n outputs (see dwTaps), starting from
// bias rather than dst's values when set.
//
//go:noescape
func dwTapsAVX2(dst *float32, n int, x *float32, offs *int, w *float32, taps int, bias float32, set bool)

// dwTapsAvailable reports whether dwTaps has a SIMD path.
func dwTapsAvailable() bool { return hasAVX2 && cur.name != "generic" }

// dwTaps computes dst[i] += Σ_t w[t]·x[offs[t]+i] for i in [0, len(dst)):
// the interior of a depthwise convolution's output row, every tap of which
// reads inside x. It returns false (and does nothing) where it has no
// assembly; the caller then does the work.
func dwTaps(dst, x []float32, offs []int, w []float32) bool {
	return dwTapsFrom(dst, x, offs, w, 0, false)
}

// dwTapsSet is dwTaps starting from bias: dst[i] = bias + Σ_t
// w[t]·x[offs[t]+i] (dst's values are not read).
func dwTapsSet(dst, x []float32, offs []int, w []float32, bias float32) bool {
	return dwTapsFrom(dst, x, offs, w, bias, true)
}

func dwTapsFrom(dst, x []float32, offs []int, w []float32, bias float32, set bool) bool {
	if !hasAVX2 || cur.name == "generic" || len(offs) == 0 || len(w) < len(offs) {
		return false
	}
	n := len(dst)
	if n == 0 {
		return true
	}
	// Every read lies in x: the callers' offsets are checked here, once.
	for _, o := range offs {
		if o < 0 || o+n > len(x) {
			panic("kernels: dwTaps: tap outside the input row")
		}
	}
	dwTapsAVX2(&dst[0], n, &x[0], &offs[0], &w[0], len(offs), bias, set)
	return true
}

// epiArch applies an epilogue step to the largest multiple of 8 elements of
// x with AVX2 and returns how many it did.
func epiArch(x []float32, kind EpiKind, v, w float32) int {
	n := len(x) &^ 7
	if n == 0 || !hasAVX2 || cur.name == "generic" {
		return 0
	}
	p := &x[0]
	switch kind {
	case EpiAdd:
		epiAddAVX2(p, n, v)
	case EpiSub:
		epiSubAVX2(p, n, v)
	case EpiSubFrom:
		epiSubFromAVX2(p, n, v)
	case EpiMul:
		epiMulAVX2(p, n, v)
	case EpiDiv:
		epiDivAVX2(p, n, v)
	case EpiDivInto:
		epiDivIntoAVX2(p, n, v)
	case EpiMax:
		epiMaxAVX2(p, n, v)
	case EpiMin:
		epiMinAVX2(p, n, v)
	case EpiBN:
		epiBNAVX2(p, n, v, w)
	case EpiClip:
		epiClipAVX2(p, n, v, w)
	case EpiLeakyRelu:
		epiLeakyReluAVX2(p, n, v)
	case EpiHardSigmoid:
		epiHardSigmoidAVX2(p, n, v, w)
	case EpiHardSwish:
		epiHardSwishAVX2(p, n, v, w)
	case EpiExp:
		epiExpAVX2(p, n)
	case EpiSigmoid:
		epiSigmoidAVX2(p, n)
	default:
		return 0
	}
	return n
}
