package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// failure is a refused sign-in: the page to show and the reason to log.
type failure struct {
	status int
	title  string
	line   string
	user   *User // who was refused, when known
	err    error
}

// loginPage shows the "Sign in with Slack" button.
func (a *Auth) loginPage(w http.ResponseWriter, r *http.Request) {
	if !a.SignInEnabled() {
		a.render(w, http.StatusOK, loopbackPage(false))
		return
	}
	p := page{
		Title: "Sign in",
		Lines: []string{"Sign in with your Slack account to see your accounts."},
		Form:  &form{Action: LoginPath, Button: "Sign in with Slack", Fields: map[string]string{"next": safeNext(r.URL.Query().Get("next"))}},
	}
	if r.URL.Query().Has("out") {
		p.Lines = []string{"You are signed out."}
	}
	a.render(w, http.StatusOK, p)
}

// startLogin sends the browser to Slack with a fresh state and nonce,
// kept in the state cookie.
func (a *Auth) startLogin(w http.ResponseWriter, r *http.Request) {
	if !a.SignInEnabled() {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	d, err := a.discover(r.Context())
	if err != nil {
		a.fail(w, failure{status: http.StatusBadGateway, title: "Slack is unreachable",
			line: "crmsync could not reach Slack's sign-in service. Try again in a minute.", err: err})
		return
	}
	expires := a.opts.Now().Add(stateTTL)
	st := loginState{State: random(24), Nonce: random(24), Next: safeNext(r.PostFormValue("next")), Expires: expires.Unix()}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(st.Nonce)}
	if d.pkce {
		st.Verifier = oauth2.GenerateVerifier()
		opts = append(opts, oauth2.S256ChallengeOption(st.Verifier))
	}
	if a.opts.TeamID != "" {
		opts = append(opts, oauth2.SetAuthURLParam("team", a.opts.TeamID))
	}
	sealed, err := a.signer.seal(purposeState, st)
	if err != nil {
		a.fail(w, failure{status: http.StatusInternalServerError, title: "Sign-in failed", line: "An internal error stopped the sign-in.", err: err})
		return
	}
	a.setCookie(w, r, stateCookie, sealed, expires)
	http.Redirect(w, r, d.oauth.AuthCodeURL(st.State, opts...), http.StatusSeeOther)
}

// callback finishes the sign-in Slack sent the browser back from.
func (a *Auth) callback(w http.ResponseWriter, r *http.Request) {
	if !a.SignInEnabled() {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	st, err := a.takeState(w, r)
	if err != nil {
		a.fail(w, failure{status: http.StatusBadRequest, title: "Sign-in expired",
			line: "This sign-in was not started in this browser, was already used, or took more than 10 minutes. Please start again.",
			err:  fmt.Errorf("state: %w", err)})
		return
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		a.fail(w, failure{status: http.StatusForbidden, title: "Sign-in cancelled",
			line: "Slack did not sign you in (" + e + ").", err: fmt.Errorf("slack: %s", e)})
		return
	}
	u, f := a.signIn(r.Context(), q.Get("code"), st)
	if f != nil {
		a.fail(w, *f)
		return
	}
	if _, err := a.startSession(w, r, u.Email, u.Name, ViaSlack); err != nil {
		a.fail(w, failure{status: http.StatusInternalServerError, title: "Sign-in failed", line: "An internal error stopped the sign-in.", err: err})
		return
	}
	a.opts.Logger.Info("auth: signed in", "email", u.Email, "admin", u.Admin)
	http.Redirect(w, r, st.Next, http.StatusSeeOther)
}

// takeState reads the state cookie, deletes it (a state is good once) and
// checks it against the state Slack sent back.
func (a *Auth) takeState(w http.ResponseWriter, r *http.Request) (loginState, error) {
	var st loginState
	err := a.readCookie(r, stateCookie, purposeState, &st, func() int64 { return st.Expires })
	a.clearCookie(w, r, stateCookie)
	if err != nil {
		return loginState{}, err
	}
	if got := r.URL.Query().Get("state"); subtle.ConstantTimeCompare([]byte(got), []byte(st.State)) != 1 {
		return loginState{}, errors.New("does not match the cookie")
	}
	return st, nil
}

// slackClaims are the ID token's (and userInfo's) claims a sign-in reads.
type slackClaims struct {
	Subject       string `json:"sub"`
	Email         string `json:"email"`
	EmailVerified *bool  `json:"email_verified"`
	Name          string `json:"name"`
	TeamID        string `json:"https://slack.com/team_id"`
}

// signIn exchanges code, verifies who Slack says signed in and decides
// whether they may come in.
func (a *Auth) signIn(ctx context.Context, code string, st loginState) (User, *failure) {
	c, err := a.identify(a.clientContext(ctx), code, st)
	if err != nil {
		return User{}, &failure{status: http.StatusUnauthorized, title: "Sign-in failed",
			line: "Slack's answer could not be verified, so you were not signed in. Please start again.", err: err}
	}
	u := User{Email: normalEmail(c.Email), Name: c.Name, Via: ViaSlack, Admin: a.admins[normalEmail(c.Email)]}
	switch {
	case c.EmailVerified == nil || !*c.EmailVerified || u.Email == "":
		return User{}, &failure{status: http.StatusForbidden, title: "Email not verified",
			line: "Slack did not give a verified email for your account.", user: &u, err: errors.New("no verified email")}
	case a.opts.TeamID != "" && c.TeamID != a.opts.TeamID:
		return User{}, &failure{status: http.StatusForbidden, title: "Wrong Slack workspace",
			line: "This dashboard admits members of another Slack workspace only.", user: &u,
			err: fmt.Errorf("team %q, want %q", c.TeamID, a.opts.TeamID)}
	case u.Admin:
		return u, nil
	}
	owner, err := a.isOwner(ctx, u.Email)
	switch {
	case err != nil:
		return User{}, &failure{status: http.StatusInternalServerError, title: "Sign-in failed",
			line: "crmsync could not look up your accounts. Try again in a minute.", err: fmt.Errorf("looking up owner: %w", err)}
	case !owner:
		return User{}, &failure{status: http.StatusForbidden, title: "Not a rep or admin here",
			line: "You are signed in to Slack, but this email owns no accounts in crmsync and is not an admin. Ask an admin to add you.",
			user: &u, err: errors.New("not a rep or admin here")}
	}
	return u, nil
}

func (a *Auth) isOwner(ctx context.Context, email string) (bool, error) {
	if a.opts.IsOwner == nil {
		return false, nil
	}
	return a.opts.IsOwner(ctx, email)
}

// identify exchanges code for tokens and returns the verified claims:
// signature, issuer, audience, expiry, nonce, at_hash; the email from
// openid.connect.userInfo when the ID token lacks it.
func (a *Auth) identify(ctx context.Context, code string, st loginState) (slackClaims, error) {
	d, err := a.discover(ctx)
	if err != nil {
		return slackClaims{}, err
	}
	var opts []oauth2.AuthCodeOption
	if st.Verifier != "" {
		opts = append(opts, oauth2.VerifierOption(st.Verifier))
	}
	tok, err := d.oauth.Exchange(ctx, code, opts...)
	if err != nil {
		return slackClaims{}, fmt.Errorf("exchanging code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return slackClaims{}, errors.New("no id_token in openid.connect.token's answer")
	}
	idt, err := d.verifier.Verify(ctx, raw)
	if err != nil {
		return slackClaims{}, fmt.Errorf("verifying ID token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return slackClaims{}, errors.New("verifying ID token: nonce does not match this sign-in")
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return slackClaims{}, fmt.Errorf("verifying ID token: %w", err)
		}
	}
	var c slackClaims
	if err := idt.Claims(&c); err != nil {
		return slackClaims{}, fmt.Errorf("reading ID token: %w", err)
	}
	if c.Email == "" {
		return a.userInfo(ctx, d, tok, c)
	}
	return c, nil
}

// userInfo completes c from openid.connect.userInfo, for the same subject.
func (a *Auth) userInfo(ctx context.Context, d discovered, tok *oauth2.Token, c slackClaims) (slackClaims, error) {
	info, err := d.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return slackClaims{}, fmt.Errorf("openid.connect.userInfo: %w", err)
	}
	var more slackClaims
	if err := info.Claims(&more); err != nil {
		return slackClaims{}, fmt.Errorf("openid.connect.userInfo: %w", err)
	}
	if more.Subject != c.Subject {
		return slackClaims{}, fmt.Errorf("openid.connect.userInfo: subject %q, ID token's %q", more.Subject, c.Subject)
	}
	c.Email, c.EmailVerified = more.Email, more.EmailVerified
	if c.Name == "" {
		c.Name = more.Name
	}
	return c, nil
}

// logoutPage asks to confirm, so that logging out is a POST with a CSRF
// token (no link on another site can sign someone out).
func (a *Auth) logoutPage(w http.ResponseWriter, r *http.Request) {
	s, err := a.session(r)
	if err != nil {
		http.Redirect(w, r, LoginPath, http.StatusSeeOther)
		return
	}
	a.render(w, http.StatusOK, page{
		Title: "Sign out",
		User:  &User{Email: s.Email, Name: s.Name},
		Form:  &form{Action: LogoutPath, Button: "Sign out", Fields: map[string]string{CSRFField: a.signer.token(purposeCSRF, s.ID)}},
	})
}

// logout deletes the session cookie and revokes the session.
func (a *Auth) logout(w http.ResponseWriter, r *http.Request) {
	s, err := a.session(r)
	if err == nil && !validCSRF(r, a.signer.token(purposeCSRF, s.ID)) {
		a.render(w, http.StatusForbidden, page{Title: "Form expired", Lines: []string{"This request did not carry a valid CSRF token, so it was refused."}})
		return
	}
	if err == nil {
		a.revoked.add(s.ID, s.Expires, a.opts.Now())
	}
	a.clearCookie(w, r, sessionCookie)
	if !a.SignInEnabled() {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, LoginPath+"?out=1", http.StatusSeeOther)
}

// fail logs a refused sign-in and shows its page.
func (a *Auth) fail(w http.ResponseWriter, f failure) {
	a.opts.Logger.Warn("auth: sign-in refused", "status", f.status, "reason", f.err)
	p := page{Title: f.title, Lines: []string{f.line}, User: f.user}
	if f.status != http.StatusForbidden || f.user == nil {
		p.Link = &link{Href: LoginPath, Text: "Start again"}
	}
	a.render(w, f.status, p)
}

// safeNext returns next when it is a path on this site, else "/": no
// open redirect to another host.
func safeNext(next string) string {
	u, err := url.Parse(next)
	switch {
	case err != nil, !strings.HasPrefix(next, "/"), strings.HasPrefix(next, "//"), strings.HasPrefix(next, "/\\"),
		u.Scheme != "", u.Host != "", strings.ContainsAny(next, "\r\n\t"):
		return "/"
	}
	return next
}
