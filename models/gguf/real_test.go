package gguf

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"

	"github.com/edgeai-go/edgeai/quant"
)

// shared is the reference data folder, relative to this package.
const shared = "../../../shared"

// sharedPath returns a path under ../shared, skipping the test when the folder is absent.
func sharedPath(t testing.TB, rel string) string {
	t.Helper()
	return testutil.Shared(t, rel)
}

// realFiles returns every GGUF file under ../shared.
func realFiles(t testing.TB) []string {
	t.Helper()
	root, err := filepath.EvalSymlinks(sharedPath(t, ".")) // ../shared may be a link
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && filepath.Ext(p) == ".gguf" {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) < 20 {
		t.Fatalf("found only %d GGUF files under %s", len(files), root)
	}
	return files
}

// TestOpenAllReal opens every GGUF in ../shared through both Open and
// NewReader, and checks that the two agree and that tensors tile the data
// section in order (as llama.cpp writes them).
func TestOpenAllReal(t *testing.T) {
	for _, p := range realFiles(t) {
		t.Run(filepath.Base(p), func(t *testing.T) {
			f, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Version != 3 && f.Version != 2 {
				t.Errorf("version %d", f.Version)
			}
			if f.Arch() == "" {
				t.Error("no general.architecture")
			}
			if !f.Mapped() {
				t.Error("Open did not memory-map the file")
			}
			osf, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer osf.Close()
			g, err := NewReader(osf, f.Size())
			if err != nil {
				t.Fatal(err)
			}
			if len(g.KV) != len(f.KV) || len(g.Tensors) != len(f.Tensors) || g.DataOffset != f.DataOffset {
				t.Fatalf("NewReader and Open disagree")
			}
			for i := range f.KV {
				if f.KV[i].Key != g.KV[i].Key || !f.KV[i].Value.Equal(g.KV[i].Value) {
					t.Errorf("KV %d differs", i)
				}
			}
			var next int64
			for i := range f.Tensors {
				ti := &f.Tensors[i]
				if ti.Offset != next {
					t.Errorf("tensor %q at %d, want %d", ti.Name, ti.Offset, next)
				}
				next = (ti.Offset + ti.Size + f.Alignment - 1) / f.Alignment * f.Alignment
				a, err := f.TensorData(ti)
				if err != nil {
					t.Fatal(err)
				}
				if int64(len(a)) != ti.Size {
					t.Fatalf("tensor %q: %d bytes, want %d", ti.Name, len(a), ti.Size)
				}
				if i < 3 || i == len(f.Tensors)-1 {
					b, err := g.TensorData(&g.Tensors[i])
					if err != nil {
						t.Fatal(err)
					}
					if string(a) != string(b) {
						t.Errorf("tensor %q: mapped and read bytes differ", ti.Name)
					}
				}
			}
		})
	}
}

func TestStories260K(t *testing.T) {
	f, err := Open(sharedPath(t, "models/stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Arch() != "llama" || f.ArchKey("context_length") != "llama.context_length" {
		t.Errorf("arch %q", f.Arch())
	}
	for key, want := range map[string]uint64{
		"llama.context_length":          512,
		"llama.embedding_length":        64,
		"llama.block_count":             5,
		"llama.attention.head_count":    8,
		"llama.attention.head_count_kv": 4,
		"llama.feed_forward_length":     172,
		"tokenizer.ggml.bos_token_id":   1,
		"tokenizer.ggml.eos_token_id":   2,
	} {
		if got, ok := f.Uint(key); !ok || got != want {
			t.Errorf("%s = %d, %v; want %d", key, got, ok, want)
		}
	}
	if eps, ok := f.Float("llama.attention.layer_norm_rms_epsilon"); !ok || float32(eps) != 1e-5 {
		t.Errorf("rms eps = %v, %v", eps, ok)
	}
	toks, ok := f.Strings("tokenizer.ggml.tokens")
	if !ok || len(toks) != 512 || toks[0] != "<unk>" || toks[1] != "<s>" || toks[2] != "</s>" || toks[3] != "<0x00>" {
		t.Errorf("tokens: %d %q", len(toks), toks[:min(4, len(toks))])
	}
	scores, ok := f.Float32s("tokenizer.ggml.scores")
	if !ok || len(scores) != 512 {
		t.Errorf("scores: %d, %v", len(scores), ok)
	}
	types, ok := f.Int32s("tokenizer.ggml.token_type")
	if !ok || len(types) != 512 || types[0] != 2 || types[1] != 3 || types[3] != 6 {
		t.Errorf("token types: %v", types[:min(4, len(types))])
	}
	if _, ok := f.Uint("general.architecture"); ok {
		t.Error("Uint of a string key succeeded")
	}
	if _, ok := f.String("no.such.key"); ok {
		t.Error("missing key found")
	}
	if len(f.Tensors) != 48 {
		t.Errorf("%d tensors, want 48", len(f.Tensors))
	}
	// 260K parameters: dim 64, vocab 512, 5 layers, ffn 172, 4 KV heads of 8 dims, untied output.
	per := int64(64*64 + 64*32*2 + 64*64 + 64 + 3*64*172 + 64)
	if want := 2*64*512 + 64 + 5*per; f.ParamCount() != want {
		t.Errorf("ParamCount %d, want %d", f.ParamCount(), want)
	}
	for name, shape := range map[string][]int64{
		"token_embd.weight":        {64, 512},
		"blk.0.attn_k.weight":      {64, 32},
		"blk.4.ffn_down.weight":    {172, 64},
		"blk.4.ffn_gate.weight":    {64, 172},
		"output_norm.weight":       {64},
		"blk.2.attn_output.weight": {64, 64},
	} {
		ti, ok := f.Tensor(name)
		if !ok {
			t.Errorf("tensor %s missing", name)
			continue
		}
		if ti.Type != quant.F32 || len(ti.Shape) != len(shape) || ti.Size != 4*ti.Elements() {
			t.Errorf("%s: %v %v size %d", name, ti.Type, ti.Shape, ti.Size)
		}
		for i := range shape {
			if ti.Shape[i] != shape[i] {
				t.Errorf("%s shape %v, want %v", name, ti.Shape, shape)
				break
			}
		}
	}
	// The RMS norm weights of a trained model are positive, finite and near 1.
	ti, _ := f.Tensor("output_norm.weight")
	b, err := f.TensorData(ti)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 64; i++ {
		x := math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		if !(x > 0 && x < 10) {
			t.Fatalf("output_norm.weight[%d] = %v", i, x)
		}
	}
	// A view, not a copy: the same bytes every time, capped so append cannot spill.
	b2, _ := f.TensorData(ti)
	if &b[0] != &b2[0] || cap(b) != len(b) {
		t.Error("TensorData of a mapped file does not return a view")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.TensorData(ti); !errors.Is(err, ErrClosed) {
		t.Errorf("TensorData after Close: %v", err)
	}
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r io.ReaderAt
	n int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

// TestParseReadsHeaderOnly checks that opening a model reads its header, not
// its tensor data.
func TestParseReadsHeaderOnly(t *testing.T) {
	p := sharedPath(t, "testdata/qwen2/tiny-qwen2-F32.gguf")
	osf, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer osf.Close()
	st, err := osf.Stat()
	if err != nil {
		t.Fatal(err)
	}
	c := &countingReaderAt{r: osf}
	f, err := NewReader(c, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	if c.n > f.DataOffset+64<<10 {
		t.Errorf("parsing read %d bytes of a %d-byte file whose header is %d bytes", c.n, st.Size(), f.DataOffset)
	}
}
