package exec

import (
	"context"
	"math"
	"testing"

	"github.com/edgeai-go/edgeai/models/onnx"
	"github.com/edgeai-go/edgeai/quant"
)

// TestHalfChainsInFloat32 checks that a value of a float16 model read only
// by operators computed in float32 stays float32 between them, as ONNX
// Runtime keeps such chains (it drops the casts it inserted between
// neighbours): 4 × 65504 overflows float16, but its log does not. A value
// the graph also outputs is rounded to float16.
func TestHalfChainsInFloat32(t *testing.T) {
	f16 := func(name string) *onnx.ValueInfo {
		return &onnx.ValueInfo{Name: name, Type: &onnx.TypeInfo{Kind: onnx.KindTensor, Elem: onnx.Float16,
			Shape: []onnx.Dim{{Value: 2, Known: true}}, HasShape: true}}
	}
	model := func(outputs ...string) *onnx.Model {
		g := &onnx.Graph{Inputs: []*onnx.ValueInfo{f16("a"), f16("b")}}
		g.Nodes = []*onnx.Node{
			{OpType: "Mul", Inputs: []string{"a", "b"}, Outputs: []string{"m"}},
			{OpType: "Log", Inputs: []string{"m"}, Outputs: []string{"y"}},
		}
		for _, o := range outputs {
			g.Outputs = append(g.Outputs, &onnx.ValueInfo{Name: o})
		}
		return &onnx.Model{IRVersion: 8, OpsetImports: []onnx.OpsetID{{Version: 17}}, Graph: g}
	}
	half := func(v ...float32) *Tensor {
		d := make([]uint16, len(v))
		for i, x := range v {
			d[i] = quant.F32ToF16(x)
		}
		return &Tensor{Type: onnx.Float16, Shape: []int{len(v)}, Data: d}
	}
	in := []*Tensor{half(4, 0.5), half(65504, 65504)}
	for _, tc := range []struct {
		outputs []string
		wantM   float64 // the rounded product, when the graph outputs it
	}{
		{outputs: []string{"y"}},
		{outputs: []string{"y", "m"}, wantM: math.Inf(1)},
	} {
		e, err := New(model(tc.outputs...), Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.Run(context.Background(), in)
		e.Close()
		if err != nil {
			t.Fatal(err)
		}
		y := out[0]
		if y.Type != onnx.Float16 {
			t.Fatalf("outputs %v: y is %v, want float16", tc.outputs, y.Type)
		}
		if len(tc.outputs) == 2 {
			if got := halfToFloat(onnx.Float16, out[1].Data.([]uint16)[0]); got != tc.wantM {
				t.Errorf("outputs %v: m[0] = %v, want %v (rounded to float16)", tc.outputs, got, tc.wantM)
			}
			continue
		}
		for i, x := range []float64{4, 0.5} {
			want := float64(quant.F16ToF32(quant.F32ToF16(float32(math.Log(x * 65504)))))
			if got := halfToFloat(onnx.Float16, y.Data.([]uint16)[i]); got != want {
				t.Errorf("y[%d] = %v, want %v (log of the float32 product)", i, got, want)
			}
		}
	}
}
