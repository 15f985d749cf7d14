package auth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/logbuf"
	"github.com/crmsync/crmsync/internal/slackoidcfake"
)

const (
	testClientID   = "25259531569.1115258246291"
	testSecret     = "e1b9e11dfcd19c1982d5de12921e17e8c"
	testAdminToken = "s3cret"
)

// rig is a dashboard server guarded by an Auth, signing in through a fake
// Slack, and a browser (a client with a cookie jar, following redirects).
type rig struct {
	t      *testing.T
	fake   *slackoidcfake.Server // nil without sign-in
	auth   *Auth
	srv    *httptest.Server
	jar    http.CookieJar
	client *http.Client
	clock  *clock
	log    *logbuf.Buffer
	owners map[string]bool
	// stateSeen is the state cookie of the last callbackURL.
	stateSeen string
}

// newRig starts a rig with Sign in with Slack, after edit changes its
// Options; edit may clear ClientID for the loopback-only mode.
func newRig(t *testing.T, edit func(*Options)) *rig {
	t.Helper()
	r := &rig{t: t, clock: &clock{now: time.Now()}, log: &logbuf.Buffer{}, owners: map[string]bool{"rep@example.com": true}}
	r.srv = httptest.NewUnstartedServer(nil)
	t.Cleanup(r.srv.Close)
	opts := Options{
		ClientID:     testClientID,
		ClientSecret: testSecret,
		PublicURL:    "http://" + r.srv.Listener.Addr().String(),
		Admins:       []string{"Boss@Example.com"},
		IsOwner: func(_ context.Context, email string) (bool, error) {
			if email == "broken@example.com" {
				return false, errors.New("redis down")
			}
			return r.owners[email], nil
		},
		SessionKey: strings.Repeat("0123456789abcdef", 2),
		AdminToken: testAdminToken,
		Logger:     slog.New(slog.NewTextHandler(r.log, nil)),
		Now:        r.clock.Now,
	}
	if edit != nil {
		edit(&opts)
	}
	if opts.ClientID != "" {
		r.fake = slackoidcfake.New(t, testClientID, testSecret)
		opts.IssuerURL = r.fake.URL()
	}
	a, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	r.auth = a
	mux := http.NewServeMux()
	mux.Handle("/auth/", a.Handler())
	mux.Handle("/", a.Require(http.HandlerFunc(echo)))
	r.srv.Config.Handler = mux
	r.srv.Start()
	r.jar, r.client = newBrowser()
	return r
}

func newBrowser() (http.CookieJar, *http.Client) {
	jar, _ := cookiejar.New(nil)
	return jar, &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// echoed is what the guarded handler answers: who it sees.
type echoed struct {
	User   User
	CSRF   string
	Method string
}

func echo(w http.ResponseWriter, r *http.Request) {
	u, ok := UserFrom(r.Context())
	if !ok {
		http.Error(w, "no user in context", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(echoed{User: u, CSRF: CSRFToken(r), Method: r.Method})
}

// signIn signs the rig's browser in as who, starting from /portfolio?x=1,
// and returns the last response and its body.
func (r *rig) signIn(who slackoidcfake.Identity) (*http.Response, string) {
	r.t.Helper()
	return r.signInWith(r.client, who)
}

func (r *rig) signInWith(c *http.Client, who slackoidcfake.Identity) (*http.Response, string) {
	r.t.Helper()
	r.fake.SetIdentity(who)
	resp, body := r.do(c, http.MethodGet, "/portfolio?x=1", nil, nil)
	if resp.Request.URL.Path != LoginPath || !strings.Contains(body, "Sign in with Slack") {
		r.t.Fatalf("GET /portfolio signed out: landed on %s: %s", resp.Request.URL, body)
	}
	return r.do(c, http.MethodPost, LoginPath, url.Values{"next": {resp.Request.URL.Query().Get("next")}}, nil)
}

// callbackURL starts a sign-in in c's browser and stops where Slack sends
// the browser back, returning that URL.
func (r *rig) callbackURL(jar http.CookieJar, who slackoidcfake.Identity) string {
	r.t.Helper()
	r.fake.SetIdentity(who)
	stop := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == CallbackPath {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, _ := r.do(stop, http.MethodPost, LoginPath, url.Values{"next": {"/portfolio"}}, nil)
	loc := resp.Header.Get("Location")
	if !strings.Contains(loc, CallbackPath) {
		r.t.Fatalf("sign-in did not come back to the callback: %d %q", resp.StatusCode, loc)
	}
	return loc
}

// do sends a request to the rig's server (path) or elsewhere (full URL).
func (r *rig) do(c *http.Client, method, path string, form url.Values, header http.Header) (*http.Response, string) {
	r.t.Helper()
	target := path
	if strings.HasPrefix(path, "/") {
		target = r.srv.URL + path
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		r.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return resp, string(data)
}

// me returns who the guarded handler sees for c, or fails.
func (r *rig) me(c *http.Client) echoed {
	r.t.Helper()
	resp, body := r.do(c, http.MethodGet, "/portfolio", nil, nil)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/portfolio" {
		r.t.Fatalf("GET /portfolio: %d at %s: %s", resp.StatusCode, resp.Request.URL, body)
	}
	return decodeEcho(r.t, body)
}

func decodeEcho(t *testing.T, body string) echoed {
	t.Helper()
	var e echoed
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("not the guarded handler's answer: %v: %s", err, body)
	}
	return e
}

// cookie returns the jar's cookie name for the rig's server.
func (r *rig) cookie(jar http.CookieJar, name string) string {
	u, _ := url.Parse(r.srv.URL)
	for _, c := range jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func (r *rig) setCookie(jar http.CookieJar, name, value string) {
	u, _ := url.Parse(r.srv.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// signedOut asserts that c is sent to the sign-in page.
func (r *rig) signedOut(c *http.Client) {
	r.t.Helper()
	resp, body := r.do(c, http.MethodGet, "/portfolio", nil, nil)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != LoginPath || !strings.Contains(body, "Sign in with Slack") {
		r.t.Fatalf("want the sign-in page, got %d at %s: %s", resp.StatusCode, resp.Request.URL, body)
	}
}

// tamper flips one character of the payload of a sealed value.
func tamper(sealed string) string {
	b := []byte(sealed)
	if b[2] == 'A' {
		b[2] = 'B'
	} else {
		b[2] = 'A'
	}
	return string(b)
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
