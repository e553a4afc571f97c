package bert

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
	"github.com/edgeai-go/edgeai/models/tokenizer"
)

const refDir = "../../../shared/testdata/bert"

// ref is the part of tiny-bert-<T>.ref.json the tests read.
type ref struct {
	Sentences []string `json:"sentences"`
	TokenIDs  [][]int  `json:"token_ids"`
	NEmbd     int      `json:"n_embd"`
}

// refModel is one reference model with llama.cpp's outputs.
type refModel struct {
	path   string
	ref    ref
	emb    []float32 // [4][dim] pooled + L2-normalised
	embRaw []float32 // [4][dim] pooled
	tokEmb []float32 // [Σn][dim] per-token final states
}

func needRef(t testing.TB) {
	t.Helper()
	testutil.Shared(t, "testdata/bert")
}

func readF32(t testing.TB, path string) []float32 {
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

func loadRef(t testing.TB, typ string) refModel {
	t.Helper()
	needRef(t)
	base := filepath.Join(refDir, "tiny-bert-"+typ)
	r := refModel{path: base + ".gguf"}
	b, err := os.ReadFile(base + ".ref.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &r.ref); err != nil {
		t.Fatal(err)
	}
	r.emb = readF32(t, base+".emb.f32")
	r.embRaw = readF32(t, base+".emb_raw.f32")
	r.tokEmb = readF32(t, base+".tok_emb.f32")
	return r
}

func openModel(t testing.TB, path string) (*gguf.File, *Model) {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	enc, err := nn.LoadEncoder(f)
	if err != nil {
		t.Fatal(err)
	}
	return f, enc.(*Model)
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

func maxAbsDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// TestReference runs the four reference sentences through the F32 and Q8_0
// models, each alone and all four in one pass, and compares token ids,
// per-token states, pooled and normalised vectors with llama.cpp's.
func TestReference(t *testing.T) {
	for _, tc := range []struct {
		typ    string
		minCos float64 // pooled vectors, the bar
		maxTok float64 // worst per-token max-abs difference allowed
	}{
		// F32: ggml sums F32 products in other orders than edgeai (tinyBLAS,
		// fused multiply-adds); the last-bit differences cross float16
		// rounding steps of the GELU table here and there, which moves a
		// token's state by up to ~4e-4 (see docs/embeddings.md).
		{"F32", 0.9999, 1e-3},
		// Q8_0: the same arithmetic as ggml-cpu (bit-identical on amd64).
		{"Q8_0", 0.999, 1e-5},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			r := loadRef(t, tc.typ)
			f, m := openModel(t, r.path)
			c := m.Config()
			if c.Dim != r.ref.NEmbd || c.Pooling != nn.PoolMean || c.Causal || c.NormEps != float32(1e-12) || c.TokenTypes != 2 {
				t.Fatalf("config %+v", c)
			}
			tok, err := tokenizer.FromGGUF(f)
			if err != nil {
				t.Fatal(err)
			}
			var seqs [][]int
			for i, s := range r.ref.Sentences {
				ids, err := tok.Encode(s, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids, r.ref.TokenIDs[i]) {
					t.Fatalf("sentence %d: ids %v, want %v", i, ids, r.ref.TokenIDs[i])
				}
				seqs = append(seqs, ids)
			}
			pool := parallel.New(2)
			defer pool.Close()
			st, err := m.NewState(512, pool)
			if err != nil {
				t.Fatal(err)
			}
			dim := c.Dim
			total := 0
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
			if !slices.Equal(batched, alone) {
				t.Errorf("packing the texts into one pass changed the states (max diff %g)", maxAbsDiff(batched, alone))
			}
			worstTok, worstTokCos := 0.0, 1.0
			for i := 0; i < total; i++ {
				got, want := batched[i*dim:(i+1)*dim], r.tokEmb[i*dim:(i+1)*dim]
				worstTok = max(worstTok, maxAbsDiff(got, want))
				worstTokCos = min(worstTokCos, cosine(got, want))
			}
			t.Logf("per-token states: max |diff| %.3g, min cosine 1-%.3g", worstTok, 1-worstTokCos)
			if worstTok > tc.maxTok {
				t.Errorf("per-token max |diff| %g > %g", worstTok, tc.maxTok)
			}
			off = 0
			worstCos, worstRaw := 1.0, 0.0
			for i, s := range seqs {
				raw := make([]float32, dim)
				if err := nn.Pool(c.Pooling, batched[off*dim:], len(s), raw); err != nil {
					t.Fatal(err)
				}
				off += len(s)
				worstRaw = max(worstRaw, maxAbsDiff(raw, r.embRaw[i*dim:(i+1)*dim]))
				nn.Normalize(raw)
				cos := cosine(raw, r.emb[i*dim:(i+1)*dim])
				worstCos = min(worstCos, cos)
				if cos < tc.minCos {
					t.Errorf("sentence %d: cosine %.9f < %g", i, cos, tc.minCos)
				}
			}
			t.Logf("pooled: max |diff| before normalising %.3g; normalised: min cosine 1-%.3g", worstRaw, 1-worstCos)
		})
	}
}
