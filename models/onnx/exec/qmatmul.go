package exec

import (
	"fmt"
	"slices"
	"sync"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/onnx"
)

// qmatmul is MatMulInteger, QLinearMatMul, and MatMulInteger fused with
// the Cast, Mul (and bias Add) of dynamic quantization: the product is
// computed transposed on kernels.QGemm, Bᵀ (the weights, one row per output
// column) as the signed operand and the rows of A (the activations) as the
// unsigned one (see qgemm.go).
type qmatmul struct {
	g       *kernels.QGemm
	qlinear bool
	// float: fused; the output is float32(sum)·scale (input scaleIn, one
	// value or one per column) + bias (per column, nil: none).
	float   bool
	scaleIn int
	bias    []float32

	constB bool // B and its zero point are constants (2-D B)
	once   sync.Once
	pw     *qweights
	werr   error
}

func newQMatMul(nc *nodeCtx, qlinear bool) (kernel, error) {
	k := &qmatmul{g: kernels.CurrentQGemm(), qlinear: qlinear}
	bi, zi := 1, 3
	if qlinear {
		bi, zi = 3, 5
	}
	if b := nc.konst(bi); b != nil && len(b.Shape) == 2 {
		k.constB = !nc.hasIn(zi) || nc.konst(zi) != nil
	}
	return k, nil
}

func (k *qmatmul) operands(in []*Tensor) (a, b, azp, bzp *Tensor) {
	at := func(i int) *Tensor {
		if i < len(in) {
			return in[i]
		}
		return nil
	}
	if k.qlinear {
		return at(0), at(3), at(2), at(5)
	}
	return at(0), at(1), at(2), at(3)
}

func (k *qmatmul) infer(in, out []vinfo) error {
	switch {
	case k.float:
		out[0].typ = onnx.Float
	case k.qlinear:
		out[0].typ = in[7].typ
	default:
		out[0].typ = onnx.Int32
	}
	a, b := in[0], in[1]
	if k.qlinear {
		b = in[3]
	}
	if a.known() && b.known() {
		s, _, _, _, _, err := matmulShape(a.shape, b.shape)
		if err != nil {
			return err
		}
		out[0].rank, out[0].shape = len(s), s
		return nil
	}
	if a.rank >= 2 && b.rank == 2 {
		// [..., M, N]: the last dimension from B.
		out[0].rank = a.rank
		out[0].shape = append(slices.Clone(a.shape[:a.rank-1]), b.shape[1])
	}
	return nil
}

// packB packs Bᵀ (n rows of depth k) with its zero points (one, or one per
// column).
func (k *qmatmul) packB(b []byte, flip byte, kk, n int, zp []int64) (*qweights, error) {
	if len(zp) > 1 && len(zp) != n {
		return nil, fmt.Errorf("%d B zero points for %d columns", len(zp), n)
	}
	bt := make([]byte, n*kk)
	for p := range kk {
		row := b[p*n : (p+1)*n]
		for j, v := range row {
			bt[j*kk+p] = v
		}
	}
	return packWeights(k.g, bt, kk, n, kk, zp, flip), nil
}

func (k *qmatmul) run(rc *runCtx, in, out []*Tensor) error {
	a, b, azpT, bzpT := k.operands(in)
	if a == nil || b == nil {
		return fmt.Errorf("%w: integer MatMul without operands", onnx.ErrFormat)
	}
	ab, aflip, err := bytesOf(a, false)
	if err != nil {
		return err
	}
	bb, bflip, err := bytesOf(b, true)
	if err != nil {
		return err
	}
	shape, batch, m, kk, n, err := matmulShape(a.Shape, b.Shape)
	if err != nil {
		return err
	}
	azp, err := zeroPointVals(azpT, a, "A")
	if err != nil {
		return err
	}
	bzp, err := zeroPointVals(bzpT, b, "B")
	if err != nil {
		return err
	}
	if len(azp) > 1 && len(azp) != m {
		return fmt.Errorf("%d A zero points for %d rows", len(azp), m)
	}
	ep := &qepi{}
	switch {
	case k.float:
		ep.kind = qoutFloat
		sv, ok := in[k.scaleIn].Data.([]float32)
		if !ok || (len(sv) != 1 && len(sv) != n) {
			return fmt.Errorf("fused MatMulInteger scale %v for %d columns", in[k.scaleIn], n)
		}
		ep.scale = make([]float32, n)
		for i := range ep.scale {
			ep.scale[i] = sv[min(i, len(sv)-1)]
		}
		ep.fbias = k.bias
		o, err := rc.alloc(onnx.Float, shape)
		if err != nil {
			return err
		}
		out[0] = o
		ep.f32 = o.Data.([]float32)
	case k.qlinear:
		as, err := scalarF32(in[1], "a_scale")
		if err != nil {
			return err
		}
		bs, ok := in[4].Data.([]float32)
		if !ok || (len(bs) != 1 && len(bs) != n) {
			return fmt.Errorf("b_scale %v for %d columns", in[4], n)
		}
		ys, err := scalarF32(in[6], "y_scale")
		if err != nil {
			return err
		}
		yzp := in[7]
		zy, err := intsOf(yzp)
		if err != nil || len(zy) != 1 {
			return fmt.Errorf("y_zero_point must be one integer")
		}
		ep.kind = qoutQuant
		ep.scale = make([]float32, n)
		for j := range ep.scale {
			ep.scale[j] = as * bs[min(j, len(bs)-1)] / ys
		}
		ep.qzp = float32(zy[0])
		switch yzp.Type {
		case onnx.Uint8:
			ep.qlo, ep.qhi = 0, 255
		case onnx.Int8:
			ep.qlo, ep.qhi = -128, 127
		default:
			return fmt.Errorf("%w: QLinearMatMul output of %v", ErrUnsupported, yzp.Type)
		}
		o, err := rc.alloc(yzp.Type, shape)
		if err != nil {
			return err
		}
		out[0] = o
		ep.q8, _, _ = bytesOf(o, false)
	default:
		ep.kind = qoutInt32
		o, err := rc.alloc(onnx.Int32, shape)
		if err != nil {
			return err
		}
		out[0] = o
		ep.i32 = o.Data.([]int32)
	}
	if numel(shape) == 0 {
		return nil
	}
	// Rows of A (folded over its batch when B is one matrix).
	var abatch, bbatch []int
	if len(a.Shape) >= 2 {
		abatch = a.Shape[:len(a.Shape)-2]
	}
	if len(b.Shape) >= 2 {
		bbatch = b.Shape[:len(b.Shape)-2]
	}
	rows, nbatch := m, numel(batch)
	var aoff, boff []int
	if len(b.Shape) <= 2 {
		rows, nbatch = m*max(numel(abatch), 1), 1
		aoff, boff = []int{0}, []int{0}
	} else {
		aoff = batchOffsets(batch, abatch, m*kk)
		boff = batchOffsets(batch, bbatch, kk*n)
	}
	nz := 1
	if len(azp) > 1 {
		nz = rows
	}
	zb := make([]int32, nz)
	for i := range zb {
		var z int64
		if len(azp) == 1 {
			z = azp[0]
		} else if len(azp) > 1 {
			z = azp[i%m]
		}
		zb[i] = int32(byte(z) ^ aflip)
	}
	ep.rowStride, ep.colStride = 1, n
	for bi := range nbatch {
		var pw *qweights
		if k.constB && !rc.fold {
			k.once.Do(func() { k.pw, k.werr = k.packB(bb, bflip, kk, n, bzp) })
			pw, err = k.pw, k.werr
		} else {
			pw, err = k.packB(bb[boff[bi]:boff[bi]+kk*n], bflip, kk, n, bzp)
		}
		if err != nil {
			return err
		}
		arows := ab[aoff[bi] : aoff[bi]+rows*kk]
		q := &qproduct{g: k.g, w: pw, m: n, n: rows, k: kk, zb: zb, out: ep, outOff: bi * m * n}
		q.fillB = func(pb, _ []byte, c0, nb int, sums []int32) {
			k.g.PackBT(pb, arows, kk, kk, c0, nb, aflip, sums)
		}
		q.run(rc, 0)
	}
	return nil
}

// scalarF32 reads a one-value float32 tensor.
func scalarF32(t *Tensor, what string) (float32, error) {
	v, ok := t.Data.([]float32)
	if !ok || len(v) != 1 {
		return 0, fmt.Errorf("%s must be one float32, is %v", what, t)
	}
	return v[0], nil
}
