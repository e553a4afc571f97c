package tokenizer_test

import (
	"bytes"
	"fmt"
	"log"
	"os"

	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/tokenizer"
)

// tinyVocab returns a GGUF file holding a small SentencePiece vocabulary
// (a real model file carries the same keys next to its tensors).
func tinyVocab() *gguf.File {
	tokens := []string{"<unk>", "<s>", "</s>", "<0x21>", "▁", "H", "e", "l", "o", "w", "r", "d", "▁h", "el", "ll", "lo", "▁w", "or", "ld", "▁hel", "▁hello", "▁wor", "▁world"}
	types := make([]int32, len(tokens))
	scores := make([]float32, len(tokens))
	for i := range tokens {
		types[i] = 1 // normal
		scores[i] = -float32(i)
	}
	types[0], types[1], types[2], types[3] = 2, 3, 3, 6 // unknown, control, control, byte
	var buf bytes.Buffer
	err := gguf.Write(&buf, []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: gguf.NewString("llama")},
		{Key: "tokenizer.ggml.tokens", Value: gguf.NewStrings(tokens)},
		{Key: "tokenizer.ggml.scores", Value: gguf.NewFloat32s(scores)},
		{Key: "tokenizer.ggml.token_type", Value: gguf.NewInt32s(types)},
		{Key: "tokenizer.ggml.bos_token_id", Value: gguf.NewUint32(1)},
		{Key: "tokenizer.ggml.eos_token_id", Value: gguf.NewUint32(2)},
	}, nil, 0)
	if err != nil {
		log.Fatal(err)
	}
	f, err := gguf.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		log.Fatal(err)
	}
	return f
}

func Example() {
	tok, err := tokenizer.FromGGUF(tinyVocab())
	if err != nil {
		log.Fatal(err)
	}
	ids, err := tok.Encode("hello world!", tokenizer.EncodeOptions{AddSpecial: true})
	if err != nil {
		log.Fatal(err)
	}
	for _, id := range ids {
		fmt.Printf("%d %q\n", id, tok.Piece(id))
	}
	fmt.Printf("%q\n", tok.Decode(ids))
	fmt.Println(tok.IsEOG(tok.EOS()))
	// Output:
	// 1 "<s>"
	// 20 "▁hello"
	// 22 "▁world"
	// 3 "<0x21>"
	// "hello world!"
	// true
}

func ExampleStreamDecoder() {
	tok, err := tokenizer.FromGGUF(tinyVocab())
	if err != nil {
		log.Fatal(err)
	}
	// Generated tokens continue a prompt, so the first keeps its space.
	d := tok.NewStreamDecoder()
	for _, id := range []int{22, 3, 2} {
		if tok.IsEOG(id) {
			break
		}
		fmt.Printf("%q\n", d.Push(id))
	}
	fmt.Printf("%q\n", d.Flush())
	// Output:
	// " world"
	// "!"
	// ""
}

// ExampleFromSentencePiece loads a SentencePiece Unigram model file, as
// found beside an XLM-R ONNX export (sentencepiece.bpe.model, with fairseq
// ids: <s> 0, <pad> 1, </s> 2, <unk> 3).
func ExampleFromSentencePiece() {
	data, err := os.ReadFile("testdata/spm/test_model.model")
	if err != nil {
		log.Fatal(err)
	}
	tok, err := tokenizer.FromSentencePiece(data, true)
	if err != nil {
		log.Fatal(err)
	}
	ids, _ := tok.Encode("  Hello   world  ", tokenizer.EncodeOptions{AddSpecial: true})
	for _, id := range ids {
		fmt.Printf("%d %q\n", id, tok.Piece(id))
	}
	fmt.Printf("%q\n", tok.Decode(ids))
	// Output:
	// 0 "<s>"
	// 152 "▁He"
	// 89 "ll"
	// 22 "o"
	// 888 "▁world"
	// 2 "</s>"
	// "Hello world"
}
