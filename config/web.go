package config

import (
	"net/mail"
	"strings"
	"time"
)

// WebConfig is the dashboard that `crmsync run` serves on http.listen:
// who may sign in and how sessions are kept. Without signin.slack it is
// served on loopback only, everyone there an admin.
type WebConfig struct {
	// PublicURL is the dashboard's address as browsers reach it; the Slack
	// app's redirect URL is PublicURL + "/auth/callback".
	PublicURL string `yaml:"public_url"`
	// SessionKey signs sessions and CSRF tokens (at least 32 bytes);
	// changing it signs everyone out.
	SessionKey     Secret        `yaml:"session_key"`
	SessionKeyFile string        `yaml:"session_key_file"`
	SessionTTL     time.Duration `yaml:"session_ttl"`   // default 12h
	CookieSecure   string        `yaml:"cookie_secure"` // "" (auto), always or never
	// Admins are the emails of the people who see every account; anyone
	// else signing in sees the accounts they own.
	Admins []string  `yaml:"admins"`
	SignIn WebSignIn `yaml:"signin"`
}

// WebSignIn are the ways to sign in: Sign in with Slack.
type WebSignIn struct {
	Slack *SlackSignIn `yaml:"slack"` // nil: no sign-in, loopback only
}

// SlackSignIn is a Slack app's OpenID Connect credentials.
type SlackSignIn struct {
	ClientID         string `yaml:"client_id"`
	ClientSecret     Secret `yaml:"client_secret"`
	ClientSecretFile string `yaml:"client_secret_file"`
	TeamID           string `yaml:"team_id"`    // admit only this workspace
	IssuerURL        string `yaml:"issuer_url"` // default https://slack.com
}

// minSessionKey is the shortest web.session_key, in bytes.
const minSessionKey = 32

func (c *Config) validateWeb(d *document) {
	w := &c.Web
	for i, a := range w.Admins {
		if _, err := mail.ParseAddress(a); err != nil || strings.ContainsAny(a, "<> ") {
			d.addf(indexPath("web.admins", i), "want a plain email address, got %q", a)
		}
	}
	switch w.CookieSecure {
	case "", "always", "never":
	default:
		d.addf("web.cookie_secure", `want always or never (or leave it out: secure over https), got %q`, w.CookieSecure)
	}
	if w.SessionTTL < 0 || (w.SessionTTL > 0 && w.SessionTTL < time.Minute) {
		d.addf("web.session_ttl", "want at least 1m, got %s", FormatDuration(w.SessionTTL))
	}
	if w.PublicURL != "" && !isHTTPURL(w.PublicURL) {
		d.addf("web.public_url", "want the dashboard's http(s) address, such as https://crm.example.com, got %q", w.PublicURL)
	}
	if s := w.SignIn.Slack; s != nil {
		c.validateSlackSignIn(d, s)
	}
}

func (c *Config) validateSlackSignIn(d *document, s *SlackSignIn) {
	w := &c.Web
	if s.ClientID == "" {
		d.addf("web.signin.slack.client_id", "required: the Slack app's client id (Basic Information > App Credentials)")
	}
	if s.ClientSecret == "" {
		d.addf("web.signin.slack.client_secret", "required (or client_secret_file)")
	}
	if w.PublicURL == "" {
		d.addf("web.public_url", "required with web.signin.slack: Slack redirects to public_url/auth/callback")
	}
	if len(w.SessionKey.Reveal()) < minSessionKey {
		d.addf("web.session_key", "required with web.signin.slack: at least %d bytes (openssl rand -base64 48)", minSessionKey)
	}
	if s.IssuerURL != "" && !isHTTPURL(s.IssuerURL) {
		d.addf("web.signin.slack.issuer_url", "invalid URL %q", s.IssuerURL)
	}
}
