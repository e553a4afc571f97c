package runtime

import (
	"fmt"
	"math"
	"reflect"
	"slices"

	"github.com/edgeai-go/edgeai/models/onnx"
)

// ReadTensorFile reads a serialized ONNX TensorProto, the format of the
// input_N.pb and output_N.pb files of ONNX's test data, as a Tensor. The
// file must be a regular file within onnx.ReadTensorFile's limits; a
// tensor of a type Tensor does not hold (complex numbers, 8-bit floats) or
// whose data does not fill its shape is an error.
func ReadTensorFile(path string) (*Tensor, error) {
	pt, err := onnx.ReadTensorFile(path)
	if err != nil {
		return nil, err
	}
	var t *Tensor
	if pt.Type == onnx.String {
		s := make([]string, len(pt.Strings))
		for i, b := range pt.Strings {
			s[i] = string(b)
		}
		t = &Tensor{Type: TensorString, Shape: slices.Clone(pt.Dims), Data: s}
		err = t.Validate()
	} else {
		t, err = TensorFromRaw(TensorType(pt.Type), pt.Dims, pt.Raw)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// CompareTensors compares got with want as ONNX's backend test runner
// compares a backend's outputs with its reference data: the same type and
// shape, integers, booleans and strings exactly, floating-point elements
// (float32, float64, float16, bfloat16) within |g-w| <= atol + rtol*|w|,
// where NaN matches NaN and an infinity only itself. It returns nil, or an
// error naming the element furthest outside the tolerance (for exact types,
// the first that differs). A uint16 want is read as bfloat16 bits when got
// is bfloat16: ONNX's test data stores bfloat16 tensors so.
func CompareTensors(got, want *Tensor, rtol, atol float64) error {
	switch {
	case got == nil && want == nil:
		return nil
	case got == nil:
		return fmt.Errorf("no tensor, want %v%v", want.Type, want.Shape)
	case want == nil:
		return fmt.Errorf("%v%v, want no tensor", got.Type, got.Shape)
	}
	if got.Type == TensorBFloat16 && want.Type == TensorUint16 {
		w := *want
		w.Type = TensorBFloat16
		want = &w
	}
	if got.Type != want.Type {
		return fmt.Errorf("type %v, want %v", got.Type, want.Type)
	}
	if !slices.Equal(got.Shape, want.Shape) {
		return fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	for _, t := range []*Tensor{got, want} {
		if err := t.Validate(); err != nil {
			return err
		}
	}
	switch got.Type {
	case TensorFloat32, TensorFloat64, TensorFloat16, TensorBFloat16:
	default:
		g, w := reflect.ValueOf(got.Data), reflect.ValueOf(want.Data)
		for i := range w.Len() {
			if gi, wi := g.Index(i).Interface(), w.Index(i).Interface(); gi != wi {
				if got.Type == TensorString {
					return fmt.Errorf("[%d] = %q, want %q", i, gi, wi)
				}
				return fmt.Errorf("[%d] = %v, want %v", i, gi, wi)
			}
		}
		return nil
	}
	g, err := got.Float64s()
	if err != nil {
		return err
	}
	w, err := want.Float64s()
	if err != nil {
		return err
	}
	worst, wi := 0.0, -1
	for i := range w {
		var excess float64
		switch {
		case math.IsNaN(w[i]) || math.IsInf(w[i], 0):
			if g[i] == w[i] || math.IsNaN(w[i]) && math.IsNaN(g[i]) {
				continue
			}
			excess = math.Inf(1)
		case math.IsNaN(g[i]):
			excess = math.Inf(1)
		default:
			// an infinite g is infinitely far
			if excess = math.Abs(g[i]-w[i]) - (atol + rtol*math.Abs(w[i])); excess <= 0 {
				continue
			}
		}
		if wi < 0 || excess > worst {
			worst, wi = excess, i
		}
	}
	if wi >= 0 {
		return fmt.Errorf("[%d] = %v, want %v (rtol %g, atol %g)", wi, g[wi], w[wi], rtol, atol)
	}
	return nil
}
