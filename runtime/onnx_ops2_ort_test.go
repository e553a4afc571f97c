package runtime_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeai-go/edgeai/models/onnx"
	"github.com/edgeai-go/edgeai/runtime"
)

func aF(name string, v float32) *onnx.Attribute {
	return &onnx.Attribute{Name: name, Type: onnx.AttrFloat, F: v}
}

func f32Scalar(v float32) *runtime.Tensor {
	t, _ := runtime.NewTensor(nil, []float32{v})
	return t
}

func i64Scalar(v int64) *runtime.Tensor {
	t, _ := runtime.NewTensor(nil, []int64{v})
	return t
}

func f32T(shape []int64, v ...float32) *runtime.Tensor {
	t, _ := runtime.NewTensor(shape, v)
	return t
}

func f64T(r *rand.Rand, shape ...int64) *runtime.Tensor {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	t, _ := runtime.NewTensor(shape, v)
	return t
}

// uniformF32 is a tensor of values uniform in [lo, hi).
func uniformF32(r *rand.Rand, lo, hi float32, shape ...int64) *runtime.Tensor {
	t := randF32(r, shape...)
	v := t.Data.([]float32)
	for i := range v {
		v[i] = lo + (hi-lo)*r.Float32()
	}
	return t
}

// TestNormalizationAgainstORT: LayerNormalization (axes, float64, the
// statistics outputs), GroupNormalization (opset 18's per-group and 21's
// per-channel parameters) and RMSNormalization (opset 23).
func TestNormalizationAgainstORT(t *testing.T) {
	needORT(t)
	r := rand.New(rand.NewPCG(21, 1))
	cases := []opCase{
		{name: "layernorm_axis1_stats", op: "LayerNormalization", opset: 17, attrs: []*onnx.Attribute{aI("axis", 1), aF("epsilon", 1e-3)},
			inputs: []*runtime.Tensor{randF32(r, 3, 4, 5), nil, nil}, consts: []*runtime.Tensor{nil, randF32(r, 4, 5), randF32(r, 5)}, nout: 3},
		{name: "layernorm_last_noBias", op: "LayerNormalization", opset: 17,
			inputs: []*runtime.Tensor{randF32(r, 2, 7, 33), nil}, consts: []*runtime.Tensor{nil, randF32(r, 33)}, nout: 1},
		{name: "layernorm_float64", op: "LayerNormalization", opset: 17, attrs: []*onnx.Attribute{aI("axis", -2)},
			inputs: []*runtime.Tensor{f64T(r, 2, 3, 6), nil, nil}, consts: []*runtime.Tensor{nil, f64T(r, 3, 6), f64T(r, 3, 6)}, nout: 1,
			outTypes: []onnx.DataType{onnx.Double}},
		{name: "groupnorm18", op: "GroupNormalization", opset: 18, attrs: []*onnx.Attribute{aI("num_groups", 3), aF("epsilon", 1e-4)},
			inputs: []*runtime.Tensor{randF32(r, 2, 6, 5, 4), nil, nil}, consts: []*runtime.Tensor{nil, randF32(r, 3), randF32(r, 3)}, nout: 1},
		{name: "groupnorm21", op: "GroupNormalization", opset: 21, attrs: []*onnx.Attribute{aI("num_groups", 2)},
			inputs: []*runtime.Tensor{randF32(r, 2, 6, 7), nil, nil}, consts: []*runtime.Tensor{nil, randF32(r, 6), randF32(r, 6)}, nout: 1},
		{name: "rmsnorm", op: "RMSNormalization", opset: 23,
			inputs: []*runtime.Tensor{randF32(r, 2, 5, 16), nil}, consts: []*runtime.Tensor{nil, randF32(r, 16)}, nout: 1},
		{name: "rmsnorm_axis1", op: "RMSNormalization", opset: 23, attrs: []*onnx.Attribute{aI("axis", 1), aF("epsilon", 1e-2)},
			inputs: []*runtime.Tensor{randF32(r, 3, 4, 5), nil}, consts: []*runtime.Tensor{nil, randF32(r, 4, 5)}, nout: 1},
	}
	runOpCases(t, cases)
}

// TestDetectionOpsAgainstORT: NonMaxSuppression and RoiAlign.
func TestDetectionOpsAgainstORT(t *testing.T) {
	needORT(t)
	r := rand.New(rand.NewPCG(21, 2))
	// Boxes clustered so that many overlap, some with flipped corners.
	boxes := func(b, n int64) *runtime.Tensor {
		v := make([]float32, b*n*4)
		for i := range b * n {
			cx, cy := 10*r.Float32(), 10*r.Float32()
			w, h := 1+3*r.Float32(), 1+3*r.Float32()
			v[i*4], v[i*4+1], v[i*4+2], v[i*4+3] = cy-h/2, cx-w/2, cy+h/2, cx+w/2
			if i%5 == 0 {
				v[i*4], v[i*4+2] = v[i*4+2], v[i*4]
			}
		}
		return f32T([]int64{b, n, 4}, v...)
	}
	scores := func(b, c, n int64) *runtime.Tensor {
		t := uniformF32(r, 0, 1, b, c, n)
		v := t.Data.([]float32)
		v[3] = v[7] // a tie
		return t
	}
	i64 := []onnx.DataType{onnx.Int64}
	cases := []opCase{
		{name: "nms_all", op: "NonMaxSuppression", opset: 11, inputs: []*runtime.Tensor{boxes(2, 40), scores(2, 3, 40), nil, nil, nil},
			consts: []*runtime.Tensor{nil, nil, i64T([]int64{1}, 10), f32T([]int64{1}, 0.3), f32T([]int64{1}, 0.2)}, nout: 1, outTypes: i64},
		{name: "nms_no_score_threshold", op: "NonMaxSuppression", opset: 10, inputs: []*runtime.Tensor{boxes(1, 30), scores(1, 2, 30), nil, nil},
			consts: []*runtime.Tensor{nil, nil, i64Scalar(30), f32Scalar(0.5)}, nout: 1, outTypes: i64},
		{name: "nms_center", op: "NonMaxSuppression", opset: 11, attrs: []*onnx.Attribute{aI("center_point_box", 1)},
			inputs: []*runtime.Tensor{uniformF32(r, 1, 8, 1, 25, 4), scores(1, 1, 25), nil, nil, nil},
			consts: []*runtime.Tensor{nil, nil, i64Scalar(5), f32Scalar(0.1), f32Scalar(0.5)}, nout: 1, outTypes: i64},
		{name: "nms_default_max", op: "NonMaxSuppression", opset: 11, inputs: []*runtime.Tensor{boxes(1, 10), scores(1, 1, 10)}, nout: 1, outTypes: i64},
	}
	feat := randF32(r, 2, 3, 12, 16)
	rois := f32T([]int64{5, 4}, 0, 0, 15, 11, 2.5, 1.2, 9.7, 6.1, -3, -2, 4, 5, 10, 8, 30, 20, 4, 4, 4.5, 4.2)
	bi := i64T([]int64{5}, 0, 1, 1, 0, 1)
	for _, mode := range []string{"avg", "max"} {
		for _, ctm := range []string{"half_pixel", "output_half_pixel"} {
			for _, sr := range []int64{0, 2} {
				cases = append(cases, opCase{name: fmt.Sprintf("roialign_%s_%s_sr%d", mode, ctm, sr), op: "RoiAlign", opset: 16,
					attrs: []*onnx.Attribute{aS("mode", mode), aS("coordinate_transformation_mode", ctm), aI("sampling_ratio", sr),
						aI("output_height", 3), aI("output_width", 4), aF("spatial_scale", 0.5)},
					inputs: []*runtime.Tensor{feat, nil, nil}, consts: []*runtime.Tensor{nil, rois, bi}, nout: 1})
			}
		}
	}
	cases = append(cases, opCase{name: "roialign_opset10", op: "RoiAlign", opset: 10, attrs: []*onnx.Attribute{aI("output_height", 2), aI("output_width", 2)},
		inputs: []*runtime.Tensor{feat, nil, nil}, consts: []*runtime.Tensor{nil, rois, bi}, nout: 1})
	runOpCases(t, cases)
}

// TestGridSampleAgainstORT: every mode, padding and align_corners value,
// at opsets 16 and 20, grids reaching outside the image; 3-D volumes.
func TestGridSampleAgainstORT(t *testing.T) {
	needORT(t)
	r := rand.New(rand.NewPCG(21, 3))
	x := randF32(r, 2, 3, 5, 7)
	grid := uniformF32(r, -1.6, 1.6, 2, 4, 6, 2)
	var cases []opCase
	for _, op := range []struct {
		opset int64
		modes []string
	}{{16, []string{"bilinear", "nearest", "bicubic"}}, {20, []string{"linear", "nearest", "cubic"}}} {
		for _, mode := range op.modes {
			for _, pad := range []string{"zeros", "border", "reflection"} {
				for _, align := range []int64{0, 1} {
					cases = append(cases, opCase{name: fmt.Sprintf("gridsample%d_%s_%s_align%d", op.opset, mode, pad, align), op: "GridSample", opset: op.opset,
						attrs:  []*onnx.Attribute{aS("mode", mode), aS("padding_mode", pad), aI("align_corners", align)},
						inputs: []*runtime.Tensor{x, grid}, nout: 1})
				}
			}
		}
	}
	vol, grid3 := randF32(r, 1, 2, 4, 5, 6), uniformF32(r, -1.3, 1.3, 1, 3, 4, 5, 3)
	for _, mode := range []string{"linear", "nearest"} {
		for _, pad := range []string{"zeros", "border", "reflection"} {
			cases = append(cases, opCase{name: fmt.Sprintf("gridsample3d_%s_%s", mode, pad), op: "GridSample", opset: 20,
				attrs: []*onnx.Attribute{aS("mode", mode), aS("padding_mode", pad)}, inputs: []*runtime.Tensor{vol, grid3}, nout: 1})
		}
	}
	runOpCases(t, cases)
}

// TestSignalOpsAgainstORT: STFT, DFT (opsets 17 and 20), the windows and
// MelWeightMatrix. ONNX Runtime computes the transforms by FFT in float32,
// the go backend as a product with a basis; both are within float32
// rounding of the exact transform, so the bound is relative to the
// largest output. (A complex signal is left out: ONNX Runtime 1.30's
// STFT of one gives NaN in its last value; exec's tests check it against
// the definition.)
func TestSignalOpsAgainstORT(t *testing.T) {
	needORT(t)
	r := rand.New(rand.NewPCG(21, 4))
	sig := randF32(r, 2, 300, 1)
	hann := make([]float32, 64)
	for i := range hann {
		hann[i] = float32(0.5 - 0.5*cosF(2*3.141592653589793*float64(i)/64))
	}
	const st, at = 1e-4, 2e-4
	cases := []opCase{
		{name: "stft_window", op: "STFT", opset: 17, inputs: []*runtime.Tensor{sig, nil, nil},
			consts: []*runtime.Tensor{nil, i64Scalar(16), f32T([]int64{64}, hann...)}, nout: 1, rtol: st, atol: at},
		{name: "stft_length_twosided", op: "STFT", opset: 17, attrs: []*onnx.Attribute{aI("onesided", 0)}, inputs: []*runtime.Tensor{sig, nil, nil, nil},
			consts: []*runtime.Tensor{nil, i64Scalar(25), nil, i64Scalar(48)}, nout: 1, rtol: st, atol: at},
		{name: "dft17", op: "DFT", opset: 17, inputs: []*runtime.Tensor{randF32(r, 3, 40, 1)}, nout: 1, rtol: st, atol: at},
		{name: "dft17_axis2_onesided_len", op: "DFT", opset: 17, attrs: []*onnx.Attribute{aI("axis", 2), aI("onesided", 1)},
			inputs: []*runtime.Tensor{randF32(r, 2, 3, 20, 1), nil}, consts: []*runtime.Tensor{nil, i64Scalar(32)}, nout: 1, rtol: st, atol: at},
		{name: "dft17_inverse_complex", op: "DFT", opset: 17, attrs: []*onnx.Attribute{aI("inverse", 1)},
			inputs: []*runtime.Tensor{randF32(r, 2, 24, 2)}, nout: 1, rtol: st, atol: at},
		{name: "dft20_axis_input_truncate", op: "DFT", opset: 20, inputs: []*runtime.Tensor{randF32(r, 2, 30, 5, 2), nil, nil},
			consts: []*runtime.Tensor{nil, i64Scalar(16), i64Scalar(1)}, nout: 1, rtol: st, atol: at},
		{name: "dft20_default_axis", op: "DFT", opset: 20, inputs: []*runtime.Tensor{randF32(r, 3, 36, 1)}, nout: 1, rtol: st, atol: at},
		{name: "mel", op: "MelWeightMatrix", opset: 17, inputs: []*runtime.Tensor{i64Scalar(20), nil, nil, nil, nil},
			consts: []*runtime.Tensor{nil, i64Scalar(512), i64Scalar(16000), f32Scalar(60), f32Scalar(7800)}, nout: 1},
		{name: "mel_small", op: "MelWeightMatrix", opset: 17, inputs: []*runtime.Tensor{i64Scalar(8), nil, nil, nil, nil},
			consts: []*runtime.Tensor{nil, i64Scalar(64), i64Scalar(8000), f32Scalar(0), f32Scalar(4000)}, nout: 1},
	}
	for _, w := range []string{"HannWindow", "HammingWindow", "BlackmanWindow"} {
		for _, periodic := range []int64{0, 1} {
			cases = append(cases, opCase{name: fmt.Sprintf("%s_p%d", w, periodic), op: w, opset: 17, attrs: []*onnx.Attribute{aI("periodic", periodic)},
				inputs: []*runtime.Tensor{i64Scalar(31)}, nout: 1})
		}
	}
	runOpCases(t, cases)
}

func cosF(x float64) float64 { return math.Cos(x) }

func boolT(r *rand.Rand, p float64, shape ...int64) *runtime.Tensor {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	v := make([]bool, n)
	for i := range v {
		v[i] = r.Float64() < p
	}
	t, _ := runtime.NewTensor(shape, v)
	return t
}

// TestAttentionAgainstORT: Attention (opset 23) with 4-D and 3-D inputs,
// grouped key/value heads, causal and explicit masks, past keys and
// values, softcap, scale and every qk_matmul_output mode; RotaryEmbedding
// in both layouts, halves and interleaved, with and without position ids.
func TestAttentionAgainstORT(t *testing.T) {
	needORT(t)
	r := rand.New(rand.NewPCG(21, 5))
	const b, qh, kvh, qs, kvs, hd, vd, past = 2, 4, 2, 5, 6, 8, 6, 3
	q4, k4, v4 := randF32(r, b, qh, qs, hd), randF32(r, b, kvh, kvs, hd), randF32(r, b, kvh, kvs, vd)
	pk, pv := randF32(r, b, kvh, past, hd), randF32(r, b, kvh, past, vd)
	ff := []onnx.DataType{onnx.Float, onnx.Float, onnx.Float, onnx.Float}
	cases := []opCase{
		{name: "attention_4d", op: "Attention", opset: 23, inputs: []*runtime.Tensor{q4, k4, v4}, nout: 1},
		{name: "attention_gqa_causal_square", op: "Attention", opset: 23, attrs: []*onnx.Attribute{aI("is_causal", 1)},
			inputs: []*runtime.Tensor{q4, randF32(r, b, kvh, qs, hd), randF32(r, b, kvh, qs, vd)}, nout: 1},
		{name: "attention_bool_mask", op: "Attention", opset: 23,
			inputs: []*runtime.Tensor{q4, k4, v4, boolT(r, 0.7, qs, kvs)}, nout: 1},
		{name: "attention_float_mask_scale_softcap", op: "Attention", opset: 23, attrs: []*onnx.Attribute{aF("scale", 0.2), aF("softcap", 2)},
			inputs: []*runtime.Tensor{q4, k4, v4, randF32(r, b, 1, qs, kvs)}, nout: 1},
		{name: "attention_past", op: "Attention", opset: 23,
			inputs: []*runtime.Tensor{q4, k4, v4, nil, pk, pv}, nout: 3, outTypes: ff},
		{name: "attention_past_causal", op: "Attention", opset: 23, attrs: []*onnx.Attribute{aI("is_causal", 1)},
			inputs: []*runtime.Tensor{q4, randF32(r, b, kvh, qs, hd), randF32(r, b, kvh, qs, vd), nil, pk, pv}, nout: 3, outTypes: ff},
		{name: "attention_3d", op: "Attention", opset: 23, attrs: []*onnx.Attribute{aI("q_num_heads", qh), aI("kv_num_heads", kvh)},
			inputs: []*runtime.Tensor{randF32(r, b, qs, qh*hd), randF32(r, b, kvs, kvh*hd), randF32(r, b, kvs, kvh*vd)}, nout: 1},
	}
	// Modes 1 and 2 are left out: ONNX Runtime 1.30 returns values for
	// them that change from one run to the next (not all of the output is
	// written).
	for _, mode := range []int64{0, 3} {
		cases = append(cases, opCase{name: fmt.Sprintf("attention_qk_mode%d", mode), op: "Attention", opset: 23,
			attrs:  []*onnx.Attribute{aI("qk_matmul_output_mode", mode), aF("softcap", 3)},
			inputs: []*runtime.Tensor{q4, k4, v4, randF32(r, qs, kvs+past), pk, pv}, nout: 4, outTypes: ff})
	}
	const heads, seq, hsz, maxPos = 3, 5, 8, 12
	pos := i64T([]int64{b, seq}, 0, 1, 2, 3, 4, 7, 3, 11, 0, 5)
	for _, il := range []int64{0, 1} {
		cases = append(cases,
			opCase{name: fmt.Sprintf("rotary_4d_pos_il%d", il), op: "RotaryEmbedding", opset: 23, attrs: []*onnx.Attribute{aI("interleaved", il)},
				inputs: []*runtime.Tensor{randF32(r, b, heads, seq, hsz), nil, nil, pos}, consts: []*runtime.Tensor{nil, randF32(r, maxPos, hsz/2), randF32(r, maxPos, hsz/2)}, nout: 1},
			opCase{name: fmt.Sprintf("rotary_3d_partial_il%d", il), op: "RotaryEmbedding", opset: 23,
				attrs:  []*onnx.Attribute{aI("interleaved", il), aI("num_heads", heads), aI("rotary_embedding_dim", 4)},
				inputs: []*runtime.Tensor{randF32(r, b, seq, heads*hsz), randF32(r, b, seq, 2), randF32(r, b, seq, 2)}, nout: 1},
		)
	}
	runOpCases(t, cases)
}

// TestEinsumAgainstORT: contractions (the batched-GEMM path: permuted
// operands and outputs, ellipses, outer and inner products) and the
// equations evaluated directly (diagonals, sums within one operand,
// three operands, broadcasting).
func TestEinsumAgainstORT(t *testing.T) {
	needORT(t)
	r := rand.New(rand.NewPCG(21, 6))
	type eq struct {
		eq     string
		shapes [][]int64
	}
	var cases []opCase
	for i, e := range []eq{
		{"bhqd,bhkd->bhqk", [][]int64{{2, 3, 5, 8}, {2, 3, 7, 8}}},
		{"bhqk,bhkd->bhqd", [][]int64{{2, 3, 5, 7}, {2, 3, 7, 8}}},
		{"bij,bjk->bik", [][]int64{{3, 4, 5}, {3, 5, 6}}},
		{"abc,cd->dba", [][]int64{{2, 3, 4}, {4, 5}}},
		{"ij,kj->ik", [][]int64{{6, 9}, {7, 9}}},
		{"ij,ij->i", [][]int64{{5, 8}, {5, 8}}},
		{"i,j->ij", [][]int64{{5}, {7}}},
		{"i,i", [][]int64{{40}, {40}}},
		{"...ij,...jk->...ik", [][]int64{{2, 3, 4, 5}, {2, 3, 5, 2}}},
		{"nchw,kc->nkhw", [][]int64{{2, 6, 3, 4}, {5, 6}}},
		{"b i d, b j d -> b i j", [][]int64{{2, 4, 6}, {2, 3, 6}}},
		{"ii->i", [][]int64{{5, 5}}},
		{"ij->", [][]int64{{4, 6}}},
		{"ijk,k->ij", [][]int64{{3, 4, 5}, {5}}},
		{"ij,jk,kl->il", [][]int64{{3, 4}, {4, 5}, {5, 2}}},
		{"...ij,jk->...ik", [][]int64{{1, 3, 4}, {4, 2}}},
		{"bij,bjk->bik", [][]int64{{1, 4, 5}, {3, 5, 6}}},
		{"ij,jk", [][]int64{{64, 48}, {48, 80}}},
	} {
		c := opCase{name: fmt.Sprintf("einsum%d", i), op: "Einsum", opset: 12, attrs: []*onnx.Attribute{aS("equation", e.eq)}, nout: 1, rtol: 1e-5, atol: 1e-5}
		if e.eq == "i,i" || e.eq == "ij->" {
			c.outShapes = [][]int64{{}}
		}
		for _, s := range e.shapes {
			c.inputs = append(c.inputs, randF32(r, s...))
		}
		cases = append(cases, c)
	}
	runOpCases(t, cases)
}
