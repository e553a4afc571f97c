package quant_test

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/quant"
)

// The conformance vectors made by ggml (llama.cpp c392e5094, b4748); see
// ../shared/testdata/quant/README.txt.
var conformancePath = filepath.Join("..", "..", "shared", "testdata", "quant", "quant-conformance.gguf")

// conformanceTypes are the types the file must hold.
var conformanceTypes = []string{"F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0",
	"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"}

// Quantize must reproduce ggml's bytes for every type of the file: the simple
// formats by construction, the K-quants and IQ4 because the scale searches
// (make_qkx2_quants, make_q3_quants, make_qx_quants, the IQ4 search) are
// replicated operation by operation. The RMSE bound is checked as well.

type conformance struct {
	f     *gguf.File
	rows  int
	cols  int
	src   []float32 // rows x cols
	kinds []string
}

func openConformance(t *testing.T) *conformance {
	t.Helper()
	if _, err := os.Stat(filepath.Join("..", "..", "shared")); os.IsNotExist(err) {
		t.Skip("reference data ../shared is absent; conformance against ggml not checked")
	}
	f, err := gguf.Open(conformancePath)
	if err != nil {
		t.Fatalf("open %s: %v", conformancePath, err)
	}
	t.Cleanup(func() { f.Close() })
	c := &conformance{f: f}
	ti, ok := f.Tensor("src")
	if !ok {
		t.Fatal("no tensor src")
	}
	if ti.Type != quant.F32 || len(ti.Shape) != 2 {
		t.Fatalf("src: type %v shape %v, want F32 2-D", ti.Type, ti.Shape)
	}
	c.cols, c.rows = int(ti.Shape[0]), int(ti.Shape[1])
	c.src = c.tensorF32(t, "src", c.rows*c.cols)
	c.kinds, _ = f.Strings("conformance.src_row_kinds")
	if len(c.kinds) != c.rows {
		c.kinds = make([]string, c.rows)
	}
	return c
}

func (c *conformance) raw(t *testing.T, name string) (*gguf.TensorInfo, []byte) {
	t.Helper()
	ti, ok := c.f.Tensor(name)
	if !ok {
		t.Fatalf("no tensor %s", name)
	}
	b, err := c.f.TensorData(ti)
	if err != nil {
		t.Fatalf("tensor %s: %v", name, err)
	}
	return ti, b
}

func (c *conformance) tensorF32(t *testing.T, name string, n int) []float32 {
	t.Helper()
	ti, b := c.raw(t, name)
	if ti.Type != quant.F32 {
		t.Fatalf("%s: type %v, want F32", name, ti.Type)
	}
	out := make([]float32, n)
	if err := quant.Dequantize(quant.F32, b, out); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

func rmse(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s / float64(len(a)))
}

// TestConformance checks Dequantize and Quantize against ggml's own output for
// every type in the conformance file, and logs the summary table.
func TestConformance(t *testing.T) {
	c := openConformance(t)
	if names, ok := c.f.Strings("conformance.types"); ok {
		if strings.Join(names, " ") != strings.Join(conformanceTypes, " ") {
			t.Errorf("conformance.types = %v, want %v", names, conformanceTypes)
		}
	} else {
		t.Error("conformance.types missing")
	}
	n := c.rows * c.cols
	var table []string
	for _, name := range conformanceTypes {
		t.Run(name, func(t *testing.T) {
			typ, err := quant.ParseType(name)
			if err != nil {
				t.Fatal(err)
			}
			ti, q := c.raw(t, "q."+name)
			if ti.Type != typ {
				t.Fatalf("q.%s has type %v", name, ti.Type)
			}
			rowBytes, err := typ.RowBytes(c.cols)
			if err != nil || len(q) != rowBytes*c.rows {
				t.Fatalf("q.%s: %d bytes, want %d rows of %d (%v)", name, len(q), c.rows, rowBytes, err)
			}
			want := c.tensorF32(t, "deq."+name, n)

			// (a) dequantization is bit-exact.
			got := make([]float32, n)
			if err := quant.Dequantize(typ, q, got); err != nil {
				t.Fatal(err)
			}
			deqBad := 0
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					if deqBad == 0 {
						t.Errorf("Dequantize(q.%s)[%d] = %g (%#x), ggml %g (%#x)", name, i,
							got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
					}
					deqBad++
				}
			}
			if deqBad > 0 {
				t.Errorf("Dequantize(q.%s): %d of %d values differ from ggml", name, deqBad, n)
			}

			// (b) quantization: bytes, and RMSE no worse than ggml's by 1%.
			mine := make([]byte, len(q))
			if err := quant.Quantize(typ, c.src, mine); err != nil {
				t.Fatal(err)
			}
			sameRows := 0
			for r := 0; r < c.rows; r++ {
				if bytes.Equal(mine[r*rowBytes:(r+1)*rowBytes], q[r*rowBytes:(r+1)*rowBytes]) {
					sameRows++
				}
			}
			exact := sameRows == c.rows
			if !exact {
				t.Errorf("Quantize(%s): only %d of %d rows bit-identical to ggml", name, sameRows, c.rows)
			}
			mineDeq := make([]float32, n)
			if err := quant.Dequantize(typ, mine, mineDeq); err != nil {
				t.Fatal(err)
			}
			var rowsLog []string
			for r := 0; r < c.rows; r++ {
				s := c.src[r*c.cols : (r+1)*c.cols]
				em, eg := rmse(mineDeq[r*c.cols:(r+1)*c.cols], s), rmse(want[r*c.cols:(r+1)*c.cols], s)
				if em > eg*1.01 {
					t.Errorf("Quantize(%s) row %d (%s): RMSE %.4g, ggml %.4g (> +1%%)", name, r, c.kinds[r], em, eg)
				}
				rowsLog = append(rowsLog, fmt.Sprintf("%.3g/%.3g", em, eg))
			}
			em := rmse(mineDeq[:4*c.cols], c.src[:4*c.cols])
			eg := rmse(want[:4*c.cols], c.src[:4*c.cols])
			t.Logf("rows ours/ggml RMSE: %s", strings.Join(rowsLog, " "))
			table = append(table, fmt.Sprintf("| %-6s | %-5v | %-5v (%d/%d rows) | %.6g | %.6g |",
				name, deqBad == 0, exact, sameRows, c.rows, em, eg))
		})
	}
	t.Logf("conformance vs ggml c392e5094 (RMSE over the four N(0,1) rows)\n"+
		"| type   | dequant bit-exact | quantize bit-exact | RMSE ours | RMSE ggml |\n%s",
		strings.Join(table, "\n"))
}
