package exec

import (
	"fmt"
	"math"
	"sync"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/onnx"
)

// The integer products of the quantized operators (ConvInteger,
// MatMulInteger, QLinearConv, QLinearMatMul, and dynamic quantization's
// ConvInteger/MatMulInteger → Cast → Mul chains fused into one node) run on
// kernels.QGemm: tiles of int32 sums of a signed "A" operand (the weights,
// packed once when constant) and an unsigned "B" one (the activations,
// packed block by block: im2col columns for a convolution, rows for a
// MatMul). uint8 weights and int8 activations are turned into that form by
// flipping their top bit (see kernels.QGemm); the zero points, shifted the
// same way, are applied to each tile with the row sums of A and the column
// sums of B:
//
//	Σ_p (a-za)(b-zb) = raw - zb·ΣA - za·ΣB + K·za·zb
//
// so the int32 results are exactly those of the definition.

// qweights are the A operand of a product: m rows of depth k, packed, with
// their row sums and shifted zero points.
type qweights struct {
	pa   []byte
	sums []int32 // per row: Σ of the packed (signed) values
	zp   []int32 // per row: the zero point in the packed encoding
	zero bool    // every zp is 0
}

// packWeights packs the m×k byte matrix w (row stride ldw) as A. zp holds
// the zero point, one or one per row, in the data's own encoding (nil:
// 0); flip is 0x80 for uint8 data.
func packWeights(g *kernels.QGemm, w []byte, ldw, m, k int, zp []int64, flip byte) *qweights {
	q := &qweights{pa: make([]byte, g.PackedASize(m, k)), sums: make([]int32, m), zp: make([]int32, m), zero: true}
	g.PackA(q.pa, w, ldw, m, k, flip, q.sums)
	for i := range q.zp {
		var z int64
		switch len(zp) {
		case 0:
		case 1:
			z = zp[0]
		default:
			z = zp[i]
		}
		q.zp[i] = int32(int8(byte(z) ^ flip))
		if q.zp[i] != 0 {
			q.zero = false
		}
	}
	return q
}

// bytesOf returns the bytes of an int8 or uint8 tensor and the flip that
// makes them signed (A) or unsigned (B).
func bytesOf(t *Tensor, signed bool) ([]byte, byte, error) {
	switch d := t.Data.(type) {
	case []uint8:
		if signed {
			return d, 0x80, nil
		}
		return d, 0, nil
	case []int8:
		if signed {
			return reinterpret[int8, uint8](d), 0, nil
		}
		return reinterpret[int8, uint8](d), 0x80, nil
	}
	return nil, 0, fmt.Errorf("%w: %v where int8 or uint8 is expected", ErrUnsupported, t.Type)
}

// zeroPointVals reads an optional zero point tensor of the data's type:
// nil when absent.
func zeroPointVals(zp, data *Tensor, what string) ([]int64, error) {
	if zp == nil {
		return nil, nil
	}
	if zp.Type != data.Type {
		return nil, fmt.Errorf("%w: %s zero point of %v for %v data", onnx.ErrFormat, what, zp.Type, data.Type)
	}
	return intsOf(zp)
}

// qout says what a product writes: int32 sums, float32 (sum·scale, then an
// epilogue), or requantized bytes.
type qoutKind uint8

const (
	qoutInt32 qoutKind = iota
	qoutFloat
	qoutQuant
)

// qepi is the output stage of one product.
type qepi struct {
	kind qoutKind
	i32  []int32   // qoutInt32
	f32  []float32 // qoutFloat
	q8   []byte    // qoutQuant
	// scale per A row (float, quant) and the int32 bias per A row (quant;
	// nil: none); qzp and qlo/qhi saturate a requantized output in its
	// own range (-128..127 for int8, whose bytes are then its bits).
	scale      []float32
	fbias      []float32 // float: added after the scaling, per A row (nil: none)
	ibias      []int32
	qzp        float32
	qlo, qhi   float32
	rowStride  int // output offset between A rows
	colStride  int // output offset between B columns
	epi        epilogue
	epiChannel func(r int) int // the epilogue channel of A row r (conv)
}

// qproduct is one product C = A·B of an A operand of m rows and a B operand
// of n columns, of depth k, computed in column blocks on the worker pool:
// fillB packs the B block [c0, c0+nb) into pb (PackedBSize(k, nb) bytes)
// and its column sums into sums when they are needed (any A zero point not
// 0), using scratch (k·blockCols bytes) if it must build the block first.
type qproduct struct {
	g      *kernels.QGemm
	w      *qweights
	m, n   int
	k      int
	zb     []int32 // B zero point in the packed encoding: one, or one per column
	fillB  func(pb, scratch []byte, c0, nb int, sums []int32)
	out    *qepi
	outOff int // offset of C[0][0] in the output slices
}

// qbufs are the per-goroutine buffers of a product's column blocks.
type qbufs struct {
	pb, scratch []byte
	tile, sums  []int32
}

var qbufPool sync.Pool

func getQBufs(pbLen, scratchLen, tileLen, sumsLen int) *qbufs {
	b, _ := qbufPool.Get().(*qbufs)
	if b == nil {
		b = &qbufs{}
	}
	if cap(b.pb) < pbLen {
		b.pb = make([]byte, pbLen)
	}
	if cap(b.scratch) < scratchLen {
		b.scratch = make([]byte, scratchLen)
	}
	if cap(b.tile) < tileLen {
		b.tile = make([]int32, tileLen)
	}
	if cap(b.sums) < sumsLen {
		b.sums = make([]int32, sumsLen)
	}
	b.pb, b.scratch, b.tile, b.sums = b.pb[:pbLen], b.scratch[:scratchLen], b.tile[:tileLen], b.sums[:sumsLen]
	return b
}

// run computes the product. scratchRows is the number of rows of the B
// block fillB may build in scratch (0: none).
func (q *qproduct) run(rc *runCtx, scratchRows int) {
	g := q.g
	mr, nr := g.MR(), g.NR()
	k4 := kernels.QK4(q.k)
	// Blocks of columns whose packed B stays in the L2 cache (about 256
	// KiB), at most 16 panels.
	cb := max(nr, min(16*nr, (262144/max(k4, 1))/nr*nr))
	threads := rc.e.pool.Threads()
	if threads > 1 {
		// Enough blocks for every thread to have a few.
		cb = min(cb, max(nr, (q.n/(4*threads))/nr*nr))
	}
	blocks := (q.n + cb - 1) / cb
	needSums := !q.w.zero
	// Cycles: the tiles (about 32 multiply-adds a cycle), building and
	// packing B (a few cycles a byte) and storing the sums (a few cycles
	// each): for the thin products of a mobile network (few filters, many
	// pixels) the last two dominate.
	work := q.m*k4*q.n/32 + 2*k4*q.n + 4*q.m*q.n
	// Few column blocks (a MatMul of a few dozen rows, a convolution of a
	// few pixels): the rows of A are split too, in groups of panels, each
	// (block, group) unit packing its own copy of the block.
	panels := (q.m + mr - 1) / mr
	per := panels
	if threads > 1 && blocks < 2*threads && panels > 1 {
		groups := min(panels, (4*threads+blocks-1)/blocks)
		per = (panels + groups - 1) / groups
	}
	groups := (panels + per - 1) / per
	work += (groups - 1) * 2 * k4 * q.n
	rc.parWork(blocks*groups, work, func(lo, hi int) {
		bufs := getQBufs(g.PackedBSize(q.k, cb), scratchRows*cb, mr*nr, cb)
		defer qbufPool.Put(bufs)
		filled := -1
		for u := lo; u < hi; u++ {
			if rc.stopped() {
				return
			}
			b, gi := u/groups, u%groups
			c0 := b * cb
			nb := min(cb, q.n-c0)
			var sums []int32
			if needSums {
				sums = bufs.sums[:nb]
			}
			if filled != b {
				q.fillB(bufs.pb, bufs.scratch, c0, nb, sums)
				filled = b
			}
			rlo, rhi := gi*per*mr, min((gi+1)*per*mr, q.m)
			for r0 := rlo; r0 < rhi; r0 += mr {
				if k4 >= 1<<14 && rc.stopped() {
					return
				}
				rows := min(mr, q.m-r0)
				ap := q.w.pa[r0*k4 : (r0+mr)*k4]
				for j0 := 0; j0 < nb; j0 += nr {
					cols := min(nr, nb-j0)
					g.Tile(k4, ap, bufs.pb[j0*k4:(j0+nr)*k4], bufs.tile)
					q.storeTile(bufs.tile, nr, r0, rows, c0+j0, cols, sums, j0)
				}
			}
			if o := q.out; o.kind == qoutFloat && len(o.epi) > 0 {
				for r := rlo; r < rhi; r++ {
					base := q.outOff + r*o.rowStride + c0*o.colStride
					o.epi.apply(o.f32[base:base+nb], o.epiChannel(r))
				}
			}
		}
	})
}

// storeTile corrects a tile's sums by the zero points and writes them out.
// sums holds the block's column sums (from column c0-j0), nil when every A
// zero point is 0. It corrects the tile in place (the caller's scratch),
// then writes each row with a loop per kind of output.
func (q *qproduct) storeTile(tile []int32, nr, r0, rows, c0, cols int, sums []int32, j0 int) {
	o := q.out
	kk := int32(q.k)
	zb := q.zb
	cs := o.colStride
	var colSums []int32
	if sums != nil {
		colSums = sums[j0 : j0+cols]
	}
	for i := range rows {
		r := r0 + i
		sa, za := q.w.sums[r], q.w.zp[r]
		t := tile[i*nr : i*nr+cols]
		// acc = raw - zb·sa + za·(K·zb - Σb), in wrapping int32 (the
		// same bits in any order).
		if len(zb) == 1 {
			z := zb[0]
			if colSums != nil {
				corr := za*kk*z - z*sa
				for j, s := range colSums {
					t[j] += corr - za*s
				}
			} else {
				corr := -z * sa
				for j := range t {
					t[j] += corr
				}
			}
		} else {
			zc := zb[c0 : c0+cols]
			for j, z := range zc {
				acc := t[j] - z*sa
				if colSums != nil {
					acc += za * (kk*z - colSums[j])
				}
				t[j] = acc
			}
		}
		base := q.outOff + r*o.rowStride + c0*cs
		end := base + (cols-1)*cs + 1
		switch o.kind {
		case qoutInt32:
			if cs == 1 {
				copy(o.i32[base:end], t)
				continue
			}
			for j, acc := range t {
				o.i32[base+j*cs] = acc
			}
		case qoutFloat:
			scale := o.scale[r]
			d := o.f32[base:end]
			// Cast, Mul, Add: each rounds (no fused multiply-add).
			if o.fbias != nil {
				fb := o.fbias[r]
				for j, acc := range t {
					v := float32(float32(acc) * scale)
					v += fb
					d[j*cs] = v
				}
				continue
			}
			if cs == 1 {
				d = d[:len(t)]
				for j, acc := range t {
					d[j] = float32(acc) * scale
				}
				continue
			}
			for j, acc := range t {
				d[j*cs] = float32(acc) * scale
			}
		case qoutQuant:
			scale := o.scale[r]
			var ib int32
			if o.ibias != nil {
				ib = o.ibias[r]
			}
			d := o.q8[base:end]
			for j, acc := range t {
				d[j*cs] = requant(acc+ib, scale, o.qzp, o.qlo, o.qhi)
			}
		}
	}
}

// storeChannel writes the exact integer sums s (float32 values that are
// integers below 2²⁴ in magnitude) of A row ch from output offset base on
// (consecutive columns), as storeTile would, then applies a float
// output's epilogue.
func (o *qepi) storeChannel(s []float32, ch, base int) {
	switch o.kind {
	case qoutInt32:
		d := o.i32[base : base+len(s)]
		for i, v := range s {
			d[i] = int32(v)
		}
	case qoutFloat:
		d := o.f32[base : base+len(s)]
		scale := o.scale[ch]
		// float32(acc)·scale as storeTile: v is float32(acc) exactly.
		for i, v := range s {
			d[i] = v * scale
		}
		if o.fbias != nil {
			b := o.fbias[ch]
			for i := range d {
				d[i] += b
			}
		}
		o.epi.apply(d, ch)
	case qoutQuant:
		d := o.q8[base : base+len(s)]
		var ib int32
		if o.ibias != nil {
			ib = o.ibias[ch]
		}
		for i, v := range s {
			d[i] = requant(int32(v)+ib, o.scale[ch], o.qzp, o.qlo, o.qhi)
		}
	}
}

// requant maps an int32 sum to the output encoding as ONNX Runtime does:
// the float32 product by the scale, rounded half to even, plus the zero
// point, saturated to [lo, hi]; the byte of an int8 result is its bits.
func requant(acc int32, scale, zp, lo, hi float32) byte {
	v := float32(math.RoundToEven(float64(float32(acc)*scale))) + zp
	v = min(max(v, lo), hi)
	return byte(int32(v))
}
