package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/quant"
)

// TestPackedRow reads every row of packed matrices of each packable type
// (32-value blocks and the 256-value K-quants, whole groups and a partial
// last one) and checks it against the row of the file's layout.
func TestPackedRow(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, typ := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q5_0, quant.IQ4_NL, quant.Q4_K, quant.Q5_K, quant.Q6_K} {
		if kernels.PackGroup(typ) == 0 {
			continue
		}
		const cols = 512
		rows := 2*kernels.PackGroup(typ) + 3
		src := make([]float32, rows*cols)
		for i := range src {
			src[i] = float32(r.NormFloat64())
		}
		rb, _ := typ.RowBytes(cols)
		data := make([]byte, rows*rb)
		if err := quant.Quantize(typ, src, data); err != nil {
			t.Fatalf("%v: %v", typ, err)
		}
		plain := Tensor{Name: "plain", Type: typ, Shape: []int64{cols, int64(rows)}, Data: data}
		packed := Tensor{Name: "packed", Type: typ, Shape: []int64{cols, int64(rows)}, Data: make([]byte, len(data)), Packed: true}
		kernels.Pack(typ, packed.Data, data, rows, cols)
		want, got := make([]float32, cols), make([]float32, cols)
		for i := range rows {
			if err := plain.Row(i, want); err != nil {
				t.Fatal(err)
			}
			if err := packed.Row(i, got); err != nil {
				t.Fatalf("%v row %d: %v", typ, i, err)
			}
			for j := range want {
				if got[j] != want[j] {
					t.Fatalf("%v row %d [%d]: packed %g, file layout %g", typ, i, j, got[j], want[j])
				}
			}
		}
	}
}
