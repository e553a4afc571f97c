package onnx

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"
)

const testdata = "../../../shared/testdata/onnx"

func needShared(t testing.TB) {
	t.Helper()
	testutil.Shared(t, "testdata/onnx")
}

func nodeTests(t testing.TB) []string {
	t.Helper()
	needShared(t)
	dirs, err := filepath.Glob(filepath.Join(testdata, "node", "test_*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no node tests in %s: %v", testdata, err)
	}
	sort.Strings(dirs)
	return dirs
}

// graphInputs returns the graph inputs that are not initializers.
func graphInputs(g *Graph) []*ValueInfo {
	init := map[string]bool{}
	for _, t := range g.Initializers {
		init[t.Name] = true
	}
	var out []*ValueInfo
	for _, in := range g.Inputs {
		if !init[in.Name] {
			out = append(out, in)
		}
	}
	return out
}

// checkAgainst checks a test tensor against the declared type of its value.
func checkAgainst(t *testing.T, what string, tensor *Tensor, vi *ValueInfo) {
	t.Helper()
	if vi.Type == nil || vi.Type.Kind != KindTensor {
		return
	}
	// libonnx-testdata 1.12 stores the bfloat16 output of
	// test_cast_FLOAT_to_BFLOAT16 as uint16 (the same bits).
	quirk := tensor.Type == Uint16 && vi.Type.Elem == BFloat16
	if tensor.Type != vi.Type.Elem && !quirk {
		t.Errorf("%s: tensor type %v, graph declares %v", what, tensor.Type, vi.Type.Elem)
	}
	if !vi.Type.HasShape {
		return
	}
	if len(tensor.Dims) != len(vi.Type.Shape) {
		t.Errorf("%s: dims %v, graph declares %s", what, tensor.Dims, FormatShape(vi.Type.Shape))
		return
	}
	for i, d := range vi.Type.Shape {
		if d.Known && d.Value != tensor.Dims[i] {
			t.Errorf("%s: dims %v, graph declares %s", what, tensor.Dims, FormatShape(vi.Type.Shape))
		}
	}
}

// TestNodeTests decodes and validates all of ONNX's node tests and checks
// that every input_N.pb/output_N.pb has the type and shape the model
// declares for it.
func TestNodeTests(t *testing.T) {
	var models, tensors int
	for _, dir := range nodeTests(t) {
		m, err := ReadFile(filepath.Join(dir, "model.onnx"))
		if err != nil {
			t.Errorf("%s: %v", dir, err)
			continue
		}
		if err := m.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", dir, err)
		}
		if v, ok := m.OpsetVersion(""); !ok || v < 1 {
			t.Errorf("%s: no default opset", dir)
		}
		models++
		ins, outs := graphInputs(m.Graph), m.Graph.Outputs
		sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
		for _, set := range sets {
			for i := 0; ; i++ {
				if i < len(ins) && (ins[i].Type == nil || ins[i].Type.Kind != KindTensor) {
					continue // a SequenceProto or OptionalProto, not a tensor
				}
				p := filepath.Join(set, "input_"+itoa(i)+".pb")
				tensor, err := ReadTensorFile(p)
				if errors.Is(err, os.ErrNotExist) {
					break
				}
				if err != nil {
					t.Errorf("%s: %v", p, err)
					break
				}
				tensors++
				if i < len(ins) {
					checkAgainst(t, p, tensor, ins[i])
				}
			}
			for i := range outs {
				if outs[i].Type == nil || outs[i].Type.Kind != KindTensor {
					continue
				}
				p := filepath.Join(set, "output_"+itoa(i)+".pb")
				tensor, err := ReadTensorFile(p)
				if err != nil {
					t.Errorf("%s: %v", p, err)
					continue
				}
				tensors++
				checkAgainst(t, p, tensor, outs[i])
			}
		}
	}
	t.Logf("decoded and validated %d node-test models, %d tensors", models, tensors)
	if models != 439 {
		t.Errorf("decoded %d node-test models, want 439", models)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestNodeValues checks decoded values against arithmetic done here: the
// expected outputs of a few elementwise node tests follow from their inputs.
func TestNodeValues(t *testing.T) {
	needShared(t)
	cases := []struct {
		test string
		f    func(a, b float32) float32
	}{
		{"test_abs", func(a, _ float32) float32 { return float32(math.Abs(float64(a))) }},
		{"test_relu", func(a, _ float32) float32 { return max(a, 0) }},
		{"test_neg", func(a, _ float32) float32 { return -a }},
		{"test_add", func(a, b float32) float32 { return a + b }},
		{"test_mul", func(a, b float32) float32 { return a * b }},
		{"test_sub", func(a, b float32) float32 { return a - b }},
	}
	for _, c := range cases {
		set := filepath.Join(testdata, "node", c.test, "test_data_set_0")
		x := mustFloats(t, filepath.Join(set, "input_0.pb"))
		y := x
		if _, err := os.Stat(filepath.Join(set, "input_1.pb")); err == nil {
			y = mustFloats(t, filepath.Join(set, "input_1.pb"))
		}
		want := mustFloats(t, filepath.Join(set, "output_0.pb"))
		if len(x) != len(want) || len(y) != len(want) || len(want) == 0 {
			t.Fatalf("%s: lengths %d %d %d", c.test, len(x), len(y), len(want))
		}
		for i := range want {
			if got := c.f(x[i], y[i]); got != want[i] {
				t.Fatalf("%s[%d]: computed %v from the decoded inputs, output_0.pb has %v", c.test, i, got, want[i])
			}
		}
	}
}

func mustFloats(t *testing.T, path string) []float32 {
	t.Helper()
	tensor, err := ReadTensorFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := tensor.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

type goldenMeta struct {
	Model   string `json:"model"`
	Tensors []struct {
		Kind string  `json:"kind"`
		Idx  int     `json:"idx"`
		Name string  `json:"name"`
		Type string  `json:"type"`
		Dims []int64 `json:"dims"`
	} `json:"tensors"`
}

// TestRealModels reads the real models, validates them and checks their
// inputs and outputs against the golden cases' meta.json.
func TestRealModels(t *testing.T) {
	needShared(t)
	metas, _ := filepath.Glob(filepath.Join(testdata, "golden", "*", "test_data_set_*", "meta.json"))
	if len(metas) < 8 {
		t.Fatalf("found %d golden cases, want at least 8", len(metas))
	}
	for _, mp := range metas {
		raw, err := os.ReadFile(mp)
		if err != nil {
			t.Fatal(err)
		}
		var meta goldenMeta
		if err := json.Unmarshal(raw, &meta); err != nil {
			t.Fatalf("%s: %v", mp, err)
		}
		m, err := ReadFile(filepath.Join(testdata, "models", meta.Model))
		if err != nil {
			t.Fatalf("%s: %v", meta.Model, err)
		}
		if err := m.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", meta.Model, err)
		}
		if len(m.Ops()) == 0 || m.NumNodes() == 0 {
			t.Errorf("%s: no ops", meta.Model)
		}
		names := map[string]*ValueInfo{}
		for _, v := range graphInputs(m.Graph) {
			names["input "+v.Name] = v
		}
		for _, v := range m.Graph.Outputs {
			names["output "+v.Name] = v
		}
		for _, mt := range meta.Tensors {
			vi := names[mt.Kind+" "+mt.Name]
			if vi == nil {
				t.Errorf("%s: model has no %s %q", meta.Model, mt.Kind, mt.Name)
				continue
			}
			p := filepath.Join(filepath.Dir(mp), mt.Kind+"_"+itoa(mt.Idx)+".pb")
			tensor, err := ReadTensorFile(p)
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			if tensor.Type.String() != mt.Type || !equalDims(tensor.Dims, mt.Dims) {
				t.Errorf("%s: %v%v, meta.json says %s%v", p, tensor.Type, tensor.Dims, mt.Type, mt.Dims)
			}
			checkAgainst(t, p, tensor, vi)
		}
	}
}

func equalDims(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSileroStructure(t *testing.T) {
	needShared(t)
	m, err := ReadFile(filepath.Join(testdata, "models", "silero-vad", "silero_vad_16k_op15.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := m.OpsetVersion("ai.onnx"); v != 15 {
		t.Errorf("opset %d, want 15", v)
	}
	var ifs int
	for _, o := range m.Ops() {
		if o.OpType == "If" {
			ifs = o.Count
		}
	}
	if ifs == 0 {
		t.Errorf("silero_vad_16k_op15 has If nodes with subgraphs; Ops found none: %v", m.Ops())
	}
}

func f32le(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func TestTypedFields(t *testing.T) {
	cases := []struct {
		name string
		pb   pb
		want []byte
	}{
		{"float_data packed", pb(nil).packed(1, 2).varint(2, int64(Float)).
			bytes(4, f32le(1.5, -2)), f32le(1.5, -2)},
		{"float_data unpacked", pb(nil).packed(1, 2).varint(2, int64(Float)).
			fixed32(4, math.Float32bits(1.5)).fixed32(4, math.Float32bits(-2)), f32le(1.5, -2)},
		{"int64_data", pb(nil).packed(1, 2).varint(2, int64(Int64)).packed(7, -1, 300),
			binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, math.MaxUint64), 300)},
		{"float16 in int32_data", pb(nil).packed(1, 1).varint(2, int64(Float16)).packed(5, 0x3c00),
			[]byte{0x00, 0x3c}},
		{"bool in int32_data", pb(nil).packed(1, 3).varint(2, int64(Bool)).packed(5, 1, 0, 1),
			[]byte{1, 0, 1}},
		{"scalar int8", pb(nil).varint(2, int64(Int8)).packed(5, -3), []byte{0xfd}},
		{"uint32 in uint64_data", pb(nil).packed(1, 1).varint(2, int64(Uint32)).packed(11, 7),
			[]byte{7, 0, 0, 0}},
		{"empty", pb(nil).packed(1, 0, 3).varint(2, int64(Float)), []byte{}},
	}
	for _, c := range cases {
		tensor, err := DecodeTensor(c.pb)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if string(tensor.Raw) != string(c.want) || tensor.Raw == nil {
			t.Errorf("%s: raw %x, want %x", c.name, tensor.Raw, c.want)
		}
	}
}

func TestMalformedTensors(t *testing.T) {
	cases := []struct {
		name string
		pb   pb
		want error
	}{
		{"raw too short", tensorPB("w", Float, []int64{2}, f32le(1)), ErrFormat},
		{"raw too long", tensorPB("w", Float, []int64{1}, f32le(1, 2)), ErrFormat},
		{"too few values", pb(nil).packed(1, 3).varint(2, int64(Int64)).packed(7, 1, 2), ErrFormat},
		{"negative dim", tensorPB("w", Float, []int64{-1}, nil), ErrFormat},
		{"overflowing dims", tensorPB("w", Float, []int64{1 << 40, 1 << 40}, nil), ErrFormat},
		{"huge dims, no data", tensorPB("w", Float, []int64{1 << 30, 1 << 30}, nil), ErrFormat},
		{"unknown type", tensorPB("w", DataType(99), []int64{1}, []byte{0}), ErrUnsupported},
		{"raw and typed", tensorPB("w", Float, []int64{1}, f32le(1)).bytes(4, f32le(1)), ErrFormat},
		{"wrong wire type", pb(nil).str(2, "x"), ErrFormat},
		{"truncated", tensorPB("w", Float, []int64{2}, f32le(1, 2))[:5], ErrFormat},
		{"external without location", externalTensorPB("w", Float, []int64{1}, "offset", "0"), ErrExternalData},
		{"external negative offset", externalTensorPB("w", Float, []int64{1}, "location", "a", "offset", "-4"), ErrExternalData},
	}
	for _, c := range cases {
		_, err := DecodeTensor(c.pb)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestExternalData(t *testing.T) {
	dir := t.TempDir()
	modelDir := filepath.Join(dir, "model")
	if err := os.Mkdir(modelDir, 0o755); err != nil {
		t.Fatal(err)
	}
	data := append([]byte("HEADER"), f32le(3, 4)...)
	for _, p := range []string{filepath.Join(modelDir, "w.bin"), filepath.Join(dir, "outside.bin")} {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(modelDir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(modelDir, "sub", "w.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	symlinks := os.Symlink(filepath.Join(dir, "outside.bin"), filepath.Join(modelDir, "link.bin")) == nil &&
		os.Symlink("../outside.bin", filepath.Join(modelDir, "rel.bin")) == nil &&
		os.Symlink("w.bin", filepath.Join(modelDir, "inside.bin")) == nil
	abs := filepath.Join(dir, "outside.bin")

	cases := []struct {
		name string
		kv   []string
		ok   bool
	}{
		{"local", []string{"location", "w.bin", "offset", "6", "length", "8"}, true},
		{"to end", []string{"location", "w.bin", "offset", "6"}, true},
		{"subdir", []string{"location", "sub/w.bin", "offset", "6", "length", "8"}, true},
		{"dot segments inside", []string{"location", "sub/../w.bin", "offset", "6"}, true},
		{"absolute", []string{"location", abs, "offset", "6"}, false},
		{"parent", []string{"location", "../outside.bin", "offset", "6"}, false},
		{"deep parent", []string{"location", "sub/../../outside.bin", "offset", "6"}, false},
		{"missing", []string{"location", "nope.bin"}, false},
		{"directory", []string{"location", "sub"}, false},
		{"offset past end", []string{"location", "w.bin", "offset", "100", "length", "8"}, false},
		{"length past end", []string{"location", "w.bin", "offset", "6", "length", "9"}, false},
		{"length not the tensor's", []string{"location", "w.bin", "offset", "2", "length", "12"}, false},
		{"huge length", []string{"location", "w.bin", "offset", "6", "length", "9223372036854775807"}, false},
	}
	if symlinks {
		cases = append(cases,
			struct {
				name string
				kv   []string
				ok   bool
			}{"absolute symlink out", []string{"location", "link.bin", "offset", "6"}, false},
			struct {
				name string
				kv   []string
				ok   bool
			}{"relative symlink out", []string{"location", "rel.bin", "offset", "6"}, false},
			struct {
				name string
				kv   []string
				ok   bool
			}{"symlink inside", []string{"location", "inside.bin", "offset", "6"}, true},
		)
	}
	for _, c := range cases {
		model := addModelPB(externalTensorPB("w", Float, []int64{2}, c.kv...))
		path := filepath.Join(modelDir, "model.onnx")
		if err := os.WriteFile(path, model, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := ReadFile(path)
		if !c.ok {
			if !errors.Is(err, ErrExternalData) {
				t.Errorf("%s: ReadFile: got %v, want ErrExternalData", c.name, err)
			}
			// LoadExternal must refuse too, for models decoded without ReadFile.
			m2, derr := Decode(model)
			if derr != nil {
				t.Fatalf("%s: %v", c.name, derr)
			}
			m2.Dir = modelDir
			if err := m2.LoadExternal(); !errors.Is(err, ErrExternalData) {
				t.Errorf("%s: LoadExternal: got %v, want ErrExternalData", c.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		w := m.Graph.Initializers[0]
		if _, err := w.Float32s(); err == nil {
			t.Errorf("%s: external data readable before LoadExternal", c.name)
		}
		if err := m.LoadExternal(); err != nil {
			t.Errorf("%s: LoadExternal: %v", c.name, err)
			continue
		}
		got, err := w.Float32s()
		if err != nil || len(got) != 2 || got[0] != 3 || got[1] != 4 {
			t.Errorf("%s: values %v %v, want [3 4]", c.name, got, err)
		}
	}
}

// TestTruncations cuts a real model at every length: each prefix must be an
// error or a model, never a panic.
func TestTruncations(t *testing.T) {
	needShared(t)
	data, err := os.ReadFile(filepath.Join(testdata, "node", "test_lstm_defaults", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(data) {
		m, err := Decode(data[:n])
		if err == nil {
			_ = m.Validate()
		}
	}
	if _, err := Decode(data); err != nil {
		t.Fatal(err)
	}
}

func TestValidateRejects(t *testing.T) {
	node := func(in, out string) pb {
		return pb(nil).str(1, in).str(2, out).str(4, "Relu")
	}
	model := func(nodes ...pb) []byte {
		g := pb(nil).str(2, "g").bytes(11, valueInfoPB("x", Float, 1)).bytes(12, valueInfoPB("y", Float, 1))
		for _, n := range nodes {
			g = g.bytes(1, n)
		}
		return pb(nil).varint(1, 8).bytes(7, g).bytes(8, pb(nil).varint(2, 13))
	}
	cases := []struct {
		name string
		m    []byte
		ok   bool
	}{
		{"ok", model(node("x", "t"), node("t", "y")), true},
		{"out of order (Decode sorts it)", model(node("t", "y"), node("x", "t")), true},
		{"cycle", model(node("u", "t"), node("t", "u"), node("u", "y")), false},
		{"undefined input", model(node("z", "y")), false},
		{"defined twice", model(node("x", "y"), node("x", "y")), false},
		{"output never computed", model(node("x", "t")), false},
		{"unknown domain", model(node("x", "y").str(7, "com.example")), false},
	}
	for _, c := range cases {
		m, err := Decode(c.m)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err := m.Validate(); (err == nil) != c.ok {
			t.Errorf("%s: Validate = %v", c.name, err)
		} else if c.name == "cycle" && !strings.Contains(err.Error(), "cycle") {
			t.Errorf("%s: %v does not name the cycle", c.name, err)
		} else if err != nil && !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v does not wrap ErrFormat", c.name, err)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	deep := pb(nil).varint(1, int64(Float))
	for range maxDepth + 2 {
		deep = pb(nil).bytes(4, pb(nil).bytes(1, deep)) // sequence of ...
	}
	vi := pb(nil).str(1, "x").bytes(2, deep)
	cases := map[string][]byte{
		"no graph":      pb(nil).varint(1, 8),
		"deep type":     pb(nil).bytes(7, pb(nil).bytes(11, vi)),
		"bad utf8 name": pb(nil).bytes(7, pb(nil).bytes(2, []byte{0xff})),
		"node no op":    pb(nil).bytes(7, pb(nil).bytes(1, pb(nil).str(1, "x"))),
		"bad varint":    {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"length beyond": {0x3a, 0xff, 0xff, 0xff, 0xff, 0x07},
	}
	for name, data := range cases {
		if _, err := Decode(data); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: got %v, want ErrFormat", name, err)
		}
	}
}

// TestItemBudget: a node with more names than the decoder's budget is an
// error, not gigabytes of small allocations.
func TestItemBudget(t *testing.T) {
	var node pb
	node = node.str(4, "Sum")
	for range maxItems + 10 {
		node = node.str(1, "")
	}
	m := pb(nil).bytes(8, pb(nil).varint(2, 13)).bytes(7, pb(nil).bytes(1, node))
	if _, err := Decode(m); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("Decode: %v", err)
	}
}

// TestSequenceValues decodes the SequenceProto and OptionalProto test data of
// test_identity_sequence and test_identity_opt against their declared types.
func TestSequenceValues(t *testing.T) {
	needShared(t)
	for _, c := range []struct {
		test  string
		kind  TypeKind
		elems int
	}{{"test_identity_sequence", KindSequence, 2}, {"test_identity_opt", KindOptional, 1}} {
		dir := filepath.Join(testdata, "node", c.test)
		m, err := ReadFile(filepath.Join(dir, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		for i, vi := range []*ValueInfo{m.Graph.Inputs[0], m.Graph.Outputs[0]} {
			name := []string{"input_0.pb", "output_0.pb"}[i]
			data, err := os.ReadFile(filepath.Join(dir, "test_data_set_0", name))
			if err != nil {
				t.Fatal(err)
			}
			v, err := DecodeValue(data, vi.Type)
			if err != nil {
				t.Fatalf("%s/%s: %v", c.test, name, err)
			}
			if v.Kind != c.kind || len(v.Elems) != c.elems {
				t.Fatalf("%s/%s: %v with %d elements, want %v with %d", c.test, name, v.Kind, len(v.Elems), c.kind, c.elems)
			}
			// Decoding as a plain tensor must fail, not misread.
			if _, err := DecodeValue(data, &TypeInfo{Kind: KindSequence, Inner: &TypeInfo{Kind: KindSequence}}); err == nil && c.kind == KindSequence {
				t.Errorf("%s/%s: sequence of tensors decoded as a sequence of sequences", c.test, name)
			}
		}
	}
}
