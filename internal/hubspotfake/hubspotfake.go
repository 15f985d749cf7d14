// Package hubspotfake is an httptest fake of the HubSpot APIs crmsync's
// HubSpot connector uses, for tests and benchmarks: CRM v3 object lists
// (after cursors, archived=true, associations=companies) and search, v4
// association batch reads, owners, account details and the OAuth token
// endpoint (refresh-token grant).
//
// It answers as HubSpot documents: same paths, parameters, envelopes,
// string-encoded property values, error bodies and rate-limit headers. It
// validates what the client sends (Bearer token, page sizes, the search
// API's 200-result pages and 10,000-result cap, filter shapes) and answers
// mistakes with HubSpot's 400 VALIDATION_ERROR body, so that a wrong
// client fails its tests.
//
// Rate limits are real: a rolling window of Options.Burst requests per
// Options.Interval (HubSpot's 10 seconds unless a test shortens it) for
// everything but search (HubSpot exempts search from it), announced on
// every answer, 429s included, in X-HubSpot-RateLimit-Max, -Remaining and
// -Interval-Milliseconds, a
// rolling one-second window of Options.SearchPerSecond searches, and a
// daily allocation reported in X-HubSpot-RateLimit-Daily* headers to
// private-app tokens. The windows count per Server: the fake serves one
// app installed in one portal.
//
// Tests shape the portal with Seed, Put, Modify, Archive, Merge and
// Associate, script failures with Inject, change records while a sync
// pages through them with SetHook, and read what happened with Count,
// TooMany and Requests. TruncateEvery cuts a deterministic share of the
// successful answers at half their length, as a dropped connection or a
// proxy may: alternately a short but complete response (its JSON ends
// mid-value) and one announcing its whole length whose connection closes
// halfway (reading the body fails); Truncated counts them. A Server is
// safe for concurrent use.
package hubspotfake

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmsync/crmsync/internal/faults"
)

// Paths the Server serves.
const (
	TokenPath       = "/oauth/v1/token"
	OwnersPath      = "/crm/v3/owners"
	AccountInfoPath = "/account-info/v3/details"
)

// ObjectsPath returns the list path of kind: /crm/v3/objects/{kind}.
func ObjectsPath(kind Kind) string { return "/crm/v3/objects/" + string(kind) }

// SearchPath returns the search path of kind.
func SearchPath(kind Kind) string { return ObjectsPath(kind) + "/search" }

// AssociationsPath returns the v4 batch read path of associations from
// kind to companies.
func AssociationsPath(kind Kind) string {
	return "/crm/v4/associations/" + string(kind) + "/companies/batch/read"
}

// Limits HubSpot documents.
const (
	MaxListLimit    = 100   // GET list pages
	MaxOwnersLimit  = 500   // GET owners pages
	MaxSearchLimit  = 200   // search pages
	MaxSearchResult = 10000 // search results reachable by paging
	MaxBatchInputs  = 1000  // v4 association batch reads
	BurstWindow     = 10 * time.Second
	DefaultBurst    = 100    // private app, Free/Starter
	DefaultSearch   = 5      // searches per second
	DefaultDaily    = 250000 // private app, Free/Starter
	DefaultTokenTTL = 30 * time.Minute
	DefaultPortalID = 12345678
)

// Options configures a Server. Zero values take the documented defaults.
type Options struct {
	// PrivateToken is the private-app access token the Server accepts.
	PrivateToken string
	// ClientID, ClientSecret and RefreshToken are the OAuth app's
	// credentials the token endpoint accepts.
	ClientID, ClientSecret, RefreshToken string
	// TokenTTL is the lifetime (expires_in) of issued access tokens.
	TokenTTL time.Duration
	// RotateRefreshTokens makes every refresh issue a new refresh token
	// and invalidate the old one.
	RotateRefreshTokens bool
	// PortalID, TimeZone and UIDomain are what account details report
	// (defaults 12345678, "US/Eastern", "app.hubspot.com").
	PortalID int64
	TimeZone string
	UIDomain string
	// Burst is the number of requests allowed in any rolling Interval
	// (default 100); negative disables the limit.
	Burst int
	// Interval is the length of the Burst window (default BurstWindow, 10
	// s), announced in X-HubSpot-RateLimit-Interval-Milliseconds; tests
	// shorten it to run faster.
	Interval time.Duration
	// SearchPerSecond is the search limit (default 5); negative disables it.
	SearchPerSecond int
	// Daily is the daily allocation (default 250,000); negative disables it.
	Daily int
	// SearchLag hides records modified less than this long ago from
	// search, as HubSpot's index lags behind writes.
	SearchLag time.Duration
	// Now is the clock of record times, token expiry and search lag
	// (default time.Now). Rate-limit windows always use the real clock.
	Now func() time.Time
}

// Request is one request the Server received.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
	// N is the request's number among those received on its path, from 1.
	N int
	// Status is the status answered (0 in the hook, before answering).
	Status int
}

// Fault is a scripted answer to the next Times requests matching Method
// and Path, served before authentication and rate limiting.
type Fault struct {
	Method string // "" matches any
	Path   string // exact path; "" matches any
	Times  int    // default 1
	Status int
	Header map[string]string
	Body   string // default: HubSpot's body for Status (see DefaultBody)
}

// reply is an answer being built.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// Server is a running fake of HubSpot's APIs.
type Server struct {
	srv  *httptest.Server
	opts Options
	now  func() time.Time

	mu        sync.Mutex
	tables    map[Kind]*table
	owners    []Owner
	labels    []string // user-defined association labels; type id = 100 + index
	tokens    map[string]time.Time
	refresh   string
	faults    []*Fault
	hook      func(Request)
	infoFail  int
	burst     []time.Time
	searches  []time.Time
	daily     int
	counts    map[string]int
	log       []Request
	recording bool
	tooMany   int
	cuts      faults.Truncator // TruncateEvery
	inflight  int
	idle      *sync.Cond   // signalled when inflight falls to 0
	seq       atomic.Int64 // correlation ids
}

// New starts a Server; Close stops it.
func New(opts Options) *Server {
	opts.TokenTTL = cmp.Or(opts.TokenTTL, DefaultTokenTTL)
	opts.PortalID = cmp.Or(opts.PortalID, DefaultPortalID)
	opts.TimeZone = cmp.Or(opts.TimeZone, "US/Eastern")
	opts.UIDomain = cmp.Or(opts.UIDomain, "app.hubspot.com")
	opts.Burst = cmp.Or(opts.Burst, DefaultBurst)
	opts.Interval = cmp.Or(opts.Interval, BurstWindow)
	opts.SearchPerSecond = cmp.Or(opts.SearchPerSecond, DefaultSearch)
	opts.Daily = cmp.Or(opts.Daily, DefaultDaily)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:      opts,
		now:       opts.Now,
		tables:    map[Kind]*table{},
		tokens:    map[string]time.Time{},
		refresh:   opts.RefreshToken,
		counts:    map[string]int{},
		recording: true,
	}
	s.idle = sync.NewCond(&s.mu)
	for _, k := range Kinds {
		s.tables[k] = newTable(firstID[k])
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the base URL to point a client at (no trailing slash).
func (s *Server) URL() string { return s.srv.URL }

// Client returns an HTTP client for the Server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close stops the Server.
func (s *Server) Close() { s.srv.Close() }

// Inject queues a scripted answer.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.Times = max(f.Times, 1)
	s.faults = append(s.faults, &f)
}

// SetHook sets a function called with every request before it is
// answered (nil removes it). It runs outside the Server's lock, so it may
// change records: that is how tests change a portal between two pages.
func (s *Server) SetHook(h func(Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = h
}

// TruncateEvery cuts every n-th 200 answer from now on (token endpoint
// and injected faults included) at half its length: the 1st, 3rd... cut
// is sent as a complete response of that half, the 2nd, 4th... announces
// its whole Content-Length and closes the connection after the half. 0
// stops cutting.
func (s *Server) TruncateEvery(n int) { s.cuts.Every(n) }

// Truncated returns the number of answers cut by TruncateEvery.
func (s *Server) Truncated() int { return s.cuts.Truncated() }

// SetAccountInfoStatus makes account details answer status (403: missing
// scopes); 0 restores normal answers.
func (s *Server) SetAccountInfoStatus(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.infoFail = status
}

// SetRecording turns the request log on or off (counters always run);
// benchmarks turn it off.
func (s *Server) SetRecording(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recording = on
}

// SetDailyUsed sets how much of the daily allocation is spent.
func (s *Server) SetDailyUsed(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.daily = n
}

// ExpireTokens makes every access token issued so far expired: requests
// with one get HubSpot's 401 EXPIRED_AUTHENTICATION.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.now().Add(-time.Second)
	for t := range s.tokens {
		s.tokens[t] = past
	}
}

// RefreshTokenNow returns the refresh token the token endpoint accepts.
func (s *Server) RefreshTokenNow() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refresh
}

// Count returns the number of requests received on path, whatever their
// answer.
func (s *Server) Count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[path]
}

// Total returns the number of requests received.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.counts {
		n += c
	}
	return n
}

// TooMany returns the number of 429 answers sent, scripted ones included.
func (s *Server) TooMany() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tooMany
}

// Requests returns the log of answered requests, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// ResetCounters waits for the requests being answered (those of a pull
// that was cancelled may still be), then clears the counters and the
// request log.
func (s *Server) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.inflight > 0 {
		s.idle.Wait()
	}
	s.counts = map[string]int{}
	s.log = nil
	s.tooMany = 0
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body}
	s.mu.Lock()
	s.inflight++
	s.counts[req.Path]++
	req.N = s.counts[req.Path]
	hook := s.hook
	s.mu.Unlock()
	if hook != nil {
		hook(req)
	}
	rep := s.handle(r, req)
	s.mu.Lock()
	req.Status = rep.status
	if s.recording {
		s.log = append(s.log, req)
	}
	if rep.status == http.StatusTooManyRequests {
		s.tooMany++
	}
	how := s.cuts.Next(rep.status)
	if s.inflight--; s.inflight == 0 {
		s.idle.Broadcast()
	}
	s.mu.Unlock()
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
	}
	faults.Write(w, rep.status, rep.body, how)
}

// handle answers one request: scripted faults first, then the token
// endpoint, authentication, rate limits and the API itself.
func (s *Server) handle(r *http.Request, req Request) reply {
	if f, ok := s.takeFault(req); ok {
		return f
	}
	if req.Path == TokenPath {
		return s.token(r, req)
	}
	private, rep, ok := s.authenticate(r)
	if !ok {
		return rep
	}
	search := strings.HasSuffix(req.Path, "/search")
	header, rep, ok := s.admit(search, private)
	if !ok {
		return rep
	}
	rep = s.route(req)
	for k, v := range header {
		if rep.header == nil {
			rep.header = http.Header{}
		}
		rep.header[k] = v
	}
	return rep
}

func (s *Server) takeFault(req Request) (reply, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Method != "" && f.Method != req.Method) || (f.Path != "" && f.Path != req.Path) {
			continue
		}
		f.Times--
		if f.Times <= 0 {
			s.faults = slices.Delete(s.faults, i, i+1)
		}
		h := http.Header{}
		for k, v := range f.Header {
			h.Set(k, v)
		}
		b := f.Body
		if b == "" {
			b = s.defaultBody(f.Status)
		}
		return reply{status: f.Status, header: h, body: []byte(b)}, true
	}
	return reply{}, false
}

// authenticate checks the Bearer token: private tells a private-app
// token, whose responses carry the daily headers.
func (s *Server) authenticate(r *http.Request) (private bool, rep reply, ok bool) {
	tok, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	if !found || tok == "" {
		return false, s.errorReply(http.StatusUnauthorized, "INVALID_AUTHENTICATION", InvalidAuthMessage), false
	}
	if s.opts.PrivateToken != "" && tok == s.opts.PrivateToken {
		return true, reply{}, true
	}
	exp, issued := s.tokens[tok]
	switch {
	case !issued:
		return false, s.errorReply(http.StatusUnauthorized, "INVALID_AUTHENTICATION", InvalidAuthMessage), false
	case !s.now().Before(exp):
		return false, reply{status: http.StatusUnauthorized, body: []byte(s.expiredBody(exp))}, false
	}
	return false, reply{}, true
}

// admit applies the daily, ten-secondly and search limits and returns the
// rate-limit headers of the answer.
func (s *Server) admit(search, private bool) (http.Header, reply, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	h := http.Header{}
	if s.opts.Daily >= 0 && s.daily >= s.opts.Daily {
		if !search {
			s.announce(h, now, private)
		}
		return h, reply{status: http.StatusTooManyRequests, header: h, body: []byte(s.rateBody(DailyMessage, "DAILY"))}, false
	}
	if search {
		if n := s.opts.SearchPerSecond; n >= 0 {
			s.searches = prune(s.searches, now.Add(-time.Second))
			if len(s.searches) >= n {
				return h, reply{status: http.StatusTooManyRequests, header: h, body: []byte(s.rateBody(SecondlyMessage, "SECONDLY"))}, false
			}
			s.searches = append(s.searches, now)
		}
		s.daily++
		return h, reply{}, true // search answers carry no rate-limit headers
	}
	limited := s.opts.Burst >= 0
	if limited {
		s.burst = prune(s.burst, now.Add(-s.opts.Interval))
	}
	ok := !limited || len(s.burst) < s.opts.Burst
	if ok && limited {
		s.burst = append(s.burst, now)
	}
	if ok {
		s.daily++
	}
	s.announce(h, now, private)
	if !ok {
		return h, reply{status: http.StatusTooManyRequests, header: h, body: []byte(s.rateBody(TenSecondlyMessage, "TEN_SECONDLY_ROLLING"))}, false
	}
	return h, reply{}, true
}

// announce sets the rate-limit headers HubSpot sends on every answer but
// search's: the burst window (X-HubSpot-RateLimit-Max requests per
// -Interval-Milliseconds, -Remaining of them left) and, to private apps,
// the daily allocation. It needs s.mu.
func (s *Server) announce(h http.Header, now time.Time, private bool) {
	if n := s.opts.Burst; n >= 0 {
		s.burst = prune(s.burst, now.Add(-s.opts.Interval))
		h.Set("X-HubSpot-RateLimit-Max", strconv.Itoa(n))
		h.Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(max(n-len(s.burst), 0)))
		h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", strconv.FormatInt(s.opts.Interval.Milliseconds(), 10))
	}
	if private && s.opts.Daily >= 0 {
		h.Set("X-HubSpot-RateLimit-Daily", strconv.Itoa(s.opts.Daily))
		h.Set("X-HubSpot-RateLimit-Daily-Remaining", strconv.Itoa(max(s.opts.Daily-s.daily, 0)))
	}
}

// prune drops the times before since from the front of ts.
func prune(ts []time.Time, since time.Time) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(since) {
		i++
	}
	return ts[i:]
}

// route dispatches an authenticated, admitted request.
func (s *Server) route(req Request) reply {
	p := req.Path
	switch {
	case p == OwnersPath || p == OwnersPath+"/":
		return s.onlyGet(req, s.listOwners)
	case p == AccountInfoPath:
		return s.onlyGet(req, s.accountInfo)
	case strings.HasPrefix(p, "/crm/v4/associations/"):
		return s.onlyPost(req, s.batchAssociations)
	case strings.HasPrefix(p, "/crm/v3/objects/"):
		rest := strings.TrimPrefix(p, "/crm/v3/objects/")
		if kind, ok := strings.CutSuffix(rest, "/search"); ok {
			return s.withKind(Kind(kind), req, http.MethodPost, s.search)
		}
		return s.withKind(Kind(rest), req, http.MethodGet, s.list)
	}
	return s.notFound()
}

func (s *Server) withKind(k Kind, req Request, method string, h func(Kind, Request) reply) reply {
	if _, ok := s.tables[k]; !ok {
		return s.notFound()
	}
	if req.Method != method {
		return s.errorReply(http.StatusMethodNotAllowed, "VALIDATION_ERROR", "Method not allowed")
	}
	return h(k, req)
}

func (s *Server) onlyGet(req Request, h func(Request) reply) reply {
	if req.Method != http.MethodGet {
		return s.errorReply(http.StatusMethodNotAllowed, "VALIDATION_ERROR", "Method not allowed")
	}
	return h(req)
}

func (s *Server) onlyPost(req Request, h func(Request) reply) reply {
	if req.Method != http.MethodPost {
		return s.errorReply(http.StatusMethodNotAllowed, "VALIDATION_ERROR", "Method not allowed")
	}
	return h(req)
}

func (s *Server) notFound() reply {
	return s.errorReply(http.StatusNotFound, "OBJECT_NOT_FOUND", "Resource not found")
}

// jsonReply is a 200 with body.
func jsonReply(status int, b *bytes.Buffer) reply {
	return reply{status: status, body: b.Bytes()}
}

// correlationID returns a new uuid-shaped id for error bodies.
func (s *Server) correlationID() string {
	return fmt.Sprintf("c033cdaa-2c40-4a64-a6e3-%012d", s.seq.Add(1))
}
