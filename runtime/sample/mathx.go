package sample

import "math"

// The standard library's math.Exp and math.Log use assembly on some
// architectures (amd64, arm64, s390x) whose results may differ in the last
// bit from the pure-Go code elsewhere, and the compiler may fuse x*y+z into
// one instruction on some architectures. Sampling compares cumulative sums
// against a random threshold, so to keep every platform on the same token
// this file computes exp and log with plain float64 operations, each product
// explicitly rounded with float64(...) (which forbids fusion, per the Go
// spec).

const (
	expBits = 6            // the table has 2^expBits entries
	expN    = 1 << expBits // x = (k*expN + j) * ln2/expN + r
	// ln2/expN split so that kj*ln2NHi is exact for |kj| < 2^24.
	ln2NHi  = 0x1.62e42fe000000p-7
	ln2NLo  = 0x1.f473de6af278fp-36 // ln2/expN - ln2NHi
	invLn2N = 0x1.71547652b82fep+6  // expN / ln2
)

// exp2Table[j] = 2^(j/expN), correctly rounded (computed to 50 digits).
var exp2Table = [expN]float64{
	0x1.0000000000000p+0, 0x1.02c9a3e778061p+0, 0x1.059b0d3158574p+0, 0x1.0874518759bc8p+0,
	0x1.0b5586cf9890fp+0, 0x1.0e3ec32d3d1a2p+0, 0x1.11301d0125b51p+0, 0x1.1429aaea92de0p+0,
	0x1.172b83c7d517bp+0, 0x1.1a35beb6fcb75p+0, 0x1.1d4873168b9aap+0, 0x1.2063b88628cd6p+0,
	0x1.2387a6e756238p+0, 0x1.26b4565e27cddp+0, 0x1.29e9df51fdee1p+0, 0x1.2d285a6e4030bp+0,
	0x1.306fe0a31b715p+0, 0x1.33c08b26416ffp+0, 0x1.371a7373aa9cbp+0, 0x1.3a7db34e59ff7p+0,
	0x1.3dea64c123422p+0, 0x1.4160a21f72e2ap+0, 0x1.44e086061892dp+0, 0x1.486a2b5c13cd0p+0,
	0x1.4bfdad5362a27p+0, 0x1.4f9b2769d2ca7p+0, 0x1.5342b569d4f82p+0, 0x1.56f4736b527dap+0,
	0x1.5ab07dd485429p+0, 0x1.5e76f15ad2148p+0, 0x1.6247eb03a5585p+0, 0x1.6623882552225p+0,
	0x1.6a09e667f3bcdp+0, 0x1.6dfb23c651a2fp+0, 0x1.71f75e8ec5f74p+0, 0x1.75feb564267c9p+0,
	0x1.7a11473eb0187p+0, 0x1.7e2f336cf4e62p+0, 0x1.82589994cce13p+0, 0x1.868d99b4492edp+0,
	0x1.8ace5422aa0dbp+0, 0x1.8f1ae99157736p+0, 0x1.93737b0cdc5e5p+0, 0x1.97d829fde4e50p+0,
	0x1.9c49182a3f090p+0, 0x1.a0c667b5de565p+0, 0x1.a5503b23e255dp+0, 0x1.a9e6b5579fdbfp+0,
	0x1.ae89f995ad3adp+0, 0x1.b33a2b84f15fbp+0, 0x1.b7f76f2fb5e47p+0, 0x1.bcc1e904bc1d2p+0,
	0x1.c199bdd85529cp+0, 0x1.c67f12e57d14bp+0, 0x1.cb720dcef9069p+0, 0x1.d072d4a07897cp+0,
	0x1.d5818dcfba487p+0, 0x1.da9e603db3285p+0, 0x1.dfc97337b9b5fp+0, 0x1.e502ee78b3ff6p+0,
	0x1.ea4afa2a490dap+0, 0x1.efa1bee615a27p+0, 0x1.f50765b6e4540p+0, 0x1.fa7c1819e90d8p+0,
}

// exp64 returns e**x to within a few ulps, identically on every platform:
// x = k*ln2 + j*ln2/64 + r with |r| <= ln2/128, e**x = 2^k * 2^(j/64) * e**r,
// e**r by a degree-5 polynomial (truncation error below 4e-17 relative).
func exp64(x float64) float64 {
	switch {
	case x != x:
		return x
	case x > 709.78:
		return math.Inf(1)
	case x < -745.2:
		return 0
	}
	kj := math.Floor(float64(x*invLn2N) + 0.5)
	r := float64(x-float64(kj*ln2NHi)) - float64(kj*ln2NLo)
	p := float64(r*(1.0/120)) + 1.0/24
	p = float64(p*r) + 1.0/6
	p = float64(p*r) + 0.5
	p = float64(p*r) + 1
	p = float64(p*r) + 1
	ikj := int(kj)
	j := ikj & (expN - 1)
	k := ikj >> expBits // floor division
	y := float64(p * exp2Table[j])
	if k >= -1021 {
		return y * math.Float64frombits(uint64(k+1023)<<52)
	}
	// Subnormal result: scale in two exact-or-correctly-rounded steps.
	return y * math.Float64frombits(uint64(k+1023+60)<<52) * 0x1p-60
}

// log64 returns the natural logarithm of x > 0 (NaN otherwise), computed by
// Halley steps on exp64 from a binary-exponent estimate; it is used once per
// Sampler, for min-p's threshold.
func log64(x float64) float64 {
	if !(x > 0) || math.IsInf(x, 1) {
		return math.NaN()
	}
	if x == 1 {
		return 0
	}
	frac, e := math.Frexp(x) // x = frac * 2^e, frac in [0.5, 1)
	y := float64(float64(e)*math.Ln2) + float64(frac-1)
	for range 8 {
		ey := exp64(y)
		y += 2 * (x - ey) / (x + ey)
	}
	return y
}
