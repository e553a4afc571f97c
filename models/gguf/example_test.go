package gguf_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/quant"
)

// Write a small model file and read it back.
func Example() {
	kv := []gguf.KV{
		{Key: "general.architecture", Value: gguf.NewString("llama")},
		{Key: "llama.context_length", Value: gguf.NewUint32(512)},
		{Key: "tokenizer.ggml.tokens", Value: gguf.NewStrings([]string{"<unk>", "<s>", "</s>"})},
	}
	weights := make([]byte, 4*2*3) // F32, 2 x 3
	tensors := []gguf.WriteTensor{{Name: "output.weight", Type: quant.F32, Shape: []int64{2, 3}, Data: weights}}
	var buf bytes.Buffer
	if err := gguf.Write(&buf, kv, tensors, 0); err != nil {
		log.Fatal(err)
	}

	f, err := gguf.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		log.Fatal(err)
	}
	ctx, _ := f.Uint(f.ArchKey("context_length"))
	toks, _ := f.Lookup("tokenizer.ggml.tokens")
	t, _ := f.Tensor("output.weight")
	fmt.Println(f.Arch(), ctx)
	fmt.Println(toks)
	fmt.Println(t.Name, t.Type, t.Shape, t.Size, "bytes at", f.DataOffset+t.Offset)
	// Output:
	// llama 512
	// [string × 3] "<unk>", "<s>", "</s>"
	// output.weight F32 [2 3] 24 bytes at 256
}
