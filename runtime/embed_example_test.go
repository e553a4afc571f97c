package runtime_test

import (
	"context"
	"fmt"
	"log"

	"github.com/edgeai-go/edgeai/runtime"
)

// ExampleLoadEmbedder embeds two texts with a BERT GGUF and compares them.
// The vectors have unit length, so their dot product is the cosine
// similarity. (Not run by go test, for want of the model file; the same
// code runs in TestEmbedderExample on a tiny BERT of ../shared.)
func ExampleLoadEmbedder() {
	ctx := context.Background()
	m, err := runtime.LoadEmbedder(ctx, "bge-small-en-v1.5-q8_0.gguf")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	vecs, err := m.Embed(ctx, []string{"hello world", "Hello, world!"})
	if err != nil {
		log.Fatal(err)
	}
	var dot float32
	for i := range vecs[0] {
		dot += vecs[0][i] * vecs[1][i]
	}
	info := m.Info()
	fmt.Printf("%d vectors of %d values, %s pooling\n", len(vecs), info.Dim, info.Pooling)
	fmt.Printf("similarity %.2f\n", dot)
}
