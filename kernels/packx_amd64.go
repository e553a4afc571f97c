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

// tileAccRows is how many activation rows a lane tile's accumulators on
// the stack hold (16 floats each).
const tileAccRows = 32

// prefetchLines prefetches the n bytes at address p (prefetch_amd64.s),
// which may lie past the end of the weights: a prefetch never faults, and
// an address (not a pointer) keeps it out of the checks of unsafe pointer
// arithmetic.
func prefetchLines(p uintptr, n int)

// after returns the address n bytes past p.
func after(p *byte, n int) uintptr { return uintptr(unsafe.Pointer(p)) + uintptr(n) }

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

// The lane tiles of the eight-lane types (see _gen/ql.go): lanes<T>P<v>
// transposes nb block columns of a packed group into a scratch, tileLanesP<v>
// multiplies the scratch by activation rows into lane accumulators.

//go:noescape
func lanesQ8_0PAVX2(nb int, w, s *byte)

//go:noescape
func lanesQ8_0PAVXVNNI(nb int, w, s *byte)

//go:noescape
func lanesQ5_0PAVX2(nb int, w, s *byte)

//go:noescape
func lanesQ5_0PAVXVNNI(nb int, w, s *byte)

//go:noescape
func lanesIQ4_NLPAVX2(nb int, w, s *byte)

//go:noescape
func lanesIQ4_NLPAVXVNNI(nb int, w, s *byte)

//go:noescape
func tileLanesPAVX2(nb int, s, a *byte, ab, n int, acc, out *float32, ldo, mode int)

//go:noescape
func tileLanesPAVXVNNI(nb int, s, a *byte, ab, n int, acc, out *float32, ldo, mode int)

// the modes of tileLanesP*: start from the accumulators (else from zero),
// finish (ggml's lane sums to out, else the lanes back to the accumulators)
const (
	laneLoad   = 1
	laneFinish = 2
)

// laneCols and laneActs are the block columns and activation rows of one
// pass of a lane tile (the scratch and accumulators on the stack).
const (
	laneCols = 32
	laneActs = 32
)

// the lane tiles' scratch builders, for tileLanes
const (
	klQ8_0AVX2 = iota
	klQ8_0AVXVNNI
	klQ5_0AVX2
	klQ5_0AVXVNNI
	klIQ4_NLAVX2
	klIQ4_NLAVXVNNI
)

// laneScratch writes the scratch of nc block columns of the packed group
// at w (the lane tile k's type and path) to s.
func laneScratch(k, nc int, w, s *byte) {
	switch k {
	case klQ8_0AVX2:
		lanesQ8_0PAVX2(nc, w, s)
	case klQ8_0AVXVNNI:
		lanesQ8_0PAVXVNNI(nc, w, s)
	case klQ5_0AVX2:
		lanesQ5_0PAVX2(nc, w, s)
	case klQ5_0AVXVNNI:
		lanesQ5_0PAVXVNNI(nc, w, s)
	case klIQ4_NLAVX2:
		lanesIQ4_NLPAVX2(nc, w, s)
	case klIQ4_NLAVXVNNI:
		lanesIQ4_NLPAVXVNNI(nc, w, s)
	}
}

// laneBlockBytes returns the bytes of a block of the lane tile k's type.
func laneBlockBytes(k int) int {
	switch k {
	case klQ8_0AVX2, klQ8_0AVXVNNI:
		return 34
	case klQ5_0AVX2, klQ5_0AVXVNNI:
		return 22
	}
	return 18
}

// laneTile runs the lane tile of k's path (tileLanesPAVX2 or
// tileLanesPAVXVNNI).
func laneTile(k, nc int, s, a *byte, ab, n int, acc, out *float32, ldo, mode int) {
	if k%2 == 1 {
		tileLanesPAVXVNNI(nc, s, a, ab, n, acc, out, ldo, mode)
	} else {
		tileLanesPAVX2(nc, s, a, ab, n, acc, out, ldo, mode)
	}
}

// tileLanes is a packTileFunc for Q8_0, Q5_0 and IQ4_NL (k: the type and
// path): a row of at most laneCols blocks is transposed once and
// multiplied by every activation row, the lanes in registers and ggml's
// lane sums written by the assembly; longer rows go to tileLanesLong.
func tileLanes(k, nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	if nb > laneCols {
		tileLanesLong(k, nb, w, a, ab, n, out, ldo)
		return
	}
	var s [laneCols * 2 * 544]byte
	laneScratch(k, nb, w, &s[0])
	// the next group (packed groups follow each other), while this one is
	// multiplied: the scratch builders otherwise wait for memory
	gb := nb * packRows * laneBlockBytes(k)
	prefetchLines(after(w, gb), gb)
	laneTile(k, nb, &s[0], a, ab, n, nil, out, ldo, laneFinish)
}

// tileLanesLong is tileLanes for rows of more than laneCols blocks: runs
// of laneCols block columns transposed once, then multiplied by laneActs
// activation rows at a time, their lanes kept in acc between runs.
func tileLanesLong(k, nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	var s [laneCols * 2 * 544]byte
	var acc [laneActs * 128]float32
	bb := laneBlockBytes(k)
	for j0 := 0; j0 < n; j0 += laneActs {
		m := min(laneActs, n-j0)
		for b0 := 0; b0 < nb; b0 += laneCols {
			nc := min(laneCols, nb-b0)
			laneScratch(k, nc, addp(w, b0*packRows*bb), &s[0])
			if j0 == 0 { // the next group's run, while this one is multiplied
				prefetchLines(after(w, (nb+b0)*packRows*bb), nc*packRows*bb)
			}
			mode := 0
			if b0 > 0 {
				mode |= laneLoad
			}
			if b0+nc == nb {
				mode |= laneFinish
			}
			laneTile(k, nc, &s[0], addp(a, j0*ab+b0*34), ab, m, &acc[0], addf(out, j0*ldo), ldo, mode)
		}
	}
}

func tileQ8_0LAVX2(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	tileLanes(klQ8_0AVX2, nb, w, a, ab, n, out, ldo)
}

func tileQ8_0LAVXVNNI(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	tileLanes(klQ8_0AVXVNNI, nb, w, a, ab, n, out, ldo)
}

func tileQ5_0LAVX2(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	tileLanes(klQ5_0AVX2, nb, w, a, ab, n, out, ldo)
}

func tileQ5_0LAVXVNNI(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	tileLanes(klQ5_0AVXVNNI, nb, w, a, ab, n, out, ldo)
}

func tileIQ4_NLLAVX2(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	tileLanes(klIQ4_NLAVX2, nb, w, a, ab, n, out, ldo)
}

func tileIQ4_NLLAVXVNNI(nb int, w, a *byte, ab, n int, out *float32, ldo int) {
	tileLanes(klIQ4_NLAVXVNNI, nb, w, a, ab, n, out, ldo)
}
