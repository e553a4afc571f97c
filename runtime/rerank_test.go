package runtime_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/quantize"
	"github.com/edgeai-go/edgeai/quant"
	"github.com/edgeai-go/edgeai/runtime"
)

// encRef is the part of a ../shared/testdata/encoders/*.ref.json these
// tests read.
type encRef struct {
	Sentences []string `json:"sentences"`
	Pairs     []struct {
		Query    string `json:"query"`
		Document string `json:"document"`
	} `json:"pairs"`
	TokenIDs [][]int `json:"token_ids"`
	NEmbd    int     `json:"n_embd"`
}

func readEncRef(t testing.TB, model, typ string) (encRef, string) {
	t.Helper()
	dir := testutil.Shared(t, "testdata/encoders/"+model)
	base := filepath.Join(dir, "tiny-"+model+"-"+typ)
	var r encRef
	b, err := os.ReadFile(base + ".ref.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r, base
}

func readFloats(t testing.TB, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// rerankModel returns the path of the tiny reranker of type typ (Q8_0 made
// by edgeai's quantizer from the F32 file).
func rerankModel(t testing.TB, typ string) string {
	t.Helper()
	_, base := readEncRef(t, "bert-rank", "F32")
	if typ == "F32" {
		return base + ".gguf"
	}
	out := filepath.Join(t.TempDir(), "tiny-bert-rank-"+typ+".gguf")
	ft, err := quantize.ParseFileType(typ)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := quantize.ConvertFile(context.Background(), base+".gguf", out, quantize.Options{Type: ft, Pure: true}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRerankReference scores llama.cpp's three (query, document) pairs with
// the tiny BERT reranker through the public API: the pairs' tokens, the raw
// scores (F32 within 1e-4, the bar; Q8_0 bit for bit up to 1e-6),
// the ranking and its top n.
func TestRerankReference(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		typ string
		tol float64
	}{{"F32", 1e-4}, {"Q8_0", 1e-6}} {
		t.Run(tc.typ, func(t *testing.T) {
			ref, base := readEncRef(t, "bert-rank", tc.typ)
			want := readFloats(t, base+".rank.f32")
			m, err := runtime.LoadReranker(ctx, rerankModel(t, tc.typ), runtime.WithEmbedThreads(2))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if info := m.Info(); info.Pooling != "rank" || info.Dim != 1 || !m.IsReranker() {
				t.Fatalf("info %+v", info)
			}
			for i, p := range ref.Pairs {
				ids, err := m.RerankTokens(p.Query, p.Document)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids, ref.TokenIDs[i]) {
					t.Fatalf("pair %d: ids %v, want %v", i, ids, ref.TokenIDs[i])
				}
			}
			// The first two pairs share their query.
			docs := []string{ref.Pairs[0].Document, ref.Pairs[1].Document}
			got, err := m.Rerank(ctx, ref.Pairs[0].Query, docs)
			if err != nil {
				t.Fatal(err)
			}
			third, err := m.Rerank(ctx, ref.Pairs[2].Query, []string{ref.Pairs[2].Document})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, third...)
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > tc.tol {
					t.Errorf("pair %d: score %v, llama.cpp's %v (|diff| %g > %g)", i, got[i], want[i], d, tc.tol)
				}
			}
			ranked, err := m.RankDocuments(ctx, ref.Pairs[0].Query, []string{docs[1], docs[0], docs[1]}, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(ranked) != 2 || ranked[0].Index != 1 || ranked[0].Score != got[0] || ranked[1].Index != 0 || ranked[1].Score != got[1] {
				t.Errorf("ranked %+v, want documents 1 then 0 with scores %v, %v", ranked, got[0], got[1])
			}
			if _, err := m.Embed(ctx, []string{"x"}); !errors.Is(err, runtime.ErrReranker) {
				t.Errorf("Embed on a reranker: %v", err)
			}
		})
	}
}

func TestRerankErrors(t *testing.T) {
	ctx := context.Background()
	_, base := readEncRef(t, "bert-mean", "F32")
	if _, err := runtime.LoadReranker(ctx, base+".gguf"); !errors.Is(err, runtime.ErrNotReranker) {
		t.Errorf("LoadReranker of an embedder: %v", err)
	}
	m, err := runtime.LoadEmbedder(ctx, base+".gguf")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Rerank(ctx, "q", []string{"d"}); !errors.Is(err, runtime.ErrNotReranker) {
		t.Errorf("Rerank on an embedder: %v", err)
	}
	r, err := runtime.LoadReranker(ctx, rerankModel(t, "F32"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	long := strings.Repeat("panda ", 600)
	_, err = r.Rerank(ctx, "q", []string{"fine", long})
	var te *runtime.TextError
	if !errors.As(err, &te) || te.Index != 1 || !errors.Is(err, runtime.ErrContextFull) {
		t.Errorf("an over-long document: %v", err)
	}
	tr, err := runtime.LoadReranker(ctx, rerankModel(t, "F32"), runtime.WithTruncation(true))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if s, err := tr.Rerank(ctx, "q", []string{long}); err != nil || len(s) != 1 {
		t.Errorf("truncated: %v %v", s, err)
	}
	if s, err := tr.Rerank(ctx, "q", nil); err != nil || len(s) != 0 {
		t.Errorf("no documents: %v %v", s, err)
	}
}

// TestEmbedEncoders runs every embedder of ../shared/testdata/encoders (F32)
// through the public API: the encoder architectures, EmbeddingGemma's
// dense projections (after the pooling, and on every token's state for
// EmbedTokens) and a Qwen3 decoder as an embedder; the vectors must match
// llama.cpp's (cosine >= 0.9999, the bar).
func TestEmbedEncoders(t *testing.T) {
	ctx := context.Background()
	for _, model := range []string{"bert-cls", "bert-mean", "nomic-bert", "jina-bert-v2", "jina-bert-v3", "neo-bert", "gemma-embedding", "qwen3-embed"} {
		t.Run(model, func(t *testing.T) {
			ref, base := readEncRef(t, model, "F32")
			want := readFloats(t, base+".emb.f32")
			m, err := runtime.LoadEmbedder(ctx, base+".gguf", runtime.WithEmbedThreads(2))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if m.Dim() != ref.NEmbd {
				t.Fatalf("dim %d, want %d", m.Dim(), ref.NEmbd)
			}
			vecs, err := m.Embed(ctx, ref.Sentences)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range vecs {
				if c := cosine(v, want[i*ref.NEmbd:(i+1)*ref.NEmbd]); c < 0.9999 {
					t.Errorf("text %d: cosine %.9f", i, c)
				}
			}
			if model != "gemma-embedding" {
				return
			}
			raw, err := runtime.LoadEmbedder(ctx, base+".gguf", runtime.WithNormalize(false), runtime.WithPooling("none"))
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			toks, err := raw.EmbedTokens(ctx, ref.Sentences[:2])
			if err != nil {
				t.Fatal(err)
			}
			tokWant := readFloats(t, base+".tok_emb.f32")
			row := 0
			for _, ts := range toks {
				for _, v := range ts {
					if d := maxAbsDiff(v, tokWant[row*ref.NEmbd:(row+1)*ref.NEmbd]); d > 2e-3 {
						t.Errorf("token row %d: max |diff| %g", row, d)
					}
					row++
				}
			}
		})
	}
}

func maxAbsDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

// TestQwen3RerankerHead checks the Qwen3-Reranker path where no reference
// output exists: the tiny qwen3 embedder rewritten as llama.cpp's
// conversion lays out a Qwen3-Reranker (pooling_type 4, cls.output.weight
// holding the LM head's "yes" and "no" rows: here two random rows, a
// tokenizer.chat_template.rerank) must give, for each pair, the template's
// tokens and P(yes) = softmax(h·yes, h·no)[0], h the last token's final
// state as the same weights give it loaded as an embedder (LAST pooling, not
// normalised).
func TestQwen3RerankerHead(t *testing.T) {
	dir := testutil.Shared(t, "testdata/encoders/qwen3-embed")
	srcPath := filepath.Join(dir, "tiny-qwen3-embed-F32.gguf")
	src, err := gguf.Open(srcPath)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	const tmpl = "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query. Answer only \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n<Query>: {query}\n<Document>: {document}<|im_end|>\n<|im_start|>assistant\n"
	var kv []gguf.KV
	for _, e := range src.KV {
		if e.Key != "qwen3.pooling_type" {
			kv = append(kv, e)
		}
	}
	kv = append(kv, gguf.KV{Key: "qwen3.pooling_type", Value: gguf.NewUint32(4)},
		gguf.KV{Key: "tokenizer.chat_template.rerank", Value: gguf.NewString(tmpl)})
	var ts []gguf.WriteTensor
	dim := 0
	for i := range src.Tensors {
		ti := &src.Tensors[i]
		data, err := src.TensorData(ti)
		if err != nil {
			t.Fatal(err)
		}
		if ti.Name == "token_embd.weight" {
			dim = int(ti.Shape[0])
		}
		ts = append(ts, gguf.WriteTensor{Name: ti.Name, Type: ti.Type, Shape: ti.Shape, Data: data})
	}
	rng := rand.New(rand.NewPCG(7, 8))
	head := make([]float32, 2*dim) // row 0 "yes", row 1 "no"
	hb := make([]byte, 4*len(head))
	for i := range head {
		head[i] = float32(rng.NormFloat64() * 0.3)
		binary.LittleEndian.PutUint32(hb[4*i:], math.Float32bits(head[i]))
	}
	ts = append(ts, gguf.WriteTensor{Name: "cls.output.weight", Type: quant.F32, Shape: []int64{int64(dim), 2}, Data: hb})
	path := filepath.Join(t.TempDir(), "tiny-qwen3-reranker.gguf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := gguf.Write(f, kv, ts, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	rr, err := runtime.LoadReranker(ctx, path, runtime.WithEmbedThreads(2))
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	em, err := runtime.LoadEmbedder(ctx, srcPath, runtime.WithPooling("last"), runtime.WithNormalize(false), runtime.WithEmbedThreads(2))
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	if q, d := rr.Prefixes(); q != "" || d != "" {
		t.Errorf("a reranker has no embedding prefixes: %q, %q", q, d)
	}
	query := "where does the girl play?"
	docs := []string{"The girl played in the park with her ball.", "Once upon a time there was a big tree.", "the sun"}
	scores, err := rr.Rerank(ctx, query, docs)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range docs {
		ids, err := rr.RerankTokens(query, d)
		if err != nil {
			t.Fatal(err)
		}
		want, err := em.Tokenize(strings.NewReplacer("{query}", query, "{document}", d).Replace(tmpl))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, want) {
			t.Fatalf("pair %d: tokens %v, the template's %v", i, ids, want)
		}
		h, err := em.EmbedIDs(ctx, [][]int{ids})
		if err != nil {
			t.Fatal(err)
		}
		var yes, no float64
		for j, v := range h[0] {
			yes += float64(v) * float64(head[j])
			no += float64(v) * float64(head[dim+j])
		}
		p := 1 / (1 + math.Exp(no-yes))
		if d := math.Abs(float64(scores[i]) - p); d > 1e-5 || scores[i] <= 0 || scores[i] >= 1 {
			t.Errorf("pair %d: score %v, softmax of the yes/no logits %v (|diff| %.2g)", i, scores[i], p, d)
		}
	}
	if _, err := rr.Embed(ctx, docs); !errors.Is(err, runtime.ErrReranker) {
		t.Errorf("Embed of a reranker: %v", err)
	}
}
