package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/edgeai-go/edgeai/internal/safeopen"

	"github.com/edgeai-go/edgeai/runtime"
)

func init() {
	register(&command{name: "embed", summary: "text embeddings as JSON lines (GGUF encoder or embedder, or ONNX encoder)", run: runEmbed})
	register(&command{name: "similar", summary: "rank the lines of a file by similarity to a query", run: runSimilar})
}

// embedChunk is how many texts the commands embed per call, so that a long
// file streams out instead of being held whole.
const embedChunk = 256

// embedFlags are the flags of the commands that load an embedding model.
type embedFlags struct {
	model       string
	threads     int
	pooling     string
	noNormalize bool
	truncate    bool
	batchTokens int
	backend     string
	ortLib      string
	tokenizer   string
	maxLength   int
}

func (e *embedFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&e.model, "m", "", "embedding model `file`: a GGUF (bert, nomic-bert, jina-bert-v2/v3, neo-bert, gemma-embedding, Qwen3-Embedding), or an ONNX encoder (tokenizer.json or vocab.txt beside it)")
	fs.IntVar(&e.threads, "threads", 0, "worker threads (0 = all cores; ONNX: the backend's default)")
	fs.IntVar(&e.threads, "t", 0, "short for --threads")
	fs.StringVar(&e.pooling, "pooling", "", "pooling: mean, cls or last (default: the model's)")
	fs.BoolVar(&e.noNormalize, "no-normalize", false, "keep the pooled vectors' lengths (default: unit length)")
	fs.BoolVar(&e.truncate, "truncate", false, "cut texts longer than the model's context instead of failing")
	fs.IntVar(&e.batchTokens, "batch-tokens", 0, "most tokens per encoder pass (0 = 2048 or the context)")
	fs.StringVar(&e.backend, "backend", "", "ONNX backend: ort or go (default: the first available)")
	fs.StringVar(&e.ortLib, "ort-lib", "", "ONNX Runtime shared library (default: $EDGEAI_ORT_LIB, then the usual locations)")
	fs.StringVar(&e.tokenizer, "tokenizer", "", "ONNX: tokenizer.json, vocab.txt or their directory (default: beside the model)")
	fs.IntVar(&e.maxLength, "max-length", 0, "ONNX: most tokens per text (default: the tokenizer's, else 512)")
}

func (e *embedFlags) load(ctx context.Context) (*runtime.EmbedModel, error) {
	if e.model == "" {
		return nil, fmt.Errorf("%w: -m MODEL is required", errUsage)
	}
	if e.pooling == "none" {
		return nil, fmt.Errorf("%w: --pooling none gives one vector per token; choose mean, cls or last", errUsage)
	}
	return runtime.LoadEmbedder(ctx, e.model, e.options())
}

// options returns the flags as runtime options.
func (e *embedFlags) options() runtime.EmbedOption {
	return runtime.WithEmbedOptions(runtime.EmbedOptions{
		Threads: e.threads, BatchTokens: e.batchTokens, Pooling: e.pooling, NoNormalize: e.noNormalize,
		Truncate: e.truncate, Tokenizer: e.tokenizer, MaxLength: e.maxLength,
		ONNX: runtime.ONNXOptions{Backend: e.backend, ORTLibrary: e.ortLib},
	})
}

// readLines reads the lines of path ("-" = standard input), without their
// line endings; a final newline does not start another line.
func readLines(path string) ([]string, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := safeopen.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var lines []string
	for sc.Scan() {
		lines = append(lines, strings.TrimSuffix(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return lines, nil
}

func runEmbed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("embed", stderr)
	var ef embedFlags
	ef.add(fs)
	file := fs.String("f", "", "read the texts from `file`, one per line (- = standard input)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: edgeai embed -m MODEL [flags] "text" ...
       edgeai embed -m MODEL [flags] -f FILE

Writes one JSON line per text, in input order: {"index": i, "embedding": [...]}.`)
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	texts := pos
	if *file != "" {
		if len(pos) > 0 {
			return fmt.Errorf("%w: give texts as arguments or -f FILE, not both", errUsage)
		}
		if texts, err = readLines(*file); err != nil {
			return err
		}
	}
	if len(texts) == 0 {
		return fmt.Errorf("%w: no texts: edgeai embed -m MODEL \"text\" ... or -f FILE", errUsage)
	}
	m, err := ef.load(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	type line struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	for start := 0; start < len(texts); start += embedChunk {
		end := min(start+embedChunk, len(texts))
		vecs, err := m.Embed(ctx, texts[start:end])
		if err != nil {
			if te, ok := errors.AsType[*runtime.TextError](err); ok {
				return &runtime.TextError{Index: start + te.Index, Err: te.Err}
			}
			return err
		}
		for i, v := range vecs {
			b, err := json.Marshal(line{start + i, v})
			if err != nil {
				return err
			}
			w.Write(b)
			w.WriteByte('\n')
		}
	}
	return w.Flush()
}

func runSimilar(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("similar", stderr)
	var ef embedFlags
	ef.add(fs)
	query := fs.String("q", "", "the query `text`")
	file := fs.String("f", "", "the documents: a `file` with one text per line (- = standard input; blank lines are skipped)")
	k := fs.Int("k", 5, "how many of the most similar lines to print (0 = all)")
	asJSON := fs.Bool("json", false, "print JSON lines {\"rank\", \"score\", \"line\", \"text\"}")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: edgeai similar -m MODEL -q QUERY -f FILE [-k 5] [flags]

Ranks the lines of FILE by cosine similarity to QUERY and prints the top k:
rank, similarity, line number (from 1) and text.`)
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected arguments %q (the query goes in -q)", errUsage, pos)
	}
	if *file == "" || !flagSet(fs, "q") {
		return fmt.Errorf("%w: edgeai similar -m MODEL -q QUERY -f FILE", errUsage)
	}
	if *k < 0 {
		return fmt.Errorf("%w: -k %d is negative", errUsage, *k)
	}
	lines, err := readLines(*file)
	if err != nil {
		return err
	}
	type doc struct {
		line  int
		text  string
		score float64
	}
	var docs []doc
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			docs = append(docs, doc{line: i + 1, text: l})
		}
	}
	if len(docs) == 0 {
		return fmt.Errorf("%s has no non-blank lines", *file)
	}
	m, err := ef.load(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	qv, err := m.Embed(ctx, []string{*query})
	if err != nil {
		return fmt.Errorf("the query: %w", err)
	}
	for start := 0; start < len(docs); start += embedChunk {
		end := min(start+embedChunk, len(docs))
		texts := make([]string, end-start)
		for i := range texts {
			texts[i] = docs[start+i].text
		}
		vecs, err := m.Embed(ctx, texts)
		if err != nil {
			if te, ok := errors.AsType[*runtime.TextError](err); ok {
				return fmt.Errorf("line %d: %w", docs[start+te.Index].line, te.Err)
			}
			return err
		}
		for i, v := range vecs {
			docs[start+i].score = cosineSim(qv[0], v)
		}
	}
	sort.SliceStable(docs, func(a, b int) bool { return docs[a].score > docs[b].score })
	if *k > 0 && *k < len(docs) {
		docs = docs[:*k]
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	for i, d := range docs {
		if *asJSON {
			b, _ := json.Marshal(struct {
				Rank  int     `json:"rank"`
				Score float64 `json:"score"`
				Line  int     `json:"line"`
				Text  string  `json:"text"`
			}{i + 1, math.Round(d.score*1e6) / 1e6, d.line, d.text})
			w.Write(b)
			w.WriteByte('\n')
			continue
		}
		fmt.Fprintf(w, "%d\t%.4f\tline %d\t%s\n", i+1, d.score, d.line, d.text)
	}
	return w.Flush()
}

// cosineSim returns the cosine similarity of a and b (0 if either is zero).
func cosineSim(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}
