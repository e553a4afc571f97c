package exec

import (
	"fmt"
	"math"

	"github.com/edgeai-go/edgeai/kernels"

	"github.com/edgeai-go/edgeai/models/onnx"
)

func init() {
	register("QuantizeLinear", 2, 3, 1, func(nc *nodeCtx) (kernel, error) {
		k := &quantizeLinear{axis: nc.a.int("axis", 1)}
		if nc.opset >= 19 {
			nc.a.int("saturate", 1)
		}
		if nc.opset >= 21 {
			nc.a.int("block_size", 0)
			nc.a.int("output_dtype", 0)
		}
		return k, nil
	})
	register("DequantizeLinear", 2, 3, 1, func(nc *nodeCtx) (kernel, error) {
		if nc.opset >= 21 {
			nc.a.int("block_size", 0)
		}
		return &dequantizeLinear{axis: nc.a.int("axis", 1)}, nil
	})
	register("DynamicQuantizeLinear", 1, 1, 3, func(nc *nodeCtx) (kernel, error) { return dynQuant{}, nil })
}

// scaleAxis returns, for per-axis quantization parameters of n values, the
// function mapping an element index of x to its parameter index.
func scaleAxis(x *Tensor, n int, axis int64) (func(i int) int, error) {
	if n == 1 {
		return func(int) int { return 0 }, nil
	}
	ax, err := normAxis(axis, len(x.Shape))
	if err != nil {
		return nil, err
	}
	if x.Shape[ax] != n {
		return nil, fmt.Errorf("%d quantization parameters for axis %d of %v", n, ax, x.Shape)
	}
	inner := numel(x.Shape[ax+1:])
	return func(i int) int { return (i / inner) % n }, nil
}

type quantizeLinear struct{ axis int64 }

func (k *quantizeLinear) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: onnx.Uint8, rank: in[0].rank, shape: in[0].shape}
	if len(in) > 2 && !in[2].absent {
		out[0].typ = in[2].typ
	}
	return nil
}

func (k *quantizeLinear) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	xs, err := floatsOf(x)
	if err != nil || !isFloat(x.Type) {
		return fmt.Errorf("%w: QuantizeLinear of %v", ErrUnsupported, x.Type)
	}
	scale, err := floatsOf(in[1])
	if err != nil {
		return err
	}
	typ := onnx.DataType(onnx.Uint8)
	zp := make([]int64, len(scale))
	if len(in) > 2 && in[2] != nil {
		typ = in[2].Type
		if zp, err = intsOf(in[2]); err != nil {
			return err
		}
		if len(zp) != len(scale) {
			return fmt.Errorf("%d zero points for %d scales", len(zp), len(scale))
		}
	}
	at, err := scaleAxis(x, len(scale), k.axis)
	if err != nil {
		return err
	}
	o, err := rc.alloc(typ, x.Shape)
	if err != nil {
		return err
	}
	out[0] = o
	for i, v := range xs {
		j := at(i)
		q := math.RoundToEven(float64(float32(v)/float32(scale[j]))) + float64(zp[j])
		if err := storeQuant(o, i, q); err != nil {
			return err
		}
	}
	return nil
}

type dequantizeLinear struct{ axis int64 }

func (k *dequantizeLinear) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: onnx.Float, rank: in[0].rank, shape: in[0].shape}
	if in[1].typ != onnx.Undefined {
		out[0].typ = in[1].typ
	}
	return nil
}

func (k *dequantizeLinear) run(rc *runCtx, in, out []*Tensor) error {
	x := in[0]
	xs, err := intsOf(x)
	if err != nil {
		return fmt.Errorf("%w: DequantizeLinear of %v", ErrUnsupported, x.Type)
	}
	sc, ok := in[1].Data.([]float32)
	if !ok {
		return fmt.Errorf("%w: DequantizeLinear scale of %v", ErrUnsupported, in[1].Type)
	}
	zp := make([]int64, len(sc))
	if len(in) > 2 && in[2] != nil {
		if in[2].Type != x.Type {
			return fmt.Errorf("%w: zero point of %v for %v", onnx.ErrFormat, in[2].Type, x.Type)
		}
		if zp, err = intsOf(in[2]); err != nil {
			return err
		}
		if len(zp) != len(sc) {
			return fmt.Errorf("%d zero points for %d scales", len(zp), len(sc))
		}
	}
	at, err := scaleAxis(x, len(sc), k.axis)
	if err != nil {
		return err
	}
	o, err := rc.alloc(onnx.Float, x.Shape)
	if err != nil {
		return err
	}
	out[0] = o
	d := o.Data.([]float32)
	for i, v := range xs {
		j := at(i)
		d[i] = float32(v-zp[j]) * sc[j]
	}
	return nil
}

// dynQuant is DynamicQuantizeLinear: uint8 quantization with a scale and
// zero point computed from the data's range (which always includes 0).
type dynQuant struct{}

func (dynQuant) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: onnx.Uint8, rank: in[0].rank, shape: in[0].shape}
	if len(out) > 1 {
		out[1] = vinfo{typ: onnx.Float, rank: 0, shape: []int{}}
	}
	if len(out) > 2 {
		out[2] = vinfo{typ: onnx.Uint8, rank: 0, shape: []int{}}
	}
	return nil
}

func (dynQuant) run(rc *runCtx, in, out []*Tensor) error {
	x, ok := in[0].Data.([]float32)
	if !ok {
		return fmt.Errorf("%w: DynamicQuantizeLinear of %v", ErrUnsupported, in[0].Type)
	}
	// The range (always including 0), in chunks on the pool.
	const chunk = 1 << 12
	nch := (len(x) + chunk - 1) / chunk
	los, his := make([]float32, nch), make([]float32, nch)
	rc.parWork(nch, 2*len(x), func(a, b int) {
		for c := a; c < b; c++ {
			los[c], his[c] = kernels.MinMaxF32(x[c*chunk : min((c+1)*chunk, len(x))])
		}
	})
	lo, hi := float32(0), float32(0)
	for c := range nch {
		lo, hi = min(lo, los[c]), max(hi, his[c])
	}
	scale := (hi - lo) / 255
	var zp float32
	if scale != 0 {
		zp = float32(math.RoundToEven(float64(min(max(-lo/scale, 0), 255))))
	}
	o, err := rc.alloc(onnx.Uint8, in[0].Shape)
	if err != nil {
		return err
	}
	out[0] = o
	d := o.Data.([]uint8)
	rc.parWork(nch, 4*len(x), func(a, b int) {
		lo, hi := a*chunk, min(b*chunk, len(x))
		if scale == 0 {
			for i := lo; i < hi; i++ {
				d[i] = uint8(zp)
			}
			return
		}
		// x/scale rounded half to even, plus the zero point, saturated:
		// as ONNX Runtime computes it, in float32.
		kernels.QuantizeU8(d[lo:hi], x[lo:hi], scale, zp)
	})
	if len(out) > 1 {
		s, err := rc.alloc(onnx.Float, []int{})
		if err != nil {
			return err
		}
		s.Data.([]float32)[0] = scale
		out[1] = s
	}
	if len(out) > 2 {
		z, err := rc.alloc(onnx.Uint8, []int{})
		if err != nil {
			return err
		}
		z.Data.([]uint8)[0] = uint8(zp)
		out[2] = z
	}
	return nil
}
