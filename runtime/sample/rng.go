package sample

import "math/bits"

// rng is xoshiro256** (Blackman and Vigna, 2018), a small, fast generator
// with a 2^256-1 period whose output is fully specified, so a seed gives the
// same sequence on every platform and Go version. Its state is filled from
// the 64-bit seed with four outputs of SplitMix64, as its authors recommend.
type rng struct{ s [4]uint64 }

// seed sets the state from a 64-bit seed through SplitMix64.
func (r *rng) seed(seed uint64) {
	x := seed
	for i := range r.s {
		r.s[i] = splitmix64(&x)
	}
}

// splitmix64 advances *x and returns the next SplitMix64 output.
func splitmix64(x *uint64) uint64 {
	*x += 0x9e3779b97f4a7c15
	z := *x
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// uint64 returns the next 64 random bits.
func (r *rng) uint64() uint64 {
	s := &r.s
	result := bits.RotateLeft64(s[1]*5, 7) * 9
	t := s[1] << 17
	s[2] ^= s[0]
	s[3] ^= s[1]
	s[1] ^= s[2]
	s[0] ^= s[3]
	s[2] ^= t
	s[3] = bits.RotateLeft64(s[3], 45)
	return result
}

// float64 returns a uniform number in [0, 1) with 53 random bits.
func (r *rng) float64() float64 {
	return float64(r.uint64()>>11) * 0x1p-53
}
