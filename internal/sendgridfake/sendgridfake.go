// Package sendgridfake is an httptest fake of SendGrid's v3 Mail Send API
// (POST /v3/mail/send) for tests and benchmarks. It checks the API key and
// validates each request the way SendGrid documents, answers with
// SendGrid's status codes and error bodies, and records what it accepted,
// counted per crmsync_ledger_key custom arg so that tests can check that
// every message arrived exactly once.
//
// A Server is safe for concurrent use and never sleeps unless told to
// (SetDelay). For throughput benchmarks, SetRecording(false) keeps only the
// counts.
package sendgridfake

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// LedgerKeyArg is the custom arg that names a message's ledger entry; the
// Server counts accepted emails by its value.
const LedgerKeyArg = "crmsync_ledger_key"

// UnauthorizedMessage is the error message SendGrid answers a wrong API
// key with (HTTP 401).
const UnauthorizedMessage = "The provided authorization grant is invalid, expired, or revoked"

// Request is one request the Server accepted.
type Request struct {
	Header http.Header
	Raw    []byte // the body as received
	Mail   Mail   // the body as decoded
}

// Reply is a scripted answer, served instead of validating.
type Reply struct {
	Status int
	Header map[string]string
	Body   string
}

// Server is a running fake of SendGrid's Mail Send endpoint.
type Server struct {
	srv    *httptest.Server
	apiKey string
	delay  atomic.Int64 // time.Duration added before answering
	calls  atomic.Int64 // requests received, accepted or not
	ids    atomic.Int64 // X-Message-Id sequence

	mu       sync.Mutex
	record   bool
	accepted []Request
	keys     map[string]int // ledger key → emails accepted
	script   []Reply
}

// New starts a Server accepting apiKey (sent as "Authorization: Bearer
// <apiKey>"); it records every accepted request and stops when the test
// ends.
func New(tb testing.TB, apiKey string) *Server {
	tb.Helper()
	s := &Server{apiKey: apiKey, record: true, keys: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.srv.Close)
	return s
}

// URL is the base URL to configure a sender with (no trailing slash).
func (s *Server) URL() string { return s.srv.URL }

// Client returns an HTTP client configured for the Server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close stops the Server; later requests fail to connect.
func (s *Server) Close() { s.srv.Close() }

// SetDelay makes every later answer wait d (after reading the request), or
// until the client gives up; 0 answers at once.
func (s *Server) SetDelay(d time.Duration) { s.delay.Store(int64(d)) }

// SetRecording sets whether accepted requests are kept for Requests (the
// default). Counts (Calls, Accepted, LedgerKeys) are kept either way.
func (s *Server) SetRecording(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record = on
}

// Reply scripts the next answers, served in order to authenticated
// requests instead of validating them.
func (s *Server) Reply(r ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, r...)
}

// Requests returns the accepted requests, when recording.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.accepted...)
}

// Calls is the number of requests received, accepted or not.
func (s *Server) Calls() int { return int(s.calls.Load()) }

// Accepted is the number of emails accepted.
func (s *Server) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.keys {
		n += c
	}
	return n
}

// LedgerKeys returns how many accepted emails carried each value of the
// crmsync_ledger_key custom arg; emails without it count under "".
func (s *Server) LedgerKeys() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.keys)
}

// Reset forgets the accepted requests and counts, not the script.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accepted, s.keys = nil, map[string]int{}
	s.calls.Store(0)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	raw, _ := io.ReadAll(r.Body) // then the server notices a client leaving
	if d := time.Duration(s.delay.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	switch {
	case r.URL.Path != "/v3/mail/send":
		writeErrors(w, http.StatusNotFound, apiErr{"", "not found"})
		return
	case r.Method != http.MethodPost:
		writeErrors(w, http.StatusMethodNotAllowed, apiErr{"", "method not allowed"})
		return
	case r.Header.Get("Authorization") != "Bearer "+s.apiKey:
		writeErrors(w, http.StatusUnauthorized, apiErr{"", UnauthorizedMessage})
		return
	}
	if s.scripted(w) {
		return
	}
	m, errs := validateMail(r.Header, raw)
	if len(errs) > 0 {
		writeErrors(w, http.StatusBadRequest, errs...)
		return
	}
	s.accept(r.Header, raw, m)
	if sandboxed(m) {
		w.WriteHeader(http.StatusOK) // sandbox mode: validated, not queued
		return
	}
	w.Header().Set("X-Message-Id", fmt.Sprintf("fake-%d", s.ids.Add(1)))
	w.WriteHeader(http.StatusAccepted)
}

// accept counts m under its ledger key and records the request.
func (s *Server) accept(h http.Header, raw []byte, m Mail) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[m.CustomArgs[LedgerKeyArg]]++
	if s.record {
		s.accepted = append(s.accepted, Request{Header: h.Clone(), Raw: raw, Mail: m})
	}
}

// scripted serves the next scripted reply, if any.
func (s *Server) scripted(w http.ResponseWriter) bool {
	s.mu.Lock()
	if len(s.script) == 0 {
		s.mu.Unlock()
		return false
	}
	r := s.script[0]
	s.script = s.script[1:]
	s.mu.Unlock()
	for k, v := range r.Header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(r.Status)
	_, _ = io.WriteString(w, r.Body)
	return true
}
