package bert

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/quant"
)

// BenchmarkEncode measures encoder throughput on the reference models:
// sentences per second for batches of 1, 8 and 32 texts of 128 tokens each
// ([CLS], 126 random word pieces, [SEP]), all texts of a batch in one pass,
// on GOMAXPROCS threads.
func BenchmarkEncode(b *testing.B) {
	for _, typ := range []string{"F32", "Q8_0"} {
		r := loadRef(b, typ)
		_, m := openModel(b, r.path)
		for _, batch := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("%s/batch=%d/seq=128", typ, batch), func(b *testing.B) {
				benchEncode(b, m, batch, 128)
			})
		}
	}
}

func benchEncode(b *testing.B, m *Model, batch, seqLen int) {
	rng := rand.New(rand.NewPCG(1, 2))
	seqs := make([][]int, batch)
	for i := range seqs {
		s := make([]int, seqLen)
		s[0], s[seqLen-1] = 101, 102
		for j := 1; j < seqLen-1; j++ {
			s[j] = 1000 + rng.IntN(m.config.Vocab-1000)
		}
		seqs[i] = s
	}
	pool := parallel.New(runtime.GOMAXPROCS(0))
	defer pool.Close()
	st, err := m.NewState(batch*seqLen, pool)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]float32, batch*seqLen*m.config.Dim)
	b.ResetTimer()
	for b.Loop() {
		if err := st.Forward(seqs, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "sent/s")
	b.ReportMetric(float64(batch*seqLen*b.N)/b.Elapsed().Seconds(), "tok/s")
}

// syntheticModel builds a random-weight BERT of the given shape in memory
// (Q8_0 matrices, F32 embeddings and norms, as llama-quantize writes them).
func syntheticModel(b *testing.B, dim, layers, heads, ffn, vocab, ctx int) *Model {
	b.Helper()
	kv, ts := syntheticTensors(b, dim, layers, heads, ffn, vocab, ctx)
	var buf bytes.Buffer
	if err := gguf.Write(&buf, kv, ts, 0); err != nil {
		b.Fatal(err)
	}
	f, err := gguf.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		b.Fatal(err)
	}
	m, err := Load(f)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// TestWriteSyntheticBGESmall writes, when EDGEAI_WRITE_BGE_SMALL names a
// file, a random-weight Q8_0 BERT of bge-small-en-v1.5's shape (384 dims,
// 12 layers, 12 heads, FFN 1536, context 512) with the BGE WordPiece
// vocabulary of ../shared, for side-by-side speed tests with llama.cpp
// (BENCHMARKS.md); with EDGEAI_WRITE_BGE_RERANK set too, a reranker of the
// same shape (pooling rank, a classification head).
func TestWriteSyntheticBGESmall(t *testing.T) {
	out := os.Getenv("EDGEAI_WRITE_BGE_SMALL")
	if out == "" {
		t.Skip("EDGEAI_WRITE_BGE_SMALL is not set")
	}
	vf, err := gguf.Open(testutil.Shared(t, "testdata/tokenizer/ggml-vocab-bert-bge.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer vf.Close()
	kv, ts := syntheticTensors(t, 384, 12, 12, 1536, 30522, 512)
	for _, e := range vf.KV {
		if strings.HasPrefix(e.Key, "tokenizer.") {
			kv = append(kv, e)
		}
	}
	if os.Getenv("EDGEAI_WRITE_BGE_RERANK") != "" {
		for i := range kv {
			if kv[i].Key == "bert.pooling_type" {
				kv[i].Value = gguf.NewUint32(4)
			}
		}
		rng := rand.New(rand.NewPCG(5, 6))
		f32 := func(n int) []byte {
			o := make([]byte, 4*n)
			for i := range n {
				binary.LittleEndian.PutUint32(o[4*i:], math.Float32bits(float32(rng.NormFloat64())*0.05))
			}
			return o
		}
		v := make([]float32, 384*384)
		for i := range v {
			v[i] = float32(rng.NormFloat64()) * 0.05
		}
		q := make([]byte, 384*34*12)
		if err := quant.Quantize(quant.Q8_0, v, q); err != nil {
			t.Fatal(err)
		}
		ts = append(ts, gguf.WriteTensor{Name: "cls.weight", Type: quant.Q8_0, Shape: []int64{384, 384}, Data: q},
			gguf.WriteTensor{Name: "cls.bias", Type: quant.F32, Shape: []int64{384}, Data: f32(384)},
			gguf.WriteTensor{Name: "cls.output.weight", Type: quant.F32, Shape: []int64{384}, Data: f32(384)},
			gguf.WriteTensor{Name: "cls.output.bias", Type: quant.F32, Shape: []int64{1}, Data: f32(1)})
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := gguf.Write(f, kv, ts, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// syntheticTensors returns the metadata and tensors of syntheticModel.
func syntheticTensors(b testing.TB, dim, layers, heads, ffn, vocab, ctx int) ([]gguf.KV, []gguf.WriteTensor) {
	b.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	f32 := func(n int, scale float32) []byte {
		out := make([]byte, 4*n)
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(float32(rng.NormFloat64())*scale))
		}
		return out
	}
	q8 := func(cols, rows int) []byte {
		v := make([]float32, cols*rows)
		for i := range v {
			v[i] = float32(rng.NormFloat64()) * 0.05
		}
		rb, _ := quant.Q8_0.RowBytes(cols)
		out := make([]byte, rb*rows)
		if err := quant.Quantize(quant.Q8_0, v, out); err != nil {
			b.Fatal(err)
		}
		return out
	}
	ones := func(n int) []byte {
		out := make([]byte, 4*n)
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(1))
		}
		return out
	}
	ts := []gguf.WriteTensor{
		{Name: "token_embd.weight", Type: quant.F32, Shape: []int64{int64(dim), int64(vocab)}, Data: f32(dim*vocab, 1)},
		{Name: "token_types.weight", Type: quant.F32, Shape: []int64{int64(dim), 2}, Data: f32(dim*2, 0.5)},
		{Name: "position_embd.weight", Type: quant.F32, Shape: []int64{int64(dim), int64(ctx)}, Data: f32(dim*ctx, 0.5)},
		{Name: "token_embd_norm.weight", Type: quant.F32, Shape: []int64{int64(dim)}, Data: ones(dim)},
		{Name: "token_embd_norm.bias", Type: quant.F32, Shape: []int64{int64(dim)}, Data: f32(dim, 0.1)},
	}
	for l := 0; l < layers; l++ {
		mat := func(name string, cols, rows int) {
			ts = append(ts, gguf.WriteTensor{Name: fmt.Sprintf("blk.%d.%s.weight", l, name), Type: quant.Q8_0, Shape: []int64{int64(cols), int64(rows)}, Data: q8(cols, rows)},
				gguf.WriteTensor{Name: fmt.Sprintf("blk.%d.%s.bias", l, name), Type: quant.F32, Shape: []int64{int64(rows)}, Data: f32(rows, 0.1)})
		}
		norm := func(name string) {
			ts = append(ts, gguf.WriteTensor{Name: fmt.Sprintf("blk.%d.%s.weight", l, name), Type: quant.F32, Shape: []int64{int64(dim)}, Data: ones(dim)},
				gguf.WriteTensor{Name: fmt.Sprintf("blk.%d.%s.bias", l, name), Type: quant.F32, Shape: []int64{int64(dim)}, Data: f32(dim, 0.1)})
		}
		mat("attn_q", dim, dim)
		mat("attn_k", dim, dim)
		mat("attn_v", dim, dim)
		mat("attn_output", dim, dim)
		norm("attn_output_norm")
		mat("ffn_up", dim, ffn)
		mat("ffn_down", ffn, dim)
		norm("layer_output_norm")
	}
	kv := []gguf.KV{
		{Key: "general.architecture", Value: gguf.NewString("bert")},
		{Key: "bert.context_length", Value: gguf.NewUint32(uint32(ctx))},
		{Key: "bert.embedding_length", Value: gguf.NewUint32(uint32(dim))},
		{Key: "bert.block_count", Value: gguf.NewUint32(uint32(layers))},
		{Key: "bert.feed_forward_length", Value: gguf.NewUint32(uint32(ffn))},
		{Key: "bert.attention.head_count", Value: gguf.NewUint32(uint32(heads))},
		{Key: "bert.attention.layer_norm_epsilon", Value: gguf.NewFloat32(1e-12)},
		{Key: "bert.pooling_type", Value: gguf.NewUint32(1)},
		{Key: "bert.attention.causal", Value: gguf.NewBool(false)},
	}
	return kv, ts
}

// BenchmarkEncodeBGESmall: the shape of bge-small-en-v1.5 / all-MiniLM-L12
// (384 dims, 12 layers, 12 heads, FFN 1536), random Q8_0 weights; 128-token
// texts, batches of 1, 8 and 32 in one pass each.
func BenchmarkEncodeBGESmall(b *testing.B) {
	m := syntheticModel(b, 384, 12, 12, 1536, 30522, 512)
	for _, batch := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("Q8_0/batch=%d/seq=128", batch), func(b *testing.B) {
			benchEncode(b, m, batch, 128)
		})
	}
}
