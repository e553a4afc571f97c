package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeai-go/edgeai/runtime"
)

// gate pauses the generation of tagged requests (tagged by their seed) in
// the server's token hook, so tests can hold sequences busy on purpose.
type gate struct {
	mu      sync.Mutex
	at      map[int64]int           // tag -> pause after this many tokens
	reached map[int64]chan struct{} // closed when the tag reaches its pause
	release map[int64]chan struct{} // the pause ends when closed...
	untilCx map[int64]bool          // ...or, for these, when the request's context ends
	ctxDone map[int64]chan struct{} // closed when a paused request saw its context end
	tokens  map[int64]int           // tokens generated per tag (last hook call)
}

func newGate() *gate {
	return &gate{at: map[int64]int{}, reached: map[int64]chan struct{}{}, release: map[int64]chan struct{}{},
		untilCx: map[int64]bool{}, ctxDone: map[int64]chan struct{}{}, tokens: map[int64]int{}}
}

// pause makes tag stop after n tokens until released (or, with untilCtx,
// until its context ends).
func (g *gate) pause(tag int64, n int, untilCtx bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.at[tag] = n
	g.reached[tag] = make(chan struct{})
	g.release[tag] = make(chan struct{})
	g.ctxDone[tag] = make(chan struct{})
	g.untilCx[tag] = untilCtx
}

func (g *gate) waitReached(t testing.TB, tag int64) {
	t.Helper()
	g.mu.Lock()
	ch := g.reached[tag]
	g.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("request %d never reached its pause", tag)
	}
}

func (g *gate) open(tag int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.release[tag])
}

func (g *gate) count(tag int64) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tokens[tag]
}

func (g *gate) hook(ctx context.Context, j *genJob, n int) {
	if j.g.Seed == nil {
		return
	}
	tag := *j.g.Seed
	g.mu.Lock()
	g.tokens[tag] = n
	at, ok := g.at[tag]
	if !ok || n != at {
		g.mu.Unlock()
		return
	}
	reached, release, untilCtx, done := g.reached[tag], g.release[tag], g.untilCx[tag], g.ctxDone[tag]
	g.mu.Unlock()
	close(reached)
	if untilCtx {
		select {
		case <-ctx.Done():
			close(done)
		case <-time.After(10 * time.Second):
		}
		return
	}
	<-release
}

// tagged returns a greedy request body carrying tag as its seed.
func tagged(tag int64, stream bool, maxTokens int) string {
	return fmt.Sprintf(`{"model":"stories","prompt":"Once upon a time","max_tokens":%d,"seed":%d,"stream":%v}`, maxTokens, tag, stream)
}

// TestQueueFull: with one sequence and one queue place, a third request is
// refused at once with 429 and Retry-After; the first two complete.
func TestQueueFull(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{Parallel: 1, MaxQueue: 1}, m)
	g := newGate()
	ts.hookToken = g.hook
	want, _ := directText(t, m, "Once upon a time", 20)
	g.pause(1, 2, false)
	var wg sync.WaitGroup
	answers := make([]string, 2)
	for i, tag := range []int64{1, 2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, b := ts.post(t, "/v1/completions", tagged(tag, false, 20))
			var tc textCompletion
			json.Unmarshal(b, &tc)
			if resp.StatusCode != 200 || len(tc.Choices) != 1 {
				t.Errorf("request %d: %d %s", tag, resp.StatusCode, b)
				return
			}
			answers[i] = tc.Choices[0].Text
		}()
		if tag == 1 {
			g.waitReached(t, 1)
		}
	}
	sched := ts.models["stories"].sched
	waitFor(t, 5*time.Second, "the second request to queue", func() bool { w, _ := sched.load(); return w == 1 })
	resp, b := ts.post(t, "/v1/completions", tagged(3, false, 20))
	e := apiErr(t, resp, b, http.StatusTooManyRequests, "")
	if e.Code == nil || *e.Code != "queue_full" || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("queue full: %s, Retry-After %q", b, resp.Header.Get("Retry-After"))
	}
	resp, b = ts.post(t, "/v1/chat/completions", `{"model":"stories","messages":[{"role":"user","content":"x"}],"stream":true}`)
	apiErr(t, resp, b, http.StatusTooManyRequests, "")
	g.open(1)
	wg.Wait()
	for i, a := range answers {
		if a != want {
			t.Errorf("request %d: %q, want %q", i+1, a, want)
		}
	}
	// The queue is free again.
	if resp, b := ts.post(t, "/v1/completions", tagged(4, false, 3)); resp.StatusCode != 200 {
		t.Errorf("after the queue drained: %d %s", resp.StatusCode, b)
	}
}

// TestClientDisconnect: a client that goes away mid-stream stops its
// generation within one token, while a concurrent stream is unaffected.
func TestClientDisconnect(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{Parallel: 2}, m)
	g := newGate()
	ts.hookToken = g.hook
	want, _ := directText(t, m, "Once upon a time", 60)
	g.pause(10, 3, true)  // the victim: paused after 3 tokens until its context ends
	g.pause(11, 2, false) // the bystander: paused after 2 tokens until the victim is gone

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.url+"/v1/completions", strings.NewReader(tagged(10, true, 60)))
	victim, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	other := make(chan *streamResult, 1)
	go func() {
		_, res := ts.postStream(t, "/v1/completions", tagged(11, true, 60), false)
		other <- res
	}()
	g.waitReached(t, 10)
	g.waitReached(t, 11)
	// Read a little of the victim's stream, then hang up.
	buf := make([]byte, 64)
	if _, err := io.ReadAtLeast(victim.Body, buf, 10); err != nil {
		t.Fatal(err)
	}
	cancel()
	victim.Body.Close()
	select {
	case <-g.ctxDone[10]:
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not notice the disconnect within 5 s")
	}
	g.open(11)
	res := <-other
	if res.text != want || !res.done {
		t.Errorf("the other stream: %q done %v, want %q", res.text, res.done, want)
	}
	waitFor(t, 5*time.Second, "the victim's log record", func() bool { return strings.Contains(ts.log.String(), `"status":499`) })
	if n := g.count(10); n != 3 {
		t.Errorf("the victim generated %d tokens after its pause at 3; want it stopped within one token", n)
	}
	for _, r := range ts.log.records(t) {
		if r["status"] == float64(499) && r["completion_tokens"].(float64) > 4 {
			t.Errorf("victim record %v", r)
		}
	}
	// The server goes on.
	if resp, b := ts.post(t, "/v1/completions", tagged(12, false, 3)); resp.StatusCode != 200 {
		t.Errorf("after the disconnect: %d %s", resp.StatusCode, b)
	}
}

// TestRequestTimeout: a generation that outlives the request timeout ends
// with 504; a request that waits the whole timeout in the queue gets 503.
func TestRequestTimeout(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{Parallel: 1, RequestTimeout: 400 * time.Millisecond}, m)
	g := newGate()
	ts.hookToken = g.hook
	g.pause(20, 1, false)
	first := make(chan []byte, 1)
	go func() {
		resp, b := ts.post(t, "/v1/completions", tagged(20, false, 10))
		first <- append([]byte(fmt.Sprint(resp.StatusCode, " ")), b...)
	}()
	g.waitReached(t, 20)
	resp, b := ts.post(t, "/v1/completions", tagged(21, false, 10)) // waits in the queue, then times out
	e := apiErr(t, resp, b, http.StatusServiceUnavailable, "")
	if e.Code == nil || *e.Code != "queue_timeout" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("queue timeout: %s", b)
	}
	time.Sleep(100 * time.Millisecond)
	g.open(20)
	got := <-first
	if !bytes.HasPrefix(got, []byte("504 ")) || !bytes.Contains(got, []byte("request_timeout")) {
		t.Errorf("generation timeout: %s", got)
	}
	g.pause(22, 1, true)
	_, res := ts.postStream(t, "/v1/completions", tagged(22, true, 10), false)
	if res.errBody == nil || res.done || res.errBody.Error.Code == nil || *res.errBody.Error.Code != "request_timeout" {
		t.Errorf("stream timeout: error %+v done %v", res.errBody, res.done)
	}
	if resp, b := ts.post(t, "/v1/completions", tagged(23, false, 3)); resp.StatusCode != 200 {
		t.Errorf("after the timeouts: %d %s", resp.StatusCode, b)
	}
}

// TestShutdown: on shutdown the listener closes, a stream that finishes
// within the deadline completes, and one that does not is cancelled with an
// error event; Shutdown then returns.
func TestShutdown(t *testing.T) {
	m := loadStories(t)
	for _, finish := range []bool{true, false} {
		t.Run(fmt.Sprintf("finish=%v", finish), func(t *testing.T) {
			s, err := New(Config{Parallel: 2, Sampling: &greedy}, Model{ID: "stories", Decoder: m})
			if err != nil {
				t.Fatal(err)
			}
			g := newGate()
			s.hookToken = g.hook
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			hs := s.HTTPServer("")
			served := make(chan error, 1)
			go func() { served <- hs.Serve(ln) }()
			url := "http://" + ln.Addr().String()
			g.pause(30, 2, !finish)
			type result struct {
				res *streamResult
				err error
			}
			got := make(chan result, 1)
			go func() {
				resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(tagged(30, true, 20)))
				if err != nil {
					got <- result{err: err}
					return
				}
				defer resp.Body.Close()
				evs, err := readSSE(resp.Body)
				if err != nil {
					got <- result{err: err}
					return
				}
				res, err := parseStream(evs, false)
				got <- result{res, err}
			}()
			g.waitReached(t, 30)
			deadline := 300 * time.Millisecond
			if finish {
				deadline = 10 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			httpDone := make(chan error, 1)
			go func() { httpDone <- hs.Shutdown(context.Background()) }()
			srvDone := make(chan error, 1)
			go func() { srvDone <- s.Shutdown(ctx) }()
			// The listener closes: new connections are refused.
			waitFor(t, 5*time.Second, "the listener to close", func() bool {
				c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
				if err == nil {
					c.Close()
				}
				return err != nil
			})
			if finish {
				g.open(30)
			}
			r := <-got
			if r.err != nil {
				t.Fatal(r.err)
			}
			switch {
			case finish && (!r.res.done || r.res.finish != "length" || r.res.errBody != nil):
				t.Errorf("the stream did not complete: %+v", r.res)
			case !finish && (r.res.done || r.res.errBody == nil || *r.res.errBody.Error.Code != "shutting_down"):
				t.Errorf("the cancelled stream: done %v error %+v", r.res.done, r.res.errBody)
			}
			err = <-srvDone
			if finish != (err == nil) || (!finish && !errors.Is(err, context.DeadlineExceeded)) {
				t.Errorf("Server.Shutdown: %v", err)
			}
			if err := <-httpDone; err != nil {
				t.Errorf("http.Server.Shutdown: %v", err)
			}
			if err := <-served; !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("Serve: %v", err)
			}
		})
	}
}

// TestDrainingRefuses: requests arriving on open connections after
// Shutdown began get 503, and /health reports it.
func TestDrainingRefuses(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{}, m)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ts.Shutdown(ctx)
	resp, b := ts.post(t, "/v1/completions", tagged(1, false, 3))
	apiErr(t, resp, b, http.StatusServiceUnavailable, "")
	resp, b = ts.get(t, "/health")
	if resp.StatusCode != 503 || !strings.Contains(string(b), "shutting_down") {
		t.Errorf("health while draining: %d %s", resp.StatusCode, b)
	}
}

func TestKVCacheBound(t *testing.T) {
	m := loadStories(t)
	per := m.KVCacheBytes()
	info := m.Info()
	// stories260K: 5 layers, 4 KV heads of 8, F16 (the default cache type):
	// 5 x ctx x 2 x 32 x 2 bytes.
	if want := int64(5 * info.ContextSize * 2 * 32 * 2); per != want {
		t.Fatalf("KVCacheBytes %d, want %d", per, want)
	}
	if _, err := New(Config{Parallel: 4, KVCacheBytes: 4 * per}, Model{ID: "a", Decoder: m}); err != nil {
		t.Errorf("exactly at the bound: %v", err)
	}
	_, err := New(Config{Parallel: 4, KVCacheBytes: 4*per - 1}, Model{ID: "a", Decoder: m})
	if err == nil || !strings.Contains(err.Error(), "KV caches") {
		t.Errorf("over the bound: %v", err)
	}
	_, err = New(Config{Parallel: 2, KVCacheBytes: 3 * per}, Model{ID: "a", Decoder: m}, Model{ID: "b", Decoder: m})
	if err == nil {
		t.Error("two models over the bound: no error")
	}
	for _, c := range []struct {
		cfg    Config
		models []Model
	}{
		{Config{}, nil},
		{Config{Parallel: -1}, []Model{{ID: "a", Decoder: m}}},
		{Config{}, []Model{{ID: "", Decoder: m}}},
		{Config{}, []Model{{ID: "a", Decoder: m}, {ID: "a", Decoder: m}}},
		{Config{}, []Model{{ID: "a"}}},
	} {
		if _, err := New(c.cfg, c.models...); err == nil {
			t.Errorf("New(%+v, %d models): no error", c.cfg, len(c.models))
		}
	}
}

// TestSchedulerFIFO: waiting requests get sequences in arrival order; one
// that gives up leaves the queue without losing a sequence.
func TestSchedulerFIFO(t *testing.T) {
	s := newScheduler(nil, 1, 10)
	ctx := context.Background()
	held, err := s.acquire(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var order []int
	var mu sync.Mutex
	var wg sync.WaitGroup
	cctx, cancel := context.WithCancel(ctx)
	for i := range 6 {
		wg.Add(1)
		c := ctx
		if i == 2 {
			c = cctx // gives up while waiting
		}
		go func() {
			defer wg.Done()
			sl, err := s.acquire(c, nil)
			if err != nil {
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			s.release(sl)
		}()
		waitFor(t, 5*time.Second, "the waiter to queue", func() bool { w, _ := s.load(); return w == i+1 })
	}
	cancel()
	waitFor(t, 5*time.Second, "the cancelled waiter to leave", func() bool { w, _ := s.load(); return w == 5 })
	s.release(held)
	wg.Wait()
	if fmt.Sprint(order) != "[0 1 3 4 5]" {
		t.Errorf("grant order %v, want [0 1 3 4 5]", order)
	}
	if w, busy := s.load(); w != 0 || busy != 0 {
		t.Errorf("after all: %d waiting, %d busy", w, busy)
	}
	// Full queue, then closing: waiters are refused, new requests too.
	s2 := newScheduler(nil, 1, 1)
	h, _ := s2.acquire(ctx, nil)
	errc := make(chan error, 1)
	go func() { _, err := s2.acquire(ctx, nil); errc <- err }()
	waitFor(t, 5*time.Second, "the waiter", func() bool { w, _ := s2.load(); return w == 1 })
	if _, err := s2.acquire(ctx, nil); !errors.Is(err, errQueueFull) {
		t.Errorf("full queue: %v", err)
	}
	done := s2.close()
	if err := <-errc; !errors.Is(err, errClosed) {
		t.Errorf("queued at close: %v", err)
	}
	if _, err := s2.acquire(ctx, nil); !errors.Is(err, errClosed) {
		t.Errorf("after close: %v", err)
	}
	select {
	case <-done:
		t.Error("close finished while a sequence was in use")
	default:
	}
	s2.release(h)
	<-done
}

// TestPrefixSlot: among free sequences the one holding the longest common
// prefix is chosen, so a repeated system prompt is not evaluated again.
func TestPrefixSlot(t *testing.T) {
	m := loadStories(t)
	ts := start(t, Config{Parallel: 2}, m)
	sys := `{"role":"system","content":"You are a storyteller who likes dogs and cats and birds."}`
	ask := func(q string) usage {
		resp, b := ts.post(t, "/v1/chat/completions", `{"model":"stories","max_tokens":4,"messages":[`+sys+`,{"role":"user","content":"`+q+`"}]}`)
		var cc chatCompletion
		if json.Unmarshal(b, &cc); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		return cc.Usage
	}
	ask("A dog?")
	// Another prompt fills the other sequence.
	ts.post(t, "/v1/completions", `{"model":"stories","prompt":"Something else entirely","max_tokens":4}`)
	u := ask("A cat?")
	if u.PromptTokensDetails.CachedTokens < 20 {
		t.Errorf("the shared system prompt was not reused: %+v", u)
	}
	_ = runtime.StopEOS
}
