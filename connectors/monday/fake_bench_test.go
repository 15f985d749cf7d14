package monday

import (
	"fmt"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/connbench"
	"github.com/crmsync/crmsync/internal/conntest"
	"github.com/crmsync/crmsync/internal/mondayfake"
)

// benchAccounts is the size of BenchmarkSyncFake's account: each account
// has two contacts and one deal.
const benchAccounts = 5_000

// BenchmarkSyncFake pulls 5,000 accounts, 10,000 contacts and 5,000
// deals from internal/mondayfake in pages of 500: "decode" drops the
// pages, "redis" stores them in a real Redis through workers.Syncer.
func BenchmarkSyncFake(b *testing.B) {
	s := mondayfake.New(mondayfake.Options{Budget: 1 << 40})
	b.Cleanup(s.Close)
	if err := s.Seed(benchAccounts, 2, 1); err != nil {
		b.Fatal(err)
	}
	opts := fakeOptions(s)
	connbench.SyncFake(b, "mon", func(tb testing.TB) connectors.Connector { return newConnector(tb, opts) })
}

// BenchmarkRate pulls an account whose items cost about ten complexity
// budgets from a fake enforcing a scaled-down budget (rateBudget points
// per 60 units of rateUnit, reset 60 units after the window's first
// call), the connector reading complexity in every answer. "%allowed" is
// the fastest schedule the budget admits for the points the pull spent
// (the first budget at once, then one more per window:
// floor((points-1)/budget) windows) over the time the pull took;
// "budget_errors" counts COMPLEXITY_BUDGET_EXHAUSTED answers.
func BenchmarkRate(b *testing.B) {
	const (
		rateUnit   = 10 * time.Millisecond
		rateWindow = 60 * rateUnit
		rateBudget = 50_000
	)
	s := mondayfake.New(mondayfake.Options{Budget: rateBudget, Window: rateWindow, Second: rateUnit})
	b.Cleanup(s.Close)
	if err := s.Seed(4_000, 2, 1); err != nil {
		b.Fatal(err)
	}
	opts := fakeOptions(s)
	opts.PageSize = 25
	opts.Second = rateUnit
	c := newConnector(b, opts)
	var r connbench.Rate
	for b.Loop() {
		time.Sleep(rateWindow) // start each pull on a fresh window
		before, beforeErrs := s.Spent(), s.BudgetErrors()
		r.Pull(b, c)
		r.Spent(s.Spent()-before, rateBudget, rateWindow)
		r.Refused += s.BudgetErrors() - beforeErrs // COMPLEXITY_BUDGET_EXHAUSTED answers
	}
	r.Report(b, "points", "budget_errors")
}

// TestIncrementalRequestsPerChange changes k items between two pulls
// and counts the requests of the incremental pull: they grow with the
// changes (pages of changed items), not with the size of the account.
func TestIncrementalRequestsPerChange(t *testing.T) {
	const pageSize = 25
	clk := newClock()
	s := newFake(t, mondayfake.Options{Now: clk.Now}, 300)
	opts := fakeOptions(s)
	opts.PageSize = pageSize
	opts.FullEvery = -1 // no periodic full read in this test
	c := newConnector(t, opts)
	clk.Add(time.Hour)
	full, err := conntest.Pull(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	fullRequests := len(s.Requests())
	// A first incremental pull: the items seeded within a day of the full
	// read come back once in the overlap (and are filtered out).
	clk.Add(2 * 24 * time.Hour)
	warm, err := conntest.Pull(c, full.Last())
	if err != nil {
		t.Fatal(err)
	}
	wm, next := warm.Last(), 0
	g := conntest.Growth{Full: fullRequests}
	for _, k := range []int{0, 10, 50, 100} {
		// Two days on, the last round's changes are out of the filter's
		// day; k changes spread over the three boards.
		clk.Add(2 * 24 * time.Hour)
		for range k {
			var err error
			i := next
			next++
			switch i % 3 {
			case 0:
				err = s.Upsert(mondayfake.BoardAccounts, mondayfake.Item{ID: full.Batch.Accounts[i].ExternalID, Name: fmt.Sprint("Renamed ", i)})
			case 1:
				err = s.Upsert(mondayfake.BoardContacts, mondayfake.Item{ID: full.Batch.Contacts[i].ExternalID, Values: map[string]any{"contact_title": "CFO"}})
			default:
				err = s.Delete(mondayfake.BoardDeals, full.Batch.Deals[i].ExternalID)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		clk.Add(time.Hour)
		s.ResetLog()
		got, err := conntest.Pull(c, wm)
		if err != nil {
			t.Fatal(err)
		}
		wm = got.Last()
		n := len(s.Requests())
		if changed := got.Batch.Len() - len(got.Batch.Owners); changed != k {
			t.Errorf("k=%d: incremental pull handed %d changed records", k, changed)
		}
		g.Check(t, k, n, 3+k/pageSize)
	}
}
