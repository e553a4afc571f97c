// Package server serves edgeai models over HTTP with the OpenAI API, so the
// official OpenAI clients (and anything built on them) work unchanged against
// a local model:
//
//	POST /v1/chat/completions   chat through the model's template; stream: true for server-sent events
//	POST /v1/completions        text completion of a prompt (text or token ids)
//	POST /v1/embeddings         vectors from an encoder model (an Embedder)
//	POST /v1/rerank             documents scored against a query by a reranker (rerank.go)
//	GET  /v1/models             the loaded models; GET /v1/models/{id} one of them
//	GET  /health                liveness (no key needed)
//	GET  /metrics               Prometheus metrics
//	GET  /                      a web chat (unless Config.DisableUI)
//
// A Server is an http.Handler and is safe by default: an API key compared in
// constant time, a Host-header allowlist against DNS rebinding, no CORS unless
// origins are named, bounded request bodies, tokens, queues and time, and no
// endpoint that touches files. Requests a model cannot honour exactly (n > 1,
// tools, JSON mode, a prompt longer than the context, an unknown parameter)
// fail with an OpenAI-style 400 naming the parameter; nothing is silently
// ignored or truncated.
//
// Each decoder model runs Config.Parallel sequences at once, each with its own
// KV cache (a runtime.Sequence) over the shared weights, decoded together
// (continuous batching: one forward pass per step for all of them, a
// runtime.Batch); further requests wait in a first-come-first-served queue
// of bounded length (429 with Retry-After when it is full) and join the
// batch between steps.
package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/sample"
)

// Defaults of Config's zero fields.
const (
	DefaultMaxBodyBytes   = 4 << 20
	DefaultParallel       = 1
	DefaultMaxQueue       = 64
	DefaultRequestTimeout = 10 * time.Minute
	// DefaultCompletionMaxTokens is max_tokens of /v1/completions when the
	// request gives none (OpenAI's default).
	DefaultCompletionMaxTokens = 16
)

// Config configures a Server. The zero value is usable: loopback Host names
// only, no API key, no CORS, the default limits.
type Config struct {
	// APIKey, when not empty, is required as "Authorization: Bearer KEY" on
	// every endpoint except GET /health.
	APIKey string
	// AllowedHosts are the host names (without port) accepted in the Host
	// header besides IP literals, "localhost" and "*.localhost". "*" accepts
	// any host (turns the DNS-rebinding protection off).
	AllowedHosts []string
	// CORSOrigins are the browser origins ("https://app.example") allowed to
	// call the API; "*" allows any. Empty: no CORS headers, and requests that
	// carry an Origin header are refused.
	CORSOrigins []string
	// MaxBodyBytes bounds a request body (413 beyond); 0 = DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxTokens bounds max_tokens of a request (400 beyond) and is the default
	// for chat completions that give none; 0 = the context size.
	MaxTokens int
	// Parallel is the number of sequences each decoder model runs at once,
	// each with its own KV cache; 0 = DefaultParallel.
	Parallel int
	// MaxQueue bounds the requests waiting for a sequence, per model; beyond
	// it requests get 429 with Retry-After. 0 = DefaultMaxQueue; -1 = no
	// waiting at all.
	MaxQueue int
	// KVCacheBytes bounds the memory of all KV caches (Parallel sessions per
	// decoder model); New fails if the models need more. 0 = no bound.
	KVCacheBytes int64
	// RequestTimeout bounds a request from its arrival (queueing included) to
	// its last byte; 0 = DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Sampling holds the defaults for sampling parameters a request leaves
	// out; nil = sample.DefaultParams().
	Sampling *sample.Params
	// FixedSeed uses Sampling.Seed for requests without a seed; otherwise
	// each such request draws a random seed.
	FixedSeed bool
	// Logger receives the access log (one line per request: method, path,
	// status, model, tokens, duration; never prompt or completion text) and
	// server events. nil = no logging.
	Logger *slog.Logger
	// Audit, when set, receives one record per API request before its
	// response completes (see Auditor).
	Audit Auditor
	// AuditText puts the prompt and answer text in the audit records
	// (otherwise only their SHA-256).
	AuditText bool
	// DisableUI turns off the web chat served at / (and its files under
	// /ui/); those paths then answer 404 like any unknown URL.
	DisableUI bool
}

// Model is a model to serve under an ID (the "model" field of requests).
// Set Decoder for text generation, Embedder for embeddings, or both.
type Model struct {
	ID       string
	Decoder  *runtime.Model
	Embedder Embedder
	// SHA256 is the hex SHA-256 of the model file, recorded in audit
	// records when set.
	SHA256 string
}

// Server is an http.Handler serving models with the OpenAI API. Its methods
// are safe for concurrent use.
type Server struct {
	cfg      Config
	sampling sample.Params
	keyHash  [32]byte // sha256 of APIKey
	keyID    string   // KeyID(APIKey), for audit records
	hosts    map[string]bool
	anyHost  bool
	origins  map[string]bool
	anyOrig  bool
	log      *slog.Logger
	created  int64 // unix seconds, the "created" of /v1/models

	models map[string]*served
	order  []string // model ids in the order given

	base       context.Context // cancelled to abort all in-flight work
	cancelBase context.CancelFunc
	draining   atomic.Bool
	mu         sync.Mutex
	inflight   int
	idle       chan struct{} // closed when inflight drops to 0 while draining
	closeOnce  sync.Once
	closed     atomic.Bool // the sessions are freed: the models are no longer served

	metrics *metrics

	retryAfter time.Duration

	// hookToken, when set (by tests), runs after every generated token with
	// the request's context, the job and the tokens generated so far.
	hookToken func(ctx context.Context, j *genJob, n int)
}

// served is one model with its scheduler.
type served struct {
	Model
	sched      *scheduler // decoder sequences
	engine     *engine    // decodes the sequences in use together
	embedSched *scheduler // embedder calls (slots without sessions)
	ctxSize    int
}

// New returns a Server for models. It fails on an invalid Config, duplicate
// or empty model IDs, or KV caches that exceed Config.KVCacheBytes.
func New(cfg Config, models ...Model) (*Server, error) {
	if len(models) == 0 {
		return nil, errors.New("server: no models")
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Parallel == 0 {
		cfg.Parallel = DefaultParallel
	}
	switch {
	case cfg.MaxQueue == 0:
		cfg.MaxQueue = DefaultMaxQueue
	case cfg.MaxQueue < 0:
		cfg.MaxQueue = 0
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.MaxBodyBytes < 0 || cfg.Parallel < 0 || cfg.Parallel > 1024 || cfg.MaxTokens < 0 || cfg.KVCacheBytes < 0 || cfg.RequestTimeout < 0 {
		return nil, fmt.Errorf("server: invalid limits: body %d, parallel %d, max tokens %d, KV bytes %d, timeout %v",
			cfg.MaxBodyBytes, cfg.Parallel, cfg.MaxTokens, cfg.KVCacheBytes, cfg.RequestTimeout)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, created: time.Now().Unix(), models: map[string]*served{},
		hosts: map[string]bool{}, origins: map[string]bool{}, retryAfter: time.Second}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.sampling = sample.DefaultParams()
	if cfg.Sampling != nil {
		s.sampling = *cfg.Sampling
	}
	if err := s.sampling.Validate(); err != nil {
		return nil, fmt.Errorf("server: default sampling: %w", err)
	}
	s.keyHash = sha256.Sum256([]byte(cfg.APIKey))
	if cfg.APIKey != "" {
		s.keyID = KeyID(cfg.APIKey)
	}
	for _, h := range cfg.AllowedHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "*" {
			s.anyHost = true
		}
		s.hosts[strings.Trim(h, "[]")] = true
	}
	for _, o := range cfg.CORSOrigins {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if o == "*" {
			s.anyOrig = true
		}
		s.origins[strings.ToLower(o)] = true
	}
	var kvTotal int64
	for _, m := range models {
		if m.ID == "" || len(m.ID) > maxModelIDLen {
			return nil, fmt.Errorf("server: model ID %q must be 1 to %d bytes", m.ID, maxModelIDLen)
		}
		if _, dup := s.models[m.ID]; dup {
			return nil, fmt.Errorf("server: duplicate model ID %q", m.ID)
		}
		if m.Decoder == nil && m.Embedder == nil {
			return nil, fmt.Errorf("server: model %q has neither a decoder nor an embedder", m.ID)
		}
		sv := &served{Model: m}
		if m.Decoder != nil {
			sv.sched = newScheduler(m.Decoder, cfg.Parallel, cfg.MaxQueue)
			sv.engine = newEngine(m.Decoder)
			sv.ctxSize = m.Decoder.Info().ContextSize
			kvTotal += int64(cfg.Parallel) * m.Decoder.KVCacheBytes()
		}
		if m.Embedder != nil {
			sv.embedSched = newScheduler(nil, cfg.Parallel, cfg.MaxQueue)
		}
		s.models[m.ID] = sv
		s.order = append(s.order, m.ID)
	}
	if cfg.KVCacheBytes > 0 && kvTotal > cfg.KVCacheBytes {
		return nil, fmt.Errorf("server: the KV caches of %d parallel sequences per model need %s, above the bound of %s; lower the parallel sequences or the context size",
			cfg.Parallel, formatBytes(kvTotal), formatBytes(cfg.KVCacheBytes))
	}
	s.base, s.cancelBase = context.WithCancel(context.Background())
	s.metrics = newMetrics(s)
	return s, nil
}

// KVCacheBytes returns the memory the KV caches of all served decoder
// models take when every sequence is in use.
func (s *Server) KVCacheBytes() int64 {
	var n int64
	for _, sv := range s.models {
		if sv.Decoder != nil {
			n += int64(s.cfg.Parallel) * sv.Decoder.KVCacheBytes()
		}
	}
	return n
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// HTTPServer returns an http.Server that serves s on addr with timeouts on
// reading headers and bodies, on idle connections and on writing (generation
// endpoints extend their own write deadline to Config.RequestTimeout).
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// Shutdown stops s gracefully: new requests get 503 at once, requests
// already queued or generating go on until ctx ends, then they are
// cancelled (a stream ends with an error event). It returns when no request
// is left and the sessions are freed, with ctx's error if it had to cancel.
// Call http.Server.Shutdown alongside it to stop accepting connections.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining.Store(true)
	idle := s.idle
	if idle == nil {
		idle = make(chan struct{})
		s.idle = idle
		if s.inflight == 0 {
			close(idle)
		}
	}
	s.mu.Unlock()
	var err error
	select {
	case <-idle:
	case <-ctx.Done():
		err = ctx.Err()
		s.cancelBase()
		<-idle
	}
	s.closeOnce.Do(func() {
		s.cancelBase()
		for _, id := range s.order {
			sv := s.models[id]
			for _, sc := range []*scheduler{sv.sched, sv.embedSched} {
				if sc != nil {
					<-sc.close()
				}
			}
			if sv.engine != nil {
				sv.engine.close()
			}
		}
		s.closed.Store(true)
	})
	return err
}

// Stop shuts down s served by hs on ln, the way edgeai serve does on
// SIGTERM: ln closes (no new connections); requests in flight go on until
// ctx ends and are then cancelled; meanwhile requests arriving on
// connections that were already open (idle keep-alive ones included) get a
// 503 "shutting_down" with Connection: close. Then hs closes the remaining
// connections (waiting up to 5 s for the last bytes to go). It returns
// ctx's error if requests had to be cancelled.
func (s *Server) Stop(ctx context.Context, hs *http.Server, ln net.Listener) error {
	ln.Close()
	err := s.Shutdown(ctx)
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if hs.Shutdown(cctx) != nil {
		hs.Close()
	}
	return err
}

// Close cancels every request at once and frees the sessions.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Shutdown(ctx)
	return nil
}

// enter counts a request in; it fails when s is draining.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining.Load() {
		return false
	}
	s.inflight++
	return true
}

func (s *Server) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
	if s.inflight == 0 && s.idle != nil {
		select {
		case <-s.idle:
		default:
			close(s.idle)
		}
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	lw := &logWriter{ResponseWriter: w}
	info := &requestLog{}
	info.audit.start = start
	setSecurityHeaders(w.Header())
	defer func() {
		status := info.status(lw)
		s.metrics.request(r.URL.Path, status)
		s.audit(r, info, status, info.err) // if not written before the answer (a client gone mid-stream)
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", logPath(r.URL.Path)),
			slog.Int("status", status),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", r.RemoteAddr),
		}
		if info.id != "" {
			attrs = append(attrs, slog.String("id", info.id))
		}
		if info.model != "" {
			attrs = append(attrs, slog.String("model", info.model), slog.Bool("stream", info.stream),
				slog.Int("prompt_tokens", info.promptTokens), slog.Int("completion_tokens", info.completionTokens))
		}
		if info.finish != "" {
			attrs = append(attrs, slog.String("finish", info.finish))
		}
		if info.err != "" {
			attrs = append(attrs, slog.String("error", info.err))
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		s.log.LogAttrs(context.Background(), level, "request", attrs...)
	}()
	fail := func(e *apiError) {
		info.err = e.Message
		s.audit(r, info, e.Status, e.Message)
		writeError(lw, e)
	}
	if e := s.guard(lw, r); e != nil {
		fail(e)
		return
	}
	if r.Method == http.MethodOptions {
		lw.WriteHeader(http.StatusNoContent) // a CORS preflight that guard accepted
		return
	}
	if r.URL.Path == "/health" {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeError(lw, methodNotAllowed("GET"))
			return
		}
		s.handleHealth(lw, r)
		return
	}
	if !s.enter() {
		// Also for requests on connections kept alive from before the
		// shutdown: they get this answer, and the connection closes.
		lw.Header().Set("Connection", "close")
		fail(&apiError{Status: http.StatusServiceUnavailable, Type: typeUnavailable, Code: "shutting_down", Message: "the server is shutting down", RetryAfter: 5 * time.Second})
		return
	}
	defer s.leave()
	e := s.route(lw, r, info)
	if e != nil {
		if info.err == "" {
			info.err = e.Message
		}
		if !lw.wrote {
			s.audit(r, info, e.Status, info.err)
			writeError(lw, e)
		}
	}
}

// logPath bounds what the access log records of a client-chosen path.
func logPath(p string) string {
	if len(p) > 64 {
		p = p[:64] + "..."
	}
	return strings.ToValidUTF8(p, "\uFFFD")
}

// requestLog collects what the access log reports of a request.
type requestLog struct {
	id                             string
	model                          string
	stream                         bool
	promptTokens, completionTokens int
	finish                         string
	cachedTokens                   int
	err                            string
	clientGone                     bool
	errStatus                      int // the status of an error sent after a stream began
	audit                          auditInfo
}

// status is the request's status for the logs, the metrics and the audit
// record.
func (info *requestLog) status(lw *logWriter) int {
	status := lw.status
	if status == 0 {
		status = http.StatusOK
	}
	if info.errStatus != 0 {
		status = info.errStatus
	}
	if info.clientGone {
		status = 499 // the client closed the connection before the end of the answer
	}
	return status
}

// logWriter records the status of a response. Unwrap lets
// http.ResponseController reach the connection's Flush and deadlines.
type logWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *logWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status = code
		w.wrote = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *logWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *logWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// guard applies the Host allowlist, the CORS policy and the API key.
func (s *Server) guard(w http.ResponseWriter, r *http.Request) *apiError {
	if !s.hostAllowed(r.Host) {
		return &apiError{Status: http.StatusForbidden, Type: typePermission, Code: "host_not_allowed",
			Message: "the Host header names a host this server does not answer to (DNS-rebinding protection); start the server with --allowed-host NAME to allow it"}
	}
	if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(r, origin) {
		if !s.originAllowed(origin) {
			return &apiError{Status: http.StatusForbidden, Type: typePermission, Code: "origin_not_allowed",
				Message: "cross-origin requests are not allowed from this origin; start the server with --cors-origin ORIGIN to allow it"}
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, OpenAI-Organization, OpenAI-Project, X-Stainless-Lang, X-Stainless-Package-Version, X-Stainless-OS, X-Stainless-Arch, X-Stainless-Runtime, X-Stainless-Runtime-Version, X-Stainless-Retry-Count, X-Stainless-Timeout")
			h.Set("Access-Control-Max-Age", "600")
			return nil // preflights carry no credentials
		}
	} else if r.Method == http.MethodOptions {
		return methodNotAllowed("GET and POST")
	}
	if s.cfg.APIKey != "" && !s.public(r) && !s.authorized(r) {
		return &apiError{Status: http.StatusUnauthorized, Type: typeAuthentication, Code: "invalid_api_key",
			Message: "missing or incorrect API key; send it as Authorization: Bearer KEY"}
	}
	return nil
}

// public reports whether r may be answered without the API key: GET and
// HEAD of /health and of the web chat's page and files (static, no data).
func (s *Server) public(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	return r.URL.Path == "/health" || (!s.cfg.DisableUI && isUIPath(r.URL.Path))
}

// sameOrigin reports whether an Origin header names this server as the
// request reached it (scheme and Host): the web chat's own calls. The Host
// has passed the allowlist, so a rebound domain never gets here.
func sameOrigin(r *http.Request, origin string) bool {
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	return strings.EqualFold(origin, scheme+r.Host)
}

// authorized compares the bearer token with the key in constant time (over
// their SHA-256 digests, so the key's length does not leak either).
func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(h[len(prefix):])))
	return subtle.ConstantTimeCompare(got[:], s.keyHash[:]) == 1
}

// hostAllowed implements the DNS-rebinding protection: a browser tricked
// into calling this server through an attacker's domain sends that domain
// as Host, which is refused. IP literals cannot be rebound and are allowed.
func (s *Server) hostAllowed(host string) bool {
	if s.anyHost {
		return true
	}
	if host == "" {
		return false
	}
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.ToLower(strings.Trim(h, "[]"))
	h = strings.TrimSuffix(h, ".")
	if h == "" {
		return false
	}
	if net.ParseIP(h) != nil || h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	return s.hosts[h]
}

func (s *Server) originAllowed(origin string) bool {
	return s.anyOrig || s.origins[strings.ToLower(strings.TrimRight(origin, "/"))]
}

// route dispatches to the endpoints.
func (s *Server) route(w http.ResponseWriter, r *http.Request, info *requestLog) *apiError {
	path := r.URL.Path
	switch {
	case path == "/metrics":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return methodNotAllowed("GET")
		}
		s.metrics.handler.ServeHTTP(w, r)
		return nil
	case !s.cfg.DisableUI && isUIPath(path):
		return s.handleUI(w, r)
	case path == "/v1/models":
		if r.Method != http.MethodGet {
			return methodNotAllowed("GET")
		}
		s.audit(r, info, http.StatusOK, "")
		s.handleModels(w)
		return nil
	case strings.HasPrefix(path, "/v1/models/"):
		if r.Method != http.MethodGet {
			return methodNotAllowed("GET")
		}
		return s.handleModel(w, r, info, strings.TrimPrefix(path, "/v1/models/"))
	case rerankPath(path): // rerank.go
		return s.serveRerank(w, r, info)
	case path == "/v1/chat/completions" || path == "/v1/completions" || path == "/v1/embeddings":
		if r.Method != http.MethodPost {
			return methodNotAllowed("POST")
		}
		body, e := s.readBody(w, r)
		if e != nil {
			return e
		}
		switch path {
		case "/v1/chat/completions":
			req, e := decodeChat(body)
			if e != nil {
				return e
			}
			return s.handleChat(w, r, req, info)
		case "/v1/completions":
			req, e := decodeCompletion(body)
			if e != nil {
				return e
			}
			return s.handleCompletion(w, r, req, info)
		default:
			req, e := decodeEmbedding(body)
			if e != nil {
				return e
			}
			return s.handleEmbeddings(w, r, req, info)
		}
	}
	if e, ok := s.routeOllama(w, r, info); ok {
		return e
	}
	return &apiError{Status: http.StatusNotFound, Type: typeInvalidRequest, Code: "unknown_url",
		Message: fmt.Sprintf("Invalid URL (%s %s)", r.Method, logPath(path))}
}

// readBody reads a request body of at most MaxBodyBytes.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return nil, tooLarge(s.cfg.MaxBodyBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge(s.cfg.MaxBodyBytes)
		}
		return nil, badParam("", "reading the request body: %v", err)
	}
	return body, nil
}

func tooLarge(limit int64) *apiError {
	return &apiError{Status: http.StatusRequestEntityTooLarge, Type: typeInvalidRequest, Code: "request_too_large",
		Message: fmt.Sprintf("the request body is larger than the server's limit of %d bytes", limit)}
}

// lookup finds a model by the request's model ID.
func (s *Server) lookup(id string) (*served, *apiError) {
	sv := s.models[id]
	if sv == nil {
		e := &apiError{Status: http.StatusNotFound, Type: typeInvalidRequest, Param: "model", Code: "model_not_found",
			Message: fmt.Sprintf("the model %q does not exist on this server; loaded: %s", quoteKey(id), strings.Join(s.order, ", "))}
		return nil, e
	}
	return sv, nil
}

// ids returns the IDs of the served models with a decoder or embedder.
func (s *Server) ids(embedders bool) []string {
	var out []string
	for _, id := range s.order {
		sv := s.models[id]
		if (embedders && sv.Embedder != nil) || (!embedders && sv.Decoder != nil) {
			out = append(out, id)
		}
	}
	return out
}
