package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the Prometheus metrics of GET /metrics, in a registry of the
// Server's own (several Servers in one process do not collide).
type metrics struct {
	reg        *prometheus.Registry
	handler    http.Handler
	requests   *prometheus.CounterVec   // endpoint, status
	tokensIn   *prometheus.CounterVec   // model
	tokensOut  *prometheus.CounterVec   // model
	ttft       *prometheus.HistogramVec // model
	perToken   *prometheus.HistogramVec // model
	auditWrite prometheus.Histogram
	auditFail  prometheus.Counter
}

// endpoints are the values of the "endpoint" label; other paths count as
// "other" so that clients cannot grow the label set.
var endpoints = map[string]bool{
	"/v1/chat/completions": true, "/v1/completions": true, "/v1/embeddings": true, "/v1/models": true,
	"/health": true, "/metrics": true, "/": true,
}

func endpointLabel(path string) string {
	switch {
	case endpoints[path]:
		return path
	case len(path) > len("/v1/models/") && path[:len("/v1/models/")] == "/v1/models/":
		return "/v1/models/{id}"
	case len(path) > len(uiPrefix) && path[:len(uiPrefix)] == uiPrefix:
		return uiPrefix
	}
	return "other"
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgeai_http_requests_total",
		Help: "HTTP requests by endpoint and status (499: the client left before the end)."}, []string{"endpoint", "status"})
	m.tokensIn = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgeai_prompt_tokens_total",
		Help: "Prompt tokens of completed generation requests, cached ones included."}, []string{"model"})
	m.tokensOut = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgeai_completion_tokens_total",
		Help: "Tokens generated."}, []string{"model"})
	m.ttft = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "edgeai_time_to_first_token_seconds",
		Help:    "Time from a generation request's arrival (queueing included) to its first generated token.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}, []string{"model"})
	m.perToken = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "edgeai_time_per_output_token_seconds",
		Help:    "Time between consecutive generated tokens of a request.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"model"})
	m.auditWrite = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "edgeai_audit_write_seconds",
		Help:    "Time to write and sync one audit record.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}})
	m.auditFail = prometheus.NewCounter(prometheus.CounterOpts{Name: "edgeai_audit_failures_total",
		Help: "Audit records that could not be written (their requests failed)."})
	m.reg.MustRegister(m.requests, m.tokensIn, m.tokensOut, m.ttft, m.perToken, m.auditWrite, m.auditFail,
		&stateCollector{s: s},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, id := range s.order {
		if s.models[id].Decoder != nil {
			// Zero series from the start, so rates work from the first scrape.
			m.tokensIn.WithLabelValues(id)
			m.tokensOut.WithLabelValues(id)
		}
	}
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return m
}

// request counts a finished request.
func (m *metrics) request(path string, status int) {
	m.requests.WithLabelValues(endpointLabel(path), strconv.Itoa(status)).Inc()
}

func (m *metrics) auditDone(d time.Duration, err error) {
	m.auditWrite.Observe(d.Seconds())
	if err != nil {
		m.auditFail.Inc()
	}
}

// tokenTimer observes a generation's time to first token and the time
// between tokens.
type tokenTimer struct {
	ttft, perToken prometheus.Observer
	start, last    time.Time
	n              int
}

func (m *metrics) timer(model string, start time.Time) *tokenTimer {
	return &tokenTimer{ttft: m.ttft.WithLabelValues(model), perToken: m.perToken.WithLabelValues(model), start: start}
}

// token records one generated token.
func (t *tokenTimer) token() {
	now := time.Now()
	if t.n == 0 {
		t.ttft.Observe(now.Sub(t.start).Seconds())
	} else {
		t.perToken.Observe(now.Sub(t.last).Seconds())
	}
	t.last = now
	t.n++
}

// generated counts a generation's tokens.
func (m *metrics) generated(model string, prompt, completion int) {
	m.tokensIn.WithLabelValues(model).Add(float64(prompt))
	m.tokensOut.WithLabelValues(model).Add(float64(completion))
}

// stateCollector reports the schedulers' state at scrape time.
type stateCollector struct{ s *Server }

var (
	descQueue = prometheus.NewDesc("edgeai_queue_depth", "Requests waiting for a free sequence.", []string{"model"}, nil)
	descBusy  = prometheus.NewDesc("edgeai_sequences_busy", "Sequences generating or embedding now.", []string{"model"}, nil)
	descSeqs  = prometheus.NewDesc("edgeai_sequences", "Sequences (parallel slots) per model.", []string{"model"}, nil)
	descKV    = prometheus.NewDesc("edgeai_kv_cache_bytes", "Memory of the KV caches allocated (a sequence allocates its cache on first use and keeps it).", []string{"model"}, nil)
	descKVMax = prometheus.NewDesc("edgeai_kv_cache_max_bytes", "Memory of the KV caches when every sequence has one.", []string{"model"}, nil)
	descModel = prometheus.NewDesc("edgeai_model_loaded", "1 while the model is loaded and served, 0 once the server has shut down.", []string{"model", "kind"}, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQueue, descBusy, descSeqs, descKV, descKVMax, descModel} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	loaded := 1.0
	if s.closed.Load() {
		loaded = 0
	}
	for _, id := range s.order {
		sv := s.models[id]
		var waiting, busy int
		for _, sc := range []*scheduler{sv.sched, sv.embedSched} {
			if sc != nil {
				w, b := sc.load()
				waiting += w
				busy += b
			}
		}
		ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(waiting), id)
		ch <- prometheus.MustNewConstMetric(descBusy, prometheus.GaugeValue, float64(busy), id)
		ch <- prometheus.MustNewConstMetric(descSeqs, prometheus.GaugeValue, float64(s.cfg.Parallel), id)
		if sv.Decoder != nil {
			per := float64(sv.Decoder.KVCacheBytes())
			ch <- prometheus.MustNewConstMetric(descKV, prometheus.GaugeValue, per*float64(sv.sched.sequences()), id)
			ch <- prometheus.MustNewConstMetric(descKVMax, prometheus.GaugeValue, per*float64(s.cfg.Parallel), id)
			ch <- prometheus.MustNewConstMetric(descModel, prometheus.GaugeValue, loaded, id, "decoder")
		}
		if sv.Embedder != nil {
			ch <- prometheus.MustNewConstMetric(descModel, prometheus.GaugeValue, loaded, id, "embedder")
		}
	}
}
