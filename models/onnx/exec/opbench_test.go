package exec

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeai-go/edgeai/models/onnx"
)

// BenchmarkOps times single nodes of the shapes that cost most in the
// real models (go run ./models/onnx/exec/internal/profile): openWakeWord's
// embedding model (max pooling) and PP-OCR's direction classifier
// (depthwise 5×5 convolutions on images two or three rows high, global
// average pooling, the stride-2 stem), one thread:
//
//	go test ./models/onnx/exec -run '^$' -bench Ops
func BenchmarkOps(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	rnd := func(shape ...int) *Tensor {
		v := make([]float32, numel(shape))
		for i := range v {
			v[i] = r.Float32()*2 - 1
		}
		return f32s(shape, v...)
	}
	pool := func(kh, kw int) []*onnx.Attribute {
		return []*onnx.Attribute{aInts("kernel_shape", int64(kh), int64(kw)), aInts("strides", int64(kh), int64(kw))}
	}
	dw := func(c, k int, s ...int64) []*onnx.Attribute {
		p := int64(k / 2)
		return []*onnx.Attribute{aInt("group", int64(c)), aInts("kernel_shape", int64(k), int64(k)),
			aInts("pads", p, p, p, p), aInts("strides", s...)}
	}
	for _, c := range []struct {
		name  string
		op    string
		attrs []*onnx.Attribute
		in    []*Tensor
	}{
		{"MaxPool2x2/24x72x32", "MaxPool", pool(2, 2), []*Tensor{rnd(1, 24, 72, 32)}},
		{"MaxPool1x2/48x32x16", "MaxPool", pool(1, 2), []*Tensor{rnd(1, 48, 32, 16)}},
		{"MaxPool2x2/72x28x8", "MaxPool", pool(2, 2), []*Tensor{rnd(1, 72, 28, 8)}},
		{"MaxPool2x2/200x2x96", "MaxPool", pool(2, 2), []*Tensor{rnd(1, 200, 2, 96)}},
		{"DepthwiseConv5x5/200x2x96", "Conv", dw(200, 5, 1, 1), []*Tensor{rnd(1, 200, 2, 96), rnd(200, 1, 5, 5), rnd(200)}},
		{"DepthwiseConv5x5/88x3x96", "Conv", dw(88, 5, 1, 1), []*Tensor{rnd(1, 88, 3, 96), rnd(88, 1, 5, 5), rnd(88)}},
		{"DepthwiseConv5x5s21/104x3x96", "Conv", dw(104, 5, 2, 1), []*Tensor{rnd(1, 104, 3, 96), rnd(104, 1, 5, 5), rnd(104)}},
		{"DepthwiseConv3x3s21/24x12x96", "Conv", dw(24, 3, 2, 1), []*Tensor{rnd(1, 24, 12, 96), rnd(24, 1, 3, 3), rnd(24)}},
		{"GlobalAveragePool/200x2x96", "GlobalAveragePool", nil, []*Tensor{rnd(1, 200, 2, 96)}},
		{"ConvStem3x3s2/3x48x192", "Conv", []*onnx.Attribute{aInts("kernel_shape", 3, 3), aInts("pads", 1, 1, 1, 1), aInts("strides", 2, 2)},
			[]*Tensor{rnd(1, 3, 48, 192), rnd(8, 3, 3, 3), rnd(8)}},
		// openWakeWord's late convolutions: few output pixels.
		{"Conv3x1/96x12x4", "Conv", []*onnx.Attribute{aInts("kernel_shape", 3, 1)},
			[]*Tensor{rnd(1, 96, 12, 4), rnd(96, 96, 3, 1), rnd(96)}},
		{"Conv1x3p/96x10x2", "Conv", []*onnx.Attribute{aInts("kernel_shape", 1, 3), aInts("pads", 0, 1, 0, 1)},
			[]*Tensor{rnd(1, 96, 10, 2), rnd(96, 96, 1, 3), rnd(96)}},
		{"Conv1x3p/72x30x8", "Conv", []*onnx.Attribute{aInts("kernel_shape", 1, 3), aInts("pads", 0, 1, 0, 1)},
			[]*Tensor{rnd(1, 72, 30, 8), rnd(72, 72, 1, 3), rnd(72)}},
	} {
		b.Run(c.name, func(b *testing.B) {
			m := oneNodeModel(13, c.op, c.attrs, 1, c.in)
			in := c.in
			if c.op == "Conv" { // constant weights and bias, as in a model
				g := m.Graph
				for _, t := range in[1:] {
					raw := make([]byte, 0, 4*t.Len())
					for _, v := range t.Data.([]float32) {
						raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
					}
					dims := make([]int64, len(t.Shape))
					for i, d := range t.Shape {
						dims[i] = int64(d)
					}
					g.Initializers = append(g.Initializers, &onnx.Tensor{Name: g.Inputs[len(g.Initializers)+1].Name, Type: onnx.Float, Dims: dims, Raw: raw})
				}
				g.Inputs, in = g.Inputs[:1], in[:1]
			}
			e, err := New(m, Options{Threads: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			ctx := context.Background()
			for b.Loop() {
				if _, err := e.Run(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1000/float64(b.N), "µs/op")
		})
	}
}
