package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Auditor stores one record per API request durably (an append-only log,
// for instance). The server calls Audit before the last bytes of the
// response: after the generation, before the JSON body or a stream's last
// chunk. When Audit fails, a request that has not answered yet fails with a
// 500 and a stream ends with an error event instead of [DONE]: an answer is
// never given without its record. Audit is called from many goroutines at
// once; it should take milliseconds (an fsync), not longer, since the
// response waits for it (generation does not: the sequence is released
// first).
type Auditor interface {
	Audit(r *AuditRecord) error
}

// AuditRecord describes one request. Text is absent unless
// Config.AuditText is set; the hashes are always there when the request
// had a prompt or produced an answer.
type AuditRecord struct {
	Time     time.Time     // arrival
	Client   string        // the client's address (host:port)
	KeyID    string        // fingerprint of the API key used (see KeyID), "" without a key
	Method   string        // "POST"
	Path     string        // "/v1/chat/completions" (bounded)
	Status   int           // HTTP status; for a stream that failed after it began, the error's status; 499 when the client left early
	Duration time.Duration // arrival to the record (the response's last bytes follow it)

	Model       string         // the model ID of the request, if any
	ModelSHA256 string         // the served model file's SHA-256 (Model.SHA256), if known
	Params      map[string]any // the sampling and generation settings in effect
	Stream      bool

	PromptTokens     int
	CompletionTokens int
	CachedTokens     int
	Finish           string // "stop", "length" or ""
	Error            string // the error answered, if any

	// PromptSHA256 is the hex SHA-256 of the prompt as the client sent
	// it: for chat, the messages as a JSON array of {"role","content"}
	// objects (roles normalised, content parts joined); for completions,
	// the prompt text (token-id prompts: their detokenized text); for
	// embeddings, the inputs as a JSON array of strings.
	PromptSHA256 string
	// ResponseSHA256 is the hex SHA-256 of the answer's text.
	ResponseSHA256 string
	Prompt         *string // with Config.AuditText only
	Response       *string // idem
}

// KeyID returns the fingerprint of an API key recorded in audit records:
// the first 12 hex digits of SHA-256("edgeai key id\n" + key). It names the
// key without revealing it.
func KeyID(key string) string {
	h := sha256.Sum256([]byte("edgeai key id\n" + key))
	return "key-" + hex.EncodeToString(h[:6])
}

// auditInfo is what a request collects for its audit record.
type auditInfo struct {
	start    time.Time
	params   map[string]any
	prompt   string
	hasText  bool // prompt is set
	response strings.Builder
	hasResp  bool
	done     bool // the record was written
}

// shouldAudit reports whether a request gets an audit record: every API
// request (/v1/..., and the Ollama API's /api/...) and every refused one;
// not /health, /metrics or the page's files when they are served.
func shouldAudit(r *http.Request, status int) bool {
	p := r.URL.Path
	return strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/api/") || status == http.StatusUnauthorized || status == http.StatusForbidden
}

// chatPromptText is the audited form of a chat request's messages.
func chatPromptText(msgs []message) string {
	type call struct {
		ID        string `json:"id,omitempty"`
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	}
	type m struct {
		Role       string `json:"role"`
		Content    string `json:"content"`
		Reasoning  string `json:"reasoning_content,omitempty"`
		ToolCalls  []call `json:"tool_calls,omitempty"`
		ToolCallID string `json:"tool_call_id,omitempty"`
	}
	out := make([]m, len(msgs))
	for i, x := range msgs {
		out[i] = m{Role: x.Role, Content: x.Content, Reasoning: x.Reasoning, ToolCallID: x.ToolCallID}
		for _, c := range x.ToolCalls {
			out[i].ToolCalls = append(out[i].ToolCalls, call(c))
		}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// audit writes the request's record (once) with the given status and
// error; it returns the Auditor's error. Without an Auditor it does
// nothing.
func (s *Server) audit(r *http.Request, info *requestLog, status int, errMsg string) error {
	if s.cfg.Audit == nil || info.audit.done || !shouldAudit(r, status) {
		return nil
	}
	info.audit.done = true
	a := &info.audit
	rec := &AuditRecord{
		Time:             a.start,
		Client:           r.RemoteAddr,
		Method:           r.Method,
		Path:             logPath(r.URL.Path),
		Status:           status,
		Duration:         time.Since(a.start),
		Model:            info.model,
		Params:           a.params,
		Stream:           info.stream,
		PromptTokens:     info.promptTokens,
		CompletionTokens: info.completionTokens,
		CachedTokens:     info.cachedTokens,
		Finish:           info.finish,
		Error:            errMsg,
	}
	if s.cfg.APIKey != "" && s.authorized(r) {
		rec.KeyID = s.keyID
	}
	if sv := s.models[info.model]; sv != nil {
		rec.ModelSHA256 = sv.SHA256
	}
	if a.hasText {
		rec.PromptSHA256 = hashHex(a.prompt)
		if s.cfg.AuditText {
			p := a.prompt
			rec.Prompt = &p
		}
	}
	if a.hasResp {
		resp := a.response.String()
		rec.ResponseSHA256 = hashHex(resp)
		if s.cfg.AuditText {
			rec.Response = &resp
		}
	}
	t0 := time.Now()
	err := s.cfg.Audit.Audit(rec)
	s.metrics.auditDone(time.Since(t0), err)
	if err != nil {
		s.log.Error("audit record not written", "path", rec.Path, "status", status, "error", err.Error())
	}
	return err
}

func hashHex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// errAudit is the answer when the audit record cannot be written.
func errAudit() *apiError {
	return &apiError{Status: http.StatusInternalServerError, Type: typeServer, Code: "audit_failed",
		Message: "the audit record of this request could not be written; the answer is withheld (see the server's log)"}
}
