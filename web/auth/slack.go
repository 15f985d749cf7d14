package auth

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// scopes are what Sign in with Slack asks for.
var scopes = []string{oidc.ScopeOpenID, "email", "profile"}

// maxEnvelope bounds the Slack answers read to look for an error envelope.
const maxEnvelope = 1 << 20

// slackProvider is the OpenID provider, discovered at the first sign-in.
type slackProvider struct {
	client *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
	pkce     bool
}

// discovered is what a sign-in needs from the provider.
type discovered struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	provider *oidc.Provider
	pkce     bool
}

// discover returns the provider's endpoints and keys, fetching its
// discovery document the first time (and again after a failure).
func (a *Auth) discover(ctx context.Context) (discovered, error) {
	p := &a.slack
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider == nil {
		prov, err := oidc.NewProvider(a.clientContext(ctx), a.opts.IssuerURL)
		if err != nil {
			return discovered{}, fmt.Errorf("discovering %s: %w", a.opts.IssuerURL, err)
		}
		var meta struct {
			Challenges []string `json:"code_challenge_methods_supported"`
		}
		if err := prov.Claims(&meta); err != nil {
			return discovered{}, fmt.Errorf("discovering %s: %w", a.opts.IssuerURL, err)
		}
		p.provider, p.pkce = prov, slices.Contains(meta.Challenges, "S256")
	}
	endpoint := p.provider.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInParams // Slack documents client_id and client_secret as arguments
	return discovered{
		oauth: oauth2.Config{
			ClientID:     a.opts.ClientID,
			ClientSecret: a.opts.ClientSecret,
			Endpoint:     endpoint,
			RedirectURL:  a.opts.PublicURL + CallbackPath,
			Scopes:       scopes,
		},
		verifier: p.provider.Verifier(&oidc.Config{ClientID: a.opts.ClientID, Now: a.opts.Now}),
		provider: p.provider,
		pkce:     p.pkce,
	}, nil
}

// clientContext makes oauth2 and go-oidc call Slack with the Auth's client.
func (a *Auth) clientContext(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, a.slack.client)
}

// slackClient returns a copy of c that turns Slack's Web API failures
// (HTTP 200 with {"ok":false,"error":"invalid_code"}) into HTTP 400 with
// an OAuth error body, so that oauth2 reports the error code
// (oauth2.RetrieveError.ErrorCode) and go-oidc fails userInfo.
func slackClient(c *http.Client) *http.Client {
	out := *c
	out.Transport = envelopeTransport{next: cmp.Or[http.RoundTripper](c.Transport, http.DefaultTransport)}
	return &out
}

type envelopeTransport struct{ next http.RoundTripper }

func (t envelopeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK || !isJSON(resp.Header.Get("Content-Type")) {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxEnvelope))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", req.URL.Path, err)
	}
	var env struct {
		OK    *bool  `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.OK != nil && !*env.OK {
		body, _ = json.Marshal(map[string]string{"error": cmp.Or(env.Error, "unknown_error")})
		resp.StatusCode, resp.Status = http.StatusBadRequest, "400 Bad Request"
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}
