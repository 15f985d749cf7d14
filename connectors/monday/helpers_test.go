package monday

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/mondayfake"
	"github.com/crmsync/crmsync/model"
)

// clock is a settable clock shared by the fake and the connector.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2024, 9, 12, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newFake starts a fake with the CRM template boards seeded with n
// accounts (2 contacts and 2 deals each) and the documented deals.
func newFake(t testing.TB, o mondayfake.Options, n int) *mondayfake.Server {
	t.Helper()
	s := mondayfake.New(o)
	t.Cleanup(s.Close)
	if err := s.SeedDocumented(); err != nil {
		t.Fatal(err)
	}
	if err := s.Seed(n, 2, 2); err != nil {
		t.Fatal(err)
	}
	return s
}

// fakeOptions are connector options for the fake s.
func fakeOptions(s *mondayfake.Server) Options {
	return Options{
		Source:  "mon",
		BaseURL: s.URL(),
		Token:   mondayfake.DefaultToken,
		Boards: Boards{
			Accounts: Board{ID: mondayfake.BoardAccounts},
			Contacts: Board{ID: mondayfake.BoardContacts, Columns: map[string]string{RoleOptOut: "contact_opt_out"}},
			Deals:    Board{ID: mondayfake.BoardDeals},
		},
		HTTPClient:  s.Client(),
		Logger:      slog.New(slog.DiscardHandler),
		Now:         s.Options().Now,
		Attempts:    4,
		BackoffBase: time.Millisecond,
		BackoffMax:  5 * time.Millisecond,
	}
}

func newConnector(t testing.TB, opts Options) *Connector {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// collected is what a pull handed over.
type collected struct {
	batch   model.Batch
	rejects []model.Reject
	pages   []connectors.Page
}

func (c *collected) last() connectors.Watermark {
	if len(c.pages) == 0 {
		return nil
	}
	return c.pages[len(c.pages)-1].Watermark
}

func pull(t testing.TB, c *Connector, wm connectors.Watermark) (*collected, error) {
	t.Helper()
	out := &collected{}
	err := c.Pull(context.Background(), wm, func(_ context.Context, p connectors.Page) error {
		out.pages = append(out.pages, p)
		out.batch.Accounts = append(out.batch.Accounts, p.Accounts...)
		out.batch.Contacts = append(out.batch.Contacts, p.Contacts...)
		out.batch.Deals = append(out.batch.Deals, p.Deals...)
		out.batch.Owners = append(out.batch.Owners, p.Owners...)
		out.batch.Deleted = append(out.batch.Deleted, p.Deleted...)
		out.rejects = append(out.rejects, p.Rejects...)
		return nil
	})
	return out, err
}
