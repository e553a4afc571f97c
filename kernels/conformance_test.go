package kernels_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/quant"
)

// ggml's conformance vectors (llama.cpp c392e5094): 8 source rows of 4096
// values, ggml's quantization of them into each type (q.<T>) and ggml's own
// dequantization of those bytes (deq.<T>); see
// ../shared/testdata/quant/README.txt.
var conformancePath = filepath.Join("..", "..", "shared", "testdata", "quant", "quant-conformance.gguf")

// TestVecDotOnGGMLWeights multiplies the weight rows ggml quantized by every
// source row (activations quantized by QuantizeActivation), through VecDot
// and MatMul, and checks the results against the float64 dot product of
// ggml's dequantized weights with the dequantized activations. The weights
// and their values come from ggml, independently of quant.
func TestVecDotOnGGMLWeights(t *testing.T) {
	if _, err := os.Stat(filepath.Join("..", "..", "shared")); os.IsNotExist(err) {
		t.Skip("reference data ../shared is absent; dot products on ggml's weights not checked")
	}
	f, err := gguf.Open(conformancePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tensor := func(name string) (*gguf.TensorInfo, []byte) {
		ti, ok := f.Tensor(name)
		if !ok {
			t.Fatalf("%s: no tensor %s", conformancePath, name)
		}
		b, err := f.TensorData(ti)
		if err != nil {
			t.Fatal(err)
		}
		return ti, b
	}
	floats := func(name string) []float32 {
		ti, b := tensor(name)
		out := make([]float32, ti.Elements())
		if err := quant.Dequantize(quant.F32, b, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	src := floats("src")
	const rows, cols = 8, 4096
	if len(src) != rows*cols {
		t.Fatalf("src has %d values", len(src))
	}
	types := []quant.Type{quant.F16, quant.BF16, quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1,
		quant.Q8_0, quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.IQ4_NL, quant.IQ4_XS}
	for _, name := range kernels.AvailableImpls() {
		restore := kernels.UseImpl(name)
		for _, typ := range types {
			ti, w := tensor("q." + typ.String())
			if ti.Type != typ {
				t.Fatalf("q.%v has type %v", typ, ti.Type)
			}
			deq := floats("deq." + typ.String())
			at := kernels.ActivationType(typ)
			rb, _ := typ.RowBytes(cols)
			ab, _ := at.RowBytes(cols)
			act := make([]byte, rows*ab)
			actDeq := make([]float32, rows*cols)
			for s := range rows {
				kernels.QuantizeActivation(at, src[s*cols:(s+1)*cols], act[s*ab:(s+1)*ab])
			}
			if err := quant.Dequantize(at, act, actDeq); err != nil {
				t.Fatal(err)
			}
			out := make([]float32, rows*rows)
			kernels.MatMul(typ, w, cols, 0, rows, act, rows, out, rows)
			worst := 0.0
			for r := range rows {
				for s := range rows {
					got := kernels.VecDot(typ, cols, w[r*rb:(r+1)*rb], act[s*ab:(s+1)*ab])
					if out[s*rows+r] != got {
						t.Errorf("%s %v: MatMul[%d][%d] = %g, VecDot %g", name, typ, s, r, out[s*rows+r], got)
					}
					var want, mag float64
					for i := range cols {
						p := float64(deq[r*cols+i]) * float64(actDeq[s*cols+i])
						want += p
						mag += math.Abs(p)
					}
					if typ == quant.Q4_1 || typ == quant.Q5_1 { // m·s uses the fp16 s of the activation block
						wbb := rb / (cols / 32)
						for b := range cols / 32 {
							m := float64(quant.F16ToF32(le16(w[r*rb+b*wbb+2:])))
							sa := float64(quant.F16ToF32(le16(act[s*ab+b*36+2:])))
							var sum float64
							for _, v := range actDeq[s*cols+32*b : s*cols+32*b+32] {
								sum += float64(v)
							}
							want += m * (sa - sum)
							mag += math.Abs(m * sa)
						}
					}
					tr, _ := typ.Traits()
					tol := 3 * float64(cols/tr.BlockSize+4) / (1 << 23) * mag
					if tr.BlockSize == 1 {
						tol = 1e-6 * mag
					}
					d := math.Abs(float64(got) - want)
					if !(d <= tol+1e-30) {
						t.Errorf("%s %v: weight row %d · source row %d = %g, float64 %g (diff %.3g > %.3g)",
							name, typ, r, s, got, want, d, tol)
					}
					if tol > 0 {
						worst = max(worst, d/tol)
					}
				}
			}
			t.Logf("%s %-6v: 64 products, worst |diff|/tol %.3f", name, typ, worst)
		}
		restore()
	}
}

func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }
