package runtime_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/runtime"
)

// No ONNX export of the reference BERT exists, so this test makes one: the
// tiny F32 BERT's weights written as an ONNX graph of standard operators
// (Gather, LayerNormalization, MatMul, Softmax, Tanh-form GELU), with a
// vocab.txt beside it, run through LoadEmbedder on every available ONNX
// backend and compared with the GGUF path and llama.cpp's vectors.

// pbuf is a minimal protobuf writer: each method appends one field.
type pbuf []byte

func (b pbuf) bytes(num protowire.Number, v []byte) pbuf {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}
func (b pbuf) str(num protowire.Number, s string) pbuf { return b.bytes(num, []byte(s)) }
func (b pbuf) varint(num protowire.Number, v int64) pbuf {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}
func (b pbuf) float(num protowire.Number, v float32) pbuf {
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, math.Float32bits(v))
}

// ONNX enums used here.
const (
	onnxFloat = 1
	onnxInt64 = 7

	attrFloat = 1
	attrInt   = 2
	attrInts  = 7
)

// graphBuilder collects the nodes, initializers and value infos of a graph.
type graphBuilder struct {
	nodes, inits, inputs, outputs []pbuf
	n                             int
}

func (g *graphBuilder) tmp() string { g.n++; return fmt.Sprintf("t%d", g.n) }

// attr is one node attribute.
type attr struct {
	name string
	f    *float32
	i    *int64
	ints []int64
}

func attrI(name string, v int64) attr     { return attr{name: name, i: &v} }
func attrF(name string, v float32) attr   { return attr{name: name, f: &v} }
func attrIs(name string, v ...int64) attr { return attr{name: name, ints: v} }

// op appends a node with one output and returns the output's name.
func (g *graphBuilder) op(typ string, inputs []string, attrs ...attr) string {
	out := g.tmp()
	var n pbuf
	for _, in := range inputs {
		n = n.str(1, in)
	}
	n = n.str(2, out).str(3, "n"+out).str(4, typ)
	for _, a := range attrs {
		ap := pbuf(nil).str(1, a.name)
		switch {
		case a.f != nil:
			ap = ap.float(2, *a.f).varint(20, attrFloat)
		case a.i != nil:
			ap = ap.varint(3, *a.i).varint(20, attrInt)
		default:
			for _, v := range a.ints {
				ap = ap.varint(8, v)
			}
			ap = ap.varint(20, attrInts)
		}
		n = n.bytes(5, ap)
	}
	g.nodes = append(g.nodes, n)
	return out
}

func (g *graphBuilder) initF32(name string, dims []int64, v []float32) string {
	raw := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	return g.init(name, onnxFloat, dims, raw)
}

func (g *graphBuilder) initI64(name string, dims []int64, v ...int64) string {
	raw := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(x))
	}
	return g.init(name, onnxInt64, dims, raw)
}

func (g *graphBuilder) init(name string, typ int64, dims []int64, raw []byte) string {
	var t pbuf
	for _, d := range dims {
		t = t.varint(1, d)
	}
	g.inits = append(g.inits, t.varint(2, typ).str(8, name).bytes(9, raw))
	return name
}

// valueInfo describes a tensor with dimensions given as numbers or names.
func valueInfo(name string, typ int64, dims ...any) pbuf {
	var shape pbuf
	for _, d := range dims {
		switch d := d.(type) {
		case int:
			shape = shape.bytes(1, pbuf(nil).varint(1, int64(d)))
		case string:
			shape = shape.bytes(1, pbuf(nil).str(2, d))
		}
	}
	tt := pbuf(nil).varint(1, typ).bytes(2, shape)
	return pbuf(nil).str(1, name).bytes(2, pbuf(nil).bytes(1, tt))
}

// ggufFloats reads a tensor of the F32 reference model.
func ggufFloats(t *testing.T, f *gguf.File, name string) ([]float32, []int64) {
	t.Helper()
	ti, ok := f.Tensor(name)
	if !ok {
		t.Fatalf("no tensor %s", name)
	}
	raw, err := f.TensorData(ti)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(raw)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v, ti.Shape
}

// transposed returns the GGUF matrix (rows of cols values: out x in) as
// ONNX MatMul's right operand (in x out).
func transposed(v []float32, cols, rows int) []float32 {
	out := make([]float32, len(v))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			out[c*rows+r] = v[r*cols+c]
		}
	}
	return out
}

// writeBertONNX writes the reference F32 BERT as dir/model.onnx and its
// vocabulary as dir/vocab.txt.
func writeBertONNX(t *testing.T, ggufPath, dir string) {
	t.Helper()
	f, err := gguf.Open(ggufPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dim64, _ := f.Uint("bert.embedding_length")
	layers64, _ := f.Uint("bert.block_count")
	heads64, _ := f.Uint("bert.attention.head_count")
	ffn64, _ := f.Uint("bert.feed_forward_length")
	dim, layers, heads, ffn := int(dim64), int(layers64), int(heads64), int(ffn64)
	hd := dim / heads

	g := &graphBuilder{}
	g.inputs = []pbuf{
		valueInfo("input_ids", onnxInt64, "batch", "sequence"),
		valueInfo("attention_mask", onnxInt64, "batch", "sequence"),
		valueInfo("token_type_ids", onnxInt64, "batch", "sequence"),
	}
	g.outputs = []pbuf{valueInfo("last_hidden_state", onnxFloat, "batch", "sequence", dim)}
	param := func(name string) string {
		v, shape := ggufFloats(t, f, name)
		if len(shape) == 2 && !strings.Contains(name, "embd") && !strings.Contains(name, "token_types") {
			cols, rows := int(shape[0]), int(shape[1])
			return g.initF32(name, []int64{int64(cols), int64(rows)}, transposed(v, cols, rows))
		}
		dims := slices.Clone(shape)
		slices.Reverse(dims)
		return g.initF32(name, dims, v)
	}
	one := g.initF32("one", nil, []float32{1})
	half := g.initF32("half", nil, []float32{0.5})
	coefA := g.initF32("gelu_a", nil, []float32{0.044715})
	sqrt2pi := g.initF32("gelu_c", nil, []float32{0.7978845608})
	scale := g.initF32("scale", nil, []float32{1 / float32(math.Sqrt(float64(hd)))})
	negBig := g.initF32("neg_big", nil, []float32{-10000})
	headShape := g.initI64("head_shape", []int64{4}, 0, 0, int64(heads), int64(hd))
	mergeShape := g.initI64("merge_shape", []int64{3}, 0, 0, int64(dim))

	// Embeddings: token + type + position (positions 0..S-1), LayerNorm.
	x := g.op("Gather", []string{param("token_embd.weight"), "input_ids"}, attrI("axis", 0))
	x = g.op("Add", []string{x, g.op("Gather", []string{param("token_types.weight"), "token_type_ids"}, attrI("axis", 0))})
	seqLen := g.op("Slice", []string{g.op("Shape", []string{"input_ids"}), g.initI64("i1", []int64{1}, 1), g.initI64("i2", []int64{1}, 2)})
	pos := g.op("Slice", []string{param("position_embd.weight"), g.initI64("i0", []int64{1}, 0), seqLen, g.initI64("ax0", []int64{1}, 0)})
	x = g.op("Add", []string{x, pos})
	eps := attrF("epsilon", 1e-12)
	x = g.op("LayerNormalization", []string{x, param("token_embd_norm.weight"), param("token_embd_norm.bias")}, attrI("axis", -1), eps)

	// Additive mask [B,1,1,S]: 0 for tokens, -10000 for padding.
	mask := g.op("Cast", []string{"attention_mask"}, attrI("to", onnxFloat))
	mask = g.op("Mul", []string{g.op("Sub", []string{one, mask}), negBig})
	mask = g.op("Unsqueeze", []string{mask, g.initI64("ax12", []int64{2}, 1, 2)})

	for l := 0; l < layers; l++ {
		p := func(s string) string { return param(fmt.Sprintf("blk.%d.%s", l, s)) }
		proj := func(in, w string) string {
			return g.op("Add", []string{g.op("MatMul", []string{in, p(w + ".weight")}), p(w + ".bias")})
		}
		heads := func(v string, perm ...int64) string {
			return g.op("Transpose", []string{g.op("Reshape", []string{v, headShape})}, attrIs("perm", perm...))
		}
		q := heads(proj(x, "attn_q"), 0, 2, 1, 3)
		k := heads(proj(x, "attn_k"), 0, 2, 3, 1)
		v := heads(proj(x, "attn_v"), 0, 2, 1, 3)
		s := g.op("Add", []string{g.op("Mul", []string{g.op("MatMul", []string{q, k}), scale}), mask})
		s = g.op("Softmax", []string{s}, attrI("axis", -1))
		a := g.op("Transpose", []string{g.op("MatMul", []string{s, v})}, attrIs("perm", 0, 2, 1, 3))
		a = g.op("Reshape", []string{a, mergeShape})
		a = g.op("Add", []string{proj(a, "attn_output"), x})
		x = g.op("LayerNormalization", []string{a, p("attn_output_norm.weight"), p("attn_output_norm.bias")}, attrI("axis", -1), eps)

		u := proj(x, "ffn_up")
		// GELU, tanh form: 0.5·u·(1 + tanh(c·u·(1 + a·u²))).
		inner := g.op("Mul", []string{g.op("Mul", []string{u, g.op("Add", []string{g.op("Mul", []string{g.op("Mul", []string{u, u}), coefA}), one})}), sqrt2pi})
		gl := g.op("Mul", []string{g.op("Mul", []string{u, g.op("Add", []string{g.op("Tanh", []string{inner}), one})}), half})
		d := g.op("Add", []string{proj(gl, "ffn_down"), x})
		x = g.op("LayerNormalization", []string{d, p("layer_output_norm.weight"), p("layer_output_norm.bias")}, attrI("axis", -1), eps)
	}
	g.nodes = append(g.nodes, pbuf(nil).str(1, x).str(2, "last_hidden_state").str(3, "out").str(4, "Identity"))
	_ = ffn

	var graph pbuf
	for _, n := range g.nodes {
		graph = graph.bytes(1, n)
	}
	graph = graph.str(2, "tiny-bert")
	for _, in := range g.inits {
		graph = graph.bytes(5, in)
	}
	for _, in := range g.inputs {
		graph = graph.bytes(11, in)
	}
	for _, out := range g.outputs {
		graph = graph.bytes(12, out)
	}
	model := pbuf(nil).varint(1, 8).str(2, "edgeai-test").bytes(7, graph).bytes(8, pbuf(nil).str(1, "").varint(2, 17))
	if err := os.WriteFile(filepath.Join(dir, "model.onnx"), model, 0o644); err != nil {
		t.Fatal(err)
	}

	// vocab.txt: the GGUF vocabulary in Hugging Face spelling.
	toks, _ := f.Strings("tokenizer.ggml.tokens")
	types, _ := f.Int32s("tokenizer.ggml.token_type")
	lines := make([]string, len(toks))
	for i, s := range toks {
		switch {
		case types[i] == 3 || (strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]")):
			lines[i] = s
		case strings.HasPrefix(s, "▁"):
			lines[i] = strings.TrimPrefix(s, "▁")
		default:
			lines[i] = "##" + s
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestEmbedONNX runs the ONNX export of the reference BERT on each
// available backend and compares with the GGUF path and llama.cpp.
func TestEmbedONNX(t *testing.T) {
	r := needBert(t, "F32")
	dir := t.TempDir()
	writeBertONNX(t, r.path, dir)
	ctx := context.Background()
	texts := append(slices.Clone(r.sentences), "", "a", "Hello, World! [SEP] again", strings.Repeat("padding matters ", 20))
	ran := 0
	for _, backend := range runtime.ONNXBackends() {
		t.Run(backend, func(t *testing.T) {
			if backend == runtime.ONNXBackendORT {
				needORT(t)
			} else if err := runtime.ONNXBackendAvailable(backend, runtime.ONNXOptions{}); err != nil {
				t.Skipf("backend %s: %v", backend, err)
			}
			ran++
			for _, pooling := range []string{"mean", "cls", "last"} {
				opts := []runtime.EmbedOption{runtime.WithONNX(runtime.ONNXOptions{Backend: backend}), runtime.WithPooling(pooling)}
				om := loadEmbedder(t, filepath.Join(dir, "model.onnx"), opts...)
				gm := loadEmbedder(t, r.path, runtime.WithPooling(pooling))
				info := om.Info()
				if info.Format != "onnx" || info.Dim != 128 || info.Backend != backend || filepath.Base(info.Tokenizer) != "vocab.txt" || info.ContextLength != 512 {
					t.Errorf("info %+v", info)
				}
				for _, s := range texts {
					a, errA := om.Tokenize(s)
					b, errB := gm.Tokenize(s)
					if errA != nil || errB != nil || !slices.Equal(a, b) {
						t.Fatalf("%q: onnx ids %v (%v), gguf ids %v (%v)", s, a, errA, b, errB)
					}
				}
				ov, err := om.Embed(ctx, texts)
				if err != nil {
					t.Fatal(err)
				}
				gv, err := gm.Embed(ctx, texts)
				if err != nil {
					t.Fatal(err)
				}
				worst := 1.0
				for i := range texts {
					c := cosine(ov[i], gv[i])
					worst = min(worst, c)
					if c < 0.9999 {
						t.Errorf("%s pooling, text %d: onnx vs gguf cosine %.7f", pooling, i, c)
					}
					if pooling == "mean" && i < len(r.emb) {
						if c := cosine(ov[i], r.emb[i]); c < 0.9999 {
							t.Errorf("text %d: onnx vs llama.cpp cosine %.7f", i, c)
						}
					}
				}
				t.Logf("%s pooling: min cosine onnx vs gguf 1-%.3g over %d texts (padded batches)", pooling, 1-worst, len(texts))
				// Alone (no padding) and in a padded batch agree.
				one, err := om.Embed(ctx, texts[len(texts)-2:len(texts)-1])
				if err != nil {
					t.Fatal(err)
				}
				if c := cosine(one[0], ov[len(texts)-2]); c < 0.999999 {
					t.Errorf("%s pooling: padding changed a vector: cosine %.9f", pooling, c)
				}
			}
		})
	}
	t.Logf("%d ONNX backend(s) ran", ran)
}

// TestEmbedONNXNotEncoder: an ONNX model whose inputs are not an encoder's
// is refused with the inputs named; a missing tokenizer is reported.
func TestEmbedONNXNotEncoder(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	g := &graphBuilder{}
	g.inputs = []pbuf{valueInfo("pixel_values", onnxFloat, "batch", 3)}
	g.outputs = []pbuf{valueInfo("y", onnxFloat, "batch", 3)}
	g.nodes = append(g.nodes, pbuf(nil).str(1, "pixel_values").str(2, "y").str(3, "id").str(4, "Identity"))
	var graph pbuf
	for _, n := range g.nodes {
		graph = graph.bytes(1, n)
	}
	graph = graph.str(2, "g").bytes(11, g.inputs[0]).bytes(12, g.outputs[0])
	model := pbuf(nil).varint(1, 8).bytes(7, graph).bytes(8, pbuf(nil).str(1, "").varint(2, 17))
	path := filepath.Join(dir, "model.onnx")
	os.WriteFile(path, model, 0o644)
	ctx := context.Background()
	if _, err := runtime.LoadEmbedder(ctx, dir); err == nil || !strings.Contains(err.Error(), "tokenizer") {
		t.Errorf("no tokenizer: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n"), 0o644)
	if _, err := runtime.LoadEmbedder(ctx, dir); err == nil || !strings.Contains(err.Error(), "pixel_values") {
		t.Errorf("image model: %v", err)
	}
}
