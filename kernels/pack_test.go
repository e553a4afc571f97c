package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeai-go/edgeai/quant"
)

// TestMatMulPacked checks MatMulPacked on every path against VecDot on the
// file's layout, bit for bit, for row counts with and without a partial
// group, awkward row ranges made of whole groups, one and many activation
// rows.
func TestMatMulPacked(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	for _, im := range testImpls(t) {
		restore := UseImpl(im.name)
		for _, shape := range [][2]int{{15, 1}, {16, 2}, {44, 3}, {45, 7}, {33, 1}, {61, 8}, {30, 32}, {16, 33}, {31, 40}} {
			for _, typ := range packedTypes {
				rows, cols := shape[0], shape[1]*blockSize(typ)
				if typ == quant.Q4_0 && shape[1] == 8 {
					cols = 2048
				}
				ns := []int{1, 3, 9}
				if shape[1] == 40 { // more block columns and activation rows than a lane tile's pass
					ns = []int{37}
				}
				w := randomBlocks(r, typ, rows*cols)
				p := make([]byte, len(w))
				Pack(typ, p, w, rows, cols)
				at := ActivationType(typ)
				for _, n := range ns {
					a := make([]byte, n*mustRowBytes(t, at, cols))
					ab := len(a) / n
					for j := range n {
						copy(a[j*ab:], randomMatMulActivation(r, at, cols))
					}
					// the reference is VecDot, row by row: MatMul may run the
					// same packed tile (packing on the fly)
					want := make([]float32, n*rows)
					rb := len(w) / rows
					for j := range n {
						for row := range rows {
							want[j*rows+row] = im.vecDot[typ](cols, w[row*rb:(row+1)*rb], a[j*ab:(j+1)*ab])
						}
					}
					P := PackGroup(typ)
					g := rows - rows%P
					for _, rng := range [][2]int{{0, rows}, {0, g}, {g, rows}, {min(P, g), rows}, {0, min(P, g)}} {
						got := make([]float32, n*rows)
						for i := range got {
							got[i] = -1
						}
						MatMulPacked(typ, p, rows, cols, rng[0], rng[1], a, n, got, rows)
						for j := range n {
							for row := range rows {
								gv, wv := got[j*rows+row], want[j*rows+row]
								in := row >= rng[0] && row < rng[1]
								if in && math.Float32bits(gv) != math.Float32bits(wv) {
									t.Fatalf("%s %v %dx%d n=%d rows [%d,%d): out[%d][%d] = %g, VecDot %g", im.name, typ, rows, cols, n, rng[0], rng[1], j, row, gv, wv)
								}
								if !in && gv != -1 {
									t.Fatalf("%s %v %dx%d n=%d rows [%d,%d): wrote out[%d][%d] outside the range", im.name, typ, rows, cols, n, rng[0], rng[1], j, row)
								}
							}
						}
					}
				}
			}
		}
		restore()
	}
}

// packedTypes are the types with a packed layout.
var packedTypes = []quant.Type{quant.Q4_0, quant.Q5_0, quant.Q8_0, quant.IQ4_NL, quant.Q4_K, quant.Q5_K, quant.Q6_K}

// randomMatMulActivation is randomActivation with the int8 quants in
// [-127, 127], the range QuantizeActivation writes and MatMul's kernels
// may assume (-128 becomes -127).
func randomMatMulActivation(r *rand.Rand, at quant.Type, n int) []byte {
	b := randomActivation(r, at, n)
	switch at {
	case quant.Q8_0:
		for blk := 0; blk+34 <= len(b); blk += 34 {
			for i := blk + 2; i < blk+34; i++ {
				if b[i] == 0x80 {
					b[i] = 0x81
				}
			}
		}
	case quant.Q8_K:
		for blk := 0; blk+292 <= len(b); blk += 292 {
			for i := blk + 4; i < blk+260; i++ {
				if b[i] == 0x80 {
					b[i] = 0x81
					g := blk + 260 + 2*((i-blk-4)/16)
					putU16(b[g:], u16(b[g:])+1) // the block sum moves by one
				}
			}
		}
	}
	return b
}

// TestPackRoundTrip checks that Pack moves every byte: the packed groups
// hold each row's blocks at the documented places and the rest is copied;
// packing in place gives the same bytes.
func TestPackRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(47, 48))
	rows := 37
	for _, typ := range packedTypes {
		cols := 2 * blockSize(typ)
		bs := layouts[typ].bb
		w := randomBlocks(r, typ, rows*cols)
		p := make([]byte, len(w))
		Pack(typ, p, w, rows, cols)
		nb := cols / blockSize(typ)
		rb := nb * bs
		P := PackGroup(typ)
		for row := range rows {
			for b := range nb {
				blk := w[row*rb+bs*b:][:bs]
				var d, q []byte
				switch {
				case row >= rows-rows%P:
					d, q = p[row*rb+bs*b:][:2], p[row*rb+bs*b+2:][:bs-2]
				case typ == quant.Q5_0:
					col := p[(row/15*nb+b)*15*bs:]
					lo, hi := q5QH(row % 15)
					d = col[2*(row%15):][:2]
					q = append(append(append([]byte(nil), col[lo:lo+2]...), col[hi:hi+2]...), col[90+16*packSlot(typ, row%15):][:16]...)
				case P == 15:
					col := p[(row/15*nb+b)*15*bs:]
					d, q = col[2*(row%15):][:2], col[30+(bs-2)*packSlot(typ, row%15):][:bs-2]
				default: // the K-quants: checked by PackedBlock below
					d, q = blk[:2], blk[2:]
				}
				if string(d) != string(blk[:2]) || string(q) != string(blk[2:]) {
					t.Fatalf("%v: row %d block %d moved wrong", typ, row, b)
				}
			}
		}
		var blk [210]byte
		for row := range rows {
			for b := range nb {
				PackedBlock(typ, p, rows, cols, row, b, blk[:])
				if string(blk[:bs]) != string(w[row*rb+bs*b:][:bs]) {
					t.Fatalf("%v: PackedBlock(row %d, block %d) differs from the file's block", typ, row, b)
				}
			}
		}
		if string(p[:P*rb]) == string(w[:P*rb]) {
			t.Errorf("%v: the first group is not rearranged", typ)
		}
		q := append([]byte(nil), w...)
		Pack(typ, q, q, rows, cols)
		if string(q) != string(p) {
			t.Errorf("%v: packing in place differs from packing into a new slice", typ)
		}
	}
	cols := 64
	w := randomBlocks(r, quant.Q4_0, rows*cols)
	p := make([]byte, len(w))
	for _, bad := range []func(){
		func() { Pack(quant.Q2_K, p, w, rows, cols) },
		func() { Pack(quant.Q4_0, p[1:], w, rows, cols) },
		func() { MatMulPacked(quant.Q4_0, p, rows, cols, 1, 15, nil, 0, nil, 0) },
		func() { MatMulPacked(quant.Q4_0, p, rows, cols, 0, 20, nil, 0, nil, 0) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic on a programmer error")
				}
			}()
			bad()
		}()
	}
}

// TestKScales checks the packed layout's arrangement of the Q4_K/Q5_K
// scales against scaleMinK4 on random bytes (every bit pattern), and that
// kScalesInv undoes it.
func TestKScales(t *testing.T) {
	r := rand.New(rand.NewPCG(49, 50))
	for range 1000 {
		var s [12]byte
		for i := range s {
			s[i] = byte(r.Uint32())
		}
		d := kScales(&s)
		for i := range 4 {
			sc0, m0 := scaleMinK4(&s, i)
			sc1, m1 := scaleMinK4(&s, 4+i)
			if int32(d[0][i]&63) != sc0 || int32(d[1][i]&63) != sc1 || int32(d[2][i]&63) != m0 ||
				int32(d[0][i]>>6|(d[1][i]>>6)<<2|(d[2][i]>>6)<<4) != m1 {
				t.Fatalf("kScales(% x) = % x: scales or minimums of %d, %d misplaced", s, d, i, 4+i)
			}
		}
		if kScalesInv(d) != s {
			t.Fatalf("kScalesInv(kScales(% x)) = % x", s, kScalesInv(d))
		}
	}
}

// BenchmarkPack measures packing (done at load, over every packed weight).
func BenchmarkPack(b *testing.B) {
	r := rand.New(rand.NewPCG(51, 52))
	for _, typ := range packedTypes {
		rows, cols := 960, 2048
		w := randomBlocks(r, typ, rows*cols)
		p := make([]byte, len(w))
		b.Run(typ.String(), func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			for b.Loop() {
				Pack(typ, p, w, rows, cols)
			}
		})
	}
}

// TestMatMulPackedAllocs checks that MatMulPacked allocates nothing on any
// path, decoding and prompting.
func TestMatMulPackedAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(55, 56))
	for _, im := range testImpls(t) {
		restore := UseImpl(im.name)
		for _, typ := range packedTypes {
			rows, cols := 48, 2*blockSize(typ)
			w := randomBlocks(r, typ, rows*cols)
			Pack(typ, w, w, rows, cols)
			at := ActivationType(typ)
			for _, n := range []int{1, 40} {
				a := randomMatMulActivation(r, at, n*cols)
				out := make([]float32, n*rows)
				if allocs := testing.AllocsPerRun(3, func() { MatMulPacked(typ, w, rows, cols, 0, rows, a, n, out, rows) }); allocs != 0 {
					t.Errorf("%s %v n=%d: MatMulPacked allocates %v times", im.name, typ, n, allocs)
				}
			}
		}
		restore()
	}
}
