package gguf

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"
	"github.com/edgeai-go/edgeai/quant"
)

// everyValue returns metadata holding every value type, as scalars, arrays,
// empty arrays and nested arrays.
func everyValue() []KV {
	nested := NewArray(TypeArray, []Value{
		NewStrings([]string{"a", "", "ü"}),
		NewArray(TypeArray, []Value{NewInt32s([]int32{-1, 2}), NewArray(TypeBool, nil)}),
		NewFloat32s(nil),
	})
	return []KV{
		{"general.architecture", NewString("test")},
		{"t.uint8", NewUint8(255)},
		{"t.int8", NewInt8(-128)},
		{"t.uint16", NewUint16(65535)},
		{"t.int16", NewInt16(-32768)},
		{"t.uint32", NewUint32(math.MaxUint32)},
		{"t.int32", NewInt32(math.MinInt32)},
		{"t.float32", NewFloat32(-1.5e-7)},
		{"t.float32.nan", NewFloat32(float32(math.NaN()))},
		{"t.bool.true", NewBool(true)},
		{"t.bool.false", NewBool(false)},
		{"t.string", NewString("héllo\x00world")},
		{"t.string.empty", NewString("")},
		{"t.uint64", NewUint64(math.MaxUint64)},
		{"t.int64", NewInt64(math.MinInt64)},
		{"t.float64", NewFloat64(math.Inf(-1))},
		{"a.uint8", NewArray(TypeUint8, []Value{NewUint8(0), NewUint8(200)})},
		{"a.int8", NewArray(TypeInt8, []Value{NewInt8(-3), NewInt8(4)})},
		{"a.uint16", NewArray(TypeUint16, []Value{NewUint16(1), NewUint16(60000)})},
		{"a.int16", NewArray(TypeInt16, []Value{NewInt16(-30000)})},
		{"a.uint32", NewUint32s([]uint32{7, math.MaxUint32})},
		{"a.int32", NewInt32s([]int32{-7, math.MaxInt32})},
		{"a.float32", NewFloat32s([]float32{0.25, -2, float32(math.Inf(1))})},
		{"a.bool", NewArray(TypeBool, []Value{NewBool(true), NewBool(false), NewBool(true)})},
		{"a.string", NewStrings([]string{"<unk>", "", "▁the"})},
		{"a.uint64", NewArray(TypeUint64, []Value{NewUint64(1 << 63)})},
		{"a.int64", NewArray(TypeInt64, []Value{NewInt64(-1 << 62)})},
		{"a.float64", NewArray(TypeFloat64, []Value{NewFloat64(math.Pi), NewFloat64(math.Copysign(0, -1))})},
		{"a.empty", NewArray(TypeString, nil)},
		{"a.nested", nested},
	}
}

// randomTensors returns tensors of several quant types and ranks with random bytes.
func randomTensors(r *rand.Rand) []WriteTensor {
	specs := []struct {
		name  string
		typ   quant.Type
		shape []int64
	}{
		{"f32.1d", quant.F32, []int64{7}},
		{"f16.2d", quant.F16, []int64{5, 3}},
		{"q4_0", quant.Q4_0, []int64{64, 3}},
		{"q8_0.3d", quant.Q8_0, []int64{32, 2, 3}},
		{"q4_k", quant.Q4_K, []int64{256, 2}},
		{"q6_k.4d", quant.Q6_K, []int64{256, 1, 2, 2}},
		{"iq4_nl", quant.IQ4_NL, []int64{32}},
		{"bf16", quant.BF16, []int64{3, 1}},
		{"empty", quant.F32, []int64{0, 4}},
		{"iq2_xxs", quant.IQ2_XXS, []int64{256}}, // known but not decodable: still a valid file
	}
	var ts []WriteTensor
	for _, s := range specs {
		n, err := tensorSize(s.typ, s.shape)
		if err != nil {
			panic(err)
		}
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		ts = append(ts, WriteTensor{s.name, s.typ, s.shape, data})
	}
	return ts
}

func TestWriteRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, align := range []int64{0, 1, 8, 32, 64, 4096} {
		kv := everyValue()
		ts := randomTensors(r)
		var buf bytes.Buffer
		if err := Write(&buf, kv, ts, align); err != nil {
			t.Fatalf("align %d: %v", align, err)
		}
		f, err := NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatalf("align %d: %v", align, err)
		}
		wantAlign := align
		if align == 0 {
			wantAlign = DefaultAlignment
		}
		if f.Version != 3 || f.Alignment != wantAlign || f.DataOffset%wantAlign != 0 {
			t.Errorf("align %d: version %d, alignment %d, data at %d", align, f.Version, f.Alignment, f.DataOffset)
		}
		wantKV := len(kv)
		if wantAlign != DefaultAlignment {
			wantKV++ // general.alignment added
			if a, ok := f.Uint(KeyAlignment); !ok || int64(a) != wantAlign {
				t.Errorf("align %d: %s = %d, %v", align, KeyAlignment, a, ok)
			}
		}
		if len(f.KV) != wantKV {
			t.Fatalf("align %d: %d keys, want %d", align, len(f.KV), wantKV)
		}
		for i, e := range kv {
			if f.KV[i].Key != e.Key || !f.KV[i].Value.Equal(e.Value) {
				t.Errorf("align %d: key %d: got %s = %v, want %s = %v", align, i, f.KV[i].Key, f.KV[i].Value, e.Key, e.Value)
			}
		}
		if len(f.Tensors) != len(ts) {
			t.Fatalf("%d tensors, want %d", len(f.Tensors), len(ts))
		}
		for i, w := range ts {
			g := &f.Tensors[i]
			if g.Name != w.Name || g.Type != w.Type || len(g.Shape) != len(w.Shape) || g.Offset%wantAlign != 0 {
				t.Errorf("tensor %d: got %+v", i, g)
			}
			for j := range w.Shape {
				if g.Shape[j] != w.Shape[j] {
					t.Errorf("tensor %s: shape %v, want %v", w.Name, g.Shape, w.Shape)
				}
			}
			data, err := f.TensorData(g)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(data, w.Data) {
				t.Errorf("tensor %s: data differs", w.Name)
			}
		}
		// Writing what was read gives the same bytes.
		var again bytes.Buffer
		if err := Write(&again, f.KV, toWrite(t, f), f.Alignment); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Bytes(), buf.Bytes()) {
			t.Errorf("align %d: rewrite differs (%d vs %d bytes)", align, again.Len(), buf.Len())
		}
	}
}

// toWrite turns the tensors of f back into WriteTensors.
func toWrite(t testing.TB, f *File) []WriteTensor {
	t.Helper()
	var ts []WriteTensor
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		data, err := f.TensorData(ti)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, WriteTensor{ti.Name, ti.Type, ti.Shape, data})
	}
	return ts
}

// TestRewriteReal reads real files written by llama.cpp and gguf-py and writes
// them back: the bytes must be identical, which pins the writer's layout
// (header, padding, offsets) to the reference writers.
func TestRewriteReal(t *testing.T) {
	for _, rel := range []string{
		"models/stories260K.gguf",
		"testdata/quant/quant-conformance.gguf",
		"testdata/llama/tiny-llama-Q4_K_M.gguf",
		"testdata/tokenizer/ggml-vocab-phi-3.gguf",
	} {
		p := sharedPath(t, rel)
		f, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := Write(&buf, f.KV, toWrite(t, f), f.Alignment); err != nil {
			t.Fatal(err)
		}
		orig, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got := buf.Bytes()
		if len(f.Tensors) == 0 {
			// Vocabulary-only files end right after the metadata, unpadded.
			got = got[:min(len(got), int(f.headerEnd))]
		}
		if !bytes.Equal(got, orig) {
			i := 0
			for i < len(got) && i < len(orig) && got[i] == orig[i] {
				i++
			}
			t.Errorf("%s: rewrite differs from the original at byte %d (%d vs %d bytes)", rel, i, len(got), len(orig))
		}
		f.Close()
	}
}

func TestWriteErrors(t *testing.T) {
	f32 := func(name string, shape ...int64) WriteTensor {
		n, _ := tensorSize(quant.F32, shape)
		return WriteTensor{name, quant.F32, shape, make([]byte, n)}
	}
	tests := []struct {
		name    string
		kv      []KV
		tensors []WriteTensor
		align   int64
		want    string
	}{
		{"short data", nil, []WriteTensor{{"x", quant.F32, []int64{4}, make([]byte, 15)}}, 0, "15 bytes of data"},
		{"long data", nil, []WriteTensor{{"x", quant.Q8_0, []int64{32}, make([]byte, 35)}}, 0, "takes 34"},
		{"partial block", nil, []WriteTensor{{"x", quant.Q4_0, []int64{33}, make([]byte, 18)}}, 0, "not a multiple"},
		{"unknown type", nil, []WriteTensor{{"x", quant.Type(99), []int64{1}, make([]byte, 4)}}, 0, "unknown tensor type"},
		{"5 dims", nil, []WriteTensor{f32("x", 1, 1, 1, 1, 1)}, 0, "5 dimensions"},
		{"negative dim", nil, []WriteTensor{{"x", quant.F32, []int64{-1}, nil}}, 0, "negative"},
		{"duplicate tensor", nil, []WriteTensor{f32("x", 1), f32("x", 2)}, 0, "duplicate tensor"},
		{"empty tensor name", nil, []WriteTensor{f32("", 1)}, 0, "name length 0"},
		{"long tensor name", nil, []WriteTensor{f32(strings.Repeat("n", 65), 1)}, 0, "name length 65"},
		{"duplicate key", []KV{{"a", NewUint8(1)}, {"a", NewUint8(2)}}, nil, 0, "duplicate key"},
		{"empty key", []KV{{"", NewUint8(1)}}, nil, 0, "length 0"},
		{"mixed array", []KV{{"a", NewArray(TypeInt32, []Value{NewInt32(1), NewUint32(2)})}}, nil, 0, "element 1 has type uint32"},
		{"bad value type", []KV{{"a", Value{Type: 13}}}, nil, 0, "invalid value type"},
		{"alignment 3", nil, nil, 3, "alignment 3"},
		{"alignment negative", nil, nil, -32, "alignment -32"},
		{"alignment key 0", []KV{{KeyAlignment, NewUint32(0)}}, nil, 0, "general.alignment = 0"},
		{"alignment key string", []KV{{KeyAlignment, NewString("32")}}, nil, 0, "general.alignment"},
		{"alignment conflict", []KV{{KeyAlignment, NewUint32(64)}}, nil, 32, "disagrees"},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		err := Write(&buf, tc.kv, tc.tensors, tc.align)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: %d bytes written before the error", tc.name, buf.Len())
		}
	}
	// Too deep nesting.
	v := NewUint8s([]uint8{1})
	for i := 0; i < MaxArrayDepth; i++ {
		v = NewArray(TypeArray, []Value{v})
	}
	if err := Write(&bytes.Buffer{}, []KV{{"deep", v}}, nil, 0); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Errorf("deep nesting: %v", err)
	}
	// A writer that fails.
	if err := Write(failWriter{}, everyValue(), nil, 0); !errors.Is(err, errFail) {
		t.Errorf("failing writer: %v", err)
	}
}

var errFail = errors.New("disk full")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errFail }

// TestWriteAlignmentFromKV uses general.alignment when alignment is 0.
func TestWriteAlignmentFromKV(t *testing.T) {
	var buf bytes.Buffer
	ts := []WriteTensor{{"a", quant.F32, []int64{3}, make([]byte, 12)}, {"b", quant.F32, []int64{1}, []byte{1, 2, 3, 4}}}
	if err := Write(&buf, []KV{{KeyAlignment, NewUint64(256)}}, ts, 0); err != nil {
		t.Fatal(err)
	}
	f, err := NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if f.Alignment != 256 || f.DataOffset != 256 || f.Tensors[1].Offset != 256 || f.Size() != 256*3 {
		t.Errorf("alignment %d, data at %d, b at %d, size %d", f.Alignment, f.DataOffset, f.Tensors[1].Offset, f.Size())
	}
}

func TestRewrite(t *testing.T) {
	f, err := Open(testutil.Stories(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	err = Rewrite(&buf, f, func(kv []KV) []KV {
		for i := range kv {
			if kv[i].Key == "llama.context_length" {
				kv[i].Value = NewUint32(1 << 20)
			}
		}
		return append(kv, KV{Key: "test.added", Value: NewString("yes")})
	})
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := g.Uint("llama.context_length"); v != 1<<20 {
		t.Errorf("context_length %d", v)
	}
	if s, _ := g.String("test.added"); s != "yes" || len(g.Tensors) != len(f.Tensors) {
		t.Errorf("added key %q, %d tensors", s, len(g.Tensors))
	}
	for i := range f.Tensors {
		a, _ := f.TensorData(&f.Tensors[i])
		b, err := g.TensorData(&g.Tensors[i])
		if err != nil || !bytes.Equal(a, b) {
			t.Fatalf("tensor %s differs (%v)", f.Tensors[i].Name, err)
		}
	}
}
