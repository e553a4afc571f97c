package nn

import (
	"math"
	"math/big"
)

// Expf is e^x rounded to float32 exactly as the C library of the machines
// llama.cpp's references come from computes expf (glibc 2.28 and later, on
// x86-64 its FMA variant; the algorithm of ARM's optimized routines):
// x·32/ln2 split into an integer k and a remainder r, 2^(k/32) from a table
// of 32 powers of two, 2^(r/32) by a cubic in double precision. ggml calls
// expf for the scores past the last whole group of sixteen in a softmax row
// (every score of a text shorter than sixteen tokens), and glibc's result is
// not always the correctly rounded one (0.06% of inputs differ by an ulp
// from float32(math.Exp)), which a quantized activation downstream can turn
// into a visible difference.
func Expf(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > 88.72283:
		return float32(math.Inf(1))
	case x < -103.97208:
		return 0
	}
	const (
		n      = 32
		shift  = 0x1.8p+52
		invLn2 = 0x1.71547652b82fep+0 * n
		c0     = 0x1.c6af84b912394p-5 / n / n / n
		c1     = 0x1.ebfce50fac4f3p-3 / n / n
		c2     = 0x1.62e42ff0c52d6p-1 / n
	)
	xd := float64(x)
	z := float64(invLn2 * xd)
	kd := float64(z + shift)
	ki := math.Float64bits(kd)
	kd -= shift
	r := z - kd
	s := math.Float64frombits(exp2Table[ki%n] + ki<<47)
	p := math.FMA(c0, r, c1)
	r2 := float64(r * r)
	y := math.FMA(c2, r, 1)
	y = math.FMA(p, r2, y)
	return float32(y * s)
}

// exp2Table[i] is the bits of 2^(i/32) (correctly rounded) less i<<47, so
// that adding k<<47 for k ≡ i (mod 32) gives 2^(k/32).
var exp2Table = func() (t [32]uint64) {
	for i := range t {
		f := new(big.Float).SetPrec(256).SetMantExp(big.NewFloat(1).SetPrec(256), i)
		for range 5 { // 2^(i/32) = five square roots of 2^i
			f.Sqrt(f)
		}
		v, _ := f.Float64()
		t[i] = math.Float64bits(v) - uint64(i)<<47
	}
	return t
}()
