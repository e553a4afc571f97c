package all_test

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"

	"github.com/edgeai-go/edgeai/internal/parallel"
	_ "github.com/edgeai-go/edgeai/models/all"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
	"github.com/edgeai-go/edgeai/quant"
)

const testdata = "../../../shared/testdata"

type refJSON struct {
	ModelFile    string    `json:"model_file"`
	ModelSHA256  string    `json:"model_sha256"`
	TokenIDs     []int     `json:"token_ids"`
	NPos         int       `json:"n_pos"`
	NVocab       int       `json:"n_vocab"`
	LogitsFile   string    `json:"logits_file"`
	GreedyIDs    []int     `json:"greedy_continuation_ids"`
	GenLogits    string    `json:"gen_logits_file"`
	GreedyMargin []float64 `json:"greedy_top1_top2_logit_margin"`
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// nmse returns sum((a-b)^2)/sum(b^2).
func nmse(a, b []float32) float64 {
	var num, den float64
	for i := range b {
		d := float64(a[i]) - float64(b[i])
		num += d * d
		den += float64(b[i]) * float64(b[i])
	}
	return num / den
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// TestReferenceLogits checks every reference model in ../shared/testdata/llama
// and qwen2 against llama.cpp's logits for all prompt positions and its greedy
// continuation (see REFERENCE-NOTES.txt there).
func TestReferenceLogits(t *testing.T) {
	var refs []string
	for _, dir := range []string{"llama", "qwen2"} {
		m, _ := filepath.Glob(filepath.Join(testdata, dir, "*.ref.json"))
		refs = append(refs, m...)
	}
	if len(refs) == 0 {
		testutil.Shared(t, "testdata")
		t.Fatal("no *.ref.json in the reference data")
	}
	pool := parallel.New(2)
	defer pool.Close()
	for _, refPath := range refs {
		name := strings.TrimSuffix(filepath.Base(refPath), ".ref.json")
		t.Run(name, func(t *testing.T) {
			ref := readRef(t, refPath)
			checkReference(t, name, filepath.Join(filepath.Dir(refPath), ref.ModelFile), filepath.Dir(refPath), ref, pool)
		})
	}
}

func readRef(t *testing.T, path string) refJSON {
	t.Helper()
	var ref refJSON
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

// checkReference runs the model at path on ref's prompt (in passes of 8
// tokens, as a long prompt would go) and its greedy continuation (one token
// at a time through the cache, following llama.cpp's tokens), and compares
// with llama.cpp's logits in dir: NMSE <= 1e-4 for F32/F16 files, <= 5e-3
// for quantized ones, argmax agreement >= 95%, and the greedy tokens
// identical for F32, F16 and Q8_0 files.
func checkReference(t *testing.T, name, path, dir string, ref refJSON, pool *parallel.Pool) {
	checkReferenceKV(t, name, path, dir, ref, pool, nn.CacheOptions{K: quant.F32, V: quant.F32})
}

// checkReferenceKV is checkReference with the KV cache of the given types
// (the F16-KV references: *.kvf16.*).
func checkReferenceKV(t *testing.T, name, path, dir string, ref refJSON, pool *parallel.Pool, kvo nn.CacheOptions) {
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec, err := nn.LoadDecoder(f)
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSuffix(name, ".kvf16")
	exact := strings.HasSuffix(base, "-F32") || strings.HasSuffix(base, "-F16")
	tol := 5e-3
	if exact {
		tol = 1e-4
	}
	// Batch sizes 8: the prompt goes through in several chunks, as it would in a long prompt.
	ws, err := nn.NewWorkspace(dec.Dims(), 8, 256, pool)
	if err != nil {
		t.Fatal(err)
	}
	kvo.Batch = 8
	cache, err := dec.NewCache(256, kvo)
	if err != nil {
		t.Fatal(err)
	}
	want := readF32(t, filepath.Join(dir, ref.LogitsFile))
	got := make([]float32, ref.NPos*ref.NVocab)
	if err := nn.Run(dec, ws, []nn.Seq{{Cache: cache, Tokens: ref.TokenIDs, Logits: got, All: true}}); err != nil {
		t.Fatal(err)
	}
	e := nmse(got, want)
	agree := 0
	for p := 0; p < ref.NPos; p++ {
		if argmax(got[p*ref.NVocab:(p+1)*ref.NVocab]) == argmax(want[p*ref.NVocab:(p+1)*ref.NVocab]) {
			agree++
		}
	}
	frac := float64(agree) / float64(ref.NPos)
	t.Logf("prompt logits: nmse %.3g (limit %g), argmax agreement %d/%d", e, tol, agree, ref.NPos)
	if e > tol || math.IsNaN(e) {
		t.Errorf("nmse %.3g > %g", e, tol)
	}
	if frac < 0.95 {
		t.Errorf("argmax agrees at %.0f%% of positions, want >= 95%%", 100*frac)
	}

	// Greedy continuation, one token at a time through the KV cache.
	var genWant []float32
	if ref.GenLogits != "" {
		genWant = readF32(t, filepath.Join(dir, ref.GenLogits))
	}
	row := make([]float32, ref.NVocab)
	copy(row, got[(ref.NPos-1)*ref.NVocab:])
	var ids []int
	var genErr float64
	for s := 0; s < len(ref.GreedyIDs); s++ {
		if genWant != nil {
			genErr = max(genErr, nmse(row, genWant[s*ref.NVocab:(s+1)*ref.NVocab]))
		}
		id := argmax(row)
		ids = append(ids, id)
		// Follow llama.cpp's tokens so later steps stay comparable after a near-tie flip.
		if err := nn.Run(dec, ws, []nn.Seq{{Cache: cache, Tokens: []int{ref.GreedyIDs[s]}, Logits: row}}); err != nil {
			t.Fatal(err)
		}
	}
	diff := 0
	for i := range ids {
		if ids[i] != ref.GreedyIDs[i] {
			diff++
		}
	}
	t.Logf("greedy: %d/%d tokens differ; worst step nmse %.3g", diff, len(ids), genErr)
	mustMatch := exact || strings.HasSuffix(base, "-Q8_0")
	if mustMatch && diff > 0 {
		t.Errorf("greedy continuation differs at %d of %d steps:\n got %v\nwant %v", diff, len(ids), ids, ref.GreedyIDs)
	}
	if genWant != nil && genErr > tol {
		t.Errorf("generation-step logits nmse %.3g > %g", genErr, tol)
	}
}

// TestReferenceLogitsKVF16 checks the tiny llama files with an F16 KV cache
// (llama.cpp's default) against llama.cpp's logits and greedy tokens made
// with its F16 cache (variants.f16 of each .ref.json), with the tolerances
// of the F32-cache references.
func TestReferenceLogitsKVF16(t *testing.T) {
	refs, _ := filepath.Glob(filepath.Join(testdata, "llama", "*.ref.json"))
	if len(refs) == 0 {
		testutil.Shared(t, "testdata/llama")
		t.Fatal("no *.ref.json in testdata/llama")
	}
	pool := parallel.New(2)
	defer pool.Close()
	for _, refPath := range refs {
		name := strings.TrimSuffix(filepath.Base(refPath), ".ref.json") + ".kvf16"
		t.Run(name, func(t *testing.T) {
			var ref struct {
				refJSON
				Variants struct {
					F16 struct {
						LogitsFile string `json:"logits_file"`
						GenLogits  string `json:"gen_logits_file"`
						GreedyIDs  []int  `json:"greedy_continuation_ids"`
					} `json:"f16"`
				} `json:"variants"`
			}
			b, err := os.ReadFile(refPath)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &ref); err != nil {
				t.Fatal(err)
			}
			v := ref.Variants.F16
			if v.LogitsFile == "" {
				t.Fatal("no variants.f16 in the reference")
			}
			r := ref.refJSON
			r.LogitsFile, r.GenLogits, r.GreedyIDs = v.LogitsFile, v.GenLogits, v.GreedyIDs
			dir := filepath.Dir(refPath)
			checkReferenceKV(t, name, filepath.Join(dir, r.ModelFile), dir, r, pool, nn.CacheOptions{K: quant.F16, V: quant.F16})
		})
	}
}
