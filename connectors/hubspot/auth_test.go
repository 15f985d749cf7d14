package hubspot

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/hubspotfake"
)

// oauthFake is a fake portal for the tests' OAuth app.
func oauthFake(t *testing.T, rotate bool) *hubspotfake.Server {
	return newFake(t, hubspotfake.Options{ClientID: testClientID, ClientSecret: testClientSecret, RefreshToken: testRefresh, RotateRefreshTokens: rotate})
}

func oauth(o *Options) {
	o.Auth = Auth{ClientID: testClientID, ClientSecret: testClientSecret, RefreshToken: testRefresh}
}

func TestPullRefreshesAnExpiredToken(t *testing.T) {
	t.Parallel()
	f := oauthFake(t, true)
	f.Seed(250, 1, 0)
	f.SetHook(func(r hubspotfake.Request) {
		if r.Path == hubspotfake.ObjectsPath(hubspotfake.Companies) && r.N == 2 {
			f.ExpireTokens()
		}
	})
	var mu sync.Mutex
	var rotated []string
	c := newConnector(t, f, func(o *Options) {
		oauth(o)
		o.Auth.OnRotate = func(_ context.Context, rt string) {
			mu.Lock()
			defer mu.Unlock()
			rotated = append(rotated, rt)
		}
	})
	got := merge(mustPull(t, c, nil))
	if len(got.accounts) != 250 || len(got.contacts) != 250 {
		t.Errorf("got %d accounts, %d contacts", len(got.accounts), len(got.contacts))
	}
	if n := f.Count(hubspotfake.TokenPath); n != 2 {
		t.Errorf("%d token requests, want 2 (first token, refresh after the 401)", n)
	}
	expired := 0
	for _, r := range f.Requests() {
		if r.Status == http.StatusUnauthorized {
			expired++
		}
		if r.Path != hubspotfake.TokenPath && !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer fake-access-") {
			t.Fatalf("%s sent Authorization %q", r.Path, r.Header.Get("Authorization"))
		}
	}
	if expired != 1 {
		t.Errorf("%d answers 401, want 1", expired)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(rotated) != 2 || rotated[1] != f.RefreshTokenNow() {
		t.Errorf("OnRotate heard %d refresh tokens, last %q; want 2, the current one", len(rotated), rotated)
	}
}

func TestPullGivesUpWhenARefreshedTokenIsRefusedToo(t *testing.T) {
	t.Parallel()
	f := oauthFake(t, false)
	f.Inject(hubspotfake.Fault{Path: hubspotfake.OwnersPath, Status: http.StatusUnauthorized, Times: 2})
	c := newConnector(t, f, oauth)
	_, err := pull(t, c, nil)
	if !errors.Is(err, connectors.ErrAuth) || !strings.HasPrefix(err.Error(), "hubspot: owners: ") {
		t.Errorf("Pull = %v, want ErrAuth", err)
	}
	if n := f.Count(hubspotfake.TokenPath); n != 2 {
		t.Errorf("%d token requests, want 2 (one refresh only)", n)
	}
}

func TestPullFailsFastOnRefusedCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Options)
		errHas string
		calls  string // the path that must have been called once
	}{
		{"refresh token", func(o *Options) { oauth(o); o.Auth.RefreshToken = "na1-revoked" }, "400 BAD_REFRESH_TOKEN", hubspotfake.TokenPath},
		{"client secret", func(o *Options) { oauth(o); o.Auth.ClientSecret = "wrong-secret" }, "400 BAD_CLIENT_SECRET", hubspotfake.TokenPath},
		{"private token", func(o *Options) { o.Auth = Auth{Token: "pat-na1-revoked"} }, "401 INVALID_AUTHENTICATION", hubspotfake.OwnersPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, hubspotfake.Options{PrivateToken: testToken, ClientID: testClientID, ClientSecret: testClientSecret, RefreshToken: testRefresh})
			c := newConnector(t, f, tt.change)
			_, err := pull(t, c, nil)
			if !errors.Is(err, connectors.ErrAuth) || !strings.Contains(err.Error(), tt.errHas) || !strings.HasPrefix(err.Error(), "hubspot: owners: ") {
				t.Errorf("Pull = %v, want ErrAuth with %q", err, tt.errHas)
			}
			if n := f.Total(); n != 1 || f.Count(tt.calls) != 1 {
				t.Errorf("%d requests, want 1 on %s (no retry)", n, tt.calls)
			}
		})
	}
}

func TestSecretsStayOutOfErrorsAndLogs(t *testing.T) {
	t.Parallel()
	echo := `{"status":"error","message":"bad header: Bearer ` + testToken + ` / ` + testClientSecret + ` / ` + testRefresh + `","category":"VALIDATION_ERROR"}`
	tests := []struct {
		name   string
		change func(*Options)
		setup  func(*hubspotfake.Server)
	}{
		{"wrong private token", func(o *Options) { o.Auth.Token = testToken + "-old" }, nil},
		{"wrong client secret", func(o *Options) { oauth(o); o.Auth.ClientSecret = testClientSecret + "-old" }, nil},
		{"revoked refresh token", func(o *Options) { oauth(o); o.Auth.RefreshToken = testRefresh + "-old" }, nil},
		{"token endpoint down", oauth, func(f *hubspotfake.Server) {
			f.Inject(hubspotfake.Fault{Path: hubspotfake.TokenPath, Status: 503, Times: 10})
		}},
		{"answer quoting the credentials", nil, func(f *hubspotfake.Server) {
			f.Inject(hubspotfake.Fault{Path: hubspotfake.ObjectsPath(hubspotfake.Contacts), Status: 400, Body: echo})
		}},
		{"oauth answer quoting the credentials", oauth, func(f *hubspotfake.Server) {
			f.Inject(hubspotfake.Fault{Path: hubspotfake.ObjectsPath(hubspotfake.Deals), Status: 403, Body: echo})
		}},
		{"token refusal quoting the credentials", oauth, func(f *hubspotfake.Server) {
			f.Inject(hubspotfake.Fault{Path: hubspotfake.TokenPath, Status: 400, Body: `{"status":"BAD_REFRESH_TOKEN","message":"unknown ` + testRefresh + ` for ` + testClientSecret + `"}`})
		}},
		{"expired twice", oauth, func(f *hubspotfake.Server) {
			f.Inject(hubspotfake.Fault{Path: hubspotfake.ObjectsPath(hubspotfake.Companies), Status: 401, Times: 2})
		}},
		{"daily limit", nil, func(f *hubspotfake.Server) {
			f.Inject(hubspotfake.Fault{Path: hubspotfake.ObjectsPath(hubspotfake.Companies), Status: 429, Body: f.DailyBody()})
		}},
		{"account details refused", nil, func(f *hubspotfake.Server) {
			f.Inject(hubspotfake.Fault{Path: hubspotfake.AccountInfoPath, Status: 403, Body: echo})
			f.Inject(hubspotfake.Fault{Path: hubspotfake.SearchPath(hubspotfake.Companies), Status: 400, Body: echo})
			f.Inject(hubspotfake.Fault{Path: hubspotfake.ObjectsPath(hubspotfake.Companies), Status: 400, Body: echo})
		}},
		{"server gone", func(o *Options) { o.BaseURL = "http://127.0.0.1:1"; o.Attempts = 2 }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, hubspotfake.Options{PrivateToken: testToken, ClientID: testClientID, ClientSecret: testClientSecret, RefreshToken: testRefresh})
			f.Seed(3, 1, 1)
			if tt.setup != nil {
				tt.setup(f)
			}
			var logs bytes.Buffer
			var secrets []string // those the connector holds or was given
			c := newConnector(t, f, func(o *Options) {
				o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				if tt.change != nil {
					tt.change(o)
				}
				secrets = append(secrets, o.Auth.Token, o.Auth.ClientSecret, o.Auth.RefreshToken)
				if o.Auth.RefreshToken != "" {
					secrets = append(secrets, f.RefreshTokenNow())
				}
			})
			_, err := pull(t, c, nil)
			if err == nil {
				t.Fatal("Pull succeeded; the scenario should fail")
			}
			for _, r := range f.Requests() {
				if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && tok != "" {
					secrets = append(secrets, tok)
				}
			}
			for _, s := range secrets {
				if s == "" {
					continue
				}
				if strings.Contains(err.Error(), s) {
					t.Errorf("error quotes a secret: %v", err)
				}
				if strings.Contains(logs.String(), s) {
					t.Errorf("logs quote a secret: %s", logs.String())
				}
			}
		})
	}
}
