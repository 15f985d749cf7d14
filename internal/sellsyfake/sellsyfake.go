// Package sellsyfake is an httptest fake of the parts of the Sellsy API
// v2 and of its OAuth2 token endpoint that crmsync's Sellsy connector
// uses, for tests and benchmarks. One server plays both hosts:
//
//   - POST /oauth2/access-tokens: the client_credentials grant (a
//     personal client) and the refresh_token grant, which rotates the
//     refresh token (the one sent stops working); JSON or form bodies;
//     {"token_type":"Bearer","expires_in":N,"access_token":...} answers,
//     OAuth2 error bodies ({"error":"invalid_client",...}) on refusal;
//   - under /v2: GET /staffs, POST /companies/search,
//     /individuals/search, /contacts/search, /opportunities/search and
//     /activities/crm/search with their documented filters (an unknown
//     filter key answers 400, the schemas having additionalProperties
//     false), GET /contacts/{id}/companies and GET
//     /{companies|individuals|contacts}/{id}.
//
// Lists answer {"data":[...],"pagination":{"limit","count","total",
// "offset"}}: limit defaults to 25 and may not exceed 100; offset is
// opaque (seek mode: base64 of the sort value and id of the page's last
// object, as in the documented example) unless the first request sends
// offset=0, which selects numeric offsets, refused past
// Options.NumericCap results (100,000, as documented). ExpireOffsets
// makes the seek offsets issued so far answer 400.
//
// Every API answer carries X-Quota-Remaining-By-{Second,Minute,Day,
// Month}; a request while a quota is spent answers 429 with Sellsy's
// error body. Quotas count per calendar second and minute of the fake's
// clock (Options.Second and Options.Minute, scaled down in benchmarks),
// and errors count too, as documented. Errors carry Sellsy's envelope
// {"error":{"code","message","context","details"}}.
//
// Tests seed records (Seed, SeedDocumented, Put), change and delete them
// between syncs, expire tokens (ExpireTokens), script failures
// (FailNext, Deny, TruncateEvery) and assert on counters (Count,
// Requests, Throttled). A Server is safe for concurrent use and never
// sleeps.
package sellsyfake

import (
	"cmp"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/internal/faults"
)

// Defaults of Options, and Sellsy's documented limits.
const (
	DefaultClientID     = "sellsy-fake-client"
	DefaultClientSecret = "sellsy-fake-secret"
	// DefaultRefreshToken is the refresh token accepted first.
	DefaultRefreshToken = "sellsy-fake-refresh-0"
	DefaultTokenLife    = 3600 * time.Second
	// DefaultSecondQuota and DefaultMinuteQuota are the quotas observed
	// (about 149 requests a minute); Sellsy publishes none.
	DefaultSecondQuota = 25
	DefaultMinuteQuota = 149
	DefaultDayQuota    = 100_000
	monthQuota         = 1_000_000
	// MaxLimit is the largest page.
	MaxLimit = 100
	// DefaultLimit is the page size without a limit.
	DefaultLimit = 25
	// DefaultNumericCap is where numeric offsets stop: "the first
	// 100,000 results".
	DefaultNumericCap = 100_000
	// APIPath is the API root the fake serves.
	APIPath = "/v2"
	// TokenPath is the token endpoint's path.
	TokenPath = "/oauth2/access-tokens"
)

// Request kinds, as counted by Count and passed to hooks.
const (
	KindToken         = "token"
	KindStaffs        = "staffs"
	KindCompanies     = "companies"
	KindIndividuals   = "individuals"
	KindContacts      = "contacts"
	KindOpportunities = "opportunities"
	KindActivities    = "activities"
	KindLinks         = "contact-companies" // GET /contacts/{id}/companies
	KindOther         = "other"
)

// Options configure a Server. Zero fields take the defaults above.
type Options struct {
	ClientID     string
	ClientSecret string
	RefreshToken string // the first refresh token accepted
	// TokenLifetime is expires_in of issued tokens; they answer 401 that
	// long after issue on Now's clock.
	TokenLifetime time.Duration
	// SecondQuota, MinuteQuota and DayQuota are the requests allowed per
	// calendar second, minute and day.
	SecondQuota, MinuteQuota, DayQuota int
	// Second and Minute are the lengths of the quota windows (1s and 1m;
	// benchmarks shrink them to measure pacing quickly).
	Second, Minute time.Duration
	// NumericCap is how many results numeric offsets reach.
	NumericCap int
	// Now is the clock of tokens, quotas and updated_at.
	Now func() time.Time
}

// Request is one request the Server received (Requests lists them).
type Request struct {
	Kind   string // what Count counts
	Method string
	Path   string
	Query  string
	Body   string // the JSON body of a search; never a token request's
	Status int
}

// Server is a running fake of one Sellsy account.
type Server struct {
	opts Options

	mu       sync.Mutex
	data     map[string]*collection
	links    map[int][]int // contact id → company ids
	seq      map[string]int
	tokens   map[string]time.Time // access token → expiry
	refresh  string
	tokenSeq int
	offsets  map[string]bool // seek offsets issued and still valid
	quota    quotaState

	kit      // requests, counts, hook, truncation
	refusals // FailNext, Deny, Allow
}

// New starts a Server with an empty account; Close stops it.
func New(opts Options) *Server {
	s := &Server{
		opts:    withDefaults(opts),
		data:    map[string]*collection{},
		links:   map[int][]int{},
		seq:     map[string]int{},
		tokens:  map[string]time.Time{},
		offsets: map[string]bool{},
	}
	s.refresh = s.opts.RefreshToken
	for _, k := range []string{KindStaffs, KindCompanies, KindIndividuals, KindContacts, KindOpportunities, KindActivities} {
		s.data[k] = &collection{byID: map[int]*record{}}
	}
	faults.Start(&s.kit, s.serve)
	return s
}

func withDefaults(o Options) Options {
	o.ClientID = cmp.Or(o.ClientID, DefaultClientID)
	o.ClientSecret = cmp.Or(o.ClientSecret, DefaultClientSecret)
	o.RefreshToken = cmp.Or(o.RefreshToken, DefaultRefreshToken)
	pos := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	pos(&o.TokenLifetime, DefaultTokenLife)
	pos(&o.Second, time.Second)
	pos(&o.Minute, time.Minute)
	num := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	num(&o.SecondQuota, DefaultSecondQuota)
	num(&o.MinuteQuota, DefaultMinuteQuota)
	num(&o.DayQuota, DefaultDayQuota)
	num(&o.NumericCap, DefaultNumericCap)
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// URL is the API host (no trailing slash); the API is URL()+APIPath.
func (s *Server) URL() string { return s.kit.URL() }

// TokenURL is the token endpoint on the Server.
func (s *Server) TokenURL() string { return s.URL() + TokenPath }

// Options returns the options the Server runs with, defaults filled in.
func (s *Server) Options() Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts
}

// kindOf tells what a request is.
func kindOf(r *http.Request) string {
	if r.URL.Path == TokenPath {
		return KindToken
	}
	rest, ok := strings.CutPrefix(r.URL.Path, APIPath+"/")
	if !ok {
		return KindOther
	}
	parts := strings.Split(rest, "/")
	switch {
	case rest == "staffs":
		return KindStaffs
	case rest == "activities/crm/search":
		return KindActivities
	case len(parts) == 3 && parts[0] == "contacts" && parts[2] == "companies":
		return KindLinks
	case len(parts) == 2 && (parts[1] == "search" || isID(parts[1])):
		switch parts[0] {
		case KindCompanies, KindIndividuals, KindContacts, KindOpportunities:
			return parts[0]
		}
	}
	return KindOther
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	kind := kindOf(r)
	body := readBody(r)
	faults.Serve(&s.kit, w, func(w http.ResponseWriter) {
		if kind == KindToken {
			faults.Admit(&s.kit, kind)
			s.serveToken(w, r, body)
			body = nil // never keep credentials
		} else {
			s.serveAPI(w, r, kind, body)
		}
	}, func(status int) Request {
		return Request{Kind: kind, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body), Status: status}
	})
}

// serveAPI checks the quotas, the token and injected faults, then answers
// an API request.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, kind string, body []byte) {
	if !s.admit(w) {
		return
	}
	if !s.authorize(w, r) {
		return
	}
	faults.Admit(&s.kit, kind)
	if status, ok := faults.TakeFault(&s.refusals.Failures); ok {
		writeFault(w, status)
		return
	}
	if kind == KindOther {
		writeError(w, http.StatusNotFound, "Not found", "route_not_found", nil)
		return
	}
	if faults.IsDenied(&s.refusals.Denials, kind) {
		writeError(w, http.StatusForbidden, "Forbidden: the client lacks the scope "+scopeOf(kind), "insufficient_scope", nil)
		return
	}
	s.answer(w, r, kind, body)
}

// scopeOf is the read scope a kind of request needs.
func scopeOf(kind string) string {
	switch kind {
	case KindLinks:
		return "contacts.read"
	case KindActivities:
		return "activities.read"
	}
	return kind + ".read"
}

// isID reports whether s is a record id: decimal digits.
func isID(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }
