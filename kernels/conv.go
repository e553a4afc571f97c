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

// packIm2colPanel packs rows [k0, k0+kc) of columns [c0, c0+cols) of the
// im2col matrix into dst as a B panel of NR columns (zero-padded).
func (g *Sgemm) packIm2colPanel(dst []float32, ic *Im2col, k0, kc, c0, cols int) {
	nr := g.nr
	var tmp [maxNR]float32
	for p := range kc {
		d := dst[p*nr : p*nr+nr]
		if cols == nr {
			ic.row(d, k0+p, c0)
			continue
		}
		ic.row(tmp[:cols], k0+p, c0)
		copy(d, tmp[:cols])
		clear(d[cols:])
	}
}

// DepthwiseConv2D convolves one channel: dst (OH×OW) = bias + x (H×W) ⋆ w
// (KH×KW), with strides, dilations and padding as in Im2col (ic.X is the
// channel, ic.C is 1).
func DepthwiseConv2D(dst []float32, ic *Im2col, w []float32, bias float32) {
	oh, ow := ic.OH, ic.OW
	dst = dst[:oh*ow]
	w = w[:ic.KH*ic.KW]
	x := ic.X[:ic.H*ic.W]
	for i := range dst {
		dst[i] = bias
	}
	// The output columns whose taps all fall inside the image: ox in
	// [oxLo, oxHi).
	oxLo := ceilDiv(ic.PL, ic.SW)
	oxHi := ow
	if last := ic.W - 1 - (ic.KW-1)*ic.DW + ic.PL; last < 0 {
		oxHi = 0
	} else {
		oxHi = min(ow, last/ic.SW+1)
	}
	oxLo = min(oxLo, oxHi)
	for ky := range ic.KH {
		for oy := range oh {
			y := oy*ic.SH - ic.PT + ky*ic.DH
			if y < 0 || y >= ic.H {
				continue
			}
			src := x[y*ic.W : (y+1)*ic.W]
			drow := dst[oy*ow : (oy+1)*ow]
			for kx := range ic.KW {
				wv := w[ky*ic.KW+kx]
				off := kx*ic.DW - ic.PL
				// Borders with checks.
				for ox := 0; ox < oxLo; ox++ {
					if xx := ox*ic.SW + off; xx >= 0 && xx < ic.W {
						drow[ox] += wv * src[xx]
					}
				}
				for ox := oxHi; ox < ow; ox++ {
					if xx := ox*ic.SW + off; xx >= 0 && xx < ic.W {
						drow[ox] += wv * src[xx]
					}
				}
				// The interior.
				if oxHi > oxLo {
					d := drow[oxLo:oxHi]
					if ic.SW == 1 {
						s := src[oxLo+off : oxLo+off+len(d)]
						for i := range d {
							d[i] += wv * s[i]
						}
					} else {
						xx := oxLo*ic.SW + off
						for i := range d {
							d[i] += wv * src[xx]
							xx += ic.SW
						}
					}
				}
			}
		}
	}
}

func ceilDiv(a, b int) int {
	if a <= 0 {
		return 0
	}
	return (a + b - 1) / b
}
