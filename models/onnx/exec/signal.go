package exec

import (
	"fmt"
	"math"
	"sync"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/onnx"
)

// The signal operators of opset 17 and 20: the window functions, DFT,
// STFT and MelWeightMatrix (audio front ends).

func init() {
	for name, a := range map[string][3]float64{
		"HannWindow":     {0.5, 0.5, 0},
		"HammingWindow":  {25.0 / 46, 21.0 / 46, 0},
		"BlackmanWindow": {0.42, 0.5, 0.08},
	} {
		register(name, 1, 1, 1, func(nc *nodeCtx) (kernel, error) {
			k := &cosWindow{a: a, periodic: nc.a.intIn("periodic", 1, 0, 1) == 1}
			var err error
			k.typ, err = outputDatatype(nc)
			return k, err
		})
	}
	register("MelWeightMatrix", 5, 5, 1, func(nc *nodeCtx) (kernel, error) {
		typ, err := outputDatatype(nc)
		return &melWeights{typ: typ}, err
	})
	register("DFT", 1, 3, 1, newDFT)
	register("STFT", 2, 4, 1, func(nc *nodeCtx) (kernel, error) {
		return &stft{onesided: nc.a.intIn("onesided", 1, 0, 1) == 1, eng: dftEngine{g: kernels.CurrentSgemm()}}, nil
	})
}

// outputDatatype reads the output_datatype attribute (default float).
func outputDatatype(nc *nodeCtx) (onnx.DataType, error) {
	t := onnx.DataType(nc.a.int("output_datatype", int64(onnx.Float)))
	switch t {
	case onnx.Float, onnx.Double, onnx.Float16, onnx.BFloat16, onnx.Int8, onnx.Uint8,
		onnx.Int16, onnx.Uint16, onnx.Int32, onnx.Uint32, onnx.Int64, onnx.Uint64:
		return t, nil
	}
	return 0, fmt.Errorf("%w: output_datatype %d", ErrUnsupported, t)
}

// sizeArg reads a scalar integer input that sizes an output.
func sizeArg(t *Tensor, what string, limit int) (int, error) {
	v, err := intsOf(t)
	if err != nil || len(v) != 1 {
		return 0, fmt.Errorf("%w: %s must be one integer, got %v", onnx.ErrFormat, what, t)
	}
	if v[0] < 0 || v[0] > int64(limit) {
		return 0, fmt.Errorf("%w: %s = %d", ErrLimit, what, v[0])
	}
	return int(v[0]), nil
}

// ---- HannWindow, HammingWindow, BlackmanWindow

// cosWindow is a generalized cosine window: w[i] = a0 - a1·cos(2πi/N) +
// a2·cos(4πi/N), N = size (periodic) or size-1 (symmetric).
type cosWindow struct {
	a        [3]float64
	periodic bool
	typ      onnx.DataType
}

func (k *cosWindow) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: k.typ, rank: 1, shape: []int{-1}}
	return nil
}

func (k *cosWindow) run(rc *runCtx, in, out []*Tensor) error {
	n, err := sizeArg(in[0], "window size", rc.e.elemLimit())
	if err != nil {
		return err
	}
	o, err := rc.alloc(k.typ, []int{n})
	if err != nil {
		return err
	}
	out[0] = o
	den := float64(n)
	if !k.periodic {
		den--
	}
	v := make([]float64, n)
	for i := range v {
		t := 2 * math.Pi * float64(i) / den
		v[i] = k.a[0] - k.a[1]*math.Cos(t) + k.a[2]*math.Cos(2*t)
	}
	storeFloats(o, v)
	return nil
}

// elemLimit is the largest element count of one tensor.
func (e *Executor) elemLimit() int { return int(min(e.limit, maxDim)) }

// ---- MelWeightMatrix

// melWeights is MelWeightMatrix: triangular filters spaced evenly on the
// mel scale (2595·log10(1 + f/700)), over the bins of a one-sided DFT, as
// ONNX's reference defines them (band edges rounded down to bins).
type melWeights struct{ typ onnx.DataType }

func (k *melWeights) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: k.typ, rank: 2, shape: []int{-1, -1}}
	return nil
}

func (k *melWeights) run(rc *runCtx, in, out []*Tensor) error {
	lim := rc.e.elemLimit()
	mels, err := sizeArg(in[0], "num_mel_bins", lim)
	if err != nil {
		return err
	}
	dftLen, err := sizeArg(in[1], "dft_length", lim)
	if err != nil {
		return err
	}
	rate, err := sizeArg(in[2], "sample_rate", math.MaxInt32)
	if err != nil {
		return err
	}
	lo, _, err := scalarArg(in[3], "lower_edge_hertz")
	if err != nil {
		return err
	}
	hi, _, err := scalarArg(in[4], "upper_edge_hertz")
	if err != nil {
		return err
	}
	if rate == 0 {
		return fmt.Errorf("MelWeightMatrix sample_rate 0")
	}
	bins := dftLen/2 + 1
	if _, err := shapeSize([]int{bins, mels}, lim); err != nil {
		return err
	}
	o, err := rc.alloc(k.typ, []int{bins, mels})
	if err != nil {
		return err
	}
	out[0] = o
	toMel := func(f float64) float64 { return 2595 * math.Log10(1+f/700) }
	lm, hm := toMel(lo), toMel(hi)
	step := (hm - lm) / float64(mels+2)
	edge := make([]int, mels+2)
	for i := range edge {
		f := 700 * (math.Pow(10, (lm+float64(i)*step)/2595) - 1)
		edge[i] = int(math.Floor(float64(dftLen+1) * f / float64(rate)))
	}
	w := make([]float64, bins*mels)
	set := func(j, i int, v float64) {
		if j >= 0 && j < bins {
			w[j*mels+i] = v
		}
	}
	for i := range mels {
		l, c, r := edge[i], edge[i+1], edge[i+2]
		if c-l == 0 {
			set(c, i, 1)
		} else {
			for j := l; j <= c; j++ {
				set(j, i, float64(j-l)/float64(c-l))
			}
		}
		if r-c > 0 {
			for j := c; j < r; j++ {
				set(j, i, float64(r-j)/float64(r-c))
			}
		}
	}
	storeFloats(o, w)
	return nil
}

// ---- DFT and STFT on one engine

// dftEngine computes discrete Fourier transforms of rows: each row holds
// nin samples (real, or complex as interleaved pairs: ch = 2), zero-padded
// to n (or cut to it), and gives bins complex values (interleaved). Small
// transforms are a product with a basis of cosines and sines packed once
// per size (the float32 GEMM), large ones a direct sum in float64.
type dftEngine struct {
	g     *kernels.Sgemm
	mu    sync.Mutex
	cache map[[5]int]*packedMat
}

// maxBasis bounds the elements of a cached DFT basis (16 MiB).
const maxBasis = 1 << 22

func (e *dftEngine) basis(n, nin, ch, bins int, inverse bool) *packedMat {
	inv := 0
	if inverse {
		inv = 1
	}
	key := [5]int{n, nin, ch, bins, inv}
	e.mu.Lock()
	defer e.mu.Unlock()
	if p := e.cache[key]; p != nil {
		return p
	}
	rows, cols := nin*ch, 2*bins
	b := make([]float32, rows*cols)
	sign, scale := -1.0, 1.0
	if inverse {
		sign, scale = 1, 1/float64(n)
	}
	for t := range nin {
		for kk := range bins {
			th := 2 * math.Pi * float64((t*kk)%n) / float64(n)
			c, s := math.Cos(th)*scale, sign*math.Sin(th)*scale
			r := t * ch * cols
			b[r+2*kk], b[r+2*kk+1] = float32(c), float32(s)
			if ch == 2 {
				b[r+cols+2*kk], b[r+cols+2*kk+1] = float32(-s), float32(c)
			}
		}
	}
	p := packB(e.g, b, cols, false, rows, cols)
	if e.cache == nil {
		e.cache = map[[5]int]*packedMat{}
	}
	if len(e.cache) >= 4 {
		clear(e.cache)
	}
	e.cache[key] = p
	return p
}

// rows transforms the rows of src (rows × nin·ch) into dst (rows × 2·bins).
func (e *dftEngine) rows(rc *runCtx, src, dst []float32, rows, n, nin, ch, bins int, inverse bool) error {
	if rows == 0 || bins == 0 {
		return nil
	}
	if nin == 0 {
		clear(dst)
		return nil
	}
	if nin*ch*2*bins <= maxBasis {
		pb := e.basis(n, nin, ch, bins, inverse)
		pa, err := rc.packATemp(e.g, src, nin*ch, false, rows, nin*ch, 1)
		if err != nil {
			return err
		}
		rc.sgemm(e.g, rows, 2*bins, nin*ch, pa.Data.([]float32), kernels.BMatrix{Data: pb.data, Packed: true}, dst, 2*bins, false)
		rc.release(pa)
		return nil
	}
	// Direct sums with a table of e^(±2πi·j/n).
	cs, sn := make([]float64, n), make([]float64, n)
	sign, scale := -1.0, 1.0
	if inverse {
		sign, scale = 1, 1/float64(n)
	}
	for j := range n {
		th := 2 * math.Pi * float64(j) / float64(n)
		cs[j], sn[j] = math.Cos(th), sign*math.Sin(th)
	}
	rc.parWork(rows*bins, rows*bins*nin*4, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			r, kk := i/bins, i%bins
			x := src[r*nin*ch : (r+1)*nin*ch]
			var re, im float64
			j := 0
			for t := range nin {
				xr := float64(x[t*ch])
				if ch == 2 {
					xi := float64(x[t*ch+1])
					re += xr*cs[j] - xi*sn[j]
					im += xr*sn[j] + xi*cs[j]
				} else {
					re += xr * cs[j]
					im += xr * sn[j]
				}
				if j += kk; j >= n {
					j %= n
				}
			}
			dst[r*2*bins+2*kk], dst[r*2*bins+2*kk+1] = float32(re*scale), float32(im*scale)
		}
	})
	return rc.ctx.Err()
}

// ---- DFT

// dft is DFT (opset 17: axis attribute; opset 20: axis input), on float32.
type dft struct {
	eng      dftEngine
	axis     int64
	axisIn   bool // opset 20: the axis is input 2
	inverse  bool
	onesided bool
}

func newDFT(nc *nodeCtx) (kernel, error) {
	k := &dft{eng: dftEngine{g: kernels.CurrentSgemm()},
		inverse:  nc.a.intIn("inverse", 0, 0, 1) == 1,
		onesided: nc.a.intIn("onesided", 0, 0, 1) == 1,
	}
	if nc.opset >= 20 {
		k.axis, k.axisIn = -2, true
	} else {
		k.axis = nc.a.int("axis", 1)
	}
	return k, nil
}

func (k *dft) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: in[0].typ, rank: in[0].rank}
	if in[0].rank >= 0 {
		out[0].shape = make([]int, in[0].rank)
		for i := range out[0].shape {
			out[0].shape[i] = -1
		}
		if in[0].rank > 0 {
			out[0].shape[in[0].rank-1] = 2
		}
	}
	return nil
}

func (k *dft) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	if x.Type != onnx.Float {
		return fmt.Errorf("%w: DFT of %v", ErrUnsupported, x.Type)
	}
	r := len(x.Shape)
	if r < 2 || (x.Shape[r-1] != 1 && x.Shape[r-1] != 2) {
		return fmt.Errorf("DFT of shape %v (want [..., 1 or 2])", x.Shape)
	}
	ch := x.Shape[r-1]
	axis := k.axis
	if k.axisIn && len(in) > 2 && in[2] != nil {
		v, err := intsOf(in[2])
		if err != nil || len(v) != 1 {
			return fmt.Errorf("%w: DFT axis %v", onnx.ErrFormat, in[2])
		}
		axis = v[0]
	}
	ax, err := normAxis(axis, r)
	if err != nil || ax == r-1 {
		return fmt.Errorf("DFT axis %d for shape %v", axis, x.Shape)
	}
	length := x.Shape[ax]
	n := length
	if len(in) > 1 && in[1] != nil {
		if n, err = sizeArg(in[1], "DFT dft_length", rc.e.elemLimit()); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("DFT dft_length 0")
		}
	}
	bins := n
	if k.onesided {
		bins = n/2 + 1
	}
	oshape := append([]int(nil), x.Shape...)
	oshape[ax], oshape[r-1] = bins, 2
	o, err := rc.alloc(onnx.Float, oshape)
	if err != nil {
		return err
	}
	out[0] = o
	outer, inner := numel(x.Shape[:ax]), numel(x.Shape[ax+1:r-1])
	nin := min(length, n)
	rows := outer * inner
	a, err := rc.alloc(onnx.Float, []int{rows * nin * ch})
	if err != nil {
		return err
	}
	defer rc.release(a)
	c, err := rc.alloc(onnx.Float, []int{rows * 2 * bins})
	if err != nil {
		return err
	}
	defer rc.release(c)
	xd, ad, cd, od := x.Data.([]float32), a.Data.([]float32), c.Data.([]float32), o.Data.([]float32)
	for oi := range outer {
		for ii := range inner {
			row := ad[(oi*inner+ii)*nin*ch:]
			for t := range nin {
				src := ((oi*length+t)*inner + ii) * ch
				copy(row[t*ch:(t+1)*ch], xd[src:src+ch])
			}
		}
	}
	if err := k.eng.rows(rc, ad, cd, rows, n, nin, ch, bins, k.inverse); err != nil {
		return err
	}
	for oi := range outer {
		for ii := range inner {
			row := cd[(oi*inner+ii)*2*bins:]
			for kk := range bins {
				dst := ((oi*bins+kk)*inner + ii) * 2
				od[dst], od[dst+1] = row[2*kk], row[2*kk+1]
			}
		}
	}
	return nil
}

// ---- STFT

// stft is STFT: frames of frame_length samples every frame_step, times
// the window, each transformed (one-sided for real signals by default).
type stft struct {
	eng      dftEngine
	onesided bool
}

func (k *stft) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: in[0].typ, rank: 4, shape: []int{-1, -1, -1, 2}}
	if in[0].rank == 3 {
		out[0].shape[0] = in[0].shape[0]
	}
	return nil
}

func (k *stft) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	if x.Type != onnx.Float {
		return fmt.Errorf("%w: STFT of %v", ErrUnsupported, x.Type)
	}
	if len(x.Shape) != 3 || (x.Shape[2] != 1 && x.Shape[2] != 2) {
		return fmt.Errorf("STFT of shape %v (want [batch, length, 1 or 2])", x.Shape)
	}
	nb, length, ch := x.Shape[0], x.Shape[1], x.Shape[2]
	step, err := sizeArg(in[1], "STFT frame_step", rc.e.elemLimit())
	if err != nil {
		return err
	}
	if step == 0 {
		return fmt.Errorf("STFT frame_step 0")
	}
	var win []float32
	if len(in) > 2 && in[2] != nil {
		if in[2].Type != onnx.Float || len(in[2].Shape) != 1 {
			return fmt.Errorf("STFT window %v (want float32[frame_length])", in[2])
		}
		win = in[2].Data.([]float32)
	}
	fl := len(win)
	if len(in) > 3 && in[3] != nil {
		if fl, err = sizeArg(in[3], "STFT frame_length", rc.e.elemLimit()); err != nil {
			return err
		}
		if win != nil && len(win) != fl {
			return fmt.Errorf("STFT window of %d for frame_length %d", len(win), fl)
		}
	}
	if win == nil && (len(in) <= 3 || in[3] == nil) {
		return fmt.Errorf("%w: STFT needs a window or a frame_length", onnx.ErrFormat)
	}
	if fl == 0 || fl > length {
		return fmt.Errorf("STFT frame_length %d for a signal of %d", fl, length)
	}
	if k.onesided && ch == 2 {
		return fmt.Errorf("%w: one-sided STFT of a complex signal", onnx.ErrFormat)
	}
	frames := (length-fl)/step + 1
	bins := fl
	if k.onesided {
		bins = fl/2 + 1
	}
	o, err := rc.alloc(onnx.Float, []int{nb, frames, bins, 2})
	if err != nil {
		return err
	}
	out[0] = o
	rows := nb * frames
	a, err := rc.alloc(onnx.Float, []int{rows, fl * ch})
	if err != nil {
		return err
	}
	defer rc.release(a)
	xd, ad := x.Data.([]float32), a.Data.([]float32)
	for b := range nb {
		for f := range frames {
			row := ad[(b*frames+f)*fl*ch : (b*frames+f+1)*fl*ch]
			src := xd[(b*length+f*step)*ch:]
			copy(row, src[:fl*ch])
			for t, w := range win {
				row[t*ch] *= w
				if ch == 2 {
					row[t*ch+1] *= w
				}
			}
		}
	}
	return k.eng.rows(rc, ad, o.Data.([]float32), rows, fl, fl, ch, bins, false)
}
