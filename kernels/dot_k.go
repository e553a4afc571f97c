package kernels

import "math"

// The K-quant and IQ4_XS dot products against Q8_K. A Q8_K block (256
// values) is a float32 scale d, 256 int8 quants and 16 int16 sums of each 16
// quants (bsums), which turn the weights' per-sub-block minimums into 16
// multiplications instead of 256. Per block, the integer sum of
// scale·Σ(q_w·q_a) (and of min·bsum) is exact; it is then scaled in float32
// by d_w·d_a (and dmin_w·d_a) as in ggml.

// q8K returns the float32 scale of the Q8_K block ab.
func q8K(ab *[292]byte) float32 { return math.Float32frombits(u32(ab[0:])) }

// bsum returns the j-th of the 16 int16 block sums of the Q8_K block ab.
func bsum(ab *[292]byte, j int) int32 { return int32(int16(u16(ab[260+2*j:]))) }

// dotQ2_K: block of 84 bytes: 16 scale bytes (low nibble scale, high nibble
// min, one per 16 values), 64 bytes of 2-bit quants, fp16 d, fp16 dmin.
// Values 128c+32s+l come from bits 2s of byte 32c+l (c<2, s<4, l<32).
func dotQ2_K(n int, w, a []byte) float32 {
	var sum float32
	for i := range n / 256 {
		wb := (*[84]byte)(w[i*84:])
		ab := (*[292]byte)(a[i*292:])
		var msum int32
		for j := range 16 {
			msum += bsum(ab, j) * int32(wb[j]>>4)
		}
		var isum int32
		for c := range 2 {
			q2 := (*[32]byte)(wb[16+32*c:])
			for s := range 4 {
				q8 := (*[32]byte)(ab[4+128*c+32*s:])
				shift := 2 * s
				var lo, hi int32
				for l := range 16 {
					lo += int32(int8(q8[l])) * int32(q2[l]>>shift&3)
					hi += int32(int8(q8[l+16])) * int32(q2[l+16]>>shift&3)
				}
				is := 8*c + 2*s
				isum += int32(wb[is]&15)*lo + int32(wb[is+1]&15)*hi
			}
		}
		da := q8K(ab)
		dall := da * f16(u16(wb[80:]))
		dmin := da * f16(u16(wb[82:]))
		sum += float32(dall*float32(isum)) - float32(dmin*float32(msum))
	}
	return sum
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
	var sum float32
	for i := range n / 256 {
		wb := (*[110]byte)(w[i*110:])
		ab := (*[292]byte)(a[i*292:])
		hm := (*[32]byte)(wb[0:])
		sc := q3Scales((*[12]byte)(wb[96:]))
		var isum int32
		for c := range 2 {
			q3 := (*[32]byte)(wb[32+32*c:])
			for s := range 4 {
				q8 := (*[32]byte)(ab[4+128*c+32*s:])
				shift := 2 * s
				m := byte(1) << (4*c + s)
				var lo, hi int32
				for l := range 16 {
					v := int32(q3[l] >> shift & 3)
					if hm[l]&m == 0 {
						v -= 4
					}
					lo += int32(int8(q8[l])) * v
					v = int32(q3[l+16] >> shift & 3)
					if hm[l+16]&m == 0 {
						v -= 4
					}
					hi += int32(int8(q8[l+16])) * v
				}
				is := 8*c + 2*s
				isum += sc[is]*lo + sc[is+1]*hi
			}
		}
		d := f16(u16(wb[108:])) * q8K(ab)
		sum += float32(d * float32(isum))
	}
	return sum
}

// scaleMinK4 unpacks the j-th 6-bit scale and min of a Q4_K/Q5_K block (12
// bytes: 8 scales and 8 mins).
func scaleMinK4(s *[12]byte, j int) (sc, m int32) {
	if j < 4 {
		return int32(s[j] & 63), int32(s[j+4] & 63)
	}
	return int32(s[j+4]&15 | (s[j-4]>>6)<<4), int32(s[j+4]>>4 | (s[j]>>6)<<4)
}

// dotQ4_K: block of 144 bytes: fp16 d, fp16 dmin, 12 bytes of scales and
// mins (one each per 32 values), 128 bytes of nibbles. Values 64c+l are the
// low nibbles of bytes 32c+l, values 64c+32+l the high nibbles (c<4, l<32);
// value = d·sc·q - dmin·m.
func dotQ4_K(n int, w, a []byte) float32 {
	var sum float32
	for i := range n / 256 {
		wb := (*[144]byte)(w[i*144:])
		ab := (*[292]byte)(a[i*292:])
		scales := (*[12]byte)(wb[4:])
		var isum, msum int32
		for c := range 4 {
			q4 := (*[32]byte)(wb[16+32*c:])
			q8 := (*[64]byte)(ab[4+64*c:])
			var lo, hi int32
			for l := range 32 {
				lo += int32(int8(q8[l])) * int32(q4[l]&15)
				hi += int32(int8(q8[l+32])) * int32(q4[l]>>4)
			}
			sc0, m0 := scaleMinK4(scales, 2*c)
			sc1, m1 := scaleMinK4(scales, 2*c+1)
			isum += sc0*lo + sc1*hi
			msum += m0*(bsum(ab, 4*c)+bsum(ab, 4*c+1)) + m1*(bsum(ab, 4*c+2)+bsum(ab, 4*c+3))
		}
		da := q8K(ab)
		d := f16(u16(wb[0:])) * da
		dmin := f16(u16(wb[2:])) * da
		sum += float32(d*float32(isum)) - float32(dmin*float32(msum))
	}
	return sum
}

// dotQ5_K: block of 176 bytes: fp16 d, fp16 dmin, 12 bytes of scales and
// mins, 32 bytes of high bits, 128 bytes of nibbles. As Q4_K, with bit 2c
// (low nibbles) or 2c+1 (high nibbles) of qh[l] adding 16.
func dotQ5_K(n int, w, a []byte) float32 {
	var sum float32
	for i := range n / 256 {
		wb := (*[176]byte)(w[i*176:])
		ab := (*[292]byte)(a[i*292:])
		scales := (*[12]byte)(wb[4:])
		qh := (*[32]byte)(wb[16:])
		var isum, msum int32
		for c := range 4 {
			q4 := (*[32]byte)(wb[48+32*c:])
			q8 := (*[64]byte)(ab[4+64*c:])
			var lo, hi int32
			for l := range 32 {
				h := qh[l] >> (2 * c)
				lo += int32(int8(q8[l])) * int32(q4[l]&15|(h&1)<<4)
				hi += int32(int8(q8[l+32])) * int32(q4[l]>>4|(h&2)<<3)
			}
			sc0, m0 := scaleMinK4(scales, 2*c)
			sc1, m1 := scaleMinK4(scales, 2*c+1)
			isum += sc0*lo + sc1*hi
			msum += m0*(bsum(ab, 4*c)+bsum(ab, 4*c+1)) + m1*(bsum(ab, 4*c+2)+bsum(ab, 4*c+3))
		}
		da := q8K(ab)
		d := f16(u16(wb[0:])) * da
		dmin := f16(u16(wb[2:])) * da
		sum += float32(d*float32(isum)) - float32(dmin*float32(msum))
	}
	return sum
}

// dotQ6_K: block of 210 bytes: 128 bytes of low nibbles (ql), 64 bytes of
// 2-bit high parts (qh), 16 int8 scales (one per 16 values), fp16 d. For
// half c (128 values) and l<32, with L = ql[64c:], H = qh[32c:]:
// value 128c+l    = (L[l]&15    | (H[l]>>0&3)<<4) - 32,
// value 128c+32+l = (L[l+32]&15 | (H[l]>>2&3)<<4) - 32,
// value 128c+64+l = (L[l]>>4    | (H[l]>>4&3)<<4) - 32,
// value 128c+96+l = (L[l+32]>>4 | (H[l]>>6&3)<<4) - 32.
func dotQ6_K(n int, w, a []byte) float32 {
	var sum float32
	for i := range n / 256 {
		wb := (*[210]byte)(w[i*210:])
		ab := (*[292]byte)(a[i*292:])
		var isum int32
		for c := range 2 {
			ql := (*[64]byte)(wb[64*c:])
			qh := (*[32]byte)(wb[128+32*c:])
			sc := (*[8]byte)(wb[192+8*c:])
			q8 := (*[128]byte)(ab[4+128*c:])
			for half := range 2 { // l in [16·half, 16·half+16): scale index half, half+2, ...
				var s0, s1, s2, s3 int32
				for l := 16 * half; l < 16*half+16; l++ {
					h := int32(qh[l])
					s0 += int32(int8(q8[l])) * (int32(ql[l]&15) | (h&3)<<4 - 32)
					s1 += int32(int8(q8[l+32])) * (int32(ql[l+32]&15) | (h>>2&3)<<4 - 32)
					s2 += int32(int8(q8[l+64])) * (int32(ql[l]>>4) | (h>>4&3)<<4 - 32)
					s3 += int32(int8(q8[l+96])) * (int32(ql[l+32]>>4) | (h>>6&3)<<4 - 32)
				}
				isum += int32(int8(sc[half]))*s0 + int32(int8(sc[half+2]))*s1 +
					int32(int8(sc[half+4]))*s2 + int32(int8(sc[half+6]))*s3
			}
		}
		d := f16(u16(wb[208:])) * q8K(ab)
		sum += float32(d * float32(isum))
	}
	return sum
}

// dotIQ4_XS: block of 136 bytes: fp16 d, uint16 scales_h, 4 bytes
// scales_l, 128 bytes of nibbles indexing kvaluesIQ4NL. Sub-block b (32
// values) has scale (scales_l[b/2]>>4(b%2) & 15 | (scales_h>>2b & 3)<<4) - 32;
// its values j and 16+j are the low and high nibbles of byte 16b+j.
func dotIQ4_XS(n int, w, a []byte) float32 {
	var sum float32
	for i := range n / 256 {
		wb := (*[136]byte)(w[i*136:])
		ab := (*[292]byte)(a[i*292:])
		sh := u16(wb[2:])
		var isum int32
		for b := range 8 {
			ls := int32(wb[4+b/2]>>(4*(b%2))&15) | int32(sh>>(2*b)&3)<<4
			qs := (*[16]byte)(wb[8+16*b:])
			q8 := (*[32]byte)(ab[4+32*b:])
			var s int32
			for j := range 16 {
				s += int32(kvaluesIQ4NL[qs[j]&15])*int32(int8(q8[j])) + int32(kvaluesIQ4NL[qs[j]>>4])*int32(int8(q8[j+16]))
			}
			isum += (ls - 32) * s
		}
		d := f16(u16(wb[0:])) * q8K(ab)
		sum += float32(d * float32(isum))
	}
	return sum
}
