package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"
)

func infoSharedPath(t *testing.T, rel string) string {
	t.Helper()
	if rel == "models/stories260K.gguf" {
		return storiesModel
	}
	return testutil.Shared(t, rel)
}

func runInfoCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runMain(append([]string{"info"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

func TestInfoText(t *testing.T) {
	path := infoSharedPath(t, "models/stories260K.gguf")
	out, errs, code := runInfoCmd(t, path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"architecture:  llama\n",
		"parameters:    292.8K (292800)\n",
		"size:          1185376 bytes",
		"metadata (19 keys):",
		"llama.context_length",
		`[string × 512] "<unk>", "<s>", "</s>", "<0x00>",`,
		"tensors (48):",
		"F32     48 tensors",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Rows of the tensor table and of the metadata, column by column.
	rows := map[string][]string{
		"token_embd.weight":                      {"token_embd.weight", "F32", "64", "x", "512", "131072", "0"},
		"blk.4.ffn_down.weight":                  {"blk.4.ffn_down.weight", "F32", "172", "x", "64", "44032", "1082880"},
		"llama.context_length":                   {"llama.context_length", "uint32", "512"},
		"llama.attention.layer_norm_rms_epsilon": {"llama.attention.layer_norm_rms_epsilon", "float32", "1e-05"},
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if want, ok := rows[f[0]]; ok {
			if strings.Join(f, " ") != strings.Join(want, " ") {
				t.Errorf("row %q, want %q", strings.Join(f, " "), strings.Join(want, " "))
			}
			delete(rows, f[0])
		}
	}
	for k := range rows {
		t.Errorf("no row for %s", k)
	}
	if strings.Contains(out, "sha256") {
		t.Error("sha256 printed without --sha256")
	}
}

func TestInfoJSONAndSHA256(t *testing.T) {
	model := infoSharedPath(t, "testdata/llama/tiny-llama-Q4_K_M.gguf")
	refb, err := os.ReadFile(strings.TrimSuffix(model, ".gguf") + ".ref.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		SHA256 string            `json:"model_sha256"`
		Size   int64             `json:"model_size_bytes"`
		Types  map[string]string `json:"tensor_types"`
	}
	if err := json.Unmarshal(refb, &ref); err != nil {
		t.Fatal(err)
	}
	out, errs, code := runInfoCmd(t, "--json", model, "--sha256")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rep struct {
		Size         int64  `json:"size"`
		SHA256       string `json:"sha256"`
		Architecture string `json:"architecture"`
		Parameters   int64  `json:"parameters"`
		FileType     struct {
			ID   uint32 `json:"id"`
			Name string `json:"name"`
		} `json:"file_type"`
		Metadata []struct {
			Key   string          `json:"key"`
			Type  string          `json:"type"`
			Value json.RawMessage `json:"value"`
		} `json:"metadata"`
		Tensors []struct {
			Name  string  `json:"name"`
			Type  string  `json:"type"`
			Shape []int64 `json:"shape"`
			Bytes int64   `json:"bytes"`
		} `json:"tensors"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out)
	}
	if rep.SHA256 != ref.SHA256 || rep.Size != ref.Size {
		t.Errorf("sha256 %s size %d, reference %s %d", rep.SHA256, rep.Size, ref.SHA256, ref.Size)
	}
	if rep.Architecture != "llama" || rep.FileType.ID != 15 || rep.FileType.Name != "MOSTLY_Q4_K_M" {
		t.Errorf("arch %q file type %+v", rep.Architecture, rep.FileType)
	}
	// 4 layers of dim 256, ffn 768, 4 of 8 heads for K/V; vocab 512, untied output.
	layer := int64(256*256*2 + 256*128*2 + 3*256*768 + 2*256)
	if want := 2*512*256 + 256 + 4*layer; rep.Parameters != want {
		t.Errorf("parameters %d, want %d", rep.Parameters, want)
	}
	if len(rep.Tensors) != len(ref.Types) {
		t.Errorf("%d tensors, reference %d", len(rep.Tensors), len(ref.Types))
	}
	for _, tt := range rep.Tensors {
		if ref.Types[tt.Name] != tt.Type {
			t.Errorf("tensor %s: type %s, reference %s", tt.Name, tt.Type, ref.Types[tt.Name])
		}
	}
	found := 0
	for _, kv := range rep.Metadata {
		switch kv.Key {
		case "llama.context_length":
			found++
			if kv.Type != "uint32" || string(kv.Value) != "256" {
				t.Errorf("%s: %s %s", kv.Key, kv.Type, kv.Value)
			}
		case "tokenizer.ggml.tokens":
			found++
			var a struct {
				ElemType  string   `json:"elem_type"`
				Len       int      `json:"len"`
				Values    []string `json:"values"`
				Truncated bool     `json:"truncated"`
			}
			if err := json.Unmarshal(kv.Value, &a); err != nil {
				t.Fatal(err)
			}
			if a.ElemType != "string" || a.Len != 512 || !a.Truncated || len(a.Values) != 8 || a.Values[0] != "<unk>" || a.Values[1] != "<s>" {
				t.Errorf("tokens: %+v", a)
			}
		}
	}
	if found != 2 {
		t.Errorf("found %d of the 2 checked keys", found)
	}
}

func TestInfoErrors(t *testing.T) {
	saved := infoNoFile
	defer func() { infoNoFile = saved }()

	infoNoFile = nil
	if _, errs, code := runInfoCmd(t); code != 2 || !strings.Contains(errs, "FILE.gguf") {
		t.Errorf("no file, no hook: exit %d, stderr %q", code, errs)
	}
	infoNoFile = func(w io.Writer) error { _, err := fmt.Fprintln(w, "cpu: test-features"); return err }
	if out, _, code := runInfoCmd(t); code != 0 || out != "cpu: test-features\n" {
		t.Errorf("no file, hook: exit %d, stdout %q", code, out)
	}
	infoNoFile = func(io.Writer) error { return errors.New("hook failed") }
	if _, errs, code := runInfoCmd(t); code != 1 || !strings.Contains(errs, "hook failed") {
		t.Errorf("failing hook: exit %d, stderr %q", code, errs)
	}

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.gguf")
	if err := os.WriteFile(bad, []byte("GGUF\x01\x00\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := runInfoCmd(t, bad); code != 1 || !strings.Contains(errs, "version 1 is not supported") {
		t.Errorf("v1 file: exit %d, stderr %q", code, errs)
	}
	if _, errs, code := runInfoCmd(t, filepath.Join(dir, "missing.gguf")); code != 1 || !strings.Contains(errs, "missing.gguf") {
		t.Errorf("missing file: exit %d, stderr %q", code, errs)
	}
	if _, _, code := runInfoCmd(t, bad, bad); code != 2 {
		t.Errorf("two files: exit %d", code)
	}
	if _, _, code := runInfoCmd(t, "--nosuchflag", bad); code != 2 {
		t.Errorf("unknown flag: exit %d", code)
	}
}
