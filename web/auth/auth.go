// Package auth is the dashboard's sign-in and session layer: Sign in with
// Slack (OpenID Connect), signed session cookies, CSRF tokens, the admin
// token for scripts, and a loopback-only mode when no sign-in is set up.
//
// # Who is who
//
// Admins are listed by email (Options.Admins) and see everything. Anyone
// else who signs in is a rep, admitted only when Options.IsOwner says their
// email owns accounts; the dashboard shows a rep their own book, matching
// User.Email to owners. Anyone else gets a 403 page ("not a rep or admin
// here"). A request with "Authorization: Bearer <Options.AdminToken>" is an
// admin (Via "token") and needs no cookie nor CSRF token.
//
// # Sign-in
//
// GET /auth/login shows a "Sign in with Slack" button; POST /auth/login
// sends the browser to Slack's authorize endpoint with a random state and
// nonce (and a PKCE challenge when the provider's discovery document
// advertises S256), kept in a signed cookie that expires in 10 minutes and
// binds the sign-in to that browser. GET /auth/callback checks the state
// against that cookie, exchanges the code at openid.connect.token, verifies
// the ID token (signature from the JWKS, issuer, audience = client id,
// expiry, nonce, at_hash), the verified email and the workspace
// (Options.TeamID), decides the role and sets the session cookie.
//
// # Sessions
//
// A session is a cookie signed with HMAC-SHA256 under Options.SessionKey:
// HttpOnly, SameSite=Lax, Secure over https, expiring after
// Options.SessionTTL (12h). POST /auth/logout deletes it and revokes its id
// in this process's memory until it would have expired; a restart forgets
// the revocations, and several replicas do not share them. Changing
// SessionKey invalidates every session at once.
//
// # CSRF
//
// Every POST, PUT, PATCH and DELETE through Require must carry the
// session's CSRF token, in the form field "csrf" or the X-CSRF-Token
// header, else 403. Templates get it from CSRFToken(r).
//
// # Without sign-in
//
// With no Options.ClientID, Require serves only requests made on loopback:
// from a loopback address, to a loopback listener, with a loopback Host
// (against DNS rebinding) and no proxy headers. Everyone there is an admin
// (Via "loopback"); a request from elsewhere gets a 403 page saying how to
// set up sign-in. CSRF tokens are still required.
package auth

import (
	"context"
	"crypto/subtle"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The ways a User got in (User.Via).
const (
	ViaSlack    = "slack"    // Sign in with Slack
	ViaToken    = "token"    // the admin token (Bearer)
	ViaLoopback = "loopback" // no sign-in configured, request on loopback
)

// The CSRF token's form field and header.
const (
	CSRFField  = "csrf"
	CSRFHeader = "X-CSRF-Token"
)

// The paths Handler serves.
const (
	LoginPath    = "/auth/login"
	CallbackPath = "/auth/callback"
	LogoutPath   = "/auth/logout"
)

// User is who makes a request that Require let through.
type User struct {
	Email string // lower case; empty for Via token and loopback
	Name  string
	Admin bool   // sees everything; otherwise a rep who sees their own book
	Via   string // ViaSlack, ViaToken or ViaLoopback
}

// Auth signs users in and guards handlers. It is safe for concurrent use.
type Auth struct {
	opts    Options
	signer  signer
	admins  map[string]bool
	pages   *template.Template
	revoked revocations
	slack   slackProvider
}

// New checks opts and returns an Auth. It makes no network call: Slack's
// discovery document is fetched at the first sign-in.
func New(opts Options) (*Auth, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	key := opts.SessionKey
	if key == "" {
		key = random(MinSessionKey)
	}
	a := &Auth{
		opts:    opts,
		signer:  signer{key: []byte(key)},
		admins:  map[string]bool{},
		pages:   pageTemplates,
		revoked: revocations{ids: map[string]int64{}},
	}
	for _, e := range opts.Admins {
		a.admins[normalEmail(e)] = true
	}
	a.slack.client = slackClient(opts.HTTPClient)
	return a, nil
}

// SignInEnabled tells whether Sign in with Slack is configured; when not,
// Require serves loopback requests only.
func (a *Auth) SignInEnabled() bool { return a.opts.ClientID != "" }

// Handler serves LoginPath, CallbackPath and LogoutPath; mount it at
// "/auth/" on the server's mux.
func (a *Auth) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+LoginPath, a.loginPage)
	mux.HandleFunc("POST "+LoginPath, a.startLogin)
	mux.HandleFunc("GET "+CallbackPath, a.callback)
	mux.HandleFunc("GET "+LogoutPath, a.logoutPage)
	mux.HandleFunc("POST "+LogoutPath, a.logout)
	return noStore(mux)
}

// Require lets through requests from a signed-in user (or the admin token,
// or loopback when sign-in is off) whose state-changing requests carry the
// CSRF token, with the User in their context (UserFrom). Others get a
// redirect to the sign-in page (GET, HEAD), 401 or 403.
func (a *Auth) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		if r.Header.Get("Authorization") != "" {
			a.bearer(w, r, next)
			return
		}
		s, ok := a.requireSession(w, r)
		if !ok {
			return
		}
		csrf := a.signer.token(purposeCSRF, s.ID)
		if unsafeMethod(r.Method) && !validCSRF(r, csrf) {
			a.render(w, http.StatusForbidden, page{
				Title: "Form expired",
				Lines: []string{"This request did not carry a valid CSRF token, so it was refused. Reload the page and try again."},
			})
			return
		}
		u := User{Email: s.Email, Name: s.Name, Via: s.Via, Admin: s.Via == ViaLoopback || a.admins[s.Email]}
		next.ServeHTTP(w, r.WithContext(withIdentity(r.Context(), identity{user: u, csrf: csrf})))
	})
}

// bearer admits a request with the admin token, refuses any other
// Authorization header.
func (a *Auth) bearer(w http.ResponseWriter, r *http.Request, next http.Handler) {
	token := a.opts.AdminToken
	if token == "" || subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+token)) != 1 {
		w.Header().Set("WWW-Authenticate", "Bearer")
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	u := User{Name: "admin token", Admin: true, Via: ViaToken}
	next.ServeHTTP(w, r.WithContext(withIdentity(r.Context(), identity{user: u})))
}

// requireSession returns the request's session, or answers and reports
// false.
func (a *Auth) requireSession(w http.ResponseWriter, r *http.Request) (session, bool) {
	if !a.SignInEnabled() {
		return a.loopbackSession(w, r)
	}
	s, err := a.session(r)
	if err == nil && s.Via == ViaSlack { // never a loopback session made with the same key
		return s, true
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		http.Redirect(w, r, LoginPath+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return session{}, false
	}
	a.render(w, http.StatusUnauthorized, page{
		Title: "Signed out",
		Lines: []string{"Your session has expired or you are not signed in."},
		Link:  &link{Href: LoginPath, Text: "Sign in"},
	})
	return session{}, false
}

// session reads and checks the session cookie.
func (a *Auth) session(r *http.Request) (session, error) {
	var s session
	if err := a.readCookie(r, sessionCookie, purposeSession, &s, func() int64 { return s.Expires }); err != nil {
		return session{}, err
	}
	if a.revoked.has(s.ID) {
		return session{}, errExpired
	}
	return s, nil
}

// startSession sets a new session cookie for email, name and via.
func (a *Auth) startSession(w http.ResponseWriter, r *http.Request, email, name, via string) (session, error) {
	expires := a.opts.Now().Add(a.opts.SessionTTL)
	s := session{ID: random(18), Email: email, Name: name, Via: via, Expires: expires.Unix()}
	sealed, err := a.signer.seal(purposeSession, s)
	if err != nil {
		return session{}, err
	}
	a.setCookie(w, r, sessionCookie, sealed, expires)
	return s, nil
}

// identity is what Require puts in a request's context.
type identity struct {
	user User
	csrf string
}

type ctxKey struct{}

func withIdentity(ctx context.Context, id identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// UserFrom returns the User that Require put in ctx.
func UserFrom(ctx context.Context) (User, bool) {
	id, ok := ctx.Value(ctxKey{}).(identity)
	return id.user, ok
}

// WithUser returns ctx as Require would make it for u (with no CSRF
// token), for tests of the handlers behind Require.
func WithUser(ctx context.Context, u User) context.Context {
	return withIdentity(ctx, identity{user: u})
}

// CSRFToken returns the token that forms posted through Require must
// carry in the field CSRFField (or the header CSRFHeader); empty for
// requests that need none (the admin token).
func CSRFToken(r *http.Request) string {
	id, _ := r.Context().Value(ctxKey{}).(identity)
	return id.csrf
}

func unsafeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// validCSRF tells whether r carries want, in the header or the form.
func validCSRF(r *http.Request, want string) bool {
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		got = r.PostFormValue(CSRFField)
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func normalEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

// noStore keeps the auth pages out of caches.
func noStore(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

// revocations are the ids of the sessions logged out, until they would
// have expired anyway.
type revocations struct {
	mu  sync.Mutex
	ids map[string]int64 // id → expiry, unix seconds
}

func (rv *revocations) add(id string, expires int64, now time.Time) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	for k, exp := range rv.ids {
		if exp <= now.Unix() {
			delete(rv.ids, k)
		}
	}
	rv.ids[id] = expires
}

func (rv *revocations) has(id string) bool {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	_, ok := rv.ids[id]
	return ok
}
