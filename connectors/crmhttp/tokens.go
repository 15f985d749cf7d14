package crmhttp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/connectors"
)

// FetchFunc gets a brand-new token from the vendor's token endpoint;
// refreshToken is the latest refresh token ("" for flows without one).
type FetchFunc func(ctx context.Context, refreshToken string) (*oauth2.Token, error)

// Tokens is an oauth2.TokenSource for connectors. It caches a token and
// fetches a new one shortly before it expires; it stamps Lifetime on
// tokens the vendor sends without expires_in (Salesforce), which
// oauth2.ReuseTokenSource would otherwise reuse forever; Refresh forces a
// new token after the vendor refused one (401); and OnRotate hears of
// every new refresh token, so a rotated one can be kept. It is safe for
// concurrent use.
type Tokens struct {
	fetch    FetchFunc
	lifetime time.Duration
	// OnRotate, when set, is called with each refresh token that differs
	// from the previous one.
	OnRotate func(ctx context.Context, refreshToken string)

	mu      sync.Mutex
	tok     *oauth2.Token
	refresh string
	now     func() time.Time
}

// expiryMargin is how long before its expiry a token is replaced.
const expiryMargin = time.Minute

// NewTokens returns a token source over fetch, starting from refreshToken
// ("" for flows without one); lifetime is given to tokens without an
// expiry (0 leaves them without one).
func NewTokens(fetch FetchFunc, refreshToken string, lifetime time.Duration) *Tokens {
	return &Tokens{fetch: fetch, refresh: refreshToken, lifetime: lifetime, now: time.Now}
}

// Token implements oauth2.TokenSource. A token endpoint refusing the
// credentials (a 4xx such as invalid_grant) gives an error wrapping
// connectors.ErrAuth.
func (t *Tokens) Token() (*oauth2.Token, error) {
	t.mu.Lock()
	if tok := t.tok; tok != nil && (tok.Expiry.IsZero() || t.now().Add(expiryMargin).Before(tok.Expiry)) {
		t.mu.Unlock()
		return tok, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return t.renew(ctx)
}

// Refresh drops the cached token and fetches a new one.
func (t *Tokens) Refresh(ctx context.Context) error {
	t.mu.Lock()
	_, err := t.renew(ctx)
	return err
}

// Current returns the cached token, or nil before the first fetch.
func (t *Tokens) Current() *oauth2.Token {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tok
}

// renew fetches a token; it is called with t.mu held and releases it
// before calling OnRotate, so the hook may use t.
func (t *Tokens) renew(ctx context.Context) (*oauth2.Token, error) {
	tok, err := t.fetch(ctx, t.refresh)
	if err != nil {
		t.tok = nil
		t.mu.Unlock()
		return nil, tokenError(err)
	}
	if tok.Expiry.IsZero() && t.lifetime > 0 {
		c := *tok
		c.Expiry = t.now().Add(t.lifetime)
		tok = &c
	}
	rotated := ""
	if rt := tok.RefreshToken; rt != "" && rt != t.refresh {
		t.refresh, rotated = rt, rt
	}
	t.tok = tok
	t.mu.Unlock()
	if rotated != "" && t.OnRotate != nil {
		t.OnRotate(ctx, rotated)
	}
	return tok, nil
}

// tokenError wraps a token fetch failure, marking refused credentials.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.Is(err, connectors.ErrAuth) && errors.As(err, &re) && re.Response != nil &&
		re.Response.StatusCode >= 400 && re.Response.StatusCode < 500 {
		return fmt.Errorf("token: %w: %w", err, connectors.ErrAuth)
	}
	return fmt.Errorf("token: %w", err)
}
