package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeai-go/edgeai/models/gguf"
)

// TestMain lets a test re-run this binary as the edgeai command
// (EDGEAI_SWEEP_MAIN=1): the sweep below runs every case in a process of
// its own, so that a fatal error (out of memory, stack overflow), which no
// recover catches, or a hang shows as what it is.
func TestMain(m *testing.M) {
	if os.Getenv("EDGEAI_SWEEP_MAIN") == "1" {
		os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// hostileStories writes stories260K with its metadata changed by edit.
func hostileStories(t *testing.T, dir, name string, edit func(kv []gguf.KV) []gguf.KV) string {
	t.Helper()
	f, err := gguf.Open(storiesModel)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if err := gguf.Rewrite(&buf, f, edit); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".gguf")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func setKey(key string, v gguf.Value) func([]gguf.KV) []gguf.KV {
	return func(kv []gguf.KV) []gguf.KV {
		for i := range kv {
			if kv[i].Key == key {
				kv[i].Value = v
				return kv
			}
		}
		return append(kv, gguf.KV{Key: key, Value: v})
	}
}

// hostileFiles returns files no command should crash or hang on: broken
// and hostile GGUFs, special files, garbage in every format edgeai reads.
func hostileFiles(t *testing.T) map[string]string {
	dir := t.TempDir()
	files := map[string]string{"missing": filepath.Join(dir, "missing.gguf"), "directory": dir}
	write := func(name string, b []byte) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files[name] = p
	}
	write("empty", nil)
	write("garbage", bytes.Repeat([]byte("\xde\xad\xbe\xef"), 1000))
	raw, err := os.ReadFile(storiesModel)
	if err != nil {
		t.Fatal(err)
	}
	write("truncated-header.gguf", raw[:200])
	write("truncated-data.gguf", raw[:len(raw)/2])
	huge := append([]byte(nil), raw[:32]...)
	copy(huge[8:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}) // tensor count 2^63-1
	write("huge-count.gguf", append(huge, raw[32:4096]...))
	for _, c := range []struct {
		name string
		edit func([]gguf.KV) []gguf.KV
	}{
		{"ctx-zero", setKey("llama.context_length", gguf.NewUint32(0))},
		{"ctx-huge", setKey("llama.context_length", gguf.NewUint64(1<<62))},
		{"heads-zero", setKey("llama.attention.head_count", gguf.NewUint32(0))},
		{"heads-huge", setKey("llama.attention.head_count", gguf.NewUint32(1<<30))},
		{"heads-7", setKey("llama.attention.head_count", gguf.NewUint32(7))},
		{"kvheads-3", setKey("llama.attention.head_count_kv", gguf.NewUint32(3))},
		{"dim-zero", setKey("llama.embedding_length", gguf.NewUint32(0))},
		{"layers-huge", setKey("llama.block_count", gguf.NewUint32(1<<20))},
		{"rope-odd", setKey("llama.rope.dimension_count", gguf.NewUint32(3))},
		{"rope-huge", setKey("llama.rope.dimension_count", gguf.NewUint32(1<<20))},
		{"rope-base-nan", setKey("llama.rope.freq_base", gguf.NewFloat32(float32(nan())))},
		{"eps-negative", setKey("llama.attention.layer_norm_rms_epsilon", gguf.NewFloat32(-1))},
		{"eps-string", setKey("llama.attention.layer_norm_rms_epsilon", gguf.NewString("tiny"))},
		{"arch-unknown", setKey("general.architecture", gguf.NewString("gpt9"))},
		{"arch-empty", setKey("general.architecture", gguf.NewString(""))},
		{"no-tokens", setKey("tokenizer.ggml.tokens", gguf.NewStrings(nil))},
		{"few-tokens", setKey("tokenizer.ggml.tokens", gguf.NewStrings([]string{"a", "b"}))},
		{"bos-huge", setKey("tokenizer.ggml.bos_token_id", gguf.NewUint32(1<<30))},
		{"template-repeat", setKey("tokenizer.chat_template", gguf.NewString("{{ 'x' * 1000000000000 }}"))},
		{"template-join", setKey("tokenizer.chat_template", gguf.NewString("{{ (['aaaa'] * 100000000) | join }}"))},
		{"template-recursion", setKey("tokenizer.chat_template", gguf.NewString("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"))},
		{"template-loop", setKey("tokenizer.chat_template", gguf.NewString("{% for i in range(1000000000) %}{% for m in messages %}{{ m.content }}{% endfor %}{% endfor %}"))},
		{"template-broken", setKey("tokenizer.chat_template", gguf.NewString("{% for %}"))},
	} {
		files[c.name] = hostileStories(t, dir, c.name, c.edit)
	}
	// A file whose tensor table lacks a tensor the model needs.
	f, err := gguf.Open(storiesModel)
	if err != nil {
		t.Fatal(err)
	}
	var ts []gguf.WriteTensor
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		if ti.Name == "blk.2.attn_v.weight" {
			continue
		}
		data, _ := f.TensorData(ti)
		ts = append(ts, gguf.WriteTensor{Name: ti.Name, Type: ti.Type, Shape: ti.Shape, Data: data})
	}
	var buf bytes.Buffer
	if err := gguf.Write(&buf, f.KV, ts, f.Alignment); err != nil {
		t.Fatal(err)
	}
	f.Close()
	write("no-tensor.gguf", buf.Bytes())
	if runtime.GOOS != "windows" {
		fifo := filepath.Join(dir, "fifo.gguf")
		if err := mkfifo(fifo); err == nil {
			files["fifo"] = fifo
		}
		files["dev-zero"] = "/dev/zero"
	}
	return files
}

func nan() float64 { var z float64; return z / z }

// TestHostileSweep runs every command with hostile files and flag values,
// each in its own process under a time limit: no panic, no fatal error, no
// goroutine dump and no hang; a clean error (or success) every time.
func TestHostileSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the sweep runs a few hundred processes")
	}
	files := hostileFiles(t)
	out := t.TempDir()
	text := filepath.Join(out, "text.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("Once upon a time, there was a little girl named Lily. ", 12)), 0o644); err != nil {
		t.Fatal(err)
	}
	var cases [][]string
	for name, f := range files {
		_ = name
		cases = append(cases,
			[]string{"run", "-m", f, "-p", "Once upon a time", "-n", "4"},
			[]string{"chat", "-m", f, "-n", "4"},
			[]string{"tokenize", "-m", f, "hello"},
			[]string{"logits", "-m", f, "--ids", "1,2", "-o", filepath.Join(out, "l.f32")},
			[]string{"perplexity", "-m", f, "-f", text, "-c", "64"},
			[]string{"info", f},
			[]string{"info", "--json", f},
			[]string{"embed", "-m", f, "hello"},
			[]string{"bench", "-m", f, "-p", "8", "-n", "4", "-r", "1", "--idle", "0", "--quiet"},
			[]string{"quantize", f, filepath.Join(out, "q.gguf"), "--type", "Q8_0"},
			[]string{"onnx", "info", f},
			[]string{"onnx", "run", f},
			[]string{"audit", "verify", f},
			[]string{"run", "-m", storiesModel, "-f", f, "-n", "4"},
			[]string{"run", "-m", storiesModel, "-p", "hi", "-n", "4", "--prompt-cache", f},
		)
	}
	m := storiesModel
	for _, flags := range [][]string{
		{"-t", "0"}, {"-t", "-1"}, {"-t", "100000"}, {"-c", "-5"}, {"-c", "1"}, {"-c", "2"}, {"-c", "1000000000000"},
		{"-b", "0"}, {"-b", "-1"}, {"-b", "1000000000"}, {"-n", "-5"}, {"-n", "1000000000000"}, {"--temp", "NaN"},
		{"--temp", "-1"}, {"--temp", "Inf"}, {"--top-p", "2"}, {"--top-k", "-3"}, {"--min-p", "NaN"}, {"--repeat-penalty", "-1"},
		{"--repeat-last-n", "-7"}, {"-s", "99999999999999999999"}, {"-ctk", "bogus"}, {"-ctk", "q8_0"}, {"-ctv", "q4_0"},
		{"--stop", ""}, {"-ngl", "abc"}, {"--mmap", "--no-mmap"},
	} {
		cases = append(cases,
			append([]string{"run", "-m", m, "-p", "Once upon a time", "-n", "4"}, flags...),
			append([]string{"perplexity", "-m", m, "-f", text}, flags...))
	}
	cases = append(cases,
		[]string{"perplexity", "-m", m, "-f", files["empty"], "-c", "64"},
		[]string{"perplexity", "-m", m, "-f", files["garbage"], "-c", "1"},
		[]string{"logits", "-m", m, "--ids", "999999", "-o", filepath.Join(out, "l.f32")},
		[]string{"logits", "-m", m, "--ids", "-1", "-o", filepath.Join(out, "l.f32")},
		[]string{"logits", "-m", m, "--ids", "1", "-o", files["directory"]},
		[]string{"tokenize", "-m", m, strings.Repeat("\xff\xfe", 10000)},
		[]string{"synth", "--shape", "bogus", "-o", filepath.Join(out, "s.gguf")},
		[]string{"quantize", m, filepath.Join(out, "q.gguf"), "--type", "NOPE"},
		[]string{"bench", "-m", m, "-p", "100000", "-n", "1", "-r", "1", "--idle", "0", "--quiet"},
		[]string{"bench", "-m", m, "-t", "0", "-p", "8", "-n", "1", "-r", "1", "--idle", "0", "--quiet"},
		[]string{"nonsense-command"},
		[]string{"run"},
		[]string{"version", "--bogus"},
	)

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for _, args := range cases {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if msg := runSweepCase(self, args); msg != "" {
				mu.Lock()
				failures = append(failures, msg)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	t.Logf("%d cases, %d hostile files", len(cases), len(files))
}

// runSweepCase runs one case and describes what went wrong, if anything.
func runSweepCase(self string, args []string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Env = append(os.Environ(), "EDGEAI_SWEEP_MAIN=1", "GOMEMLIMIT=2GiB")
	cmd.Stdin = strings.NewReader("hello\n")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	start := time.Now()
	err := cmd.Run()
	out := buf.String()
	switch {
	case ctx.Err() != nil:
		return fmt.Sprintf("%q: hung (killed after %v)", args, time.Since(start).Round(time.Second))
	case strings.Contains(out, "panic:") || strings.Contains(out, "fatal error:") || strings.Contains(out, "goroutine "):
		return fmt.Sprintf("%q: crashed: %.600s", args, out)
	case err != nil && cmd.ProcessState.ExitCode() != 1 && cmd.ProcessState.ExitCode() != 2:
		return fmt.Sprintf("%q: exit %v: %.300s", args, err, out)
	case err != nil && !strings.Contains(out, "edgeai"):
		return fmt.Sprintf("%q: failed without a message: %.300s", args, out)
	}
	return ""
}
