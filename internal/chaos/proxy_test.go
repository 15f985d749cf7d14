package chaos

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// exchange is one request relayed by a proxy and its answer from the
// fake.
type exchange struct {
	Method  string
	Path    string
	Query   string
	ReqBody []byte
	Status  int
	Body    []byte
	// N is the exchange's number among those on its path, from 1.
	N int
}

// proxy relays requests to a vendor fake and lets a test act between the
// fake's answer and the client receiving it: kill the client once the
// fake has accepted a message (the send happened, its outcome never
// reaches the sender), stop Redis there, or cut the answer's body. The
// fakes stay untouched; crmsync's config points at the proxy.
type proxy struct {
	srv      *httptest.Server
	upstream string

	mu     sync.Mutex
	hook   func(*exchange) // called before the answer is relayed; may change Body
	counts map[string]int
}

// newProxy starts a proxy in front of upstream (a base URL), stopped when
// the test ends.
func newProxy(t *testing.T, upstream string) *proxy {
	p := &proxy{upstream: upstream, counts: map[string]int{}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

// URL is the proxy's base URL, without a final slash.
func (p *proxy) URL() string { return p.srv.URL }

// setHook sets the function called with every exchange before its answer
// is relayed (nil removes it). It runs in the request's goroutine: a hook
// that blocks holds the answer back.
func (p *proxy) setHook(h func(*exchange)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hook = h
}

// count returns the number of requests relayed on path.
func (p *proxy) count(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[path]
}

func (p *proxy) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	p.mu.Lock()
	p.counts[r.URL.Path]++
	ex := &exchange{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, ReqBody: body,
		Status: resp.StatusCode, Body: answer, N: p.counts[r.URL.Path]}
	hook := p.hook
	p.mu.Unlock()
	if hook != nil {
		hook(ex)
	}
	for k, v := range resp.Header {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(ex.Body)
}
