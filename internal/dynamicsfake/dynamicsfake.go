// Package dynamicsfake is an httptest fake of the parts of Microsoft
// Dynamics 365 (the Dataverse Web API) and of the Microsoft Entra v2
// token endpoint that crmsync's Dynamics connector uses, for tests and
// benchmarks. One server plays both hosts:
//
//   - POST /{tenant}/oauth2/v2.0/token: the client credentials grant with
//     a client_secret, or with a client_assertion (an RS256 or PS256 JWT
//     whose signature is checked against the registered certificate), for
//     the scope {org}/.default; tokens expire after Options.TokenLifetime
//     and errors carry Entra's body (error, error_description with an
//     AADSTS code, error_codes, timestamp, trace_id, correlation_id,
//     error_uri);
//   - GET /api/data/v9.2/{accounts|contacts|opportunities|systemusers|
//     activitypointers|organizations|transactioncurrencies} with $select, a documented subset of $filter (see
//     filter.go), $orderby, $top, $apply (filter/groupby/aggregate), the
//     Prefer preferences odata.maxpagesize (paged through @odata.nextLink
//     with a $skiptoken paging cookie), odata.include-annotations and
//     odata.track-changes (@odata.deltaLink, then changed rows and
//     $deletedEntity stubs), and GET /api/data/v9.2/{set}({id}).
//
// Service protection is enforced per user (the application user of the
// token's client id): a sliding window of Options.WindowRequests requests
// per Options.Window and at most Options.MaxConcurrent requests in
// flight; over either, the answer is 429 with Retry-After and Dataverse's
// error body. 401 answers have an empty body and a WWW-Authenticate
// header, as Dataverse's do.
//
// The fake is stricter than Dataverse where a looser client would go
// wrong unnoticed: a $skiptoken is refused (400) when the rest of the
// query or the odata.maxpagesize preference changed, and any $filter
// outside the subset answers 400 rather than being evaluated.
//
// Tests seed records (Seed, SeedDocumented, Upsert), change and delete
// them between syncs, expire tokens (ExpireTokens, ExpireDeltaTokens),
// script failures (FailNext, TruncateEvery, Deny) and assert on counters
// (Count, Statuses, Throttled, MaxConcurrency, Requests). A Server is safe
// for concurrent use and never sleeps.
package dynamicsfake

import (
	"cmp"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/internal/faults"
)

// Defaults of Options, and Dataverse's documented limits.
const (
	DefaultTenantID     = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	DefaultClientID     = "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
	DefaultClientSecret = "fake~client~secret.value"
	// DefaultAppUserID is the systemuserid of the application user that
	// Dataverse maps the client id to (named in 403 messages).
	DefaultAppUserID = "9a8b7c6d-0000-ed11-b83e-000d3a572421"
	// DefaultOrganizationID is the organizationid of the one row of
	// organizations, which carries expirechangetrackingindays.
	DefaultOrganizationID = "0d1c2b3a-0000-ed11-b83e-000d3a572421"
	// USDCurrencyID is the transactioncurrencyid of the base currency (US
	// Dollar), the one the documented examples use.
	USDCurrencyID    = "d3a4b5c6-3333-ed11-b83e-000d3a572421"
	DefaultTokenLife = 3599 * time.Second
	// DefaultWindowRequests is "6,000 requests per 5-minute sliding window".
	DefaultWindowRequests = 6000
	// DefaultWindow is the sliding window of service protection.
	DefaultWindow = 5 * time.Minute
	// DefaultMaxConcurrent is "Number of concurrent requests exceeded the
	// limit of 52".
	DefaultMaxConcurrent = 52
	// DefaultChangeTrackingExpiry is ExpireChangeTrackingInDays' default.
	DefaultChangeTrackingExpiry = 7 * 24 * time.Hour
	// MaxPageSize is the largest odata.maxpagesize served; larger asks
	// are served at this size.
	MaxPageSize = 5000
	// AggregateLimit is the most records an $apply aggregate covers.
	AggregateLimit = 50000
	// APIPath is the Web API root the fake serves.
	APIPath = "/api/data/v9.2/"
)

// Request kinds, as counted by Count and passed to hooks; an entity set
// name (KindAccounts...) for API requests.
const (
	KindToken            = "token"
	KindAccounts         = "accounts"
	KindContacts         = "contacts"
	KindOpportunities    = "opportunities"
	KindSystemUsers      = "systemusers"
	KindActivityPointers = "activitypointers"
	KindOrganizations    = "organizations"
	KindCurrencies       = "transactioncurrencies"
	KindOther            = "other"
)

// Options configure a Server. Zero fields take the defaults above.
type Options struct {
	TenantID     string // the tenant of the token path
	ClientID     string // the application (client) id
	ClientSecret string // the secret accepted; "" keeps DefaultClientSecret
	// Certificate is the certificate registered on the app for client
	// assertions; nil registers Certificate() (generated once per process).
	Certificate *CertificateKey
	// OrgURL is the environment URL whose "/.default" scope is accepted;
	// "" accepts the Server's own URL.
	OrgURL string
	// TokenLifetime is expires_in of issued tokens; they answer 401 that
	// long after issue on Now's clock.
	TokenLifetime time.Duration
	// WindowRequests and Window are the per-user sliding window.
	WindowRequests int
	Window         time.Duration
	// MaxConcurrent caps the requests of one user in flight.
	MaxConcurrent int
	// ConcurrencyRetryAfter is the Retry-After of a concurrency 429
	// (default one second).
	ConcurrencyRetryAfter time.Duration
	// ChangeTrackingExpiry is how long a delta token stays valid.
	ChangeTrackingExpiry time.Duration
	// NoChangeTracking lists entity sets whose table has change tracking
	// off: odata.track-changes is not applied to them.
	NoChangeTracking []string
	// Now is the clock of tokens, windows, modifiedon and delta tokens.
	Now func() time.Time
}

// Request is one request the Server received (Requests lists them).
type Request struct {
	Kind   string // KindToken, an entity set name, KindOther: what Count counts
	Path   string
	Query  url.Values // nil for token requests: never keep credentials
	Prefer string
	Status int
}

// Server is a running fake of a Dataverse environment and its tenant.
type Server struct {
	opts Options

	mu         sync.Mutex
	tables     map[string]*table
	version    int64 // row version: bumped by every change
	deltaFloor int64 // delta tokens below this version are expired
	tokens     map[string]tokenInfo
	tokenSeq   int
	tokenErr   *entraError
	cursors    map[string]*cursor
	cursorSeq  int
	users      map[string]*userLoad
	maxSeen    int
	noTracking map[string]bool

	kit      // requests, counts, hook, truncation
	refusals // FailNext, Deny, Allow
}

// New starts a Server with an empty environment; Close stops it.
func New(opts Options) *Server {
	opts = withDefaults(opts)
	s := &Server{
		opts:       opts,
		tables:     newTables(),
		tokens:     map[string]tokenInfo{},
		cursors:    map[string]*cursor{},
		users:      map[string]*userLoad{},
		noTracking: map[string]bool{},
	}
	if _, err := s.upsertLocked(KindOrganizations, map[string]any{ // the environment's one row
		"organizationid": DefaultOrganizationID, "name": "acme",
		"expirechangetrackingindays": int(opts.ChangeTrackingExpiry / (24 * time.Hour)),
	}, ""); err != nil {
		panic(err) // the row above fits its table
	}
	if _, err := s.upsertLocked(KindCurrencies, map[string]any{ // the base currency
		"transactioncurrencyid": USDCurrencyID, "isocurrencycode": "USD", "currencyname": "US Dollar",
		"currencysymbol": "$", "exchangerate": 1.0, "statecode": 0,
	}, ""); err != nil {
		panic(err)
	}
	for _, set := range opts.NoChangeTracking {
		s.noTracking[set] = true
	}
	faults.Start(&s.kit, s.serve)
	return s
}

func withDefaults(o Options) Options {
	o.TenantID = cmp.Or(o.TenantID, DefaultTenantID)
	o.ClientID = cmp.Or(o.ClientID, DefaultClientID)
	o.ClientSecret = cmp.Or(o.ClientSecret, DefaultClientSecret)
	if o.Certificate == nil {
		o.Certificate = Certificate()
	}
	pos := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	pos(&o.TokenLifetime, DefaultTokenLife)
	pos(&o.Window, DefaultWindow)
	pos(&o.ConcurrencyRetryAfter, time.Second)
	pos(&o.ChangeTrackingExpiry, DefaultChangeTrackingExpiry)
	if o.WindowRequests <= 0 {
		o.WindowRequests = DefaultWindowRequests
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = DefaultMaxConcurrent
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// URL is the environment URL and the login host (no trailing slash).
func (s *Server) URL() string { return s.kit.URL() }

// APIURL is the Web API root, URL()+APIPath.
func (s *Server) APIURL() string { return s.URL() + APIPath }

// TokenURL is the tenant's v2 token endpoint on the Server.
func (s *Server) TokenURL() string {
	return s.URL() + "/" + s.opts.TenantID + "/oauth2/v2.0/token"
}

// Scope is the scope a client must ask for: the org URL + "/.default".
func (s *Server) Scope() string { return s.orgURL() + "/.default" }

func (s *Server) orgURL() string {
	if s.opts.OrgURL != "" {
		return strings.TrimSuffix(s.opts.OrgURL, "/")
	}
	return s.URL()
}

// Options returns the options the Server runs with, defaults filled in.
func (s *Server) Options() Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts
}

// kindOf tells what a request is.
func kindOf(r *http.Request) string {
	p := r.URL.Path
	if strings.HasSuffix(p, "/oauth2/v2.0/token") {
		return KindToken
	}
	rest, ok := strings.CutPrefix(p, APIPath)
	if !ok {
		return KindOther
	}
	set, _, _ := strings.Cut(rest, "(")
	if _, ok := tableDefs[set]; ok {
		return set
	}
	return KindOther
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	kind := kindOf(r)
	faults.Serve(&s.kit, w, func(w http.ResponseWriter) {
		if kind == KindToken {
			faults.Admit(&s.kit, kind)
			s.serveToken(w, r)
		} else {
			s.serveAPI(w, r, kind)
		}
	}, func(status int) Request {
		entry := Request{Kind: kind, Path: r.URL.Path, Prefer: r.Header.Get("Prefer"), Status: status}
		if kind != KindToken { // never keep credentials
			entry.Query = r.URL.Query()
		}
		return entry
	})
}

// serveAPI checks the token, service protection and injected faults, then
// answers a Web API request.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, kind string) {
	user, ok := s.authorize(w, r)
	if !ok {
		return
	}
	release, ok := s.admit(w, user)
	if !ok {
		return
	}
	defer release()
	faults.Admit(&s.kit, kind)
	if status, ok := faults.TakeFault(&s.refusals.Failures); ok {
		writeFault(w, status)
		return
	}
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "0x80060888", "The fake serves GET requests only.")
		return
	}
	if kind == KindOther {
		seg := strings.TrimPrefix(r.URL.Path, APIPath)
		seg, _, _ = strings.Cut(seg, "(")
		writeError(w, http.StatusNotFound, "0x80060888", "Resource not found for the segment '"+seg+"'.")
		return
	}
	if faults.IsDenied(&s.refusals.Denials, kind) {
		writeError(w, http.StatusForbidden, CodePrivilege, privilegeMessage(tableDefs[kind], DefaultAppUserID))
		return
	}
	s.serveQuery(w, r, kind)
}
