// Package monday is the connector for monday.com CRM through monday's
// GraphQL API (type: monday). monday CRM keeps Accounts, Contacts and
// Deals as boards: an item is a record and its column values are the
// fields, with column ids chosen per board. A source names its three
// boards and, per board, which column plays which role (Options.Boards;
// DefaultColumns are the CRM template's); `crmsync sources describe`
// prints a board's columns, ids and types to write that mapping. Owners
// are account users, read from people columns and users { id name email }
// (deactivated users included, so a former owner keeps a name).
//
// Auth is a personal API token (Admin or Developers, My access tokens)
// or the access token of an OAuth app installed on the account, sent as
// Authorization with every request, together with a pinned API-Version
// (DefaultAPIVersion). Neither kind expires: a token monday refuses (401:
// regenerated, revoked, or the app uninstalled) or a board the token's
// user cannot read (UserUnauthorizedException) fails the pull with an
// error wrapping connectors.ErrAuth.
//
// Items are read with boards { items_page(limit: 500) } and then
// next_items_page(cursor), until the cursor is null. A cursor lives 60
// minutes and items come in no stable order, so a board read cannot be
// resumed: on CursorExpiredError the board is read again from its first
// page, skipping the items already handed over with the same updated_at
// (at most MaxRestarts times). Incremental reads filter on
// __last_updated__ (a day: UPDATED_AT, EXACT date) one day before the
// board's watermark and keep the items whose updated_at is at or after
// it. Deletions: each incremental pull reads the boards' activity_logs
// since the last pull and hands delete_pulse and archive_pulse events
// over as deletions; every Options.FullEvery (7 days) a pull reads every
// board in full inside a store sweep (Options.BeginSweep), which removes
// what was deleted without a log entry.
//
// Limits: every query asks for complexity { before query after
// reset_in_x_seconds }; when what is left falls under the dearest query
// seen (plus a tenth), the next request waits for the reset. A
// COMPLEXITY_BUDGET_EXHAUSTED (or the legacy ComplexityException), a
// minute, IP, concurrency or field limit is retried after its
// retry_in_seconds or Retry-After. The daily call limit (200 to 25,000
// by plan, reset at midnight UTC) stops the pull with a
// *connectors.StopError that resumes at midnight UTC: when monday
// answers DAILY_LIMIT_EXCEEDED, or before it, once the pulls of the day
// made Options.DailyCalls calls.
package monday

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/crmhttp"
)

// Defaults of Options.
const (
	DefaultBaseURL    = "https://api.monday.com"
	DefaultAPIVersion = "2025-07"
	// PageSize is items_page's maximum limit, the default page size.
	PageSize = 500
	// DefaultFullEvery is how often a pull re-reads every board to catch
	// deletions the activity logs missed.
	DefaultFullEvery = 7 * 24 * time.Hour
	// MaxRestarts bounds the restarts of one board read after its cursor
	// expired.
	MaxRestarts = 3
	// Overlap is how far before a board's watermark an incremental read
	// starts: __last_updated__ filters by day.
	Overlap = 24 * time.Hour
	// skew is taken off a read's start before it becomes a watermark, for
	// the clocks of monday and of this host.
	skew = 5 * time.Minute
)

// defaultHTTPTimeout bounds one request when Options.HTTPClient is nil
// (monday stops a call after 60 seconds).
const defaultHTTPTimeout = 2 * time.Minute

var _ connectors.Connector = (*Connector)(nil)

// Options configure a Connector.
type Options struct {
	// Source names the source: the prefix of internal ids and the Source
	// of rejects. Required.
	Source string
	// BaseURL is the API host (default https://api.monday.com); requests
	// go to {BaseURL}/v2.
	BaseURL string
	// APIVersion is the API-Version header (default 2025-07).
	APIVersion string
	// Token is a personal API token or an OAuth app's access token.
	Token string
	// Boards says which boards hold accounts, contacts and deals, and
	// which of their columns feed the model.
	Boards Boards
	// Mapping gives the account lifecycle (a status column), extra and
	// last-activity columns, languages and the primary contact; its zero
	// parts take DefaultMapping's. Fields are column ids.
	Mapping connectors.Mapping
	// PageSize is the items asked per page, 1..500 (default 500).
	PageSize int
	// DailyCalls is the account's daily call limit (200 Free, 1,000
	// Basic/Standard, 10,000 Pro, 25,000 Enterprise); the pulls of a day
	// stop before making more. 0 only stops when monday says so.
	DailyCalls int
	// FullEvery is how often a pull re-reads every board inside a sweep
	// (default 7 days; negative: only the first pull).
	FullEvery time.Duration
	// BeginSweep, when set, is called before a full re-read so that the
	// store removes, at the end of the sync, the records not seen again.
	BeginSweep func(ctx context.Context, at time.Time) error
	// HTTPClient sends the requests; nil uses one with a 2-minute timeout.
	HTTPClient *http.Client
	// Logger receives warnings and progress; nil discards them.
	Logger *slog.Logger
	// Now is the clock of watermarks, rejects and the daily count; nil is
	// time.Now.
	Now func() time.Time
	// Second is the unit of monday's reset_in_x_seconds and
	// retry_in_seconds (time.Second); benchmarks shrink it together with
	// the fake's.
	Second time.Duration
	// Attempts, BackoffBase and BackoffMax shape the retries (defaults 6,
	// 500ms and 30s; tests make them short).
	Attempts                int
	BackoffBase, BackoffMax time.Duration
}

// Boards are the three CRM boards.
type Boards struct {
	Accounts, Contacts, Deals Board
}

// Board is a board's id and the columns playing each role (see
// DefaultColumns for the roles); roles left out take the defaults.
type Board struct {
	ID      string
	Columns map[string]string
	// Won lists the deal stage labels that mean won (Deals only; default
	// DefaultWon). Compared case-insensitively.
	Won []string
}

// Connector pulls a monday.com account's CRM boards. A source is meant
// to be pulled by one sync at a time.
type Connector struct {
	opts     Options
	endpoint string
	boards   [3]*boardDef
	mapping  connectors.Mapping
	logger   *slog.Logger
	budget   *budget
	daily    *dailyCount
	client   *crmhttp.Client
}

var boardIDRe = regexp.MustCompile(`^[0-9]{1,20}$`)

// New checks opts and returns a Connector. Nothing is sent before the
// first Pull.
func New(opts Options) (*Connector, error) {
	opts, err := withDefaults(opts)
	if err != nil {
		return nil, fmt.Errorf("monday: source %q: %w", opts.Source, err)
	}
	mapping := opts.Mapping.WithDefaults(DefaultMapping)
	if mapping.PrimaryContact.AssociationLabel != "" {
		return nil, fmt.Errorf("monday: source %q: mapping: primary_contact association_label is HubSpot's; use field (an account connect-boards column) or property (a contact checkbox column)", opts.Source)
	}
	c := &Connector{
		opts:     opts,
		endpoint: opts.BaseURL + "/v2",
		mapping:  mapping,
		logger:   opts.Logger.With("connector", "monday", "source", opts.Source),
		budget:   &budget{now: opts.Now, second: opts.Second},
		daily:    &dailyCount{limit: opts.DailyCalls},
	}
	if c.boards, err = c.boardDefs(); err != nil {
		return nil, fmt.Errorf("monday: source %q: %w", opts.Source, err)
	}
	c.client = &crmhttp.Client{
		HTTP:      opts.HTTPClient,
		Limiters:  []crmhttp.Limiter{c.budget},
		Classify:  c.classify,
		Attempts:  opts.Attempts,
		BaseDelay: opts.BackoffBase,
		MaxDelay:  opts.BackoffMax,
	}
	return c, nil
}

// withDefaults fills opts' zero fields and checks the others.
func withDefaults(o Options) (Options, error) {
	if o.Source == "" {
		return o, errors.New("source name required")
	}
	if o.Token == "" {
		return o, errors.New("token required: a personal API token or an OAuth app's access token")
	}
	base, err := crmhttp.CheckBaseURL(cmp.Or(o.BaseURL, DefaultBaseURL), DefaultBaseURL)
	if err != nil {
		return o, fmt.Errorf("base url: %w", err)
	}
	o.BaseURL = base
	o.APIVersion = cmp.Or(o.APIVersion, DefaultAPIVersion)
	if !apiVersionRe.MatchString(o.APIVersion) {
		return o, fmt.Errorf("api version %q: want the form 2025-07", o.APIVersion)
	}
	o.PageSize = cmp.Or(o.PageSize, PageSize)
	if o.PageSize < 1 || o.PageSize > PageSize {
		return o, fmt.Errorf("page size %d: want 1 to %d", o.PageSize, PageSize)
	}
	if o.DailyCalls < 0 {
		return o, fmt.Errorf("daily calls %d: want 0 (monday's answer only) or the plan's limit", o.DailyCalls)
	}
	o.FullEvery = cmp.Or(o.FullEvery, DefaultFullEvery)
	o.Second = cmp.Or(o.Second, time.Second)
	crmhttp.FillDefaults(&o.HTTPClient, defaultHTTPTimeout, &o.Logger, &o.Now)
	return o, nil
}

var apiVersionRe = regexp.MustCompile(`^20[0-9]{2}-(0[1-9]|1[0-2])$`)

// now returns the connector's clock in UTC.
func (c *Connector) now() time.Time { return c.opts.Now().UTC() }
