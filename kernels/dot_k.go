package kernels

import "math"

// The K-quant and IQ4_XS dot products against Q8_K. A Q8_K block (256
// values) is a float32 scale d, 256 int8 quants and 16 int16 sums of each 16
// quants (bsums), which turn the weights' per-sub-block minimums into 16
// multiplications instead of 256.
//
// The arithmetic is that of ggml's AVX2 kernels (ggml_vec_dot_*_q8_K, which
// llama.cpp c392e50 runs on AVX2 and AVX-512 CPUs), so that results are
// bit-identical to it: per block, eight exact int32 lanes, lane t holding
// Σ scale·q_w·q_a over the values 4t..4t+3 of every 32-value sub-block (with
// the scale of the value's 16- or 32-value group); the lanes are scaled by
// d_w·d_a with fused multiply-adds into eight float32 accumulators, added at
// the end as ggml's hsum_float_8. The minimums of Q2_K, Q4_K and Q5_K enter
// as in the matching ggml kernel (see each function).

// q8K returns the float32 scale of the Q8_K block ab.
func q8K(ab *[292]byte) float32 { return math.Float32frombits(u32(ab[0:])) }

// bsum returns the j-th of the 16 int16 block sums of the Q8_K block ab.
func bsum(ab *[292]byte, j int) int32 { return int32(int16(u16(ab[260+2*j:]))) }

// quads returns Σ q[v]·a[v] for v in [4t, 4t+4) of a 32-value sub-block.
func quads(q *[32]int8, a *[32]byte, t int) int32 {
	return int32(q[4*t])*int32(int8(a[4*t])) + int32(q[4*t+1])*int32(int8(a[4*t+1])) +
		int32(q[4*t+2])*int32(int8(a[4*t+2])) + int32(q[4*t+3])*int32(int8(a[4*t+3]))
}

// addLanes16 adds the lanes of one 32-value sub-block whose two 16-value
// halves have the scales lo and hi.
func addLanes16(l *[8]int32, q *[32]int8, a *[32]byte, lo, hi int32) {
	for t := range 4 {
		l[t] += lo * quads(q, a, t)
		l[t+4] += hi * quads(q, a, t+4)
	}
}

// addLanes32 adds the lanes of one 32-value sub-block with the scale sc.
func addLanes32(l *[8]int32, q *[32]int8, a *[32]byte, sc int32) {
	for t := range 8 {
		l[t] += sc * quads(q, a, t)
	}
}

// q8Sub returns the activation quants of the 32-value sub-block c.
func q8Sub(ab *[292]byte, c int) *[32]byte { return (*[32]byte)(ab[4+32*c:]) }

// dotQ2_K: block of 84 bytes: 16 scale bytes (low nibble scale, high nibble
// min, one per 16 values), 64 bytes of 2-bit quants, fp16 d, fp16 dmin.
// Value 128c+32s+l is bits 2s of byte 32c+l (c<2, s<4, l<32); it is
// d·sc·q - dmin·m. As ggml's AVX2 kernel, each block first adds
// -dmin_w·d_a · (m_{2t}·bsum_{2t} + m_{2t+1}·bsum_{2t+1}) into lane t, then
// the scaled lanes.
func dotQ2_K(n int, w, a []byte) float32 {
	var acc lanes8
	for i := range n / 256 {
		wb := (*[84]byte)(w[i*84:])
		ab := (*[292]byte)(a[i*292:])
		da := q8K(ab)
		d := da * f16(u16(wb[80:]))
		dmin := -da * f16(u16(wb[82:]))
		var lanes [8]int32
		for t := range 8 {
			lanes[t] = int32(wb[2*t]>>4)*bsum(ab, 2*t) + int32(wb[2*t+1]>>4)*bsum(ab, 2*t+1)
		}
		acc.add(dmin, &lanes)
		lanes = [8]int32{}
		var q [32]int8
		for c := range 2 {
			q2 := (*[32]byte)(wb[16+32*c:])
			for s := range 4 {
				for l := range 32 {
					q[l] = int8(q2[l] >> (2 * s) & 3)
				}
				g := 8*c + 2*s
				addLanes16(&lanes, &q, q8Sub(ab, 4*c+s), int32(wb[g]&15), int32(wb[g+1]&15))
			}
		}
		acc.add(d, &lanes)
	}
	return acc.sum()
}

// q3Scales unpacks the 16 six-bit scales of a Q3_K block (12 bytes: low
// nibbles in bytes 0..7, two high bits each in bytes 8..11), minus 32.
func q3Scales(s *[12]byte) [16]int32 {
	var sc [16]int32
	for j := range 16 {
		var lo byte
		if j < 8 {
			lo = s[j] & 15
		} else {
			lo = s[j-8] >> 4
		}
		hi := s[8+j%4] >> (2 * (j / 4)) & 3
		sc[j] = int32(lo|hi<<4) - 32
	}
	return sc
}

// dotQ3_K: block of 110 bytes: 32 bytes hmask, 64 bytes of 2-bit quants, 12
// bytes of scales, fp16 d. Value 128c+32s+l is bits 2s of byte 32c+l, minus
// 4 unless bit 4c+s of hmask[l] is set.
func dotQ3_K(n int, w, a []byte) float32 {
	var acc lanes8
	for i := range n / 256 {
		wb := (*[110]byte)(w[i*110:])
		ab := (*[292]byte)(a[i*292:])
		hm := (*[32]byte)(wb[0:])
		sc := q3Scales((*[12]byte)(wb[96:]))
		var lanes [8]int32
		var q [32]int8
		for c := range 2 {
			q3 := (*[32]byte)(wb[32+32*c:])
			for s := range 4 {
				bit := 4*c + s
				for l := range 32 { // minus 4 where the hmask bit is clear, without a branch
					q[l] = int8(q3[l]>>(2*s)&3) - int8((^hm[l]>>bit)&1)<<2
				}
				g := 8*c + 2*s
				addLanes16(&lanes, &q, q8Sub(ab, 4*c+s), sc[g], sc[g+1])
			}
		}
		acc.add(q8K(ab)*f16(u16(wb[108:])), &lanes)
	}
	return acc.sum()
}

// scaleMinK4 unpacks the j-th 6-bit scale and min of a Q4_K/Q5_K block (12
// bytes: 8 scales and 8 mins).
func scaleMinK4(s *[12]byte, j int) (sc, m int32) {
	if j < 4 {
		return int32(s[j] & 63), int32(s[j+4] & 63)
	}
	return int32(s[j+4]&15 | (s[j-4]>>6)<<4), int32(s[j+4]>>4 | (s[j]>>6)<<4)
}

// minProds returns ggml's four int32 products of the Q4_K/Q5_K minimums with
// the activation block sums: lane t is m_{2t}·(bsum_{4t}+bsum_{4t+1}) +
// m_{2t+1}·(bsum_{4t+2}+bsum_{4t+3}).
func minProds(scales *[12]byte, ab *[292]byte) [4]int32 {
	var p [4]int32
	for t := range 4 {
		_, m0 := scaleMinK4(scales, 2*t)
		_, m1 := scaleMinK4(scales, 2*t+1)
		p[t] = m0*(bsum(ab, 4*t)+bsum(ab, 4*t+1)) + m1*(bsum(ab, 4*t+2)+bsum(ab, 4*t+3))
	}
	return p
}

// dotQ4_K: block of 144 bytes: fp16 d, fp16 dmin, 12 bytes of scales and
// mins (one each per 32 values), 128 bytes of nibbles. Values 64c+l are the
// low nibbles of bytes 32c+l, values 64c+32+l the high nibbles (c<4, l<32);
// value = d·sc·q - dmin·m. As ggml's AVX2 kernel, the minimums go to four
// separate float32 lanes (fused multiply-adds of -dmin_w·d_a times
// minProds), added as (m0+m2)+(m1+m3) after the main lanes' sum.
func dotQ4_K(n int, w, a []byte) float32 {
	var acc lanes8
	var accm [4]float32
	for i := range n / 256 {
		stepQ4_K((*[144]byte)(w[i*144:]), (*[292]byte)(a[i*292:]), &acc, &accm)
	}
	return acc.sum() + ((accm[0] + accm[2]) + (accm[1] + accm[3]))
}

// stepQ4_K adds block wb times ab to dotQ4_K's accumulators (shared with
// the generic path of packed weights).
func stepQ4_K(wb *[144]byte, ab *[292]byte, acc *lanes8, accm *[4]float32) {
	scales := (*[12]byte)(wb[4:])
	da := q8K(ab)
	d := da * f16(u16(wb[0:]))
	dmin := -da * f16(u16(wb[2:]))
	mp := minProds(scales, ab)
	for t := range 4 {
		accm[t] = fma32(dmin, float32(mp[t]), accm[t])
	}
	var lanes [8]int32
	var lo, hi [32]int8
	for c := range 4 {
		q4 := (*[32]byte)(wb[16+32*c:])
		for l := range 32 {
			lo[l], hi[l] = int8(q4[l]&15), int8(q4[l]>>4)
		}
		sc0, _ := scaleMinK4(scales, 2*c)
		sc1, _ := scaleMinK4(scales, 2*c+1)
		addLanes32(&lanes, &lo, q8Sub(ab, 2*c), sc0)
		addLanes32(&lanes, &hi, q8Sub(ab, 2*c+1), sc1)
	}
	acc.add(d, &lanes)
}

// dotQ5_K: block of 176 bytes: fp16 d, fp16 dmin, 12 bytes of scales and
// mins, 32 bytes of high bits, 128 bytes of nibbles. As Q4_K, with bit 2c
// (low nibbles) or 2c+1 (high nibbles) of qh[l] adding 16. As ggml's AVX2
// kernel, the minimums of each block are summed in int32 and added to one
// float32 (a fused multiply-add by -dmin_w·d_a), added last.
func dotQ5_K(n int, w, a []byte) float32 {
	var acc lanes8
	var summs float32
	for i := range n / 256 {
		stepQ5_K((*[176]byte)(w[i*176:]), (*[292]byte)(a[i*292:]), &acc, &summs)
	}
	return acc.sum() + summs
}

// stepQ5_K adds block wb times ab to dotQ5_K's accumulators.
func stepQ5_K(wb *[176]byte, ab *[292]byte, acc *lanes8, summs *float32) {
	scales := (*[12]byte)(wb[4:])
	qh := (*[32]byte)(wb[16:])
	da := q8K(ab)
	d := da * f16(u16(wb[0:]))
	dmin := -da * f16(u16(wb[2:]))
	mp := minProds(scales, ab)
	*summs = fma32(dmin, float32(mp[0]+mp[1]+mp[2]+mp[3]), *summs)
	var lanes [8]int32
	var lo, hi [32]int8
	for c := range 4 {
		q4 := (*[32]byte)(wb[48+32*c:])
		for l := range 32 {
			h := qh[l] >> (2 * c)
			lo[l] = int8(q4[l]&15 | (h&1)<<4)
			hi[l] = int8(q4[l]>>4 | (h&2)<<3)
		}
		sc0, _ := scaleMinK4(scales, 2*c)
		sc1, _ := scaleMinK4(scales, 2*c+1)
		addLanes32(&lanes, &lo, q8Sub(ab, 2*c), sc0)
		addLanes32(&lanes, &hi, q8Sub(ab, 2*c+1), sc1)
	}
	acc.add(d, &lanes)
}

// dotQ6_K: block of 210 bytes: 128 bytes of low nibbles (ql), 64 bytes of
// 2-bit high parts (qh), 16 int8 scales (one per 16 values), fp16 d. For
// half c (128 values) and l<32, with L = ql[64c:], H = qh[32c:]:
// value 128c+l    = (L[l]&15    | (H[l]>>0&3)<<4) - 32,
// value 128c+32+l = (L[l+32]&15 | (H[l]>>2&3)<<4) - 32,
// value 128c+64+l = (L[l]>>4    | (H[l]>>4&3)<<4) - 32,
// value 128c+96+l = (L[l+32]>>4 | (H[l]>>6&3)<<4) - 32.
func dotQ6_K(n int, w, a []byte) float32 {
	var acc lanes8
	for i := range n / 256 {
		stepQ6_K((*[210]byte)(w[i*210:]), (*[292]byte)(a[i*292:]), &acc)
	}
	return acc.sum()
}

// stepQ6_K adds block wb times ab to dotQ6_K's accumulator.
func stepQ6_K(wb *[210]byte, ab *[292]byte, acc *lanes8) {
	var lanes [8]int32
	var q [4][32]int8
	for c := range 2 {
		ql := (*[64]byte)(wb[64*c:])
		qh := (*[32]byte)(wb[128+32*c:])
		for l := range 32 {
			h := qh[l]
			q[0][l] = int8(ql[l]&15|(h&3)<<4) - 32
			q[1][l] = int8(ql[l+32]&15|(h>>2&3)<<4) - 32
			q[2][l] = int8(ql[l]>>4|(h>>4&3)<<4) - 32
			q[3][l] = int8(ql[l+32]>>4|(h>>6&3)<<4) - 32
		}
		for s := range 4 {
			g := 8*c + 2*s
			addLanes16(&lanes, &q[s], q8Sub(ab, 4*c+s), int32(int8(wb[192+g])), int32(int8(wb[193+g])))
		}
	}
	acc.add(q8K(ab)*f16(u16(wb[208:])), &lanes)
}

// dotIQ4_XS: block of 136 bytes: fp16 d, uint16 scales_h, 4 bytes
// scales_l, 128 bytes of nibbles indexing kvaluesIQ4NL. Sub-block b (32
// values) has scale (scales_l[b/2]>>4(b%2) & 15 | (scales_h>>2b & 3)<<4) - 32;
// its values j and 16+j are the low and high nibbles of byte 16b+j.
func dotIQ4_XS(n int, w, a []byte) float32 {
	var acc lanes8
	for i := range n / 256 {
		wb := (*[136]byte)(w[i*136:])
		ab := (*[292]byte)(a[i*292:])
		sh := u16(wb[2:])
		var lanes [8]int32
		var q [32]int8
		for b := range 8 {
			ls := int32(wb[4+b/2]>>(4*(b%2))&15) | int32(sh>>(2*b)&3)<<4
			qs := (*[16]byte)(wb[8+16*b:])
			for j := range 16 {
				q[j], q[j+16] = kvaluesIQ4NL[qs[j]&15], kvaluesIQ4NL[qs[j]>>4]
			}
			addLanes32(&lanes, &q, q8Sub(ab, b), ls-32)
		}
		acc.add(f16(u16(wb[0:]))*q8K(ab), &lanes)
	}
	return acc.sum()
}
