package slackoidcfake

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
)

const (
	clientID = "1.2"
	secret   = "shh"
	redirect = "http://127.0.0.1:1/auth/callback"
)

// noFollow is a client that shows redirects instead of following them.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorize runs the authorize endpoint and returns the query it sends
// the browser back with.
func authorize(t *testing.T, s *Server, extra url.Values) url.Values {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "scope": {"openid email profile"},
		"redirect_uri": {redirect}, "state": {"st"}, "nonce": {"nc"}}
	for k, v := range extra {
		q[k] = v
	}
	resp, err := noFollow.Get(s.URL() + "/openid/connect/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), redirect) {
		t.Fatalf("authorize: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query()
}

// post calls a Web API method and decodes its envelope.
func post(t *testing.T, s *Server, method string, form url.Values, header http.Header) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/api/"+method, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("%s: HTTP %d %s, want 200 JSON (Slack's envelope)", method, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var env map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	return env
}

func tokenForm(code string) url.Values {
	return url.Values{"client_id": {clientID}, "client_secret": {secret}, "code": {code},
		"grant_type": {"authorization_code"}, "redirect_uri": {redirect}}
}

func TestDiscoveryAndSignature(t *testing.T) {
	s := New(t, clientID, secret)
	s.SetIdentity(Identity{Email: "rep@example.com", Name: "Rita", TeamID: "T1"})
	ctx := context.Background()
	p, err := oidc.NewProvider(ctx, s.URL())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	var meta struct {
		Challenges []string `json:"code_challenge_methods_supported"`
	}
	if err := p.Claims(&meta); err != nil || len(meta.Challenges) != 0 {
		t.Errorf("PKCE advertised by default: %v %v", meta.Challenges, err)
	}
	env := post(t, s, "openid.connect.token", tokenForm(authorize(t, s, nil).Get("code")), nil)
	if env["ok"] != true || env["token_type"] != "Bearer" || !strings.HasPrefix(env["access_token"].(string), "xoxp-") {
		t.Fatalf("token answer %v", env)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: clientID}).Verify(ctx, env["id_token"].(string))
	if err != nil {
		t.Fatalf("ID token does not verify against the JWKS: %v", err)
	}
	var c map[string]any
	_ = idt.Claims(&c)
	if idt.Nonce != "nc" || c["email"] != "rep@example.com" || c["https://slack.com/team_id"] != "T1" || idt.VerifyAccessToken(env["access_token"].(string)) != nil {
		t.Errorf("claims %v nonce %q", c, idt.Nonce)
	}
	info := post(t, s, "openid.connect.userInfo", nil, http.Header{"Authorization": {"Bearer " + env["access_token"].(string)}})
	if info["ok"] != true || info["email"] != "rep@example.com" || info["sub"] != idt.Subject {
		t.Errorf("userInfo %v", info)
	}
}

func TestMethodErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(s *Server, form url.Values)
		want  string
	}{
		{"unknown client", func(_ *Server, f url.Values) { f.Set("client_id", "9.9") }, "invalid_client_id"},
		{"wrong secret", func(_ *Server, f url.Values) { f.Set("client_secret", "no") }, "bad_client_secret"},
		{"unknown code", func(_ *Server, f url.Values) { f.Set("code", "nope") }, "invalid_code"},
		{"other redirect", func(_ *Server, f url.Values) { f.Set("redirect_uri", "http://evil.example/") }, "bad_redirect_uri"},
		{"bad grant type", func(_ *Server, f url.Values) { f.Set("grant_type", "password") }, "invalid_grant_type"},
		{"fault", func(s *Server, _ url.Values) { s.SetFault(InvalidCode) }, "invalid_code"},
		{"code used twice", func(s *Server, f url.Values) { post(t, s, "openid.connect.token", f, nil) }, "invalid_code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t, clientID, secret)
			form := tokenForm(authorize(t, s, nil).Get("code"))
			tt.setup(s, form)
			if env := post(t, s, "openid.connect.token", form, nil); env["ok"] != false || env["error"] != tt.want {
				t.Errorf("answer %v, want ok false, error %s", env, tt.want)
			}
		})
	}
	s := New(t, clientID, secret)
	if env := post(t, s, "openid.connect.userInfo", nil, nil); env["error"] != "not_authed" {
		t.Errorf("userInfo without token: %v", env)
	}
	if env := post(t, s, "openid.connect.userInfo", url.Values{"token": {"xoxp-nope"}}, nil); env["error"] != "invalid_auth" {
		t.Errorf("userInfo with unknown token: %v", env)
	}
}

func TestPKCE(t *testing.T) {
	s := New(t, clientID, secret)
	s.SetPKCE(true)
	verifier := "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	for _, tt := range []struct{ verifier, want string }{{"wrong", "invalid_code_verifier"}, {verifier, ""}} {
		q := authorize(t, s, url.Values{"code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"}})
		form := tokenForm(q.Get("code"))
		form.Set("code_verifier", tt.verifier)
		env := post(t, s, "openid.connect.token", form, nil)
		if got, _ := env["error"].(string); got != tt.want {
			t.Errorf("verifier %q: %v, want error %q", tt.verifier, env, tt.want)
		}
	}
}

func TestAccessDenied(t *testing.T) {
	s := New(t, clientID, secret)
	s.SetFault(AccessDenied)
	q := authorize(t, s, nil)
	if q.Get("error") != "access_denied" || q.Get("state") != "st" || q.Has("code") {
		t.Errorf("redirect query %v, want error=access_denied with the state", q)
	}
}
