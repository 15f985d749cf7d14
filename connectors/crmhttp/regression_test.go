package crmhttp_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/crmhttp"
)

// Regression tests for issues found while building the Salesforce
// connector.

// A token the transport cannot get because the vendor refuses the
// credentials (ErrAuth) is retried as a network error, Attempts times.
func TestRetriesRefusedCredentials(t *testing.T) {
	var fetches atomic.Int32
	tokens := crmhttp.NewTokens(func(context.Context, string) (*oauth2.Token, error) {
		fetches.Add(1)
		return nil, fmt.Errorf("invalid_grant: %w", connectors.ErrAuth)
	}, "", time.Hour)
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	c := &crmhttp.Client{
		HTTP:      &http.Client{Transport: &oauth2.Transport{Source: tokens}},
		Classify:  func(*http.Response, []byte) crmhttp.Verdict { return crmhttp.Verdict{Action: crmhttp.Done} },
		BaseDelay: time.Millisecond, MaxDelay: time.Millisecond,
	}
	_, err := c.Do(t.Context(), func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	})
	if !errors.Is(err, connectors.ErrAuth) || fetches.Load() != 1 {
		t.Errorf("Do = %v after %d token fetches; want ErrAuth after one", err, fetches.Load())
	}
}

// After the last attempt fails with a network error, Do still sleeps a
// backoff before giving up.
func TestSleepsAfterTheLastAttempt(t *testing.T) {
	c := &crmhttp.Client{HTTP: http.DefaultClient, Attempts: 1, BaseDelay: 400 * time.Millisecond, MaxDelay: 400 * time.Millisecond}
	begin := time.Now()
	_, err := c.Do(t.Context(), func(ctx context.Context) (*http.Request, error) {
		return nil, errors.New("no network")
	})
	if took := time.Since(begin); err == nil || took > 100*time.Millisecond {
		t.Errorf("Do = %v after %s; want an error at once", err, took)
	}
}

// With one attempt left, a Refresh verdict ends the loop and Do returns
// "gave up after 1 attempts: %!w(<nil>)".
func TestRefreshOnTheLastAttempt(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(401) }))
	defer srv.Close()
	c := &crmhttp.Client{
		HTTP:     srv.Client(),
		Attempts: 1,
		Classify: func(*http.Response, []byte) crmhttp.Verdict {
			return crmhttp.Verdict{Action: crmhttp.Refresh, Reason: "401"}
		},
		Refresh: func(context.Context) error { return nil },
	}
	_, err := c.Do(t.Context(), func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	})
	if err == nil || strings.Contains(err.Error(), "%!w") {
		t.Errorf("Do = %v", err)
	}
}

// OnRotate runs with the Tokens' lock held: a hook that looks at the
// current token deadlocks.
func TestOnRotateMayReadTheToken(t *testing.T) {
	tokens := crmhttp.NewTokens(func(context.Context, string) (*oauth2.Token, error) {
		return &oauth2.Token{AccessToken: "a", RefreshToken: "rotated"}, nil
	}, "first", time.Hour)
	tokens.OnRotate = func(context.Context, string) { tokens.Current() }
	done := make(chan struct{})
	go func() {
		defer close(done)
		tokens.Refresh(context.Background())
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Refresh deadlocked in OnRotate")
	}
}

// Penalize on a window not yet full once stored its slots out of order,
// so the next Wait blocked for a whole window instead of the penalty.
func TestWindowPenalizeOnAWindowNotFull(t *testing.T) {
	w := crmhttp.NewWindow(100, 10*time.Second, "test")
	ctx := context.Background()
	for range 4 {
		if err := w.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	w.Penalize(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	start := time.Now()
	if err := w.Wait(ctx); err != nil {
		t.Errorf("Wait after Penalize(100ms) on a window with 96 free slots: %v after %v", err, time.Since(start))
	}
	if took := time.Since(start); took < 90*time.Millisecond {
		t.Errorf("Wait after Penalize(100ms) returned after %v, want about 100ms", took)
	}
}
