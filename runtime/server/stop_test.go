package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"
)

// TestStopIdleKeepAlive: during Stop, a request on a keep-alive connection
// that was idle when the shutdown began gets the documented 503 (and the
// connection closes), while a stream in flight completes.
func TestStopIdleKeepAlive(t *testing.T) {
	m := loadStories(t)
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
	go hs.Serve(ln)
	url := "http://" + ln.Addr().String()

	// A client whose connection stays open and idle.
	idle := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	get := func() (*http.Response, bool, error) {
		reused := false
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }})
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v1/models", nil)
		resp, err := idle.Do(req)
		if err == nil {
			io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		return resp, reused, err
	}
	if resp, _, err := get(); err != nil || resp.StatusCode != 200 {
		t.Fatalf("before: %v %v", resp, err)
	}

	// A stream held at its 5th token while the shutdown begins.
	g.pause(40, 5, false)
	streamDone := make(chan *streamResult, 1)
	go func() {
		resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(tagged(40, true, 12)))
		if err != nil {
			streamDone <- nil
			return
		}
		defer resp.Body.Close()
		evs, _ := readSSE(resp.Body)
		res, _ := parseStream(evs, false)
		streamDone <- res
	}()
	g.waitReached(t, 40)
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		stopped <- s.Stop(ctx, hs, ln)
	}()
	waitFor(t, 5*time.Second, "draining", func() bool { return s.draining.Load() })

	resp, reused, err := get()
	if err != nil {
		t.Fatalf("request on the idle connection: %v", err)
	}
	if !reused || resp.StatusCode != 503 || !resp.Close || resp.Header.Get("Retry-After") == "" {
		t.Errorf("request on the idle connection: reused %v, status %d, close %v, headers %v", reused, resp.StatusCode, resp.Close, resp.Header)
	}
	// New connections are refused.
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("a new connection was accepted during the shutdown")
	}
	g.open(40)
	if res := <-streamDone; res == nil || !res.done || res.finish != "length" {
		t.Errorf("the stream in flight: %+v", res)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Stop: %v", err)
	}
}
