package exec

import (
	"fmt"
	"slices"
	"sync"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/onnx"
)

func init() {
	register("QLinearConv", 8, 9, 1, newQLinearConv)
}

// convInteger is ConvInteger, QLinearConv, and ConvInteger fused with the
// Cast and Mul of dynamic quantization (float output, with an epilogue):
// im2col blocks of the quantized image times the quantized weights on
// kernels.QGemm (see qgemm.go).
type convInteger struct {
	win   window
	group int
	g     *kernels.QGemm
	// qlinear: QLinearConv (inputs x, x_scale, x_zp, w, w_scale, w_zp,
	// y_scale, y_zp, bias).
	qlinear bool
	// float: fused dynamic quantization; the output is float32(sum) times
	// the per-channel scale in input scaleIn, then epi.
	float   bool
	scaleIn int
	epi     epilogue

	constW bool // the weights and their zero point are constants
	once   sync.Once
	pw     []*qweights // constant weights packed per group, on first use
	werr   error
	// dw holds constant depthwise weights minus their zero points (see
	// depthwise), on first use.
	dwOnce sync.Once
	dw     []float32
	dwErr  error
}

func newConvInteger(nc *nodeCtx) (kernel, error) {
	w, err := readWindow(nc.a)
	if err != nil {
		return nil, err
	}
	k := &convInteger{win: w, group: nc.a.intIn("group", 1, 1, 1<<20), g: kernels.CurrentQGemm()}
	k.constW = nc.konst(1) != nil && (!nc.hasIn(3) || nc.konst(3) != nil)
	return k, nil
}

func newQLinearConv(nc *nodeCtx) (kernel, error) {
	k, err := newConvInteger(nc)
	if err != nil {
		return nil, err
	}
	ck := k.(*convInteger)
	ck.qlinear = true
	ck.constW = nc.konst(3) != nil && nc.konst(5) != nil
	return k, nil
}

// inputs of the two forms.
func (k *convInteger) operands(in []*Tensor) (x, w, xzp, wzp *Tensor) {
	at := func(i int) *Tensor {
		if i < len(in) {
			return in[i]
		}
		return nil
	}
	if k.qlinear {
		return at(0), at(3), at(2), at(5)
	}
	return at(0), at(1), at(2), at(3)
}

// operandShapes returns the shapes of the image and the weights (for
// profiles); nil when absent.
func (k *convInteger) operandShapes(in []*Tensor) (x, w []int) {
	xt, wt, _, _ := k.operands(in)
	if xt != nil {
		x = xt.Shape
	}
	if wt != nil {
		w = wt.Shape
	}
	return x, w
}

func (k *convInteger) infer(in, out []vinfo) error {
	switch {
	case k.float:
		out[0].typ = onnx.Float
	case k.qlinear:
		out[0].typ = in[7].typ
	default:
		out[0].typ = onnx.Int32
	}
	x, w := in[0], in[1]
	if k.qlinear {
		w = in[3]
	}
	if x.rank >= 0 && (x.rank < 3 || x.rank > 4) {
		return fmt.Errorf("%w: ConvInteger with %d spatial dimensions", ErrUnsupported, x.rank-2)
	}
	r := x.rank
	if r < 0 {
		r = w.rank
	}
	if r < 3 {
		return nil
	}
	out[0].rank = r
	out[0].shape = make([]int, r)
	for i := range out[0].shape {
		out[0].shape[i] = -1
	}
	if x.rank == r {
		out[0].shape[0] = x.shape[0]
	}
	if w.rank == r {
		out[0].shape[1] = w.shape[0]
	}
	if x.known() && w.known() && x.rank == w.rank {
		g, err := k.win.resolve(x.shape[2:], w.shape[2:], false)
		if err != nil {
			return err
		}
		copy(out[0].shape[2:], g.out)
	}
	return nil
}

// channels and addEpilogue make a fused (float) convInteger an
// epilogueHost.
func (k *convInteger) channels(n *node, b *builder) int {
	if !k.float {
		return -1
	}
	w := b.e.values[n.in[1]].info
	if w.rank >= 1 && w.shape[0] > 0 {
		return w.shape[0]
	}
	return -1
}

func (k *convInteger) addEpilogue(op epiOp) { k.epi = k.epi.add(op) }

// weights returns the packed weights of each group: packed once when they
// and their zero point are constants (the first run packs them), else
// for this run.
func (k *convInteger) weights(w, wzp *Tensor, constant bool, m, kk int) ([]*qweights, error) {
	pack := func() ([]*qweights, error) {
		wb, flip, err := bytesOf(w, true)
		if err != nil {
			return nil, err
		}
		zp, err := zeroPointVals(wzp, w, "w")
		if err != nil {
			return nil, err
		}
		if len(zp) > 1 && len(zp) != m {
			return nil, fmt.Errorf("%d weight zero points for %d filters", len(zp), m)
		}
		mg := m / k.group
		out := make([]*qweights, k.group)
		for gi := range out {
			var z []int64
			switch len(zp) {
			case 0:
			case 1:
				z = zp
			default:
				z = zp[gi*mg : (gi+1)*mg]
			}
			out[gi] = packWeights(k.g, wb[gi*mg*kk:(gi+1)*mg*kk], kk, mg, kk, z, flip)
		}
		return out, nil
	}
	if !constant {
		return pack()
	}
	k.once.Do(func() { k.pw, k.werr = pack() })
	return k.pw, k.werr
}

func (k *convInteger) run(rc *runCtx, in, out []*Tensor) error {
	x, w, xzpT, wzpT := k.operands(in)
	if x == nil || w == nil {
		return fmt.Errorf("%w: ConvInteger without input or weights", onnx.ErrFormat)
	}
	xb, xflip, err := bytesOf(x, false)
	if err != nil {
		return err
	}
	r := len(x.Shape)
	if r < 3 || r > 4 || len(w.Shape) != r {
		return fmt.Errorf("%w: ConvInteger of %v and %v", ErrUnsupported, x.Shape, w.Shape)
	}
	n, c, m := x.Shape[0], x.Shape[1], w.Shape[0]
	if c%k.group != 0 || m%k.group != 0 || w.Shape[1] != c/k.group {
		return fmt.Errorf("ConvInteger of %v and %v in %d groups", x.Shape, w.Shape, k.group)
	}
	kern := w.Shape[2:]
	if k.win.kernel != nil && !slices.Equal(k.win.kernel, kern) {
		return fmt.Errorf("ConvInteger kernel_shape %v for weights %v", k.win.kernel, w.Shape)
	}
	geo, err := k.win.resolve(x.Shape[2:], kern, false)
	if err != nil {
		return err
	}
	xzp, err := zeroPointVals(xzpT, x, "x")
	if err != nil {
		return err
	}
	if len(xzp) > 1 {
		return fmt.Errorf("%w: ConvInteger x_zero_point of %d values", ErrUnsupported, len(xzp))
	}
	var pad byte // the zero point, in x's own encoding: padding adds nothing
	if len(xzp) == 1 {
		pad = byte(xzp[0])
	}
	zb := []int32{int32(pad ^ xflip)}
	ic := imageGeometry(geo)
	cg, mg := c/k.group, m/k.group
	kk := cg * ic.KH * ic.KW
	depthwise := cg == 1 && mg == 1 && k.group > 1 && kk <= maxDepthwiseTaps
	var pw []*qweights
	var dw []float32
	if depthwise {
		dw, err = k.depthwiseWeights(w, wzpT, k.constW && !rc.fold, m, kk)
	} else {
		pw, err = k.weights(w, wzpT, k.constW && !rc.fold, m, kk)
	}
	if err != nil {
		return err
	}
	oshape := append([]int{n, m}, geo.out...)
	ep := &qepi{}
	switch {
	case k.float:
		ep.kind = qoutFloat
		s := in[k.scaleIn]
		sv, ok := s.Data.([]float32)
		if !ok || (len(sv) != 1 && len(sv) != m) {
			return fmt.Errorf("fused ConvInteger scale %v for %d channels", s, m)
		}
		ep.scale = make([]float32, m)
		for i := range ep.scale {
			ep.scale[i] = sv[min(i, len(sv)-1)]
		}
		o, err := rc.alloc(onnx.Float, oshape)
		if err != nil {
			return err
		}
		out[0] = o
		ep.f32 = o.Data.([]float32)
		ep.epi = k.epi
	case k.qlinear:
		if err := k.qlinearOut(rc, in, ep, m, oshape, out); err != nil {
			return err
		}
	default:
		ep.kind = qoutInt32
		o, err := rc.alloc(onnx.Int32, oshape)
		if err != nil {
			return err
		}
		out[0] = o
		ep.i32 = o.Data.([]int32)
	}
	hw, ohw := ic.H*ic.W, ic.OH*ic.OW
	pointwise := ic.KH == 1 && ic.KW == 1 && ic.SH == 1 && ic.SW == 1 && ic.PT == 0 && ic.PL == 0 && ic.OH == ic.H && ic.OW == ic.W
	ep.rowStride, ep.colStride = ohw, 1
	if depthwise {
		ic.C = 1
		return k.depthwise(rc, xb, xflip, pad, dw, ep, n, c, &ic)
	}
	for img := range n {
		for gi := range k.group {
			xg := xb[(img*c+gi*cg)*hw : (img*c+(gi+1)*cg)*hw]
			g0 := gi * mg
			epg := *ep
			if epg.scale != nil {
				epg.scale = ep.scale[g0 : g0+mg]
			}
			if epg.ibias != nil {
				epg.ibias = ep.ibias[g0 : g0+mg]
			}
			epg.epiChannel = func(r int) int { return g0 + r }
			q := &qproduct{g: k.g, w: pw[gi], m: mg, n: ohw, k: kk, zb: zb, out: &epg, outOff: (img*m + g0) * ohw}
			scratchRows := kk
			if pointwise {
				scratchRows = 0
				q.fillB = func(pb, _ []byte, c0, nb int, sums []int32) {
					k.g.PackB(pb, xg, hw, kk, c0, nb, xflip, sums)
				}
			} else {
				q.fillB = func(pb, scratch []byte, c0, nb int, sums []int32) {
					if !im2colU8(scratch, nb, xg, &ic, cg, c0, nb, pad, rc.stopped) {
						return
					}
					k.g.PackB(pb, scratch, nb, kk, 0, nb, xflip, sums)
				}
			}
			q.run(rc, scratchRows)
		}
	}
	return nil
}

// maxDepthwiseTaps bounds the window of the depthwise path: it sums the
// products of centred values (each at most 255·255 in magnitude) in
// float32, which is exact while every partial sum stays below 2²⁴, that is
// for up to 2²⁴/255² = 258 taps.
const maxDepthwiseTaps = 256

// depthwiseWeights returns the weights of a depthwise convolution (one
// filter of kk taps per channel) minus their zero point, as float32:
// computed once when they are constants.
func (k *convInteger) depthwiseWeights(w, wzp *Tensor, constant bool, m, kk int) ([]float32, error) {
	centre := func() ([]float32, error) {
		wb, flip, err := bytesOf(w, true)
		if err != nil {
			return nil, err
		}
		zp, err := zeroPointVals(wzp, w, "w")
		if err != nil {
			return nil, err
		}
		if len(zp) > 1 && len(zp) != m {
			return nil, fmt.Errorf("%d weight zero points for %d filters", len(zp), m)
		}
		if len(wb) < m*kk {
			return nil, fmt.Errorf("ConvInteger weights of %d values for %d filters of %d", len(wb), m, kk)
		}
		out := make([]float32, m*kk)
		for ch := range m {
			var z int32
			switch len(zp) {
			case 0:
			case 1:
				z = int32(int8(byte(zp[0]) ^ flip))
			default:
				z = int32(int8(byte(zp[ch]) ^ flip))
			}
			for t := range kk {
				out[ch*kk+t] = float32(int32(int8(wb[ch*kk+t]^flip)) - z)
			}
		}
		return out, nil
	}
	if !constant {
		return centre()
	}
	k.dwOnce.Do(func() { k.dw, k.dwErr = centre() })
	return k.dw, k.dwErr
}

// depthwise computes a depthwise convolution (one input and one output
// channel per group) directly: each channel, minus the zero point, as
// float32 (exact: see maxDepthwiseTaps), through the float depthwise
// kernel, whose sums are then the exact integer sums; the channels are
// split across the worker pool. dw holds the centred weights, ic the
// geometry of one channel.
func (k *convInteger) depthwise(rc *runCtx, xb []byte, xflip, pad byte, dw []float32, ep *qepi, n, c int, ic *kernels.Im2col) error {
	hw, ohw, kk := ic.H*ic.W, ic.OH*ic.OW, ic.KH*ic.KW
	if len(xb) < n*c*hw {
		return fmt.Errorf("ConvInteger input of %d values for %d channels of %d", len(xb), n*c, hw)
	}
	// The centred value of every input byte.
	var lut [256]float32
	z := int32(pad ^ xflip)
	for b := range lut {
		lut[b] = float32(int32(byte(b)^xflip) - z)
	}
	tmp, err := rc.alloc(onnx.Float, []int{n * c * (hw + ohw)})
	if err != nil {
		return err
	}
	defer rc.release(tmp)
	buf := tmp.Data.([]float32)
	xf, of := buf[:n*c*hw], buf[n*c*hw:]
	units := n * c
	// Cycles per channel: the taps (SIMD), converting the input and
	// storing the output.
	work := units * (ohw*kk/8 + 2*hw + 4*ohw)
	rc.parWork(units, work, func(lo, hi int) {
		for lo < hi {
			img := lo / c
			c0, c1 := lo-img*c, min(hi-img*c, c)
			xi := xf[img*c*hw : (img+1)*c*hw]
			oi := of[img*c*ohw : (img+1)*c*ohw]
			src := xb[img*c*hw : (img+1)*c*hw]
			for i, b := range src[c0*hw : c1*hw] {
				xi[c0*hw+i] = lut[b]
			}
			kernels.DepthwiseConv2DChannels(oi, xi, ic, dw, nil, c0, c1, func(ch int) {
				ep.storeChannel(oi[ch*ohw:(ch+1)*ohw], ch, (img*c+ch)*ohw)
			})
			lo += c1 - c0
		}
	})
	return nil
}

// qlinearOut prepares QLinearConv's output: the requantizing scales
// (x_scale·w_scale/y_scale, per filter), the int32 bias and the output
// zero point.
func (k *convInteger) qlinearOut(rc *runCtx, in []*Tensor, ep *qepi, m int, oshape []int, out []*Tensor) error {
	xs, err := scalarF32(in[1], "x_scale")
	if err != nil {
		return err
	}
	ws, ok := in[4].Data.([]float32)
	if !ok || (len(ws) != 1 && len(ws) != m) {
		return fmt.Errorf("w_scale %v for %d filters", in[4], m)
	}
	ys, err := scalarF32(in[6], "y_scale")
	if err != nil {
		return err
	}
	yzp := in[7]
	zy, err := intsOf(yzp)
	if err != nil || len(zy) != 1 {
		return fmt.Errorf("y_zero_point must be one integer")
	}
	ep.kind = qoutQuant
	ep.scale = make([]float32, m)
	for i := range ep.scale {
		ep.scale[i] = xs * ws[min(i, len(ws)-1)] / ys
	}
	ep.qzp = float32(zy[0])
	switch yzp.Type {
	case onnx.Uint8:
		ep.qlo, ep.qhi = 0, 255
	case onnx.Int8:
		ep.qlo, ep.qhi = -128, 127
	default:
		return fmt.Errorf("%w: QLinearConv output of %v", ErrUnsupported, yzp.Type)
	}
	if len(in) > 8 && in[8] != nil {
		b, ok := in[8].Data.([]int32)
		if !ok || len(b) != m {
			return fmt.Errorf("QLinearConv bias %v for %d filters", in[8], m)
		}
		ep.ibias = b
	}
	o, err := rc.alloc(yzp.Type, oshape)
	if err != nil {
		return err
	}
	out[0] = o
	ep.q8, _, _ = bytesOf(o, false)
	return nil
}

// im2colU8 writes columns [c0, c0+nb) of the im2col matrix of the
// quantized image x (cg channels; padding reads pad) into dst, one row of
// ldd bytes per (channel, ky, kx). It checks stop every few thousand rows
// (a huge kernel makes a long matrix) and returns false if it stopped.
func im2colU8(dst []byte, ldd int, x []byte, ic *kernels.Im2col, cg, c0, nb int, pad byte, stop func() bool) bool {
	H, W := ic.H, ic.W
	p := 0
	for ch := range cg {
		plane := x[ch*H*W : (ch+1)*H*W]
		for ky := range ic.KH {
			for kx := range ic.KW {
				row := dst[p*ldd : p*ldd+nb]
				p++
				if p%4096 == 0 && stop() {
					return false
				}
				oy, ox := c0/ic.OW, c0%ic.OW
				dy, dx := ky*ic.DH-ic.PT, kx*ic.DW-ic.PL
				for i := 0; i < nb; {
					cnt := min(ic.OW-ox, nb-i)
					seg := row[i : i+cnt]
					y := oy*ic.SH + dy
					if y < 0 || y >= H {
						fillBytes(seg, pad)
					} else {
						src := plane[y*W : (y+1)*W]
						xx := ox*ic.SW + dx
						if ic.SW == 1 {
							lo := min(max(-xx, 0), cnt)
							hi := max(min(W-xx, cnt), lo)
							fillBytes(seg[:lo], pad)
							if lo < hi {
								copy(seg[lo:hi], src[xx+lo:xx+hi])
							}
							fillBytes(seg[hi:], pad)
						} else {
							for j := range seg {
								if xx >= 0 && xx < W {
									seg[j] = src[xx]
								} else {
									seg[j] = pad
								}
								xx += ic.SW
							}
						}
					}
					i += cnt
					ox = 0
					oy++
				}
			}
		}
	}
	return true
}

func fillBytes(b []byte, v byte) {
	if v == 0 {
		clear(b)
		return
	}
	for i := range b {
		b[i] = v
	}
}
