package synth_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/quantize"
	"github.com/edgeai-go/edgeai/models/synth"
	"github.com/edgeai-go/edgeai/models/tokenizer"
	"github.com/edgeai-go/edgeai/quant"
	"github.com/edgeai-go/edgeai/runtime"
)

// small is a shape with every feature of the real ones (GQA, untied head)
// that writes in milliseconds.
var small = synth.Shape{Name: "small", Title: "small random", Vocab: 600, Dim: 64, Layers: 2, Heads: 4, KVHeads: 2,
	FFN: 160, Context: 128, RopeBase: 10000, NormEps: 1e-5}

func TestParams(t *testing.T) {
	for _, c := range []struct {
		s    synth.Shape
		want int64
	}{
		{synth.TinyLlama, 1_100_048_384},  // TinyLlama-1.1B's published count
		{synth.SmolLM2_135M, 134_515_008}, // SmolLM2-135M's
	} {
		if got := c.s.Params(); got != c.want {
			t.Errorf("%s: %d weights, want %d", c.s.Name, got, c.want)
		}
		m, err := synth.New(c.s, 1)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, ti := range m.Tensors() {
			n += ti.Elements()
		}
		if n != c.want {
			t.Errorf("%s: tensors hold %d values, want %d", c.s.Name, n, c.want)
		}
		if s, err := synth.LookupShape(strings.ToUpper(c.s.Name)); err != nil || s.Name != c.s.Name {
			t.Errorf("LookupShape(%q) = %v, %v", c.s.Name, s.Name, err)
		}
	}
	if _, err := synth.LookupShape("gpt5"); err == nil {
		t.Error("LookupShape accepted an unknown name")
	}
}

func TestCheck(t *testing.T) {
	bad := []func(*synth.Shape){
		func(s *synth.Shape) { s.Vocab = 10 },
		func(s *synth.Shape) { s.Heads = 5 },
		func(s *synth.Shape) { s.KVHeads = 3 },
		func(s *synth.Shape) { s.Layers = 0 },
		func(s *synth.Shape) { s.NormEps = 0 },
		func(s *synth.Shape) { s.Dim, s.Heads, s.KVHeads = 12, 4, 4 }, // head size 3
		func(s *synth.Shape) { s.FFN = 1 << 30 },
	}
	for i, f := range bad {
		s := small
		f(&s)
		if _, err := synth.New(s, 1); err == nil {
			t.Errorf("case %d: shape %+v accepted", i, s)
		}
	}
}

func TestVocabulary(t *testing.T) {
	for _, n := range []int{259, 260, 1000, 32000, 49152} {
		tokens, scores, types := synth.Vocabulary(n)
		if len(tokens) != n || len(scores) != n || len(types) != n {
			t.Fatalf("n=%d: %d tokens, %d scores, %d types", n, len(tokens), len(scores), len(types))
		}
		seen := make(map[string]bool, n)
		for i, s := range tokens {
			if seen[s] {
				t.Fatalf("n=%d: token %d %q repeats", n, i, s)
			}
			seen[s] = true
		}
		// Every multi-character piece splits into two pieces of the vocabulary.
		for i, s := range tokens[259:] {
			r := []rune(s)
			if len(r) < 2 {
				continue
			}
			ok := false
			for k := 1; k < len(r) && !ok; k++ {
				ok = seen[string(r[:k])] && seen[string(r[k:])]
			}
			if !ok {
				t.Fatalf("n=%d: piece %d %q is no merge of two pieces", n, i+259, s)
			}
		}
	}
	tokens, _, types := synth.Vocabulary(32000)
	if tokens[0] != "<unk>" || types[0] != 2 || tokens[1] != "<s>" || types[1] != 3 || tokens[3] != "<0x00>" || types[3] != 6 || tokens[258] != "<0xFF>" {
		t.Errorf("special tokens: %q %v", tokens[:4], types[:4])
	}
}

func TestRowsDeterministic(t *testing.T) {
	m, err := synth.New(small, 7)
	if err != nil {
		t.Fatal(err)
	}
	ts := m.Tensors()
	i := slices.IndexFunc(ts, func(ti gguf.TensorInfo) bool { return ti.Name == "blk.1.ffn_up.weight" })
	cols := ts[i].Shape[0]
	all := make([]float32, 4*cols)
	if err := m.ReadRows(i, 10, 4, all); err != nil {
		t.Fatal(err)
	}
	one := make([]float32, cols)
	if err := m.ReadRows(i, 12, 1, one); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(one, all[2*cols:3*cols]) {
		t.Error("row 12 differs when read alone")
	}
	if slices.Equal(all[:cols], all[cols:2*cols]) {
		t.Error("rows 10 and 11 are equal")
	}
	m2, _ := synth.New(small, 8)
	other := make([]float32, cols)
	m2.ReadRows(i, 12, 1, other)
	if slices.Equal(one, other) {
		t.Error("seeds 7 and 8 give the same row")
	}
	if err := m.ReadRows(i, ts[i].Shape[1]-1, 2, make([]float32, 2*cols)); err == nil {
		t.Error("reading past the last row accepted")
	}
	if err := m.ReadRows(len(ts), 0, 1, one); err == nil {
		t.Error("tensor index out of range accepted")
	}
	// A matrix row has mean ~0 and standard deviation ~1/sqrt(cols) over many rows.
	big := make([]float32, 100*cols)
	m.ReadRows(i, 0, 100, big)
	var s, s2 float64
	for _, v := range big {
		s += float64(v)
		s2 += float64(v) * float64(v)
	}
	mean := s / float64(len(big))
	std := math.Sqrt(s2/float64(len(big)) - mean*mean)
	if want := 1 / math.Sqrt(float64(cols)); math.Abs(mean) > 0.01 || math.Abs(std-want) > 0.05*want {
		t.Errorf("mean %g, std %g, want 0 and %g", mean, std, want)
	}
}

// TestLoadAndGenerate writes small models in F32, F16 and Q4_K_M and runs
// them with runtime; the tokenizer sees plausible pieces.
func TestLoadAndGenerate(t *testing.T) {
	dir := t.TempDir()
	m, err := synth.New(small, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, ft := range []quantize.FileType{quantize.AllF32, quantize.F16, quantize.Q8_0} {
		path := filepath.Join(dir, "small-"+ft.String()+".gguf")
		if _, err := quantize.WriteFile(context.Background(), m, path, quantize.Options{Type: ft}); err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		want := map[quantize.FileType]quant.Type{quantize.AllF32: quant.F32, quantize.F16: quant.F16, quantize.Q8_0: quant.Q8_0}[ft]
		if ti, _ := f.Tensor("blk.0.attn_q.weight"); ti.Type != want {
			t.Errorf("%v: attn_q is %v", ft, ti.Type)
		}
		if ti, _ := f.Tensor("blk.0.attn_norm.weight"); ti.Type != quant.F32 {
			t.Errorf("%v: attn_norm is %v, want F32", ft, ti.Type)
		}
		tok, err := tokenizer.FromGGUF(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		ids, err := tok.Encode("hello world", tokenizer.EncodeOptions{AddSpecial: true})
		if err != nil {
			t.Fatal(err)
		}
		var pieces []string
		for _, id := range ids {
			pieces = append(pieces, tok.Decode([]int{id}))
		}
		if len(ids) < 3 || ids[0] != 1 || tok.Decode(ids) != "hello world" {
			t.Errorf("%v: \"hello world\" -> %v %q", ft, ids, pieces)
		}

		model, err := runtime.Load(context.Background(), path, runtime.WithThreads(2))
		if err != nil {
			t.Fatalf("%v: runtime.Load: %v", ft, err)
		}
		info := model.Info()
		if info.Vocab != small.Vocab || info.Layers != small.Layers || info.Embedding != small.Dim {
			t.Errorf("%v: info %+v", ft, info)
		}
		n := 0
		for _, err := range model.Generate(context.Background(), "hello", runtime.GenerateOptions{MaxTokens: 8, IgnoreEOS: true}) {
			if err != nil {
				t.Fatalf("%v: generate: %v", ft, err)
			}
			n++
		}
		model.Close()
		if n != 8 {
			t.Errorf("%v: %d tokens generated, want 8", ft, n)
		}
	}
}

// TestRealShapeSmolLM2 writes the whole SmolLM2-135M shape in F16 (270 MB)
// and loads it. Skipped with -short.
func TestRealShapeSmolLM2(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 270 MB model")
	}
	m, err := synth.New(synth.SmolLM2_135M, 1)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "smollm2.gguf")
	rep, err := quantize.WriteFile(context.Background(), m, path, quantize.Options{Type: quantize.F16})
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Size() != rep.OutBytes {
		t.Fatalf("%v, size %d, want %d", err, st.Size(), rep.OutBytes)
	}
	t.Logf("SmolLM2-135M shape, F16: %d bytes in %v", st.Size(), rep.Duration)
	model, err := runtime.Load(context.Background(), path, runtime.WithContextSize(64))
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	if p := model.Info().Params; p != synth.SmolLM2_135M.Params() {
		t.Errorf("loaded %d weights, want %d", p, synth.SmolLM2_135M.Params())
	}
	for _, err := range model.Generate(context.Background(), "Once upon a time", runtime.GenerateOptions{MaxTokens: 4}) {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestArchitectures writes a small model of every architecture synth knows,
// in Q8_0 and Q4_K_M (as in the real shapes: same features, smaller sizes),
// and generates with runtime: each loads and runs.
func TestArchitectures(t *testing.T) {
	dir := t.TempDir()
	for _, real := range synth.Shapes() {
		s := real
		s.Name, s.Vocab, s.Dim, s.Layers, s.FFN, s.Context = "small-"+real.Name, 600, 256, 4, 512, 256
		s.Heads, s.KVHeads = 4, 2
		if s.HeadSize != 0 {
			s.HeadSize = 64
		}
		if s.RopeDims != 0 {
			s.RopeDims = 48
		}
		if s.Window != 0 {
			s.Window = 8
		}
		if len(s.ConvLayers) > 0 {
			s.ConvLayers = []int{0, 2}
		}
		m, err := synth.New(s, 1)
		if err != nil {
			t.Fatalf("%s: %v", real.Name, err)
		}
		for _, ft := range []quantize.FileType{quantize.Q8_0, quantize.Q4_K_M} {
			path := filepath.Join(dir, s.Name+"-"+ft.String()+".gguf")
			if _, err := quantize.WriteFile(context.Background(), m, path, quantize.Options{Type: ft}); err != nil {
				t.Fatalf("%s %v: %v", real.Name, ft, err)
			}
			model, err := runtime.Load(context.Background(), path, runtime.WithThreads(2))
			if err != nil {
				t.Fatalf("%s %v: %v", real.Name, ft, err)
			}
			if got := model.Info().Architecture; got != real.Arch && !(real.Arch == "" && got == "llama") {
				t.Errorf("%s: architecture %q", real.Name, got)
			}
			n := 0
			for tok, err := range model.Generate(context.Background(), "hello world", runtime.GenerateOptions{MaxTokens: 6, IgnoreEOS: true}) {
				if err != nil {
					t.Fatalf("%s %v: %v", real.Name, ft, err)
				}
				if tok.ID >= 0 {
					n++
				}
			}
			model.Close()
			if n != 6 {
				t.Errorf("%s %v: %d tokens", real.Name, ft, n)
			}
		}
	}
}

// TestFinalNormName checks the final norm's name: llama.cpp's converter
// writes LFM2's as token_embd_norm.weight (the published files have it);
// every other architecture has output_norm.weight.
func TestFinalNormName(t *testing.T) {
	for _, s := range synth.Shapes() {
		s.Vocab, s.Dim, s.Layers, s.FFN, s.Heads, s.KVHeads = 600, 256, 4, 512, 4, 2
		if s.HeadSize != 0 {
			s.HeadSize = 64
		}
		if s.RopeDims != 0 {
			s.RopeDims = 48
		}
		if len(s.ConvLayers) > 0 {
			s.ConvLayers = []int{0, 2}
		}
		m, err := synth.New(s, 1)
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		want := "output_norm.weight"
		if s.Arch == "lfm2" {
			want = "token_embd_norm.weight"
		}
		found := false
		for _, ti := range m.Tensors() {
			found = found || ti.Name == want
			if ti.Name == "output_norm.weight" && want != ti.Name {
				t.Errorf("%s: has output_norm.weight, want %s", s.Name, want)
			}
		}
		if !found {
			t.Errorf("%s: no %s", s.Name, want)
		}
	}
}
