package main

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgeai-go/edgeai/internal/audit"
	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/server"
)

func init() {
	register(&command{name: "serve", summary: "serve models over HTTP with the OpenAI API (safe by default)", run: runServe})
}

// Defaults of serve's flags.
const (
	serveDefaultAddr     = "127.0.0.1:8080"
	serveDefaultParallel = 2
	serveDefaultKVMem    = "4GiB"
	serveDefaultBody     = "4MiB"
)

// runServe loads the models and serves them until SIGINT/SIGTERM cancels
// ctx, then shuts down gracefully: the listener closes, requests in flight
// get --shutdown-timeout to finish and are cancelled after it, and the
// command returns nil (exit status 0).
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	var mf modelFlags
	var sf samplingFlags
	mf.add(fs)
	sf.add(fs)
	// -m repeats here: swap modelFlags' single -m for a list; each entry is
	// loaded with the same --threads/--ctx/--batch through modelFlags.load.
	var models stringsFlag
	mflag := fs.Lookup("m")
	mflag.Value, mflag.DefValue = &models, ""
	mflag.Usage = "model `file` (GGUF), or ID=FILE to choose its ID (repeatable; the ID defaults to the file name without .gguf)"
	fs.Lookup("model").Value = &models

	var embeds stringsFlag
	fs.Var(&embeds, "embed", "serve this encoder for /v1/embeddings (a reranker: for /v1/rerank): a GGUF or ONNX `file`, or ID=FILE (repeatable)")
	addr := fs.String("addr", serveDefaultAddr, "listen `address` (host:port); beyond loopback an API key is required (or --no-auth)")
	apiKey := fs.String("api-key", "", "require Authorization: Bearer `KEY` (default $EDGEAI_API_KEY; prefer the variable or --api-key-file, flags show in ps)")
	apiKeyFile := fs.String("api-key-file", "", "read the API key from this `file` (a systemd credential, for instance)")
	var hosts, origins stringsFlag
	fs.Var(&hosts, "allowed-host", "also answer to this Host `name` (repeatable; IP literals and localhost always work; * turns the DNS-rebinding check off)")
	fs.Var(&origins, "cors-origin", "allow browser calls from this `origin`, e.g. https://app.example (repeatable; * = any); none by default")
	parallel := fs.Int("parallel", serveDefaultParallel, "sequences each model runs at once, each with its own KV cache, decoded together (continuous batching)")
	maxQueue := fs.Int("max-queue", server.DefaultMaxQueue, "requests that may wait per model beyond --parallel; more get 429 (0 = no waiting)")
	maxTokens := fs.Int("max-tokens", 0, "most tokens one request may generate (0 = the context size)")
	maxBody := fs.String("max-body", serveDefaultBody, "largest request body (`size`: 512KiB, 4MiB, ...)")
	kvMem := fs.String("kv-cache-mem", serveDefaultKVMem, "bound on the memory of all KV caches (`size`; models x parallel x per-session cache; 0 = no bound)")
	timeout := fs.Duration("timeout", server.DefaultRequestTimeout, "per-request time limit, queueing included")
	drain := fs.Duration("shutdown-timeout", 10*time.Second, "on SIGINT/SIGTERM, how long requests in flight may run before they are cancelled")
	tmpl := fs.String("chat-template", "", "chat template for every model instead of its own (chatml, llama2, llama3, mistral, phi3, gemma, zephyr)")
	logFormat := fs.String("log-format", "text", "access log format on standard error: text or json")
	noUI := fs.Bool("no-ui", false, "do not serve the web chat at /")
	noAuth := fs.Bool("no-auth", false, "allow listening beyond loopback without an API key (anyone on the network may use the models)")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate `file` (PEM; with --tls-key)")
	tlsKey := fs.String("tls-key", "", "the certificate's private key `file` (PEM)")
	var au auditFlags
	fs.StringVar(&au.path, "audit-log", "", "append one record per API request to this JSON-lines `file` (hashes of prompt and answer, not text)")
	fs.BoolVar(&au.includeText, "audit-text", false, "also store the prompt and answer text in the audit log")
	au.addKeyFlags(fs)
	var pins stringsFlag
	fs.Var(&pins, "model-sha256", "refuse to serve unless the model file has this SHA-256: `HEX` (one model) or ID=HEX (repeatable)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(models) == 0 && len(embeds) == 0 {
		return fmt.Errorf("%w: -m MODEL (or --embed ENCODER) is required", errUsage)
	}
	if *parallel < 1 || *parallel > 256 {
		return fmt.Errorf("%w: --parallel %d must be 1 to 256", errUsage, *parallel)
	}
	if *maxQueue < 0 || *maxTokens < 0 || *timeout <= 0 || *drain < 0 {
		return fmt.Errorf("%w: --max-queue, --max-tokens and --shutdown-timeout must be >= 0, --timeout > 0", errUsage)
	}
	bodyBytes, err := parseSize(*maxBody)
	if err != nil || bodyBytes <= 0 {
		return fmt.Errorf("%w: --max-body %q: want a positive size such as 4MiB", errUsage, *maxBody)
	}
	kvBytes, err := parseSize(*kvMem)
	if err != nil {
		return fmt.Errorf("%w: --kv-cache-mem %q: %v", errUsage, *kvMem, err)
	}
	var handler slog.Handler
	switch *logFormat {
	case "text":
		handler = slog.NewTextHandler(stderr, nil)
	case "json":
		handler = slog.NewJSONHandler(stderr, nil)
	default:
		return fmt.Errorf("%w: --log-format %q: want text or json", errUsage, *logFormat)
	}
	logger := slog.New(handler)
	key := *apiKey
	if *apiKeyFile != "" {
		if key != "" {
			return fmt.Errorf("%w: --api-key and --api-key-file exclude each other", errUsage)
		}
		b, err := readSecretFile(*apiKeyFile)
		if err != nil {
			return fmt.Errorf("reading the API key: %w", err)
		}
		key = b
	}
	if key == "" {
		key = os.Getenv("EDGEAI_API_KEY")
	}
	if strings.TrimSpace(key) != key || strings.ContainsAny(key, "\r\n") {
		return fmt.Errorf("%w: the API key must not have surrounding spaces or line breaks", errUsage)
	}
	if key == "" && !*noAuth && !isLoopback(*addr) {
		return fmt.Errorf("%w: refusing to listen on %s without an API key: set EDGEAI_API_KEY (or --api-key), listen on 127.0.0.1, or pass --no-auth if anyone who can reach this machine may use the models", errUsage, *addr)
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return fmt.Errorf("%w: --tls-cert and --tls-key go together", errUsage)
	}
	var tlsConfig *tls.Config
	if *tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			return fmt.Errorf("loading the TLS certificate: %w", err)
		}
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	auditOpts, err := au.options()
	if err != nil {
		return err
	}
	pinned, err := parsePins(pins, len(models)+len(embeds))
	if err != nil {
		return err
	}
	var auditLog *audit.Log
	if au.path != "" {
		// Open it now: a wrong key or a log cut behind its checkpoint
		// stops the server before the models load.
		if auditLog, err = audit.OpenWith(au.path, auditOpts); err != nil {
			return err
		}
		defer auditLog.Close()
	}
	hashAll := au.path != "" || len(pinned) > 0
	if !flagSet(fs, "threads") && !flagSet(fs, "t") {
		// The sequences are decoded together, in one forward pass per
		// step on all the cores.
		mf.threads = goruntime.NumCPU()
	}

	var extra []runtime.Option
	if *tmpl != "" {
		extra = append(extra, runtime.WithChatTemplate(*tmpl))
	}
	var served []server.Model
	defer func() {
		for _, m := range served {
			if m.Decoder != nil {
				m.Decoder.Close()
			}
			if c, ok := m.Embedder.(io.Closer); ok {
				c.Close()
			}
		}
	}()
	for _, spec := range models {
		id, path := modelSpec(spec)
		mf.model = path
		sum, before, err := hashModel(ctx, id, path, pinned, hashAll)
		if err != nil {
			return err
		}
		m, loadTime, err := mf.load(ctx, extra...)
		if err != nil {
			return err
		}
		served = append(served, server.Model{ID: id, Decoder: m, SHA256: sum})
		if err := sameFile(path, before); err != nil {
			return err
		}
		info := m.Info()
		logger.Info("model loaded", "id", id, "path", path, "arch", info.Architecture, "params", info.Params,
			"context", info.ContextSize, "kv_cache_per_sequence", m.KVCacheBytes(), "threads", info.Threads, "load", loadTime.Round(time.Millisecond))
	}

	for _, spec := range embeds {
		id, path := modelSpec(spec)
		start := time.Now()
		sum, before, err := hashModel(ctx, id, path, pinned, hashAll)
		if err != nil {
			return err
		}
		em, err := runtime.LoadEmbedder(ctx, path, runtime.WithEmbedThreads(mf.threads))
		if err != nil {
			return err
		}
		served = append(served, server.Model{ID: id, Embedder: em, SHA256: sum})
		if err := sameFile(path, before); err != nil {
			return err
		}
		info := em.Info()
		logger.Info("encoder loaded", "id", id, "path", path, "format", info.Format, "arch", info.Architecture, "dim", info.Dim,
			"context", info.ContextLength, "pooling", info.Pooling, "load", time.Since(start).Round(time.Millisecond))
	}

	cfg := server.Config{
		APIKey:         key,
		AllowedHosts:   hosts,
		CORSOrigins:    origins,
		MaxBodyBytes:   bodyBytes,
		MaxTokens:      *maxTokens,
		Parallel:       *parallel,
		MaxQueue:       *maxQueue,
		KVCacheBytes:   kvBytes,
		RequestTimeout: *timeout,
		Sampling:       &sf.p,
		Logger:         logger,
		DisableUI:      *noUI,
		AuditText:      au.includeText,
	}
	if auditLog != nil {
		cfg.Audit = &serveAuditor{log: auditLog, version: edgeaiVersion()}
	}
	for id := range pinned {
		if id != "" && !slices.ContainsFunc(served, func(m server.Model) bool { return m.ID == id }) {
			return fmt.Errorf("%w: --model-sha256 names %q, which is not a model served", errUsage, id)
		}
	}
	if *maxQueue == 0 {
		cfg.MaxQueue = -1
	}
	if sf.seed >= 0 {
		cfg.Sampling.Seed, cfg.FixedSeed = uint64(sf.seed), true
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	bound := ln.Addr().String()
	if !isLoopback(bound) {
		// Clients on the network may use this machine's name.
		if h, err := os.Hostname(); err == nil && h != "" {
			cfg.AllowedHosts = append(cfg.AllowedHosts, h, h+".local")
		}
	}
	srv, err := server.New(cfg, served...)
	if err != nil {
		return err
	}
	if w := exposureWarning(bound, key != ""); w != "" {
		fmt.Fprint(stderr, w)
	}
	if w := clearTextWarning(bound, tlsConfig != nil); w != "" {
		fmt.Fprint(stderr, w)
	}
	ids := make([]string, len(served))
	for i, m := range served {
		ids[i] = m.ID
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	var extras []string
	if !*noUI {
		extras = append(extras, "web chat at /")
	}
	if au.path != "" {
		extras = append(extras, "audit log "+au.path)
	}
	fmt.Fprintf(stderr, "edgeai serve: listening on %s://%s (models: %s; %d parallel sequences each, KV caches %s; API key %s; %s)\n",
		scheme, bound, strings.Join(ids, ", "), *parallel, serveBytes(srv.KVCacheBytes()), map[bool]string{true: "required", false: "off"}[key != ""],
		strings.Join(append(extras, "metrics at /metrics"), ", "))

	hs := srv.HTTPServer(bound)
	hs.TLSConfig = tlsConfig
	// Generation endpoints set their own write deadlines; the others answer
	// in well under this.
	serveErr := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			serveErr <- hs.ServeTLS(ln, "", "")
		} else {
			serveErr <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-serveErr:
		srv.Close()
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintf(stderr, "edgeai serve: shutting down (requests in flight get %v; new requests on open connections get 503)\n", *drain)
	dctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	if err := srv.Stop(dctx, hs, ln); err != nil {
		fmt.Fprintf(stderr, "edgeai serve: cancelled the requests still running after %v\n", *drain)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		return err
	}
	fmt.Fprintln(stderr, "edgeai serve: stopped")
	return nil
}

// readSecretFile reads a small secret from a regular file, without its
// trailing newline.
func readSecretFile(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() || st.Size() > 4<<10 {
		return "", fmt.Errorf("%s is not a regular file of at most 4 KiB", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	k := strings.TrimRight(string(b), "\r\n")
	if k == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return k, nil
}

// parsePins reads --model-sha256 values: HEX for the only model, or
// ID=HEX.
func parsePins(pins []string, nModels int) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range pins {
		id, sum, named := strings.Cut(p, "=")
		if !named {
			if nModels != 1 || len(pins) != 1 {
				return nil, fmt.Errorf("%w: --model-sha256 %q: with several models, give ID=HEX", errUsage, p)
			}
			id, sum = "", p
		}
		sum = strings.ToLower(strings.TrimSpace(sum))
		if b, err := hex.DecodeString(sum); err != nil || len(b) != 32 {
			return nil, fmt.Errorf("%w: --model-sha256 %q is not 64 hex digits", errUsage, p)
		}
		out[id] = sum
	}
	return out, nil
}

// hashModel hashes a model file when the audit log records it or a pin
// checks it ("" otherwise), and checks the pin. It returns the file's
// state for sameFile.
func hashModel(ctx context.Context, id, path string, pins map[string]string, hash bool) (string, os.FileInfo, error) {
	pin, ok := pins[id]
	if !ok {
		pin = pins[""]
	}
	if !hash && pin == "" {
		return "", nil, nil
	}
	before, err := os.Stat(path)
	if err != nil {
		return "", nil, err
	}
	sum, err := infoSHA256(ctx, path)
	if err != nil {
		return "", nil, fmt.Errorf("hashing the model %s: %w", id, err)
	}
	if pin != "" && sum != pin {
		return "", nil, fmt.Errorf("%w: model %s (%s) has %s", errModelHash, id, path, sum)
	}
	return sum, before, nil
}

// sameFile checks that the file loaded is the file hashed.
func sameFile(path string, before os.FileInfo) error {
	if before == nil {
		return nil
	}
	after, err := os.Stat(path)
	if err != nil || !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) || after.Size() != before.Size() {
		return fmt.Errorf("%s changed while it was being hashed and loaded", path)
	}
	return nil
}

// serveAuditor writes the server's audit records to the audit log.
type serveAuditor struct {
	log     *audit.Log
	version string
}

// Audit implements server.Auditor.
func (a *serveAuditor) Audit(r *server.AuditRecord) error {
	rec := &audit.Record{
		Time:            r.Time.UTC(),
		Type:            "serve",
		Version:         a.version,
		Model:           r.Model,
		ModelSHA256:     r.ModelSHA256,
		Kernels:         kernels.Path(),
		Client:          r.Client,
		KeyID:           r.KeyID,
		Endpoint:        r.Method + " " + r.Path,
		Status:          r.Status,
		DurationMS:      float64(r.Duration.Microseconds()) / 1000,
		Params:          r.Params,
		PromptTokens:    r.PromptTokens,
		GeneratedTokens: r.CompletionTokens,
		StopReason:      r.Finish,
		Error:           r.Error,
		PromptSHA256:    r.PromptSHA256,
		ResponseSHA256:  r.ResponseSHA256,
		Prompt:          r.Prompt,
		Response:        r.Response,
	}
	if seed, ok := r.Params["seed"].(uint64); ok {
		rec.Seed = seed
	}
	return a.log.Append(rec)
}

// modelSpec splits "ID=FILE" (when FILE is not itself a file named with
// "=") or derives the ID from the file name.
func modelSpec(spec string) (id, path string) {
	if i := strings.IndexByte(spec, '='); i > 0 && !strings.ContainsAny(spec[:i], `/\`) {
		if _, err := os.Stat(spec); err != nil {
			return spec[:i], spec[i+1:]
		}
	}
	base := filepath.Base(spec)
	return strings.TrimSuffix(base, filepath.Ext(base)), spec
}

// isLoopback reports whether a listen address only accepts connections from
// this machine.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// exposureWarning is the loud warning printed when the server listens
// beyond loopback without an API key ("" when there is nothing to warn of).
func exposureWarning(bound string, haveKey bool) string {
	if haveKey || isLoopback(bound) {
		return ""
	}
	line := strings.Repeat("!", 78)
	return fmt.Sprintf("%s\n!! WARNING: edgeai serve listens on %s WITHOUT AN API KEY.\n"+
		"!! Anyone who can reach this machine over the network can use the models (--no-auth).\n"+
		"!! Set EDGEAI_API_KEY (or --api-key), or listen on 127.0.0.1.\n%s\n", line, bound, line)
}

// clearTextWarning is the warning printed when the server listens beyond
// loopback without TLS ("" when there is nothing to warn of).
func clearTextWarning(bound string, haveTLS bool) string {
	if haveTLS || isLoopback(bound) {
		return ""
	}
	return fmt.Sprintf("edgeai serve: WARNING: %s is reachable from the network over plain HTTP: API keys, prompts and answers cross the LAN in clear. Give --tls-cert and --tls-key (see docs/deploy.md).\n", bound)
}

// parseSize reads a byte size: a number with an optional unit B, KB, MB,
// GB (powers of 1000), KiB, MiB, GiB (powers of 1024), K, M, G (as KiB...).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	num := strings.TrimRightFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	unit := strings.ToLower(strings.TrimSpace(t[len(num):]))
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: want a non-negative whole number with an optional unit (KiB, MiB, GiB)", s)
	}
	mult := map[string]int64{"": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "kb": 1e3, "m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
		"g": 1 << 30, "gib": 1 << 30, "gb": 1e9, "t": 1 << 40, "tib": 1 << 40, "tb": 1e12}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("size %q: unknown unit %q", s, unit)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mult, nil
}

// serveBytes formats a byte count with a binary unit.
func serveBytes(n int64) string {
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
