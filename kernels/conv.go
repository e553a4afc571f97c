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
