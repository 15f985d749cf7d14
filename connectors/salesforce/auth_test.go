package salesforce

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/salesforcefake"
)

func TestPullSignsInWithEachFlow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		auth Auth
	}{
		{"jwt bearer", Auth{ClientID: salesforcefake.DefaultClientID, Username: salesforcefake.DefaultUsername,
			PrivateKey: salesforcefake.PrivateKeyPEM()}},
		{"client credentials", Auth{ClientID: salesforcefake.DefaultClientID, ClientSecret: salesforcefake.DefaultClientSecret}},
		{"refresh token", Auth{ClientID: salesforcefake.DefaultClientID, ClientSecret: salesforcefake.DefaultClientSecret,
			RefreshToken: salesforcefake.DefaultRefreshToken}},
		{"refresh token without secret", Auth{ClientID: salesforcefake.DefaultClientID, RefreshToken: salesforcefake.DefaultRefreshToken}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, salesforcefake.Options{})
			e.fake.Seed(3, 1, 1)
			e.opts.Auth = tt.auth
			p := newPortfolio()
			if err := p.pull(t.Context(), e.connector(t)); err != nil {
				t.Fatalf("Pull: %v", err)
			}
			requireSame(t, e.fake, p)
			if n := e.fake.Count(salesforcefake.KindToken); n != 1 {
				t.Errorf("token requests = %d, want 1", n)
			}
			// The API base is the instance_url of the token: the fake.
			if a := p.accounts["sf:"+e.fake.IDs("Account")[0]]; !strings.HasPrefix(a.URL, e.fake.URL()+"/001") {
				t.Errorf("account URL = %q, want the instance URL and the id", a.URL)
			}
		})
	}
}

func TestPullRefusedCredentialsWrapErrAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		auth Auth
		want string
	}{
		{"jwt signed by another key", Auth{ClientID: salesforcefake.DefaultClientID, Username: salesforcefake.DefaultUsername,
			PrivateKey: salesforcefake.UntrustedKeyPEM()}, "invalid_grant (invalid assertion"},
		{"jwt for an unknown user", Auth{ClientID: salesforcefake.DefaultClientID, Username: "nobody@example.com",
			PrivateKey: salesforcefake.PrivateKeyPEM()}, "user hasn't approved this consumer"},
		{"jwt for another audience", Auth{ClientID: salesforcefake.DefaultClientID, Username: salesforcefake.DefaultUsername,
			PrivateKey: salesforcefake.PrivateKeyPEM(), Audience: "https://test.salesforce.com"}, "audience is invalid"},
		{"wrong client secret", Auth{ClientID: salesforcefake.DefaultClientID, ClientSecret: "wrong"}, "invalid_client (invalid client credentials)"},
		{"unknown client id", Auth{ClientID: "nope", ClientSecret: "wrong"}, "invalid_client_id"},
		{"revoked refresh token", Auth{ClientID: salesforcefake.DefaultClientID, RefreshToken: "revoked"}, "invalid_grant (expired access/refresh token)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, salesforcefake.Options{})
			e.opts.Auth = tt.auth
			err := e.connector(t).Pull(t.Context(), nil, func(context.Context, connectors.Page) error {
				t.Error("a page was handed over")
				return nil
			})
			if !errors.Is(err, connectors.ErrAuth) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Pull = %v, want ErrAuth with %q", err, tt.want)
			}
			if n := e.fake.Count(salesforcefake.KindToken); n != 1 {
				t.Errorf("token requests = %d, want 1: refused credentials are not retried", n)
			}
		})
	}
}

func TestPullSignsInAgainWhenTheSessionExpires(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		expire func(e *env)
	}{
		{"session timeout", func(e *env) { e.clock.Add(3 * time.Hour) }},
		{"sessions revoked", func(e *env) { e.fake.InvalidateSessions() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, salesforcefake.Options{SessionTimeout: 2 * time.Hour})
			e.fake.Seed(30, 1, 0)
			e.fake.OnRequest(func(kind string, n int) {
				if kind == salesforcefake.KindQueryMore && n == 2 {
					tt.expire(e)
				}
			})
			p := newPortfolio()
			if err := p.pull(t.Context(), e.connector(t)); err != nil {
				t.Fatalf("Pull: %v", err)
			}
			requireSame(t, e.fake, p)
			if n := e.fake.Count(salesforcefake.KindToken); n != 2 {
				t.Errorf("token requests = %d, want 2", n)
			}
			if n := e.fake.Statuses()[401]; n != 1 {
				t.Errorf("401 answers = %d, want 1", n)
			}
		})
	}
}

func TestPullFailsWhenTheRefreshIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	e.fake.Seed(30, 0, 0)
	e.fake.OnRequest(func(kind string, n int) {
		if kind == salesforcefake.KindQueryMore && n == 1 {
			e.fake.InvalidateSessions()
			e.fake.RevokeRefreshTokens()
		}
	})
	p := newPortfolio()
	err := p.pull(t.Context(), e.connector(t))
	if !errors.Is(err, connectors.ErrAuth) || !strings.Contains(err.Error(), "expired access/refresh token") {
		t.Fatalf("Pull = %v, want ErrAuth", err)
	}
	if len(p.accounts) != 7 {
		t.Errorf("accounts stored = %d, want the 7 of the page before", len(p.accounts))
	}
}

func TestPullKeepsRotatedRefreshTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{Rotate: true})
	e.fake.Seed(30, 0, 0)
	var mu sync.Mutex
	var rotated []string
	e.opts.Auth.OnRotate = func(_ context.Context, rt string) {
		mu.Lock()
		defer mu.Unlock()
		rotated = append(rotated, rt)
	}
	e.fake.OnRequest(func(kind string, n int) {
		if kind == salesforcefake.KindQueryMore && n == 1 {
			e.fake.InvalidateSessions()
		}
	})
	p := newPortfolio()
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	requireSame(t, e.fake, p)
	accepted := e.fake.RefreshTokens()
	mu.Lock()
	defer mu.Unlock()
	if len(rotated) != 2 || len(accepted) != 1 || rotated[1] != accepted[0] {
		t.Errorf("OnRotate heard %v; the org accepts %v", rotated, accepted)
	}
}
