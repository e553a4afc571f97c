package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/edgeai-go/edgeai/models/onnx"
	"github.com/edgeai-go/edgeai/models/onnx/exec"
	"github.com/edgeai-go/edgeai/runtime"
)

// Node tests use the tolerances of ONNX's own backend test runner
// (onnx/backend/test/runner: rtol 1e-3, atol 1e-7).
const nodeRTol, nodeATol = 1e-3, 1e-7

// nodeExpected lists, per backend, the node tests it does not pass, with
// the reason. Every other node test must pass, and each of these must still
// fail (so the lists stay true).
var nodeExpected = map[string]map[string]string{
	runtime.ONNXBackendORT: {
		"test_cast_FLOAT_to_BFLOAT16":             "reference data (ONNX 1.12) truncates float32 to bfloat16; ONNX Runtime rounds to nearest even (1 bfloat16 ulp apart)",
		"test_cast_FLOAT_to_STRING":               "ONNX Runtime prints floats with 8 significant digits (\"0.60484552\"), the reference with the shortest form (\"0.6048455\")",
		"test_lstm_batchwise":                     "ONNX Runtime's CPU LSTM rejects layout=1 (batch-major): \"Batchwise recurrent operations (layout == 1) are not supported\"",
		"test_max_int16":                          "ONNX Runtime 1.30 has no CPU kernel for Max on int16",
		"test_max_uint16":                         "ONNX Runtime 1.30 has no CPU kernel for Max on uint16",
		"test_min_int16":                          "ONNX Runtime 1.30 has no CPU kernel for Min on int16",
		"test_min_uint16":                         "ONNX Runtime 1.30 has no CPU kernel for Min on uint16",
		"test_pow_types_float32_uint32":           "ONNX Runtime 1.30 has no CPU kernel for Pow with a uint32 exponent",
		"test_pow_types_float32_uint64":           "ONNX Runtime 1.30 has no CPU kernel for Pow with a uint64 exponent",
		"test_maxunpool_export_with_output_shape": "MaxUnpool with output_shape 5x5 from a 4x4 pooled input: ONNX Runtime reads the indices as flat positions in the 5x5 output, the reference as positions in the 4x4 tensor MaxPool saw",
		"test_identity_opt":                       "unsupported: optional(sequence) input and output; the API passes tensors only",
		"test_identity_sequence":                  "unsupported: sequence input and output; the API passes tensors only",
		"test_dft":                                fftResidue,
		"test_dft_axis":                           fftResidue,
		"test_dft_inverse":                        fftResidue,
		"test_stft":                               fftResidue,
		"test_stft_with_window":                   fftResidue,
	},
	runtime.ONNXBackendGo: {
		"test_cast_FLOAT_to_BFLOAT16": "reference data (ONNX 1.12) truncates float32 to bfloat16; the go backend rounds to nearest even, as ONNX Runtime and later ONNX releases do",
		"test_identity_opt":           "unsupported: optional(sequence) input and output; the API passes tensors only",
		"test_identity_sequence":      "unsupported: sequence input and output; the API passes tensors only",
	},
}

// debianNodeData is where Debian's libonnx-testdata package (1.12.0, the
// source of the node tests in ../shared) installs all 932 of ONNX's node
// tests; ../shared carries a selection of 439.
const debianNodeData = "/usr/share/libonnx-testdata/data/node"

// moreNodePrefixes names the node tests, beyond ../shared's selection,
// of the operators added for issue 21's sweep.
var moreNodePrefixes = []string{
	"test_nonmaxsuppression_", "test_roialign_", "test_gridsample",
	"test_stft", "test_dft", "test_hannwindow", "test_hammingwindow", "test_blackmanwindow",
	"test_melweightmatrix",
}

const fftResidue = "ONNX Runtime's float32 FFT leaves rounding residue (up to 2.4e-4) where the float64 reference is exactly 0, beyond the runner's atol 1e-7"

type nodeResult struct {
	name, ops, opset, status, detail string
}

// runNodeTest runs one node test directory through the backend.
func runNodeTest(ctx context.Context, dir, backend string) (status, detail string) {
	s, err := runtime.LoadONNX(ctx, filepath.Join(dir, "model.onnx"), runtime.ONNXOptions{Backend: backend, Threads: 1})
	if err != nil {
		if strings.Contains(err.Error(), "only tensors are supported") {
			return "unsupported", err.Error()
		}
		return "error", err.Error()
	}
	defer s.Close()
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if len(sets) == 0 {
		return "error", "no test_data_set_*"
	}
	for _, set := range sets {
		in := map[string]*runtime.Tensor{}
		for i, ti := range s.Inputs() {
			t, err := runtime.ReadTensorFile(filepath.Join(set, "input_"+strconv.Itoa(i)+".pb"))
			if err != nil {
				return "error", err.Error()
			}
			in[ti.Name] = t
		}
		out, err := s.Run(ctx, in)
		if err != nil {
			return "error", err.Error()
		}
		for i, ti := range s.Outputs() {
			want, err := runtime.ReadTensorFile(filepath.Join(set, "output_"+strconv.Itoa(i)+".pb"))
			if err != nil {
				return "error", err.Error()
			}
			if err := runtime.CompareTensors(out[ti.Name], want, nodeRTol, nodeATol); err != nil {
				return "fail", fmt.Sprintf("%s: output %q: %v", filepath.Base(set), ti.Name, err)
			}
		}
	}
	return "pass", ""
}

// runNodeTests runs the node tests of dirs (sorted) through a backend and
// checks each result against expected: it returns the results and
// counts, and the list of disagreements (a test failing that should pass,
// one passing that expected lists).
func runNodeTests(dirs []string, index map[string][2]string, backend string, expected map[string]string) ([]nodeResult, map[string]int, []string) {
	sort.Strings(dirs)
	var results []nodeResult
	var bad []string
	counts := map[string]int{}
	for _, dir := range dirs {
		name := filepath.Base(dir)
		status, detail := runNodeTest(context.Background(), dir, backend)
		counts[status]++
		ix, ok := index[name]
		if !ok {
			ix = opsOf(dir)
		}
		results = append(results, nodeResult{name, ix[0], ix[1], status, detail})
		reason, isExpected := expected[name]
		switch {
		case status == "pass" && isExpected:
			bad = append(bad, fmt.Sprintf("%s: %s passes now; remove it from the expected failures (%s)", backend, name, reason))
		case status != "pass" && !isExpected:
			bad = append(bad, fmt.Sprintf("%s: %s: %s: %s", backend, name, status, detail))
		}
	}
	return results, counts, bad
}

// readIndex reads node/INDEX.tsv: test name -> (op types, opset).
func readIndex(nodeDir string) (map[string][2]string, error) {
	raw, err := os.ReadFile(filepath.Join(nodeDir, "INDEX.tsv"))
	if err != nil {
		return nil, err
	}
	out := map[string][2]string{}
	for _, line := range strings.Split(string(raw), "\n")[1:] {
		f := strings.Split(line, "\t")
		if len(f) >= 3 {
			out[f[0]] = [2]string{f[1], f[2]}
		}
	}
	return out, nil
}

// opsOf lists the operators of a node test's model, for tests that
// INDEX.tsv does not describe.
func opsOf(dir string) [2]string {
	m, err := onnx.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return [2]string{"?", "?"}
	}
	var ops []string
	for _, c := range m.Ops() {
		ops = append(ops, c.OpType)
	}
	sort.Strings(ops)
	v, _ := m.OpsetVersion("")
	return [2]string{strings.Join(ops, ","), strconv.FormatInt(v, 10)}
}

// moreNodeTests returns the directories of the Debian package's node
// tests that moreNodePrefixes select.
func moreNodeTests(dir string) []string {
	dirs, _ := filepath.Glob(filepath.Join(dir, "test_*"))
	var sel []string
	for _, d := range dirs {
		for _, p := range moreNodePrefixes {
			if strings.HasPrefix(filepath.Base(d), p) {
				sel = append(sel, d)
				break
			}
		}
	}
	return sel
}

// onnxOps lists the operators of ONNX's default domain up to opset 21
// (ONNX 1.16), and the fused ones of opset 23 that ONNX Runtime's CPU
// provider runs, with the go backend's status notes where it has none, or
// where its support has limits.
var onnxOps = []struct{ op, note string }{
	{"Abs", ""}, {"Acos", ""}, {"Acosh", ""}, {"Add", ""}, {"AffineGrid", "not yet: rare in exported models"}, {"And", ""},
	{"ArgMax", ""}, {"ArgMin", ""}, {"Asin", ""}, {"Asinh", ""}, {"Atan", ""}, {"Atanh", ""}, {"AveragePool", ""},
	{"BatchNormalization", "inference mode"}, {"Bernoulli", "not implemented: random"}, {"BitShift", ""}, {"BitwiseAnd", ""},
	{"BitwiseNot", "not yet"}, {"BitwiseOr", ""}, {"BitwiseXor", ""}, {"BlackmanWindow", ""},
	{"Cast", ""}, {"CastLike", ""}, {"Ceil", ""}, {"Celu", ""}, {"CenterCropPad", "not yet"}, {"Clip", ""},
	{"Col2Im", "not yet"}, {"Compress", "not yet"}, {"Concat", ""}, {"ConcatFromSequence", "not supported: sequences"},
	{"Constant", ""}, {"ConstantOfShape", ""}, {"Conv", "1-D and 2-D"}, {"ConvInteger", "1-D and 2-D; int8 tiles (VNNI)"},
	{"ConvTranspose", "1-D and 2-D"}, {"Cos", ""}, {"Cosh", ""}, {"CumSum", ""}, {"DFT", "float32; opset 17 and 20 forms"},
	{"DeformConv", "not yet"}, {"DepthToSpace", "not yet"}, {"DequantizeLinear", "per tensor and per axis"}, {"Det", "not yet"},
	{"Div", ""}, {"Dropout", "inference"}, {"DynamicQuantizeLinear", ""}, {"Einsum", "two-operand contractions as batched GEMMs; others directly"}, {"Elu", ""}, {"Equal", ""},
	{"Erf", ""}, {"Exp", ""}, {"Expand", ""}, {"EyeLike", "not yet"}, {"Flatten", ""}, {"Floor", ""}, {"GRU", ""},
	{"Gather", ""}, {"GatherElements", ""}, {"GatherND", ""}, {"Gelu", ""}, {"Gemm", ""}, {"GlobalAveragePool", ""},
	{"GlobalLpPool", "not yet"}, {"GlobalMaxPool", ""}, {"Greater", ""}, {"GreaterOrEqual", ""},
	{"GridSample", "2-D every mode; 3-D linear and nearest"}, {"GroupNormalization", "opset 18 per-group and 21 per-channel parameters"}, {"HammingWindow", ""}, {"HannWindow", ""},
	{"HardSigmoid", ""}, {"HardSwish", ""}, {"Hardmax", "not yet"}, {"Identity", ""}, {"If", ""},
	{"ImageDecoder", "not supported: image files"}, {"InstanceNormalization", ""}, {"IsInf", "not yet"}, {"IsNaN", ""},
	{"LRN", "not yet"}, {"LSTM", ""}, {"LayerNormalization", "float32, float64 (half types through float32)"}, {"LeakyRelu", ""}, {"Less", ""}, {"LessOrEqual", ""},
	{"Log", ""}, {"LogSoftmax", ""}, {"Loop", ""}, {"LpNormalization", "not yet"}, {"LpPool", "not yet"}, {"MatMul", ""},
	{"MatMulInteger", "int8 tiles (VNNI)"}, {"Max", ""}, {"MaxPool", ""}, {"MaxRoiPool", "not yet"}, {"MaxUnpool", ""},
	{"Mean", ""}, {"MeanVarianceNormalization", "not yet"}, {"MelWeightMatrix", ""}, {"Min", ""}, {"Mish", ""},
	{"Mod", ""}, {"Mul", ""}, {"Multinomial", "not implemented: random"}, {"Neg", ""},
	{"NegativeLogLikelihoodLoss", "not yet: training loss"}, {"NonMaxSuppression", ""}, {"NonZero", "not yet"},
	{"Not", ""}, {"OneHot", "not yet"}, {"Optional", "not supported: optionals"}, {"OptionalGetElement", "not supported: optionals"},
	{"OptionalHasElement", "not supported: optionals"}, {"Or", ""}, {"PRelu", ""}, {"Pad", ""}, {"Pow", ""},
	{"QLinearConv", "int8 tiles (VNNI); per-channel weights"}, {"QLinearMatMul", "int8 tiles (VNNI)"}, {"QuantizeLinear", "per tensor and per axis"},
	{"RNN", "not yet"}, {"RandomNormal", "not implemented: random"}, {"RandomNormalLike", "not implemented: random"},
	{"RandomUniform", "not implemented: random"}, {"RandomUniformLike", "not implemented: random"}, {"Range", ""},
	{"Reciprocal", ""}, {"ReduceL1", ""}, {"ReduceL2", ""}, {"ReduceLogSum", ""}, {"ReduceLogSumExp", ""}, {"ReduceMax", ""},
	{"ReduceMean", ""}, {"ReduceMin", ""}, {"ReduceProd", ""}, {"ReduceSum", ""}, {"ReduceSumSquare", ""},
	{"RegexFullMatch", "not supported: strings"}, {"Relu", ""}, {"Reshape", ""}, {"Resize", "no antialias"},
	{"ReverseSequence", "not yet"}, {"RoiAlign", "max mode as ONNX Runtime computes it"}, {"Round", ""}, {"STFT", "float32"}, {"Scan", "not yet"},
	{"Scatter", "deprecated (opset 11): not yet"}, {"ScatterElements", "all reductions"}, {"ScatterND", "all reductions"}, {"Selu", ""},
	{"SequenceAt", "not supported: sequences"}, {"SequenceConstruct", "not supported: sequences"},
	{"SequenceEmpty", "not supported: sequences"}, {"SequenceErase", "not supported: sequences"},
	{"SequenceInsert", "not supported: sequences"}, {"SequenceLength", "not supported: sequences"},
	{"SequenceMap", "not supported: sequences"}, {"Shape", ""}, {"Shrink", "not yet"}, {"Sigmoid", ""}, {"Sign", ""},
	{"Sin", ""}, {"Sinh", ""}, {"Size", ""}, {"Slice", ""}, {"Softmax", ""}, {"SoftmaxCrossEntropyLoss", "not yet: training loss"},
	{"Softplus", ""}, {"Softsign", ""}, {"SpaceToDepth", "not yet"}, {"Split", ""}, {"SplitToSequence", "not supported: sequences"},
	{"Sqrt", ""}, {"Squeeze", ""}, {"StringConcat", "not supported: strings"}, {"StringNormalizer", "not supported: strings"},
	{"StringSplit", "not supported: strings"}, {"Sub", ""}, {"Sum", ""}, {"Tan", ""}, {"Tanh", ""},
	{"TfIdfVectorizer", "not yet"}, {"ThresholdedRelu", ""}, {"Tile", ""}, {"TopK", ""}, {"Transpose", ""}, {"Trilu", ""},
	{"Unique", "not yet"}, {"Unsqueeze", ""}, {"Upsample", "deprecated"}, {"Where", ""}, {"Xor", ""},
	// Opset 23 (not counted in the 193 of opset 21).
	{"Attention", "opset 23; softcap before the mask, as ONNX Runtime"}, {"RMSNormalization", "opset 23"},
	{"RotaryEmbedding", "opset 23"},
}

// opset23 lists the entries of onnxOps beyond opset 21.
var opset23 = map[string]bool{"Attention": true, "RMSNormalization": true, "RotaryEmbedding": true}

// operatorStatus writes the status table of the ONNX operators.
func operatorStatus(b *strings.Builder) {
	n, total := 0, 0
	for _, o := range onnxOps {
		if opset23[o.op] {
			continue
		}
		total++
		if exec.Supported(o.op) {
			n++
		}
	}
	fmt.Fprintf(b, "## Operators of the ONNX spec (default domain, opset ≤ 21, and opset 23's fused ones)\n\n")
	fmt.Fprintf(b, "The pure-Go backend implements %d of the %d operators up to opset 21 (ONNX Runtime's CPU provider runs all of them), ", n, total)
	fmt.Fprintf(b, "and opset 23's Attention, RMSNormalization and RotaryEmbedding (listed last). ")
	fmt.Fprintf(b, "An operator it lacks is an error at load that names it. Operators of other domains (`com.microsoft` ...) are not implemented.\n\n")
	fmt.Fprintf(b, "| op | go | notes |\n|---|---|---|\n")
	for _, o := range onnxOps {
		s := "no"
		if exec.Supported(o.op) {
			s = "yes"
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", o.op, s, o.note)
	}
	fmt.Fprintln(b)
}

func writeConformance(path, version string, nShared, nMore int, ortRes, goRes []nodeResult, ortCounts, goCounts map[string]int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# ONNX node-test conformance\n\n")
	fmt.Fprintf(&b, "ONNX's backend node tests (Debian libonnx-testdata 1.12.0, opset ≤ 17): the %d of `../shared/testdata/onnx/node` ", nShared)
	fmt.Fprintf(&b, "and the %d of the operators added since that selection was made, from the package itself (`%s`: ", nMore, debianNodeData)
	fmt.Fprintf(&b, "NonMaxSuppression, RoiAlign, GridSample, DFT, STFT, the windows, MelWeightMatrix), ")
	fmt.Fprintf(&b, "run from Go through `runtime.LoadONNX` on both backends and compared output by output: integers, booleans and strings exactly, ")
	fmt.Fprintf(&b, "floating-point values within `|got-want| <= %g + %g*|want|` (the tolerances of ONNX's own test runner).\n\n", nodeATol, nodeRTol)
	fmt.Fprintf(&b, "Generated by `go run ./cmd/internal/onnxconformance -o docs/onnx-conformance.md` (`apt-get install libonnx-testdata` for the package's tests) ")
	fmt.Fprintf(&b, "with ONNX Runtime %s (npm onnxruntime-node) through github.com/yalue/onnxruntime_go v1.27.0 for `ort`, ", version)
	fmt.Fprintf(&b, "and edgeai's pure-Go executor (`models/onnx/exec`) for `go`. A test is *unsupported* when the model has non-tensor inputs or outputs, ")
	fmt.Fprintf(&b, "*error* when the backend refuses the model or a run fails, *fail* when an output differs.\n\n")
	fmt.Fprintf(&b, "| backend | tests | pass | fail | error | unsupported |\n|---|---|---|---|---|---|\n")
	for _, r := range []struct {
		name   string
		n      int
		counts map[string]int
	}{{"ort", len(ortRes), ortCounts}, {"go", len(goRes), goCounts}} {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d |\n", r.name, r.n, r.counts["pass"], r.counts["fail"], r.counts["error"], r.counts["unsupported"])
	}
	fmt.Fprintln(&b)

	// Per op: how many tests, how many pass on each backend.
	type opRow struct{ tests, ortPass, goPass int }
	ops := map[string]*opRow{}
	goStatus := map[string]nodeResult{}
	for _, r := range goRes {
		goStatus[r.name] = r
	}
	for _, r := range ortRes {
		key := r.ops
		if strings.Contains(key, ",") {
			key = "(several ops: function-expanded tests)"
		}
		if ops[key] == nil {
			ops[key] = &opRow{}
		}
		ops[key].tests++
		if r.status == "pass" {
			ops[key].ortPass++
		}
		if goStatus[r.name].status == "pass" {
			ops[key].goPass++
		}
	}
	names := make([]string, 0, len(ops))
	for k := range ops {
		names = append(names, k)
	}
	sort.Strings(names)
	fmt.Fprintf(&b, "## By operator\n\n| op | tests | ort pass | go pass |\n|---|---|---|---|\n")
	for _, k := range names {
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", k, ops[k].tests, ops[k].ortPass, ops[k].goPass)
	}
	fmt.Fprintln(&b)
	operatorStatus(&b)
	fmt.Fprintf(&b, "## Not passing\n\n| test | backend | status | why |\n|---|---|---|---|\n")
	for _, set := range []struct {
		name string
		res  []nodeResult
	}{{runtime.ONNXBackendORT, ortRes}, {runtime.ONNXBackendGo, goRes}} {
		for _, r := range set.res {
			if r.status != "pass" {
				why := nodeExpected[set.name][r.name]
				if why == "" {
					why = r.detail
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.name, set.name, r.status, strings.ReplaceAll(why, "|", `\|`))
			}
		}
	}
	fmt.Fprintf(&b, "\n## All tests\n\n| test | ops | opset | ort | go |\n|---|---|---|---|---|\n")
	for _, r := range ortRes {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.name, r.ops, r.opset, r.status, goStatus[r.name].status)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
