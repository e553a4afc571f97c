package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/edgeai-go/edgeai/runtime"
)

// POST /v1/rerank (also /rerank, /v1/reranking, /reranking, as
// llama-server answers): the request and response shapes of llama-server,
// Jina and Cohere, which their clients send and read:
//
//	{"model": "id", "query": "...", "documents": ["...", {"text": "..."}], "top_n": 3, "return_documents": false}
//	{"object": "list", "model": "id", "usage": {...},
//	 "results": [{"index": 1, "relevance_score": 2.5, "document": {"text": "..."}}, ...]}
//
// results are sorted from the most relevant down (equal scores keep the
// documents' order), top_n of them (default all); relevance_score is the
// model's own (runtime.EmbedModel.Rerank: a cross-encoder's raw logit as
// llama-server returns it, Qwen3-Reranker's probability of "yes").

// Reranker is a model that scores documents against a query: a
// cross-encoder (*runtime.EmbedModel of a model whose pooling is rank is
// one). An Embedder that implements it and reports IsReranker true is
// served on POST /v1/rerank.
type Reranker interface {
	Rerank(ctx context.Context, query string, documents []string) ([]float32, error)
	IsReranker() bool
}

// maxRerankDocuments bounds the documents of one request.
const maxRerankDocuments = 1 << 14

// rerankPath reports whether path is one of the rerank endpoint's.
func rerankPath(path string) bool {
	switch path {
	case "/v1/rerank", "/rerank", "/v1/reranking", "/reranking":
		return true
	}
	return false
}

// rerankRequest is a validated rerank body.
type rerankRequest struct {
	Model     string
	Query     string
	Documents []string
	TopN      int // 0 = all
	ReturnDoc bool
}

type (
	rerankDocument struct {
		Text string `json:"text"`
	}
	rerankResult struct {
		Index          int             `json:"index"`
		RelevanceScore float32         `json:"relevance_score"`
		Document       *rerankDocument `json:"document,omitempty"`
	}
	rerankResponse struct {
		Object  string         `json:"object"` // "list"
		Model   string         `json:"model"`
		Results []rerankResult `json:"results"`
		Usage   embeddingUsage `json:"usage"`
	}
)

// decodeRerank parses and validates a rerank request.
func decodeRerank(body []byte) (*rerankRequest, *apiError) {
	f, e := decodeObject(body)
	if e != nil {
		return nil, e
	}
	r := new(rerankRequest)
	if !f.take("model", &r.Model, "a string") {
		if f.err == nil {
			f.err = badParam("model", "you must provide a model parameter")
		}
		return nil, f.err
	}
	if r.Model == "" || len(r.Model) > maxModelIDLen || !utf8.ValidString(r.Model) {
		return nil, badParam("model", "model must be a non-empty string of at most %d bytes", maxModelIDLen)
	}
	if !f.take("query", &r.Query, "a string") {
		if f.err == nil {
			f.err = badParam("query", "you must provide a query parameter")
		}
		return nil, f.err
	}
	if r.Query == "" {
		return nil, badParam("query", "query must not be empty")
	}
	docs := f.raw("documents")
	if f.err != nil {
		return nil, f.err
	}
	if docs == nil {
		return nil, badParam("documents", "you must provide a documents parameter")
	}
	var raw []json.RawMessage
	if json.Unmarshal(docs, &raw) != nil {
		return nil, badParam("documents", "documents must be an array of strings or of objects with a text field")
	}
	if len(raw) == 0 || len(raw) > maxRerankDocuments {
		return nil, badParam("documents", "documents must hold 1 to %d documents, got %d", maxRerankDocuments, len(raw))
	}
	r.Documents = make([]string, len(raw))
	for i, d := range raw {
		var s string
		if json.Unmarshal(d, &s) != nil {
			var o struct {
				Text *string `json:"text"`
			}
			if json.Unmarshal(d, &o) != nil || o.Text == nil {
				return nil, badParam("documents", "documents[%d] must be a string or an object with a text field", i)
			}
			s = *o.Text
		}
		if s == "" {
			return nil, badParam("documents", "documents[%d] is an empty string", i)
		}
		r.Documents[i] = s
	}
	if n := f.integer("top_n", 1, maxRerankDocuments); n != nil {
		r.TopN = int(*n)
	}
	r.ReturnDoc = f.boolean("return_documents")
	f.raw("user")
	if e := f.rest(); e != nil {
		return nil, e
	}
	return r, nil
}

// rerankerOf returns the served model's reranker, if it is one.
func rerankerOf(sv *served) Reranker {
	if sv == nil || sv.Embedder == nil {
		return nil
	}
	if rr, ok := sv.Embedder.(Reranker); ok && rr.IsReranker() {
		return rr
	}
	return nil
}

// handleRerank serves POST /v1/rerank through the model's Reranker.
func (s *Server) handleRerank(w http.ResponseWriter, r *http.Request, req *rerankRequest, info *requestLog) *apiError {
	info.model = req.Model
	sv := s.models[req.Model]
	rr := rerankerOf(sv)
	if rr == nil {
		var loaded []string
		for _, id := range s.order {
			if rerankerOf(s.models[id]) != nil {
				loaded = append(loaded, id)
			}
		}
		which := "no reranker is loaded"
		if len(loaded) > 0 {
			which = "rerankers loaded: " + strings.Join(loaded, ", ")
		}
		if sv == nil {
			return &apiError{Status: http.StatusNotFound, Type: typeInvalidRequest, Param: "model", Code: "model_not_found",
				Message: fmt.Sprintf("the model %q does not exist on this server; %s", quoteKey(req.Model), which)}
		}
		return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: "model", Code: "model_not_supported",
			Message: fmt.Sprintf("the model %q is not a reranker; %s", quoteKey(req.Model), which)}
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.RequestTimeout + 10*time.Second))
	sl, e := s.acquire(ctx, r, sv.embedSched, sv.ID, nil, info)
	if e != nil {
		return e
	}
	scores, err := rr.Rerank(ctx, req.Query, req.Documents)
	sv.embedSched.release(sl)
	if err != nil {
		if ctx.Err() != nil {
			return s.contextError(ctx, r, info, "reranking")
		}
		param := "documents"
		if te, ok := errors.AsType[*runtime.TextError](err); ok && te.Index >= 0 && te.Index < len(req.Documents) {
			param = fmt.Sprintf("documents[%d]", te.Index)
		}
		if errors.Is(err, runtime.ErrContextFull) {
			return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: param, Code: "context_length_exceeded",
				Message: "the query with a document is longer than the model's context: " + err.Error()}
		}
		if param != "documents" {
			return badParam(param, "%s cannot be scored: %v", param, err)
		}
		return &apiError{Status: http.StatusInternalServerError, Type: typeServer, Message: "reranking failed: " + err.Error()}
	}
	if len(scores) != len(req.Documents) {
		return &apiError{Status: http.StatusInternalServerError, Type: typeServer,
			Message: fmt.Sprintf("the reranker returned %d scores for %d documents", len(scores), len(req.Documents))}
	}
	out := rerankResponse{Object: "list", Model: req.Model, Results: make([]rerankResult, len(scores))}
	for i, sc := range scores {
		out.Results[i] = rerankResult{Index: i, RelevanceScore: sc}
	}
	sort.SliceStable(out.Results, func(a, b int) bool { return out.Results[a].RelevanceScore > out.Results[b].RelevanceScore })
	if req.TopN > 0 && req.TopN < len(out.Results) {
		out.Results = out.Results[:req.TopN]
	}
	if req.ReturnDoc {
		for i := range out.Results {
			out.Results[i].Document = &rerankDocument{Text: req.Documents[out.Results[i].Index]}
		}
	}
	if tc, ok := sv.Embedder.(interface {
		RerankTokens(query, document string) ([]int, error)
	}); ok {
		for _, d := range req.Documents {
			if ids, err := tc.RerankTokens(req.Query, d); err == nil {
				out.Usage.PromptTokens += len(ids)
			}
		}
		out.Usage.TotalTokens = out.Usage.PromptTokens
	}
	info.promptTokens = out.Usage.PromptTokens
	writeJSON(w, out)
	return nil
}

// serveRerank reads and answers a request on a rerank path.
func (s *Server) serveRerank(w http.ResponseWriter, r *http.Request, info *requestLog) *apiError {
	if r.Method != http.MethodPost {
		return methodNotAllowed("POST")
	}
	body, e := s.readBody(w, r)
	if e != nil {
		return e
	}
	req, e := decodeRerank(body)
	if e != nil {
		return e
	}
	return s.handleRerank(w, r, req, info)
}
