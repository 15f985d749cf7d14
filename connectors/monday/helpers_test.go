package monday

import (
	"log/slog"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/conntest"
	"github.com/crmsync/crmsync/internal/mondayfake"
)

func newClock() *conntest.Clock {
	return conntest.NewClock(time.Date(2024, 9, 12, 10, 0, 0, 0, time.UTC))
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
	return conntest.New(t, New, opts)
}
