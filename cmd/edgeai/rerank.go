package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/edgeai-go/edgeai/runtime"
)

func init() {
	register(&command{name: "rerank", summary: "order documents by relevance to a query with a reranker (cross-encoder GGUF)", run: runRerank})
}

func runRerank(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rerank", stderr)
	var ef embedFlags
	ef.add(fs)
	query := fs.String("q", "", "the query `text`")
	file := fs.String("f", "", "the documents: a `file` with one document per line (- = standard input; blank lines are skipped)")
	k := fs.Int("k", 0, "print only the k most relevant documents (0 = all)")
	asJSON := fs.Bool("json", false, "print JSON lines {\"rank\", \"index\", \"line\", \"score\", \"text\"}")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: edgeai rerank -m RERANKER -q QUERY -f DOCS [-k N] [--json] [flags]

Scores every line of DOCS against QUERY with a reranker (a GGUF whose pooling
is rank: bge-reranker, ms-marco MiniLM, Qwen3-Reranker, ...) and prints them
from the most relevant down: rank, score, line number (from 1) and text.
Scores are the model's own: a cross-encoder's raw logit (higher is more
relevant), Qwen3-Reranker's probability of "yes".`)
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected arguments %q (the query goes in -q)", errUsage, pos)
	}
	if ef.model == "" || *file == "" || !flagSet(fs, "q") {
		return fmt.Errorf("%w: edgeai rerank -m RERANKER -q QUERY -f DOCS", errUsage)
	}
	if *k < 0 {
		return fmt.Errorf("%w: -k %d is negative", errUsage, *k)
	}
	lines, err := readLines(*file)
	if err != nil {
		return err
	}
	var docs []string
	var lineNo []int
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			docs = append(docs, l)
			lineNo = append(lineNo, i+1)
		}
	}
	if len(docs) == 0 {
		return fmt.Errorf("%s has no non-blank lines", *file)
	}
	m, err := runtime.LoadReranker(ctx, ef.model, ef.options())
	if err != nil {
		return err
	}
	defer m.Close()
	ranked, err := m.RankDocuments(ctx, *query, docs, *k)
	if err != nil {
		if te, ok := errors.AsType[*runtime.TextError](err); ok {
			return fmt.Errorf("line %d: %w", lineNo[te.Index], te.Err)
		}
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	for i, r := range ranked {
		if *asJSON {
			b, err := json.Marshal(struct {
				Rank  int     `json:"rank"`
				Index int     `json:"index"`
				Line  int     `json:"line"`
				Score float64 `json:"score"`
				Text  string  `json:"text"`
			}{i + 1, r.Index, lineNo[r.Index], math.Round(float64(r.Score)*1e6) / 1e6, docs[r.Index]})
			if err != nil {
				return err
			}
			w.Write(b)
			w.WriteByte('\n')
			continue
		}
		fmt.Fprintf(w, "%d\t%.4f\tline %d\t%s\n", i+1, r.Score, lineNo[r.Index], docs[r.Index])
	}
	return w.Flush()
}
