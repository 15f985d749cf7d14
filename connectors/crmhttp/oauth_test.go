package crmhttp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestNewOAuthClient: requests carry the current access token over the
// base client's transport and timeout, and a refused token is replaced
// once before the request is sent again.
func TestNewOAuthClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-2" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	var fetched atomic.Int32
	tokens := NewTokens(func(context.Context, string) (*oauth2.Token, error) {
		n := fetched.Add(1)
		return &oauth2.Token{AccessToken: "tok-" + string(rune('0'+n)), Expiry: time.Now().Add(time.Hour)}, nil
	}, "", 0)
	base := srv.Client()
	base.Timeout = 42 * time.Second
	classify := func(resp *http.Response, _ []byte) Verdict {
		if resp.StatusCode == http.StatusUnauthorized {
			return Verdict{Action: Refresh, Reason: "401"}
		}
		return Verdict{Action: Done}
	}
	c := NewOAuthClient(base, tokens, Client{Classify: classify, Attempts: 2, BaseDelay: time.Millisecond})
	if c.HTTP.Timeout != base.Timeout || c.Attempts != 2 || c.Refresh == nil {
		t.Fatalf("client: timeout %s, attempts %d, refresh set %t; want %s, 2, true", c.HTTP.Timeout, c.Attempts, c.Refresh != nil, base.Timeout)
	}
	resp, err := c.Do(t.Context(), func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) != "ok" || fetched.Load() != 2 {
		t.Errorf("body %q after %d token fetches, want ok after 2", resp.Body, fetched.Load())
	}
}
