package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/edgeai-go/edgeai/models/tokenizer"
	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/index"
)

func init() {
	register(&command{name: "index", summary: "index a folder of text and Markdown files for search (embeddings, one file)", run: runIndex})
	register(&command{name: "search", summary: "search an index made by edgeai index, optionally reranked", run: runSearch})
}

func runIndex(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("index", stderr)
	var ef embedFlags
	ef.add(fs)
	out := fs.String("o", "", "the index `file` to write (an existing one is updated: only new and changed files are embedded)")
	chunk := fs.Int("chunk", 1200, "chunk length in `bytes` (about 300 tokens of English)")
	overlap := fs.Int("overlap", 200, "`bytes` each chunk shares with the one before")
	docPrefix := fs.String("doc-prefix", "auto", "text put before every chunk when embedded (auto: the model's convention, see docs/embeddings.md)")
	queryPrefix := fs.String("query-prefix", "auto", "text put before every query by edgeai search (auto: the model's convention)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: edgeai index -m EMBEDDER DIR -o IDX [flags]

Cuts every text and Markdown file under DIR (.txt .md .markdown .text .rst;
hidden files and folders left out) into overlapping chunks, embeds them and
writes the vectors and where each chunk lies to IDX. Run it again after the
files change: only new and changed files are embedded. An interrupted run
(Ctrl-C) keeps what it finished and resumes from there.`)
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || ef.model == "" || *out == "" {
		return fmt.Errorf("%w: edgeai index -m EMBEDDER DIR -o IDX", errUsage)
	}
	if *chunk < 16 || *chunk > 1<<20 || *overlap < 0 || *overlap >= *chunk {
		return fmt.Errorf("%w: --chunk %d, --overlap %d: a chunk of 16 bytes to 1 MiB, an overlap smaller than the chunk", errUsage, *chunk, *overlap)
	}
	dir := pos[0]
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("%s is not a folder", dir)
	}
	ef.truncate = true // a chunk longer than the context is cut (and counted below), not refused
	m, err := ef.load(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	if m.IsReranker() {
		return fmt.Errorf("%s is a reranker: index with an embedding model (and pass the reranker to edgeai search --rerank)", ef.model)
	}
	info := m.Info()
	h := index.Header{ChunkBytes: *chunk, OverlapBytes: *overlap, DocPrefix: *docPrefix, QueryPrefix: *queryPrefix}
	if *overlap == 0 {
		h.OverlapBytes = -1 // none (0 is Build's default)
	}
	qp, dp := m.Prefixes()
	if h.DocPrefix == "auto" {
		h.DocPrefix = dp
	}
	if h.QueryPrefix == "auto" {
		h.QueryPrefix = qp
	}
	h.Model, err = modelIdentity(ef.model, info)
	if err != nil {
		return err
	}
	var prev *index.Index
	if _, err := os.Stat(*out); err == nil {
		if prev, err = index.Open(*out); err != nil {
			fmt.Fprintf(stderr, "edgeai index: %v: indexing everything again\n", err)
		} else if !prev.Header.Model.Same(h.Model) {
			fmt.Fprintf(stderr, "edgeai index: %s was made with %s; indexing everything again with %s\n", *out, prev.Header.Model.Path, ef.model)
		}
	}
	tok, maxLen := m.Tokenizer(), info.ContextLength
	truncated := 0
	embed := func(ctx context.Context, texts []string) ([][]float32, error) {
		for _, t := range texts {
			if ids, err := tok.Encode(t, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true}); err == nil && len(ids) > maxLen {
				truncated++
			}
		}
		return m.Embed(ctx, texts)
	}
	bar := &indexBar{w: stderr, quiet: *quiet}
	start := time.Now()
	ix, st, err := index.Build(ctx, dir, embed, index.BuildOptions{Header: h, Previous: prev, Batch: 32,
		Progress: bar.update, Checkpoint: func(ix *index.Index) error { return ix.WriteFile(*out) }})
	bar.done()
	if err != nil {
		if ix != nil && errors.Is(err, ctx.Err()) {
			if werr := ix.WriteFile(*out); werr != nil {
				return werr
			}
			fmt.Fprintf(stderr, "edgeai index: interrupted: %d files saved in %s; run the same command again to resume\n", len(ix.Files), *out)
		}
		return err
	}
	if err := ix.WriteFile(*out); err != nil {
		return err
	}
	for _, s := range st.Skipped {
		fmt.Fprintf(stderr, "edgeai index: skipped %s\n", s)
	}
	if truncated > 0 {
		fmt.Fprintf(stderr, "edgeai index: %d chunks were longer than the model's %d tokens and were cut; a smaller --chunk keeps them whole\n", truncated, maxLen)
	}
	fmt.Fprintf(stdout, "%s: %d files, %d chunks (%d files embedded, %d unchanged, %d removed; %d chunks in %.1fs)\n",
		*out, st.Files, st.Chunks, st.Embedded, st.Reused, st.Removed, st.NewChunks, time.Since(start).Seconds())
	return nil
}

// modelIdentity describes the embedding model of an index.
func modelIdentity(path string, info runtime.EmbedInfo) (index.Model, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return index.Model{}, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return index.Model{}, err
	}
	return index.Model{Path: abs, Name: info.Name, Arch: info.Architecture, Size: st.Size(), Dim: info.Dim,
		Pooling: info.Pooling, Normalize: info.Normalize}, nil
}

// indexBar draws one line on w, at most five times a second.
type indexBar struct {
	w     io.Writer
	quiet bool
	last  time.Time
	start time.Time
	drawn bool
}

func (b *indexBar) update(p index.Progress) {
	if b.quiet || p.Chunks == 0 {
		return
	}
	if b.start.IsZero() {
		b.start = time.Now()
	}
	if time.Since(b.last) < 200*time.Millisecond && p.ChunksDone < p.Chunks {
		return
	}
	b.last = time.Now()
	const width = 30
	fill := width * p.ChunksDone / p.Chunks
	rate := float64(p.ChunksDone) / max(time.Since(b.start).Seconds(), 1e-3)
	fmt.Fprintf(b.w, "\r[%s%s] %d/%d chunks, %d/%d files, %.0f chunks/s ", strings.Repeat("=", fill), strings.Repeat(" ", width-fill),
		p.ChunksDone, p.Chunks, p.FilesDone, p.Files, rate)
	b.drawn = true
}

func (b *indexBar) done() {
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}

func runSearch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("search", stderr)
	k := fs.Int("k", 5, "how many chunks to print")
	model := fs.String("m", "", "the embedding model `file` (default: the one the index was made with)")
	reranker := fs.String("rerank", "", "rescore the best candidates with this reranker `file` (a cross-encoder GGUF)")
	candidates := fs.Int("candidates", 0, "with --rerank: how many chunks of the vector search the reranker reads (0 = max(4k, 20))")
	threads := fs.Int("t", 0, "worker threads (0 = all cores)")
	asJSON := fs.Bool("json", false, "print JSON lines {\"rank\", \"file\", \"first_line\", \"last_line\", \"score\", \"text\"}")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: edgeai search IDX "question" [-k 5] [--rerank RERANKER] [flags]

Embeds the question with the index's model and prints the k chunks most
similar to it: rank, file, lines, similarity and the text. With --rerank, a
cross-encoder rescores the best candidates and its order is printed.`)
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || strings.TrimSpace(pos[1]) == "" {
		return fmt.Errorf("%w: edgeai search IDX \"question\"", errUsage)
	}
	if *k < 1 || *candidates < 0 {
		return fmt.Errorf("%w: -k %d, --candidates %d", errUsage, *k, *candidates)
	}
	ix, err := index.Open(pos[0])
	if err != nil {
		return err
	}
	if len(ix.Chunks) == 0 {
		return fmt.Errorf("%s holds no chunks (no text files were found when it was made)", pos[0])
	}
	query := pos[1]
	mp := *model
	if mp == "" {
		mp = ix.Header.Model.Path
	}
	em, err := runtime.LoadEmbedder(ctx, mp, runtime.WithEmbedOptions(runtime.EmbedOptions{Threads: *threads, Truncate: true,
		Pooling: ix.Header.Model.Pooling, NoNormalize: !ix.Header.Model.Normalize}))
	if err != nil {
		return fmt.Errorf("the index's model: %w", err)
	}
	defer em.Close()
	id, err := modelIdentity(mp, em.Info())
	if err != nil {
		return err
	}
	if !id.Same(ix.Header.Model) {
		return fmt.Errorf("%s was made with %s (%s, %d values); %s is another model", pos[0], ix.Header.Model.Path, ix.Header.Model.Arch, ix.Header.Model.Dim, mp)
	}
	qv, err := em.Embed(ctx, []string{ix.Header.QueryPrefix + query})
	if err != nil {
		return fmt.Errorf("the question: %w", err)
	}
	n := *k
	if *reranker != "" {
		n = *candidates
		if n == 0 {
			n = max(4**k, 20)
		}
	}
	hits, err := ix.Search(qv[0], n, *threads)
	if err != nil {
		return err
	}
	type result struct {
		chunk     int
		score     float32
		text      string
		unchanged bool
	}
	results := make([]result, len(hits))
	for i, h := range hits {
		text, unchanged, err := ix.Text(h.Chunk)
		if err != nil {
			text = "(" + err.Error() + ")"
		}
		results[i] = result{chunk: h.Chunk, score: h.Score, text: text, unchanged: unchanged}
	}
	if *reranker != "" {
		rr, err := runtime.LoadReranker(ctx, *reranker, runtime.WithEmbedOptions(runtime.EmbedOptions{Threads: *threads, Truncate: true}))
		if err != nil {
			return err
		}
		defer rr.Close()
		docs := make([]string, len(results))
		for i, r := range results {
			docs[i] = r.text
		}
		ranked, err := rr.RankDocuments(ctx, query, docs, *k)
		if err != nil {
			return fmt.Errorf("reranking: %w", err)
		}
		re := make([]result, len(ranked))
		for i, r := range ranked {
			re[i] = results[r.Index]
			re[i].score = r.Score
		}
		results = re
	}
	if len(results) > *k {
		results = results[:*k]
	}
	for i, r := range results {
		c := ix.Chunks[r.chunk]
		file := ix.Files[c.File].Path
		if *asJSON {
			b, err := json.Marshal(struct {
				Rank      int     `json:"rank"`
				File      string  `json:"file"`
				FirstLine int     `json:"first_line"`
				LastLine  int     `json:"last_line"`
				Score     float64 `json:"score"`
				Changed   bool    `json:"changed,omitempty"`
				Text      string  `json:"text"`
			}{i + 1, file, c.FirstLine, c.LastLine, math.Round(float64(r.score)*1e6) / 1e6, !r.unchanged, r.text})
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, string(b))
			continue
		}
		note := ""
		if !r.unchanged {
			note = "  (the file changed since it was indexed)"
		}
		fmt.Fprintf(stdout, "%d. %s:%d-%d  %.4f%s\n   %s\n", i+1, file, c.FirstLine, c.LastLine, r.score, note, snippet(r.text, 300))
	}
	return nil
}

// snippet returns text on one line, white space collapsed, cut to about n
// bytes at a character boundary.
func snippet(text string, n int) string {
	s := strings.Join(strings.Fields(text), " ")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + " …"
}
