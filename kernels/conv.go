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
				if lo < hi { // else the run lies wholly left or right of the image
					copy(seg[lo:hi], row[x+lo:x+hi])
				}
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
	if depthwisePadded(dst, ic, w, bias, offs, ws) {
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

// depthwisePadded is DepthwiseConv2D on zero-padded copies of bands of the
// channel: every output is then an interior one, and each output row is
// one SIMD pass over all the taps (dwTaps). A stride s along the width is
// turned into s strides of 1 by splitting each padded row into its s
// phases (columns ≡ q mod s). It returns false, having done nothing, when
// there is no SIMD path or a band of one output row does not fit.
func depthwisePadded(dst []float32, ic *Im2col, w []float32, bias float32, offs []int, ws []float32) bool {
	if !dwTapsAvailable() {
		return false
	}
	s := ic.SW
	wq := ic.OW + (ic.KW-1)*ic.DW/s + 1 // columns of a phase row
	rowsFor := func(bandOut int) int { return (bandOut-1)*ic.SH + (ic.KH-1)*ic.DH + 1 }
	need := s * rowsFor(1) * wq
	if need > dwPadMax {
		return false
	}
	// Output rows per band: as many as fit in the buffer.
	band := ic.OH
	for band > 1 && s*rowsFor(band)*wq > dwPadMax {
		band = max(1, band*dwPadMax/(s*rowsFor(band)*wq))
		for band > 1 && s*rowsFor(band)*wq > dwPadMax {
			band--
		}
	}
	need = s * rowsFor(band) * wq
	// Narrow rows (fewer than dwTaps' 64 outputs per pass) with strides of
	// 1 are computed wide, on a second buffer (see dwBands).
	wide := s == 1 && ic.SH == 1 && ic.OW < 64
	// (Go clears these buffers on every call: they are as small as the
	// work allows.)
	switch {
	case need <= 1024 && wide:
		var buf, out [1024]float32
		dwBands(dst, ic, w, bias, offs, ws, buf[:need], band, wq, out[:])
	case need <= 1024:
		var buf [1024]float32
		dwBands(dst, ic, w, bias, offs, ws, buf[:need], band, wq, nil)
	case need <= 4096 && wide:
		var buf, out [4096]float32
		dwBands(dst, ic, w, bias, offs, ws, buf[:need], band, wq, out[:])
	case need <= 4096:
		var buf [4096]float32
		dwBands(dst, ic, w, bias, offs, ws, buf[:need], band, wq, nil)
	default:
		var buf [dwPadMax]float32
		dwBands(dst, ic, w, bias, offs, ws, buf[:need], band, wq, nil)
	}
	return true
}

// dwBands computes the output in bands of band rows on the buffer p: per
// band, s phase planes of hb rows × wq columns; phase q's column j is the
// padded column j·s+q, that is input column j·s+q-PL.
//
// With a wide buffer (strides of 1 only), a band's output rows are computed
// as one row over the padded width, (band-1)·wq + OW outputs whose columns
// past OW in each row are dropped: a narrow row alone would leave dwTaps
// too few independent sums to keep its multiply-adds busy.
func dwBands(dst []float32, ic *Im2col, w []float32, bias float32, offs []int, ws []float32, p []float32, band, wq int, wide []float32) {
	hb := (band-1)*ic.SH + (ic.KH-1)*ic.DH + 1
	offs = dwOffsets(offs[:0], ic, hb, wq)
	ws = append(ws[:0], w[:ic.KH*ic.KW]...)
	for oy0 := 0; oy0 < ic.OH; oy0 += band {
		oy1 := min(oy0+band, ic.OH)
		dwFill(p, ic.X, ic, oy0, oy1, hb, wq, true)
		dwBand(dst, ic, p, offs, ws, bias, oy0, oy1, wq, wide)
	}
}

// dwOffsets appends the offsets of the taps (ky, kx) in a band buffer of s
// phase planes of hb rows × wq columns, relative to the first output of
// the band's first row.
func dwOffsets(offs []int, ic *Im2col, hb, wq int) []int {
	s := ic.SW
	for ky := range ic.KH {
		rowOff := ky * ic.DH * wq
		for kx := range ic.KW {
			c := kx * ic.DW
			if s == 1 {
				offs = append(offs, rowOff+c)
			} else {
				offs = append(offs, (c%s)*hb*wq+rowOff+c/s)
			}
		}
	}
	return offs
}

// dwFill copies the input rows of output rows [oy0, oy1) of the channel x
// into the band buffer p (see dwBands). With clearPad false the positions
// of the padding are left as they are: a buffer that was zero and only
// ever filled for the same rows keeps its zeros there.
func dwFill(p, x []float32, ic *Im2col, oy0, oy1, hb, wq int, clearPad bool) {
	s := ic.SW
	r0 := oy0*ic.SH - ic.PT // input row of the band's first row
	rows := (oy1-oy0-1)*ic.SH + (ic.KH-1)*ic.DH + 1
	for q := range s {
		plane := p[q*hb*wq : (q+1)*hb*wq]
		for r := range rows {
			row := plane[r*wq : (r+1)*wq]
			y := r0 + r
			if y < 0 || y >= ic.H {
				if clearPad {
					clear(row)
				}
				continue
			}
			src := x[y*ic.W : (y+1)*ic.W]
			// Columns j with input column x = j·s+q-PL in [0, W).
			jLo := min(ceilDiv(ic.PL-q, s), len(row))
			jHi := jLo
			if last := ic.W - 1 + ic.PL - q; last >= 0 {
				jHi = max(min(last/s+1, len(row)), jLo)
			}
			if clearPad {
				clear(row[:jLo])
				clear(row[jHi:])
			}
			if s == 1 {
				copy(row[jLo:jHi], src[jLo+q-ic.PL:])
			} else {
				x := jLo*s + q - ic.PL
				for j := jLo; j < jHi; j++ {
					row[j] = src[x]
					x += s
				}
			}
		}
	}
}

// dwBand computes output rows [oy0, oy1) from the band buffer p, filled by
// dwFill, with the taps offs (dwOffsets) and their weights ws.
func dwBand(dst []float32, ic *Im2col, p []float32, offs []int, ws []float32, bias float32, oy0, oy1, wq int, wide []float32) {
	if wide != nil {
		t := wide[:(oy1-oy0-1)*wq+ic.OW]
		if !dwTapsSet(t, p, offs, ws, bias) {
			for i := range t {
				t[i] = bias
			}
			dwTaps(t, p, offs, ws)
		}
		for oy := oy0; oy < oy1; oy++ {
			copy(dst[oy*ic.OW:(oy+1)*ic.OW], t[(oy-oy0)*wq:])
		}
		return
	}
	for oy := oy0; oy < oy1; oy++ {
		d := dst[oy*ic.OW : (oy+1)*ic.OW]
		// Only the kernel rows that fall inside the image: the
		// padding rows add nothing (a thin image, 2 rows under a
		// 5×5 kernel, would spend most of its taps on them).
		y0 := oy*ic.SH - ic.PT
		kyLo, kyHi := min(ceilDiv(-y0, ic.DH), ic.KH), 0
		if last := ic.H - 1 - y0; last >= 0 {
			kyHi = min(ic.KH, last/ic.DH+1)
		}
		if kyHi > kyLo && dwTapsSet(d, p[(oy-oy0)*ic.SH*wq:], offs[kyLo*ic.KW:kyHi*ic.KW], ws[kyLo*ic.KW:kyHi*ic.KW], bias) {
			continue
		}
		for i := range d {
			d[i] = bias
		}
		if kyHi > kyLo {
			dwTaps(d, p[(oy-oy0)*ic.SH*wq:], offs[kyLo*ic.KW:kyHi*ic.KW], ws[kyLo*ic.KW:kyHi*ic.KW])
		}
	}
}

// DepthwiseConv2DChannels convolves channels [c0, c1) of x (planes of
// ic.H×ic.W back to back; ic.X and ic.C are not read) into dst (planes of
// ic.OH×ic.OW): channel c with the KH×KW filter w[c·KH·KW:] plus bias[c]
// (no bias when bias is nil), then done(c) if done is not nil, while the
// channel's output is in cache. The results are DepthwiseConv2D's, channel
// by channel; where the zero-padded copy of a whole channel fits in one
// buffer (small images: a MobileNet's late layers), the buffer, its zeros
// and the taps are set up once for all the channels, not once per channel.
func DepthwiseConv2DChannels(dst, x []float32, ic *Im2col, w, bias []float32, c0, c1 int, done func(c int)) {
	if c0 >= c1 {
		return
	}
	hw, ohw, kk := ic.H*ic.W, ic.OH*ic.OW, ic.KH*ic.KW
	if len(x) < c1*hw || len(dst) < c1*ohw || len(w) < c1*kk || bias != nil && len(bias) < c1 {
		panic("kernels: DepthwiseConv2DChannels: short input, output, weights or bias")
	}
	if c1-c0 > 1 && dwChannels(dst, x, ic, w, bias, c0, c1, done) {
		return
	}
	for c := c0; c < c1; c++ {
		one := *ic
		one.X, one.C = x[c*hw:(c+1)*hw], 1
		var b float32
		if bias != nil {
			b = bias[c]
		}
		DepthwiseConv2D(dst[c*ohw:(c+1)*ohw], &one, w[c*kk:(c+1)*kk], b)
		if done != nil {
			done(c)
		}
	}
}

// dwChannels is DepthwiseConv2DChannels on one band buffer holding a whole
// channel; it returns false, having done nothing, when there is no SIMD
// path or the channel does not fit.
func dwChannels(dst, x []float32, ic *Im2col, w, bias []float32, c0, c1 int, done func(int)) bool {
	if !dwTapsAvailable() || ic.OH <= 0 || ic.OW <= 0 {
		return false
	}
	s := ic.SW
	wq := ic.OW + (ic.KW-1)*ic.DW/s + 1
	hb := (ic.OH-1)*ic.SH + (ic.KH-1)*ic.DH + 1
	need := s * hb * wq
	wide := s == 1 && ic.SH == 1 && ic.OW < 64
	// (Go clears these buffers once per call: the zeros of the padding
	// then serve every channel.)
	switch {
	case need <= 1024 && wide:
		var buf, out [1024]float32
		dwChannelsOn(dst, x, ic, w, bias, c0, c1, done, buf[:need], hb, wq, out[:])
	case need <= 1024:
		var buf [1024]float32
		dwChannelsOn(dst, x, ic, w, bias, c0, c1, done, buf[:need], hb, wq, nil)
	case need <= 4096 && wide:
		var buf, out [4096]float32
		dwChannelsOn(dst, x, ic, w, bias, c0, c1, done, buf[:need], hb, wq, out[:])
	case need <= 4096:
		var buf [4096]float32
		dwChannelsOn(dst, x, ic, w, bias, c0, c1, done, buf[:need], hb, wq, nil)
	default:
		return false
	}
	return true
}

func dwChannelsOn(dst, x []float32, ic *Im2col, w, bias []float32, c0, c1 int, done func(int), p []float32, hb, wq int, wide []float32) {
	var offBuf [64]int
	offs := offBuf[:0]
	kk := ic.KH * ic.KW
	if kk > len(offBuf) {
		offs = make([]int, 0, kk)
	}
	offs = dwOffsets(offs, ic, hb, wq)
	hw, ohw := ic.H*ic.W, ic.OH*ic.OW
	for c := c0; c < c1; c++ {
		var b float32
		if bias != nil {
			b = bias[c]
		}
		dwFill(p, x[c*hw:(c+1)*hw], ic, 0, ic.OH, hb, wq, false)
		dwBand(dst[c*ohw:(c+1)*ohw], ic, p, offs, w[c*kk:(c+1)*kk], b, 0, ic.OH, wq, wide)
		if done != nil {
			done(c)
		}
	}
}

func ceilDiv(a, b int) int {
	if a <= 0 {
		return 0
	}
	return (a + b - 1) / b
}

// ConvRows computes output rows [oy0, oy1) of a convolution whose stride
// along the width is 1, reading its input in place from a zero-padded copy
// img (no im2col matrix, no packing of B):
//
//	out[mi*ldc + oy*ow + ox] = Σ_p A[mi][p] · img[oy*rowStride + ox + offs[p]]
//
// (plus out's value when acc), for mi in [0, m) and ox in [0, ow). A is m×k
// with k = len(offs), packed by PackA. offs[p] is where row p = (c, ky, kx)
// of the convolution reads, relative to its output pixel's origin. img must
// extend NR-1 values past the last value read: a tile narrower than NR at
// the end of a row reads that far and discards what it computed there.
func (g *Sgemm) ConvRows(m int, pa, img []float32, offs []int, rowStride, ow int, out []float32, ldc, oy0, oy1 int, acc bool) {
	k := len(offs)
	mr, nr := g.mr, g.nr
	if oy0 >= oy1 || m == 0 || ow == 0 {
		return
	}
	if k == 0 {
		panic("kernels: ConvRows: no taps")
	}
	maxOff := 0
	for _, o := range offs {
		if o < 0 {
			panic("kernels: ConvRows: negative offset")
		}
		maxOff = max(maxOff, o)
	}
	switch {
	case len(pa) < g.PackedASize(m, k):
		panic("kernels: ConvRows: packed A too short")
	case (oy1-1)*rowStride+roundUp(ow, nr)+maxOff > len(img):
		panic("kernels: ConvRows: image too short for rows " + itoa(oy0) + ".." + itoa(oy1))
	case (m-1)*ldc+oy1*ow > len(out) || ldc < oy1*ow:
		panic("kernels: ConvRows: output too short")
	}
	var tile [maxMR * maxNR]float32
	for oy := oy0; oy < oy1; oy++ {
		for ox0 := 0; ox0 < ow; ox0 += nr {
			cols := min(nr, ow-ox0)
			base := img[oy*rowStride+ox0:]
			for r0 := 0; r0 < m; r0 += mr {
				rows := min(mr, m-r0)
				p := r0 / mr
				ap := pa[p*mr*k : (p+1)*mr*k]
				cp := out[r0*ldc+oy*ow+ox0:]
				if rows == mr && cols == nr {
					g.microOffsCall(k, ap, base, offs, cp, ldc, acc)
					continue
				}
				t := tile[:mr*nr]
				if acc {
					for i := range rows {
						copy(t[i*nr:i*nr+cols], cp[i*ldc:])
					}
				}
				g.microOffsCall(k, ap, base, offs, t, nr, acc)
				for i := range rows {
					copy(cp[i*ldc:i*ldc+cols], t[i*nr:i*nr+cols])
				}
			}
		}
	}
}

func (g *Sgemm) microOffsCall(k int, a, b []float32, offs []int, c []float32, ldc int, load bool) {
	if g.kind == microKindGeneric {
		microOffsGeneric(k, a, b, offs, c, ldc, load)
		return
	}
	microOffsArch(g.kind, k, a, b, offs, c, ldc, load)
}

// microOffsGeneric is microGeneric reading row p of B at b[offs[p]:].
func microOffsGeneric(k int, a, b []float32, offs []int, c []float32, ldc int, load bool) {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	a = a[:4*k]
	for p, o := range offs[:k] {
		ap := a[4*p : 4*p+4 : 4*p+4]
		bp := b[o : o+4 : o+4]
		a0, a1, a2, a3 := ap[0], ap[1], ap[2], ap[3]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	r0 := c[0:4:4]
	r1 := c[ldc : ldc+4 : ldc+4]
	r2 := c[2*ldc : 2*ldc+4 : 2*ldc+4]
	r3 := c[3*ldc : 3*ldc+4 : 3*ldc+4]
	if load {
		c00, c01, c02, c03 = c00+r0[0], c01+r0[1], c02+r0[2], c03+r0[3]
		c10, c11, c12, c13 = c10+r1[0], c11+r1[1], c12+r1[2], c13+r1[3]
		c20, c21, c22, c23 = c20+r2[0], c21+r2[1], c22+r2[2], c23+r2[3]
		c30, c31, c32, c33 = c30+r3[0], c31+r3[1], c32+r3[2], c33+r3[3]
	}
	r0[0], r0[1], r0[2], r0[3] = c00, c01, c02, c03
	r1[0], r1[1], r1[2], r1[3] = c10, c11, c12, c13
	r2[0], r2[1], r2[2], r2[3] = c20, c21, c22, c23
	r3[0], r3[1], r3[2], r3[3] = c30, c31, c32, c33
}

// PadImage writes channels [c0, c1) of x (C channels of H×W) into img as
// the zero-padded image ConvRows reads: channel c at c·hp·wp, input pixel
// (y, x) at row y+pt, column x+pl, zeros elsewhere (hp×wp per channel).
func PadImage(img, x []float32, h, w, hp, wp, pt, pl, c0, c1 int) {
	for c := c0; c < c1; c++ {
		dst := img[c*hp*wp : (c+1)*hp*wp]
		src := x[c*h*w : (c+1)*h*w]
		for r := range hp {
			row := dst[r*wp : (r+1)*wp]
			y := r - pt
			if y < 0 || y >= h {
				clear(row)
				continue
			}
			// Padded column j holds input column j - pl.
			j0 := min(max(pl, 0), wp)
			j1 := min(max(pl+w, j0), wp)
			if j0 <= 4 && wp-j1 <= 4 { // narrow padding: no calls for it
				for j := range j0 {
					row[j] = 0
				}
				if s := src[y*w+j0-pl : y*w+j1-pl]; len(s) < 12 {
					for j, v := range s { // (shorter than a copy's call)
						row[j0+j] = v
					}
				} else {
					copy(row[j0:j1], s)
				}
				for j := j1; j < wp; j++ {
					row[j] = 0
				}
				continue
			}
			clear(row[:j0])
			copy(row[j0:j1], src[y*w+j0-pl:y*w+j1-pl])
			clear(row[j1:])
		}
	}
}

// PackIm2colA packs the transpose of the im2col matrix (N×K: one row per
// output pixel) as an A operand into dst (PackedASize(N, K) values), for
// products with few pixels computed as colᵀ·Wᵀ. It reads the image
// directly: no im2col matrix is built.
func (g *Sgemm) PackIm2colA(dst []float32, ic *Im2col) {
	n, k := ic.N(), ic.K()
	mr := g.mr
	if len(dst) < g.PackedASize(n, k) {
		panic("kernels: PackIm2colA: dst has " + itoa(len(dst)) + " values, need " + itoa(g.PackedASize(n, k)))
	}
	var iy, ix, off [maxMR]int
	plane := ic.H * ic.W
	for p0 := 0; p0 < n; p0 += mr {
		panel := dst[p0*k : (p0+mr)*k]
		rows := min(mr, n-p0)
		// inside: every tap of the panel's pixels reads inside the
		// image (no padding): no checks per value.
		inside := true
		for i := range rows {
			oy, ox := (p0+i)/ic.OW, (p0+i)%ic.OW
			iy[i], ix[i] = oy*ic.SH-ic.PT, ox*ic.SW-ic.PL
			off[i] = iy[i]*ic.W + ix[i]
			if iy[i] < 0 || ix[i] < 0 || iy[i]+(ic.KH-1)*ic.DH >= ic.H || ix[i]+(ic.KW-1)*ic.DW >= ic.W {
				inside = false
			}
		}
		q := 0
		for c := range ic.C {
			x := ic.X[c*plane : (c+1)*plane]
			for ky := range ic.KH {
				dy := ky * ic.DH
				for kx := range ic.KW {
					dx := kx * ic.DW
					col := panel[q*mr : q*mr+mr]
					if inside {
						d := dy*ic.W + dx
						for i, o := range off[:rows] {
							col[i] = x[o+d]
						}
						clear(col[rows:])
						q++
						continue
					}
					for i := range rows {
						y, xx := iy[i]+dy, ix[i]+dx
						if y >= 0 && y < ic.H && xx >= 0 && xx < ic.W {
							col[i] = x[y*ic.W+xx]
						} else {
							col[i] = 0
						}
					}
					clear(col[rows:])
					q++
				}
			}
		}
	}
}
