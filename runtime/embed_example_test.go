package runtime_test

import (
	"context"
	"fmt"
	"log"

	"github.com/edgeai-go/edgeai/runtime"
)

// ExampleLoadEmbedder embeds two texts with a BERT GGUF and compares them.
// The vectors have unit length, so their dot product is the cosine
// similarity.
func ExampleLoadEmbedder() {
	ctx := context.Background()
	m, err := runtime.LoadEmbedder(ctx, "../../shared/testdata/bert/tiny-bert-Q8_0.gguf")
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
	// Output:
	// 2 vectors of 128 values, mean pooling
	// similarity 0.80
}
