package onnx

import (
	"os"
	"path/filepath"
	"testing"
)

// checkTensor checks the invariants Decode promises for a tensor.
func checkTensor(t *testing.T, tensor *Tensor) {
	n, err := NumElements(tensor.Dims)
	if err != nil {
		t.Fatalf("decoded tensor with bad dims %v: %v", tensor.Dims, err)
	}
	switch {
	case tensor.External != nil:
		if tensor.Raw != nil {
			t.Fatalf("external tensor with inline data")
		}
	case tensor.Type == String:
		if int64(len(tensor.Strings)) != n {
			t.Fatalf("%d strings for %d elements", len(tensor.Strings), n)
		}
	default:
		size, err := tensor.Type.ByteSize(n)
		if err != nil || int64(len(tensor.Raw)) != size {
			t.Fatalf("%v%v: %d raw bytes, want %d (%v)", tensor.Type, tensor.Dims, len(tensor.Raw), size, err)
		}
	}
}

func addSeeds(f *testing.F, pattern string) {
	paths, _ := filepath.Glob(pattern)
	for i, p := range paths {
		if i%7 != 0 { // a spread of the node tests keeps the corpus small
			continue
		}
		if data, err := os.ReadFile(p); err == nil && len(data) < 1<<16 {
			f.Add(data)
		}
	}
}

// FuzzModel feeds arbitrary bytes to Decode: it must return a model or an
// error, never panic or allocate far beyond the input, and what it returns
// must keep its invariants.
func FuzzModel(f *testing.F) {
	f.Add(addModelPB(tensorPB("w", Float, []int64{2}, f32le(1, 2))))
	f.Add(addModelPB(externalTensorPB("w", Float, []int64{2}, "location", "w.bin")))
	addSeeds(f, filepath.Join(testdata, "node", "test_*", "model.onnx"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			return
		}
		_ = m.Validate()
		_ = m.Ops()
		m.forEachTensor(func(tensor *Tensor) { checkTensor(t, tensor) })
	})
}

// FuzzTensor feeds arbitrary bytes to DecodeTensor.
func FuzzTensor(f *testing.F) {
	f.Add([]byte(tensorPB("w", Float, []int64{2}, f32le(1, 2))))
	f.Add([]byte(pb(nil).packed(1, 2).varint(2, int64(Int64)).packed(7, -1, 300)))
	f.Add([]byte(pb(nil).packed(1, 1).varint(2, int64(String)).str(6, "hi")))
	addSeeds(f, filepath.Join(testdata, "node", "test_*", "test_data_set_0", "*.pb"))
	seq := &TypeInfo{Kind: KindSequence, Inner: &TypeInfo{Kind: KindTensor, Elem: Float}}
	opt := &TypeInfo{Kind: KindOptional, Inner: seq}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, typ := range []*TypeInfo{seq, opt} {
			if v, err := DecodeValue(data, typ); err == nil && v.Kind != typ.Kind {
				t.Fatalf("decoded %v as %v", typ, v.Kind)
			}
		}
		tensor, err := DecodeTensor(data)
		if err != nil {
			return
		}
		checkTensor(t, tensor)
	})
}
