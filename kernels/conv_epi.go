package kernels

import "math"

// The elementwise steps a convolution applies to its output before it
// leaves the cache (the ONNX executor fuses the nodes that follow a Conv
// into them). Each step computes what the corresponding ONNX node computes
// in float32, operation for operation, so fusing does not change results.

// EpiKind names an epilogue step.
type EpiKind uint8

// The epilogue steps; v and w are EpiApply's parameters.
const (
	EpiAdd         EpiKind = iota // x + v
	EpiSub                        // x - v
	EpiSubFrom                    // v - x
	EpiMul                        // x · v
	EpiDiv                        // x / v
	EpiDivInto                    // v / x
	EpiMax                        // max(x, v)
	EpiMin                        // min(x, v)
	EpiBN                         // x·v + w (batch normalisation, two roundings)
	EpiClip                       // min(max(x, v), w)
	EpiLeakyRelu                  // x < 0 ? x·v : x
	EpiHardSigmoid                // max(0, min(1, v·x + w))
	EpiHardSwish                  // x · min(max(x+v, 0), w) / w (v = 3, w = 6)
	EpiExp                        // e^x (about 1 ulp: see Exp)
	EpiSigmoid                    // 1 / (1 + e^-x)
)

// EpiApply applies one step to every element of x in place. NaNs in x
// propagate through max, min and clip, as in Go.
func EpiApply(x []float32, kind EpiKind, v, w float32) {
	n := epiArch(x, kind, v, w)
	x = x[n:]
	switch kind {
	case EpiAdd:
		for i := range x {
			x[i] += v
		}
	case EpiSub:
		for i := range x {
			x[i] -= v
		}
	case EpiSubFrom:
		for i := range x {
			x[i] = v - x[i]
		}
	case EpiMul:
		for i := range x {
			x[i] *= v
		}
	case EpiDiv:
		for i := range x {
			x[i] /= v
		}
	case EpiDivInto:
		for i := range x {
			x[i] = v / x[i]
		}
	case EpiMax:
		for i, e := range x {
			x[i] = max(e, v)
		}
	case EpiMin:
		for i, e := range x {
			x[i] = min(e, v)
		}
	case EpiBN:
		for i, e := range x {
			x[i] = float32(e*v) + w
		}
	case EpiClip:
		for i, e := range x {
			x[i] = min(max(e, v), w)
		}
	case EpiLeakyRelu:
		for i, e := range x {
			if e < 0 {
				x[i] = e * v
			}
		}
	case EpiHardSigmoid:
		for i, e := range x {
			x[i] = max(0, min(1, float32(v*e)+w))
		}
	case EpiHardSwish:
		for i, e := range x {
			x[i] = float32(e*min(max(e+v, 0), w)) / w
		}
	case EpiExp:
		for i, e := range x {
			x[i] = Exp(e)
		}
	case EpiSigmoid:
		for i, e := range x {
			x[i] = 1 / (1 + Exp(-e))
		}
	default:
		panic("kernels: EpiApply: unknown step " + itoa(int(kind)))
	}
}

// The constants of Exp (Cephes' expf): ln 2 in two parts and the
// polynomial for e^r on [-ln2/2, ln2/2].
const (
	expLog2e = 1.44269504088896341
	expC1    = 0.693359375
	expC2    = -2.12194440e-4
	expP0    = 1.9875691500e-4
	expP1    = 1.3981999507e-3
	expP2    = 8.3334519073e-3
	expP3    = 4.1665795894e-2
	expP4    = 1.6666665459e-1
	expP5    = 5.0000001201e-1
	expHi    = 88.0
	expLo    = -87.3365447504019
)

// Exp returns e^x in float32 to within about 2 ulp (Cephes' expf: x = n·ln2
// + r, a polynomial for e^r, times 2^n): what EpiExp and EpiSigmoid compute,
// bit for bit on every path (each operation rounded, no fused
// multiply-add). It returns 0 below about -87.34 and +Inf above 88 (e^88
// is 1.65e38); NaN stays NaN.
func Exp(x float32) float32 {
	if x != x {
		return x
	}
	if x > expHi {
		return float32(math.Inf(1))
	}
	if x < expLo {
		return 0
	}
	n := float32(math.Floor(float64(float32(x*expLog2e) + 0.5)))
	r := x - float32(n*expC1)
	r -= float32(n * expC2)
	p := float32(expP0)
	p = float32(p*r) + expP1
	p = float32(p*r) + expP2
	p = float32(p*r) + expP3
	p = float32(p*r) + expP4
	p = float32(p*r) + expP5
	p = float32(float32(p*r)*r) + r + 1
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}
