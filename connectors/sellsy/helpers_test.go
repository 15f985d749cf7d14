package sellsy

import (
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/conntest"
	"github.com/crmsync/crmsync/internal/sellsyfake"
	"github.com/crmsync/crmsync/model"
)

// These tests run the connector over real HTTP against
// internal/sellsyfake.

const testAccount = "98765"

// Sizes of the account seeded by seededFake.
const (
	fakeCompanies   = 30
	fakeIndividuals = 6
	fakeContactsPer = 2
	fakeDealsPer    = 2
	fakeActivities  = 1
)

// seededFake starts a fake with a generated account; unless o sets
// them, its quotas are too high to pace the tests (TestQuotaPacing and
// the benchmarks use the real ones).
func seededFake(t testing.TB, o sellsyfake.Options) *sellsyfake.Server {
	t.Helper()
	if o.SecondQuota == 0 && o.MinuteQuota == 0 {
		o.SecondQuota, o.MinuteQuota = 1e6, 1e6
	}
	s := sellsyfake.New(o)
	t.Cleanup(s.Close)
	if err := s.Seed(fakeCompanies, fakeIndividuals, fakeContactsPer, fakeDealsPer, fakeActivities); err != nil {
		t.Fatal(err)
	}
	return s
}

// fakeOptions are connector options for the fake s, signing in with
// client credentials.
func fakeOptions(s *sellsyfake.Server) Options {
	return Options{
		Source:    "sy",
		AccountID: testAccount,
		BaseURL:   s.URL(),
		Auth: Auth{ClientID: sellsyfake.DefaultClientID, ClientSecret: sellsyfake.DefaultClientSecret,
			TokenURL: s.TokenURL()},
		PageSize:    25,
		HTTPClient:  s.Client(),
		Logger:      slog.New(slog.DiscardHandler),
		Attempts:    4,
		BackoffBase: time.Millisecond,
		BackoffMax:  5 * time.Millisecond,
	}
}

func newConnector(t testing.TB, opts Options) *Connector {
	t.Helper()
	return conntest.New(t, New, opts)
}

// id is the internal id of a Sellsy object in the test account.
func id(kind string, n int) string {
	return model.ID("sy", testAccount+"-"+kind+"-"+strconv.Itoa(n))
}

func findAccount(b model.Batch, id string) (model.Account, bool) {
	for _, a := range b.Accounts {
		if a.ID == id {
			return a, true
		}
	}
	return model.Account{}, false
}

func findContact(b model.Batch, id string) (model.Contact, bool) {
	for _, c := range b.Contacts {
		if c.ID == id {
			return c, true
		}
	}
	return model.Contact{}, false
}

func findDeal(b model.Batch, id string) (model.Deal, bool) {
	for _, d := range b.Deals {
		if d.ID == id {
			return d, true
		}
	}
	return model.Deal{}, false
}

// apiRequests counts the API requests the fake answered, token requests
// left out.
func apiRequests(s *sellsyfake.Server) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Kind != sellsyfake.KindToken {
			n++
		}
	}
	return n
}

func newClock() *conntest.Clock { return conntest.NewClock(time.Now()) }

// ids lists the ids of a batch's accounts, contacts and deals.
func ids(b model.Batch) []string {
	var out []string
	for _, a := range b.Accounts {
		out = append(out, a.ID)
	}
	for _, c := range b.Contacts {
		out = append(out, c.ID)
	}
	for _, d := range b.Deals {
		out = append(out, d.ID)
	}
	return out
}
