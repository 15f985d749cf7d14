// Package sendgridfake is an httptest fake of SendGrid's v3 Mail Send API
// (POST /v3/mail/send) and of GET /v3/scopes (the key's permissions), for
// tests and benchmarks. It checks the API key and
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
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
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

// ForbiddenSenderMessage is the error message SendGrid answers a send
// from an unverified sender with (HTTP 403).
const ForbiddenSenderMessage = "The from address does not match a verified Sender Identity. Mail cannot be sent " +
	"until this error is resolved. Visit https://sendgrid.com/docs/for-developers/sending-email/sender-identity/ " +
	"to see the Sender Identity requirements"

// MailSendScope is the scope of an API key allowed to send mail.
const MailSendScope = "mail.send"

// Server is a running fake of SendGrid's Mail Send endpoint.
type Server struct {
	srv   *httptest.Server
	delay atomic.Int64 // time.Duration added before answering
	calls atomic.Int64 // requests received, accepted or not
	ids   atomic.Int64 // X-Message-Id sequence

	mu       sync.Mutex
	apiKey   string
	scopes   []string        // the key's scopes, as GET /v3/scopes lists them
	senders  map[string]bool // verified senders; nil: any sender
	record   bool
	accepted []Request
	keys     map[string]int // ledger key → emails accepted
	script   []Reply
	probes   int // GET /v3/scopes calls
}

// New starts a Server accepting apiKey (sent as "Authorization: Bearer
// <apiKey>") with the scope mail.send and any sender; it records every
// accepted request and stops when the test ends.
func New(tb testing.TB, apiKey string) *Server {
	tb.Helper()
	s := &Server{apiKey: apiKey, scopes: []string{MailSendScope}, record: true, keys: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.srv.Close)
	return s
}

// SetAPIKey makes the Server accept apiKey instead, from now on: the key
// crmsync has becomes wrong (revoked), or right again.
func (s *Server) SetAPIKey(apiKey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiKey = apiKey
}

// SetScopes sets the scopes of the API key; without mail.send, Mail Send
// answers 403 "access forbidden".
func (s *Server) SetScopes(scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scopes = scopes
}

// VerifySenders accepts mail only from the given addresses (verified
// Single Senders): mail from others is answered 403 with
// ForbiddenSenderMessage. No address accepts any sender again.
func (s *Server) VerifySenders(addrs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.senders = nil
	if len(addrs) > 0 {
		s.senders = map[string]bool{}
	}
	for _, a := range addrs {
		s.senders[strings.ToLower(a)] = true
	}
}

// Probes is the number of GET /v3/scopes calls received.
func (s *Server) Probes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.probes
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
	s.mu.Lock()
	key, scopes := s.apiKey, s.scopes
	s.mu.Unlock()
	switch {
	case r.URL.Path == "/v3/scopes" && r.Method == http.MethodGet:
		s.listScopes(w, r, key, scopes)
		return
	case r.URL.Path != "/v3/mail/send":
		writeErrors(w, http.StatusNotFound, apiErr{"", "not found"})
		return
	case r.Method != http.MethodPost:
		writeErrors(w, http.StatusMethodNotAllowed, apiErr{"", "method not allowed"})
		return
	case r.Header.Get("Authorization") != "Bearer "+key:
		writeErrors(w, http.StatusUnauthorized, apiErr{"", UnauthorizedMessage})
		return
	case !slices.Contains(scopes, MailSendScope):
		writeErrors(w, http.StatusForbidden, apiErr{"", "access forbidden"})
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
	if !s.verified(m) {
		writeErrors(w, http.StatusForbidden, apiErr{"from", ForbiddenSenderMessage})
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

// listScopes answers GET /v3/scopes: {"scopes": [...]} for the right key.
func (s *Server) listScopes(w http.ResponseWriter, r *http.Request, key string, scopes []string) {
	s.mu.Lock()
	s.probes++
	s.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+key {
		writeErrors(w, http.StatusUnauthorized, apiErr{"", UnauthorizedMessage})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string][]string{"scopes": append([]string{}, scopes...)})
}

// verified reports whether m's sender may send.
func (s *Server) verified(m Mail) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.senders == nil || m.From != nil && s.senders[strings.ToLower(m.From.Email)]
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
