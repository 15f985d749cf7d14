// Package sellsy is the connector for the Sellsy API v2 (type: sellsy).
// It reads staff (owners), companies and individuals (accounts),
// contacts and opportunities (deals) and maps them onto the canonical
// model; an account's or a contact's last activity is the latest date of
// its CRM activities (POST /activities/crm/search).
//
// Auth is OAuth2 at https://login.sellsy.com/oauth2/access-tokens, with
// JSON bodies as Sellsy's examples send them: the client_credentials
// grant for a personal API client (client_id, client_secret; no refresh
// token, a new access token is asked for when one expires), or the
// refresh_token grant for a private or public client whose first refresh
// token was obtained outside crmsync through the authorization code flow
// with PKCE. Sellsy rotates refresh tokens: each refresh answers a new one
// and the old one stops working, so Auth.OnRotate hears of every new one
// for the store to keep. Access tokens are renewed a minute before their
// expires_in; a 401 forces a new one once, then fails with
// connectors.ErrAuth, as does a 403 (a scope missing on the client).
//
// Ids: since August 2024 every Sellsy account numbers its objects on its
// own, and companies, individuals, contacts and opportunities have
// separate sequences. External ids therefore name the Sellsy account and
// the kind of object: "{account}-company-51234", "{account}-individual-7",
// "{account}-contact-770501", "{account}-opportunity-300112",
// "{account}-staff-4011" (Options.AccountID).
//
// Incremental reads use the search endpoints' filters: companies and
// individuals filters.updated_at (ordered by updated_at), contacts
// filters.updated. Each read keeps, per object, the latest update time
// seen ("companies.since"); the next read asks from that time less
// Options.Overlap. While a read pages, its opaque seek offset is kept
// ("companies.offset", with the filter start in "companies.from"), so a
// pull that stops resumes at the next page; an offset Sellsy refuses is
// dropped and the read starts over from its filter. Numeric offsets, which
// stop after 100,000 results, are never used.
//
// Opportunities have no "modified since" filter: only created,
// updated_status (the last status change) and due_date. A pull reads the
// opportunities created since the last one and those whose status changed
// since the last one or within Options.WonRescan (default 30 days),
// whichever is earlier: a deal won is read when it is won, and an edit of
// its amount (which moves no date Sellsy filters on) is caught by this
// rescan while the win is recent; older edits are caught by the periodic
// full re-read. Webhooks could bring them sooner, but their payload and
// signature are not documented, so they are not used.
//
// Deletions: the search endpoints return no deleted objects, so every
// Options.FullEvery (default 7 days) a pull reads everything again after
// calling Options.BeginSweep, and the store removes, at the end of the
// sync, what was not seen again. Archived companies, individuals and
// contacts (is_archived) are handed over as deletions when read.
//
// Contacts link to companies many-to-many, and a contact names none of
// them: a contact is filed under the company it is the main contact of,
// else the lowest-numbered company it is linked to (GET
// /contacts/{id}/companies, one request per contact that is no company's
// main contact in the pull), else none. Each individual is also handed
// over as its own contact ("{account}-individual-{id}-contact"), its
// account's primary contact, so B2C clients can be emailed.
//
// Pacing follows the X-Quota-Remaining-By-{Second,Minute,Day} headers
// every answer carries: when a quota reaches zero, the next request waits
// for the next second or minute (Options.Second, Options.Minute); when
// the day's remaining falls to Options.DailyReserve, the pull stops with
// a *connectors.StopError resuming the next day (UTC). A 429 waits the
// same way (Sellsy sends no Retry-After) and is retried; a 5xx, a network
// error or a body that does not decode is retried with capped backoff.
package sellsy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/crmhttp"
)

// Defaults of Options.
const (
	DefaultBaseURL  = "https://api.sellsy.com"
	DefaultTokenURL = "https://login.sellsy.com/oauth2/access-tokens"
	DefaultPageSize = 100
	// MaxPageSize is Sellsy's largest limit.
	MaxPageSize      = 100
	DefaultFullEvery = 7 * 24 * time.Hour
	DefaultWonRescan = 30 * 24 * time.Hour
	DefaultOverlap   = time.Minute
)

// defaultHTTPTimeout bounds one request when Options.HTTPClient is nil.
const defaultHTTPTimeout = 2 * time.Minute

var _ connectors.Connector = (*Connector)(nil)

// Options configure a Connector.
type Options struct {
	// Source names the source: the prefix of internal ids and the Source
	// of rejects. Required.
	Source string
	// AccountID is the Sellsy account's id (Settings, Account), which
	// scopes every external id. Required.
	AccountID string
	// BaseURL is the API host (default https://api.sellsy.com); the API
	// is under /v2.
	BaseURL string
	// Auth holds the API client's credentials.
	Auth Auth
	// Mapping says which fields feed the model; its zero parts take
	// DefaultMapping's.
	Mapping connectors.Mapping
	// PageSize is the limit of list and search requests, 1..100 (default
	// 100).
	PageSize int
	// FullEvery is how often a pull reads everything again to find
	// deletions (default 7 days); negative never does.
	FullEvery time.Duration
	// WonRescan is how far back the opportunities whose status changed
	// are read again by every pull, to catch amount edits (default 30
	// days); negative reads only those changed since the last pull.
	WonRescan time.Duration
	// Overlap is how far before the latest update seen the next read
	// starts (default a minute), for objects saved while a read ran.
	Overlap time.Duration
	// DailyReserve is how many of the day's requests a pull leaves to
	// the account's other integrations: it stops when
	// X-Quota-Remaining-By-Day falls to it (default 0).
	DailyReserve int
	// Second and Minute are the quota windows (1s and 1m; tests shrink
	// them together with the fake's).
	Second, Minute time.Duration
	// BeginSweep, when set, is called before a periodic full re-read, so
	// that the records not seen again are removed at the end of the sync
	// (store.Records.BeginSweep for this source).
	BeginSweep func(ctx context.Context, at time.Time) error
	// HTTPClient is the base client of API and token requests; nil uses
	// one with a 2-minute timeout.
	HTTPClient *http.Client
	// Logger receives warnings and progress; nil discards them.
	Logger *slog.Logger
	// Now is the clock of rejects, watermarks and quota windows; nil is
	// time.Now.
	Now func() time.Time
	// Attempts, BackoffBase and BackoffMax shape the retries (defaults 6,
	// 500ms and 30s; tests make them short).
	Attempts                int
	BackoffBase, BackoffMax time.Duration
}

// Auth holds a Sellsy API client's credentials: ClientID and
// ClientSecret alone (client credentials, a personal client), or with
// RefreshToken (a private or public client).
type Auth struct {
	ClientID     string
	ClientSecret string
	// RefreshToken is the latest refresh token of the authorization code
	// flow; empty selects client credentials.
	RefreshToken string
	// OnRotate, when set, hears of each new refresh token Sellsy issues.
	OnRotate func(ctx context.Context, refreshToken string)
	// TokenURL overrides the token endpoint (default DefaultTokenURL).
	TokenURL string
}

// Connector pulls one Sellsy account. A source is meant to be pulled by
// one sync at a time.
type Connector struct {
	opts    Options
	api     string // {BaseURL}/v2
	mapping connectors.Mapping
	logger  *slog.Logger
	tokens  *crmhttp.Tokens
	quota   *quota
	client  *crmhttp.Client
}

// New checks opts and returns a Connector. Nothing is sent before the
// first Pull.
func New(opts Options) (*Connector, error) {
	opts, err := withDefaults(opts)
	if err != nil {
		return nil, fmt.Errorf("sellsy: source %q: %w", opts.Source, err)
	}
	mapping := opts.Mapping.WithDefaults(DefaultMapping)
	if err := checkMapping(mapping); err != nil {
		return nil, fmt.Errorf("sellsy: source %q: %w", opts.Source, err)
	}
	fetch, err := newFetch(opts)
	if err != nil {
		return nil, fmt.Errorf("sellsy: source %q: %w", opts.Source, err)
	}
	c := &Connector{
		opts:    opts,
		api:     opts.BaseURL + "/v2",
		mapping: mapping,
		logger:  opts.Logger.With("connector", "sellsy", "source", opts.Source),
		quota:   newQuota(opts),
	}
	c.tokens = crmhttp.NewTokens(fetch, opts.Auth.RefreshToken, 0)
	c.tokens.OnRotate = opts.Auth.OnRotate
	c.client = crmhttp.NewOAuthClient(opts.HTTPClient, c.tokens, crmhttp.Client{
		Limiters:  []crmhttp.Limiter{c.quota},
		Classify:  c.classify,
		Attempts:  opts.Attempts,
		BaseDelay: opts.BackoffBase,
		MaxDelay:  opts.BackoffMax,
	})
	return c, nil
}

// withDefaults fills opts' zero fields and checks the others.
func withDefaults(o Options) (Options, error) {
	if o.Source == "" {
		return o, errors.New("source name required")
	}
	if o.AccountID == "" || strings.Trim(o.AccountID, "0123456789") != "" {
		return o, fmt.Errorf("account_id %q: want the Sellsy account's number", o.AccountID)
	}
	base, err := crmhttp.CheckBaseURL(strings.TrimSuffix(strings.TrimRight(cmp.Or(o.BaseURL, DefaultBaseURL), "/"), "/v2"), DefaultBaseURL)
	if err != nil {
		return o, fmt.Errorf("base url: %w", err)
	}
	o.BaseURL = base
	o.PageSize = cmp.Or(o.PageSize, DefaultPageSize)
	if o.PageSize < 1 || o.PageSize > MaxPageSize {
		return o, fmt.Errorf("page size %d: want 1 to %d", o.PageSize, MaxPageSize)
	}
	o.FullEvery = cmp.Or(o.FullEvery, DefaultFullEvery)
	o.WonRescan = cmp.Or(o.WonRescan, DefaultWonRescan)
	o.Overlap = cmp.Or(o.Overlap, DefaultOverlap)
	o.Second = cmp.Or(o.Second, time.Second)
	o.Minute = cmp.Or(o.Minute, time.Minute)
	if o.Overlap < 0 || o.Second < 0 || o.Minute < 0 || o.DailyReserve < 0 {
		return o, errors.New("overlap, quota windows and daily reserve must not be negative")
	}
	crmhttp.FillDefaults(&o.HTTPClient, defaultHTTPTimeout, &o.Logger, &o.Now)
	return o, nil
}

// now returns the connector's clock in UTC.
func (c *Connector) now() time.Time { return c.opts.Now().UTC() }

// extID returns the external id of a Sellsy object of kind.
func (c *Connector) extID(kind, id string) string {
	return c.opts.AccountID + "-" + kind + "-" + id
}
