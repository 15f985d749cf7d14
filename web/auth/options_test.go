package auth

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNewOptions(t *testing.T) {
	key := strings.Repeat("k", MinSessionKey)
	slack := func(edit func(*Options)) Options {
		o := Options{ClientID: "1.2", ClientSecret: "s", PublicURL: "https://crm.example.com", SessionKey: key}
		edit(&o)
		return o
	}
	tests := []struct {
		name string
		opts Options
		err  string // "" for none
	}{
		{"loopback only, no key", Options{}, ""},
		{"slack", slack(func(*Options) {}), ""},
		{"short key", slack(func(o *Options) { o.SessionKey = "short" }), "SessionKey: 5 bytes, want at least 32"},
		{"no key", slack(func(o *Options) { o.SessionKey = "" }), "SessionKey: required with ClientID"},
		{"no secret", slack(func(o *Options) { o.ClientSecret = "" }), "ClientSecret: required with ClientID"},
		{"no public URL", slack(func(o *Options) { o.PublicURL = "" }), "PublicURL: required with ClientID"},
		{"public URL not http", slack(func(o *Options) { o.PublicURL = "crm.example.com" }), `PublicURL: "crm.example.com" is not an http(s) URL`},
		{"public URL with query", slack(func(o *Options) { o.PublicURL = "https://crm.example.com/?a=1" }), "has a query or fragment"},
		{"bad issuer", slack(func(o *Options) { o.IssuerURL = "ftp://slack.com" }), "IssuerURL:"},
		{"bad secure mode", Options{CookieSecure: "yes"}, `CookieSecure: "yes"`},
		{"admin not an email", Options{Admins: []string{"boss"}}, `Admins: "boss" is not an email`},
		{"ttl too short", Options{SessionTTL: 1}, "SessionTTL: 1ns, want at least 1m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.opts)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.err == "":
				if a.SignInEnabled() != (tt.opts.ClientID != "") {
					t.Errorf("SignInEnabled = %v", a.SignInEnabled())
				}
			case err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "auth: "):
				t.Errorf("New: %v, want an error with %q", err, tt.err)
			}
		})
	}
}

func TestSlackUnreachable(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	a, err := New(Options{ClientID: "1.2", ClientSecret: "s", PublicURL: "http://127.0.0.1:8080", IssuerURL: dead.URL,
		SessionKey: strings.Repeat("k", MinSessionKey), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	a.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodPost, LoginPath, nil))
	if w.Code != http.StatusBadGateway || !strings.Contains(w.Body.String(), "Slack is unreachable") {
		t.Errorf("status %d: %s", w.Code, w.Body)
	}
	if len(w.Result().Cookies()) != 0 {
		t.Errorf("cookies set for a sign-in that did not start: %v", w.Result().Cookies())
	}
}
