package salesforce

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/conntest"
	"github.com/crmsync/crmsync/internal/logbuf"
	"github.com/crmsync/crmsync/internal/salesforcefake"
	"github.com/crmsync/crmsync/model"
)

// start is the tests' clock origin.
var start = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// env is a fake org with a connector's options pointing at it.
type env struct {
	fake  *salesforcefake.Server
	clock *conntest.Clock
	logs  *logbuf.Buffer
	opts  Options
}

// newEnv starts a fake (pages of at most 7 records unless fo says
// otherwise) and options for the refresh token flow against it, with
// short retries; edit e.opts before calling e.connector.
func newEnv(t *testing.T, fo salesforcefake.Options) *env {
	t.Helper()
	clk := conntest.NewClock(start)
	if fo.MaxBatch == 0 {
		fo.MaxBatch = 7
	}
	fo.Now = clk.Now
	fake := salesforcefake.New(fo)
	t.Cleanup(fake.Close)
	logs := &logbuf.Buffer{}
	return &env{fake: fake, clock: clk, logs: logs, opts: Options{
		Source:   "sf",
		LoginURL: fake.URL(),
		Auth: Auth{ClientID: salesforcefake.DefaultClientID, ClientSecret: salesforcefake.DefaultClientSecret,
			RefreshToken: salesforcefake.DefaultRefreshToken},
		BatchSize:   MinBatchSize,
		HTTPClient:  fake.Client(),
		Logger:      slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:         clk.Now,
		Attempts:    4,
		BackoffBase: time.Millisecond,
		BackoffMax:  5 * time.Millisecond,
	}}
}

func (e *env) connector(t *testing.T) *Connector {
	t.Helper()
	c, err := New(e.opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// portfolio is an in-memory store applying pages as the real one does.
type portfolio struct {
	accounts map[string]model.Account
	contacts map[string]model.Contact
	deals    map[string]model.Deal
	owners   map[string]model.Owner
	deleted  []model.Deletion
	rejects  []model.Reject
	wm       connectors.Watermark
	pages    []connectors.Page
}

func newPortfolio() *portfolio {
	return &portfolio{accounts: map[string]model.Account{}, contacts: map[string]model.Contact{},
		deals: map[string]model.Deal{}, owners: map[string]model.Owner{}}
}

func (p *portfolio) store(_ context.Context, pg connectors.Page) error {
	for _, a := range pg.Accounts {
		p.accounts[a.ID] = a
	}
	for _, c := range pg.Contacts {
		p.contacts[c.ID] = c
	}
	for _, d := range pg.Deals {
		p.deals[d.ID] = d
	}
	for _, o := range pg.Owners {
		p.owners[o.ID] = o
	}
	for _, d := range pg.Deleted {
		switch d.Entity {
		case model.EntityAccount:
			delete(p.accounts, d.ID)
		case model.EntityContact:
			delete(p.contacts, d.ID)
		case model.EntityDeal:
			delete(p.deals, d.ID)
		}
	}
	p.deleted = append(p.deleted, pg.Deleted...)
	p.rejects = append(p.rejects, pg.Rejects...)
	p.wm = pg.Watermark
	p.pages = append(p.pages, pg)
	return nil
}

// pull runs c.Pull from the portfolio's watermark into it.
func (p *portfolio) pull(ctx context.Context, c *Connector) error {
	return c.Pull(ctx, p.wm, p.store)
}

// ids returns the external ids of a map of records, sorted.
func ids[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for id := range m {
		_, ext, _ := strings.Cut(id, ":")
		out = append(out, ext)
	}
	sort.Strings(out)
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// requireSame fails unless the portfolio holds exactly the fake's records.
func requireSame(t *testing.T, fake *salesforcefake.Server, p *portfolio) {
	t.Helper()
	for _, c := range []struct {
		sobject string
		got     []string
	}{
		{"User", ids(p.owners)}, {"Account", ids(p.accounts)}, {"Contact", ids(p.contacts)}, {"Opportunity", ids(p.deals)},
	} {
		if want := fake.IDs(c.sobject); !equal(c.got, want) {
			t.Errorf("%s: portfolio has %d records, org %d (got %v, want %v)", c.sobject, len(c.got), len(want), head(c.got), head(want))
		}
	}
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}
