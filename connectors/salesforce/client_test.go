package salesforce

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/crmhttp"
	"github.com/crmsync/crmsync/internal/salesforcefake"
	"github.com/crmsync/crmsync/model"
)

func TestPullRetriesServerErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	e.fake.Seed(10, 1, 1)
	e.fake.FailNext(2, 503)
	e.fake.FailNext(1, 500)
	var mu sync.Mutex
	var waits []string
	ctx := connectors.WithTrace(t.Context(), &connectors.Trace{Wait: func(reason string, _ time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, reason)
	}})
	p := newPortfolio()
	if err := p.pull(ctx, e.connector(t)); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	requireSame(t, e.fake, p)
	want := []string{"503 SERVER_UNAVAILABLE", "503 SERVER_UNAVAILABLE", "500 UNKNOWN_EXCEPTION"}
	if !equal(waits, want) {
		t.Errorf("waits = %v, want %v", waits, want)
	}
	if !strings.Contains(e.logs.String(), "retrying") {
		t.Errorf("no retry logged: %s", e.logs)
	}
}

func TestPullGivesUpAfterTheAttempts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	e.fake.Seed(3, 0, 0)
	e.fake.FailNext(4, 500)
	err := e.connector(t).Pull(t.Context(), nil, func(context.Context, connectors.Page) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "gave up after 4 attempts: 500 UNKNOWN_EXCEPTION") {
		t.Fatalf("Pull = %v, want it to give up", err)
	}
}

func TestPullStopsAtTheDailyReserveAndResumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{DailyLimit: 100})
	e.fake.Seed(30, 0, 0)
	e.fake.SetUsage(85, 0)
	p := newPortfolio()
	err := p.pull(t.Context(), e.connector(t))
	stop, ok := connectors.AsStop(err)
	if !ok {
		t.Fatalf("Pull = %v, want a StopError", err)
	}
	if !strings.Contains(stop.Reason, "90 of 100") || !stop.Resume.Equal(start.Add(time.Hour)) {
		t.Errorf("stop = %+v", stop)
	}
	// One user page and four account pages, the last seen at 90/100.
	if len(p.pages) != 5 || len(p.accounts) != 28 {
		t.Fatalf("stored %d pages, %d accounts; want 5 and 28", len(p.pages), len(p.accounts))
	}
	lastID := p.wm["Account.id"]

	e.fake.SetUsage(0, 0) // a day later
	e.fake.ResetLog()
	var resumed []model.Account
	err = e.connector(t).Pull(t.Context(), p.wm, func(ctx context.Context, pg connectors.Page) error {
		resumed = append(resumed, pg.Accounts...)
		return p.store(ctx, pg)
	})
	if err != nil {
		t.Fatalf("resumed Pull: %v", err)
	}
	requireSame(t, e.fake, p)
	if len(resumed) != 2 {
		t.Errorf("the resumed pull read %d accounts, want the 2 not stored", len(resumed))
	}
	q := e.fake.Queries()
	if !strings.Contains(q[1], "FROM Account WHERE") || !strings.Contains(q[1], "Id > '"+lastID+"'") {
		t.Errorf("resumed account query = %q, want it to continue after %s", q[1], lastID)
	}
}

func TestPullStopsOnRequestLimitExceeded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{DailyLimit: 100})
	e.fake.Seed(3, 0, 0)
	e.fake.SetUsage(100, 0)
	e.opts.DailyReserve = -1
	err := e.connector(t).Pull(t.Context(), nil, func(context.Context, connectors.Page) error {
		t.Error("a page was handed over")
		return nil
	})
	stop, ok := connectors.AsStop(err)
	if !ok || !strings.Contains(stop.Reason, "REQUEST_LIMIT_EXCEEDED") || !stop.Resume.Equal(start.Add(time.Hour)) {
		t.Fatalf("Pull = %v, want a StopError an hour long", err)
	}
	if n := e.fake.Statuses()[403]; n != 1 {
		t.Errorf("403 answers = %d, want 1: a spent allocation is not retried", n)
	}
}

func TestPullWithoutReserveUsesTheWholeAllocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{DailyLimit: 100})
	e.fake.Seed(30, 0, 0)
	e.fake.SetUsage(90, 0)
	e.opts.DailyReserve = -1
	p := newPortfolio()
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	requireSame(t, e.fake, p)
}

func TestPullFailsOnAnUnknownAPIVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	e.opts.APIVersion = "v99.0"
	err := e.connector(t).Pull(t.Context(), nil, func(context.Context, connectors.Page) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "404 NOT_FOUND") {
		t.Fatalf("Pull = %v, want 404 NOT_FOUND", err)
	}
	if n := e.fake.Statuses()[404]; n != 1 {
		t.Errorf("404 answers = %d, want 1: not retried", n)
	}
}

func TestPullNamesAFieldTheOrgLacks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	e.opts.Mapping.Extra = []string{"Tier__c"}
	err := e.connector(t).Pull(t.Context(), nil, func(context.Context, connectors.Page) error { return nil })
	var ae *apiError
	if !errors.As(err, &ae) || ae.Code != "INVALID_FIELD" {
		t.Fatalf("Pull = %v, want INVALID_FIELD", err)
	}
	for _, want := range []string{`source "sf"`, `Account field "Tier__c" does not exist`, "fields mapping"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestAllocationReadsSforceLimitInfo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header    string
		used, max int
	}{
		{"api-usage=18/100000", 18, 100000},
		{"api-usage=10018/100000; api-bursts=1/750", 10018, 100000},
		{"per-app-api-usage=17/250000(appName=sample-app); api-usage=25/5000", 25, 5000},
		{"", 0, 0},
		{"api-usage=many/100000", 0, 0},
	}
	for _, tt := range tests {
		var a allocation
		a.observe(tt.header)
		if used, max := a.get(); used != tt.used || max != tt.max {
			t.Errorf("observe(%q) = %d/%d, want %d/%d", tt.header, used, max, tt.used, tt.max)
		}
	}
}

func TestVerdicts(t *testing.T) {
	t.Parallel()
	c, err := New(Options{Source: "sf", Auth: Auth{ClientID: "ck", RefreshToken: "rt"}, Now: func() time.Time { return start }})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		status int
		body   string
		want   string // action: done, retry, refresh, stop, fail, auth (fail with ErrAuth)
	}{
		{200, `{}`, "done"},
		{401, `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`, "refresh"},
		{403, `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`, "stop"},
		{403, `[{"message":"ConcurrentPerOrgLongTxn Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`, "retry"},
		{403, `[{"message":"The REST API is not enabled for this Organization.","errorCode":"API_DISABLED_FOR_ORG"}]`, "auth"},
		{400, `[{"message":"invalid query locator","errorCode":"INVALID_QUERY_LOCATOR"}]`, "fail"},
		{404, `[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]`, "fail"},
		{500, `[{"message":"An unexpected error occurred.","errorCode":"UNKNOWN_EXCEPTION"}]`, "retry"},
		{503, `<html>Service Unavailable</html>`, "retry"},
		{429, `Too Many Requests`, "retry"}, // not documented for Salesforce, handled anyway
	}
	for _, tt := range tests {
		resp := &http.Response{StatusCode: tt.status, Header: http.Header{}}
		v := c.classify(resp, []byte(tt.body))
		got := map[crmhttp.Action]string{crmhttp.Done: "done", crmhttp.Retry: "retry", crmhttp.Refresh: "refresh",
			crmhttp.Stop: "stop", crmhttp.Fail: "fail"}[v.Action]
		if v.Action == crmhttp.Fail && errors.Is(v.Err, connectors.ErrAuth) {
			got = "auth"
		}
		if got != tt.want {
			t.Errorf("%d %s: %s, want %s", tt.status, tt.body, got, tt.want)
		}
	}
}
