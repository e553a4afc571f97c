package nn

import (
	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/kernels"
)

// maxFused is how many weight products one parallel loop can run (Q, K and
// V of attention).
const maxFused = 3

// Linear runs weight products on a worker pool: the one hot spot of the
// models. A Linear is used by one goroutine at a time (one per State); its
// zero value with Pool set is ready to use.
type Linear struct {
	Pool *parallel.Pool

	// the products in flight, read by matRows on the workers
	prods [maxFused]product
	np    int
	n     int
	acts  [maxFused][]byte // quantized activations of MatMulFused, grown then reused
	rows  func(lo, hi int) // l.matRows, bound once so MatMul allocates nothing

	fw [maxFused]*Tensor   // the weights of MatMul2/MatMul3
	fo [maxFused][]float32 // their outputs
}

// product is one weight product of a loop: its rows, taken unit rows per
// loop index (a packed group, or 1), are the loop's indices [start,
// start+units).
type product struct {
	w     *Tensor
	a     []byte
	out   []float32
	start int
	units int
	unit  int
}

// loopUnits returns how many rows of w one loop index covers (a packed
// tensor's products take whole groups) and how many indices w needs.
func loopUnits(w *Tensor) (unit, units int) {
	unit = 1
	if w.Packed {
		unit = kernels.PackGroup(w.Type)
	}
	return unit, (w.Rows() + unit - 1) / unit
}

// MatMul computes out = x · wᵀ for n rows of x (n x w.Cols()), writing n x
// w.Rows() values to out. The activations are first converted to the weight
// type's activation format (Q8_0, Q8_1, Q8_K, F16, ...) the way ggml does,
// into *act (grown as needed, then reused); the weight rows are then split
// across the pool's workers and read in place.
func (l *Linear) MatMul(w *Tensor, x []float32, n int, out []float32, act *[]byte) {
	a := quantizeRows(w, x, n, act)
	unit, units := loopUnits(w)
	l.prods[0] = product{w: w, a: a, out: out, units: units, unit: unit}
	l.np, l.n = 1, n
	l.run(units, unit*w.RowBytes())
}

// MatMulFused computes outs[i] = x · ws[i]ᵀ for every weight of ws (at most
// three, all with x's row length) in one parallel loop over their rows
// together, so the workers wait for the loop's end once instead of once per
// product. Each value is the one MatMul would compute. Activations are
// quantized once per activation type, into buffers the Linear owns.
func (l *Linear) MatMulFused(ws []*Tensor, x []float32, n int, outs [][]float32) {
	if len(ws) > maxFused || len(ws) != len(outs) {
		panic("nn: MatMulFused: bad product count") // a programming error
	}
	total, rb := 0, 0
	for i, w := range ws {
		var a []byte
		for j := range i { // an earlier product with the same activation type
			if kernels.ActivationType(ws[j].Type) == kernels.ActivationType(w.Type) {
				a = l.prods[j].a
				break
			}
		}
		if a == nil {
			a = quantizeRows(w, x, n, &l.acts[i])
		}
		unit, units := loopUnits(w)
		l.prods[i] = product{w: w, a: a, out: outs[i], start: total, units: units, unit: unit}
		total += units
		rb = max(rb, unit*w.RowBytes())
	}
	l.np, l.n = len(ws), n
	l.run(total, rb)
}

// quantizeRows converts n rows of x to w's activation type in *act.
func quantizeRows(w *Tensor, x []float32, n int, act *[]byte) []byte {
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
	return a
}

// run splits the loop's indices (rowBytes bytes of weights each, at most)
// across the pool.
func (l *Linear) run(indices, rowBytes int) {
	if l.rows == nil {
		l.rows = l.matRows
	}
	grain := max(1, (32<<10)/max(1, rowBytes))
	l.Pool.For(indices, grain, l.rows)
	for i := range l.np {
		l.prods[i] = product{}
	}
}

func (l *Linear) matRows(lo, hi int) {
	for i := range l.np {
		p := &l.prods[i]
		w := p.w
		ilo, ihi := max(lo, p.start)-p.start, min(hi, p.start+p.units)-p.start
		if ilo >= ihi {
			continue
		}
		rows := w.Rows()
		rlo, rhi := ilo*p.unit, min(ihi*p.unit, rows)
		if w.Packed {
			kernels.MatMulPacked(w.Type, w.Data, rows, w.Cols(), rlo, rhi, p.a, l.n, p.out, rows)
		} else {
			kernels.MatMul(w.Type, w.Data, w.Cols(), rlo, rhi, p.a, l.n, p.out, rows)
		}
	}
}

// MatMul2 is MatMulFused of two products (gate and up).
func (l *Linear) MatMul2(a, b *Tensor, x []float32, n int, oa, ob []float32) {
	l.fw = [maxFused]*Tensor{a, b}
	l.fo = [maxFused][]float32{oa, ob}
	l.MatMulFused(l.fw[:2], x, n, l.fo[:2])
	l.fw, l.fo = [maxFused]*Tensor{}, [maxFused][]float32{}
}

// MatMul3 is MatMulFused of three products (Q, K and V).
func (l *Linear) MatMul3(a, b, c *Tensor, x []float32, n int, oa, ob, oc []float32) {
	l.fw = [maxFused]*Tensor{a, b, c}
	l.fo = [maxFused][]float32{oa, ob, oc}
	l.MatMulFused(l.fw[:3], x, n, l.fo[:3])
	l.fw, l.fo = [maxFused]*Tensor{}, [maxFused][]float32{}
}
