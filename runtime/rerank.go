package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/edgeai-go/edgeai/models/nn"
	"github.com/edgeai-go/edgeai/models/tokenizer"
)

// Reranking: a cross-encoder reads a query and a document together and
// gives one relevance score, sharper than comparing two embeddings. A GGUF
// whose pooling_type is 4 ("rank") is one: BERT-family rerankers
// (bge-reranker, the ms-marco MiniLMs: a classification head on the [CLS]
// state) and Qwen3-Reranker (a decoder whose last state, through the LM
// head's "yes" and "no" rows and a softmax, gives the probability of
// "yes"). LoadEmbedder (or LoadReranker) loads them; Rerank and
// RankDocuments score.

// ErrReranker is returned by Embed and EmbedTokens of a reranker: it scores
// pairs (Rerank), it gives no embeddings.
var ErrReranker = errors.New("runtime: the model is a reranker (pooling rank): use Rerank, it gives no embeddings")

// ErrNotReranker is returned by Rerank of a model that is not a reranker.
var ErrNotReranker = errors.New("runtime: the model is not a reranker (its pooling is not rank)")

// LoadReranker loads a reranker (a GGUF whose pooling_type is rank) as
// LoadEmbedder does, and refuses any other model with ErrNotReranker.
func LoadReranker(ctx context.Context, path string, opts ...EmbedOption) (*EmbedModel, error) {
	m, err := LoadEmbedder(ctx, path, opts...)
	if err != nil {
		return nil, err
	}
	if !m.IsReranker() {
		m.Close()
		return nil, fmt.Errorf("runtime: %s: %w", path, ErrNotReranker)
	}
	return m, nil
}

// IsReranker reports whether the model scores query-document pairs.
func (m *EmbedModel) IsReranker() bool { return m.pooling == nn.PoolRank }

// RerankTokens returns the token ids Rerank runs for one (query, document)
// pair. With a rerank template in the file (tokenizer.chat_template.rerank,
// Qwen3-Reranker's), "{query}" and "{document}" in it are replaced and the
// text tokenized with its special tokens. Otherwise the pair is built as
// llama.cpp builds it: the query's tokens with the vocabulary's own
// specials around them, then the document's without its leading BOS: for
// WordPiece [CLS] query [SEP] document [SEP], for a vocabulary adding BOS
// and EOS <s> query </s> document </s>. A pair longer than the context is
// cut from the end of the document (its last special token kept) with
// truncation on, else an error wrapping ErrContextFull.
func (m *EmbedModel) RerankTokens(query, document string) ([]int, error) {
	opts := tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true}
	var ids []int
	if m.rerankTemplate != "" {
		text := strings.NewReplacer("{query}", query, "{document}", document).Replace(m.rerankTemplate)
		var err error
		if ids, err = m.tok.Encode(text, opts); err != nil {
			return nil, fmt.Errorf("runtime: %w", err)
		}
	} else {
		q, err := m.tok.Encode(query, opts)
		if err != nil {
			return nil, fmt.Errorf("runtime: %w", err)
		}
		d, err := m.tok.Encode(document, opts)
		if err != nil {
			return nil, fmt.Errorf("runtime: %w", err)
		}
		if m.tok.AddBOS() && len(d) > 0 && d[0] == m.tok.BOS() {
			d = d[1:]
		}
		ids = append(q, d...)
	}
	if len(ids) > m.maxLen {
		if !m.opts.Truncate {
			return nil, fmt.Errorf("runtime: %w: the query and document are %d tokens, the model takes %d; shorten them or turn truncation on", ErrContextFull, len(ids), m.maxLen)
		}
		last := ids[len(ids)-1]
		ids = append(ids[:m.maxLen-1], last)
	}
	return ids, nil
}

// Rerank returns the relevance of each document to query, in the
// documents' order: for BERT-family rerankers the raw output of the
// classification head (llama.cpp's score, no sigmoid: higher is more
// relevant, sigmoid(score) is a probability for the usual one-output
// heads), for Qwen3-Reranker the probability of "yes". The pairs are
// batched as Embed batches texts; ctx is checked between passes. A
// document that cannot be scored is named by a *TextError.
func (m *EmbedModel) Rerank(ctx context.Context, query string, documents []string) ([]float32, error) {
	if m.pooling != nn.PoolRank {
		return nil, ErrNotReranker
	}
	seqs := make([][]int, len(documents))
	for i, d := range documents {
		ids, err := m.RerankTokens(query, d)
		if err != nil {
			return nil, &TextError{Index: i, Err: err}
		}
		seqs[i] = ids
	}
	vecs, err := m.embedSeqs(ctx, seqs)
	if err != nil {
		return nil, err
	}
	scores := make([]float32, len(vecs))
	for i, v := range vecs {
		if len(v) == 0 {
			return nil, errors.New("runtime: the reranker gave no score")
		}
		scores[i] = v[0] // the first output: the score, or P("yes") for Qwen3-Reranker
	}
	return scores, nil
}

// RankedDocument is one document's place in RankDocuments' result.
type RankedDocument struct {
	Index int     // the document's index in the call
	Score float32 // its relevance (see Rerank)
}

// RankDocuments scores the documents as Rerank does and returns them from
// the most relevant down, the top n of them (n <= 0: all); equal scores
// keep the documents' order.
func (m *EmbedModel) RankDocuments(ctx context.Context, query string, documents []string, n int) ([]RankedDocument, error) {
	scores, err := m.Rerank(ctx, query, documents)
	if err != nil {
		return nil, err
	}
	out := make([]RankedDocument, len(scores))
	for i, s := range scores {
		out[i] = RankedDocument{Index: i, Score: s}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Score > out[b].Score })
	if n > 0 && n < len(out) {
		out = slices.Clip(out[:n])
	}
	return out, nil
}

// Prefixes returns the texts a model of this architecture expects before a
// search query and before a document to be found, as its authors trained
// it: nomic-embed-text ("search_query: ", "search_document: "),
// EmbeddingGemma ("task: search result | query: ", "title: none | text:
// "), Qwen3-Embedding (an instruction before queries only); "" for the
// others (BGE v1.5 and E5 models have conventions of their own, which the
// architecture does not tell: see docs/embeddings.md).
func (m *EmbedModel) Prefixes() (query, document string) {
	switch m.info.Architecture {
	case "nomic-bert":
		return "search_query: ", "search_document: "
	case "gemma-embedding":
		return "task: search result | query: ", "title: none | text: "
	case "qwen3":
		if m.pooling != nn.PoolRank {
			return Qwen3EmbeddingInstruction("Given a web search query, retrieve relevant passages that answer the query"), ""
		}
	}
	return "", ""
}

// Qwen3EmbeddingInstruction returns the prefix Qwen3-Embedding expects
// before a query: "Instruct: " + task + "\nQuery:" (documents take none).
func Qwen3EmbeddingInstruction(task string) string { return "Instruct: " + task + "\nQuery:" }

// RerankIDs is Rerank for pairs already tokenized (each as RerankTokens
// returns it, at most ContextLength tokens, ids within the vocabulary):
// benchmarks use it to score pairs of an exact length.
func (m *EmbedModel) RerankIDs(ctx context.Context, pairs [][]int) ([]float32, error) {
	if m.pooling != nn.PoolRank {
		return nil, ErrNotReranker
	}
	for i, s := range pairs {
		if len(s) == 0 || len(s) > m.maxLen {
			return nil, &TextError{Index: i, Err: fmt.Errorf("runtime: %w: %d tokens, the model takes 1 to %d", ErrContextFull, len(s), m.maxLen)}
		}
		for _, id := range s {
			if id < 0 || id >= m.tok.VocabSize() {
				return nil, &TextError{Index: i, Err: fmt.Errorf("runtime: token id %d out of range [0,%d)", id, m.tok.VocabSize())}
			}
		}
	}
	vecs, err := m.embedSeqs(ctx, pairs)
	if err != nil {
		return nil, err
	}
	scores := make([]float32, len(vecs))
	for i, v := range vecs {
		scores[i] = v[0]
	}
	return scores, nil
}
