package exec

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeai-go/edgeai/models/onnx"
)

// TestAttentionQKModes checks the qk_matmul_output modes against each
// other (ONNX Runtime 1.30's modes 1 and 2 cannot be compared with: it
// leaves part of those outputs unwritten): mode 2 is the softcap of mode
// 0, mode 1 mode 2 plus the mask, mode 3 its softmax.
func TestAttentionQKModes(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const b, h, qs, ks, hd = 2, 2, 3, 5, 4
	q, k, v, mask := randTensor(r, b, h, qs, hd), randTensor(r, b, h, ks, hd), randTensor(r, b, h, ks, hd), randTensor(r, qs, ks)
	const cap = 1.5
	var qk [4][]float32
	for mode := range 4 {
		out, err := runOp(t, 23, "Attention", []*onnx.Attribute{aInt("qk_matmul_output_mode", int64(mode)), aFloat("softcap", cap)}, 4, q, k, v, mask)
		if err != nil {
			t.Fatal(err)
		}
		qk[mode] = out[3].Data.([]float32)
	}
	m := mask.Data.([]float32)
	for i, s := range qk[0] {
		c := cap * math.Tanh(float64(s)/cap)
		if d := math.Abs(float64(qk[2][i]) - c); d > 1e-6 {
			t.Fatalf("mode 2 [%d] = %v, want softcap(%v) = %v", i, qk[2][i], s, c)
		}
		if d := math.Abs(float64(qk[1][i]) - (c + float64(m[i%(qs*ks)]))); d > 1e-5 {
			t.Fatalf("mode 1 [%d] = %v, want %v", i, qk[1][i], c+float64(m[i%(qs*ks)]))
		}
	}
	for row := range len(qk[3]) / ks {
		var sum float64
		mx := math.Inf(-1)
		for j := range ks {
			mx = max(mx, float64(qk[1][row*ks+j]))
		}
		for j := range ks {
			sum += math.Exp(float64(qk[1][row*ks+j]) - mx)
		}
		for j := range ks {
			want := math.Exp(float64(qk[1][row*ks+j])-mx) / sum
			if d := math.Abs(float64(qk[3][row*ks+j]) - want); d > 1e-6 {
				t.Fatalf("mode 3 row %d [%d] = %v, want %v", row, j, qk[3][row*ks+j], want)
			}
		}
	}
}
