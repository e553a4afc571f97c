package runtime_test

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/runtime"
)

// tensorPB writes a TensorProto by hand: dims (field 1), data_type
// (field 2), string_data (field 6) and raw_data (field 9).
func tensorPB(dims []int64, typ runtime.TensorType, strs []string, raw []byte) []byte {
	var b []byte
	for _, d := range dims {
		b = binary.AppendUvarint(append(b, 0x08), uint64(d))
	}
	b = binary.AppendUvarint(append(b, 0x10), uint64(typ))
	for _, s := range strs {
		b = append(binary.AppendUvarint(append(b, 0x32), uint64(len(s))), s...)
	}
	if raw != nil {
		b = append(binary.AppendUvarint(append(b, 0x4a), uint64(len(raw))), raw...)
	}
	return b
}

// TestReadTensorFile reads TensorProto files of each kind, and refuses
// data that does not fill the shape.
func TestReadTensorFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, pb []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pb, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	raw := binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, math.Float32bits(1.5)), math.Float32bits(-2))
	f, err := runtime.ReadTensorFile(write("f.pb", tensorPB([]int64{1, 2}, runtime.TensorFloat32, nil, raw)))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := runtime.TensorValues[float32](f); f.Type != runtime.TensorFloat32 || !slices.Equal(f.Shape, []int64{1, 2}) || !slices.Equal(v, []float32{1.5, -2}) {
		t.Errorf("float tensor %v %v %v", f.Type, f.Shape, f.Data)
	}
	s, err := runtime.ReadTensorFile(write("s.pb", tensorPB([]int64{2}, runtime.TensorString, []string{"a", "bé"}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := runtime.TensorValues[string](s); !slices.Equal(v, []string{"a", "bé"}) {
		t.Errorf("string tensor %v", s.Data)
	}
	for name, pb := range map[string][]byte{
		"short-raw.pb":     tensorPB([]int64{3}, runtime.TensorFloat32, nil, raw),
		"short-strings.pb": tensorPB([]int64{3}, runtime.TensorString, []string{"a"}, nil),
		"complex.pb":       tensorPB([]int64{1}, 14, nil, raw),
	} {
		if _, err := runtime.ReadTensorFile(write(name, pb)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v, want an error naming the file", name, err)
		}
	}
	if _, err := runtime.ReadTensorFile(filepath.Join(dir, "missing.pb")); err == nil {
		t.Error("a missing file reads")
	}
}

// TestCompareTensors: floating-point types within the tolerance (NaN
// matches NaN), every other type exactly (int64 beyond 2^53 too), type and
// shape mismatches, missing tensors, and ONNX's bfloat16 data stored as
// uint16.
func TestCompareTensors(t *testing.T) {
	mk := func(typ runtime.TensorType, shape []int64, data any) *runtime.Tensor {
		return &runtime.Tensor{Type: typ, Shape: shape, Data: data}
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	f32 := func(v ...float32) *runtime.Tensor { return mk(runtime.TensorFloat32, []int64{int64(len(v))}, v) }
	i64 := func(v ...int64) *runtime.Tensor { return mk(runtime.TensorInt64, []int64{int64(len(v))}, v) }
	for _, c := range []struct {
		name      string
		got, want *runtime.Tensor
		bad       string // "" when they match; else a part of the error
	}{
		{"equal floats", f32(1, 2, nan, inf), f32(1, 2, nan, inf), ""},
		{"within tolerance", f32(1.0009, 0), f32(1, 1e-8), ""},
		{"worst element", f32(1.01, 5, 2.1), f32(1, 1, 2), "[1] = 5, want 1"},
		{"NaN for a number", f32(nan), f32(1), "[0] = NaN"},
		{"inf for a number", f32(1), f32(inf), "[0] = 1, want +Inf"},
		{"int64 beyond 2^53", i64(1<<60 + 1), i64(1 << 60), "[0] = 1152921504606846977, want 1152921504606846976"},
		{"equal int64", i64(-3, 1<<62), i64(-3, 1<<62), ""},
		{"integers exactly", mk(runtime.TensorInt8, []int64{2}, []int8{1, 2}), mk(runtime.TensorInt8, []int64{2}, []int8{1, 3}), "[1] = 2, want 3"},
		{"strings", mk(runtime.TensorString, []int64{1}, []string{"a"}), mk(runtime.TensorString, []int64{1}, []string{"b"}), `[0] = "a", want "b"`},
		{"booleans", mk(runtime.TensorBool, []int64{1}, []bool{true}), mk(runtime.TensorBool, []int64{1}, []bool{true}), ""},
		{"type", f32(1), i64(1), "type float32, want int64"},
		{"shape", f32(1, 2), mk(runtime.TensorFloat32, []int64{2, 1}, []float32{1, 2}), "shape [2], want [2 1]"},
		{"invalid data", mk(runtime.TensorFloat32, []int64{3}, []float32{1}), f32(1, 2, 3), "3 elements"},
		{"no tensor", nil, f32(1), "no tensor"},
		{"bfloat16 as uint16", mk(runtime.TensorBFloat16, []int64{1}, []uint16{0x3f80}), mk(runtime.TensorUint16, []int64{1}, []uint16{0x3f80}), ""},
	} {
		err := runtime.CompareTensors(c.got, c.want, 1e-3, 1e-7)
		if c.bad == "" && err != nil || c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.bad)
		}
	}
}
