// Package salesforcefake is an httptest fake of the parts of the
// Salesforce REST API that crmsync's Salesforce connector uses, for tests
// and benchmarks:
//
//   - the OAuth token endpoint /services/oauth2/token with the JWT bearer
//     (RS256 assertion checked against a generated key pair), client
//     credentials and refresh token grants (with optional rotation), whose
//     responses carry an instance_url pointing at the fake and, like
//     Salesforce's, no expires_in;
//   - GET /services/data/vNN.N/query?q=<SOQL> for the subset of SOQL the
//     connector sends (a field list, FROM, the keyset WHERE on
//     SystemModstamp and Id, ORDER BY SystemModstamp ASC, Id ASC; or
//     WHERE Id IN ('id', ...), with or without that ORDER BY), with
//     snapshot cursors paged through nextRecordsUrl and the
//     Sforce-Query-Options batchSize header, on User, Account, Contact,
//     Opportunity, Task and Event;
//   - GET /services/data/vNN.N/sobjects/{SObject}/deleted/?start=&end=.
//
// LogActivity logs a Task or an Event and rolls the LastActivityDate of
// its account and contact up without touching their SystemModstamp, as
// Salesforce does, so that tests can check a client sees such changes.
//
// Every API answer carries Sforce-Limit-Info; a spent daily allocation
// answers 403 REQUEST_LIMIT_EXCEEDED. Whatever the fake does not accept is
// answered with Salesforce's own error bodies (400 MALFORMED_QUERY,
// INVALID_FIELD, INVALID_QUERY_FILTER_OPERATOR, 401 INVALID_SESSION_ID,
// 404 NOT_FOUND...), so a client that sends something wrong fails its tests.
//
// The fake is stricter than Salesforce in two documented ways: it accepts
// only the ORDER BY the connector needs (without it the order would be
// arbitrary; a query by Id IN needs none) and it refuses a batchSize
// outside 200..2000 instead of silently adjusting it. A request URI
// longer than MaxURILength is answered 414.
//
// Tests script failures with FailNext (server errors), FailTokens (OAuth
// refusals) and TruncateEvery, which cuts a deterministic share of the
// successful answers at half their length, as a dropped connection or a
// proxy may: alternately a short but complete response (its JSON ends
// mid-value) and one announcing its whole length whose connection closes
// halfway (reading the body fails); Truncated counts them.
//
// A Server is safe for concurrent use and never sleeps.
package salesforcefake

import (
	"cmp"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/crmsync/crmsync/internal/faults"
)

// Defaults of Options.
const (
	DefaultClientID     = "3MVG9fakeConsumerKey"
	DefaultClientSecret = "fake-consumer-secret"
	DefaultUsername     = "integration@example.com.acme"
	DefaultRefreshToken = "5Aep861fakeRefreshToken"
	DefaultAudience     = "https://login.salesforce.com"
	DefaultDailyLimit   = 100000
	DefaultAPIVersion   = "v66.0"
)

// MaxURILength is the longest request URI the API accepts: "In each REST
// call, the maximum length for the combined URI and headers is 16,384
// bytes ... If the URI itself exceeds this limit, the request returns a
// 414 URI Too Long error."
const MaxURILength = 16384

// Request kinds, as counted by Count and passed to hooks.
const (
	KindToken     = "token"     // POST /services/oauth2/token
	KindQuery     = "query"     // GET .../query?q=
	KindQueryMore = "queryMore" // GET .../query/<locator>-<offset>
	KindDeleted   = "deleted"   // GET .../sobjects/X/deleted/
	KindOther     = "other"     // anything else (answered 404)
)

// Options configure a Server. Zero fields take the defaults above.
type Options struct {
	ClientID     string // consumer key every grant must present
	ClientSecret string // consumer secret (client credentials; checked on refresh when sent)
	Username     string // the JWT subject accepted
	RefreshToken string // the refresh token accepted at first
	// Rotate turns refresh-token rotation on: each refresh answers a new
	// refresh token and invalidates the one used.
	Rotate bool
	// Audience is the JWT aud accepted.
	Audience string
	// DailyLimit is the org's daily API allocation.
	DailyLimit int
	// SessionTimeout expires access tokens that long after their issue on
	// Now's clock; 0 never expires them.
	SessionTimeout time.Duration
	// MaxBatch, when positive, caps the records of a query page below the
	// batchSize asked for ("there is no guarantee that the requested batch
	// size is the actual batch size"), so that tests page small data sets.
	MaxBatch int
	// LatestVersion is the latest API version served; later ones are 404.
	LatestVersion string
	// Now is the clock of record stamps, sessions and the delete log.
	Now func() time.Time
}

// Request is one request the Server received (Requests lists them).
type Request struct {
	Kind   string
	Path   string
	Query  url.Values
	SOQL   string // the q parameter of a query
	Header http.Header
	Status int
}

// Server is a running fake of a Salesforce org.
type Server struct {
	opts Options

	mu        sync.Mutex
	org       *org
	sessions  map[string]time.Time // access token → issued at
	refresh   map[string]bool      // refresh tokens accepted
	tokenSeq  int
	tokenErr  *oauthError // answered by the token endpoint when set
	used      int         // API requests counted today
	cursors   map[string]*cursor
	cursorSeq int

	kit      // requests, counts, hook, truncation
	failures // FailNext
}

// New starts a Server with an empty org; Close stops it.
func New(opts Options) *Server {
	opts = withDefaults(opts)
	s := &Server{
		opts:     opts,
		org:      newOrg(opts.Now),
		sessions: map[string]time.Time{},
		refresh:  map[string]bool{opts.RefreshToken: true},
		cursors:  map[string]*cursor{},
	}
	faults.Start(&s.kit, s.serve)
	return s
}

func withDefaults(o Options) Options {
	o.ClientID = cmp.Or(o.ClientID, DefaultClientID)
	o.ClientSecret = cmp.Or(o.ClientSecret, DefaultClientSecret)
	o.Username = cmp.Or(o.Username, DefaultUsername)
	o.RefreshToken = cmp.Or(o.RefreshToken, DefaultRefreshToken)
	o.Audience = cmp.Or(o.Audience, DefaultAudience)
	o.LatestVersion = cmp.Or(o.LatestVersion, DefaultAPIVersion)
	if o.DailyLimit <= 0 {
		o.DailyLimit = DefaultDailyLimit
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// URL is the login URL and the instance URL of the org (no trailing slash).
func (s *Server) URL() string { return s.kit.URL() }

// Options returns the options the Server runs with, defaults filled in.
func (s *Server) Options() Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts
}

var (
	queryMorePath = regexp.MustCompile(`^/services/data/(v\d+\.\d)/query/([A-Za-z0-9]+)-(\d+)$`)
	queryPath     = regexp.MustCompile(`^/services/data/(v\d+\.\d)/query/?$`)
	deletedPath   = regexp.MustCompile(`^/services/data/(v\d+\.\d)/sobjects/([A-Za-z0-9_]+)/deleted/?$`)
	versionPath   = regexp.MustCompile(`^/services/data/(v\d+\.\d)/`)
)

// kindOf tells what a request is.
func kindOf(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/services/oauth2/token":
		return KindToken
	case queryPath.MatchString(p):
		return KindQuery
	case queryMorePath.MatchString(p):
		return KindQueryMore
	case deletedPath.MatchString(p):
		return KindDeleted
	}
	return KindOther
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	kind := kindOf(r)
	faults.Admit(&s.kit, kind)
	faults.Serve(&s.kit, w, func(w http.ResponseWriter) {
		if kind == KindToken {
			s.serveToken(w, r)
		} else {
			s.serveAPI(w, r, kind)
		}
	}, func(status int) Request {
		entry := Request{Kind: kind, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Status: status}
		entry.SOQL = entry.Query.Get("q")
		if kind == KindToken {
			entry.Query, entry.Header = nil, nil // never keep credentials
		}
		return entry
	})
}

// serveAPI checks the session, injected faults and the daily allocation,
// then answers a REST API request.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, kind string) {
	if len(r.URL.RequestURI()) > MaxURILength {
		http.Error(w, "URI Too Long", http.StatusRequestURITooLong)
		return
	}
	if r.Method != http.MethodGet {
		writeErrors(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "HTTP Method '"+r.Method+"' not allowed. Allowed are GET")
		return
	}
	if !s.authorized(r) {
		writeErrors(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
		return
	}
	if status, ok := faults.TakeFault(&s.failures); ok {
		writeFault(w, status)
		return
	}
	if !s.countRequest(w) {
		writeErrors(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
		return
	}
	if !s.versionServed(r.URL.Path) {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	switch kind {
	case KindQuery:
		s.serveQuery(w, r)
	case KindQueryMore:
		s.serveQueryMore(w, r)
	case KindDeleted:
		s.serveDeleted(w, r)
	default:
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	}
}

// countRequest counts an API request against the daily allocation and
// sets Sforce-Limit-Info; false when the allocation is spent.
func (s *Server) countRequest(w http.ResponseWriter) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ok := s.used < s.opts.DailyLimit
	if ok {
		s.used++
	}
	w.Header().Set("Sforce-Limit-Info", "api-usage="+strconv.Itoa(s.used)+"/"+strconv.Itoa(s.opts.DailyLimit))
	return ok
}

// versionServed reports whether the API version in path exists (v31.0 up
// to the latest served).
func (s *Server) versionServed(path string) bool {
	m := versionPath.FindStringSubmatch(path)
	if m == nil {
		return false
	}
	v, err := strconv.ParseFloat(m[1][1:], 64)
	latest, _ := strconv.ParseFloat(s.opts.LatestVersion[1:], 64)
	return err == nil && v >= 31 && v <= latest
}
