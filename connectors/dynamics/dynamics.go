// Package dynamics is the connector for Microsoft Dynamics 365 through the
// Dataverse Web API (type: dynamics). It reads systemusers (owners),
// accounts, contacts and opportunities (deals) and maps them onto the
// canonical model; an account's or a contact's last activity is the
// latest actualend of the completed activities regarding it.
//
// Auth is Microsoft Entra client credentials through golang.org/x/oauth2,
// with a client secret or a certificate (a client_assertion JWT signed
// RS256, its x5t header the certificate's SHA-1 thumbprint). The scope is
// the organization URL's ".default"; the application user needs a
// security role with organization-level read on the four tables, which
// change tracking requires. Tokens last about an hour and are renewed a
// minute before they expire; a 401 forces a new token once, then fails
// with connectors.ErrAuth. A 403 (a privilege missing) fails at once with
// Dataverse's message, wrapping connectors.ErrAuth.
//
// Accounts, contacts and opportunities are read with change tracking:
// the first read sends Prefer: odata.track-changes and
// odata.maxpagesize, follows @odata.nextLink to the last page, whose
// @odata.deltaLink is kept in the watermark ("accounts.delta"). Later
// pulls follow that link, which returns the rows changed since and a stub
// per deleted row (an @odata.context ending in /$deletedEntity, or an
// @removed annotation), handed over as model.Batch.Deleted, and a new
// delta link. While a read pages, its @odata.nextLink is kept
// ("accounts.next"), so every page is a safe place to resume. Owners are
// read in full on every pull (systemusers is small and is not swept).
//
// Dataverse expires a delta token after the organization's
// ExpireChangeTrackingInDays (7 by default; 30 has been reported) and
// then answers "Version stamp associated with the client has expired.
// Please perform a full sync." The pull then drops every delta link,
// calls Options.BeginSweep so that the store removes, at the end of the
// sync, the records not seen again, and reads all three tables again from
// the start.
//
// Dataverse's service protection allows 6,000 requests per user in any
// 5-minute window, 20 minutes of combined execution time and 52
// concurrent requests. A pull sends one request at a time, paced by a
// rolling window of Options.RequestsPer5Min (default 5,400, 90% of the
// limit); a 429 is retried after its Retry-After (requests being
// sequential, nothing else is sent meanwhile), and a wait longer than 5
// minutes stops the pull with a *connectors.StopError. A 5xx, a network error or a success whose body
// does not decode is retried with capped exponential backoff.
package dynamics

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
	DefaultAPIVersion      = "v9.2"
	DefaultPageSize        = 1000
	MaxPageSize            = 5000
	DefaultRequestsPer5Min = 5400
	// LimitRequestsPer5Min is Dataverse's service-protection limit per user.
	LimitRequestsPer5Min = 6000
	// DefaultAuthority is Microsoft Entra's public cloud login host.
	DefaultAuthority = "https://login.microsoftonline.com"
)

// defaultHTTPTimeout bounds one request when Options.HTTPClient is nil.
const defaultHTTPTimeout = 2 * time.Minute

var _ connectors.Connector = (*Connector)(nil)

// Options configure a Connector.
type Options struct {
	// Source names the source: the prefix of internal ids and the Source
	// of rejects. Required.
	Source string
	// BaseURL is the organization URL, https://{org}.crm.dynamics.com (or
	// crm4, crm.microsoftdynamics.us, ...). Required.
	BaseURL string
	// APIVersion is the Web API version (default v9.2).
	APIVersion string
	// Auth holds the Entra application's credentials.
	Auth Auth
	// Mapping says which fields feed the model; its zero parts take
	// DefaultMapping's.
	Mapping connectors.Mapping
	// PageSize is odata.maxpagesize, 1..5000 (default 1000).
	PageSize int
	// RequestsPer5Min paces requests under the 6,000-per-5-minutes
	// service-protection limit (default 5,400).
	RequestsPer5Min int
	// Window is the length of the pacing window RequestsPer5Min applies
	// to (default 5 minutes, Dataverse's); tests shorten it together with
	// the budget to measure pacing in seconds.
	Window time.Duration
	// BeginSweep, when set, is called before a full re-read forced by an
	// expired delta token, so that the records not seen again are removed
	// at the end of the sync (store.Records.BeginSweep for this source).
	BeginSweep func(ctx context.Context, at time.Time) error
	// HTTPClient is the base client of API and token requests; nil uses
	// one with a 2-minute timeout.
	HTTPClient *http.Client
	// Logger receives warnings and progress; nil discards them.
	Logger *slog.Logger
	// Now is the clock of rejects; nil is time.Now.
	Now func() time.Time
	// Attempts, BackoffBase and BackoffMax shape the retries (defaults 6,
	// 500ms and 30s; tests make them short).
	Attempts                int
	BackoffBase, BackoffMax time.Duration
}

// Auth holds Microsoft Entra client credentials: TenantID, ClientID and
// either ClientSecret or Certificate with PrivateKey.
type Auth struct {
	TenantID     string // directory (tenant) id or domain
	ClientID     string // application (client) id
	ClientSecret string // a client secret's value
	Certificate  []byte // PEM certificate uploaded to the app registration
	PrivateKey   []byte // PEM RSA private key of Certificate
	// TokenURL overrides the token endpoint (default
	// https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token; other
	// clouds have their own login host).
	TokenURL string
	// Scope overrides the token scope (default {BaseURL}/.default).
	Scope string
}

// Connector pulls a Dataverse organization. A source is meant to be
// pulled by one sync at a time.
type Connector struct {
	opts    Options
	api     string // {BaseURL}/api/data/{version}/
	mapping connectors.Mapping
	logger  *slog.Logger
	tokens  *crmhttp.Tokens
	window  *crmhttp.Window
	client  *crmhttp.Client
}

// New checks opts and returns a Connector; it reads the certificate and
// key now, so that bad credentials are reported at start-up. Nothing is
// sent before the first Pull.
func New(opts Options) (*Connector, error) {
	opts, err := withDefaults(opts)
	if err != nil {
		return nil, fmt.Errorf("dynamics: source %q: %w", opts.Source, err)
	}
	mapping := opts.Mapping.WithDefaults(DefaultMapping)
	if err := checkMapping(mapping); err != nil {
		return nil, fmt.Errorf("dynamics: source %q: %w", opts.Source, err)
	}
	fetch, err := newFetch(opts)
	if err != nil {
		return nil, fmt.Errorf("dynamics: source %q: %w", opts.Source, err)
	}
	c := &Connector{
		opts:    opts,
		api:     opts.BaseURL + "/api/data/" + opts.APIVersion + "/",
		mapping: mapping,
		logger:  opts.Logger.With("connector", "dynamics", "source", opts.Source),
		window:  crmhttp.NewWindow(opts.RequestsPer5Min, opts.Window, windowReason(opts)),
	}
	c.tokens = crmhttp.NewTokens(fetch, "", 0)
	c.client = crmhttp.NewOAuthClient(opts.HTTPClient, c.tokens, crmhttp.Client{
		Limiters:  []crmhttp.Limiter{c.window},
		Classify:  c.classify,
		Attempts:  opts.Attempts,
		BaseDelay: opts.BackoffBase,
		MaxDelay:  opts.BackoffMax,
	})
	return c, nil
}

// windowReason names the pacing window in trace waits ("rate limit 5400/5min").
func windowReason(o Options) string {
	if o.Window == 5*time.Minute {
		return fmt.Sprintf("rate limit %d/5min", o.RequestsPer5Min)
	}
	return fmt.Sprintf("rate limit %d/%s", o.RequestsPer5Min, o.Window)
}

// withDefaults fills opts' zero fields and checks the others.
func withDefaults(o Options) (Options, error) {
	if o.Source == "" {
		return o, errors.New("source name required")
	}
	if o.BaseURL == "" {
		return o, errors.New("base_url required: the organization URL, such as https://acme.crm.dynamics.com")
	}
	base, err := checkBaseURL(o.BaseURL)
	if err != nil {
		return o, fmt.Errorf("base url: %w", err)
	}
	o.BaseURL = base
	o.APIVersion = cmp.Or(o.APIVersion, DefaultAPIVersion)
	if !validVersion(o.APIVersion) {
		return o, fmt.Errorf("api version %q: want the form v9.2", o.APIVersion)
	}
	o.PageSize = cmp.Or(o.PageSize, DefaultPageSize)
	if o.PageSize < 1 || o.PageSize > MaxPageSize {
		return o, fmt.Errorf("page size %d: want 1 to %d", o.PageSize, MaxPageSize)
	}
	o.RequestsPer5Min = cmp.Or(o.RequestsPer5Min, DefaultRequestsPer5Min)
	if o.RequestsPer5Min < 1 || o.RequestsPer5Min > LimitRequestsPer5Min {
		return o, fmt.Errorf("requests per 5 minutes %d: want 1 to %d (Dataverse's limit per user)", o.RequestsPer5Min, LimitRequestsPer5Min)
	}
	o.Window = cmp.Or(o.Window, 5*time.Minute)
	if o.Window < 0 {
		return o, fmt.Errorf("pacing window %s: want a positive duration", o.Window)
	}
	crmhttp.FillDefaults(&o.HTTPClient, defaultHTTPTimeout, &o.Logger, &o.Now)
	return o, nil
}

// validVersion reports whether v looks like v9.2.
func validVersion(v string) bool {
	major, minor, ok := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	return ok && strings.HasPrefix(v, "v") && digits(major) && digits(minor)
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// checkBaseURL checks an organization or login URL and returns it as
// scheme://host (crmhttp.CheckBaseURL).
func checkBaseURL(raw string) (string, error) {
	return crmhttp.CheckBaseURL(raw, "https://acme.crm.dynamics.com")
}

// now returns the connector's clock in UTC.
func (c *Connector) now() time.Time { return c.opts.Now().UTC() }
