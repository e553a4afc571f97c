package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/quant"
)

// raw builds GGUF bytes by hand, including invalid ones.
type raw struct{ b []byte }

func (r *raw) u8(x uint8) *raw   { r.b = append(r.b, x); return r }
func (r *raw) u32(x uint32) *raw { r.b = binary.LittleEndian.AppendUint32(r.b, x); return r }
func (r *raw) u64(x uint64) *raw { r.b = binary.LittleEndian.AppendUint64(r.b, x); return r }
func (r *raw) str(s string) *raw { r.u64(uint64(len(s))); r.b = append(r.b, s...); return r }

// key starts a metadata entry: its key and value type.
func (r *raw) key(k string, t ValueType) *raw { return r.str(k).u32(uint32(t)) }

// arr starts an array payload: element type and count.
func (r *raw) arr(elem ValueType, n uint64) *raw { return r.u32(uint32(elem)).u64(n) }

// tensor writes a tensor description.
func (r *raw) tensor(name string, typ quant.Type, off uint64, shape ...uint64) *raw {
	r.str(name).u32(uint32(len(shape)))
	for _, d := range shape {
		r.u64(d)
	}
	return r.u32(uint32(typ)).u64(off)
}

// data pads to 32 and appends n bytes of tensor data.
func (r *raw) data(n int) *raw {
	for len(r.b)%32 != 0 {
		r.b = append(r.b, 0)
	}
	r.b = append(r.b, make([]byte, n)...)
	return r
}

func hdr(nTensors, nKV uint64) *raw {
	r := &raw{b: []byte("GGUF")}
	return r.u32(3).u64(nTensors).u64(nKV)
}

func parseBytes(b []byte) (*File, error) { return NewReader(bytes.NewReader(b), int64(len(b))) }

// nestedArrays returns a metadata entry holding arrays nested depth deep.
func nestedArrays(depth int) []byte {
	r := hdr(0, 1).key("n", TypeArray)
	for i := 1; i < depth; i++ {
		r.arr(TypeArray, 1)
	}
	return r.arr(TypeUint8, 1).u8(7).b
}

// hostileCase is a malformed file and a substring of the error it must give.
type hostileCase struct {
	name string
	in   []byte
	want string
}

func hostileCases() []hostileCase {
	return []hostileCase{
		{"empty", nil, "too short"},
		{"3 bytes", []byte("GGU"), "too short"},
		{"magic only", []byte("GGUF"), "truncated"},
		{"bad magic", append([]byte("GGUG"), hdr(0, 0).b[4:]...), "bad magic"},
		{"legacy ggjt", append([]byte("tjgg"), hdr(0, 0).b[4:]...), "legacy"},
		{"version 1", (&raw{b: []byte("GGUF")}).u32(1).u32(0).u32(0).b, "version 1 is not supported"},
		{"version 4", (&raw{b: []byte("GGUF")}).u32(4).u64(0).u64(0).b, "unsupported GGUF version 4"},
		{"big-endian", append([]byte("GGUF\x00\x00\x00\x03"), make([]byte, 16)...), "big-endian"},
		{"huge tensor count", hdr(1<<62, 0).b, "tensors is more than the limit"},
		{"tensor count past EOF", append(hdr(1000, 0).b, make([]byte, 100)...), "1000 tensors need at least 24 bytes each"},
		{"kv count past EOF", append(hdr(0, 1000).b, make([]byte, 100)...), "1000 metadata entries need at least 13 bytes each"},
		{"version 0", (&raw{b: []byte("GGUF")}).u32(0).u64(0).u64(0).b, "unsupported GGUF version 0"},
		{"max tensor count", hdr(math.MaxUint64, 0).b, "tensors"},
		{"huge kv count", hdr(0, math.MaxUint64).b, "metadata entries"},
		{"counts together too big", append(hdr(2, 2).b, make([]byte, 60)...), "cannot fit"},
		{"ollama 40-byte array", hdr(0, 1).key("a", TypeArray).arr(TypeUint64, 1<<60).b, "array elements of type uint64"},
		{"array over cap", append(hdr(0, 1).key("a", TypeArray).arr(TypeUint8, MaxArrayLen+1).b, 1), "more than the limit"},
		{"array of strings past EOF", hdr(0, 1).key("a", TypeArray).arr(TypeString, 1000).str("x").b, "need at least 8 bytes each"},
		{"string past EOF", hdr(0, 1).key("a", TypeString).u64(100).b, "runs past the end"},
		{"key over cap", append(hdr(0, 1).u64(1<<63).b, make([]byte, 8)...), "longer than the limit"},
		{"string over cap", hdr(0, 1).key("a", TypeString).u64(MaxStringLen + 1).b, "longer than the limit"},
		{"empty key", hdr(0, 1).key("", TypeUint8).u8(0).b, "empty key"},
		{"duplicate key", hdr(0, 2).key("a", TypeUint8).u8(0).key("a", TypeUint8).u8(1).b, "duplicate key"},
		{"unknown value type", hdr(0, 1).key("a", 13).u64(0).b, "unknown value type 13"},
		{"array of unknown type", hdr(0, 1).key("a", TypeArray).arr(42, 0).b, "array of unknown value type 42"},
		{"bool 2", hdr(0, 1).key("a", TypeBool).u8(2).b, "bool value 2"},
		{"bool array 7", hdr(0, 1).key("a", TypeArray).arr(TypeBool, 2).u8(1).u8(7).b, "element 1 has value 7"},
		{"nested too deep", nestedArrays(MaxArrayDepth + 1), "nested more than"},
		{"alignment 0", hdr(0, 1).key(KeyAlignment, TypeUint32).u32(0).b, "general.alignment = 0"},
		{"alignment 48", hdr(0, 1).key(KeyAlignment, TypeUint32).u32(48).b, "general.alignment = 48"},
		{"alignment huge", hdr(0, 1).key(KeyAlignment, TypeUint64).u64(1 << 40).b, "not a power of two"},
		{"alignment negative", hdr(0, 1).key(KeyAlignment, TypeInt32).u32(0xffffffe0).b, "general.alignment = -32"},
		{"alignment string", hdr(0, 1).key(KeyAlignment, TypeString).str("32").b, "general.alignment"},
		{"tensor 5 dims", hdr(1, 0).tensor("t", quant.F32, 0, 1, 1, 1, 1, 1).data(4).b, "5 dimensions"},
		{"dims count huge", append(hdr(1, 0).str("t").u32(1<<31).b, make([]byte, 16)...), "dimensions"},
		{"dim out of range", hdr(1, 0).tensor("t", quant.F32, 0, 1<<63).b, "out of range"},
		{"shape overflow", hdr(1, 0).tensor("t", quant.F32, 0, 1<<32, 1<<32, 1<<32).b, "overflows"},
		{"size overflow", hdr(1, 0).tensor("t", quant.F32, 0, 1<<61).b, "overflows"},
		{"unknown tensor type", hdr(1, 0).tensor("t", 99, 0, 4).data(16).b, "unknown tensor type: 99"},
		{"partial block", hdr(1, 0).tensor("t", quant.Q4_0, 0, 33).data(36).b, "not a multiple of the Q4_0 block size 32"},
		{"misaligned offset", hdr(1, 0).tensor("t", quant.F32, 4, 4).data(64).b, "not a multiple of the alignment"},
		{"offset past EOF", hdr(1, 0).tensor("t", quant.F32, 1<<20, 4).data(64).b, "past the end of the"},
		{"data past EOF", hdr(1, 0).tensor("t", quant.F32, 0, 17).data(64).b, "past the end of the"},
		{"offset overflow", hdr(1, 0).tensor("t", quant.F32, math.MaxInt64&^31, 8).data(64).b, "past the end of the"},
		{"offset out of range", hdr(1, 0).tensor("t", quant.F32, 1<<63, 4).data(64).b, "out of range"},
		{"overlap", hdr(2, 0).tensor("a", quant.F32, 0, 16).tensor("b", quant.F32, 32, 16).data(96).b, `"a" [0, +64) and "b" [32, +64) overlap`},
		{"overlap reversed", hdr(2, 0).tensor("a", quant.F32, 32, 16).tensor("b", quant.F32, 0, 16).data(96).b, "overlap"},
		{"same offset", hdr(2, 0).tensor("a", quant.F32, 0, 8).tensor("b", quant.F32, 0, 8).data(64).b, "overlap"},
		{"duplicate tensor", hdr(2, 0).tensor("a", quant.F32, 0, 8).tensor("a", quant.F32, 32, 8).data(64).b, "duplicate tensor name"},
		{"empty tensor name", hdr(1, 0).tensor("", quant.F32, 0, 8).data(64).b, "empty name"},
		{"tensor name too long", hdr(1, 0).tensor(strings.Repeat("x", 65), quant.F32, 0, 8).data(64).b, "longer than the limit of 64"},
		{"missing tensor", hdr(2, 0).tensor("a", quant.F32, 0, 8).data(32).b, "tensor 1"},
		{"missing kv", append(hdr(0, 2).key("a", TypeUint32).u32(1).b, make([]byte, 12)...), "metadata entry 1"},
	}
}

func TestReadHostile(t *testing.T) {
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseBytes(tc.in)
			if err == nil {
				t.Fatalf("parsed: %d keys, %d tensors; want an error containing %q", len(f.KV), len(f.Tensors), tc.want)
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("error %q does not wrap ErrFormat", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
	// The unknown-type error also wraps quant's sentinel.
	_, err := parseBytes(hdr(1, 0).tensor("t", 99, 0, 4).data(16).b)
	if !errors.Is(err, quant.ErrUnknownType) {
		t.Errorf("unknown type: %v does not wrap quant.ErrUnknownType", err)
	}
}

// TestReadEdgeCases are unusual but valid files.
func TestReadEdgeCases(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		check func(*File) bool
	}{
		{"no tensors, no keys", hdr(0, 0).b, func(f *File) bool { return len(f.KV) == 0 && f.DataOffset == 32 }},
		{"version 2", (&raw{b: []byte("GGUF")}).u32(2).u64(0).u64(1).key("a", TypeInt8).u8(0xff).b,
			func(f *File) bool { x, ok := f.Int("a"); return f.Version == 2 && ok && x == -1 }},
		{"nesting at the limit", nestedArrays(MaxArrayDepth), func(f *File) bool {
			v, _ := f.Lookup("n")
			for i := 1; i < MaxArrayDepth; i++ {
				_, vs, ok := v.Array()
				if !ok || len(vs) != 1 {
					return false
				}
				v = vs[0]
			}
			_, vs, _ := v.Array()
			x, _ := vs[0].Uint()
			return x == 7
		}},
		{"unsupported but known type", hdr(1, 0).tensor("t", quant.IQ2_XXS, 0, 256).data(66).b,
			func(f *File) bool { return f.Tensors[0].Type == quant.IQ2_XXS && f.Tensors[0].Size == 66 }},
		{"scalar tensor", hdr(1, 0).tensor("s", quant.F32, 0).data(4).b,
			func(f *File) bool { return f.Tensors[0].Elements() == 1 && f.Tensors[0].Size == 4 }},
		{"zero-size tensors", hdr(3, 0).tensor("z", quant.F32, 0, 0, 5).tensor("a", quant.F32, 0, 1).tensor("y", quant.Q4_0, 0, 0).data(4).b,
			func(f *File) bool { return f.Tensors[0].Size == 0 && f.ParamCount() == 1 }},
		{"tensors out of order", hdr(2, 0).tensor("a", quant.F32, 32, 8).tensor("b", quant.F32, 0, 8).data(64).b,
			func(f *File) bool { return f.Tensors[0].Offset == 32 }},
		{"alignment 1", hdr(1, 1).key(KeyAlignment, TypeUint32).u32(1).tensor("t", quant.F32, 3, 1).data(7).b,
			func(f *File) bool { return f.Alignment == 1 && f.Tensors[0].Offset == 3 }},
		{"name of 64 bytes", hdr(1, 0).tensor(strings.Repeat("x", 64), quant.F32, 0, 1).data(4).b,
			func(f *File) bool { _, ok := f.Tensor(strings.Repeat("x", 64)); return ok }},
	}
	for _, tc := range tests {
		f, err := parseBytes(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !tc.check(f) {
			t.Errorf("%s: unexpected contents: %+v", tc.name, f)
		}
	}
}

// checkTruncations parses every prefix of b in [from, to) and checks that it
// fails exactly when a part of the header or of a tensor is cut off.
func checkTruncations(t *testing.T, name string, b []byte, from, to int) {
	t.Helper()
	full, err := parseBytes(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	need := full.headerEnd
	for i := range full.Tensors {
		need = max(need, full.DataOffset+full.Tensors[i].Offset+full.Tensors[i].Size)
	}
	for n := from; n < to && n <= len(b); n++ {
		f, err := parseBytes(b[:n])
		if int64(n) < need {
			if err == nil {
				t.Fatalf("%s: prefix of %d bytes (of %d, need %d) parsed", name, n, len(b), need)
			}
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("%s: prefix of %d bytes: %v does not wrap ErrFormat", name, n, err)
			}
		} else if err != nil || len(f.Tensors) != len(full.Tensors) {
			t.Fatalf("%s: prefix of %d bytes (need %d): %v", name, n, need, err)
		}
	}
}

func TestReadTruncated(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, everyValue(), randomTensors(rand.New(rand.NewPCG(3, 4))), 0); err != nil {
		t.Fatal(err)
	}
	checkTruncations(t, "every value", buf.Bytes(), 0, buf.Len()+1)

	b, err := os.ReadFile(sharedPath(t, "models/stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := parseBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	// Every byte of the header, then a stride through the tensor data, then the tail.
	checkTruncations(t, "stories260K", b, 0, int(f.DataOffset)+64)
	for n := int(f.DataOffset); n < len(b); n += 4093 {
		checkTruncations(t, "stories260K", b, n, n+1)
	}
	checkTruncations(t, "stories260K", b, len(b)-64, len(b)+1)
}

// TestReadCorruptedBytes flips bytes of the header of a valid file: every
// result must be either a valid file or an ErrFormat error (never a panic).
func TestReadCorruptedBytes(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, everyValue(), randomTensors(rand.New(rand.NewPCG(5, 6))), 0); err != nil {
		t.Fatal(err)
	}
	orig := buf.Bytes()
	f, err := parseBytes(orig)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, len(orig))
	for i := 0; i < int(f.DataOffset); i++ {
		for _, x := range []byte{0x00, 0xff, 0x80, 0x7f, orig[i] + 1, orig[i] ^ 0x40} {
			copy(b, orig)
			b[i] = x
			if _, err := parseBytes(b); err != nil && !errors.Is(err, ErrFormat) {
				t.Fatalf("byte %d = %#x: %v does not wrap ErrFormat", i, x, err)
			}
		}
	}
}

func TestValueAccessors(t *testing.T) {
	if x, ok := NewInt8(-1).Uint(); ok {
		t.Errorf("Uint of -1 = %d", x)
	}
	if x, ok := NewInt16(5).Uint(); !ok || x != 5 {
		t.Errorf("Uint of int16 5 = %d, %v", x, ok)
	}
	if x, ok := NewUint64(math.MaxUint64).Int(); ok {
		t.Errorf("Int of MaxUint64 = %d", x)
	}
	if x, ok := NewUint32(math.MaxUint32).Int(); !ok || x != math.MaxUint32 {
		t.Errorf("Int of MaxUint32 = %d", x)
	}
	if x, ok := NewInt64(-3).Float(); !ok || x != -3 {
		t.Errorf("Float of -3 = %v", x)
	}
	if x, ok := NewFloat32(0.1).Float(); !ok || x != float64(float32(0.1)) {
		t.Errorf("Float of float32 0.1 = %v", x)
	}
	if _, ok := NewString("1").Int(); ok {
		t.Error("Int of a string")
	}
	if _, ok := NewBool(true).Uint(); ok {
		t.Error("Uint of a bool")
	}
	if _, ok := NewFloat32(1).Int(); ok {
		t.Error("Int of a float")
	}
	if _, ok := NewUint8(1).Bool(); ok {
		t.Error("Bool of a uint8")
	}
	if x, ok := NewArray(TypeUint32, []Value{NewUint32(1), NewUint32(math.MaxInt32)}).Int32s(); !ok || x[1] != math.MaxInt32 {
		t.Errorf("Int32s of small uint32s: %v %v", x, ok)
	}
	if _, ok := NewUint32s([]uint32{math.MaxInt32 + 1}).Int32s(); ok {
		t.Error("Int32s of a uint32 above MaxInt32")
	}
	if x, ok := NewArray(TypeInt64, []Value{NewInt64(math.MinInt32)}).Int32s(); !ok || x[0] != math.MinInt32 {
		t.Errorf("Int32s of int64 MinInt32: %v %v", x, ok)
	}
	if _, ok := NewFloat32s([]float32{1}).Int32s(); ok {
		t.Error("Int32s of floats")
	}
	if x, ok := NewArray(TypeFloat64, []Value{NewFloat64(0.5)}).Float32s(); !ok || x[0] != 0.5 {
		t.Errorf("Float32s of float64s: %v %v", x, ok)
	}
	if _, ok := NewInt32s([]int32{1}).Float32s(); ok {
		t.Error("Float32s of int32s")
	}
	if _, ok := NewInt32s([]int32{1}).Strings(); ok {
		t.Error("Strings of int32s")
	}
	s := NewStrings([]string{"a"})
	got, _ := s.Strings()
	got[0] = "changed"
	if again, _ := s.Strings(); again[0] != "a" {
		t.Error("Strings returned shared storage")
	}
	var empty Value
	empty.Type = TypeArray
	if elem, vals, ok := empty.Array(); !ok || elem != TypeUint8 || len(vals) != 0 || empty.String() != "[uint8 × 0]" {
		t.Errorf("zero array value: %v %v %v %q", elem, vals, ok, empty.String())
	}
	if _, _, ok := NewString("x").Array(); ok {
		t.Error("Array of a string")
	}

	toks := make([]string, 32000)
	for i := range toks {
		toks[i] = "t"
	}
	toks[0], toks[1] = "<unk>", "<s>"
	for v, want := range map[*Value]string{
		ptr(NewStrings(toks)):    `[string × 32000] "<unk>", "<s>", "t", "t", "t", "t", "t", "t", ...`,
		ptr(NewFloat32s(nil)):    `[float32 × 0]`,
		ptr(NewInt8(-5)):         `-5`,
		ptr(NewUint64(1 << 63)):  `9223372036854775808`,
		ptr(NewFloat32(1e-5)):    `1e-05`,
		ptr(NewBool(true)):       `true`,
		ptr(NewString("a\"b\n")): `"a\"b\n"`,
		ptr(NewArray(TypeArray, []Value{NewInt32s([]int32{1, 2}), NewStrings([]string{"x"})})): `[array × 2] ([int32 × 2] 1, 2), ([string × 1] "x")`,
	} {
		if got := v.String(); got != want {
			t.Errorf("String() = %s, want %s", got, want)
		}
	}
}

func ptr(v Value) *Value { return &v }
