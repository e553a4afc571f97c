package all_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/internal/testutil"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
	"github.com/edgeai-go/edgeai/models/quantize"
	"github.com/edgeai-go/edgeai/models/tokenizer"
)

// encoderRef is the part of an encoders/*.ref.json the test reads.
type encoderRef struct {
	ModelFile   string   `json:"model_file"`
	ModelSHA256 string   `json:"model_sha256"`
	Arch        string   `json:"architecture"`
	Pooling     string   `json:"pooling"`
	Sentences   []string `json:"sentences"`
	Pairs       []struct {
		Query    string `json:"query"`
		Document string `json:"document"`
	} `json:"pairs"`
	TokenIDs [][]int `json:"token_ids"`
	NEmbd    int     `json:"n_embd"`
	NClsOut  int     `json:"n_cls_out"`
}

// encoderTolerance is what each reference must meet: the pooled vectors'
// cosine (the bar), the per-token states' largest absolute
// difference (tok) and how many token rows may differ by more than 1e-6
// (rows; -1 = any), and for rerankers the raw scores' largest difference.
type encoderTolerance struct {
	cos, tok float64
	rows     int
	rank     float64
}

// encoderTolerance returns the tolerance of a model directory and type.
// F32: ggml's F32 weight products and edgeai's agree to the last bits only
// mostly (tinyBLAS's order is not edgeai's), and a last-bit difference that
// crosses a float16 step of the GELU table moves a state by up to ~1e-3
// (numpy-f64/README). Q8_0: the same arithmetic as ggml-cpu, bit-identical
// but for single rounding flips of a quantized activation (a last-bit
// difference upstream lands on a Q8_0 rounding boundary) that attention
// then spreads: one row of neo-bert and of qwen3-embed, the two longer
// texts of gemma-embedding (six layers, windows and a global layer spread
// a flip over the whole text).
func encoderTolerances(model, typ string) encoderTolerance {
	if typ == "F32" {
		return encoderTolerance{cos: 0.9999, tok: 2e-3, rows: -1, rank: 1e-4}
	}
	switch model {
	case "neo-bert", "qwen3-embed":
		return encoderTolerance{cos: 0.9999, tok: 0.02, rows: 1}
	case "gemma-embedding":
		return encoderTolerance{cos: 0.9999, tok: 0.1, rows: 100}
	}
	return encoderTolerance{cos: 0.9999, tok: 1e-6, rows: 0, rank: 1e-6}
}

// TestEncoderReferences checks every model of ../shared/testdata/encoders
// (BERT-family encoders, EmbeddingGemma, a reranker, Qwen3 as an embedder;
// llama.cpp ec98e2002's outputs) in F32 and in Q8_0 made here by edgeai's
// quantizer (which must reproduce llama.cpp's bytes): token ids, per-token
// final states, pooled vectors before and after normalisation, rerank
// scores; and that packing the texts in one pass changes nothing.
func TestEncoderReferences(t *testing.T) {
	root := testutil.Shared(t, "testdata/encoders")
	refs, _ := filepath.Glob(filepath.Join(root, "*", "*.ref.json"))
	if len(refs) == 0 {
		t.Fatal("no *.ref.json in testdata/encoders")
	}
	pool := parallel.New(2)
	defer pool.Close()
	tmp := t.TempDir()
	for _, refPath := range refs {
		name := strings.TrimSuffix(filepath.Base(refPath), ".ref.json")
		dir := filepath.Dir(refPath)
		t.Run(filepath.Base(dir)+"/"+name, func(t *testing.T) {
			var ref encoderRef
			b, err := os.ReadFile(refPath)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &ref); err != nil {
				t.Fatal(err)
			}
			typ := name[strings.LastIndex(name, "-")+1:]
			path := filepath.Join(dir, ref.ModelFile)
			if typ != "F32" {
				src := filepath.Join(dir, strings.TrimSuffix(ref.ModelFile, typ+".gguf")+"F32.gguf")
				ft, err := quantize.ParseFileType(typ)
				if err != nil {
					t.Fatal(err)
				}
				path = filepath.Join(tmp, ref.ModelFile)
				if _, err := quantize.ConvertFile(context.Background(), src, path, quantize.Options{Type: ft, Pure: true}); err != nil {
					t.Fatal(err)
				}
			}
			if sum := fileSHA256(t, path); sum != ref.ModelSHA256 {
				t.Errorf("%s: sha256 %s, llama.cpp's file has %s", filepath.Base(path), sum, ref.ModelSHA256)
			}
			checkEncoder(t, filepath.Join(dir, name), path, &ref, encoderTolerances(filepath.Base(dir), typ), pool)
		})
	}
}

func checkEncoder(t *testing.T, base, path string, ref *encoderRef, tol encoderTolerance, pool *parallel.Pool) {
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	enc, err := loadEncoder(f)
	if err != nil {
		t.Fatal(err)
	}
	c := enc.Config()
	if c.Arch != ref.Arch || c.Dim != ref.NEmbd || !strings.EqualFold(c.Pooling.String(), ref.Pooling) {
		t.Fatalf("config %+v, want %s, %d wide, pooling %s", c, ref.Arch, ref.NEmbd, ref.Pooling)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	texts := ref.Sentences
	for _, p := range ref.Pairs { // [CLS] query [SEP] document [SEP]: the pair as one text, as llama-embedding builds it
		texts = append(texts, p.Query+tok.Piece(sepOf(t, tok))+p.Document)
	}
	var seqs [][]int
	for i, s := range texts {
		ids, err := tok.Encode(s, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, ref.TokenIDs[i]) {
			t.Fatalf("text %d: ids %v, want %v", i, ids, ref.TokenIDs[i])
		}
		seqs = append(seqs, ids)
	}
	st, err := enc.NewState(1024, pool)
	if err != nil {
		t.Fatal(err)
	}
	dim, total := c.Dim, 0
	for _, s := range seqs {
		total += len(s)
	}
	batched := make([]float32, total*dim)
	if err := st.Forward(seqs, batched); err != nil {
		t.Fatal(err)
	}
	alone := make([]float32, total*dim)
	off := 0
	for _, s := range seqs {
		if err := st.Forward([][]int{s}, alone[off*dim:]); err != nil {
			t.Fatal(err)
		}
		off += len(s)
	}
	if d := maxDiff(batched, alone); d != 0 {
		t.Errorf("packing the texts into one pass changed the states (max diff %g)", d)
	}
	hs, _ := st.(nn.HeadState)
	headOut := func(p nn.Pooling, x []float32, n int) []float32 {
		if hs == nil || hs.HeadOutputs(p) == 0 {
			return x
		}
		out := make([]float32, n*hs.HeadOutputs(p))
		if err := hs.Head(p, x, n, out); err != nil {
			t.Fatal(err)
		}
		return out
	}

	// Per-token states (pooling none: llama.cpp applies EmbeddingGemma's
	// dense layers to every token too).
	tokRef := readF32(t, base+".tok_emb.f32")
	tokGot := headOut(nn.PoolNone, batched, total)
	if len(tokRef) != len(tokGot) {
		t.Fatalf("token states: %d values, want %d", len(tokGot), len(tokRef))
	}
	worstTok, rows := maxDiff(tokGot, tokRef), 0
	for i := 0; i < total; i++ {
		if d := maxDiff(tokGot[i*dim:(i+1)*dim], tokRef[i*dim:(i+1)*dim]); d > 1e-6 {
			rows++
			if os.Getenv("EDGEAI_ENC_DEBUG") != "" {
				t.Logf("  token row %d: max |diff| %.3g", i, d)
			}
		}
	}
	t.Logf("per-token states: max |diff| %.3g, %d of %d rows differ by more than 1e-6", worstTok, rows, total)
	if worstTok > tol.tok || tol.rows >= 0 && rows > tol.rows {
		t.Errorf("per-token max |diff| %g (bar %g), %d rows over 1e-6 (bar %d)", worstTok, tol.tok, rows, tol.rows)
	}

	if c.Pooling == nn.PoolRank {
		want := readF32(t, base+".rank.f32")
		rp := nn.PoolCLS
		if ri, ok := enc.(nn.RankInput); ok {
			rp = ri.RankPooling()
		}
		pooled := poolAll(t, rp, batched, seqs, dim)
		got := headOut(nn.PoolRank, pooled, len(seqs))
		if len(got) != len(want) {
			t.Fatalf("scores %v, want %v", got, want)
		}
		d := maxDiff(got, want)
		t.Logf("rerank scores %v, llama.cpp's %v: max |diff| %.3g", got, want, d)
		if d > tol.rank {
			t.Errorf("rerank scores max |diff| %g > %g", d, tol.rank)
		}
		return
	}
	raw := headOut(c.Pooling, poolAll(t, c.Pooling, batched, seqs, dim), len(seqs))
	rawRef, embRef := readF32(t, base+".emb_raw.f32"), readF32(t, base+".emb.f32")
	worstCos := 1.0
	for i := range seqs {
		v := slices.Clone(raw[i*dim : (i+1)*dim])
		nn.Normalize(v)
		cos := cosine(v, embRef[i*dim:(i+1)*dim])
		worstCos = min(worstCos, cos)
		if cos < tol.cos {
			t.Errorf("text %d: cosine %.9f < %g", i, cos, tol.cos)
		}
	}
	t.Logf("pooled: max |diff| before normalising %.3g; normalised: min cosine 1-%.3g", maxDiff(raw, rawRef), 1-worstCos)
}

// loadEncoder loads f as an encoder, or a decoder as one (Qwen3-Embedding).
func loadEncoder(f *gguf.File) (nn.Encoder, error) {
	if nn.IsEncoder(f.Arch()) {
		return nn.LoadEncoder(f)
	}
	d, err := nn.LoadDecoder(f)
	if err != nil {
		return nil, err
	}
	return nn.DecoderEncoder(d, f)
}

func poolAll(t *testing.T, p nn.Pooling, states []float32, seqs [][]int, dim int) []float32 {
	t.Helper()
	out := make([]float32, len(seqs)*dim)
	off := 0
	for i, s := range seqs {
		if err := nn.Pool(p, states[off*dim:], len(s), out[i*dim:(i+1)*dim]); err != nil {
			t.Fatal(err)
		}
		off += len(s)
	}
	return out
}

// sepOf returns the separator llama-embedding puts between a query and its
// document: the EOS text when the vocabulary adds EOS, else [SEP].
func sepOf(t *testing.T, tok *tokenizer.Tokenizer) int {
	t.Helper()
	ids, err := tok.Encode("", tokenizer.EncodeOptions{AddSpecial: true})
	if err != nil || len(ids) == 0 {
		t.Fatalf("no special tokens: %v %v", ids, err)
	}
	return ids[len(ids)-1]
}

func maxDiff(a, b []float32) float64 {
	var m float64
	for i := range min(len(a), len(b)) {
		m = max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	if len(a) != len(b) {
		return math.Inf(1)
	}
	return m
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}
