package quantize_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"

	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/quantize"
	"github.com/edgeai-go/edgeai/quant"
)

const testdata = "../../../shared/testdata"

func needShared(t testing.TB) {
	t.Helper()
	testutil.Shared(t, "testdata")
}

// refCase is one model llama-quantize made from an F32 reference model.
type refCase struct {
	src, ref string // gguf files
	scheme   string
	pure     bool
}

func refCases() []refCase {
	var cs []refCase
	for _, s := range []string{"F16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K"} {
		cs = append(cs, refCase{
			src: testdata + "/llama/tiny-llama-F32.gguf", ref: testdata + "/llama/tiny-llama-" + s + ".gguf",
			scheme: s, pure: !strings.HasSuffix(s, "_K_M"),
		})
	}
	cs = append(cs,
		refCase{testdata + "/qwen2/tiny-qwen2-F32.gguf", testdata + "/qwen2/tiny-qwen2-Q8_0.gguf", "Q8_0", true},
		refCase{testdata + "/qwen2/tiny-qwen2-F32.gguf", testdata + "/qwen2/tiny-qwen2-Q4_K_M.gguf", "Q4_K_M", false})
	return cs
}

type refJSON struct {
	ModelSHA256 string            `json:"model_sha256"`
	TensorTypes map[string]string `json:"tensor_types"`
}

func readRef(t *testing.T, gg string) refJSON {
	t.Helper()
	b, err := os.ReadFile(strings.TrimSuffix(gg, ".gguf") + ".ref.json")
	if err != nil {
		t.Fatal(err)
	}
	var r refJSON
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.TensorTypes) == 0 {
		t.Fatalf("%s: no tensor_types", gg)
	}
	return r
}

func openSource(t *testing.T, path string) (*gguf.File, quantize.RawSource) {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	src, err := quantize.FileSource(f)
	if err != nil {
		t.Fatal(err)
	}
	return f, src
}

func (c refCase) opts(t *testing.T) quantize.Options {
	ft, err := quantize.ParseFileType(c.scheme)
	if err != nil {
		t.Fatal(err)
	}
	return quantize.Options{Type: ft, Pure: c.pure, Threads: 2}
}

// TestPlanMatchesLlamaCpp checks that the mixing rules and fallbacks give
// every tensor of llama.cpp's reference files exactly the type
// llama-quantize gave it (ref.json tensor_types), in llama.cpp's order.
func TestPlanMatchesLlamaCpp(t *testing.T) {
	needShared(t)
	for _, c := range refCases() {
		t.Run(filepath.Base(c.ref), func(t *testing.T) {
			ref := readRef(t, c.ref)
			f, src := openSource(t, c.src)
			plan, err := quantize.Plan(quantize.HparamsFromMetadata(f.KV), src.Tensors(), c.opts(t))
			if err != nil {
				t.Fatal(err)
			}
			if len(plan) != len(ref.TensorTypes) {
				t.Fatalf("%d tensors planned, reference has %d", len(plan), len(ref.TensorTypes))
			}
			fallbacks := 0
			for _, ch := range plan {
				want, ok := ref.TensorTypes[ch.Name]
				if !ok {
					t.Errorf("%s: not in the reference", ch.Name)
					continue
				}
				if ch.To.String() != want {
					t.Errorf("%s: planned %v, llama.cpp wrote %s", ch.Name, ch.To, want)
				}
				if ch.Fallback {
					fallbacks++
				}
			}
			// The order is llama.cpp's: the same as in its file.
			rf, err := gguf.Open(c.ref)
			if err != nil {
				t.Fatal(err)
			}
			defer rf.Close()
			for i := range rf.Tensors {
				if plan[i].Name != rf.Tensors[i].Name {
					t.Fatalf("tensor %d: planned %s, llama.cpp's file has %s", i, plan[i].Name, rf.Tensors[i].Name)
				}
			}
			if c.scheme == "Q4_K_M" && strings.Contains(c.src, "qwen2") && fallbacks != 24 {
				// 4 layers x 6 matrices of 128-wide rows are the fallbacks
				// llama.cpp reports; the tied token_embd goes to Q8_0 by the
				// output rule itself, not as a fallback.
				t.Errorf("%d fallbacks, want 24", fallbacks)
			}
		})
	}
}

// TestConvertMatchesLlamaCpp converts the F32 reference models and compares
// the result with llama-quantize's files: every tensor's data byte for byte,
// and the whole file (metadata, order, layout) through its sha256.
func TestConvertMatchesLlamaCpp(t *testing.T) {
	needShared(t)
	for _, c := range refCases() {
		t.Run(filepath.Base(c.ref), func(t *testing.T) {
			ref := readRef(t, c.ref)
			_, src := openSource(t, c.src)
			var buf bytes.Buffer
			rep, err := quantize.Convert(context.Background(), src, &buf, c.opts(t))
			if err != nil {
				t.Fatal(err)
			}
			if rep.OutBytes != int64(buf.Len()) {
				t.Errorf("report says %d bytes, wrote %d", rep.OutBytes, buf.Len())
			}
			got, err := gguf.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			if err != nil {
				t.Fatalf("output does not parse: %v", err)
			}
			want, err := gguf.Open(c.ref)
			if err != nil {
				t.Fatal(err)
			}
			defer want.Close()
			if len(got.Tensors) != len(want.Tensors) {
				t.Fatalf("%d tensors, want %d", len(got.Tensors), len(want.Tensors))
			}
			same := 0
			for i := range want.Tensors {
				wt := &want.Tensors[i]
				gt, ok := got.Tensor(wt.Name)
				if !ok {
					t.Errorf("%s missing", wt.Name)
					continue
				}
				if gt.Type != wt.Type {
					t.Errorf("%s: type %v, want %v", wt.Name, gt.Type, wt.Type)
					continue
				}
				gd, err1 := got.TensorData(gt)
				wd, err2 := want.TensorData(wt)
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				if !bytes.Equal(gd, wd) {
					t.Errorf("%s (%v): data differs from llama.cpp's", wt.Name, wt.Type)
					continue
				}
				same++
			}
			if ft, _, ok := got.FileType(); !ok || ft != uint32(c.opts(t).Type) {
				t.Errorf("general.file_type = %d, want %d", ft, c.opts(t).Type)
			}
			sum := sha256.Sum256(buf.Bytes())
			whole := hex.EncodeToString(sum[:]) == ref.ModelSHA256
			if !whole {
				t.Errorf("file sha256 %x differs from llama.cpp's %s (tensor data identical for %d/%d)", sum, ref.ModelSHA256, same, len(want.Tensors))
			}
			t.Logf("%d/%d tensors byte-identical, whole file identical: %v", same, len(want.Tensors), whole)
		})
	}
}

// TestThreadsDoNotChangeOutput converts with 1 and 3 threads.
func TestThreadsDoNotChangeOutput(t *testing.T) {
	needShared(t)
	_, src := openSource(t, testdata+"/llama/tiny-llama-F32.gguf")
	var a, b bytes.Buffer
	if _, err := quantize.Convert(context.Background(), src, &a, quantize.Options{Type: quantize.Q4_K_M, Threads: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := quantize.Convert(context.Background(), src, &b, quantize.Options{Type: quantize.Q4_K_M, Threads: 3}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("1 and 3 threads give different files")
	}
}

// memSource is a small in-memory model.
type memSource struct {
	kv      []gguf.KV
	tensors []quantize.Tensor
	data    [][]float32
}

func (m *memSource) Metadata() []gguf.KV        { return m.kv }
func (m *memSource) Tensors() []quantize.Tensor { return m.tensors }
func (m *memSource) ReadRows(i int, first, n int64, dst []float32) error {
	r := m.tensors[i].Shape[0]
	copy(dst, m.data[i][first*r:(first+n)*r])
	return nil
}

func newMemSource(shapes map[string][]int64) *memSource {
	m := &memSource{kv: []gguf.KV{
		{Key: "general.architecture", Value: gguf.NewString("llama")},
		{Key: "llama.block_count", Value: gguf.NewUint32(2)},
		{Key: "tokenizer.ggml.tokens", Value: gguf.NewStrings([]string{"a", "b", "c"})},
	}}
	seed := uint32(1)
	for _, name := range []string{"token_embd.weight", "blk.0.attn_v.weight", "blk.1.attn_v.weight", "blk.0.attn_norm.weight", "blk.0.ffn_down.weight", "blk.1.ffn_down.weight", "output.weight"} {
		shape, ok := shapes[name]
		if !ok {
			continue
		}
		t := quantize.Tensor{Name: name, Type: quant.F32, Shape: shape}
		v := make([]float32, t.Elements())
		for j := range v {
			seed = seed*1664525 + 1013904223
			v[j] = float32(int32(seed)) / (1 << 31)
		}
		m.tensors = append(m.tensors, t)
		m.data = append(m.data, v)
	}
	return m
}

// TestStreamedLayoutIsGGUFWrite checks that the streamed file is exactly what
// gguf.Write makes of the same metadata and converted tensors.
func TestStreamedLayoutIsGGUFWrite(t *testing.T) {
	m := newMemSource(map[string][]int64{
		"token_embd.weight":      {256, 7},
		"blk.0.attn_v.weight":    {256, 3, 1},
		"blk.1.attn_v.weight":    {256, 5},
		"blk.0.attn_norm.weight": {256},
		"blk.0.ffn_down.weight":  {512, 256},
		"blk.1.ffn_down.weight":  {512, 256},
		"output.weight":          {256, 7},
	})
	var got bytes.Buffer
	opts := quantize.Options{Type: quantize.Q4_K_M, Threads: 2}
	rep, err := quantize.Convert(context.Background(), m, &got, opts)
	if err != nil {
		t.Fatal(err)
	}
	var wts []gguf.WriteTensor
	for _, c := range rep.Tensors {
		var src []float32
		for i := range m.tensors {
			if m.tensors[i].Name == c.Name {
				src = m.data[i]
			}
		}
		rb, _ := c.To.RowBytes(int(c.Shape[0]))
		dst := make([]byte, rb*int(c.Elements()/c.Shape[0]))
		if err := quant.Quantize(c.To, src, dst); err != nil {
			t.Fatal(err)
		}
		shape := c.Shape
		for len(shape) > 1 && shape[len(shape)-1] == 1 {
			shape = shape[:len(shape)-1]
		}
		wts = append(wts, gguf.WriteTensor{Name: c.Name, Type: c.To, Shape: shape, Data: dst})
	}
	var want bytes.Buffer
	if err := gguf.Write(&want, quantize.Metadata(m.kv, opts.Type), wts, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("streamed file (%d bytes) differs from gguf.Write's (%d bytes)", got.Len(), want.Len())
	}
	// 2 layers: attn_v and ffn_down of layer 1 get Q6_K (use_more_bits:
	// i >= 7n/8), layer 0 keeps Q4_K; the untied output gets Q6_K.
	wantTypes := map[string]quant.Type{
		"token_embd.weight": quant.Q4_K, "blk.0.attn_v.weight": quant.Q4_K, "blk.1.attn_v.weight": quant.Q6_K,
		"blk.0.attn_norm.weight": quant.F32, "blk.0.ffn_down.weight": quant.Q4_K, "blk.1.ffn_down.weight": quant.Q6_K,
		"output.weight": quant.Q6_K,
	}
	for _, c := range rep.Tensors {
		if c.To != wantTypes[c.Name] {
			t.Errorf("%s: %v, want %v", c.Name, c.To, wantTypes[c.Name])
		}
	}
}

// TestWriteFileCancelLeavesNothing cancels a conversion after its first
// chunk: the output path must not exist and no temporary file may remain.
func TestWriteFileCancelLeavesNothing(t *testing.T) {
	m := newMemSource(map[string][]int64{
		"token_embd.weight":     {256, 4096},
		"blk.0.ffn_down.weight": {512, 2048},
		"output.weight":         {256, 4096},
	})
	dir := t.TempDir()
	out := filepath.Join(dir, "out.gguf")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	_, err := quantize.WriteFile(ctx, m, out, quantize.Options{Type: quantize.Q8_0, Threads: 2, Progress: func(quantize.Progress) {
		calls++
		cancel()
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if calls == 0 {
		t.Fatal("progress was never reported")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		t.Errorf("left behind: %s", e.Name())
	}
	// Without cancellation the file appears, complete.
	rep, err := quantize.WriteFile(context.Background(), m, out, quantize.Options{Type: quantize.Q8_0})
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(out)
	if err != nil || st.Size() != rep.OutBytes {
		t.Fatalf("stat: %v, size %d, want %d", err, st.Size(), rep.OutBytes)
	}
	ents, _ = os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("%d files in the directory, want 1", len(ents))
	}
}

// failingSource fails reading one tensor.
type failingSource struct{ *memSource }

var errBoom = errors.New("boom")

func (f failingSource) ReadRows(i int, first, n int64, dst []float32) error {
	if i == 1 {
		return errBoom
	}
	return f.memSource.ReadRows(i, first, n, dst)
}

func TestErrors(t *testing.T) {
	m := newMemSource(map[string][]int64{"token_embd.weight": {128, 4}, "blk.0.ffn_down.weight": {256, 4}})
	ctx := context.Background()
	var buf bytes.Buffer
	// --pure Q4_K on 128-wide rows: llama.cpp has no fallback there either.
	if _, err := quantize.Convert(ctx, m, &buf, quantize.Options{Type: quantize.Q4_K_M, Pure: true}); err == nil || !strings.Contains(err.Error(), "token_embd.weight") {
		t.Errorf("pure Q4_K on 128-wide rows: err = %v", err)
	}
	// Without --pure: the tied token_embd is the output, whose rule picks
	// Q8_0 for rows that cannot hold Q6_K; ffn_down (256 wide, layer 0 of
	// 2) keeps Q4_K.
	rep, err := quantize.Convert(ctx, m, &buf, quantize.Options{Type: quantize.Q4_K_M})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Tensors {
		if c.Name == "token_embd.weight" && (c.To != quant.Q8_0 || c.Fallback) {
			t.Errorf("tied token_embd: %v (fallback %v), want Q8_0 without fallback", c.To, c.Fallback)
		}
		if c.Name == "blk.0.ffn_down.weight" && c.To != quant.Q4_K {
			t.Errorf("ffn_down of layer 0 of 2: %v, want Q4_K", c.To)
		}
	}
	if _, err := quantize.Convert(ctx, failingSource{m}, &buf, quantize.Options{Type: quantize.Q8_0}); !errors.Is(err, errBoom) {
		t.Errorf("failing source: err = %v", err)
	}
	if _, err := quantize.Convert(ctx, m, &buf, quantize.Options{Type: quantize.FileType(99)}); err == nil {
		t.Error("unknown scheme accepted")
	}
	if _, err := quantize.Convert(ctx, m, &buf, quantize.Options{Type: quantize.Q8_0, Overrides: map[string]quant.Type{"token_embd.weight": quant.IQ2_XS}}); err == nil {
		t.Error("override to IQ2_XS accepted")
	}
	for _, shape := range [][]int64{{0, 4}, {256, -1}, {256, 1 << 40}, {32, 1, 1, 1, 1}} {
		bad := &memSource{kv: m.kv, tensors: []quantize.Tensor{{Name: "x.weight", Type: quant.F32, Shape: shape}}, data: [][]float32{nil}}
		if _, err := quantize.Convert(ctx, bad, &buf, quantize.Options{Type: quantize.Q8_0}); err == nil || !strings.Contains(err.Error(), "x.weight") {
			t.Errorf("shape %v: err = %v", shape, err)
		}
	}
	if _, err := quantize.ParseFileType("Q4_K_X"); err == nil {
		t.Error("ParseFileType accepted Q4_K_X")
	}
	for _, s := range []string{"q4_k_m", "Q4_K", "f16", "Q8_0", "IQ4_XS"} {
		if _, err := quantize.ParseFileType(s); err != nil {
			t.Errorf("ParseFileType(%q): %v", s, err)
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "m.gguf")
	if _, err := quantize.WriteFile(ctx, m, p, quantize.Options{Type: quantize.F16}); err != nil {
		t.Fatal(err)
	}
	if _, err := quantize.ConvertFile(ctx, p, p, quantize.Options{Type: quantize.Q8_0}); !errors.Is(err, quantize.ErrSameFile) {
		t.Errorf("same file: err = %v", err)
	}
	if _, err := quantize.ConvertFile(ctx, filepath.Join(dir, "absent.gguf"), filepath.Join(dir, "o.gguf"), quantize.Options{Type: quantize.Q8_0}); err == nil {
		t.Error("absent input accepted")
	}
}

// TestRequantize converts an already quantized file: it works, warns, and
// keeps tensors already in the target type unchanged.
func TestRequantize(t *testing.T) {
	needShared(t)
	_, src := openSource(t, testdata+"/llama/tiny-llama-Q4_K_M.gguf")
	var warnings []string
	var buf bytes.Buffer
	rep, err := quantize.Convert(context.Background(), src, &buf, quantize.Options{Type: quantize.Q4_K_M, Warn: func(s string) { warnings = append(warnings, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requantized != 0 || len(warnings) != 0 {
		t.Errorf("Q4_K_M -> Q4_K_M: %d requantized, warnings %q; want none", rep.Requantized, warnings)
	}
	rep, err = quantize.Convert(context.Background(), src, &buf, quantize.Options{Type: quantize.Q8_0, Pure: true, Warn: func(s string) { warnings = append(warnings, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requantized != 30 || len(warnings) != 1 {
		t.Errorf("Q4_K_M -> Q8_0: %d requantized (want 30), warnings %q", rep.Requantized, warnings)
	}
}
