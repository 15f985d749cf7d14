package crmhttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/connectors"
)

func TestBackoff(t *testing.T) {
	base, max := 100*time.Millisecond, 2*time.Second
	for attempt, want := range []time.Duration{100, 200, 400, 800, 1600, 2000, 2000, 2000} {
		want *= time.Millisecond
		for range 50 {
			got := Backoff(attempt, base, max)
			if got < want/2 || got > want {
				t.Fatalf("Backoff(%d) = %v, want in [%v, %v]", attempt, got, want/2, want)
			}
		}
	}
	if got := Backoff(200, base, max); got > max {
		t.Fatalf("Backoff(200) = %v overflows the cap", got)
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestWindow(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	w := NewWindow(3, 10*time.Second, "test")
	w.now = clk.now
	for i := range 3 {
		if d := w.reserve(); d != 0 {
			t.Fatalf("grant %d: wait %v, want none", i, d)
		}
		clk.t = clk.t.Add(time.Second)
	}
	// 3 granted at 0s, 1s, 2s; now 3s: the 4th waits until 10s+margin.
	if d := w.reserve(); d != 7*time.Second+Margin {
		t.Fatalf("4th request waits %v, want %v", d, 7*time.Second+Margin)
	}
	clk.t = clk.t.Add(7*time.Second + Margin)
	if d := w.reserve(); d != 0 {
		t.Fatalf("after the window: wait %v, want none", d)
	}
	// Penalize: nothing for 5 s whatever the ring says.
	w.Penalize(5 * time.Second)
	if d := w.reserve(); d != 5*time.Second {
		t.Fatalf("after Penalize(5s): wait %v, want 5s", d)
	}
}

func TestWindowNeverExceedsItsRate(t *testing.T) {
	w := NewWindow(20, 200*time.Millisecond, "test")
	ctx := context.Background()
	var times []time.Time
	start := time.Now()
	for range 60 {
		if err := w.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		times = append(times, time.Now())
	}
	for i := 20; i < len(times); i++ {
		if gap := times[i].Sub(times[i-20]); gap < 200*time.Millisecond {
			t.Fatalf("requests %d and %d only %v apart: more than 20 in a 200 ms window", i-20, i, gap)
		}
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("60 requests at 20/200ms took %v, want about 500 ms", el)
	}
}

func TestWindowWaitHonoursContext(t *testing.T) {
	w := NewWindow(1, time.Hour, "test")
	ctx, cancel := context.WithCancel(context.Background())
	_ = w.Wait(ctx)
	cancel()
	if err := w.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		"-3":                            0,
		"soon":                          0,
		"Wed, 25 Nov 2026 09:00:30 GMT": 30 * time.Second,
	}
	for v, want := range tests {
		h := http.Header{}
		if v != "" {
			h.Set("Retry-After", v)
		}
		if got := RetryAfter(h, now); got != want {
			t.Errorf("RetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

// classify is a vendor-neutral Classify for the tests below.
func classify(resp *http.Response, body []byte) Verdict {
	switch {
	case resp.StatusCode < 300:
		return Verdict{Action: Done}
	case resp.StatusCode == 429:
		return Verdict{Action: Retry, Wait: RetryAfter(resp.Header, time.Now()), Reason: "429 " + string(body)}
	case resp.StatusCode == 401:
		return Verdict{Action: Refresh, Reason: "401 expired"}
	case resp.StatusCode == 403:
		return Verdict{Action: Stop, Reason: "daily limit", Resume: time.Unix(1e9, 0)}
	case resp.StatusCode >= 500:
		return Verdict{Action: Retry, Reason: fmt.Sprint(resp.StatusCode)}
	}
	return Verdict{Action: Fail, Err: fmt.Errorf("status %d: %s", resp.StatusCode, body)}
}

// scripted serves the statuses in order, then 200.
func scripted(t *testing.T, statuses ...int) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i < len(statuses) {
			if statuses[i] == 429 {
				w.Header().Set("Retry-After", "0")
			}
			w.WriteHeader(statuses[i])
			fmt.Fprint(w, "nope")
			return
		}
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func getter(url string) func(ctx context.Context) (*http.Request, error) {
	return func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	}
}

func TestClientDo(t *testing.T) {
	tests := []struct {
		name      string
		statuses  []int
		refresh   bool
		wantErr   string
		wantStop  bool
		wantCalls int32
		wantWaits int
	}{
		{name: "ok", wantCalls: 1},
		{name: "5xx retried", statuses: []int{500, 503}, wantCalls: 3, wantWaits: 2},
		{name: "429 retried", statuses: []int{429}, wantCalls: 2, wantWaits: 1},
		{name: "attempts run out", statuses: []int{502, 502, 502}, wantErr: "gave up after 3 attempts: 502", wantCalls: 3, wantWaits: 2},
		{name: "401 refreshes once", statuses: []int{401}, refresh: true, wantCalls: 2},
		{name: "401 twice", statuses: []int{401, 401}, refresh: true, wantErr: "401 expired: crm refused the credentials", wantCalls: 2},
		{name: "401 without refresh", statuses: []int{401}, wantErr: "401 expired: crm refused the credentials", wantCalls: 1},
		{name: "stop", statuses: []int{403}, wantStop: true, wantCalls: 1},
		{name: "permanent", statuses: []int{400}, wantErr: "status 400: nope", wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, calls := scripted(t, tt.statuses...)
			waits := 0
			ctx := connectors.WithTrace(context.Background(), &connectors.Trace{Wait: func(string, time.Duration) { waits++ }})
			c := &Client{HTTP: srv.Client(), Classify: classify, Attempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}
			refreshes := 0
			if tt.refresh {
				c.Refresh = func(context.Context) error { refreshes++; return nil }
			}
			resp, err := c.Do(ctx, getter(srv.URL))
			switch {
			case tt.wantStop:
				if s, ok := connectors.AsStop(err); !ok || s.Reason != "daily limit" {
					t.Fatalf("Do = %v, want a StopError", err)
				}
			case tt.wantErr != "":
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Do error = %v, want %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("Do: %v", err)
			case string(resp.Body) != "ok":
				t.Fatalf("body = %q, want ok", resp.Body)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("%d requests, want %d", got, tt.wantCalls)
			}
			if waits != tt.wantWaits {
				t.Errorf("%d waits traced, want %d", waits, tt.wantWaits)
			}
		})
	}
}

func TestClientDoLongWaitStops(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(429)
	}))
	defer srv.Close()
	c := &Client{HTTP: srv.Client(), Classify: classify, MaxWait: time.Minute}
	_, err := c.Do(context.Background(), getter(srv.URL))
	if s, ok := connectors.AsStop(err); !ok || time.Until(s.Resume) < 59*time.Minute {
		t.Fatalf("Do = %v, want a StopError resuming in an hour", err)
	}
}

func TestTokens(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	fetches := 0
	var rotated []string
	fetch := func(_ context.Context, rt string) (*oauth2.Token, error) {
		fetches++
		if rt == "bad" {
			return nil, errors.New("invalid_grant")
		}
		return &oauth2.Token{AccessToken: fmt.Sprint("at", fetches), RefreshToken: fmt.Sprint("rt", fetches/2)}, nil
	}
	ts := NewTokens(fetch, "rt0", time.Hour)
	ts.now = clk.now
	ts.OnRotate = func(_ context.Context, rt string) { rotated = append(rotated, rt) }

	tok, err := ts.Token()
	if err != nil || tok.AccessToken != "at1" || !tok.Expiry.Equal(clk.t.Add(time.Hour)) {
		t.Fatalf("first Token = %+v, %v; want at1 expiring in an hour", tok, err)
	}
	if tok, _ := ts.Token(); tok.AccessToken != "at1" || fetches != 1 {
		t.Fatalf("cached Token = %s after %d fetches, want at1 after 1", tok.AccessToken, fetches)
	}
	clk.t = clk.t.Add(time.Hour - 30*time.Second) // within the margin
	if tok, _ := ts.Token(); tok.AccessToken != "at2" {
		t.Fatalf("Token near expiry = %s, want a new one", tok.AccessToken)
	}
	if err := ts.Refresh(context.Background()); err != nil || ts.Current().AccessToken != "at3" {
		t.Fatalf("Refresh: %v, current %v", err, ts.Current())
	}
	if len(rotated) != 1 || rotated[0] != "rt1" {
		t.Fatalf("rotated = %v, want [rt1]", rotated)
	}
	bad := NewTokens(fetch, "bad", 0)
	if _, err := bad.Token(); err == nil {
		t.Fatal("want the fetch error")
	}
}
