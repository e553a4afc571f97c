// Command similar is the smallest useful local search: it embeds every line
// of a text file with an encoder model (a BERT GGUF or an ONNX export) and
// prints the lines most similar to a query, all on the device.
//
//	go run ./examples/similar -m ../shared/testdata/bert/tiny-bert-Q8_0.gguf \
//	    -f examples/similar/docs.txt "the patient has a headache"
//
// The CLI has the same as `edgeai similar`.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"sort"
	"strings"

	"github.com/edgeai-go/edgeai/runtime"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("similar", flag.ContinueOnError)
	model := fs.String("m", "", "embedding model: BERT GGUF or ONNX encoder")
	file := fs.String("f", "", "documents, one per line")
	k := fs.Int("k", 3, "how many lines to print")
	if err := fs.Parse(args); err != nil {
		return err
	}
	query := strings.Join(fs.Args(), " ")
	if *model == "" || *file == "" || query == "" {
		return errors.New("usage: similar -m MODEL -f DOCS.txt [-k 3] QUERY")
	}
	docs, err := readLines(*file)
	if err != nil {
		return err
	}
	m, err := runtime.LoadEmbedder(ctx, *model)
	if err != nil {
		return err
	}
	defer m.Close()

	// One call embeds all documents: they go through the encoder together,
	// split across the cores. The vectors have unit length, so a dot
	// product is the cosine similarity.
	vecs, err := m.Embed(ctx, append([]string{query}, docs...))
	if err != nil {
		return err
	}
	q := vecs[0]
	type hit struct {
		doc   string
		score float32
	}
	hits := make([]hit, len(docs))
	for i, v := range vecs[1:] {
		var dot float32
		for j := range v {
			dot += q[j] * v[j]
		}
		hits[i] = hit{docs[i], dot}
	}
	sort.SliceStable(hits, func(a, b int) bool { return hits[a].score > hits[b].score })
	info := m.Info()
	fmt.Fprintf(w, "%s (%s, %d dims, %s pooling), %d documents\n", *model, info.Format, info.Dim, info.Pooling, len(docs))
	for i, h := range hits[:min(*k, len(hits))] {
		fmt.Fprintf(w, "%d. %.4f  %s\n", i+1, h.score, h.doc)
	}
	return nil
}

// readLines returns the non-blank lines of path.
func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			lines = append(lines, s)
		}
	}
	return lines, sc.Err()
}
