package runtime_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/models/onnx/exec"
)

// onnxOps lists the operators of ONNX's default domain up to opset 21
// (ONNX 1.16) with the go backend's status notes where it has none, or
// where its support has limits.
var onnxOps = []struct{ op, note string }{
	{"Abs", ""}, {"Acos", ""}, {"Acosh", ""}, {"Add", ""}, {"AffineGrid", "not yet: rare in exported models"}, {"And", ""},
	{"ArgMax", ""}, {"ArgMin", ""}, {"Asin", ""}, {"Asinh", ""}, {"Atan", ""}, {"Atanh", ""}, {"AveragePool", ""},
	{"BatchNormalization", "inference mode"}, {"Bernoulli", "not implemented: random"}, {"BitShift", ""}, {"BitwiseAnd", ""},
	{"BitwiseNot", "not yet"}, {"BitwiseOr", ""}, {"BitwiseXor", ""}, {"BlackmanWindow", "not yet (STFT front ends)"},
	{"Cast", ""}, {"CastLike", ""}, {"Ceil", ""}, {"Celu", ""}, {"CenterCropPad", "not yet"}, {"Clip", ""},
	{"Col2Im", "not yet"}, {"Compress", "not yet"}, {"Concat", ""}, {"ConcatFromSequence", "not supported: sequences"},
	{"Constant", ""}, {"ConstantOfShape", ""}, {"Conv", "1-D and 2-D"}, {"ConvInteger", "1-D and 2-D; int8 tiles (VNNI)"},
	{"ConvTranspose", "1-D and 2-D"}, {"Cos", ""}, {"Cosh", ""}, {"CumSum", ""}, {"DFT", "not yet"},
	{"DeformConv", "not yet"}, {"DepthToSpace", "not yet"}, {"DequantizeLinear", "per tensor and per axis"}, {"Det", "not yet"},
	{"Div", ""}, {"Dropout", "inference"}, {"DynamicQuantizeLinear", ""}, {"Einsum", ""}, {"Elu", ""}, {"Equal", ""},
	{"Erf", ""}, {"Exp", ""}, {"Expand", ""}, {"EyeLike", "not yet"}, {"Flatten", ""}, {"Floor", ""}, {"GRU", ""},
	{"Gather", ""}, {"GatherElements", ""}, {"GatherND", ""}, {"Gelu", ""}, {"Gemm", ""}, {"GlobalAveragePool", ""},
	{"GlobalLpPool", "not yet"}, {"GlobalMaxPool", ""}, {"Greater", ""}, {"GreaterOrEqual", ""},
	{"GridSample", "not yet"}, {"GroupNormalization", "not yet"}, {"HammingWindow", "not yet"}, {"HannWindow", "not yet"},
	{"HardSigmoid", ""}, {"HardSwish", ""}, {"Hardmax", "not yet"}, {"Identity", ""}, {"If", ""},
	{"ImageDecoder", "not supported: image files"}, {"InstanceNormalization", ""}, {"IsInf", "not yet"}, {"IsNaN", ""},
	{"LRN", "not yet"}, {"LSTM", ""}, {"LayerNormalization", ""}, {"LeakyRelu", ""}, {"Less", ""}, {"LessOrEqual", ""},
	{"Log", ""}, {"LogSoftmax", ""}, {"Loop", ""}, {"LpNormalization", "not yet"}, {"LpPool", "not yet"}, {"MatMul", ""},
	{"MatMulInteger", "int8 tiles (VNNI)"}, {"Max", ""}, {"MaxPool", ""}, {"MaxRoiPool", "not yet"}, {"MaxUnpool", ""},
	{"Mean", ""}, {"MeanVarianceNormalization", "not yet"}, {"MelWeightMatrix", "not yet"}, {"Min", ""}, {"Mish", ""},
	{"Mod", ""}, {"Mul", ""}, {"Multinomial", "not implemented: random"}, {"Neg", ""},
	{"NegativeLogLikelihoodLoss", "not yet: training loss"}, {"NonMaxSuppression", "not yet"}, {"NonZero", "not yet"},
	{"Not", ""}, {"OneHot", "not yet"}, {"Optional", "not supported: optionals"}, {"OptionalGetElement", "not supported: optionals"},
	{"OptionalHasElement", "not supported: optionals"}, {"Or", ""}, {"PRelu", ""}, {"Pad", ""}, {"Pow", ""},
	{"QLinearConv", "int8 tiles (VNNI); per-channel weights"}, {"QLinearMatMul", "int8 tiles (VNNI)"}, {"QuantizeLinear", "per tensor and per axis"},
	{"RNN", "not yet"}, {"RandomNormal", "not implemented: random"}, {"RandomNormalLike", "not implemented: random"},
	{"RandomUniform", "not implemented: random"}, {"RandomUniformLike", "not implemented: random"}, {"Range", ""},
	{"Reciprocal", ""}, {"ReduceL1", ""}, {"ReduceL2", ""}, {"ReduceLogSum", ""}, {"ReduceLogSumExp", ""}, {"ReduceMax", ""},
	{"ReduceMean", ""}, {"ReduceMin", ""}, {"ReduceProd", ""}, {"ReduceSum", ""}, {"ReduceSumSquare", ""},
	{"RegexFullMatch", "not supported: strings"}, {"Relu", ""}, {"Reshape", ""}, {"Resize", "no antialias"},
	{"ReverseSequence", "not yet"}, {"RoiAlign", "not yet"}, {"Round", ""}, {"STFT", "not yet"}, {"Scan", "not yet"},
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
}

// TestOperatorStatusList keeps onnxOps honest: every operator the go
// backend implements is listed, and a note saying "not" is only on one it
// lacks.
func TestOperatorStatusList(t *testing.T) {
	listed := map[string]bool{}
	for _, o := range onnxOps {
		if listed[o.op] {
			t.Errorf("%s listed twice", o.op)
		}
		listed[o.op] = true
		if exec.Supported(o.op) && strings.HasPrefix(o.note, "not") {
			t.Errorf("%s: implemented, but noted %q", o.op, o.note)
		}
		if !exec.Supported(o.op) && !strings.HasPrefix(o.note, "not") && !strings.HasPrefix(o.note, "deprecated") {
			t.Errorf("%s: not implemented, but noted %q", o.op, o.note)
		}
	}
	for _, op := range exec.Operators() {
		if !listed[op] {
			t.Errorf("the go backend implements %s, missing from the list", op)
		}
	}
}

// operatorStatus writes the status table of the ONNX operators.
func operatorStatus(b *strings.Builder) {
	n := 0
	for _, o := range onnxOps {
		if exec.Supported(o.op) {
			n++
		}
	}
	fmt.Fprintf(b, "## Operators of the ONNX spec (default domain, opset ≤ 21)\n\n")
	fmt.Fprintf(b, "The pure-Go backend implements %d of the %d operators (ONNX Runtime's CPU provider runs all of them). ", n, len(onnxOps))
	fmt.Fprintf(b, "An operator it lacks is an error at load that names it. Opset 22-23 operators (RMSNormalization, Attention, RotaryEmbedding) are not listed.\n\n")
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
