package auth

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/slackoidcfake"
)

const hostile = "<script>alert(1)</script>"

func TestSignIn(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*Options)
		setup  func(*slackoidcfake.Server)
		who    slackoidcfake.Identity
		status int
		want   User     // when status is 200
		body   []string // in the final page
		not    []string // never in it
		check  func(t *testing.T, r *rig)
	}{
		{
			name: "rep", who: slackoidcfake.Identity{Email: "Rep@Example.com", Name: "Rita Rep"},
			status: http.StatusOK, want: User{Email: "rep@example.com", Name: "Rita Rep", Via: ViaSlack},
		},
		{
			name: "admin by email, any case", who: slackoidcfake.Identity{Email: "boss@example.COM", Name: "Bea Boss"},
			status: http.StatusOK, want: User{Email: "boss@example.com", Name: "Bea Boss", Admin: true, Via: ViaSlack},
		},
		{
			name: "neither rep nor admin", who: slackoidcfake.Identity{Email: "who@example.com", Name: "Stranger"},
			status: http.StatusForbidden, body: []string{"Not a rep or admin here", "Signed in as Stranger (who@example.com)"},
		},
		{
			name: "hostile name is escaped", who: slackoidcfake.Identity{Email: "who@example.com", Name: hostile},
			status: http.StatusForbidden,
			body:   []string{"Not a rep or admin here", "&lt;script&gt;alert(1)&lt;/script&gt;"},
			not:    []string{hostile},
		},
		{
			name: "owner lookup fails", who: slackoidcfake.Identity{Email: "broken@example.com"},
			status: http.StatusInternalServerError, body: []string{"could not look up your accounts"},
		},
		{
			name: "workspace allowed", edit: func(o *Options) { o.TeamID = "T0GOOD" },
			who:    slackoidcfake.Identity{Email: "rep@example.com", Name: "Rita", TeamID: "T0GOOD"},
			status: http.StatusOK, want: User{Email: "rep@example.com", Name: "Rita", Via: ViaSlack},
			check: func(t *testing.T, r *rig) {
				if got := r.fake.LastAuthorize().Get("team"); got != "T0GOOD" {
					t.Errorf("authorize team = %q, want the workspace preselected", got)
				}
			},
		},
		{
			name: "other workspace refused", edit: func(o *Options) { o.TeamID = "T0GOOD" },
			who:    slackoidcfake.Identity{Email: "boss@example.com", Name: "Bea", TeamID: "T0EVIL"},
			status: http.StatusForbidden, body: []string{"Wrong Slack workspace"},
		},
		{
			name: "PKCE when advertised", setup: func(f *slackoidcfake.Server) { f.SetPKCE(true) },
			who:    slackoidcfake.Identity{Email: "rep@example.com", Name: "Rita"},
			status: http.StatusOK, want: User{Email: "rep@example.com", Name: "Rita", Via: ViaSlack},
			check: func(t *testing.T, r *rig) {
				q := r.fake.LastAuthorize()
				if q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" {
					t.Errorf("authorize query %v: want an S256 code challenge", q)
				}
			},
		},
		{
			name: "no PKCE unless advertised", who: slackoidcfake.Identity{Email: "rep@example.com", Name: "Rita"},
			status: http.StatusOK, want: User{Email: "rep@example.com", Name: "Rita", Via: ViaSlack},
			check: func(t *testing.T, r *rig) {
				q := r.fake.LastAuthorize()
				if q.Has("code_challenge") || q.Get("scope") != "openid email profile" || q.Get("nonce") == "" {
					t.Errorf("authorize query %v: want scope openid email profile, a nonce, no challenge", q)
				}
			},
		},
		{
			name: "email from userInfo", who: slackoidcfake.Identity{Email: "rep@example.com", Name: "Rita", EmailOnlyInUserInfo: true},
			status: http.StatusOK, want: User{Email: "rep@example.com", Name: "Rita", Via: ViaSlack},
			check: func(t *testing.T, r *rig) {
				if n := r.fake.Count("/api/openid.connect.userInfo"); n != 1 {
					t.Errorf("userInfo called %d times, want 1", n)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.edit)
			if tt.setup != nil {
				tt.setup(r.fake)
			}
			resp, body := r.signIn(tt.who)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			for _, s := range tt.body {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q: %s", s, body)
				}
			}
			for _, s := range tt.not {
				if strings.Contains(body, s) {
					t.Errorf("page has %q: %s", s, body)
				}
			}
			if tt.check != nil {
				tt.check(t, r)
			}
			if tt.status != http.StatusOK {
				r.signedOut(r.client)
				return
			}
			if got := resp.Request.URL.RequestURI(); got != "/portfolio?x=1" {
				t.Errorf("landed on %s, want back on /portfolio?x=1", got)
			}
			if got := decodeEcho(t, body).User; got != tt.want {
				t.Errorf("user %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSignInRefused(t *testing.T) {
	tests := []struct {
		fault  slackoidcfake.Fault
		status int
		reason string // in the log
	}{
		{slackoidcfake.InvalidCode, http.StatusUnauthorized, "invalid_code"},
		{slackoidcfake.WrongAudience, http.StatusUnauthorized, "expected audience"},
		{slackoidcfake.Expired, http.StatusUnauthorized, "token is expired"},
		{slackoidcfake.WrongNonce, http.StatusUnauthorized, "nonce does not match"},
		{slackoidcfake.ReplayToken, http.StatusUnauthorized, "nonce does not match"},
		{slackoidcfake.AccessDenied, http.StatusForbidden, "access_denied"},
	}
	for _, tt := range tests {
		t.Run(string(tt.fault), func(t *testing.T) {
			r := newRig(t, nil)
			who := slackoidcfake.Identity{Email: "boss@example.com", Name: "Bea"}
			_, earlier := newBrowser()
			r.signInWith(earlier, who) // an ID token to replay
			r.fake.SetFault(tt.fault)
			resp, body := r.signIn(who)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if !strings.Contains(r.log.String(), tt.reason) {
				t.Errorf("log lacks %q: %s", tt.reason, r.log)
			}
			r.signedOut(r.client)
		})
	}
}

func TestState(t *testing.T) {
	who := slackoidcfake.Identity{Email: "boss@example.com", Name: "Bea"}
	tests := []struct {
		name   string
		break_ func(r *rig, callback string) (*http.Client, string)
		status int
	}{
		{"state param tampered", func(r *rig, cb string) (*http.Client, string) {
			u, _ := url.Parse(cb)
			q := u.Query()
			q.Set("state", tamper(q.Get("state")))
			u.RawQuery = q.Encode()
			return r.client, u.String()
		}, http.StatusBadRequest},
		{"state cookie tampered", func(r *rig, cb string) (*http.Client, string) {
			r.setCookie(r.jar, stateCookie, tamper(r.cookie(r.jar, stateCookie)))
			return r.client, cb
		}, http.StatusBadRequest},
		{"state expired", func(r *rig, cb string) (*http.Client, string) {
			r.clock.Advance(stateTTL + time.Second)
			return r.client, cb
		}, http.StatusBadRequest},
		{"another browser", func(r *rig, cb string) (*http.Client, string) {
			_, other := newBrowser()
			return other, cb
		}, http.StatusBadRequest},
		{"callback replayed", func(r *rig, cb string) (*http.Client, string) {
			if resp, body := r.do(r.client, http.MethodGet, cb, nil, nil); resp.StatusCode != http.StatusOK {
				t.Fatalf("first callback: %d: %s", resp.StatusCode, body)
			}
			_, replay := newBrowser()
			r.setCookie(replay.Jar, stateCookie, r.stateSeen)
			return replay, cb // state and cookie match: Slack refuses the used code
		}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, nil)
			cb := r.callbackURL(r.jar, who)
			r.stateSeen = r.cookie(r.jar, stateCookie)
			c, target := tt.break_(r, cb)
			resp, body := r.do(c, http.MethodGet, target, nil, nil)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.name != "callback replayed" {
				r.signedOut(c)
			}
		})
	}
}

func TestSession(t *testing.T) {
	who := slackoidcfake.Identity{Email: "rep@example.com", Name: "Rita"}
	tests := []struct {
		name  string
		after func(r *rig)
		in    bool
	}{
		{"valid", func(*rig) {}, true},
		{"just before expiry", func(r *rig) { r.clock.Advance(DefaultSessionTTL - time.Second) }, true},
		{"expired", func(r *rig) { r.clock.Advance(DefaultSessionTTL) }, false},
		{"tampered", func(r *rig) { r.setCookie(r.jar, sessionCookie, tamper(r.cookie(r.jar, sessionCookie))) }, false},
		{"signed with another key", func(r *rig) {
			other := signer{key: []byte(strings.Repeat("x", 32))}
			sealed, _ := other.seal(purposeSession, session{ID: "x", Email: "boss@example.com", Via: ViaSlack, Expires: r.clock.Now().Add(time.Hour).Unix()})
			r.setCookie(r.jar, sessionCookie, sealed)
		}, false},
		{"loopback session under sign-in", func(r *rig) {
			sealed, _ := r.auth.signer.seal(purposeSession, session{ID: "x", Via: ViaLoopback, Expires: r.clock.Now().Add(time.Hour).Unix()})
			r.setCookie(r.jar, sessionCookie, sealed)
		}, false},
		{"state cookie as session", func(r *rig) {
			st, _ := r.auth.signer.seal(purposeState, loginState{State: "x", Expires: r.clock.Now().Add(time.Hour).Unix()})
			r.setCookie(r.jar, sessionCookie, st)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, nil)
			if resp, body := r.signIn(who); resp.StatusCode != http.StatusOK {
				t.Fatalf("sign-in: %d: %s", resp.StatusCode, body)
			}
			tt.after(r)
			if tt.in {
				if got := r.me(r.client).User.Email; got != "rep@example.com" {
					t.Errorf("signed in as %q", got)
				}
				return
			}
			r.signedOut(r.client)
			resp, _ := r.do(r.client, http.MethodPost, "/portfolio", url.Values{}, nil)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("POST signed out: %d, want 401", resp.StatusCode)
			}
		})
	}
}

func TestSessionCookie(t *testing.T) {
	r := newRig(t, nil)
	cb := r.callbackURL(r.jar, slackoidcfake.Identity{Email: "rep@example.com", Name: "Rita"})
	stop := &http.Client{Jar: r.jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, _ := r.do(stop, http.MethodGet, cb, nil, nil)
	var got *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			got = c
		}
	}
	if got == nil {
		t.Fatalf("no session cookie set: %v", resp.Header["Set-Cookie"])
	}
	if !got.HttpOnly || got.SameSite != http.SameSiteLaxMode || got.Path != "/" || got.Secure || got.MaxAge != int(DefaultSessionTTL/time.Second) {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/, not Secure over http, Max-Age 12h", got)
	}
}

func TestSecureCookies(t *testing.T) {
	tests := []struct {
		mode, public string
		tls, want    bool
	}{
		{SecureAuto, "https://crm.example.com", false, true},
		{SecureAuto, "http://127.0.0.1:8080", false, false},
		{SecureAuto, "", true, true},
		{SecureAlways, "http://127.0.0.1:8080", false, true},
		{SecureNever, "https://crm.example.com", true, false},
	}
	for _, tt := range tests {
		a := &Auth{opts: Options{CookieSecure: tt.mode, PublicURL: tt.public}}
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		if tt.tls {
			r = httptest.NewRequest(http.MethodGet, "https://crm.example.com/", nil)
		}
		if got := a.secure(r); got != tt.want {
			t.Errorf("secure(%q, %q, tls %v) = %v, want %v", tt.mode, tt.public, tt.tls, got, tt.want)
		}
	}
}

func TestLogout(t *testing.T) {
	r := newRig(t, nil)
	r.owners["hostile@example.com"] = true
	if resp, body := r.signIn(slackoidcfake.Identity{Email: "hostile@example.com", Name: hostile}); resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d: %s", resp.StatusCode, body)
	}
	stolen := r.cookie(r.jar, sessionCookie)
	_, page := r.do(r.client, http.MethodGet, LogoutPath, nil, nil)
	if strings.Contains(page, hostile) || !strings.Contains(page, "Signed in as &lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("logout page does not escape the name: %s", page)
	}
	if resp, _ := r.do(r.client, http.MethodPost, LogoutPath, url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout without CSRF token: %d, want 403", resp.StatusCode)
	}
	csrf := r.me(r.client).CSRF
	resp, body := r.do(r.client, http.MethodPost, LogoutPath, url.Values{CSRFField: {csrf}}, nil)
	if resp.Request.URL.Path != LoginPath || !strings.Contains(body, "You are signed out") {
		t.Fatalf("logout: %d at %s: %s", resp.StatusCode, resp.Request.URL, body)
	}
	r.signedOut(r.client)
	r.setCookie(r.jar, sessionCookie, stolen) // the cookie, replayed after logout
	r.signedOut(r.client)
}

func TestCSRF(t *testing.T) {
	r := newRig(t, nil)
	r.signIn(slackoidcfake.Identity{Email: "rep@example.com", Name: "Rita"})
	token := r.me(r.client).CSRF
	if token == "" {
		t.Fatal("no CSRF token for a signed-in user")
	}
	_, otherClient := newBrowser()
	r.signInWith(otherClient, slackoidcfake.Identity{Email: "rep@example.com", Name: "Rita"})
	foreign := r.me(otherClient).CSRF

	tests := []struct {
		name   string
		method string
		form   url.Values
		header http.Header
		status int
	}{
		{"POST without token", http.MethodPost, url.Values{"x": {"1"}}, nil, http.StatusForbidden},
		{"POST wrong token", http.MethodPost, url.Values{CSRFField: {"nope"}}, nil, http.StatusForbidden},
		{"POST another session's token", http.MethodPost, url.Values{CSRFField: {foreign}}, nil, http.StatusForbidden},
		{"POST form token", http.MethodPost, url.Values{CSRFField: {token}}, nil, http.StatusOK},
		{"POST header token", http.MethodPost, nil, http.Header{CSRFHeader: {token}}, http.StatusOK},
		{"PUT without token", http.MethodPut, nil, nil, http.StatusForbidden},
		{"PATCH without token", http.MethodPatch, nil, nil, http.StatusForbidden},
		{"DELETE without token", http.MethodDelete, nil, nil, http.StatusForbidden},
		{"DELETE header token", http.MethodDelete, nil, http.Header{CSRFHeader: {token}}, http.StatusOK},
		{"GET needs none", http.MethodGet, nil, nil, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := r.do(r.client, tt.method, "/portfolio", tt.form, tt.header)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status == http.StatusOK && decodeEcho(t, body).Method != tt.method {
				t.Errorf("handler saw %s", decodeEcho(t, body).Method)
			}
		})
	}
}

func TestBearer(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(*Options)
		method   string
		auth     string
		status   int
		loopback bool
	}{
		{name: "admin token", method: http.MethodGet, auth: "Bearer " + testAdminToken, status: http.StatusOK},
		{name: "admin token, POST without CSRF", method: http.MethodPost, auth: "Bearer " + testAdminToken, status: http.StatusOK},
		{name: "wrong token", method: http.MethodGet, auth: "Bearer nope", status: http.StatusUnauthorized},
		{name: "not a bearer", method: http.MethodGet, auth: "Basic YWRtaW46czNjcmV0", status: http.StatusUnauthorized},
		{name: "no token configured", edit: func(o *Options) { o.AdminToken = "" }, method: http.MethodGet, auth: "Bearer ", status: http.StatusUnauthorized},
		{name: "loopback mode", edit: func(o *Options) { o.ClientID = "" }, method: http.MethodPost, auth: "Bearer " + testAdminToken, status: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.edit)
			resp, body := r.do(r.client, tt.method, "/queues", url.Values{}, http.Header{"Authorization": {tt.auth}})
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status != http.StatusOK {
				if resp.Header.Get("WWW-Authenticate") != "Bearer" {
					t.Errorf("no WWW-Authenticate: Bearer")
				}
				return
			}
			e := decodeEcho(t, body)
			if want := (User{Name: "admin token", Admin: true, Via: ViaToken}); e.User != want || e.CSRF != "" {
				t.Errorf("user %+v csrf %q, want %+v and no token", e.User, e.CSRF, want)
			}
		})
	}
}

func TestLoopbackOnly(t *testing.T) {
	r := newRig(t, func(o *Options) { o.ClientID, o.SessionKey = "", "" })
	e := r.me(r.client)
	if want := (User{Name: "local user", Admin: true, Via: ViaLoopback}); e.User != want || e.CSRF == "" {
		t.Fatalf("user %+v csrf %q, want %+v with a CSRF token", e.User, e.CSRF, want)
	}
	if resp, _ := r.do(r.client, http.MethodPost, "/rules", url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST without CSRF token on loopback: %d, want 403", resp.StatusCode)
	}
	if resp, body := r.do(r.client, http.MethodPost, "/rules", url.Values{CSRFField: {e.CSRF}}, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("POST with CSRF token on loopback: %d: %s", resp.StatusCode, body)
	}
	if _, body := r.do(r.client, http.MethodGet, LoginPath, nil, nil); !strings.Contains(body, "served only on this machine") {
		t.Errorf("sign-in page does not say the UI is loopback only: %s", body)
	}

	refused := []struct {
		name   string
		header http.Header
	}{
		{"DNS rebinding", http.Header{"Host": {"evil.example"}}},
		{"through a proxy", http.Header{"X-Forwarded-For": {"203.0.113.9"}}},
		{"through a proxy (Forwarded)", http.Header{"Forwarded": {"for=203.0.113.9"}}},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, r.srv.URL+"/portfolio", nil)
			for k, v := range tt.header {
				req.Header[k] = v
			}
			req.Host = req.Header.Get("Host")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("status %d, want 403", resp.StatusCode)
			}
		})
	}
	t.Run("from another machine", func(t *testing.T) {
		for _, remote := range []string{"192.0.2.10:51000", "[2001:db8::1]:51000"} {
			w := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080/portfolio", nil)
			req.RemoteAddr = remote
			r.auth.Require(http.HandlerFunc(echo)).ServeHTTP(w, req)
			body := w.Body.String()
			if w.Code != http.StatusForbidden || !strings.Contains(body, "configure Sign in with Slack") {
				t.Errorf("from %s: %d: %s", remote, w.Code, body)
			}
		}
	})
	t.Run("on a public listener", func(t *testing.T) {
		w := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080/portfolio", nil)
		req.RemoteAddr = "127.0.0.1:51000"
		req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.ParseIP("192.0.2.2"), Port: 8080}))
		r.auth.Require(http.HandlerFunc(echo)).ServeHTTP(w, req)
		if w.Code != http.StatusForbidden {
			t.Errorf("status %d, want 403", w.Code)
		}
	})
}

func TestOpenRedirect(t *testing.T) {
	tests := map[string]string{
		"/portfolio?owner=a":   "/portfolio?owner=a",
		"//evil.example/x":     "/",
		"/\\evil.example":      "/",
		"https://evil.example": "/",
		"javascript:alert(1)":  "/",
		"":                     "/",
		"/a\r\nSet-Cookie: x":  "/",
	}
	for in, want := range tests {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
	r := newRig(t, nil)
	r.fake.SetIdentity(slackoidcfake.Identity{Email: "boss@example.com"})
	resp, _ := r.do(r.client, http.MethodPost, LoginPath, url.Values{"next": {"//evil.example/"}}, nil)
	if resp.Request.URL.Host != strings.TrimPrefix(r.srv.URL, "http://") || resp.Request.URL.Path != "/" {
		t.Errorf("landed on %s, want / on the dashboard", resp.Request.URL)
	}
}
