package auth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults and limits of Options.
const (
	// DefaultIssuerURL is Slack's OpenID Connect issuer; its discovery
	// document is DefaultIssuerURL + "/.well-known/openid-configuration".
	DefaultIssuerURL = "https://slack.com"
	// DefaultSessionTTL is how long a sign-in lasts.
	DefaultSessionTTL = 12 * time.Hour
	// MinSessionKey is the shortest session key accepted, in bytes.
	MinSessionKey = 32
	// stateTTL is how long a browser has to come back from Slack.
	stateTTL = 10 * time.Minute
	// httpTimeout bounds each call to Slack when Options.HTTPClient is nil.
	httpTimeout = 15 * time.Second
)

// The values of Options.CookieSecure.
const (
	SecureAuto   = ""       // Secure when PublicURL is https or the request came over TLS
	SecureAlways = "always" // always Secure (TLS terminated by a proxy, PublicURL unset)
	SecureNever  = "never"  // never: plain-http development only
)

// Options configure an Auth. With ClientID empty, sign-in is off and the
// UI is served only on loopback (see Auth.Require).
type Options struct {
	// ClientID and ClientSecret are the Slack app's credentials (Basic
	// Information > App Credentials). ClientID turns Sign in with Slack on.
	ClientID     string
	ClientSecret string
	// PublicURL is the dashboard's address as browsers reach it, such as
	// https://crm.example.com; the redirect URL registered in the Slack app
	// is PublicURL + "/auth/callback". Required with ClientID.
	PublicURL string
	// IssuerURL is the OpenID provider: DefaultIssuerURL unless a test (or
	// a proxy in front of Slack) says otherwise. The endpoints come from its
	// discovery document, fetched at the first sign-in.
	IssuerURL string
	// TeamID, when set, admits only members of that Slack workspace (the ID
	// token's https://slack.com/team_id) and preselects it at Slack.
	TeamID string
	// Admins are the emails (any case) of the people who see everything.
	Admins []string
	// IsOwner tells whether email (lower case) owns accounts; anyone else
	// who is not an admin is refused at sign-in. Nil: no owners, only
	// admins may sign in.
	IsOwner func(ctx context.Context, email string) (bool, error)
	// SessionKey signs the session and state cookies and the CSRF tokens
	// (HMAC-SHA256), at least MinSessionKey bytes. Required with ClientID;
	// without, a random key is made at start (loopback sessions then end
	// with the process). Changing it signs everyone out.
	SessionKey string
	// SessionTTL is how long a sign-in lasts; DefaultSessionTTL when zero.
	SessionTTL time.Duration
	// CookieSecure is SecureAuto (""), SecureAlways or SecureNever.
	CookieSecure string
	// AdminToken, when set, lets "Authorization: Bearer <AdminToken>"
	// requests in as an admin, without cookies or CSRF tokens (scripts).
	AdminToken string
	// HTTPClient calls Slack; nil for one with a 15 s timeout.
	HTTPClient *http.Client
	// Logger logs refused sign-ins; slog.Default() when nil.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// withDefaults returns o with its zero fields set to their defaults.
func (o Options) withDefaults() Options {
	o.IssuerURL = strings.TrimSuffix(cmp.Or(o.IssuerURL, DefaultIssuerURL), "/")
	o.PublicURL = strings.TrimSuffix(o.PublicURL, "/")
	o.SessionTTL = cmp.Or(o.SessionTTL, DefaultSessionTTL)
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: httpTimeout}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// validate reports every problem of o at once.
func (o Options) validate() error {
	var errs []error
	if o.SessionKey != "" && len(o.SessionKey) < MinSessionKey {
		errs = append(errs, fmt.Errorf("SessionKey: %d bytes, want at least %d (openssl rand -base64 48)", len(o.SessionKey), MinSessionKey))
	}
	if o.SessionTTL < time.Minute {
		errs = append(errs, fmt.Errorf("SessionTTL: %s, want at least 1m", o.SessionTTL))
	}
	switch o.CookieSecure {
	case SecureAuto, SecureAlways, SecureNever:
	default:
		errs = append(errs, fmt.Errorf("CookieSecure: %q, want %q, %q or empty (auto)", o.CookieSecure, SecureAlways, SecureNever))
	}
	for _, a := range o.Admins {
		if !strings.Contains(a, "@") {
			errs = append(errs, fmt.Errorf("Admins: %q is not an email", a))
		}
	}
	if o.ClientID != "" {
		errs = append(errs, o.validateSlack()...)
	}
	return errors.Join(errs...)
}

// validateSlack checks what Sign in with Slack needs.
func (o Options) validateSlack() []error {
	var errs []error
	if o.ClientSecret == "" {
		errs = append(errs, errors.New("ClientSecret: required with ClientID"))
	}
	if o.SessionKey == "" {
		errs = append(errs, errors.New("SessionKey: required with ClientID"))
	}
	if err := checkURL(o.PublicURL); err != nil {
		errs = append(errs, fmt.Errorf("PublicURL: %w", err))
	}
	if err := checkURL(o.IssuerURL); err != nil {
		errs = append(errs, fmt.Errorf("IssuerURL: %w", err))
	}
	return errs
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return errors.New("required with ClientID")
	case err != nil:
		return err
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		return fmt.Errorf("%q is not an http(s) URL", raw)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q has a query or fragment", raw)
	}
	return nil
}
