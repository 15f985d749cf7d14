// Package hubspot is the connector for HubSpot CRM: companies (accounts),
// contacts, deals and owners, read through HubSpot's CRM v3 object APIs,
// v4 associations and the owners API, with a private-app token or an
// OAuth2 refresh token.
//
// # Pulls
//
// A pull lists the owners (all of them, active and deactivated, every
// time: the list is small), reads the portal's details once (for record
// URLs and the daily limit's time zone), then takes companies, contacts
// and deals in turn, each in up to three phases:
//
//   - Full: when the watermark holds no position for the object type, its
//     GET list endpoint is read with after cursors (no 10,000-result cap).
//     The time the first full phase started is kept in the watermark; when
//     a list is exhausted, the type switches to incremental from that time,
//     so records changed during the scan are read again right after.
//   - Incremental: the search API, filtered and sorted on the modified
//     property (lastmodifieddate for contacts, hs_lastmodifieddate for the
//     others), from the watermark. Search shows changes with a delay, so a
//     position is never saved past the pull's start less Overlap: the next
//     pull reads again what changed in that last stretch (and nothing
//     older, however long the portal stays quiet).
//   - Archived: the GET list with archived=true; records archived since the
//     last sweep (less Overlap) leave the portfolio through Batch.Deleted.
//     Records merged into another are listed in its hs_merged_object_ids
//     and leave too. Owners are never deleted: a deactivated rep's email
//     still says who owned an account.
//
// # Search paging
//
// Search pages with keyset queries rather than with its after offsets:
// every page is a fresh query from the last modified time seen (GTE),
// dropping the records already delivered at exactly that millisecond (the
// tie set). Offsets would hit the search API's 10,000-result cap, and a
// record modified while a sync pages through the results jumps to the end
// of the sort order, shifting an unread record into an offset already
// read; a keyset query cannot lose it. When a whole page is already
// delivered ties (more than 200 records in one millisecond), the pull
// walks that millisecond by hs_object_id (EQ time AND hs_object_id GT
// last id) and goes on after it. Each page costs one request, as offsets
// would.
//
// # Watermark
//
// Keys, per object type T (companies, contacts, deals); times are epoch
// milliseconds:
//
//	full.started     when the first full phase started; dropped once every type is incremental
//	T.after          list cursor of T's full phase
//	T.since          every record of T modified before it is delivered (start of the next search, inclusive)
//	T.ties           ids modified exactly at T.since already delivered, comma-separated
//	T.tie            while walking one millisecond by id: the last id delivered
//	T.archived       time of the last completed archived sweep
//	T.archived.after list cursor of the archived sweep under way
//	T.archived.next  what T.archived becomes when that sweep completes
//
// A page's watermark is safe to resume from once the page is stored: it
// never passes a record not yet delivered.
//
// # Rate limits
//
// Requests are paced proactively. Everything but search follows the burst
// window HubSpot announces on every answer (X-HubSpot-RateLimit-Max
// requests per X-HubSpot-RateLimit-Interval-Milliseconds): the pull sends
// at most Max less a 5% headroom (at least one request) per Interval, and
// holds back as many slots as an answer's X-HubSpot-RateLimit-Remaining
// has fallen into that headroom (another client of the same app sharing
// the window). Burst caps the pace per 10 seconds whatever is announced,
// and alone paces the requests sent before the first answer. Search, which
// HubSpot exempts from that window and answers without the headers, is
// paced at SearchPerSecond. A 429 waits for its policy's
// window (TEN_SECONDLY_ROLLING: Retry-After, else the window length;
// search "secondly": 1 s) and holds the limiter back as long; 423, 477
// and 5xx are retried with capped exponential backoff and jitter, and so
// is a success whose body does not decode (cut short, or a proxy's page):
// a bad record inside a sound page is set aside instead. A 429
// DAILY, or an answer whose X-HubSpot-RateLimit-Daily-Remaining has
// fallen to DailyReserve, stops the pull with a *connectors.StopError
// after the pages already read are handed over; Resume is the next
// midnight in the portal's time zone (UTC when the portal details could
// not be read). The next pull resumes from the watermark.
//
// The pull fetches at most one page ahead of the PageFunc: a goroutine
// reads page N+1 while fn stores page N, handing pages over an unbuffered
// channel (a buffered one would let it run two pages ahead).
package hubspot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/crmhttp"
)

// Defaults of Options.
const (
	DefaultBaseURL         = "https://api.hubapi.com"
	DefaultBurst           = 250 // the highest burst HubSpot documents (API Limit Increase); the headers bring it down
	DefaultSearchPerSecond = 5
	DefaultDailyReserve    = 1000
	DefaultOverlap         = 5 * time.Minute
	DefaultArchivedEvery   = time.Hour
	MaxPageSize            = 100 // GET list pages
	SearchPageSize         = 200 // search pages, HubSpot's maximum
	defaultTimeout         = 60 * time.Second
)

var _ connectors.Connector = (*Connector)(nil)

// Options configures a Connector. Zero values take the defaults.
type Options struct {
	// Source names the source: the prefix of internal ids, Reject.Source.
	Source string
	// BaseURL is HubSpot's API root (DefaultBaseURL).
	BaseURL string
	// Auth holds the credentials: a private-app token or an OAuth app.
	Auth Auth
	// Mapping says which properties feed the model, over DefaultMapping.
	Mapping connectors.Mapping
	// Burst caps the requests sent per rolling 10 seconds (DefaultBurst,
	// the highest burst HubSpot documents): the pace follows the limit
	// HubSpot announces in its rate-limit headers (100 for a private app
	// on Free or Starter, 110 for a public app, 190 on Professional and
	// Enterprise, 250 with the API Limit Increase) but never exceeds
	// Burst, which alone paces the requests sent before the first answer.
	// Negative disables pacing.
	Burst int
	// SearchPerSecond paces the search API (DefaultSearchPerSecond);
	// negative disables it.
	SearchPerSecond int
	// DailyReserve stops the pull when X-HubSpot-RateLimit-Daily-Remaining
	// falls to it, leaving the rest of the day's allocation to the portal's
	// other integrations (DefaultDailyReserve); negative never stops.
	DailyReserve int
	// Overlap bounds how late HubSpot's search shows a change (plus the
	// clock skew between crmsync and HubSpot): an incremental position is
	// never saved past a pull's start less Overlap, and archived sweeps
	// look back as far (DefaultOverlap); negative means none.
	Overlap time.Duration
	// ArchivedEvery spaces the archived sweeps: the archived lists cannot
	// be filtered by date, so each sweep reads every record archived in
	// the last 90 days; pulls in between skip it (DefaultArchivedEvery).
	// Negative sweeps at every pull. Merges are seen at every pull.
	ArchivedEvery time.Duration
	// PageSize is the size of list pages (at most and by default
	// MaxPageSize); search pages hold SearchPageSize records.
	PageSize int
	// HTTPClient sends the requests (its Transport gets the credentials
	// added); default: http.DefaultTransport with a 60 s timeout.
	HTTPClient *http.Client
	// Logger receives the connector's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock (time.Now), for tests.
	Now func() time.Time
	// Attempts bounds the tries of one request (crmhttp's default, 6).
	Attempts int
	// BaseDelay and MaxDelay shape the backoff between retries (crmhttp's
	// defaults, 500 ms and 30 s).
	BaseDelay, MaxDelay time.Duration
	// MaxWait caps a wait HubSpot asks for; a longer one stops the pull
	// (crmhttp's default, 5 minutes).
	MaxWait time.Duration
}

// Auth holds a private-app token, or an OAuth app's client id and secret
// with a refresh token: exactly one of the two.
type Auth struct {
	// Token is a private-app access token, sent as a static Bearer token.
	Token string
	// ClientID, ClientSecret and RefreshToken run OAuth2's refresh-token
	// grant at BaseURL/oauth/v1/token (credentials in the form).
	ClientID, ClientSecret, RefreshToken string
	// OnRotate, when set, hears of each new refresh token HubSpot issues,
	// so that it can be kept.
	OnRotate func(ctx context.Context, refreshToken string)
}

// Connector pulls a HubSpot portal. It is safe for concurrent use, but
// pulls of one portal share its rate limits: run one at a time.
type Connector struct {
	opts     Options
	entities []*entity
	client   *client
	logger   *slog.Logger
	mapper   mapper
	zones    sync.Map
	portal   atomic.Pointer[accountInfo] // cached once read
	running  atomic.Int32                // producers running, for tests
}

// New validates opts and returns a connector with its token source and
// rate limiters.
func New(opts Options) (*Connector, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Connector{opts: opts, logger: opts.Logger.With("connector", "hubspot", "source", opts.Source)}
	m := opts.Mapping.WithDefaults(DefaultMapping)
	c.entities = entities(m)
	c.mapper = mapper{source: opts.Source, mapping: m, zones: &c.zones}
	c.client = newClient(opts)
	return c, nil
}

// withDefaults checks opts and fills its zero fields.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	if strings.TrimSpace(o.Source) == "" {
		errs = append(errs, errors.New("source: required"))
	}
	o.BaseURL = strings.TrimRight(cmp.Or(o.BaseURL, DefaultBaseURL), "/")
	if u, err := url.Parse(o.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("base url %q: not an http(s) URL", o.BaseURL))
	}
	errs = append(errs, o.Auth.validate())
	switch {
	case o.PageSize == 0:
		o.PageSize = MaxPageSize
	case o.PageSize < 0 || o.PageSize > MaxPageSize:
		errs = append(errs, fmt.Errorf("page size %d: must be between 1 and %d", o.PageSize, MaxPageSize))
	}
	for v, lc := range o.Mapping.Lifecycle.Map {
		if !lc.Valid() {
			errs = append(errs, fmt.Errorf("mapping: lifecycle %q for %q: not a lifecycle", lc, v))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("hubspot: %w", err)
	}
	o.Burst = cmp.Or(o.Burst, DefaultBurst)
	o.SearchPerSecond = cmp.Or(o.SearchPerSecond, DefaultSearchPerSecond)
	o.DailyReserve = cmp.Or(o.DailyReserve, DefaultDailyReserve)
	o.Overlap = max(cmp.Or(o.Overlap, DefaultOverlap), 0)
	o.ArchivedEvery = max(cmp.Or(o.ArchivedEvery, DefaultArchivedEvery), 0)
	crmhttp.FillDefaults(&o.HTTPClient, defaultTimeout, &o.Logger, &o.Now)
	return o, nil
}

// validate checks that exactly one way to authenticate is configured.
func (a Auth) validate() error {
	oauth := a.ClientID != "" || a.ClientSecret != "" || a.RefreshToken != ""
	switch {
	case a.Token != "" && oauth:
		return errors.New("auth: a private-app token and an OAuth app are both set; keep one")
	case a.Token != "":
		return nil
	case !oauth:
		return errors.New("auth: a private-app token or an OAuth app (client id, client secret, refresh token) is required")
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"client id", a.ClientID}, {"client secret", a.ClientSecret}, {"refresh token", a.RefreshToken}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("auth: OAuth needs a %s", strings.Join(missing, " and a "))
	}
	return nil
}

// newClient builds the request machinery: credentials on the transport,
// one limiter per HubSpot window.
func newClient(o Options) *client {
	delays := crmhttp.Client{Attempts: o.Attempts, BaseDelay: o.BaseDelay, MaxDelay: o.MaxDelay, MaxWait: o.MaxWait}
	au, src := newAuth(o.Auth, o.BaseURL, o.HTTPClient, delays)
	authed := &http.Client{
		Transport:     &oauth2.Transport{Source: src, Base: o.HTTPClient.Transport},
		Timeout:       o.HTTPClient.Timeout,
		CheckRedirect: o.HTTPClient.CheckRedirect,
	}
	c := &client{base: o.BaseURL, auth: au, reserve: o.DailyReserve, now: o.Now}
	c.daily.Store(-1)
	var apiLimits, searchLimits []crmhttp.Limiter
	if o.Burst > 0 {
		c.pace = newPacer(o.Burst, o.Logger.With("connector", "hubspot", "source", o.Source))
		apiLimits = append(apiLimits, c.pace)
	}
	if o.SearchPerSecond > 0 {
		c.perSec = crmhttp.NewWindow(o.SearchPerSecond, searchWindow, fmt.Sprintf("search rate limit %d/s", o.SearchPerSecond))
		searchLimits = append(searchLimits, c.perSec)
	}
	mk := func(limits []crmhttp.Limiter, classify func(*http.Response, []byte) crmhttp.Verdict) *crmhttp.Client {
		cl := delays
		cl.HTTP, cl.Limiters, cl.Classify = authed, limits, classify
		if au.refreshable() {
			cl.Refresh = au.tokens.Refresh
		}
		return &cl
	}
	c.api, c.search = mk(apiLimits, c.classifyAPI), mk(searchLimits, c.classify)
	return c
}

// Pull delivers the owners, then the companies, contacts and deals
// changed since from (everything when from is empty), in pages, each with
// the watermark to resume from once it is stored. It returns fn's error
// as is, a *connectors.StopError (wrapped) when HubSpot's daily
// allocation is spent, and errors wrapping connectors.ErrAuth when
// HubSpot refuses the credentials.
func (c *Connector) Pull(ctx context.Context, from connectors.Watermark, fn connectors.PageFunc) error {
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan connectors.Page)
	var runErr error
	c.running.Add(1)
	go func() {
		defer close(pages)
		defer c.running.Add(-1)
		send := func(p connectors.Page) error {
			select {
			case pages <- p:
				return nil
			case <-inner.Done():
				return inner.Err()
			}
		}
		runErr = c.newRun(from, send).all(inner)
	}()
	for p := range pages {
		if err := fn(ctx, p); err != nil {
			cancel()
			for range pages { // let the producer see the cancel and exit
			}
			return err
		}
	}
	return runErr
}
