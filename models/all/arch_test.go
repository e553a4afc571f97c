package all_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/internal/testutil"
	"github.com/edgeai-go/edgeai/models/nn"
	"github.com/edgeai-go/edgeai/models/quantize"
	"github.com/edgeai-go/edgeai/quant"
)

// TestArchReferences checks every model of ../shared/testdata/arch (eight
// architectures beyond llama and qwen2, made with llama.cpp ec98e2002)
// against llama.cpp's logits and greedy continuation, as
// TestReferenceLogits does. The Q8_0 and Q4_K_M files are made here from the
// F32 file by edgeai's quantizer, which must reproduce llama.cpp's bytes
// (the sha256 in each .ref.json). The F16-KV-cache references (*.kvf16.*)
// run with an F16 KV cache.
func TestArchReferences(t *testing.T) {
	root := testutil.Shared(t, "testdata/arch")
	refs, _ := filepath.Glob(filepath.Join(root, "*", "*.ref.json"))
	if len(refs) == 0 {
		t.Fatal("no *.ref.json in testdata/arch")
	}
	pool := parallel.New(2)
	defer pool.Close()
	tmp := t.TempDir()
	var mu sync.Mutex
	made := map[string]string{} // quantized file name -> path
	for _, refPath := range refs {
		name := strings.TrimSuffix(filepath.Base(refPath), ".ref.json")
		dir := filepath.Dir(refPath)
		t.Run(filepath.Base(dir)+"/"+name, func(t *testing.T) {
			ref := readRef(t, refPath)
			path := filepath.Join(dir, ref.ModelFile)
			switch {
			case filepath.Base(dir) == "llama": // the ../llama files through the newer llama.cpp
				path = filepath.Join(testdata, "llama", ref.ModelFile)
			case strings.HasSuffix(name, "-F32"):
			default:
				typ := name[strings.LastIndex(name, "-")+1:]
				src := filepath.Join(dir, strings.TrimSuffix(ref.ModelFile, typ+".gguf")+"F32.gguf")
				mu.Lock()
				p, ok := made[ref.ModelFile]
				mu.Unlock()
				if !ok {
					ft, err := quantize.ParseFileType(typ)
					if err != nil {
						t.Fatal(err)
					}
					p = filepath.Join(tmp, ref.ModelFile)
					if _, err := quantize.ConvertFile(context.Background(), src, p, quantize.Options{Type: ft}); err != nil {
						t.Fatal(err)
					}
					mu.Lock()
					made[ref.ModelFile] = p
					mu.Unlock()
				}
				path = p
			}
			if sum := fileSHA256(t, path); sum != ref.ModelSHA256 {
				t.Errorf("%s: sha256 %s, llama.cpp's file has %s", filepath.Base(path), sum, ref.ModelSHA256)
			}
			kvo := nn.CacheOptions{K: quant.F32, V: quant.F32}
			if strings.HasSuffix(name, ".kvf16") {
				kvo = nn.CacheOptions{K: quant.F16, V: quant.F16}
			}
			checkReferenceKV(t, name, path, dir, ref, pool, kvo)
		})
	}
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
