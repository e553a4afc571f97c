package quant

import "encoding/binary"

// bestIndexIQ4 is ggml's best_index_int8 over iq4nlValues (as of llama.cpp
// b4748): the index of the level nearest to x, the upper one on ties.
func bestIndexIQ4(x float32) uint8 {
	v := &iq4nlValues
	if x <= float32(v[0]) {
		return 0
	}
	if x >= float32(v[15]) {
		return 15
	}
	ml, mu := 0, 15
	for mu-ml > 1 {
		mav := (ml + mu) / 2
		if x < float32(v[mav]) {
			mu = mav
		} else {
			ml = mav
		}
	}
	if x-float32(v[mu-1]) < float32(v[mu])-x {
		return uint8(mu - 1)
	}
	return uint8(mu)
}

// iq4Ntry is the number of extra scales each side quantize_iq4_nl/_xs try
// (ggml_quantize_chunk's path; the *_ref functions use -1, a weaker search).
const iq4Ntry = 7

// quantIQ4 is ggml's quantize_row_iq4_nl_impl without importance weights and
// ntry = 7, for one super-block x of 32 (IQ4_NL) or 256 (IQ4_XS) values in
// 32-value groups. It writes the super-block scale to dh, the packed indices to
// q4 and, for more than one group, the 6-bit group scales to scalesH/scalesL.
func quantIQ4(x []float32, dh, q4, scalesH, scalesL []byte) {
	var L [QKK]uint8
	var scales [QKK / 32]float32
	var weight [32]float32
	values := &iq4nlValues
	nb := len(x) / 32
	var maxScale, amaxScale float32
	for ib := 0; ib < nb; ib++ {
		xb, Lb := x[32*ib:32*ib+32], L[32*ib:32*ib+32]
		for j, v := range xb {
			weight[j] = v * v
		}
		max, amax := absMax(xb)
		if amax < groupMaxEps {
			scales[ib] = 0
			continue
		}
		sums := func(id float32, setL bool) (sumqx, sumq2 float32) {
			for j, v := range xb {
				l := bestIndexIQ4(float32(id * v))
				if setL {
					Lb[j] = l
				}
				q, w := float32(values[l]), weight[j]
				sumqx += float32(float32(w*q) * v)
				sumq2 += float32(float32(w*q) * q)
			}
			return sumqx, sumq2
		}
		d := -max / float32(values[0])
		sumqx, sumq2 := sums(1/d, true)
		d = sumqx / sumq2
		best := d * sumqx
		for itry := -iq4Ntry; itry <= iq4Ntry; itry++ {
			sumqx, sumq2 = sums(float32(itry+int(values[0]))/max, false)
			if sumq2 > 0 && sumqx*sumqx > best*sumq2 {
				d = sumqx / sumq2
				best = d * sumqx
			}
		}
		scales[ib] = d
		if a := abs32(d); a > amaxScale {
			amaxScale, maxScale = a, d
		}
	}
	if nb > 1 {
		d := -maxScale / 32
		putHalf(dh, d)
		id := inv(d)
		var sh uint16
		for ib := 0; ib < nb; ib++ {
			l := clampInt(nearestInt(id*scales[ib]), -32, 31)
			idl := inv(d * float32(l))
			for j, v := range x[32*ib : 32*ib+32] {
				L[32*ib+j] = bestIndexIQ4(float32(idl * v))
			}
			l += 32
			if ib%2 == 0 {
				scalesL[ib/2] = uint8(l & 0xF)
			} else {
				scalesL[ib/2] |= uint8(l&0xF) << 4
			}
			sh |= uint16(l>>4) << (2 * (ib % 8))
		}
		binary.LittleEndian.PutUint16(scalesH, sh)
	} else {
		putHalf(dh, scales[0])
		id := inv(scales[0])
		for j, v := range x {
			L[j] = bestIndexIQ4(float32(id * v))
		}
	}
	for i := 0; i < len(x)/32; i++ {
		for j := 0; j < 16; j++ {
			q4[16*i+j] = L[32*i+j] | L[32*i+16+j]<<4
		}
	}
}

// quantIQ4NL quantizes one IQ4_NL block: d half | qs[16].
func quantIQ4NL(x []float32, y []byte) { quantIQ4(x, y[0:2], y[2:18], nil, nil) }

// quantIQ4XS quantizes one IQ4_XS block: d half | scales_h | scales_l[4] | qs[128].
func quantIQ4XS(x []float32, y []byte) { quantIQ4(x, y[0:2], y[8:136], y[2:4], y[4:8]) }
