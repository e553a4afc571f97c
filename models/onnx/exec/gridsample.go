package exec

import (
	"fmt"
	"math"

	"github.com/edgeai-go/edgeai/models/onnx"
)

func init() {
	register("GridSample", 2, 2, 1, newGridSample)
}

// gridSample is GridSample on 2-D images (X [N,C,H,W], grid [N,Ho,Wo,2]
// of (x, y) in [-1, 1]) and, for the linear and nearest modes, on 3-D
// volumes (X [N,C,D,H,W], grid [N,Do,Ho,Wo,3] of (x, y, z)). As in ONNX
// Runtime (and PyTorch), the border and reflection paddings move the
// sampling point into the image for the linear and nearest modes, and
// apply to each of the 16 pixels the cubic mode reads.
type gridSample struct {
	mode    int // gsLinear, gsNearest, gsCubic
	padding int // gsZeros, gsBorder, gsReflection
	align   bool
}

const (
	gsLinear = iota
	gsNearest
	gsCubic
)

const (
	gsZeros = iota
	gsBorder
	gsReflection
)

func newGridSample(nc *nodeCtx) (kernel, error) {
	k := &gridSample{align: nc.a.intIn("align_corners", 0, 0, 1) == 1}
	def := "linear"
	if nc.opset < 20 {
		def = "bilinear"
	}
	switch m := nc.a.str("mode", def); m {
	case "bilinear", "linear":
		k.mode = gsLinear
	case "nearest":
		k.mode = gsNearest
	case "bicubic", "cubic":
		k.mode = gsCubic
	default:
		return nil, fmt.Errorf("%w: GridSample mode %q", ErrUnsupported, m)
	}
	switch p := nc.a.str("padding_mode", "zeros"); p {
	case "zeros":
		k.padding = gsZeros
	case "border":
		k.padding = gsBorder
	case "reflection":
		k.padding = gsReflection
	default:
		return nil, fmt.Errorf("%w: GridSample padding_mode %q", ErrUnsupported, p)
	}
	return k, nil
}

func (k *gridSample) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: in[0].typ, rank: -1}
	if in[0].rank >= 3 && in[1].rank == in[0].rank {
		out[0].rank = in[0].rank
		out[0].shape = make([]int, in[0].rank)
		out[0].shape[0] = in[0].shape[0]
		out[0].shape[1] = in[0].shape[1]
		copy(out[0].shape[2:], in[1].shape[1:in[1].rank-1])
	}
	return nil
}

func (k *gridSample) run(rc *runCtx, in, out []*Tensor) error {
	x, g := in[0], in[1]
	r := len(x.Shape)
	if r != 4 && r != 5 {
		return fmt.Errorf("%w: GridSample of rank %d (want 4 or 5)", ErrUnsupported, r)
	}
	if r == 5 && k.mode == gsCubic {
		return fmt.Errorf("%w: GridSample in cubic mode on 3-D volumes", ErrUnsupported)
	}
	if x.Type != onnx.Float || g.Type != onnx.Float {
		return fmt.Errorf("%w: GridSample of %v with a %v grid", ErrUnsupported, x.Type, g.Type)
	}
	sd := r - 2 // spatial dimensions
	if len(g.Shape) != r || g.Shape[0] != x.Shape[0] || g.Shape[r-1] != sd {
		return fmt.Errorf("GridSample grid %v for input %v", g.Shape, x.Shape)
	}
	nb, c := x.Shape[0], x.Shape[1]
	oshape := append([]int{nb, c}, g.Shape[1:r-1]...)
	o, err := rc.alloc(onnx.Float, oshape)
	if err != nil {
		return err
	}
	out[0] = o
	xd, gd, od := x.Data.([]float32), g.Data.([]float32), o.Data.([]float32)
	in3 := [3]int{1, 1, 1} // D, H, W of the input (D = 1 in 2-D)
	copy(in3[3-sd:], x.Shape[2:])
	npts := numel(g.Shape[1 : r-1])
	plane := in3[0] * in3[1] * in3[2]
	cost := 16
	if k.mode == gsCubic {
		cost = 64
	}
	rc.parWork(nb*npts, nb*npts*c*cost, func(lo, hi int) {
		var pt [3]float32 // x, y, z
		for i := lo; i < hi; i++ {
			b, p := i/npts, i%npts
			copy(pt[:sd], gd[i*sd:(i+1)*sd])
			img := xd[b*c*plane : (b+1)*c*plane]
			for ch := range c {
				od[(b*c+ch)*npts+p] = k.sample(img[ch*plane:(ch+1)*plane], in3, sd, pt)
			}
		}
	})
	return nil
}

// denorm maps a grid coordinate in [-1, 1] to a pixel coordinate.
func (k *gridSample) denorm(v float32, n int) float32 {
	if k.align {
		return (v + 1) / 2 * float32(n-1)
	}
	return ((v+1)*float32(n) - 1) / 2
}

// bounds returns the extent a coordinate reflects within.
func (k *gridSample) bounds(n int) (float32, float32) {
	if k.align {
		return 0, float32(n - 1)
	}
	return -0.5, float32(n) - 0.5
}

// reflect folds v into [lo, hi] by reflection at the ends.
func reflect(v, lo, hi float32) float32 {
	rng := hi - lo
	if rng <= 0 {
		return lo
	}
	switch {
	case v < lo:
		d := lo - v
		n := int(d / rng)
		f := d - float32(n)*rng
		if n%2 == 0 {
			return lo + f
		}
		return hi - f
	case v > hi:
		d := v - hi
		n := int(d / rng)
		f := d - float32(n)*rng
		if n%2 == 0 {
			return hi - f
		}
		return lo + f
	}
	return v
}

// pixel reads the pixel at integer coordinates (z, y, x) with the padding
// mode applied.
func (k *gridSample) pixel(img []float32, dims [3]int, z, y, x int) float32 {
	d, h, w := dims[0], dims[1], dims[2]
	switch k.padding {
	case gsZeros:
		if x < 0 || x >= w || y < 0 || y >= h || z < 0 || z >= d {
			return 0
		}
	case gsBorder:
		x, y, z = min(max(x, 0), w-1), min(max(y, 0), h-1), min(max(z, 0), d-1)
	case gsReflection:
		lo, hi := k.bounds(w)
		x = int(reflect(float32(x), lo, hi))
		lo, hi = k.bounds(h)
		y = int(reflect(float32(y), lo, hi))
		lo, hi = k.bounds(d)
		z = int(reflect(float32(z), lo, hi))
		x, y, z = min(max(x, 0), w-1), min(max(y, 0), h-1), min(max(z, 0), d-1)
	}
	return img[(z*h+y)*w+x]
}

// sample computes one output value from one channel.
func (k *gridSample) sample(img []float32, dims [3]int, sd int, pt [3]float32) float32 {
	// Pixel coordinates, x first; z = 0 on 2-D images.
	var co [3]float32
	for j := range sd {
		n := dims[2-j]
		v := k.denorm(pt[j], n)
		if k.mode != gsCubic {
			switch k.padding {
			case gsBorder:
				v = min(max(v, 0), float32(n-1))
			case gsReflection:
				lo, hi := k.bounds(n)
				v = reflect(v, lo, hi)
			}
		}
		co[j] = v
	}
	x, y, z := co[0], co[1], co[2]
	switch k.mode {
	case gsNearest:
		xi, yi, zi := satInt(math.RoundToEven(float64(x))), satInt(math.RoundToEven(float64(y))), satInt(math.RoundToEven(float64(z)))
		return k.pixel(img, dims, zi, yi, xi)
	case gsLinear:
		x0, y0, z0 := floorInt(x), floorInt(y), floorInt(z)
		fx, fy, fz := x-float32(x0), y-float32(y0), z-float32(z0)
		if sd == 2 {
			p00 := k.pixel(img, dims, 0, y0, x0)
			p01 := k.pixel(img, dims, 0, y0, x0+1)
			p10 := k.pixel(img, dims, 0, y0+1, x0)
			p11 := k.pixel(img, dims, 0, y0+1, x0+1)
			return (1-fy)*((1-fx)*p00+fx*p01) + fy*((1-fx)*p10+fx*p11)
		}
		var v float32
		for dz := range 2 {
			wz := 1 - fz
			if dz == 1 {
				wz = fz
			}
			for dy := range 2 {
				wy := 1 - fy
				if dy == 1 {
					wy = fy
				}
				for dx := range 2 {
					wx := 1 - fx
					if dx == 1 {
						wx = fx
					}
					v += wz * wy * wx * k.pixel(img, dims, z0+dz, y0+dy, x0+dx)
				}
			}
		}
		return v
	}
	// Cubic (2-D): 4×4 pixels around the point, A = -0.75.
	x0, y0 := floorInt(x)-1, floorInt(y)-1
	cx, cy := cubicCoeffs(x-float32(x0)-1), cubicCoeffs(y-float32(y0)-1)
	var v float32
	for i := range 4 {
		var row float32
		for j := range 4 {
			row += cx[j] * k.pixel(img, dims, 0, y0+i, x0+j)
		}
		v += cy[i] * row
	}
	return v
}

// floorInt is floor(v) as an int, saturating far outside any image.
func floorInt(v float32) int { return satInt(math.Floor(float64(v))) }

// satInt converts an integral float to int, saturating far outside any
// image (NaN reads as far outside too).
func satInt(f float64) int {
	if f != f {
		return math.MinInt32
	}
	return int(min(max(f, -1<<30), 1<<30))
}

// cubicCoeffs returns the cubic convolution weights (A = -0.75) of the
// four pixels around a point at fraction t past the second one.
func cubicCoeffs(t float32) [4]float32 {
	const a = -0.75
	var c [4]float32
	x := t + 1
	c[0] = ((a*x-5*a)*x+8*a)*x - 4*a
	x = t
	c[1] = ((a+2)*x-(a+3))*x*x + 1
	x = 1 - t
	c[2] = ((a+2)*x-(a+3))*x*x + 1
	x = 2 - t
	c[3] = ((a*x-5*a)*x+8*a)*x - 4*a
	return c
}
