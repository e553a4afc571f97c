package server

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/edgeai-go/edgeai/runtime"
)

// Embedder is a model that turns texts into vectors: an encoder such as a
// BERT GGUF or an ONNX sentence-embedding model (*runtime.EmbedModel is
// one). Serve one by setting Model.Embedder; POST /v1/embeddings then
// answers for its ID. An error wrapping runtime.ErrContextFull (a text
// longer than the context) is answered with a 400 naming the input, as is
// a *runtime.TextError.
type Embedder interface {
	// Embed returns one vector per text, in order. It must honour ctx.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// TokenCounter is implemented by Embedders that can report how many tokens
// a text is, for the usage field of /v1/embeddings (0 otherwise).
type TokenCounter interface {
	CountTokens(text string) (int, error)
}

// Wire shapes of the OpenAI API (field order as OpenAI sends them).
type (
	modelObject struct {
		ID      string `json:"id"`
		Object  string `json:"object"` // "model"
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	modelList struct {
		Object string        `json:"object"` // "list"
		Data   []modelObject `json:"data"`
	}
	healthBody struct {
		Status string   `json:"status"` // "ok" or "shutting_down"
		Models []string `json:"models,omitempty"`
	}
	embeddingObject struct {
		Object    string `json:"object"` // "embedding"
		Index     int    `json:"index"`
		Embedding any    `json:"embedding"` // []float32 or a base64 string
	}
	embeddingUsage struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	}
	embeddingList struct {
		Object string            `json:"object"` // "list"
		Data   []embeddingObject `json:"data"`
		Model  string            `json:"model"`
		Usage  embeddingUsage    `json:"usage"`
	}
)

// writeJSON answers v with status 200.
func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, &apiError{Status: http.StatusInternalServerError, Type: typeServer, Message: "encoding the response failed"})
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}

// handleHealth reports liveness; the model list only to authorized callers.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	b := healthBody{Status: "ok"}
	if s.draining.Load() {
		b.Status = "shutting_down"
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(b)
		return
	}
	if s.cfg.APIKey == "" || s.authorized(r) {
		b.Models = append([]string{}, s.order...)
	}
	writeJSON(w, b)
}

func (s *Server) modelObject(id string) modelObject {
	return modelObject{ID: id, Object: "model", Created: s.created, OwnedBy: "edgeai"}
}

func (s *Server) handleModels(w http.ResponseWriter) {
	l := modelList{Object: "list", Data: []modelObject{}}
	for _, id := range s.order {
		l.Data = append(l.Data, s.modelObject(id))
	}
	writeJSON(w, l)
}

func (s *Server) handleModel(w http.ResponseWriter, r *http.Request, info *requestLog, id string) *apiError {
	if _, e := s.lookup(id); e != nil {
		return e
	}
	s.audit(r, info, http.StatusOK, "")
	writeJSON(w, s.modelObject(id))
	return nil
}

// handleEmbeddings serves POST /v1/embeddings through the model's Embedder.
func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request, req *embeddingRequest, info *requestLog) *apiError {
	info.model = req.Model
	if s.cfg.Audit != nil {
		b, _ := json.Marshal(req.Input)
		info.audit.prompt, info.audit.hasText = string(b), true
	}
	sv := s.models[req.Model]
	if sv == nil || sv.Embedder == nil {
		loaded := s.ids(true)
		which := "no encoder (embedding) model is loaded"
		if len(loaded) > 0 {
			which = "embedding models loaded: " + strings.Join(loaded, ", ")
		}
		if sv == nil {
			return &apiError{Status: http.StatusNotFound, Type: typeInvalidRequest, Param: "model", Code: "model_not_found",
				Message: fmt.Sprintf("the model %q does not exist on this server; %s", quoteKey(req.Model), which)}
		}
		return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: "model", Code: "model_not_supported",
			Message: fmt.Sprintf("the model %q is a text-generation model and cannot produce embeddings; %s", quoteKey(req.Model), which)}
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.RequestTimeout + 10*time.Second))
	sl, e := s.acquire(ctx, r, sv.embedSched, sv.ID, nil, info)
	if e != nil {
		return e
	}
	vecs, err := sv.Embedder.Embed(ctx, req.Input)
	sv.embedSched.release(sl)
	if err != nil {
		if ctx.Err() != nil {
			return s.contextError(ctx, r, info, "embedding")
		}
		param := "input"
		if te, ok := errors.AsType[*runtime.TextError](err); ok && te.Index >= 0 && te.Index < len(req.Input) {
			param = fmt.Sprintf("input[%d]", te.Index)
		}
		if errors.Is(err, runtime.ErrContextFull) {
			return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: param, Code: "context_length_exceeded",
				Message: "an input is longer than the model's context: " + clientMessage(sv, err)}
		}
		if param != "input" {
			return badParam(param, "%s cannot be embedded: %s", param, clientMessage(sv, err))
		}
		return &apiError{Status: http.StatusInternalServerError, Type: typeServer, Message: "embedding failed: " + clientMessage(sv, err)}
	}
	if len(vecs) != len(req.Input) {
		return &apiError{Status: http.StatusInternalServerError, Type: typeServer,
			Message: fmt.Sprintf("the embedder returned %d vectors for %d inputs", len(vecs), len(req.Input))}
	}
	out := embeddingList{Object: "list", Model: req.Model, Data: make([]embeddingObject, len(vecs))}
	for i, v := range vecs {
		if req.Dimensions != 0 && req.Dimensions != len(v) {
			return unsupported("dimensions", fmt.Sprintf("the model's vectors have %d dimensions; shortening is not implemented", len(v)))
		}
		o := embeddingObject{Object: "embedding", Index: i, Embedding: v}
		if req.Base64 {
			b := make([]byte, 4*len(v))
			for j, x := range v {
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(x))
			}
			o.Embedding = base64.StdEncoding.EncodeToString(b)
		}
		out.Data[i] = o
	}
	if tc, ok := sv.Embedder.(TokenCounter); ok {
		for _, t := range req.Input {
			if n, err := tc.CountTokens(t); err == nil {
				out.Usage.PromptTokens += n
			}
		}
		out.Usage.TotalTokens = out.Usage.PromptTokens
	}
	info.promptTokens = out.Usage.PromptTokens
	if s.audit(r, info, http.StatusOK, "") != nil {
		return errAudit()
	}
	writeJSON(w, out)
	return nil
}
