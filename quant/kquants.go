package quant

import "math"

// This file holds the K-quant reference quantizers (quantize_row_q{2..6}_K_ref
// of ggml, no importance matrix) and the scale searches they use. The float
// expressions keep ggml's evaluation order and round every product that feeds
// a sum with an explicit float32(...) conversion, so that no Go port fuses
// them into a multiply-add: the output is then bit-identical to ggml's
// (compiled without FMA, as ggml-base is).

// groupMaxEps is ggml's GROUP_MAX_EPS: groups whose largest magnitude is below
// it are treated as all zero.
const groupMaxEps = 1e-15

// nearestInt is ggml's nearest_int: round to nearest, ties to even, by adding
// 1.5*2^23 and reading the low mantissa bits. Exact for |f| < 2^22; beyond
// that it returns the same meaningless value as ggml, without panicking.
func nearestInt(f float32) int {
	v := float32(f) + 12582912 // explicit conversion: never fused with a product in f
	return int(math.Float32bits(v)&0x007fffff) - 0x00400000
}

func clampInt(v, lo, hi int) int { return max(lo, min(hi, v)) }

// makeQKX2 is ggml's make_qkx2_quants: it fits x ≈ scale*L - theMin with
// L in [0, nmax], minimising the weighted squared (or absolute, useMad) error
// over nstep+1 candidate scales. L receives the levels; aux is scratch of len(x).
func makeQKX2(x, weights []float32, L, aux []uint8, nmax int, rmin, rdelta float32, nstep int, useMad bool) (scale, theMin float32) {
	n := len(x)
	min, max := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < n; i++ {
		if x[i] < min {
			min = x[i]
		}
		if x[i] > max {
			max = x[i]
		}
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if min > 0 {
		min = 0
	}
	if max == min {
		clear(L[:n])
		return 0, -min
	}
	errOf := func(d float32) float32 {
		if useMad {
			return abs32(d)
		}
		return d * d
	}
	iscale := float32(nmax) / (max - min)
	scale = 1 / iscale
	var bestMad float32
	for i := 0; i < n; i++ {
		L[i] = uint8(clampInt(nearestInt(iscale*(x[i]-min)), 0, nmax))
		diff := float32(scale*float32(L[i])) + min - x[i]
		bestMad += float32(weights[i] * errOf(diff))
	}
	if nstep < 1 {
		return scale, -min
	}
	for is := 0; is <= nstep; is++ {
		iscale = (rmin + float32(rdelta*float32(is)) + float32(nmax)) / (max - min)
		var sumL, sumL2, sumXL float32
		for i := 0; i < n; i++ {
			l := clampInt(nearestInt(iscale*(x[i]-min)), 0, nmax)
			aux[i] = uint8(l)
			w, fl := weights[i], float32(l)
			sumL += float32(w * fl)
			sumL2 += float32(float32(w*fl) * fl)
			sumXL += float32(float32(w*fl) * x[i])
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var mad float32
			for i := 0; i < n; i++ {
				diff := float32(thisScale*float32(aux[i])) + thisMin - x[i]
				mad += float32(weights[i] * errOf(diff))
			}
			if mad < bestMad {
				copy(L[:n], aux[:n])
				bestMad = mad
				scale = thisScale
				min = thisMin
			}
		}
	}
	return scale, -min
}

// makeQX is ggml's make_qx_quants with rmse_type 1 and no importance weights:
// a symmetric fit x ≈ scale*(L-nmax), L in [0, 2*nmax), weights x², trying 18
// scales around nmax/max.
func makeQX(x []float32, L []int8, nmax int) float32 {
	max, amax := absMax(x)
	if amax < groupMaxEps {
		clear(L[:len(x)])
		return 0
	}
	sums := func(iscale float32) (sumlx, suml2 float32) {
		for _, v := range x {
			fl := float32(clampInt(nearestInt(iscale*v), -nmax, nmax-1))
			w := v * v
			sumlx += float32(float32(w*v) * fl)
			suml2 += float32(float32(w*fl) * fl)
		}
		return sumlx, suml2
	}
	setL := func(iscale float32) {
		for i, v := range x {
			L[i] = int8(nmax + clampInt(nearestInt(iscale*v), -nmax, nmax-1))
		}
	}
	iscale := float32(-nmax) / max
	setL(iscale)
	sumlx, suml2 := sums(iscale)
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	best := scale * sumlx
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(float32(nmax) + float32(0.1*float32(is))) / max
		sumlx, suml2 = sums(iscale)
		if suml2 > 0 && sumlx*sumlx > best*suml2 {
			setL(iscale)
			scale = sumlx / suml2
			best = scale * sumlx
		}
	}
	return scale
}

// makeQ3 is ggml's make_q3_quants with do_rmse: a symmetric fit with weights
// x², refined by up to 5 passes of coordinate descent on the levels. L
// receives levels biased by nmax (or all zeros for an all-zero group).
func makeQ3(x []float32, L []int8, nmax int) float32 {
	max, amax := absMax(x)
	if amax < groupMaxEps {
		clear(L[:len(x)])
		return 0
	}
	iscale := float32(-nmax) / max
	var sumlx, suml2 float32
	for i, v := range x {
		l := clampInt(nearestInt(iscale*v), -nmax, nmax-1)
		L[i] = int8(l)
		w, fl := v*v, float32(l)
		sumlx += float32(float32(w*v) * fl)
		suml2 += float32(float32(w*fl) * fl)
	}
	for itry := 0; itry < 5; itry++ {
		changed := false
		for i, v := range x {
			w, li := v*v, float32(L[i])
			slx := sumlx - float32(float32(w*v)*li)
			if slx > 0 {
				sl2 := suml2 - float32(float32(w*li)*li)
				newL := clampInt(nearestInt(float32(v*sl2)/slx), -nmax, nmax-1)
				if newL != int(L[i]) {
					fl := float32(newL)
					slx += float32(float32(w*v) * fl)
					sl2 += float32(float32(w*fl) * fl)
					if sl2 > 0 && slx*slx*suml2 > sumlx*sumlx*sl2 {
						L[i] = int8(newL)
						sumlx, suml2 = slx, sl2
						changed = true
					}
				}
			}
		}
		if !changed {
			break
		}
	}
	for i := range x {
		L[i] += int8(nmax)
	}
	return sumlx / suml2
}

// packQ2 stores 256 2-bit levels as Q2_K/Q3_K do: level 128*h + 32*s + l goes
// to bits 2s..2s+1 of qs[32h+l].
func packQ2(L []uint8, qs []byte) {
	for h := 0; h < 2; h++ {
		for l := 0; l < 32; l++ {
			j := 128*h + l
			qs[32*h+l] = L[j] | L[j+32]<<2 | L[j+64]<<4 | L[j+96]<<6
		}
	}
}

// quantQ2K is quantize_row_q2_K_ref for one 256-value block: sixteen groups of
// 16 fitted by makeQKX2 (4 levels, mean absolute error), their scales and
// mins quantized to 4 bits against d and dmin, then the levels recomputed.
func quantQ2K(x []float32, y []byte) {
	var L [QKK]uint8
	var aux [16]uint8
	var weights, scales, mins [16]float32
	var maxScale, maxMin float32
	for j := 0; j < 16; j++ {
		xs := x[16*j : 16*j+16]
		for l, v := range xs {
			weights[l] = abs32(v)
		}
		scales[j], mins[j] = makeQKX2(xs, weights[:], L[16*j:16*j+16], aux[:], 3, -0.5, 0.1, 15, true)
		if scales[j] > maxScale {
			maxScale = scales[j]
		}
		if mins[j] > maxMin {
			maxMin = mins[j]
		}
	}
	sc := y[0:16]
	if maxScale > 0 {
		iscale := 15 / maxScale
		for j := range sc {
			sc[j] = uint8(nearestInt(iscale * scales[j]))
		}
		putHalf(y[80:], maxScale/15)
	} else {
		clear(sc)
		putHalf(y[80:], 0)
	}
	if maxMin > 0 {
		iscale := 15 / maxMin
		for j := range sc {
			sc[j] |= uint8(nearestInt(iscale*mins[j]) << 4)
		}
		putHalf(y[82:], maxMin/15)
	} else {
		putHalf(y[82:], 0)
	}
	dAll, mAll := half(y[80:]), half(y[82:])
	for j := 0; j < 16; j++ {
		d := dAll * float32(sc[j]&0xF)
		if d == 0 {
			continue
		}
		dm := float32(mAll * float32(sc[j]>>4))
		for ii := 0; ii < 16; ii++ {
			L[16*j+ii] = uint8(clampInt(nearestInt((x[16*j+ii]+dm)/d), 0, 3))
		}
	}
	packQ2(L[:], y[16:80])
}

// quantQ3K is quantize_row_q3_K_ref: sixteen groups of 16 fitted by makeQ3
// (levels -4..3), 6-bit signed group scales against d = max/-32, levels
// recomputed; the low 2 bits go to qs, the high bit to hmask.
func quantQ3K(x []float32, y []byte) {
	var L [QKK]int8
	var scales [16]float32
	var maxScale, amax float32
	for j := 0; j < 16; j++ {
		scales[j] = makeQ3(x[16*j:16*j+16], L[16*j:16*j+16], 4)
		if s := abs32(scales[j]); s > amax {
			amax, maxScale = s, scales[j]
		}
	}
	hmask, qs, sc := y[0:32], y[32:96], y[96:108]
	clear(sc)
	if maxScale != 0 {
		iscale := -32 / maxScale
		for j := 0; j < 16; j++ {
			l := int8(nearestInt(iscale * scales[j]))
			l = int8(clampInt(int(l), -32, 31) + 32)
			if j < 8 {
				sc[j] = uint8(l) & 0xF
			} else {
				sc[j-8] |= (uint8(l) & 0xF) << 4
			}
			l >>= 4
			sc[j%4+8] |= uint8(l) << (2 * (j / 4))
		}
		putHalf(y[108:], 1/iscale)
	} else {
		putHalf(y[108:], 0)
	}
	dAll := half(y[108:])
	for j := 0; j < 16; j++ {
		d := dAll * float32(q3Scale(sc, j)-32)
		if d == 0 {
			continue
		}
		for ii := 0; ii < 16; ii++ {
			L[16*j+ii] = int8(clampInt(nearestInt(x[16*j+ii]/d), -4, 3) + 4)
		}
	}
	clear(hmask)
	var low [QKK]uint8
	for j := 0; j < QKK; j++ {
		l := uint8(L[j])
		if l > 3 {
			hmask[j%32] |= 1 << (j / 32)
			l -= 4
		}
		low[j] = l
	}
	packQ2(low[:], qs)
}

// quantKScales stores eight 6-bit scales and mins of Q4_K/Q5_K, the inverse of scaleMinK4.
func quantKScales(sc []byte, scales, mins *[8]float32, maxScale, maxMin float32) {
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	for j := 0; j < 8; j++ {
		ls := min(63, uint8(nearestInt(invScale*scales[j])))
		lm := min(63, uint8(nearestInt(invMin*mins[j])))
		if j < 4 {
			sc[j] = ls
			sc[j+4] = lm
		} else {
			sc[j+4] = ls&0xF | (lm&0xF)<<4
			sc[j-4] |= ls >> 4 << 6
			sc[j] |= lm >> 4 << 6
		}
	}
}

// quantKGroups fits the eight 32-value groups of a Q4_K/Q5_K block with
// makeQKX2 (weights rms(x) + |x|) and writes d, dmin and the scales; it then
// recomputes the levels against the quantized scales. L gets levels in [0, nmax].
func quantKGroups(x []float32, y []byte, L *[QKK]uint8, nmax int, rmin float32, nstep int) {
	var aux [32]uint8
	var weights [32]float32
	var scales, mins [8]float32
	var maxScale, maxMin float32
	for j := 0; j < 8; j++ {
		xs := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xs {
			sumX2 += float32(v * v)
		}
		avX := float32(math.Sqrt(float64(sumX2 / 32)))
		for l, v := range xs {
			weights[l] = avX + abs32(v)
		}
		scales[j], mins[j] = makeQKX2(xs, weights[:], L[32*j:32*j+32], aux[:], nmax, rmin, 0.1, nstep, false)
		if scales[j] > maxScale {
			maxScale = scales[j]
		}
		if mins[j] > maxMin {
			maxMin = mins[j]
		}
	}
	sc := y[4:16]
	quantKScales(sc, &scales, &mins, maxScale, maxMin)
	putHalf(y[0:], maxScale/63)
	putHalf(y[2:], maxMin/63)
	dAll, mAll := half(y[0:]), half(y[2:])
	for j := 0; j < 8; j++ {
		s, m := scaleMinK4(j, sc)
		d := dAll * float32(s)
		if d == 0 {
			continue
		}
		dm := float32(mAll * float32(m))
		for ii := 0; ii < 32; ii++ {
			L[32*j+ii] = uint8(clampInt(nearestInt((x[32*j+ii]+dm)/d), 0, nmax))
		}
	}
}

// quantQ4K is quantize_row_q4_K_ref: 16 levels per 32-value group.
func quantQ4K(x []float32, y []byte) {
	var L [QKK]uint8
	quantKGroups(x, y, &L, 15, -1, 20)
	qs := y[16:144]
	for c := 0; c < 4; c++ {
		for l := 0; l < 32; l++ {
			qs[32*c+l] = L[64*c+l] | L[64*c+32+l]<<4
		}
	}
}

// quantQ5K is quantize_row_q5_K_ref: 32 levels per 32-value group, the 5th bit in qh.
func quantQ5K(x []float32, y []byte) {
	var L [QKK]uint8
	quantKGroups(x, y, &L, 31, -0.5, 15)
	qh, qs := y[16:48], y[48:176]
	clear(qh)
	for c := 0; c < 4; c++ {
		for l := 0; l < 32; l++ {
			l1, l2 := L[64*c+l], L[64*c+32+l]
			if l1 > 15 {
				l1 -= 16
				qh[l] |= 1 << (2 * c)
			}
			if l2 > 15 {
				l2 -= 16
				qh[l] |= 2 << (2 * c)
			}
			qs[32*c+l] = l1 | l2<<4
		}
	}
}

// quantQ6K is quantize_row_q6_K_ref: sixteen groups of 16 fitted by makeQX
// (64 levels), int8 group scales against d = max/-128, levels recomputed.
func quantQ6K(x []float32, y []byte) {
	var L [QKK]int8
	var scales [16]float32
	var maxScale, maxAbsScale float32
	for ib := 0; ib < 16; ib++ {
		scales[ib] = makeQX(x[16*ib:16*ib+16], L[16*ib:16*ib+16], 32)
		if a := abs32(scales[ib]); a > maxAbsScale {
			maxAbsScale, maxScale = a, scales[ib]
		}
	}
	if maxAbsScale < groupMaxEps {
		clear(y)
		return
	}
	ql, qh, sc := y[0:128], y[128:192], y[192:208]
	iscale := -128 / maxScale
	putHalf(y[208:], 1/iscale)
	for ib := 0; ib < 16; ib++ {
		sc[ib] = uint8(int8(min(127, nearestInt(iscale*scales[ib]))))
	}
	dAll := half(y[208:])
	for j := 0; j < 16; j++ {
		d := dAll * float32(int8(sc[j]))
		if d == 0 {
			continue
		}
		for ii := 0; ii < 16; ii++ {
			L[16*j+ii] = int8(clampInt(nearestInt(x[16*j+ii]/d), -32, 31) + 32)
		}
	}
	for h := 0; h < 2; h++ {
		for l := 0; l < 32; l++ {
			j := 128*h + l
			q1, q2, q3, q4 := uint8(L[j]), uint8(L[j+32]), uint8(L[j+64]), uint8(L[j+96])
			ql[64*h+l] = q1&0xF | (q3&0xF)<<4
			ql[64*h+32+l] = q2&0xF | (q4&0xF)<<4
			qh[32*h+l] = q1>>4 | q2>>4<<2 | q3>>4<<4 | q4>>4<<6
		}
	}
}
