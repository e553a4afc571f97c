package exec

import (
	"fmt"
	"slices"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/onnx"
)

func init() {
	register("MatMul", 2, 2, 1, newMatMul)
	register("Gemm", 2, 3, 1, newGemm)
	register("MatMulInteger", 2, 4, 1, func(nc *nodeCtx) (kernel, error) { return newQMatMul(nc, false) })
	register("QLinearMatMul", 8, 8, 1, func(nc *nodeCtx) (kernel, error) { return newQMatMul(nc, true) })
}

// matmul is MatMul with numpy semantics: batch dimensions broadcast, a
// vector operand is promoted to a matrix and its dimension dropped after.
type matmul struct {
	g  *kernels.Sgemm
	pb *packedMat // B packed, when it is a constant float32 matrix
}

func newMatMul(nc *nodeCtx) (kernel, error) {
	k := &matmul{g: kernels.CurrentSgemm()}
	if b := nc.konst(1); b != nil && b.Type == onnx.Float && len(b.Shape) == 2 {
		k.pb = packB(k.g, b.Data.([]float32), b.Shape[1], false, b.Shape[0], b.Shape[1])
	}
	return k, nil
}

// matmulShape returns the output shape, the batch shape and m, k, n.
func matmulShape(a, b []int) (out, batch []int, m, k, n int, err error) {
	if len(a) == 0 || len(b) == 0 {
		return nil, nil, 0, 0, 0, fmt.Errorf("MatMul of a scalar")
	}
	as, bs := a, b
	if len(as) == 1 {
		as = []int{1, as[0]}
	}
	if len(bs) == 1 {
		bs = []int{bs[0], 1}
	}
	m, k = as[len(as)-2], as[len(as)-1]
	if bs[len(bs)-2] != k {
		return nil, nil, 0, 0, 0, fmt.Errorf("MatMul of %v and %v", a, b)
	}
	n = bs[len(bs)-1]
	batch, err = broadcastShape(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil {
		return nil, nil, 0, 0, 0, err
	}
	out = slices.Clone(batch)
	if len(a) > 1 {
		out = append(out, m)
	}
	if len(b) > 1 {
		out = append(out, n)
	}
	return out, batch, m, k, n, nil
}

func (k *matmul) infer(in, out []vinfo) error {
	out[0].typ = in[0].typ
	if in[0].rank < 1 || in[1].rank < 1 {
		return nil
	}
	a, b := slices.Clone(in[0].shape), slices.Clone(in[1].shape)
	// Unknown dimensions: substitute stand-ins that keep the check lenient.
	ka, kb := -1, -1
	if len(a) > 0 {
		ka = a[len(a)-1]
	}
	if len(b) == 1 {
		kb = b[0]
	} else {
		kb = b[len(b)-2]
	}
	if ka >= 0 && kb >= 0 && ka != kb {
		return fmt.Errorf("MatMul of %s and %s", formatShape(a), formatShape(b))
	}
	r := max(len(a), len(b))
	if len(a) == 1 {
		r--
	}
	if len(b) == 1 {
		r--
	}
	out[0].rank = max(r, 0)
	out[0].shape = make([]int, out[0].rank)
	for i := range out[0].shape {
		out[0].shape[i] = -1
	}
	if in[0].known() && in[1].known() {
		s, _, _, _, _, err := matmulShape(a, b)
		if err != nil {
			return err
		}
		out[0].shape = s
	}
	return nil
}

func (k *matmul) run(rc *runCtx, in, out []*Tensor) error {
	a, b := in[0], in[1]
	if a.Type != b.Type {
		return fmt.Errorf("%w: MatMul of %v and %v", onnx.ErrFormat, a.Type, b.Type)
	}
	shape, batch, m, kk, n, err := matmulShape(a.Shape, b.Shape)
	if err != nil {
		return err
	}
	o, err := rc.alloc(a.Type, shape)
	if err != nil {
		return err
	}
	out[0] = o
	if a.Type != onnx.Float {
		return matmulNaive(a, b, o, batch, m, kk, n)
	}
	ad, bd, od := a.Data.([]float32), b.Data.([]float32), o.Data.([]float32)
	if len(b.Shape) == 2 && len(a.Shape) >= 2 {
		// One weight matrix: fold A's batch into its rows.
		return k.product(rc, ad, bd, od, numel(batch)*m, kk, n)
	}
	// Batch offsets of A and B by broadcasting.
	nb := numel(batch)
	abatch, bbatch := a.Shape, b.Shape
	if len(abatch) >= 2 {
		abatch = abatch[:len(abatch)-2]
	} else {
		abatch = nil
	}
	if len(bbatch) >= 2 {
		bbatch = bbatch[:len(bbatch)-2]
	} else {
		bbatch = nil
	}
	aoff := batchOffsets(batch, abatch, m*kk)
	boff := batchOffsets(batch, bbatch, kk*n)
	for i := range nb {
		if err := k.product(rc, ad[aoff[i]:aoff[i]+m*kk], bd[boff[i]:boff[i]+kk*n], od[i*m*n:(i+1)*m*n], m, kk, n); err != nil {
			return err
		}
	}
	return nil
}

// batchOffsets returns, for each index of the broadcast batch shape, the
// offset of the matching matrix of an operand with batch shape sub.
func batchOffsets(batch, sub []int, size int) []int {
	nb := numel(batch)
	offs := make([]int, nb)
	if nb == 0 {
		return offs
	}
	r := len(batch)
	str := make([]int, r)
	acc := size
	for i := r - 1; i >= 0; i-- {
		j := i - (r - len(sub))
		if j >= 0 && sub[j] != 1 {
			str[i] = acc
		}
		if j >= 0 {
			acc *= sub[j]
		}
	}
	idx := make([]int, r)
	off := 0
	for i := range nb {
		offs[i] = off
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			off += str[d]
			if idx[d] < batch[d] {
				break
			}
			off -= batch[d] * str[d]
			idx[d] = 0
		}
	}
	return offs
}

// product computes one m×k by k×n product (B is the node's constant when
// k.pb is set).
func (k *matmul) product(rc *runCtx, a, b, c []float32, m, kk, n int) error {
	if m == 1 {
		rc.gemv(a, b, n, false, kk, n, c, false)
		return nil
	}
	pa, err := rc.packATemp(k.g, a, kk, false, m, kk, 1)
	if err != nil {
		return err
	}
	bm := kernels.BMatrix{Data: b, Stride: n}
	if k.pb != nil {
		bm = kernels.BMatrix{Data: k.pb.data, Packed: true}
	}
	rc.sgemm(k.g, m, n, kk, pa.Data.([]float32), bm, c, n, false)
	rc.release(pa)
	return nil
}

// matmulNaive multiplies non-float32 matrices (float64 and integers)
// directly.
func matmulNaive(a, b, o *Tensor, batch []int, m, k, n int) error {
	var ab, bb []int
	if len(a.Shape) >= 2 {
		ab = a.Shape[:len(a.Shape)-2]
	}
	if len(b.Shape) >= 2 {
		bb = b.Shape[:len(b.Shape)-2]
	}
	aoff := batchOffsets(batch, ab, m*k)
	boff := batchOffsets(batch, bb, k*n)
	switch ad := a.Data.(type) {
	case []float64:
		naiveMM(ad, b.Data.([]float64), o.Data.([]float64), aoff, boff, m, k, n)
	case []int32:
		naiveMM(ad, b.Data.([]int32), o.Data.([]int32), aoff, boff, m, k, n)
	case []int64:
		naiveMM(ad, b.Data.([]int64), o.Data.([]int64), aoff, boff, m, k, n)
	case []uint32:
		naiveMM(ad, b.Data.([]uint32), o.Data.([]uint32), aoff, boff, m, k, n)
	case []uint64:
		naiveMM(ad, b.Data.([]uint64), o.Data.([]uint64), aoff, boff, m, k, n)
	default:
		return fmt.Errorf("%w: MatMul of %v", ErrUnsupported, a.Type)
	}
	return nil
}

func naiveMM[T number](a, b, c []T, aoff, boff []int, m, k, n int) {
	for bi := range aoff {
		ao, bo, co := aoff[bi], boff[bi], bi*m*n
		for i := range m {
			for j := range n {
				var s T
				for p := range k {
					s += a[ao+i*k+p] * b[bo+p*n+j]
				}
				c[co+i*n+j] = s
			}
		}
	}
}

// gemm is Gemm: Y = alpha·A'·B' + beta·C.
type gemm struct {
	alpha, beta    float32
	transA, transB bool
	g              *kernels.Sgemm
	pa             *packedMat // A packed with alpha, when constant
	pb             *packedMat // B packed, when constant
}

func newGemm(nc *nodeCtx) (kernel, error) {
	k := &gemm{
		alpha:  nc.a.float("alpha", 1),
		beta:   nc.a.float("beta", 1),
		transA: nc.a.intIn("transA", 0, 0, 1) == 1,
		transB: nc.a.intIn("transB", 0, 0, 1) == 1,
		g:      kernels.CurrentSgemm(),
	}
	if nc.opset < 7 {
		nc.a.int("broadcast", 0) // C broadcasts either way here
	}
	if a := nc.konst(0); a != nil && a.Type == onnx.Float && len(a.Shape) == 2 {
		m, kk := a.Shape[0], a.Shape[1]
		if k.transA {
			m, kk = kk, m
		}
		k.pa = packA(k.g, a.Data.([]float32), a.Shape[1], k.transA, m, kk, k.alpha)
	}
	if b := nc.konst(1); b != nil && b.Type == onnx.Float && len(b.Shape) == 2 {
		kk, n := b.Shape[0], b.Shape[1]
		if k.transB {
			kk, n = n, kk
		}
		k.pb = packB(k.g, b.Data.([]float32), b.Shape[1], k.transB, kk, n)
	}
	return k, nil
}

func (k *gemm) infer(in, out []vinfo) error {
	out[0].typ = in[0].typ
	out[0].rank = 2
	out[0].shape = []int{-1, -1}
	if in[0].rank == 2 {
		out[0].shape[0] = in[0].shape[0]
		if k.transA {
			out[0].shape[0] = in[0].shape[1]
		}
	}
	if in[1].rank == 2 {
		out[0].shape[1] = in[1].shape[1]
		if k.transB {
			out[0].shape[1] = in[1].shape[0]
		}
	}
	return nil
}

func (k *gemm) run(rc *runCtx, in, out []*Tensor) error {
	a, b := in[0], in[1]
	if a.Type != onnx.Float || b.Type != onnx.Float {
		return fmt.Errorf("%w: Gemm of %v and %v", ErrUnsupported, a.Type, b.Type)
	}
	if len(a.Shape) != 2 || len(b.Shape) != 2 {
		return fmt.Errorf("Gemm of %v and %v: want matrices", a.Shape, b.Shape)
	}
	m, kk := a.Shape[0], a.Shape[1]
	if k.transA {
		m, kk = kk, m
	}
	kb, n := b.Shape[0], b.Shape[1]
	if k.transB {
		kb, n = n, kb
	}
	if kb != kk {
		return fmt.Errorf("Gemm of %v and %v (transA %v, transB %v)", a.Shape, b.Shape, k.transA, k.transB)
	}
	o, err := rc.alloc(onnx.Float, []int{m, n})
	if err != nil {
		return err
	}
	out[0] = o
	od := o.Data.([]float32)
	acc := false
	if len(in) > 2 && in[2] != nil && k.beta != 0 {
		c := in[2]
		if c.Type != onnx.Float {
			return fmt.Errorf("%w: Gemm C of %v", onnx.ErrFormat, c.Type)
		}
		if len(c.Shape) > 2 {
			return fmt.Errorf("Gemm C of shape %v", c.Shape)
		}
		if s, err := broadcastShape([]int{m, n}, c.Shape); err != nil || s[0] != m || s[1] != n {
			return fmt.Errorf("Gemm C of shape %v for a %dx%d product", c.Shape, m, n)
		}
		broadcastCopy(rc, o, c)
		if k.beta != 1 {
			for i := range od {
				od[i] *= k.beta
			}
		}
		acc = true
	}
	ad, bd := a.Data.([]float32), b.Data.([]float32)
	if m == 1 { // A (or its transpose, of one column) is one contiguous row
		x := ad[:kk]
		if k.alpha != 1 {
			t, err := rc.alloc(onnx.Float, []int{kk})
			if err != nil {
				return err
			}
			defer rc.release(t)
			xs := t.Data.([]float32)
			for i, v := range ad[:kk] {
				xs[i] = v * k.alpha
			}
			x = xs
		}
		rc.gemv(x, bd, b.Shape[1], k.transB, kk, n, od, acc)
		return nil
	}
	var pa []float32
	if k.pa != nil {
		pa = k.pa.data
	} else {
		t, err := rc.packATemp(k.g, ad, a.Shape[1], k.transA, m, kk, k.alpha)
		if err != nil {
			return err
		}
		defer rc.release(t)
		pa = t.Data.([]float32)
	}
	bm := kernels.BMatrix{Data: bd, Stride: b.Shape[1], Trans: k.transB}
	if k.pb != nil {
		bm = kernels.BMatrix{Data: k.pb.data, Packed: true}
	}
	rc.sgemm(k.g, m, n, kk, pa, bm, od, n, acc)
	return nil
}

// storeQuant saturates q to o's integer type and stores it at i.
func storeQuant(o *Tensor, i int, q float64) error {
	switch d := o.Data.(type) {
	case []uint8:
		d[i] = uint8(min(max(q, 0), 255))
	case []int8:
		d[i] = int8(min(max(q, -128), 127))
	default:
		return fmt.Errorf("%w: quantized type %v", ErrUnsupported, o.Type)
	}
	return nil
}
