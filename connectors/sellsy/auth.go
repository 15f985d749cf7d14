package sellsy

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/crmhttp"
)

// tokenAnswer is the token endpoint's answer, or its refusal.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int64  `json:"expires_in"`
}

// newFetch returns the function fetching access tokens with o's
// credentials: client credentials, or the refresh token grant.
func newFetch(o Options) (crmhttp.FetchFunc, error) {
	a := o.Auth
	switch {
	case a.ClientID == "":
		return nil, errors.New("auth: client_id required")
	case a.ClientSecret == "":
		return nil, errors.New("auth: client_secret required")
	}
	tokenURL := cmp.Or(a.TokenURL, DefaultTokenURL)
	u, err := url.Parse(tokenURL)
	if err != nil || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http" && crmhttp.IsLoopback(u.Hostname())) {
		return nil, fmt.Errorf("auth: token_url %q: want an https URL", tokenURL)
	}
	tc := &crmhttp.Client{
		HTTP:      o.HTTPClient,
		Classify:  classifyToken,
		Attempts:  o.Attempts,
		BaseDelay: o.BackoffBase,
		MaxDelay:  o.BackoffMax,
	}
	return func(ctx context.Context, refresh string) (*oauth2.Token, error) {
		body := map[string]string{"grant_type": "client_credentials", "client_id": a.ClientID, "client_secret": a.ClientSecret}
		if a.RefreshToken != "" {
			body["grant_type"], body["refresh_token"] = "refresh_token", refresh
		}
		return fetchToken(ctx, tc, tokenURL, body, refresh)
	}, nil
}

// fetchToken posts a token request as JSON (as Sellsy documents it).
func fetchToken(ctx context.Context, tc *crmhttp.Client, tokenURL string, body map[string]string, refresh string) (*oauth2.Token, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	var t tokenAnswer
	_, err = tc.DoDecode(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(string(data)))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
		}
		return req, err
	}, func(b []byte) error {
		t = tokenAnswer{}
		if err := json.Unmarshal(b, &t); err != nil {
			return err
		}
		if t.AccessToken == "" {
			return errors.New("token answer without access_token")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	tok := &oauth2.Token{AccessToken: t.AccessToken, TokenType: cmp.Or(t.TokenType, "Bearer"), RefreshToken: cmp.Or(t.RefreshToken, refresh)}
	if t.ExpiresIn > 0 {
		tok.Expiry = time.Now().Add(time.Duration(t.ExpiresIn) * time.Second)
	}
	return tok, nil
}

// classifyToken reads the token endpoint's answers: a 429 or a 5xx is
// retried, another refusal (invalid_client, invalid_grant: a refresh
// token used already or expired after 60 days) fails with
// connectors.ErrAuth. It never quotes the request.
func classifyToken(resp *http.Response, body []byte) crmhttp.Verdict {
	st := resp.StatusCode
	switch {
	case st < http.StatusMultipleChoices:
		return crmhttp.Verdict{Action: crmhttp.Done}
	case st == http.StatusTooManyRequests || st >= http.StatusInternalServerError:
		return crmhttp.Verdict{Action: crmhttp.Retry, Reason: fmt.Sprintf("token endpoint answered HTTP %d", st)}
	}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &e)
	code := cmp.Or(e.Error, http.StatusText(st))
	return crmhttp.Verdict{Action: crmhttp.Fail, Err: fmt.Errorf("token endpoint refused: HTTP %d %s (%s): %w", st, code, crmhttp.Clip(e.Description), connectors.ErrAuth)}
}
