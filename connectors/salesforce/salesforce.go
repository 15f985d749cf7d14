// Package salesforce is the connector for Salesforce (type: salesforce). It
// pulls User (owners), Account, Contact and Opportunity records with SOQL
// through the REST API and maps them onto the canonical model, and reads
// again the accounts and contacts whose tasks and events changed.
//
// Auth uses golang.org/x/oauth2: the JWT bearer flow, the client
// credentials flow (at the org's My Domain) or a refresh token. Salesforce
// sends no expires_in, so tokens get Options.TokenLifetime, and a 401
// INVALID_SESSION_ID forces a new token once. The API base is the token's
// instance_url. Token requests go through crmhttp like API requests, so
// that a 429, a 5xx or a body cut short is retried instead of failing the
// pull; only a refusal (4xx) is final.
//
// A 5xx, a network error, or a success whose body does not decode (cut
// short, or a proxy's page) is retried with capped exponential backoff,
// Options.Attempts times in all; a record that does not map, in a page
// that decodes, is set aside as a reject.
//
// Each object is read with one keyset query, the same for full and
// incremental syncs:
//
//	SELECT ... FROM Account
//	WHERE SystemModstamp > T OR (SystemModstamp = T AND Id > 'I')
//	ORDER BY SystemModstamp ASC, Id ASC
//
// paged with nextRecordsUrl. The watermark holds, per object, the
// SystemModstamp and Id of the last record handed over ("Account.ts",
// "Account.id"), so every page is a safe place to resume and a record
// changed during a sync is read again by the next one (a query cursor is a
// snapshot). Deleted and merged-away records come from the sObject Get
// Deleted resource, from "Account.deleted" on; each answer's
// latestDateCovered, before any transaction still running, is where the
// next one starts.
//
// Salesforce stamps SystemModstamp when the DML runs, not when its
// transaction commits: a record written by a long transaction (bulk Apex,
// a big data load) shows up after records stamped later were read. So a
// position is never saved past the pull's start less Options.Overlap:
// when a page ends later than that horizon, the page carries the horizon
// at the null id 000000000000000AAA instead, unless that is not past the
// position the pull started from (a position never moves back). The
// query itself goes on to the end; the next pull reads again what changed
// in the last Overlap before the previous one started (upserts are
// idempotent), and nothing older however long the org stays quiet.
//
// SystemModstamp "doesn't capture every field change": logging a task or
// an event changes the LastActivityDate of its account and contact, a
// roll-up field, without stamping them, so the keyset queries above never
// see a newly logged call, and crmsync would take a client the rep just
// talked to for inactive. A last phase therefore reads the Task and Event
// records changed since "Task.ts"/"Task.id" and "Event.ts"/"Event.id"
// with the same keyset query and, for each page, reads again by Id the
// accounts (AccountId) and contacts (a WhoId that is a contact, not a
// lead) it names, with the same fields as their own phases:
//
//	SELECT ... FROM Account WHERE Id IN ('001...','001...')
//
// at most 200 ids a query. The page handed over carries the position of
// the last activity, capped at the horizon like the others. A watermark without these keys (a full sync, which
// reads every LastActivityDate anyway, or one written before activities
// were tracked) starts them five minutes before the pull instead of
// reading the activities' history.
//
// Salesforce has no per-second limit but a rolling 24-hour allocation of
// API requests, reported by Sforce-Limit-Info on every response: the pull
// stops with a *connectors.StopError when what is left falls to
// Options.DailyReserve of it, or on 403 REQUEST_LIMIT_EXCEEDED, and the
// next sync resumes from the watermark.
package salesforce

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
	DefaultLoginURL      = "https://login.salesforce.com"
	SandboxLoginURL      = "https://test.salesforce.com"
	DefaultAPIVersion    = "v66.0"
	DefaultDailyReserve  = 0.10
	DefaultTokenLifetime = time.Hour
	DefaultBatchSize     = 2000
	DefaultOverlap       = 5 * time.Minute
	MinBatchSize         = 200
	MaxBatchSize         = 2000
)

// minTokenLifetime keeps TokenLifetime above crmhttp's renewal margin, so
// that a token is not renewed before every request.
const minTokenLifetime = 2 * time.Minute

// defaultHTTPTimeout bounds one request when Options.HTTPClient is nil;
// Salesforce lets a query run up to two minutes before its first batch.
const defaultHTTPTimeout = 3 * time.Minute

var _ connectors.Connector = (*Connector)(nil)

var apiVersionRe = regexp.MustCompile(`^v\d+\.\d$`)

// Options configure a Connector.
type Options struct {
	// Source names the source: the prefix of internal ids and the Source
	// of rejects. Required.
	Source string
	// LoginURL is the token host: https://login.salesforce.com (default),
	// https://test.salesforce.com for sandboxes, or the org's My Domain
	// (https://acme.my.salesforce.com), which the client credentials flow
	// requires.
	LoginURL string
	// APIVersion is the REST API version, such as "v66.0" (the default).
	APIVersion string
	// Auth holds the credentials of exactly one flow.
	Auth Auth
	// Mapping says which fields feed the model; its zero parts take
	// DefaultMapping's.
	Mapping connectors.Mapping
	// DailyReserve is the share of the org's daily API allocation left to
	// its other integrations: the pull stops when Sforce-Limit-Info shows
	// no more than this share remaining. 0 means DefaultDailyReserve; a
	// negative value disables the reserve (the pull then stops only on
	// 403 REQUEST_LIMIT_EXCEEDED).
	DailyReserve float64
	// TokenLifetime is the lifetime given to access tokens, which
	// Salesforce sends without one (the org's session timeout, 2 hours by
	// default, is not in the token response). Default 1h, minimum 2m.
	TokenLifetime time.Duration
	// BatchSize is the batchSize of Sforce-Query-Options: records per
	// query page, 200..2000 (default 2000). Salesforce may send fewer.
	BatchSize int
	// Overlap bounds how long a transaction can take to commit after it
	// stamped a record's SystemModstamp (plus the clock skew between
	// crmsync and Salesforce): a keyset position is never saved past a
	// pull's start less Overlap, so the next pull reads again what
	// changed in that last stretch (DefaultOverlap); negative means none
	// (positions then stop at the pull's start).
	Overlap time.Duration
	// HTTPClient is the base client of API and token requests (its
	// transport and timeout); nil uses one with a 3-minute timeout.
	HTTPClient *http.Client
	// Logger receives warnings and progress; nil discards them.
	Logger *slog.Logger
	// Now is the clock of watermarks, rejects and stops; nil is time.Now.
	Now func() time.Time
	// Attempts, BackoffBase and BackoffMax shape the retries of 5xx
	// answers, answers whose body does not decode and network errors
	// (defaults 6, 500ms and 30s; tests make them short).
	Attempts                int
	BackoffBase, BackoffMax time.Duration
}

// Auth holds Salesforce credentials for one of three flows: JWT bearer
// (ClientID, Username, PrivateKey), client credentials (ClientID,
// ClientSecret) or refresh token (ClientID, RefreshToken and, unless the
// app does not require it, ClientSecret).
type Auth struct {
	ClientID     string // consumer key of the connected or external client app (all flows)
	ClientSecret string // consumer secret (client credentials; refresh token)
	RefreshToken string // refresh token flow
	Username     string // JWT bearer: the user the integration runs as
	PrivateKey   []byte // JWT bearer: PEM RSA key of the certificate uploaded to the app
	// Audience is the JWT aud claim; default https://test.salesforce.com
	// for sandboxes (test.salesforce.com or a *.sandbox.my.salesforce.com
	// LoginURL), else https://login.salesforce.com.
	Audience string
	// OnRotate hears of each new refresh token when the app rotates them,
	// so it can be saved for the next run.
	OnRotate func(ctx context.Context, refreshToken string)
}

// Connector pulls a Salesforce org. It is safe for concurrent use, though
// a source is meant to be pulled by one sync at a time.
type Connector struct {
	opts     Options
	mapping  connectors.Mapping
	logger   *slog.Logger
	tokens   *crmhttp.Tokens
	client   *crmhttp.Client
	limits   *allocation
	entities []*entity
}

// New checks opts and returns a Connector; it parses the private key of
// the JWT flow now, so that a bad key is reported at start-up. Nothing is
// sent before the first Pull.
func New(opts Options) (*Connector, error) {
	opts, err := withDefaults(opts)
	if err != nil {
		return nil, fmt.Errorf("salesforce: source %q: %w", opts.Source, err)
	}
	mapping := opts.Mapping.WithDefaults(DefaultMapping)
	if err := checkMapping(mapping); err != nil {
		return nil, fmt.Errorf("salesforce: source %q: %w", opts.Source, err)
	}
	fetch, err := newFetch(opts)
	if err != nil {
		return nil, fmt.Errorf("salesforce: source %q: %w", opts.Source, err)
	}
	c := &Connector{
		opts:    opts,
		mapping: mapping,
		logger:  opts.Logger.With("connector", "salesforce", "source", opts.Source),
		limits:  &allocation{},
	}
	c.tokens = crmhttp.NewTokens(fetch, opts.Auth.RefreshToken, opts.TokenLifetime)
	c.tokens.OnRotate = opts.Auth.OnRotate
	c.client = crmhttp.NewOAuthClient(opts.HTTPClient, c.tokens, crmhttp.Client{
		Classify:  c.classify,
		Attempts:  opts.Attempts,
		BaseDelay: opts.BackoffBase,
		MaxDelay:  opts.BackoffMax,
	})
	c.entities = c.newEntities()
	return c, nil
}

// withDefaults fills opts' zero fields and checks the others.
func withDefaults(o Options) (Options, error) {
	if o.Source == "" {
		return o, errors.New("source name required")
	}
	o.LoginURL = cmp.Or(o.LoginURL, DefaultLoginURL)
	login, err := checkBaseURL(o.LoginURL)
	if err != nil {
		return o, fmt.Errorf("login url: %w", err)
	}
	o.LoginURL = login
	o.APIVersion = cmp.Or(o.APIVersion, DefaultAPIVersion)
	if !apiVersionRe.MatchString(o.APIVersion) {
		return o, fmt.Errorf("api version %q: want the form v66.0", o.APIVersion)
	}
	o.BatchSize = cmp.Or(o.BatchSize, DefaultBatchSize)
	if o.BatchSize < MinBatchSize || o.BatchSize > MaxBatchSize {
		return o, fmt.Errorf("batch size %d: want %d to %d", o.BatchSize, MinBatchSize, MaxBatchSize)
	}
	o.Overlap = max(cmp.Or(o.Overlap, DefaultOverlap), 0)
	if o.DailyReserve == 0 {
		o.DailyReserve = DefaultDailyReserve
	}
	if o.DailyReserve >= 1 {
		return o, fmt.Errorf("daily reserve %.2f: want a share below 1 (0.10 keeps 10%%)", o.DailyReserve)
	}
	o.TokenLifetime = cmp.Or(o.TokenLifetime, DefaultTokenLifetime)
	if o.TokenLifetime < minTokenLifetime {
		return o, fmt.Errorf("token lifetime %s: want at least %s", o.TokenLifetime, minTokenLifetime)
	}
	crmhttp.FillDefaults(&o.HTTPClient, defaultHTTPTimeout, &o.Logger, &o.Now)
	return o, nil
}

// now returns the connector's clock in UTC.
func (c *Connector) now() time.Time { return c.opts.Now().UTC() }
