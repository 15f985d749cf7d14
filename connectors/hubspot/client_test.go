package hubspot

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/crmhttp"
	"github.com/crmsync/crmsync/internal/conntest"
	"github.com/crmsync/crmsync/internal/hubspotfake"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 22, 30, 0, 0, time.UTC)
	f := newFake(t, hubspotfake.Options{})
	tests := []struct {
		name   string
		oauth  bool
		status int
		header map[string]string
		body   string
		action crmhttp.Action
		wait   time.Duration
		reason string
		resume time.Time
		auth   bool // the error wraps ErrAuth
		errHas string
	}{
		{name: "ok", status: 200, action: crmhttp.Done},
		{name: "multi-status", status: 207, action: crmhttp.Done},
		{name: "ten-secondly with Retry-After", status: 429, header: map[string]string{"Retry-After": "3"}, body: f.DefaultBody(429), action: crmhttp.Retry, wait: 3 * time.Second, reason: "429 TEN_SECONDLY_ROLLING"},
		{name: "ten-secondly, interval header", status: 429, header: map[string]string{"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}, body: f.DefaultBody(429), action: crmhttp.Retry, wait: 10 * time.Second, reason: "429 TEN_SECONDLY_ROLLING"},
		{name: "ten-secondly, no header", status: 429, body: f.DefaultBody(429), action: crmhttp.Retry, wait: 10 * time.Second},
		{name: "search secondly", status: 429, body: f.SecondlyBody(), action: crmhttp.Retry, wait: time.Second},
		{name: "search secondly, message only", status: 429, body: `{"status":"error","message":"You have reached your secondly limit."}`, action: crmhttp.Retry, wait: time.Second},
		{name: "daily", status: 429, body: f.DailyBody(), action: crmhttp.Stop, resume: time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)},
		{name: "locked", status: 423, action: crmhttp.Retry, wait: 2 * time.Second},
		{name: "migration", status: 477, header: map[string]string{"Retry-After": "4"}, action: crmhttp.Retry, wait: 4 * time.Second},
		{name: "502", status: 502, action: crmhttp.Retry, reason: "502 Bad Gateway"},
		{name: "521", status: 521, action: crmhttp.Retry, reason: "521"},
		{name: "expired, oauth", oauth: true, status: 401, body: f.DefaultBody(401), action: crmhttp.Refresh, reason: "401 EXPIRED_AUTHENTICATION"},
		{name: "invalid, private token", status: 401, body: `{"status":"error","message":"Authentication credentials not found.","category":"INVALID_AUTHENTICATION"}`, action: crmhttp.Fail, auth: true, errHas: "401 INVALID_AUTHENTICATION"},
		{name: "missing scopes", status: 403, body: hubspotfake.MissingScopesBody("crm.objects.deals.read"), action: crmhttp.Fail, auth: true, errHas: "missing scopes crm.objects.deals.read"},
		{name: "validation", status: 400, body: `{"status":"error","message":"Invalid input JSON","category":"VALIDATION_ERROR"}`, action: crmhttp.Fail, errHas: "400 VALIDATION_ERROR: Invalid input JSON"},
		{name: "not found, no body", status: 404, action: crmhttp.Fail, errHas: "404 Not Found"},
		{name: "501 is not transient", status: 501, action: crmhttp.Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &client{auth: &auth{}, now: func() time.Time { return now }, pace: newPacer(10, slog.New(slog.DiscardHandler))}
			if tt.oauth {
				c.auth.tokens = crmhttp.NewTokens(nil, "", 0)
			}
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			v := c.classify(&http.Response{StatusCode: tt.status, Header: h}, []byte(tt.body))
			if v.Action != tt.action {
				t.Fatalf("action = %v, want %v (%+v)", v.Action, tt.action, v)
			}
			if tt.wait != 0 && v.Wait != tt.wait {
				t.Errorf("wait = %v, want %v", v.Wait, tt.wait)
			}
			if tt.reason != "" && v.Reason != tt.reason {
				t.Errorf("reason = %q, want %q", v.Reason, tt.reason)
			}
			if !tt.resume.IsZero() && !v.Resume.Equal(tt.resume) {
				t.Errorf("resume = %v, want %v", v.Resume, tt.resume)
			}
			if tt.action == crmhttp.Fail {
				if v.Err == nil || errors.Is(v.Err, connectors.ErrAuth) != tt.auth || !strings.Contains(v.Err.Error(), tt.errHas) {
					t.Errorf("err = %v, want ErrAuth %v and %q", v.Err, tt.auth, tt.errHas)
				}
			}
		})
	}
}

// traced returns a context whose trace records waits.
func traced() (context.Context, func() []string) {
	var mu sync.Mutex
	var waits []string
	ctx := connectors.WithTrace(context.Background(), &connectors.Trace{Wait: func(reason string, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, reason)
	}})
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), waits...)
	}
}

func TestPullWaitsForRetryAfterOn429(t *testing.T) {
	t.Parallel()
	f := newFake(t, hubspotfake.Options{})
	f.Seed(5, 1, 1)
	path := hubspotfake.ObjectsPath(hubspotfake.Companies)
	f.Inject(hubspotfake.Fault{Path: path, Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "1"}})
	c := newConnector(t, f, func(o *Options) { o.Burst = 100 })
	ctx, waits := traced()
	start := time.Now()
	if err := c.Pull(ctx, nil, func(context.Context, connectors.Page) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("pull took %v: Retry-After: 1 not honoured", d)
	}
	if got := waits(); len(got) == 0 || got[0] != "429 TEN_SECONDLY_ROLLING" {
		t.Errorf("trace waits = %v, want the 429 first", got)
	}
	if n := f.Count(path); n != 3 {
		t.Errorf("%d company list requests, want 3 (429, retry, archived)", n)
	}
}

func TestPullRetriesServerErrors(t *testing.T) {
	t.Parallel()
	f := newFake(t, hubspotfake.Options{})
	f.Seed(5, 1, 1)
	path := hubspotfake.SearchPath(hubspotfake.Contacts)
	f.Inject(hubspotfake.Fault{Path: path, Status: http.StatusBadGateway, Times: 2})
	f.Inject(hubspotfake.Fault{Path: path, Status: http.StatusServiceUnavailable})
	f.Inject(hubspotfake.Fault{Path: hubspotfake.OwnersPath, Status: 524})
	c := newConnector(t, f, nil)
	ctx, waits := traced()
	var pages []connectors.Page
	err := c.Pull(ctx, nil, func(_ context.Context, p connectors.Page) error { pages = append(pages, p); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if got := merge(pages); len(got.contacts) != 5 {
		t.Errorf("got %d contacts, want 5", len(got.contacts))
	}
	want := []string{"524", "502 Bad Gateway", "502 Bad Gateway", "503 Service Unavailable"}
	if got := waits(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("waits = %q, want %q", got, want)
	}
}

func TestPullGivesUpOnPersistentServerErrors(t *testing.T) {
	t.Parallel()
	f := newFake(t, hubspotfake.Options{})
	f.Seed(5, 1, 1)
	f.Inject(hubspotfake.Fault{Path: hubspotfake.ObjectsPath(hubspotfake.Deals), Status: 500, Times: 10})
	c := newConnector(t, f, func(o *Options) { o.Attempts = 3 })
	_, err := pull(t, c, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "hubspot: deals: list: gave up after 3 attempts: 500") {
		t.Errorf("Pull = %v", err)
	}
}

func TestPullFailsOnMissingScopes(t *testing.T) {
	t.Parallel()
	f := newFake(t, hubspotfake.Options{})
	f.Seed(5, 1, 1)
	f.Inject(hubspotfake.Fault{Path: hubspotfake.ObjectsPath(hubspotfake.Deals), Status: http.StatusForbidden, Body: hubspotfake.MissingScopesBody("crm.objects.deals.read")})
	c := newConnector(t, f, nil)
	pages, err := pull(t, c, nil)
	if !errors.Is(err, connectors.ErrAuth) || !strings.Contains(err.Error(), "hubspot: deals: list: 403 MISSING_SCOPES: missing scopes crm.objects.deals.read") {
		t.Errorf("Pull = %v", err)
	}
	if got := merge(pages); len(got.contacts) != 5 {
		t.Errorf("pages before the failure not handed over: %d contacts", len(got.contacts))
	}
}

func TestPullOmitsURLsWithoutAccountDetails(t *testing.T) {
	t.Parallel()
	f := newFake(t, hubspotfake.Options{})
	f.Seed(3, 0, 0)
	f.SetAccountInfoStatus(http.StatusForbidden)
	c := newConnector(t, f, nil)
	got := merge(mustPull(t, c, nil))
	for _, a := range got.accounts {
		if a.URL != "" {
			t.Errorf("account %s has URL %q without portal details", a.ID, a.URL)
		}
	}
	if len(got.accounts) != 3 {
		t.Errorf("got %d accounts", len(got.accounts))
	}
}

func TestPullPacesSearchesWithoutA429(t *testing.T) {
	t.Parallel()
	clk := newClock()
	f := newFake(t, hubspotfake.Options{Now: clk.Now, SearchPerSecond: hubspotfake.DefaultSearch, Burst: hubspotfake.DefaultBurst})
	f.Seed(1000, 1, 0)
	c := newConnector(t, f, func(o *Options) { o.Now = clk.Now; o.SearchPerSecond = DefaultSearchPerSecond; o.Burst = DefaultBurst })
	wm := conntest.LastWatermark(mustPull(t, c, nil))
	clk.Add(time.Hour)
	for i, id := range f.IDs(hubspotfake.Companies) {
		clk.Add(time.Millisecond)
		f.ModifyAt(hubspotfake.Companies, id, clk.Now(), map[string]string{"name": "v" + string(rune('a'+i%26))})
	}
	clk.Add(time.Hour)
	got := merge(mustPull(t, c, wm))
	if len(got.accounts) != 1000 {
		t.Errorf("got %d accounts, want 1000", len(got.accounts))
	}
	if n := f.TooMany(); n != 0 {
		t.Errorf("%d 429s with the limiters on", n)
	}
}

func TestFlexIDAcceptsStringsAndNumbers(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{`"5281147580"`: "5281147580", `5281147580`: "5281147580"} {
		var f flexID
		if err := f.UnmarshalJSON([]byte(in)); err != nil || string(f) != want {
			t.Errorf("%s → %q, %v", in, f, err)
		}
	}
	var f flexID
	if err := f.UnmarshalJSON([]byte(`{}`)); err == nil {
		t.Error("an object decoded as an id")
	}
}
