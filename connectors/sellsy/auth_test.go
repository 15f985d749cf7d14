package sellsy

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/conntest"
	"github.com/crmsync/crmsync/internal/sellsyfake"
)

// TestTokenExpiryMidSync: an access token that expires between pages is
// replaced once, and the pull goes on.
func TestTokenExpiryMidSync(t *testing.T) {
	s := seededFake(t, sellsyfake.Options{})
	s.OnRequest(func(kind string, n int) {
		if kind == sellsyfake.KindContacts && n == 2 {
			s.ExpireTokens()
		}
	})
	got, err := conntest.Pull(newConnector(t, fakeOptions(s)), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkFull(t, got)
	if n := s.Count(sellsyfake.KindToken); n != 2 {
		t.Errorf("%d token requests, want 2 (the first, then one after the 401)", n)
	}
}

// TestRefreshTokenRotation: each refresh answers a new refresh token,
// which the next refresh must use and OnRotate hears of; the first one
// no longer works.
func TestRefreshTokenRotation(t *testing.T) {
	s := seededFake(t, sellsyfake.Options{})
	var mu sync.Mutex
	var rotated []string
	opts := fakeOptions(s)
	opts.Auth.RefreshToken = sellsyfake.DefaultRefreshToken
	opts.Auth.OnRotate = func(_ context.Context, rt string) {
		mu.Lock()
		defer mu.Unlock()
		rotated = append(rotated, rt)
	}
	s.OnRequest(func(kind string, n int) {
		if kind == sellsyfake.KindCompanies && n == 1 {
			s.ExpireTokens()
		}
	})
	got, err := conntest.Pull(newConnector(t, opts), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkFull(t, got)
	mu.Lock()
	defer mu.Unlock()
	if len(rotated) != 2 || rotated[1] != s.RefreshToken() || rotated[0] == sellsyfake.DefaultRefreshToken {
		t.Errorf("rotated %q, fake accepts %q; want two rotations ending with it", rotated, s.RefreshToken())
	}
	stale := opts
	stale.Auth.OnRotate = nil
	_, err = conntest.Pull(newConnector(t, stale), nil)
	if !errors.Is(err, connectors.ErrAuth) || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("pull with the first refresh token = %v, want invalid_grant wrapping ErrAuth", err)
	}
}

func TestRefusedCredentials(t *testing.T) {
	s := seededFake(t, sellsyfake.Options{})
	opts := fakeOptions(s)
	opts.Auth.ClientSecret = "wrong-secret-value"
	_, err := conntest.Pull(newConnector(t, opts), nil)
	if !errors.Is(err, connectors.ErrAuth) || !strings.Contains(err.Error(), "invalid_client") || strings.Contains(err.Error(), "wrong-secret-value") {
		t.Errorf("pull = %v; want invalid_client wrapping ErrAuth, without the secret", err)
	}
	if n := s.Count(sellsyfake.KindToken); n != 1 {
		t.Errorf("%d token requests, want 1 (a refusal is not retried)", n)
	}
}

func TestOptionsChecked(t *testing.T) {
	good := Options{Source: "sy", AccountID: "1", Auth: Auth{ClientID: "c", ClientSecret: "s"}}
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"no account", func(o *Options) { o.AccountID = "" }, "account_id"},
		{"account not a number", func(o *Options) { o.AccountID = "acme" }, "account_id"},
		{"no client secret", func(o *Options) { o.Auth.ClientSecret = "" }, "client_secret required"},
		{"plain http", func(o *Options) { o.BaseURL = "http://api.sellsy.com" }, "want https"},
		{"token url", func(o *Options) { o.Auth.TokenURL = "http://login.sellsy.com/t" }, "token_url"},
		{"page size", func(o *Options) { o.PageSize = 500 }, "page size"},
		{"mapping", func(o *Options) { o.Mapping.PrimaryContact.Property = "x" }, "primary_contact"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good
			tc.edit(&o)
			if _, err := New(o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error about %s", err, tc.want)
			}
		})
	}
	c, err := New(Options{Source: "sy", AccountID: "1", BaseURL: "https://api.sellsy.com/v2/", Auth: good.Auth})
	if err != nil || c.api != "https://api.sellsy.com/v2" {
		t.Errorf("New with the /v2 URL = %v, api %q", err, c.api)
	}
}
