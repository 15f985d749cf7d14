package hubspot

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/conntest"
	"github.com/crmsync/crmsync/internal/hubspotfake"
	"github.com/crmsync/crmsync/model"
)

// Credentials of the tests' fake portal.
const (
	testToken        = "pat-na1-0f1e2d3c-4b5a-6978-8a9b-secret-token"
	testClientID     = "0a1b2c3d-client-id"
	testClientSecret = "shh-client-secret-4e5f6a7b"
	testRefresh      = "na1-refresh-token-8c9d0e1f"
)

func newClock() *conntest.Clock {
	return conntest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
}

// newFake starts a fake portal without rate limits (unless opts sets
// them) accepting testToken, stopped when the test ends.
func newFake(t testing.TB, opts hubspotfake.Options) *hubspotfake.Server {
	t.Helper()
	if opts.PrivateToken == "" && opts.ClientID == "" {
		opts.PrivateToken = testToken
	}
	if opts.Burst == 0 {
		opts.Burst = -1
	}
	if opts.SearchPerSecond == 0 {
		opts.SearchPerSecond = -1
	}
	f := hubspotfake.New(opts)
	t.Cleanup(f.Close)
	return f
}

// newConnector returns a connector to f with fast retries and no
// limiters; change adjusts its options.
func newConnector(t testing.TB, f *hubspotfake.Server, change func(*Options)) *Connector {
	t.Helper()
	opts := Options{
		Source:          "hs",
		BaseURL:         f.URL(),
		Auth:            Auth{Token: testToken},
		Burst:           -1,
		SearchPerSecond: -1,
		HTTPClient:      f.Client(),
		BaseDelay:       time.Millisecond,
		MaxDelay:        5 * time.Millisecond,
		ArchivedEvery:   -1,
	}
	if change != nil {
		change(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// pull runs c.Pull from wm and returns the pages it delivered.
func pull(t testing.TB, c *Connector, wm connectors.Watermark) ([]connectors.Page, error) {
	t.Helper()
	var pages []connectors.Page
	err := c.Pull(context.Background(), wm, func(_ context.Context, p connectors.Page) error {
		pages = append(pages, p)
		return nil
	})
	return pages, err
}

// mustPull is pull that fails the test on error.
func mustPull(t testing.TB, c *Connector, wm connectors.Watermark) []connectors.Page {
	t.Helper()
	pages, err := pull(t, c, wm)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	return pages
}

// all merges pages: the records (the last version of each), rejects and
// deletions, and the last watermark.
type all struct {
	accounts map[string]model.Account
	contacts map[string]model.Contact
	deals    map[string]model.Deal
	owners   map[string]model.Owner
	deleted  []model.Deletion
	rejects  []model.Reject
	wm       connectors.Watermark
	records  int // records delivered, repeats included
}

func merge(pages []connectors.Page) all {
	a := all{accounts: map[string]model.Account{}, contacts: map[string]model.Contact{}, deals: map[string]model.Deal{}, owners: map[string]model.Owner{}}
	for _, p := range pages {
		for _, x := range p.Accounts {
			a.accounts[x.ExternalID] = x
		}
		for _, x := range p.Contacts {
			a.contacts[x.ExternalID] = x
		}
		for _, x := range p.Deals {
			a.deals[x.ExternalID] = x
		}
		for _, x := range p.Owners {
			a.owners[x.ExternalID] = x
		}
		a.records += len(p.Accounts) + len(p.Contacts) + len(p.Deals)
		a.deleted = append(a.deleted, p.Deleted...)
		a.rejects = append(a.rejects, p.Rejects...)
		a.wm = p.Watermark
	}
	return a
}

// requests returns the requests f received on path.
func requests(f *hubspotfake.Server, path string) []hubspotfake.Request {
	return slices.DeleteFunc(f.Requests(), func(r hubspotfake.Request) bool { return r.Path != path })
}

// searchBody decodes a search request's body.
func searchBody(t testing.TB, r hubspotfake.Request) searchRequest {
	t.Helper()
	var s searchRequest
	if err := json.Unmarshal(r.Body, &s); err != nil {
		t.Fatalf("search body %s: %v", r.Body, err)
	}
	return s
}

// keys returns the sorted keys of m.
func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// settle waits until f has received no request for a while (a cancelled
// pull's last request may reach it late), then resets its counters.
func settle(f *hubspotfake.Server) {
	for n := -1; n != f.Total(); {
		n = f.Total()
		time.Sleep(20 * time.Millisecond)
	}
	f.ResetCounters()
}
