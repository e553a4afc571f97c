//go:build !purego

package kernels

import "unsafe"

// The avx2 and avxvnni kernels over packed weights (packx_amd64.s, written
// by _gen: each kernel once for both paths, VPDPBUSD and VPDPWSSD on
// avxvnni where avx2 has VPMADDUBSW and VPMADDWD), all bit-identical to the
// generic dot products. The Q8_0 kernels on avx2 rely on the activation
// quants being in [-127, 127], as QuantizeActivation writes them.

// gemvQ4_0x15PAVX2 and gemvQ4_0x15PAVXVNNI are packGemvFuncs for Q4_0.
//
//go:noescape
func gemvQ4_0x15PAVX2(nb int, w, a *byte, out *float32)

//go:noescape
func gemvQ4_0x15PAVXVNNI(nb int, w, a *byte, out *float32)

// tileQ4_0x15PAVX2Acc and tileQ4_0x15PAVXVNNIAcc add to acc[16j + r] the
// products of row r of a packed Q4_0 group and activation row j (a + j·ab,
// j < n), block by block as dotQ4_0; lane 15 is scratch.
//
//go:noescape
func tileQ4_0x15PAVX2Acc(nb int, w, a *byte, ab, n int, acc *float32)

//go:noescape
func tileQ4_0x15PAVXVNNIAcc(nb int, w, a *byte, ab, n int, acc *float32)

// gemvQ8_0x15PAVX2Lanes and gemvQ8_0x15PAVXVNNILanes add to lanes[8r..8r+7]
// the eight float32 lanes of dotQ8_0 of row r of a packed Q8_0 group.
//
//go:noescape
func gemvQ8_0x15PAVX2Lanes(nb int, w, a *byte, lanes *float32)

//go:noescape
func gemvQ8_0x15PAVXVNNILanes(nb int, w, a *byte, lanes *float32)

// tileQ8_0x3x2PAVX2 writes to outj[i] the products of rows i0+i (i < 3) of
// a packed Q8_0 group and the activation rows aj (j < 2), as dotQ8_0;
// as tileQ8_0x3x2PAVXVNNI.
//
//go:noescape
func tileQ8_0x3x2PAVX2(nb int, w *byte, i0 int, a0, a1 *byte, out0, out1 *float32)

//go:noescape
func tileQ8_0x3x2PAVXVNNI(nb int, w *byte, i0 int, a0, a1 *byte, out0, out1 *float32)

// tileAccRows is how many activation rows a lane tile's accumulators on
// the stack hold (16 floats each).
const tileAccRows = 32

// addp returns p moved by n bytes.
func addp(p *byte, n int) *byte { return (*byte)(unsafe.Add(unsafe.Pointer(p), n)) }

// addf returns p moved by n floats.
func addf(p *float32, n int) *float32 { return (*float32)(unsafe.Add(unsafe.Pointer(p), 4*n)) }

// putRows copies m rows of rows values from acc (16 floats per row) to out
// (rows j0.. of stride ldo).
func putRows(out *float32, j0, m, ldo, rows int, acc *[tileAccRows * 16]float32) {
	for j := range m {
		copy(unsafe.Slice(addf(out, (j0+j)*ldo), rows), acc[16*j:][:rows])
	}
}

// tileQ4_0PAVX2 is a packTileFunc for Q4_0 (tileQ4_0x15PAVX2Acc, then the
// rows' results to out).
func tileQ4_0PAVX2(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	var acc [tileAccRows * 16]float32
	for j0 := 0; j0 < n; j0 += tileAccRows {
		m := min(tileAccRows, n-j0)
		clear(acc[:16*m])
		tileQ4_0x15PAVX2Acc(nb, w, addp(a, j0*ab), ab, m, &acc[0])
		putRows(out, j0, m, ldo, packRows, &acc)
	}
}

// tileQ4_0PAVXVNNI is tileQ4_0PAVX2 on avxvnni.
func tileQ4_0PAVXVNNI(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	var acc [tileAccRows * 16]float32
	for j0 := 0; j0 < n; j0 += tileAccRows {
		m := min(tileAccRows, n-j0)
		clear(acc[:16*m])
		tileQ4_0x15PAVXVNNIAcc(nb, w, addp(a, j0*ab), ab, m, &acc[0])
		putRows(out, j0, m, ldo, packRows, &acc)
	}
}

// sumLanes15 writes ggml's lane sum of lanes[8r..8r+7] to out[r], r < 15.
func sumLanes15(lanes *[128]float32, out *float32) {
	o := (*[packRows]float32)(unsafe.Pointer(out))
	for r := range packRows {
		o[r] = (*lanes8)(lanes[8*r:]).sum()
	}
}

// gemvQ8_0PAVX2 and gemvQ8_0PAVXVNNI are packGemvFuncs for Q8_0.
func gemvQ8_0PAVX2(nb int, w, a *byte, out *float32) {
	var l [128]float32
	gemvQ8_0x15PAVX2Lanes(nb, w, a, &l[0])
	sumLanes15(&l, out)
}

func gemvQ8_0PAVXVNNI(nb int, w, a *byte, out *float32) {
	var l [128]float32
	gemvQ8_0x15PAVXVNNILanes(nb, w, a, &l[0])
	sumLanes15(&l, out)
}

// tileQ8_0PAVX2 and tileQ8_0PAVXVNNI are packTileFuncs for Q8_0: 3x2
// tiles.
func tileQ8_0PAVX2(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	tileRows3x2(k3x2Q8_0AVX2, nb, w, a, ab, n, out, ldo)
}

func tileQ8_0PAVXVNNI(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	tileRows3x2(k3x2Q8_0AVXVNNI, nb, w, a, ab, n, out, ldo)
}

// gemvQ5_0x15PAVX2Lanes and the three others add to lanes the eight
// float32 lanes of each row of a packed Q5_0 or IQ4_NL group, those of
// rows A = 8(k%2)+k/2 and B = A+4 at 16k: A's lanes 0..3, B's 0..3, A's
// 4..7, B's 4..7.
//
//go:noescape
func gemvQ5_0x15PAVX2Lanes(nb int, w, a *byte, lanes *float32)

//go:noescape
func gemvQ5_0x15PAVXVNNILanes(nb int, w, a *byte, lanes *float32)

//go:noescape
func gemvIQ4_NLx15PAVX2Lanes(nb int, w, a *byte, lanes *float32)

//go:noescape
func gemvIQ4_NLx15PAVXVNNILanes(nb int, w, a *byte, lanes *float32)

// tileQ5_0x3x2PAVX2 and the three others write to outj[i] the products of
// rows i0+i (i < 3) of a packed Q5_0 or IQ4_NL group and the activation
// rows aj (j < 2).
//
//go:noescape
func tileQ5_0x3x2PAVX2(nb int, w *byte, i0 int, a0, a1 *byte, out0, out1 *float32)

//go:noescape
func tileQ5_0x3x2PAVXVNNI(nb int, w *byte, i0 int, a0, a1 *byte, out0, out1 *float32)

//go:noescape
func tileIQ4_NLx3x2PAVX2(nb int, w *byte, i0 int, a0, a1 *byte, out0, out1 *float32)

//go:noescape
func tileIQ4_NLx3x2PAVXVNNI(nb int, w *byte, i0 int, a0, a1 *byte, out0, out1 *float32)

// sumLanesPairs writes ggml's lane sum of each row to out[r], r < 15, from
// the lanes layout of gemvQ5_0x15PAVX2Lanes.
func sumLanesPairs(l *[128]float32, out *float32) {
	o := (*[packRows]float32)(unsafe.Pointer(out))
	for k := range 8 {
		a := 8*(k%2) + k/2
		for i, r := range [2]int{a, a + 4} {
			if r == packRows {
				continue
			}
			var s lanes8
			copy(s[:4], l[16*k+4*i:])
			copy(s[4:], l[16*k+8+4*i:])
			o[r] = s.sum()
		}
	}
}

func gemvQ5_0PAVX2(nb int, w, a *byte, out *float32) {
	var l [128]float32
	gemvQ5_0x15PAVX2Lanes(nb, w, a, &l[0])
	sumLanesPairs(&l, out)
}

func gemvQ5_0PAVXVNNI(nb int, w, a *byte, out *float32) {
	var l [128]float32
	gemvQ5_0x15PAVXVNNILanes(nb, w, a, &l[0])
	sumLanesPairs(&l, out)
}

func gemvIQ4_NLPAVX2(nb int, w, a *byte, out *float32) {
	var l [128]float32
	gemvIQ4_NLx15PAVX2Lanes(nb, w, a, &l[0])
	sumLanesPairs(&l, out)
}

func gemvIQ4_NLPAVXVNNI(nb int, w, a *byte, out *float32) {
	var l [128]float32
	gemvIQ4_NLx15PAVXVNNILanes(nb, w, a, &l[0])
	sumLanesPairs(&l, out)
}

// tileRows3x2 runs a 3x2 kernel over a packed group of 15 rows and n
// activation rows (the last one repeated where n is odd); k is one of the
// kernels above, chosen by a switch so that no pointer escapes through a
// func value.
func tileRows3x2(k int, nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	for j := 0; j < n; j += 2 {
		j1 := min(j+1, n-1)
		a0, a1 := addp(a, j*ab), addp(a, j1*ab)
		for i0 := 0; i0 < packRows; i0 += 3 {
			o0, o1 := addf(out, j*ldo+i0), addf(out, j1*ldo+i0)
			switch k {
			case k3x2Q8_0AVX2:
				tileQ8_0x3x2PAVX2(nb, w, i0, a0, a1, o0, o1)
			case k3x2Q8_0AVXVNNI:
				tileQ8_0x3x2PAVXVNNI(nb, w, i0, a0, a1, o0, o1)
			case k3x2Q5_0AVX2:
				tileQ5_0x3x2PAVX2(nb, w, i0, a0, a1, o0, o1)
			case k3x2Q5_0AVXVNNI:
				tileQ5_0x3x2PAVXVNNI(nb, w, i0, a0, a1, o0, o1)
			case k3x2IQ4_NLAVX2:
				tileIQ4_NLx3x2PAVX2(nb, w, i0, a0, a1, o0, o1)
			case k3x2IQ4_NLAVXVNNI:
				tileIQ4_NLx3x2PAVXVNNI(nb, w, i0, a0, a1, o0, o1)
			}
		}
	}
}

// the 3x2 kernels of tileRows3x2
const (
	k3x2Q8_0AVX2 = iota
	k3x2Q8_0AVXVNNI
	k3x2Q5_0AVX2
	k3x2Q5_0AVXVNNI
	k3x2IQ4_NLAVX2
	k3x2IQ4_NLAVXVNNI
)

func tileQ5_0PAVX2(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	tileRows3x2(k3x2Q5_0AVX2, nb, w, a, ab, n, out, ldo)
}

func tileQ5_0PAVXVNNI(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	tileRows3x2(k3x2Q5_0AVXVNNI, nb, w, a, ab, n, out, ldo)
}

func tileIQ4_NLPAVX2(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	tileRows3x2(k3x2IQ4_NLAVX2, nb, w, a, ab, n, out, ldo)
}

func tileIQ4_NLPAVXVNNI(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	tileRows3x2(k3x2IQ4_NLAVXVNNI, nb, w, a, ab, n, out, ldo)
}
