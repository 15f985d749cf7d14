package hubspot

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/crmhttp"
	"github.com/crmsync/crmsync/internal/hubspotfake"
	"github.com/crmsync/crmsync/model"
)

// Reasons of the waits before retrying a truncated body: one that ends
// mid-value, one whose connection closed mid-body.
const (
	malformedWait = "malformed 200 body: unexpected end of JSON input"
	cutWait       = "network error: read 200 body: unexpected EOF"
)

// proxyPage is what a proxy may answer 200 in HubSpot's stead.
const proxyPage = "<html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>"

// requireTruncatedRetries checks that every wait was the retry of a
// truncated body, one per body the fake cut.
func requireTruncatedRetries(t *testing.T, waits []string, truncated int) {
	t.Helper()
	if truncated == 0 {
		t.Fatal("the fake cut no body: the test tests nothing")
	}
	for _, w := range waits {
		if w != malformedWait && w != cutWait {
			t.Errorf("wait %q, want only retries of truncated bodies", w)
		}
	}
	if len(waits) != truncated {
		t.Errorf("%d retries, want one per truncated body (%d)", len(waits), truncated)
	}
	t.Logf("%d truncated bodies retried", truncated)
}

// requireHolds fails unless got holds exactly the fake's records.
func requireHolds(t *testing.T, f *hubspotfake.Server, got all) {
	t.Helper()
	for _, k := range []struct {
		kind hubspotfake.Kind
		ids  []string
	}{
		{hubspotfake.Companies, keys(got.accounts)},
		{hubspotfake.Contacts, keys(got.contacts)},
		{hubspotfake.Deals, keys(got.deals)},
	} {
		if want := f.IDs(k.kind); strings.Join(k.ids, ",") != strings.Join(want, ",") {
			t.Errorf("%s: got %d records, the fake holds %d", k.kind, len(k.ids), len(want))
		}
	}
	if want := len(hubspotfake.SeedOwners()); len(got.owners) != want {
		t.Errorf("got %d owners, want %d", len(got.owners), want)
	}
	if len(got.rejects) > 0 {
		t.Errorf("%d rejects, first %+v: a truncated body is no bad record", len(got.rejects), got.rejects[0])
	}
}

func TestPullRetriesTruncatedBodies(t *testing.T) {
	t.Parallel()
	clk := newClock()
	f := newFake(t, hubspotfake.Options{Now: clk.Now})
	f.Seed(1000, 2, 1)
	f.TruncateEvery(20) // 5%
	// Pages of 20 records: some 200 requests, some 10 of them cut.
	c := newConnector(t, f, func(o *Options) { o.Now, o.PageSize = clk.Now, 20 })
	ctx, waits := traced()
	var pages []connectors.Page
	collect := func(_ context.Context, p connectors.Page) error { pages = append(pages, p); return nil }
	if err := c.Pull(ctx, nil, collect); err != nil {
		t.Fatalf("full sync: %v", err)
	}
	full := merge(pages)
	requireHolds(t, f, full)
	if full.records != 4000 {
		t.Errorf("delivered %d records, want each once (4000)", full.records)
	}
	requireTruncatedRetries(t, waits(), f.Truncated())

	// Every record changes, a millisecond apart; the incremental sync
	// reads them all through search pages and association reads.
	clk.Add(time.Hour)
	names := map[hubspotfake.Kind]string{hubspotfake.Companies: "name", hubspotfake.Contacts: "firstname", hubspotfake.Deals: "dealname"}
	for kind, name := range names {
		for _, id := range f.IDs(kind) {
			clk.Add(time.Millisecond)
			f.ModifyAt(kind, id, clk.Now(), map[string]string{name: "v2 " + id})
		}
	}
	clk.Add(time.Hour)
	before := f.Truncated()
	ctx, waits = traced()
	pages = pages[:0]
	if err := c.Pull(ctx, full.wm, collect); err != nil {
		t.Fatalf("incremental sync: %v", err)
	}
	inc := merge(pages)
	requireHolds(t, f, inc)
	requireTruncatedRetries(t, waits(), f.Truncated()-before)
	for id, a := range inc.accounts {
		if a.Name != "v2 "+id {
			t.Fatalf("account %s named %q, want its new name", id, a.Name)
		}
	}
	for id, d := range inc.deals {
		if d.Name != "v2 "+id || d.AccountID == "" {
			t.Fatalf("deal %s: %q of %q, want its new name and its company", id, d.Name, d.AccountID)
		}
	}
	for id, ct := range inc.contacts {
		if ct.FirstName != "v2 "+id || ct.AccountID == "" {
			t.Fatalf("contact %s: %q of %q, want its new first name and its company", id, ct.FirstName, ct.AccountID)
		}
	}
}

func TestPullGivesUpOnBodiesThatNeverDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		spoil func(f *hubspotfake.Server)
		want  string
	}{
		{"every body truncated", func(f *hubspotfake.Server) { f.TruncateEvery(1) },
			"hubspot: owners: gave up after 3 attempts: " + malformedWait},
		{"a proxy's page", func(f *hubspotfake.Server) {
			f.Inject(hubspotfake.Fault{Path: hubspotfake.ObjectsPath(hubspotfake.Deals), Status: http.StatusOK,
				Header: map[string]string{"Content-Type": "text/html"}, Body: proxyPage, Times: 3})
		}, "hubspot: deals: list: gave up after 3 attempts: malformed 200 body: invalid character '<' looking for beginning of value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, hubspotfake.Options{})
			f.Seed(5, 1, 1)
			tt.spoil(f)
			c := newConnector(t, f, func(o *Options) { o.Attempts = 3 })
			_, err := pull(t, c, nil)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Pull = %v, want %q", err, tt.want)
			}
			var m *crmhttp.MalformedError
			if !errors.As(err, &m) || errors.Is(err, connectors.ErrAuth) {
				t.Errorf("Pull = %v, want a malformed body, not refused credentials", err)
			}
		})
	}
}

func TestPullRetriesATruncatedToken(t *testing.T) {
	t.Parallel()
	f := oauthFake(t, false)
	f.Seed(3, 1, 1)
	f.Inject(hubspotfake.Fault{Path: hubspotfake.TokenPath, Status: http.StatusOK, Body: `{"token_type":"bearer","access_tok`})
	f.Inject(hubspotfake.Fault{Path: hubspotfake.TokenPath, Status: http.StatusOK, Body: `{"token_type":"bearer"}`})
	c := newConnector(t, f, oauth)
	ctx, waits := traced()
	var pages []connectors.Page
	if err := c.Pull(ctx, nil, func(_ context.Context, p connectors.Page) error { pages = append(pages, p); return nil }); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	requireHolds(t, f, merge(pages))
	want := []string{malformedWait, "malformed 200 body: no access_token"}
	if got := waits(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("waits = %q, want %q", got, want)
	}

	// A token endpoint that never answers a readable token fails the sync
	// for now: its credentials were not refused.
	f.ExpireTokens()
	f.Inject(hubspotfake.Fault{Path: hubspotfake.TokenPath, Status: http.StatusOK, Body: proxyPage, Times: 3})
	c = newConnector(t, f, func(o *Options) { oauth(o); o.Attempts = 3 })
	_, err := pull(t, c, nil)
	if err == nil || errors.Is(err, connectors.ErrAuth) || !strings.Contains(err.Error(), "gave up after 3 attempts: malformed 200 body: invalid character '<'") {
		t.Errorf("Pull = %v, want a malformed token body, not refused credentials", err)
	}
}

// A bad record inside a sound page is still set aside, not retried.
func TestPullSetsABadRecordAsideWithoutRetrying(t *testing.T) {
	t.Parallel()
	f := newFake(t, hubspotfake.Options{})
	f.Seed(5, 0, 0)
	f.SetRaw(hubspotfake.Companies, f.IDs(hubspotfake.Companies)[2], `{"id":7,"properties":"nope"}`)
	c := newConnector(t, f, nil)
	ctx, waits := traced()
	var pages []connectors.Page
	if err := c.Pull(ctx, nil, func(_ context.Context, p connectors.Page) error { pages = append(pages, p); return nil }); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	got := merge(pages)
	if len(got.accounts) != 4 || len(got.rejects) != 1 || got.rejects[0].Entity != model.EntityAccount {
		t.Errorf("got %d accounts and rejects %+v; want 4 and the bad one set aside", len(got.accounts), got.rejects)
	}
	if w := waits(); len(w) > 0 {
		t.Errorf("waits %q: a bad record was retried", w)
	}
}
