package nn

import (
	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/kernels"
)

// Linear runs weight products on a worker pool: the one hot spot of the
// models. A Linear is used by one goroutine at a time (one per State); its
// zero value with Pool set is ready to use.
type Linear struct {
	Pool *parallel.Pool

	// the product in flight, read by matRows on the workers
	w    *Tensor
	a    []byte
	n    int
	out  []float32
	rows func(lo, hi int) // l.matRows, bound once so MatMul allocates nothing
}

// MatMul computes out = x · wᵀ for n rows of x (n x w.Cols()), writing n x
// w.Rows() values to out. The activations are first converted to the weight
// type's activation format (Q8_0, Q8_1, Q8_K, F16, ...) the way ggml does,
// into *act (grown as needed, then reused); the weight rows are then split
// across the pool's workers and read in place.
func (l *Linear) MatMul(w *Tensor, x []float32, n int, out []float32, act *[]byte) {
	cols := w.Cols()
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
	if l.rows == nil {
		l.rows = l.matRows
	}
	l.w, l.a, l.n, l.out = w, a, n, out
	grain := max(1, (32<<10)/max(1, w.RowBytes()))
	l.Pool.For(w.Rows(), grain, l.rows)
	l.w, l.a, l.out = nil, nil, nil
}

func (l *Linear) matRows(lo, hi int) {
	w := l.w
	kernels.MatMul(w.Type, w.Data, w.Cols(), lo, hi, l.a, l.n, l.out, w.Rows())
}
