package nn

import (
	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/kernels"
)

// Linear runs weight products on a worker pool: the one hot spot of the models.
type Linear struct {
	Pool *parallel.Pool
}

// MatMul computes out = x · wᵀ for n rows of x (n x w.Cols()), writing n x
// w.Rows() values to out. The activations are first converted to the weight
// type's activation format (Q8_0, Q8_1, Q8_K, F16, ...) the way ggml does,
// into *act (grown as needed, then reused); the weight rows are split across
// the pool's workers and read in place.
func (l *Linear) MatMul(w *Tensor, x []float32, n int, out []float32, act *[]byte) {
	cols, rows := w.Cols(), w.Rows()
	at := kernels.ActivationType(w.Type)
	rb, err := at.RowBytes(cols)
	if err != nil {
		panic("nn: " + w.Name + ": " + err.Error()) // shapes were checked at load
	}
	if cap(*act) < n*rb {
		*act = make([]byte, n*rb)
	}
	a := (*act)[:n*rb]
	for j := 0; j < n; j++ {
		kernels.QuantizeActivation(at, x[j*cols:(j+1)*cols], a[j*rb:(j+1)*rb])
	}
	wrb := w.RowBytes()
	grain := max(1, (32<<10)/max(1, wrb))
	l.Pool.For(rows, grain, func(lo, hi int) {
		kernels.MatMul(w.Type, w.Data, cols, lo, hi, a, n, out, rows)
	})
}
