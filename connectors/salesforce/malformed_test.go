package salesforce

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/crmhttp"
	"github.com/crmsync/crmsync/internal/salesforcefake"
)

// Reasons of the waits before retrying a truncated body: one that ends
// mid-value, one whose connection closed mid-body.
const (
	malformedWait = "malformed 200 body: query answer: unexpected end of JSON input"
	cutWait       = "network error: read 200 body: unexpected EOF"
)

// waitsTraced returns a context whose trace records the reasons of the
// waits, and a function returning them.
func waitsTraced(ctx context.Context) (context.Context, func() []string) {
	var mu sync.Mutex
	var waits []string
	ctx = connectors.WithTrace(ctx, &connectors.Trace{Wait: func(reason string, _ time.Duration) {
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

// requireTruncatedRetries checks that every wait was the retry of a
// truncated body, one per body the fake cut.
func requireTruncatedRetries(t *testing.T, waits []string, truncated int) {
	t.Helper()
	if truncated == 0 {
		t.Fatal("the fake cut no body: the test tests nothing")
	}
	for _, w := range waits {
		// A truncated answer to the deleted resource is no query answer.
		if w != malformedWait && w != cutWait && !strings.HasPrefix(w, "malformed 200 body: deleted answer: ") {
			t.Errorf("wait %q, want only retries of truncated bodies", w)
		}
	}
	if len(waits) != truncated {
		t.Errorf("%d retries, want one per truncated body (%d)", len(waits), truncated)
	}
	t.Logf("%d truncated bodies retried", truncated)
}

func TestPullRetriesTruncatedBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{MaxBatch: 20})
	e.fake.Seed(1000, 2, 1)
	e.fake.TruncateEvery(20) // 5%: some 200 pages, some 10 of them cut
	c := e.connector(t)
	ctx, waits := waitsTraced(t.Context())
	p := newPortfolio()
	if err := p.pull(ctx, c); err != nil {
		t.Fatalf("full sync: %v", err)
	}
	requireSame(t, e.fake, p)
	if len(p.accounts) != 1000 || len(p.contacts) != 2000 || len(p.deals) != 1000 || len(p.rejects) != 0 {
		t.Errorf("stored %d accounts, %d contacts, %d deals, %d rejects; want 1000, 2000, 1000, 0",
			len(p.accounts), len(p.contacts), len(p.deals), len(p.rejects))
	}
	requireTruncatedRetries(t, waits(), e.fake.Truncated())

	// Every record changes and an account is deleted; the incremental
	// sync reads them all, and the deletion.
	e.clock.Add(time.Hour)
	for _, obj := range []string{"Account", "Contact", "Opportunity"} {
		field := map[string]string{"Account": "Name", "Contact": "FirstName", "Opportunity": "Name"}[obj]
		for _, id := range e.fake.IDs(obj) {
			e.fake.Modify(obj, id, map[string]any{field: "v2 " + id})
		}
	}
	gone := e.fake.IDs("Account")[500]
	e.fake.Delete("Account", gone)
	e.clock.Add(time.Hour)
	before := e.fake.Truncated()
	ctx, waits = waitsTraced(t.Context())
	if err := p.pull(ctx, c); err != nil {
		t.Fatalf("incremental sync: %v", err)
	}
	requireSame(t, e.fake, p)
	requireTruncatedRetries(t, waits(), e.fake.Truncated()-before)
	if _, ok := p.accounts["sf:"+gone]; ok {
		t.Errorf("deleted account %s still stored", gone)
	}
	for id, a := range p.accounts {
		if a.Name != "v2 "+strings.TrimPrefix(id, "sf:") {
			t.Fatalf("account %s named %q, want its new name", id, a.Name)
		}
	}
	for id, ct := range p.contacts {
		if ct.FirstName != "v2 "+strings.TrimPrefix(id, "sf:") {
			t.Fatalf("contact %s: first name %q, want the new one", id, ct.FirstName)
		}
	}
	for id, d := range p.deals {
		if d.Name != "v2 "+strings.TrimPrefix(id, "sf:") {
			t.Fatalf("opportunity %s named %q, want its new name", id, d.Name)
		}
	}
}

func TestPullGivesUpOnBodiesThatNeverDecode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	e.fake.Seed(3, 0, 0)
	e.fake.OnRequest(func(kind string, _ int) {
		if kind == salesforcefake.KindQuery {
			e.fake.TruncateEvery(1) // every answer after the token
		}
	})
	e.opts.Attempts = 3
	err := e.connector(t).Pull(t.Context(), nil, func(context.Context, connectors.Page) error { return nil })
	want := "salesforce: query User: gave up after 3 attempts: " + malformedWait
	if err == nil || err.Error() != want {
		t.Fatalf("Pull = %v, want %q", err, want)
	}
	var m *crmhttp.MalformedError
	if !errors.As(err, &m) || errors.Is(err, connectors.ErrAuth) {
		t.Errorf("Pull = %v, want a malformed body, not refused credentials", err)
	}
}

// x/oauth2 fails on a token answer it cannot parse, with an error that is
// no refusal; crmhttp retries it like any other answer.
func TestPullRetriesATruncatedToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	e.fake.Seed(3, 1, 1)
	e.fake.OnRequest(func(kind string, n int) {
		if kind == salesforcefake.KindToken {
			e.fake.TruncateEvery(map[int]int{1: 1, 2: 1, 3: 0}[n]) // cut the first two token answers
		}
	})
	ctx, waits := waitsTraced(t.Context())
	p := newPortfolio()
	if err := p.pull(ctx, e.connector(t)); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	requireSame(t, e.fake, p)
	want := []string{"malformed 200 body: unexpected end of JSON input", cutWait}
	if got := waits(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("waits = %q, want %q", got, want)
	}
	if n := e.fake.Count(salesforcefake.KindToken); n != 3 {
		t.Errorf("token requests = %d, want 3", n)
	}

	// A token endpoint that never answers a readable token fails the
	// sync for now: its credentials were not refused.
	e.fake.OnRequest(nil)
	e.fake.TruncateEvery(1)
	e.opts.Attempts = 3
	err := e.connector(t).Pull(t.Context(), nil, func(context.Context, connectors.Page) error { return nil })
	if err == nil || errors.Is(err, connectors.ErrAuth) || !strings.Contains(err.Error(), "gave up after 3 attempts: malformed 200 body: unexpected end of JSON input") {
		t.Errorf("Pull = %v, want a malformed token body, not refused credentials", err)
	}
}
