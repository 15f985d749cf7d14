package hubspot

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/crmhttp"
)

// tokenMargin is how long before its expiry an OAuth access token is
// replaced before a request; it exceeds crmhttp.Tokens' own margin, so the
// transport never has to refresh outside the pull's context.
const tokenMargin = 2 * time.Minute

// maxRemembered bounds the access tokens kept for redaction.
const maxRemembered = 8

// redacted replaces secrets found in error messages.
const redacted = "[redacted]"

// auth holds the connector's credentials: a private-app token, or an
// OAuth refresh token turned into access tokens by crmhttp.Tokens. It also
// knows every secret in play, to keep them out of errors.
type auth struct {
	opts   Auth
	tokens *crmhttp.Tokens // nil for a private-app token
	token  *crmhttp.Client // the token endpoint, no rate limit
	url    string

	mu      sync.Mutex
	secrets []string // the configured ones first (fixed), then issued ones
	fixed   int
}

// newAuth returns the credentials of a and the token source that puts
// them on requests.
func newAuth(a Auth, baseURL string, base *http.Client, delays crmhttp.Client) (*auth, oauth2.TokenSource) {
	au := &auth{opts: a, url: baseURL + tokenPath}
	au.remember(a.Token, a.ClientSecret, a.RefreshToken)
	au.fixed = len(au.secrets)
	if a.Token != "" {
		return au, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: a.Token, TokenType: "Bearer"})
	}
	au.token = &crmhttp.Client{
		HTTP:      base,
		Classify:  au.classifyToken,
		Attempts:  delays.Attempts,
		BaseDelay: delays.BaseDelay,
		MaxDelay:  delays.MaxDelay,
	}
	au.tokens = crmhttp.NewTokens(au.fetch, a.RefreshToken, 0)
	au.tokens.OnRotate = func(ctx context.Context, rt string) {
		au.remember(rt)
		if a.OnRotate != nil {
			a.OnRotate(ctx, rt)
		}
	}
	return au, au.tokens
}

// refreshable reports whether a refused access token can be replaced.
func (a *auth) refreshable() bool { return a.tokens != nil }

// ensure makes sure an OAuth access token valid for a while is cached,
// fetching one within ctx when needed. Failing here, before crmhttp sends
// anything, keeps a refused refresh token from being retried as if it
// were a network error.
func (a *auth) ensure(ctx context.Context) error {
	if a.tokens == nil {
		return nil
	}
	if t := a.tokens.Current(); t != nil && time.Now().Add(tokenMargin).Before(t.Expiry) {
		return nil
	}
	return a.redactErr(a.tokens.Refresh(ctx))
}

// tokenAnswer is the token endpoint's answer.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int64  `json:"expires_in"`
}

// fetch runs the refresh-token grant (client credentials in the form, as
// HubSpot wants: AuthStyleInParams).
func (a *auth) fetch(ctx context.Context, refresh string) (*oauth2.Token, error) {
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {a.opts.ClientID},
		"client_secret": {a.opts.ClientSecret},
		"refresh_token": {refresh},
	}.Encode()
	var t tokenAnswer
	_, err := a.token.DoDecode(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, strings.NewReader(form))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept", "application/json")
		}
		return req, err
	}, func(body []byte) error {
		if err := decodeInto(body, &t); err != nil {
			return err
		}
		if t.AccessToken == "" {
			return errors.New("no access_token")
		}
		return nil
	})
	if err != nil {
		return nil, a.redactErr(err)
	}
	a.remember(t.AccessToken, t.RefreshToken)
	tok := &oauth2.Token{
		AccessToken:  t.AccessToken,
		TokenType:    cmp.Or(t.TokenType, "Bearer"),
		RefreshToken: cmp.Or(t.RefreshToken, refresh),
	}
	if t.ExpiresIn > 0 {
		tok.Expiry = time.Now().Add(time.Duration(t.ExpiresIn) * time.Second)
	}
	return tok, nil
}

// classifyToken reads the token endpoint's answers: a refusal (4xx) means
// the app's credentials or the refresh token are wrong or revoked.
func (a *auth) classifyToken(resp *http.Response, body []byte) crmhttp.Verdict {
	st := resp.StatusCode
	switch {
	case st >= 200 && st < 300:
		return crmhttp.Verdict{Action: crmhttp.Done}
	case st == http.StatusTooManyRequests || st >= 500:
		return crmhttp.Verdict{Action: crmhttp.Retry, Wait: crmhttp.RetryAfter(resp.Header, time.Now()), Reason: fmt.Sprintf("token endpoint: %d", st)}
	}
	var e tokenError
	_ = json.Unmarshal(body, &e)
	code := cmp.Or(e.Status, e.Error, http.StatusText(st))
	msg := e.Message
	if len(msg) > maxMessageLen {
		msg = msg[:maxMessageLen]
	}
	err := fmt.Errorf("refused: %d %s: %s: %w", st, code, a.redact(msg), connectors.ErrAuth)
	return crmhttp.Verdict{Action: crmhttp.Fail, Err: err}
}

// remember adds secrets to redact; access tokens beyond the last few are
// forgotten (the configured secrets never are).
func (a *auth) remember(secrets ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range secrets {
		if s != "" && !slices.Contains(a.secrets, s) {
			a.secrets = append(a.secrets, s)
		}
	}
	if a.fixed > 0 && len(a.secrets) > a.fixed+maxRemembered {
		a.secrets = slices.Delete(a.secrets, a.fixed, len(a.secrets)-maxRemembered)
	}
}

// redact replaces every known secret in s.
func (a *auth) redact(s string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, sec := range a.secrets {
		s = strings.ReplaceAll(s, sec, redacted)
	}
	return s
}

// redactErr returns err, or an error with its message redacted (and the
// same chain, for errors.Is and As) when it quotes a secret.
func (a *auth) redactErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := a.redact(msg); clean != msg {
		return &redactedError{msg: clean, err: err}
	}
	return err
}

// redactedError is an error whose message had a secret removed.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
