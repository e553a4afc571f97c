package exec

import (
	"fmt"
	"slices"
	"sync"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/onnx"
)

func init() {
	register("Conv", 2, 3, 1, newConv)
	register("ConvTranspose", 2, 3, 1, newConvTranspose)
	register("ConvInteger", 2, 4, 1, newConvInteger)
}

// window holds the attributes shared by convolutions and pooling: kernel
// shape, strides, dilations, pads (begin values, then end values) and
// auto_pad. Slices are nil when the attribute is absent.
type window struct {
	kernel, strides, dilations, pads []int
	autoPad                          string
}

func readWindow(a *attrs) (window, error) {
	var w window
	w.kernel, _ = a.smallInts("kernel_shape", 1, 1<<16)
	w.strides, _ = a.smallInts("strides", 1, 1<<16)
	w.dilations, _ = a.smallInts("dilations", 1, 1<<16)
	w.pads, _ = a.smallInts("pads", 0, 1<<16)
	w.autoPad = a.str("auto_pad", "NOTSET")
	switch w.autoPad {
	case "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID":
	default:
		return w, fmt.Errorf("%w: auto_pad %q", ErrUnsupported, w.autoPad)
	}
	return w, nil
}

// geometry is a window resolved for an input of known spatial size.
type geometry struct {
	in, out, kernel, stride, dilation, padBegin, padEnd []int
}

// resolve computes the output size and the padding for spatial input size
// in and kernel size kernel (from the weights when the attribute is absent).
func (w *window) resolve(in, kernel []int, ceil bool) (*geometry, error) {
	r := len(in)
	g := &geometry{in: in, kernel: kernel, out: make([]int, r), stride: make([]int, r),
		dilation: make([]int, r), padBegin: make([]int, r), padEnd: make([]int, r)}
	if len(kernel) != r {
		return nil, fmt.Errorf("kernel %v for %d spatial dimensions", kernel, r)
	}
	for _, s := range [][]int{w.strides, w.dilations} {
		if s != nil && len(s) != r {
			return nil, fmt.Errorf("strides/dilations %v for %d spatial dimensions", s, r)
		}
	}
	if w.pads != nil && len(w.pads) != 2*r {
		return nil, fmt.Errorf("pads %v for %d spatial dimensions", w.pads, r)
	}
	for i := range r {
		g.stride[i], g.dilation[i] = 1, 1
		if w.strides != nil {
			g.stride[i] = w.strides[i]
		}
		if w.dilations != nil {
			g.dilation[i] = w.dilations[i]
		}
		ext := (kernel[i]-1)*g.dilation[i] + 1
		s := g.stride[i]
		switch w.autoPad {
		case "SAME_UPPER", "SAME_LOWER":
			g.out[i] = (in[i] + s - 1) / s
			total := max((g.out[i]-1)*s+ext-in[i], 0)
			if w.autoPad == "SAME_UPPER" {
				g.padBegin[i] = total / 2
			} else {
				g.padBegin[i] = (total + 1) / 2
			}
			g.padEnd[i] = total - g.padBegin[i]
		case "VALID":
			if in[i] < ext {
				g.out[i] = 0
			} else {
				g.out[i] = (in[i]-ext)/s + 1
			}
		default:
			if w.pads != nil {
				g.padBegin[i], g.padEnd[i] = w.pads[i], w.pads[r+i]
			}
			span := in[i] + g.padBegin[i] + g.padEnd[i] - ext
			if span < 0 {
				return nil, fmt.Errorf("window %d larger than the padded input %d", ext, in[i]+g.padBegin[i]+g.padEnd[i])
			}
			if ceil {
				g.out[i] = (span+s-1)/s + 1
				// The last window must start inside the input or the
				// left padding.
				if (g.out[i]-1)*s >= in[i]+g.padBegin[i] {
					g.out[i]--
				}
			} else {
				g.out[i] = span/s + 1
			}
		}
	}
	return g, nil
}

// conv is Conv on float32 in 1 or 2 spatial dimensions, through im2col and
// the GEMM (a depthwise convolution directly).
type conv struct {
	win   window
	group int
	g     *kernels.Sgemm
	pw    []*packedMat // packed weights per group, when constant
	epi   epilogue     // fused elementwise nodes (see fuse.go)

	// pwT holds the constant weights transposed and packed as a B operand,
	// per group, for outputs of few pixels (see small); packed on first use.
	pwT     []*packedMat
	pwTOnce sync.Once
}

func newConv(nc *nodeCtx) (kernel, error) {
	w, err := readWindow(nc.a)
	if err != nil {
		return nil, err
	}
	k := &conv{win: w, group: nc.a.intIn("group", 1, 1, 1<<20), g: kernels.CurrentSgemm()}
	if wt := nc.konst(1); wt != nil && wt.Type == onnx.Float && len(wt.Shape) >= 3 && len(wt.Shape) <= 4 {
		m := wt.Shape[0]
		if m%k.group != 0 {
			return nil, fmt.Errorf("Conv of %d filters in %d groups", m, k.group)
		}
		mg := m / k.group
		kk := numel(wt.Shape[1:])
		if !(wt.Shape[1] == 1 && mg == 1 && k.group > 1) { // depthwise reads the weights as they are
			d := wt.Data.([]float32)
			for gi := range k.group {
				k.pw = append(k.pw, packA(k.g, d[gi*mg*kk:(gi+1)*mg*kk], kk, false, mg, kk, 1))
			}
		}
	}
	return k, nil
}

func (k *conv) infer(in, out []vinfo) error {
	out[0].typ = in[0].typ
	if in[0].typ != onnx.Undefined && in[0].typ != onnx.Float {
		return fmt.Errorf("%w: Conv of %v", ErrUnsupported, in[0].typ)
	}
	x, w := in[0], in[1]
	if x.rank >= 0 && (x.rank < 3 || x.rank > 4) {
		return fmt.Errorf("%w: Conv with %d spatial dimensions", ErrUnsupported, x.rank-2)
	}
	if w.rank >= 3 && x.rank < 0 {
		// The weights give the rank and the channels.
		out[0].rank = w.rank
		out[0].shape = make([]int, w.rank)
		for i := range out[0].shape {
			out[0].shape[i] = -1
		}
		out[0].shape[1] = w.shape[0]
		return nil
	}
	if x.rank < 0 || w.rank < 0 {
		return nil
	}
	if w.rank != x.rank {
		return fmt.Errorf("Conv of %s input and %s weights", formatShape(x.shape), formatShape(w.shape))
	}
	out[0].rank = x.rank
	out[0].shape = make([]int, x.rank)
	for i := range out[0].shape {
		out[0].shape[i] = -1
	}
	out[0].shape[0] = x.shape[0]
	out[0].shape[1] = w.shape[0]
	if x.known() && w.known() {
		kern := w.shape[2:]
		if k.win.kernel != nil {
			kern = k.win.kernel
		}
		g, err := k.win.resolve(x.shape[2:], kern, false)
		if err != nil {
			return err
		}
		copy(out[0].shape[2:], g.out)
	}
	return nil
}

// as2D returns the image size of a 1-D or 2-D spatial shape as (H, W).
func as2D(s []int) (int, int) {
	if len(s) == 1 {
		return 1, s[0]
	}
	return s[0], s[1]
}

func (k *conv) run(rc *runCtx, in, out []*Tensor) error {
	x, w := in[0], in[1]
	if x.Type != onnx.Float || w.Type != onnx.Float {
		return fmt.Errorf("%w: Conv of %v and %v", ErrUnsupported, x.Type, w.Type)
	}
	r := len(x.Shape)
	if r < 3 || r > 4 || len(w.Shape) != r {
		return fmt.Errorf("%w: Conv of %v input and %v weights", ErrUnsupported, x.Shape, w.Shape)
	}
	n, c := x.Shape[0], x.Shape[1]
	m := w.Shape[0]
	if c%k.group != 0 || m%k.group != 0 || w.Shape[1] != c/k.group {
		return fmt.Errorf("Conv of %v input and %v weights in %d groups", x.Shape, w.Shape, k.group)
	}
	kern := w.Shape[2:]
	if k.win.kernel != nil && !slices.Equal(k.win.kernel, kern) {
		return fmt.Errorf("Conv kernel_shape %v for weights %v", k.win.kernel, w.Shape)
	}
	geo, err := k.win.resolve(x.Shape[2:], kern, false)
	if err != nil {
		return err
	}
	var bias []float32
	if len(in) > 2 && in[2] != nil {
		b, ok := in[2].Data.([]float32)
		if !ok || len(b) != m {
			return fmt.Errorf("Conv bias %v for %d filters", in[2], m)
		}
		bias = b
	}
	shape := append([]int{n, m}, geo.out...)
	o, err := rc.alloc(onnx.Float, shape)
	if err != nil {
		return err
	}
	out[0] = o
	ic := imageGeometry(geo)
	ic.C = c / k.group
	return k.compute(rc, x.Data.([]float32), w.Data.([]float32), bias, o.Data.([]float32), n, c, m, ic)
}

// imageGeometry maps a 1-D or 2-D geometry to the 2-D Im2col fields.
func imageGeometry(g *geometry) kernels.Im2col {
	ic := kernels.Im2col{KH: 1, SH: 1, DH: 1}
	if len(g.in) == 2 {
		ic.H, ic.KH, ic.SH, ic.DH, ic.PT, ic.OH = g.in[0], g.kernel[0], g.stride[0], g.dilation[0], g.padBegin[0], g.out[0]
	} else {
		ic.H, ic.OH = 1, 1
	}
	l := len(g.in) - 1
	ic.W, ic.KW, ic.SW, ic.DW, ic.PL, ic.OW = g.in[l], g.kernel[l], g.stride[l], g.dilation[l], g.padBegin[l], g.out[l]
	return ic
}

// compute runs the convolution of n images of c channels into m output
// channels; geo holds the per-group image geometry (X unset).
func (k *conv) compute(rc *runCtx, x, w, bias, o []float32, n, c, m int, geo kernels.Im2col) error {
	cg, mg := c/k.group, m/k.group
	hw := geo.H * geo.W
	ohw := geo.OH * geo.OW
	kk := cg * geo.KH * geo.KW
	if cg == 1 && mg == 1 && k.group > 1 {
		// Depthwise: one small convolution per channel, a range of
		// channels of one image per call (set up once for the range).
		units := n * c
		rc.parWork(units, units*ohw*geo.KH*geo.KW/4, func(lo, hi int) {
			for lo < hi {
				img := lo / c
				c0, c1 := lo-img*c, min(hi-img*c, c)
				xi, oi := x[img*c*hw:(img+1)*c*hw], o[img*c*ohw:(img+1)*c*ohw]
				var done func(ch int)
				if len(k.epi) > 0 {
					done = func(ch int) { k.epi.apply(oi[ch*ohw:(ch+1)*ohw], ch) }
				}
				kernels.DepthwiseConv2DChannels(oi, xi, &geo, w, bias, c0, c1, done)
				lo += c1 - c0
			}
		})
		return nil
	}
	pointwise := geo.KH == 1 && geo.KW == 1 && geo.SH == 1 && geo.SW == 1 && geo.PT == 0 && geo.PL == 0 &&
		geo.OH == geo.H && geo.OW == geo.W
	// Read the input in place from a padded copy (kernels.Sgemm.ConvRows)
	// rather than through im2col. A stride s > 1 along the width is made a
	// stride of 1 by splitting each padded row into its s phases (columns
	// ≡ q mod s, one plane each): the tap at padded column ox·s + c then
	// reads column ox + c/s of phase c mod s.
	var img []float32
	var offs []int
	phases := geo.SW
	hp := (geo.OH-1)*geo.SH + (geo.KH-1)*geo.DH + 1
	wp := geo.OW + (geo.KW-1)*geo.DW/phases
	// Row tiles are NR output columns of one row; narrow rows, with a
	// stride of 1 both ways, are computed "wide" instead: as one long row
	// over the padded image's full width, whose extra columns are then
	// dropped. Anything else goes through im2col.
	nr := k.g.NR()
	rowTiles := (geo.OW+nr-1)/nr*nr*4 <= geo.OW*5 && phases <= 4
	wide := !rowTiles && geo.SW == 1 && geo.SH == 1 && 2*(wp-geo.OW) <= geo.OW
	var wideLen, wideRow int
	var wideOut []float32
	slack := nr
	if wide {
		wideLen = (geo.OH-1)*wp + geo.OW
		wideRow = max(nr, min((wideLen+nr-1)/nr*nr, 8*nr))
		slack = wideRow + nr
		t, err := rc.alloc(onnx.Float, []int{mg * (wideLen + wideRow - 1) / wideRow * wideRow})
		if err != nil {
			return err
		}
		defer rc.release(t)
		wideOut = t.Data.([]float32)
	}
	// Without padding (nor columns or rows left over at the right or
	// bottom), the padded image is the input itself: ConvRows reads it in
	// place when the last group's reads (which run up to a tile past its
	// last row, into values it discards) stay inside x.
	inPlace := false
	if !pointwise && (rowTiles || wide) && phases == 1 && geo.PT == 0 && geo.PL == 0 && wp == geo.W && hp <= geo.H {
		maxOff := (cg-1)*hw + (geo.KH-1)*geo.DH*wp + (geo.KW-1)*geo.DW
		reach := maxOff + (geo.OH-1)*geo.SH*wp + (geo.OW+nr-1)/nr*nr
		if wide {
			reach = maxOff + (wideLen+wideRow-1)/wideRow*wideRow + nr
		}
		inPlace = reach <= len(x)-((n-1)*c+(k.group-1)*cg)*hw
	}
	if !pointwise && (rowTiles || wide) {
		plane := phases * hp * wp
		if inPlace {
			plane = hw
		} else {
			t, err := rc.alloc(onnx.Float, []int{cg*plane + slack})
			if err != nil {
				return err
			}
			defer rc.release(t)
			img = t.Data.([]float32)
			clear(img[cg*plane:])
		}
		offs = make([]int, 0, kk)
		for ch := range cg {
			for ky := range geo.KH {
				for kx := range geo.KW {
					col := kx * geo.DW
					offs = append(offs, ch*plane+col%phases*hp*wp+ky*geo.DH*wp+col/phases)
				}
			}
		}
	}
	// Few output pixels: the product the other way round (see small).
	if !pointwise || ohw < nr {
		if ohw*3 < (ohw+nr-1)/nr*nr*2 && ohw <= 64 {
			return k.small(rc, x, w, bias, o, n, c, m, geo, pointwise)
		}
	}
	for img0 := range n {
		for gi := range k.group {
			var pa []float32
			if k.pw != nil {
				pa = k.pw[gi].data
			} else {
				t, err := rc.packATemp(k.g, w[gi*mg*kk:(gi+1)*mg*kk], kk, false, mg, kk, 1)
				if err != nil {
					return err
				}
				defer rc.release(t)
				pa = t.Data.([]float32)
			}
			xg := x[(img0*c+gi*cg)*hw : (img0*c+(gi+1)*cg)*hw]
			og := o[(img0*m+gi*mg)*ohw : (img0*m+(gi+1)*mg)*ohw]
			var bm kernels.BMatrix
			if pointwise {
				bm = kernels.BMatrix{Data: xg, Stride: hw}
			} else {
				ic := geo
				ic.X = xg
				bm = kernels.BMatrix{Im2col: &ic}
			}
			m0 := gi * mg
			var epi func(r0, r1, c0, c1 int)
			if bias != nil || len(k.epi) > 0 {
				epi = func(r0, r1, c0, c1 int) {
					for r := r0; r < r1; r++ {
						row := og[r*ohw+c0 : r*ohw+c1]
						if bias != nil {
							kernels.EpiApply(row, kernels.EpiAdd, bias[m0+r], 0)
						}
						k.epi.apply(row, m0+r)
					}
				}
			}
			if offs != nil {
				im, pad := img, true
				if inPlace {
					im, pad = x[(img0*c+gi*cg)*hw:], false
				}
				if wide {
					k.wide(rc, geo, xg, im, pad, offs, hp, wp, pa, mg, og, wideOut, wideLen, wideRow, epi)
				} else {
					k.direct(rc, geo, xg, im, pad, offs, hp, wp, pa, mg, og, epi)
				}
				continue
			}
			if pointwise && ohw >= 4*nr && kk <= 64 {
				k.pointwise(rc, xg, pa, mg, kk, ohw, og, bm, epi)
				continue
			}
			rc.sgemmEpi(k.g, mg, ohw, kk, pa, bm, og, ohw, false, epi)
		}
	}
	return nil
}

// pointwise computes a 1×1 convolution reading the input in place (row p
// of B is input channel p), without packing B: ConvRows over the whole
// tiles of NR pixels, the GEMM for the last few. Used for few input
// channels: with many, reading that many rows at once is slower than
// packing them.
func (k *conv) pointwise(rc *runCtx, xg, pa []float32, mg, kk, ohw int, og []float32, bm kernels.BMatrix, epi func(r0, r1, c0, c1 int)) {
	nr := k.g.NR()
	offs := make([]int, kk)
	for p := range offs {
		offs[p] = p * ohw
	}
	bulk := ohw / nr * nr
	// Blocks of whole tiles, of about 64 KiB of output (an output that
	// fits in L2 in one block: the epilogue's calls, per row and block,
	// cost more than the cache misses they save).
	per := max(nr, (epiBlock(mg*ohw)/max(mg, 1))/nr*nr)
	if th := rc.e.pool.Threads(); th > 1 {
		per = max(nr, min(per, bulk/(2*th)/nr*nr))
	}
	blocks := (bulk + per - 1) / per
	rc.parWork(blocks+1, mg*ohw*kk/16, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			c0, c1 := b*per, min((b+1)*per, bulk)
			if b == blocks { // the tail
				c0, c1 = bulk, ohw
				if c0 == c1 {
					continue
				}
				k.g.Mul(mg, ohw, kk, pa, bm, og, ohw, 0, mg, c0, c1, false)
			} else {
				k.g.ConvRows(mg, pa, xg[c0:], offs, 0, c1-c0, og[c0:], ohw, 0, 1, false)
			}
			if epi != nil {
				epi(0, mg, c0, c1)
			}
		}
	})
}

// small computes a convolution with few output pixels (ohw, say 1 to 64,
// less than the GEMM's NR): as Cᵀ = colᵀ·Wᵀ, the pixels being the rows of
// the product and the filters its columns, so that the tiles are not
// mostly padding; a single pixel is a matrix-vector product.
func (k *conv) small(rc *runCtx, x, w, bias, o []float32, n, c, m int, geo kernels.Im2col, pointwise bool) error {
	cg, mg := c/k.group, m/k.group
	hw, ohw := geo.H*geo.W, geo.OH*geo.OW
	kk := cg * geo.KH * geo.KW
	g := k.g
	if ohw > 1 && k.pw != nil { // constant weights: pack them once
		k.pwTOnce.Do(func() {
			pw := make([]*packedMat, k.group)
			for gi := range pw {
				pw[gi] = packB(g, w[gi*mg*kk:(gi+1)*mg*kk], kk, true, kk, mg)
			}
			k.pwT = pw
		})
	}
	tmp, err := rc.alloc(onnx.Float, []int{max(g.PackedASize(ohw, kk), kk) + ohw*mg})
	if err != nil {
		return err
	}
	defer rc.release(tmp)
	buf := tmp.Data.([]float32)
	pa, ct := buf[:len(buf)-ohw*mg], buf[len(buf)-ohw*mg:]
	for img0 := range n {
		for gi := range k.group {
			xg := x[(img0*c+gi*cg)*hw : (img0*c+(gi+1)*cg)*hw]
			og := o[(img0*m+gi*mg)*ohw : (img0*m+(gi+1)*mg)*ohw]
			wg := w[gi*mg*kk : (gi+1)*mg*kk]
			switch {
			case ohw == 1:
				// One pixel: the column of the image it reads, times W.
				col := pa[:kk]
				if pointwise {
					copy(col, xg)
				} else {
					ic := geo
					ic.X = xg
					ic.Fill(col, 0, kk)
				}
				rc.gemv(col, wg, kk, true, kk, mg, og, false)
			default:
				if pointwise {
					g.PackA(pa, xg, hw, true, ohw, kk, 1)
				} else {
					ic := geo
					ic.X = xg
					g.PackIm2colA(pa, &ic)
				}
				bm := kernels.BMatrix{Data: wg, Stride: kk, Trans: true}
				if k.pwT != nil {
					bm = kernels.BMatrix{Data: k.pwT[gi].data, Packed: true}
				}
				rc.sgemm(g, ohw, mg, kk, pa, bm, ct, mg, false)
				for j := range mg {
					for i := range ohw {
						og[j*ohw+i] = ct[i*mg+j]
					}
				}
			}
			for j := range mg {
				row := og[j*ohw : (j+1)*ohw]
				if bias != nil {
					kernels.EpiApply(row, kernels.EpiAdd, bias[gi*mg+j], 0)
				}
				k.epi.apply(row, gi*mg+j)
			}
		}
	}
	return nil
}

// direct computes one group of one image with ConvRows on img, then
// applies epi, block of rows by block of rows. With pad, img is the
// buffer of the padded copy of xg (phase planes for a stride along the
// width), written here first; without, it is the input itself.
func (k *conv) direct(rc *runCtx, geo kernels.Im2col, xg, img []float32, pad bool, offs []int, hp, wp int, pa []float32, mg int, og []float32, epi func(r0, r1, c0, c1 int)) {
	cg := geo.C
	switch {
	case !pad: // img is the input, read in place
	case geo.SW > 1:
		rc.parWork(cg, cg*geo.SW*hp*wp, func(lo, hi int) { padPhases(img, xg, &geo, hp, wp, lo, hi) })
	default:
		rc.parWork(cg, cg*hp*wp, func(lo, hi int) { kernels.PadImage(img, xg, geo.H, geo.W, hp, wp, geo.PT, geo.PL, lo, hi) })
	}
	ohw := geo.OH * geo.OW
	rows := func(lo, hi int) {
		k.g.ConvRows(mg, pa, img, offs, geo.SH*wp, geo.OW, og, ohw, lo, hi, false)
		if epi != nil {
			epi(0, mg, lo*geo.OW, hi*geo.OW)
		}
	}
	// Blocks of output rows of about 64 KiB of output (see epiBlock).
	per := max(1, epiBlock(mg*ohw)/max(mg*geo.OW, 1))
	if th := rc.e.pool.Threads(); th > 1 {
		// Enough blocks for every thread to have a couple.
		per = max(1, min(per, geo.OH/(2*th)))
	}
	blocks := (geo.OH + per - 1) / per
	rc.parWork(blocks, mg*ohw*len(offs)/16, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			rows(b*per, min((b+1)*per, geo.OH))
		}
	})
}

// padPhases writes channels [c0, c1) of x (ic.C channels of H×W) into img
// as the zero-padded image direct reads for a stride s = ic.SW > 1 along
// the width: per channel, s phase planes of hp rows × wp columns, phase
// q's column j holding padded column j·s+q (input column j·s+q-PL) of
// padded row r (input row r-PT), zeros outside the input.
func padPhases(img, x []float32, ic *kernels.Im2col, hp, wp, c0, c1 int) {
	s := ic.SW
	for c := c0; c < c1; c++ {
		src := x[c*ic.H*ic.W : (c+1)*ic.H*ic.W]
		for q := range s {
			plane := img[(c*s+q)*hp*wp : (c*s+q+1)*hp*wp]
			// Columns j whose input column j·s+q-PL is in [0, W).
			jLo := min((max(ic.PL-q, 0)+s-1)/s, wp)
			jHi := jLo
			if last := ic.W - 1 + ic.PL - q; last >= 0 {
				jHi = max(min(last/s+1, wp), jLo)
			}
			for r := range hp {
				row := plane[r*wp : (r+1)*wp]
				y := r - ic.PT
				if y < 0 || y >= ic.H {
					clear(row)
					continue
				}
				clear(row[:jLo])
				in := src[y*ic.W : (y+1)*ic.W]
				d := row[jLo:jHi]
				xi := jLo*s + q - ic.PL
				if s == 2 && len(d) > 0 {
					in := in[xi : xi+2*len(d)-1]
					for j := range d {
						d[j] = in[2*j]
					}
				} else {
					for j := range d {
						d[j] = in[xi]
						xi += s
					}
				}
				clear(row[jHi:])
			}
		}
	}
}

// wide computes one group of one image (strides of 1) as rows of wideRow
// columns over the padded image laid out flat: output pixel (oy, ox) is
// flat position oy·wp + ox; the positions past OW in each padded row are
// computed and dropped. With pad, the padded copy of xg is written into
// img first; without, img is the input itself.
func (k *conv) wide(rc *runCtx, geo kernels.Im2col, xg, img []float32, pad bool, offs []int, hp, wp int, pa []float32, mg int, og, out []float32, length, row int, epi func(r0, r1, c0, c1 int)) {
	cg := geo.C
	if pad { // else img is the input, read in place
		rc.parWork(cg, cg*hp*wp, func(lo, hi int) { kernels.PadImage(img, xg, geo.H, geo.W, hp, wp, geo.PT, geo.PL, lo, hi) })
	}
	rows := (length + row - 1) / row
	ldc := rows * row
	rc.parWork(rows, mg*ldc*len(offs)/16, func(lo, hi int) {
		k.g.ConvRows(mg, pa, img, offs, row, row, out, ldc, lo, hi, false)
	})
	ohw := geo.OH * geo.OW
	rc.parWork(mg, mg*ohw, func(lo, hi int) {
		for m := lo; m < hi; m++ {
			for oy := range geo.OH {
				copy(og[m*ohw+oy*geo.OW:m*ohw+(oy+1)*geo.OW], out[m*ldc+oy*wp:m*ldc+oy*wp+geo.OW])
			}
			if epi != nil {
				epi(m, m+1, 0, ohw)
			}
		}
	})
}

// convTranspose is ConvTranspose on float32 in 1 or 2 spatial dimensions:
// the GEMM of the transposed weights and the input, then col2im.
type convTranspose struct {
	win         window
	group       int
	outPad      []int
	outputShape []int
	g           *kernels.Sgemm
	pw          []*packedMat
	epi         epilogue // fused elementwise nodes (see fuse.go)
}

func newConvTranspose(nc *nodeCtx) (kernel, error) {
	w, err := readWindow(nc.a)
	if err != nil {
		return nil, err
	}
	k := &convTranspose{win: w, group: nc.a.intIn("group", 1, 1, 1<<20), g: kernels.CurrentSgemm()}
	k.outPad, _ = nc.a.smallInts("output_padding", 0, 1<<16)
	k.outputShape, _ = nc.a.smallInts("output_shape", 0, 1<<24)
	if wt := nc.konst(1); wt != nil && wt.Type == onnx.Float && len(wt.Shape) >= 3 && len(wt.Shape) <= 4 {
		c := wt.Shape[0]
		if c%k.group != 0 {
			return nil, fmt.Errorf("ConvTranspose of %d input channels in %d groups", c, k.group)
		}
		cg := c / k.group
		rows := numel(wt.Shape[1:]) // mg·kh·kw
		d := wt.Data.([]float32)
		for gi := range k.group {
			k.pw = append(k.pw, packA(k.g, d[gi*cg*rows:(gi+1)*cg*rows], rows, true, rows, cg, 1))
		}
	}
	return k, nil
}

func (k *convTranspose) infer(in, out []vinfo) error {
	out[0].typ = in[0].typ
	if in[0].rank >= 0 && (in[0].rank < 3 || in[0].rank > 4) {
		return fmt.Errorf("%w: ConvTranspose with %d spatial dimensions", ErrUnsupported, in[0].rank-2)
	}
	return nil
}

// geometry returns the output size and the padding at the start.
func (k *convTranspose) geometry(in, kern []int) (out, padBegin, stride, dil []int, err error) {
	r := len(in)
	out, padBegin = make([]int, r), make([]int, r)
	stride, dil = make([]int, r), make([]int, r)
	for _, s := range [][]int{k.win.strides, k.win.dilations, k.outPad} {
		if s != nil && len(s) != r {
			return nil, nil, nil, nil, fmt.Errorf("ConvTranspose attribute %v for %d spatial dimensions", s, r)
		}
	}
	if k.outputShape != nil && len(k.outputShape) != r && len(k.outputShape) != r+2 {
		return nil, nil, nil, nil, fmt.Errorf("ConvTranspose output_shape %v for %d spatial dimensions", k.outputShape, r)
	}
	if k.win.pads != nil && len(k.win.pads) != 2*r {
		return nil, nil, nil, nil, fmt.Errorf("ConvTranspose pads %v for %d spatial dimensions", k.win.pads, r)
	}
	for i := range r {
		stride[i], dil[i] = 1, 1
		if k.win.strides != nil {
			stride[i] = k.win.strides[i]
		}
		if k.win.dilations != nil {
			dil[i] = k.win.dilations[i]
		}
		op := 0
		if k.outPad != nil {
			op = k.outPad[i]
		}
		full := stride[i]*(in[i]-1) + op + (kern[i]-1)*dil[i] + 1
		switch {
		case k.outputShape != nil:
			os := k.outputShape[len(k.outputShape)-r+i]
			total := full - os
			if total < 0 {
				return nil, nil, nil, nil, fmt.Errorf("ConvTranspose output_shape %v too large", k.outputShape)
			}
			out[i] = os
			if k.win.autoPad == "SAME_UPPER" {
				padBegin[i] = total / 2
			} else {
				padBegin[i] = total - total/2
			}
		case k.win.autoPad == "SAME_UPPER" || k.win.autoPad == "SAME_LOWER":
			out[i] = in[i] * stride[i]
			total := max(full-out[i], 0)
			if k.win.autoPad == "SAME_UPPER" {
				padBegin[i] = total / 2
			} else {
				padBegin[i] = total - total/2
			}
		default:
			pb, pe := 0, 0
			if k.win.pads != nil {
				pb, pe = k.win.pads[i], k.win.pads[r+i]
			}
			out[i] = full - pb - pe
			padBegin[i] = pb
			if out[i] < 0 {
				return nil, nil, nil, nil, fmt.Errorf("ConvTranspose pads %v larger than the output", k.win.pads)
			}
		}
	}
	return out, padBegin, stride, dil, nil
}

func (k *convTranspose) run(rc *runCtx, in, out []*Tensor) error {
	x, w := in[0], in[1]
	if x.Type != onnx.Float || w.Type != onnx.Float {
		return fmt.Errorf("%w: ConvTranspose of %v and %v", ErrUnsupported, x.Type, w.Type)
	}
	r := len(x.Shape)
	if r < 3 || r > 4 || len(w.Shape) != r {
		return fmt.Errorf("%w: ConvTranspose of %v input and %v weights", ErrUnsupported, x.Shape, w.Shape)
	}
	n, c := x.Shape[0], x.Shape[1]
	if w.Shape[0] != c || c%k.group != 0 {
		return fmt.Errorf("ConvTranspose of %v input and %v weights in %d groups", x.Shape, w.Shape, k.group)
	}
	cg, mg := c/k.group, w.Shape[1]
	m := mg * k.group
	kern := w.Shape[2:]
	if k.win.kernel != nil && !slices.Equal(k.win.kernel, kern) {
		return fmt.Errorf("ConvTranspose kernel_shape %v for weights %v", k.win.kernel, w.Shape)
	}
	osz, pb, stride, dil, err := k.geometry(x.Shape[2:], kern)
	if err != nil {
		return err
	}
	var bias []float32
	if len(in) > 2 && in[2] != nil {
		b, ok := in[2].Data.([]float32)
		if !ok || len(b) != m {
			return fmt.Errorf("ConvTranspose bias %v for %d channels", in[2], m)
		}
		bias = b
	}
	o, err := rc.alloc(onnx.Float, append([]int{n, m}, osz...))
	if err != nil {
		return err
	}
	out[0] = o
	// 2-D view of the geometry.
	H, W := as2D(x.Shape[2:])
	OH, OW := as2D(osz)
	KH, KW := as2D(kern)
	SH, SW := as2D(stride)
	DH, DW := as2D(dil)
	PT, PL := as2D(pb)
	if r == 3 {
		SH, DH, PT = 1, 1, 0
	}
	hw, ohw := H*W, OH*OW
	rows := mg * KH * KW
	colT, err := rc.alloc(onnx.Float, []int{rows, hw})
	if err != nil {
		return err
	}
	defer rc.release(colT)
	col := colT.Data.([]float32)
	xd, wd, od := x.Data.([]float32), w.Data.([]float32), o.Data.([]float32)
	for img := range n {
		for gi := range k.group {
			var pa []float32
			if k.pw != nil {
				pa = k.pw[gi].data
			} else {
				t, err := rc.packATemp(k.g, wd[gi*cg*rows:(gi+1)*cg*rows], rows, true, rows, cg, 1)
				if err != nil {
					return err
				}
				defer rc.release(t)
				pa = t.Data.([]float32)
			}
			xg := xd[(img*c+gi*cg)*hw : (img*c+(gi+1)*cg)*hw]
			rc.sgemm(k.g, rows, hw, cg, pa, kernels.BMatrix{Data: xg, Stride: hw}, col, hw, false)
			og := od[(img*m+gi*mg)*ohw : (img*m+(gi+1)*mg)*ohw]
			// col2im: scatter-add every row of col into its output channel,
			// in blocks of output rows (a channel or two would leave the
			// other threads idle). Each output value still receives its
			// terms in (ky, kx) order, whatever the blocks.
			rb := 1
			if th := rc.e.pool.Threads(); th > 1 && mg < 4*th {
				rb = min(OH, (4*th+mg-1)/mg)
			}
			per := (OH + rb - 1) / rb
			rb = (OH + per - 1) / per
			rc.parWork(mg*rb, mg*ohw*KH*KW, func(lo, hi int) {
				for u := lo; u < hi; u++ {
					ch, oy0 := u/rb, u%rb*per
					oy1 := min(oy0+per, OH)
					dst := og[ch*ohw : (ch+1)*ohw]
					blk := dst[oy0*OW : oy1*OW]
					var b float32
					if bias != nil {
						b = bias[gi*mg+ch]
					}
					for i := range blk {
						blk[i] = b
					}
					for ky := range KH {
						for kx := range KW {
							src := col[((ch*KH+ky)*KW+kx)*hw:]
							for iy := range H {
								oy := iy*SH - PT + ky*DH
								if oy < oy0 || oy >= oy1 {
									continue
								}
								drow := dst[oy*OW : (oy+1)*OW]
								srow := src[iy*W : (iy+1)*W]
								for ix, v := range srow {
									ox := ix*SW - PL + kx*DW
									if ox >= 0 && ox < OW {
										drow[ox] += v
									}
								}
							}
						}
					}
					k.epi.apply(blk, gi*mg+ch)
				}
			})
		}
	}
	return nil
}
