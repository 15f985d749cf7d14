package salesforce

import (
	"context"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/salesforcefake"
)

const (
	secretClient  = "SECRET-client-8f3a9c"
	secretRefresh = "SECRET-refresh-5Aep86"
	secretWrong   = "SECRET-wrong-client-77"
)

// pemLines returns the base64 lines of a PEM key: none may leak.
func pemLines(key []byte) []string {
	var out []string
	for _, l := range strings.Split(string(key), "\n") {
		if len(l) > 20 && !strings.HasPrefix(l, "-----") {
			out = append(out, l)
		}
	}
	return out
}

func TestSecretsNeverAppearInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	jwtAuth := func(key []byte) Auth {
		return Auth{ClientID: salesforcefake.DefaultClientID, Username: salesforcefake.DefaultUsername, PrivateKey: key}
	}
	tests := []struct {
		name  string
		auth  Auth
		setup func(e *env)
	}{
		{"refresh token refused", Auth{}, func(e *env) { e.fake.FailTokens("invalid_grant", "expired access/refresh token") }},
		{"wrong client secret", Auth{ClientID: salesforcefake.DefaultClientID, ClientSecret: secretWrong}, nil},
		{"jwt signed by an untrusted key", jwtAuth(salesforcefake.UntrustedKeyPEM()), nil},
		{"jwt session revoked and sign-in refused", jwtAuth(salesforcefake.PrivateKeyPEM()), func(e *env) {
			e.fake.OnRequest(func(kind string, n int) {
				if kind == salesforcefake.KindQueryMore && n == 1 {
					e.fake.InvalidateSessions()
					e.fake.FailTokens("invalid_grant", "user hasn't approved this consumer")
				}
			})
		}},
		{"sessions and refresh tokens revoked", Auth{}, func(e *env) {
			e.fake.OnRequest(func(kind string, n int) {
				if kind == salesforcefake.KindQueryMore && n == 1 {
					e.fake.InvalidateSessions()
					e.fake.RevokeRefreshTokens()
				}
			})
		}},
		{"sessions and refresh tokens revoked reading activities' accounts", Auth{}, func(e *env) {
			e.fake.LogActivity("Task", e.fake.IDs("Account")[0], "", start)
			e.fake.OnRequest(func(kind string, n int) {
				if kind == salesforcefake.KindQuery && n == 6 { // User, Account, Contact, Opportunity, Task, Account by Id
					e.fake.InvalidateSessions()
					e.fake.RevokeRefreshTokens()
				}
			})
		}},
		{"server errors until giving up", Auth{}, func(e *env) { e.fake.FailNext(10, 500) }},
		{"allocation spent", Auth{}, func(e *env) { e.fake.SetUsage(100000, 0) }},
		{"token endpoint unreachable", Auth{}, func(e *env) { e.fake.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, salesforcefake.Options{ClientSecret: secretClient, RefreshToken: secretRefresh, Rotate: true})
			e.fake.Seed(30, 0, 0)
			e.opts.Auth = Auth{ClientID: salesforcefake.DefaultClientID, ClientSecret: secretClient, RefreshToken: secretRefresh}
			if tt.auth.ClientID != "" {
				e.opts.Auth = tt.auth
			}
			if tt.setup != nil {
				tt.setup(e)
			}
			err := e.connector(t).Pull(t.Context(), nil, func(context.Context, connectors.Page) error { return nil })
			if err == nil {
				t.Fatal("Pull succeeded; the scenario must fail")
			}
			secrets := []string{secretClient, secretRefresh, secretWrong, "eyJhbGciOiJSUzI1NiIs", "!AQ0AQ", "Bearer "}
			secrets = append(secrets, e.fake.AccessTokens()...)
			secrets = append(secrets, e.fake.RefreshTokens()...)
			secrets = append(secrets, pemLines(salesforcefake.PrivateKeyPEM())...)
			secrets = append(secrets, pemLines(salesforcefake.UntrustedKeyPEM())...)
			logs := e.logs.String()
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q contains the secret %q", err, s)
				}
				if strings.Contains(logs, s) {
					t.Errorf("logs contain the secret %q:\n%s", s, logs)
				}
			}
			t.Logf("error: %v", err)
		})
	}
}
