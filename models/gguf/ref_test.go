package gguf

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReferenceModels checks the reader against the .ref.json files that
// llama.cpp's tooling wrote next to each tiny model: file size, hyperparameters,
// and every tensor's type and shape.
func TestReferenceModels(t *testing.T) {
	refs, err := filepath.Glob(filepath.Join(sharedPath(t, "testdata"), "*", "*.ref.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) < 17 {
		t.Fatalf("found %d .ref.json files, want at least 17", len(refs))
	}
	for _, ref := range refs {
		model := strings.TrimSuffix(ref, ".ref.json") + ".gguf"
		t.Run(filepath.Base(model), func(t *testing.T) {
			b, err := os.ReadFile(ref)
			if err != nil {
				t.Fatal(err)
			}
			var r struct {
				Architecture string             `json:"architecture"`
				Size         int64              `json:"model_size_bytes"`
				Hparams      map[string]any     `json:"hparams"`
				Types        map[string]string  `json:"tensor_types"`
				Shapes       map[string][]int64 `json:"tensor_shapes_ggml_ne"`
			}
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			f, err := Open(model)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Size() != r.Size {
				t.Errorf("size %d, reference %d", f.Size(), r.Size)
			}
			if r.Architecture != "" && f.Arch() != r.Architecture {
				t.Errorf("arch %q, reference %q", f.Arch(), r.Architecture)
			}
			if len(r.Hparams) == 0 || len(r.Types) == 0 {
				t.Fatal("reference lists no hparams or tensor types")
			}
			for key, want := range r.Hparams {
				switch w := want.(type) {
				case float64:
					if got, ok := f.Float(key); !ok || got != w {
						t.Errorf("%s = %v, %v; reference %v", key, got, ok, w)
					}
				case bool:
					if got, ok := f.Bool(key); !ok || got != w {
						t.Errorf("%s = %v, %v; reference %v", key, got, ok, w)
					}
				case string:
					if got, ok := f.String(key); !ok || got != w {
						t.Errorf("%s = %q, %v; reference %q", key, got, ok, w)
					}
				default:
					t.Errorf("%s: reference value %v of type %T", key, want, want)
				}
			}
			if ft, name, ok := f.FileType(); ok {
				suffix := strings.TrimPrefix(filepath.Base(strings.TrimSuffix(model, ".gguf")), "tiny-"+f.Arch()+"-")
				if !strings.HasSuffix(name, "_"+suffix) {
					t.Errorf("file type %d = %s, file name says %s", ft, name, suffix)
				}
			}
			if len(f.Tensors) != len(r.Types) {
				t.Errorf("%d tensors, reference %d", len(f.Tensors), len(r.Types))
			}
			for name, typ := range r.Types {
				ti, ok := f.Tensor(name)
				if !ok {
					t.Errorf("tensor %s missing", name)
					continue
				}
				if ti.Type.String() != typ {
					t.Errorf("%s: type %v, reference %s", name, ti.Type, typ)
				}
				shape := r.Shapes[name]
				if len(shape) != len(ti.Shape) {
					t.Errorf("%s: shape %v, reference %v", name, ti.Shape, shape)
					continue
				}
				for i := range shape {
					if shape[i] != ti.Shape[i] {
						t.Errorf("%s: shape %v, reference %v", name, ti.Shape, shape)
						break
					}
				}
			}
		})
	}
}

func TestFileTypeName(t *testing.T) {
	for ft, want := range map[uint32]string{
		0: "ALL_F32", 1: "MOSTLY_F16", 2: "MOSTLY_Q4_0", 7: "MOSTLY_Q8_0", 15: "MOSTLY_Q4_K_M",
		18: "MOSTLY_Q6_K", 25: "MOSTLY_IQ4_NL", 30: "MOSTLY_IQ4_XS", 32: "MOSTLY_BF16",
		1024 + 15: "MOSTLY_Q4_K_M (guessed)", 999: "ftype(999)",
	} {
		if got := FileTypeName(ft); got != want {
			t.Errorf("FileTypeName(%d) = %q, want %q", ft, got, want)
		}
	}
}
