package kernels

// Convolution helpers of the ONNX executor: the im2col matrix of a 2-D
// convolution, which Sgemm.Mul can pack straight from the image (so the
// matrix is never stored whole), and a direct depthwise convolution.

// Im2col describes the im2col matrix of one image and one group of input
// channels of a 2-D convolution: the K×N matrix whose row p = (c·KH+ky)·KW+kx
// and column j = oy·OW+ox hold
//
//	X[c][oy·SH - PT + ky·DH][ox·SW - PL + kx·DW]   (0 outside the image)
//
// so that the convolution is W (M×K) times it.
type Im2col struct {
	X       []float32 // C channels of H×W, back to back
	C, H, W int
	KH, KW  int // kernel
	SH, SW  int // strides
	DH, DW  int // dilations
	PT, PL  int // padding at the top and left
	OH, OW  int // output size
}

// K returns the number of rows (C·KH·KW).
func (ic *Im2col) K() int { return ic.C * ic.KH * ic.KW }

// N returns the number of columns (OH·OW).
func (ic *Im2col) N() int { return ic.OH * ic.OW }

// Fill writes rows [rowLo, rowHi) of the matrix into dst (row-major, N
// columns per row).
func (ic *Im2col) Fill(dst []float32, rowLo, rowHi int) {
	n := ic.N()
	for p := rowLo; p < rowHi; p++ {
		ic.row(dst[(p-rowLo)*n:(p-rowLo+1)*n], p, 0)
	}
}

// row writes columns [c0, c0+len(dst)) of row p into dst.
func (ic *Im2col) row(dst []float32, p, c0 int) {
	kx := p % ic.KW
	ky := (p / ic.KW) % ic.KH
	c := p / (ic.KW * ic.KH)
	plane := ic.X[c*ic.H*ic.W : (c+1)*ic.H*ic.W]
	oy, ox := c0/ic.OW, c0%ic.OW
	dy := ky*ic.DH - ic.PT
	dx := kx*ic.DW - ic.PL
	for i := 0; i < len(dst); {
		// One output row's worth of columns at a time.
		n := min(ic.OW-ox, len(dst)-i)
		y := oy*ic.SH + dy
		seg := dst[i : i+n]
		if y < 0 || y >= ic.H {
			clear(seg)
		} else {
			src := plane[y*ic.W : (y+1)*ic.W]
			x := ox*ic.SW + dx
			if ic.SW == 1 && x >= 0 && x+n <= ic.W {
				copy(seg, src[x:x+n])
			} else {
				for j := range seg {
					if x >= 0 && x < ic.W {
						seg[j] = src[x]
					} else {
						seg[j] = 0
					}
					x += ic.SW
				}
			}
		}
		i += n
		ox = 0
		oy++
	}
}

// im2colRun is a stretch of a B panel's columns that lie in one output row:
// panel columns [j0, j0+n), whose tap (0, 0) reads input row iy, columns
// ix, ix+SW, ...
type im2colRun struct{ j0, n, iy, ix int }

// packIm2colPanel packs rows [k0, k0+kc) of columns [c0, c0+cols) of the
// im2col matrix into dst as a B panel of NR columns (zero-padded). The
// panel's columns are cut into runs of one output row each; the rows of the
// matrix (channel, ky, kx) are walked without divisions, and with a stride
// of 1 each run is one copy between zeros.
func (g *Sgemm) packIm2colPanel(dst []float32, ic *Im2col, k0, kc, c0, cols int) {
	nr := g.nr
	var runs [maxNR]im2colRun
	nrun := 0
	oy, ox := c0/ic.OW, c0%ic.OW
	for j := 0; j < cols; {
		n := min(ic.OW-ox, cols-j)
		runs[nrun] = im2colRun{j0: j, n: n, iy: oy*ic.SH - ic.PT, ix: ox*ic.SW - ic.PL}
		nrun++
		j += n
		ox = 0
		oy++
	}
	H, W := ic.H, ic.W
	kx := k0 % ic.KW
	ky := (k0 / ic.KW) % ic.KH
	c := k0 / (ic.KW * ic.KH)
	for p := range kc {
		d := dst[p*nr : p*nr+nr]
		plane := ic.X[c*H*W : (c+1)*H*W]
		dy, dx := ky*ic.DH, kx*ic.DW
		for _, r := range runs[:nrun] {
			seg := d[r.j0 : r.j0+r.n]
			y := r.iy + dy
			if y < 0 || y >= H {
				clear(seg)
				continue
			}
			row := plane[y*W : (y+1)*W]
			x := r.ix + dx
			if ic.SW == 1 {
				lo := min(max(-x, 0), r.n)
				hi := max(min(W-x, r.n), lo)
				clear(seg[:lo])
				copy(seg[lo:hi], row[x+lo:x+hi])
				clear(seg[hi:])
				continue
			}
			for j := range seg {
				if x >= 0 && x < W {
					seg[j] = row[x]
				} else {
					seg[j] = 0
				}
				x += ic.SW
			}
		}
		clear(d[cols:])
		if kx++; kx == ic.KW {
			kx = 0
			if ky++; ky == ic.KH {
				ky = 0
				c++
			}
		}
	}
}

// DepthwiseConv2D convolves one channel: dst (OH×OW) = bias + x (H×W) ⋆ w
// (KH×KW), with strides, dilations and padding as in Im2col (ic.X is the
// channel, ic.C is 1). Output rows are computed one at a time: the columns
// whose taps all fall inside the image in one pass over the row's valid
// taps (SIMD for a stride of 1 where there is some), the few border
// columns over the taps that fall inside.
func DepthwiseConv2D(dst []float32, ic *Im2col, w []float32, bias float32) {
	oh, ow := ic.OH, ic.OW
	kh, kw := ic.KH, ic.KW
	dst = dst[:oh*ow]
	w = w[:kh*kw]
	x := ic.X[:ic.H*ic.W]
	// The output columns whose taps all fall inside the image: ox in
	// [oxLo, oxHi).
	oxLo := ceilDiv(ic.PL, ic.SW)
	oxHi := 0
	if last := ic.W - 1 - (kw-1)*ic.DW + ic.PL; last >= 0 {
		oxHi = min(ow, last/ic.SW+1)
	}
	oxLo = min(oxLo, oxHi)
	var offBuf [64]int
	var wBuf [64]float32
	offs, ws := offBuf[:0], wBuf[:0]
	if kh*kw > len(offBuf) {
		offs, ws = make([]int, 0, kh*kw), make([]float32, 0, kh*kw)
	}
	if ic.SW == 1 && depthwisePadded(dst, ic, w, bias, offs, ws) {
		return
	}
	for oy := range oh {
		drow := dst[oy*ow : (oy+1)*ow]
		for i := range drow {
			drow[i] = bias
		}
		// The rows of the input this output row reads.
		y0 := oy*ic.SH - ic.PT
		kyLo := min(ceilDiv(-y0, ic.DH), kh)
		kyHi := kh
		if last := ic.H - 1 - y0; last < 0 {
			kyHi = 0
		} else {
			kyHi = min(kh, last/ic.DH+1)
		}
		if kyHi <= kyLo {
			continue
		}
		// Border columns: only the taps inside the image.
		for ox := range ow {
			if ox == oxLo && oxHi > oxLo {
				continue
			}
			if ox > oxLo && ox < oxHi {
				continue
			}
			x0 := ox*ic.SW - ic.PL
			kxLo := min(ceilDiv(-x0, ic.DW), kw)
			kxHi := 0
			if last := ic.W - 1 - x0; last >= 0 {
				kxHi = min(kw, last/ic.DW+1)
			}
			s := drow[ox]
			for ky := kyLo; ky < kyHi; ky++ {
				row := x[(y0+ky*ic.DH)*ic.W:]
				wr := w[ky*kw:]
				for kx := kxLo; kx < kxHi; kx++ {
					s += wr[kx] * row[x0+kx*ic.DW]
				}
			}
			drow[ox] = s
		}
		if oxHi <= oxLo {
			continue
		}
		// The interior: every tap in range. Tap offsets are relative to
		// the input column of output column oxLo.
		offs, ws = offs[:0], ws[:0]
		base := oxLo*ic.SW - ic.PL
		for ky := kyLo; ky < kyHi; ky++ {
			for kx := range kw {
				offs = append(offs, (y0+ky*ic.DH)*ic.W+base+kx*ic.DW)
				ws = append(ws, w[ky*kw+kx])
			}
		}
		d := drow[oxLo:oxHi]
		if ic.SW == 1 && dwTaps(d, x, offs, ws) {
			continue
		}
		for i := range d {
			xi := i * ic.SW
			s := d[i]
			for t, o := range offs {
				s += ws[t] * x[o+xi]
			}
			d[i] = s
		}
	}
}

// dwPadMax bounds the zero-padded copy of a channel depthwisePadded makes
// on the stack.
const dwPadMax = 16384

// depthwisePadded is DepthwiseConv2D with a stride of 1 along rows, on a
// zero-padded copy of the channel: every output is then an interior one,
// and each output row is one SIMD pass over all the taps. It returns false,
// having done nothing, when the copy would be too large or there is no
// SIMD path.
func depthwisePadded(dst []float32, ic *Im2col, w []float32, bias float32, offs []int, ws []float32) bool {
	hp := (ic.OH-1)*ic.SH + (ic.KH-1)*ic.DH + 1
	wp := ic.OW + (ic.KW-1)*ic.DW
	if !dwTapsAvailable() {
		return false
	}
	// A zeroed buffer on the stack, of a size class (Go zeroes it).
	switch need := hp * wp; {
	case need <= 1024:
		var buf [1024]float32
		dwPadded(dst, ic, w, bias, offs, ws, buf[:need], hp, wp)
	case need <= 4096:
		var buf [4096]float32
		dwPadded(dst, ic, w, bias, offs, ws, buf[:need], hp, wp)
	case need <= dwPadMax:
		var buf [dwPadMax]float32
		dwPadded(dst, ic, w, bias, offs, ws, buf[:need], hp, wp)
	default:
		return false
	}
	return true
}

// dwPadded is depthwisePadded on the zeroed buffer p of hp×wp.
func dwPadded(dst []float32, ic *Im2col, w []float32, bias float32, offs []int, ws []float32, p []float32, hp, wp int) {
	for r := range hp {
		y := r - ic.PT
		if y < 0 || y >= ic.H {
			continue
		}
		// Padded column c holds input column c - PL.
		c0 := max(ic.PL, 0)
		x0 := c0 - ic.PL
		n := min(wp-c0, ic.W-x0)
		if n > 0 {
			copy(p[r*wp+c0:r*wp+c0+n], ic.X[y*ic.W+x0:y*ic.W+x0+n])
		}
	}
	offs, ws = offs[:0], ws[:0]
	for ky := range ic.KH {
		for kx := range ic.KW {
			offs = append(offs, ky*ic.DH*wp+kx*ic.DW)
			ws = append(ws, w[ky*ic.KW+kx])
		}
	}
	for oy := range ic.OH {
		d := dst[oy*ic.OW : (oy+1)*ic.OW]
		for i := range d {
			d[i] = bias
		}
		dwTaps(d, p[oy*ic.SH*wp:], offs, ws)
	}
}

func ceilDiv(a, b int) int {
	if a <= 0 {
		return 0
	}
	return (a + b - 1) / b
}
