package salesforce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/oauth2/jwt"

	"github.com/crmsync/crmsync/connectors/crmhttp"
)

// jwtLifetime is the exp of a JWT bearer assertion: Salesforce wants it
// within 3 minutes.
const jwtLifetime = 2 * time.Minute

// tokenPath is the OAuth token endpoint on the login host.
const tokenPath = "/services/oauth2/token"

// flow is an OAuth flow.
type flow int

const (
	flowJWT flow = iota + 1
	flowClientCredentials
	flowRefresh
)

// errOneFlow explains how flows are told apart.
var errOneFlow = errors.New("auth: set the credentials of one flow: JWT bearer (client_id, username, private_key), " +
	"client credentials (client_id, client_secret) or refresh token (client_id, refresh_token)")

// authFlow tells which flow a's credentials are for.
func authFlow(a Auth) (flow, error) {
	jwtish := a.Username != "" || len(a.PrivateKey) > 0
	switch {
	case a.ClientID == "":
		return 0, errors.New("auth: client_id (the app's consumer key) required")
	case jwtish && (a.Username == "" || len(a.PrivateKey) == 0):
		return 0, errors.New("auth: the JWT bearer flow needs both username and private_key")
	case jwtish && (a.ClientSecret != "" || a.RefreshToken != ""):
		return 0, errOneFlow
	case jwtish:
		return flowJWT, nil
	case a.Audience != "":
		return 0, errors.New("auth: audience is for the JWT bearer flow only")
	case a.RefreshToken != "":
		return flowRefresh, nil
	case a.ClientSecret != "":
		return flowClientCredentials, nil
	}
	return 0, errOneFlow
}

// newFetch returns the function fetching tokens with o's flow.
func newFetch(o Options) (crmhttp.FetchFunc, error) {
	f, err := authFlow(o.Auth)
	if err != nil {
		return nil, err
	}
	a, tokenURL, base := o.Auth, o.LoginURL+tokenPath, tokenClient(o)
	switch f {
	case flowJWT:
		if err := checkKey(a.PrivateKey); err != nil {
			return nil, err
		}
		cfg := &jwt.Config{Email: a.ClientID, Subject: a.Username, PrivateKey: a.PrivateKey,
			TokenURL: tokenURL, Audience: audience(o.LoginURL, a.Audience), Expires: jwtLifetime}
		return func(ctx context.Context, _ string) (*oauth2.Token, error) {
			return checkToken(cfg.TokenSource(crmhttp.WithTokenClient(ctx, base)).Token())
		}, nil
	case flowClientCredentials:
		if isLoginHost(o.LoginURL) {
			return nil, fmt.Errorf("auth: the client credentials flow needs the org's My Domain URL (https://yourorg.my.salesforce.com) as login url, not %s", o.LoginURL)
		}
		cfg := &clientcredentials.Config{ClientID: a.ClientID, ClientSecret: a.ClientSecret,
			TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams}
		return func(ctx context.Context, _ string) (*oauth2.Token, error) {
			return checkToken(cfg.Token(crmhttp.WithTokenClient(ctx, base)))
		}, nil
	}
	cfg := &oauth2.Config{ClientID: a.ClientID, ClientSecret: a.ClientSecret,
		Endpoint: oauth2.Endpoint{TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams}}
	return func(ctx context.Context, refreshToken string) (*oauth2.Token, error) {
		return checkToken(cfg.TokenSource(crmhttp.WithTokenClient(ctx, base), &oauth2.Token{RefreshToken: refreshToken}).Token())
	}, nil
}

// tokenClient returns the client x/oauth2 fetches tokens with: o's,
// behind crmhttp's retry loop, so that a 429, a 5xx or a success whose
// body does not decode (cut short, a proxy's page) is retried like an API
// answer instead of failing the pull. x/oauth2 reads what comes through:
// a token, or a refusal.
func tokenClient(o Options) *http.Client {
	return &http.Client{Transport: &crmhttp.Client{
		HTTP:      o.HTTPClient,
		Classify:  crmhttp.ClassifyToken,
		Attempts:  o.Attempts,
		BaseDelay: o.BackoffBase,
		MaxDelay:  o.BackoffMax,
	}}
}

// checkKey checks that data is a PEM RSA private key, without ever
// quoting it.
func checkKey(data []byte) error {
	_, err := crmhttp.ParseRSAKey(data, "Salesforce signs JWTs with RS256")
	return err
}

// audience returns the JWT aud: aud when set, else the login host
// Salesforce expects for the org behind loginURL.
func audience(loginURL, aud string) string {
	if aud != "" {
		return aud
	}
	u, err := url.Parse(loginURL)
	if err == nil && (u.Hostname() == "test.salesforce.com" || strings.HasSuffix(u.Hostname(), ".sandbox.my.salesforce.com")) {
		return SandboxLoginURL
	}
	return DefaultLoginURL
}

// isLoginHost reports whether u is Salesforce's shared login host rather
// than an org's My Domain.
func isLoginHost(u string) bool {
	return u == DefaultLoginURL || u == SandboxLoginURL
}

// checkToken checks a token response and translates a token endpoint's
// error; it never quotes the request (assertion, secret, refresh token).
func checkToken(tok *oauth2.Token, err error) (*oauth2.Token, error) {
	if err != nil {
		return nil, crmhttp.TokenError(err, nil)
	}
	if tok.AccessToken == "" {
		return nil, errors.New("token response without access_token")
	}
	instance, _ := tok.Extra("instance_url").(string)
	if _, err := checkBaseURL(instance); err != nil {
		return nil, fmt.Errorf("token response: instance_url: %w", err)
	}
	return tok, nil
}

// checkBaseURL checks a login or instance URL and returns it as
// scheme://host (crmhttp.CheckBaseURL).
func checkBaseURL(raw string) (string, error) {
	return crmhttp.CheckBaseURL(raw, "https://login.salesforce.com")
}
