package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"

	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/runtime"
)

// benchBertPath is a tiny BERT reference encoder, relative to this package.
func benchBertPath(t *testing.T, typ string) string {
	t.Helper()
	return testutil.Shared(t, "testdata/bert/tiny-bert-"+typ+".gguf")
}

func TestBenchEmbedJSON(t *testing.T) {
	for _, typ := range []string{"F32", "Q8_0"} {
		path := benchBertPath(t, typ)
		out, _ := runBenchCmd(t, "bench", "-m", path, "-b", "1,3", "--seq", "16", "-t", "1,2", "-r", "2",
			"--idle", "50ms", "--tdp", "8", "--quiet", "--json")
		lines := jsonLines(t, out)
		if len(lines) != 4 {
			t.Fatalf("%s: %d lines, want 2 thread counts x 2 batch sizes:\n%s", typ, len(lines), out)
		}
		// The parameters, counted independently from the file.
		f, err := gguf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var params int64
		for i := range f.Tensors {
			params += f.Tensors[i].Elements()
		}
		f.Close()
		i := 0
		for _, th := range []float64{1, 2} {
			for _, b := range []float64{1, 3} {
				l := lines[i]
				i++
				if l["n_threads"] != th || l["batch_size"] != b || l["seq_len"] != 16.0 || l["mode"] != "embed" || l["embeddings"] != true ||
					l["n_prompt"] != b*16 || l["model_n_params"] != float64(params) {
					t.Errorf("%s line %d: %v", typ, i, l)
				}
				if mt, _ := l["model_type"].(string); !strings.HasPrefix(mt, "bert ") || !strings.HasSuffix(mt, " "+typ) {
					t.Errorf("%s: model_type %q", typ, mt)
				}
				ns, _ := l["samples_ns"].([]any)
				ts, _ := l["samples_ts"].([]any)
				tok, _ := l["samples_tokens_per_second"].([]any)
				if len(ns) != 2 || len(ts) != 2 || len(tok) != 2 {
					t.Fatalf("%s: samples %v %v %v", typ, ns, ts, tok)
				}
				// avg_ts is sentences per second: batch / the time of one call.
				sum := 0.0
				for k := range ns {
					want := b / (ns[k].(float64) / 1e9)
					if got := ts[k].(float64); math.Abs(got-want) > 1e-6*want || got <= 0 {
						t.Errorf("%s: sample %d: %v sentences/s, want %v from %v ns", typ, k, got, want, ns[k])
					}
					if got := tok[k].(float64); math.Abs(got-16*want) > 1e-6*16*want {
						t.Errorf("%s: sample %d: %v tokens/s, want %v", typ, k, got, 16*want)
					}
					sum += ts[k].(float64)
				}
				if avg := l["avg_ts"].(float64); math.Abs(avg-sum/2) > 1e-9*avg {
					t.Errorf("%s: avg_ts %v, want the mean %v", typ, avg, sum/2)
				}
				if tps := l["tokens_per_second"].(float64); math.Abs(tps-16*l["avg_ts"].(float64)) > 1e-6*tps {
					t.Errorf("%s: tokens_per_second %v is not 16 x avg_ts %v", typ, tps, l["avg_ts"])
				}
				j, _ := l["joules"].(float64)
				js, _ := l["joules_per_sentence"].(float64)
				jt, _ := l["joules_per_token"].(float64)
				if l["power_meter_kind"] != "estimate" || j <= 0 || math.Abs(js-j/(2*b)) > 1e-9*js || math.Abs(jt-js/16) > 1e-9*jt {
					t.Errorf("%s: energy %v J, %v J/sentence, %v J/token (%v)", typ, j, js, jt, l["power_meter_kind"])
				}
			}
		}
	}
}

func TestBenchEmbedTable(t *testing.T) {
	path := benchBertPath(t, "Q8_0")
	out, _ := runBenchCmd(t, "bench", "-m", path, "--seq", "8", "-t", "1", "-r", "1", "--power-meter", "none", "--quiet")
	for _, want := range []string{"| model", "sentences/s", "tokens/s", "| bert 4M Q8_0 |", "embed b1 s8", "embed b8 s8", "embed b32 s8", "power meter: none"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n| bert"); n != 3 {
		t.Errorf("%d rows, want the default batch sizes 1, 8, 32:\n%s", n, out)
	}
}

func TestBenchEmbedFlags(t *testing.T) {
	bert := benchBertPath(t, "F32")
	base := []string{"bench", "-m", bert, "-t", "1", "-r", "1", "--power-meter", "none", "--quiet"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append(base, "-b", "0"), "-b 0"},
		{append(base, "-b", "x"), "not a non-negative integer"},
		{append(base, "--seq", "1"), "--seq 1"},
		{append(base, "--seq", "513"), "does not fit in the model's context of 512"},
		{append(base, "-b", "1024", "--seq", "128"), "at most 65536"},
		{append(base, "--csv"), "table or --json"},
		{benchArgs("-b", "8"), "-b and --seq are for encoders"},
		{benchArgs("--seq", "64"), "-b and --seq are for encoders"},
	} {
		var o, e bytes.Buffer
		code := runMain(tc.args, &o, &e)
		if code == 0 || !strings.Contains(e.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, e.String(), tc.want)
		}
	}
}

func TestIsEncoderModel(t *testing.T) {
	bert := benchBertPath(t, "Q8_0")
	short := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(short, []byte("GG"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want bool
	}{
		{bert, true},
		{benchModelPath, false},                  // a llama decoder
		{filepath.Join(t.TempDir(), "x"), false}, // missing: the decoder bench reports it
		{short, false},
		{t.TempDir(), true}, // a directory: an ONNX export, LoadEmbedder checks it
	} {
		if got := isEncoderModel(tc.path); got != tc.want {
			t.Errorf("isEncoderModel(%s) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

func TestEmbedBenchSeqs(t *testing.T) {
	m, err := runtime.LoadEmbedder(context.Background(), benchBertPath(t, "F32"), runtime.WithEmbedThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	seqs, err := embedBenchSeqs(m, 3, 40)
	if err != nil {
		t.Fatal(err)
	}
	words, err := m.Tokenize(embedBenchText)
	if err != nil {
		t.Fatal(err)
	}
	unk, _ := m.Tokenize("\u2603\u2603\u2603") // a word outside the vocabulary
	if len(seqs) != 3 {
		t.Fatalf("%d sequences", len(seqs))
	}
	for i, s := range seqs {
		if len(s) != 40 || s[0] != 101 || s[39] != 102 {
			t.Fatalf("sequence %d: %d ids, %d ... %d: want 40, [CLS]=101 ... [SEP]=102", i, len(s), s[0], s[len(s)-1])
		}
		for j := 1; j < 39; j++ {
			if s[j] == 101 || s[j] == 102 || (len(unk) == 3 && s[j] == unk[1]) {
				t.Errorf("sequence %d, position %d: id %d", i, j, s[j])
			}
		}
		if s[1] != words[1+i%(len(words)-2)] {
			t.Errorf("sequence %d starts with id %d, want the text's word %d", i, s[1], i)
		}
	}
	if seqs[0][1] == seqs[1][1] {
		t.Errorf("the sentences are all alike: %v", seqs[:2])
	}
	if _, err := m.EmbedIDs(context.Background(), seqs); err != nil {
		t.Errorf("the model refuses the sentences: %v", err)
	}
}
