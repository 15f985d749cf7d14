package monday

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/conntest"
	"github.com/crmsync/crmsync/internal/mondayfake"
	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/workers"
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
	b.Run("decode", func(b *testing.B) {
		c := newConnector(b, opts)
		records := 0
		for b.Loop() {
			err := c.Pull(b.Context(), nil, func(_ context.Context, p connectors.Page) error {
				records += p.Len() + len(p.Rejects)
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("redis", func(b *testing.B) {
		rdb := redistest.Client(b)
		y := &workers.Syncer{
			Sources: map[string]connectors.Connector{"mon": newConnector(b, opts)},
			Metrics: workers.NewMetrics(prometheus.NewRegistry()),
			Logger:  slog.New(slog.DiscardHandler),
		}
		records := 0
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			fresh := store.New(rdb, redistest.Namespace(b))
			y.Records, y.Syncs = fresh.Records, fresh.Syncs
			b.StartTimer()
			st, err := y.Sync(b.Context(), "mon", true)
			if err != nil {
				b.Fatal(err)
			}
			records += st.Records() + st.Rejects
		}
		b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	})
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
	var busy, fastest time.Duration
	spent, errs := 0, 0
	for b.Loop() {
		time.Sleep(rateWindow) // start each pull on a fresh window
		before, beforeErrs := s.Spent(), s.BudgetErrors()
		start := time.Now()
		if err := c.Pull(b.Context(), nil, func(context.Context, connectors.Page) error { return nil }); err != nil {
			b.Fatal(err)
		}
		busy += time.Since(start)
		n := s.Spent() - before
		spent += n
		errs += s.BudgetErrors() - beforeErrs
		fastest += time.Duration((n-1)/rateBudget) * rateWindow
	}
	b.ReportMetric(float64(spent)/float64(b.N), "points/pull")
	b.ReportMetric(100*fastest.Seconds()/busy.Seconds(), "%allowed")
	b.ReportMetric(float64(errs), "budget_errors")
	if errs != 0 {
		b.Errorf("%d queries refused COMPLEXITY_BUDGET_EXHAUSTED, want none", errs)
	}
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
	wm, base, next := warm.Last(), -1, 0
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
		if k == 0 {
			base = n
			t.Logf("full pull: %d requests; incremental with nothing changed: %d requests", fullRequests, n)
			continue
		}
		extra := n - base
		t.Logf("k=%d changes: %d requests, %d over the idle pull, %.3f requests per changed record", k, n, extra, float64(extra)/float64(k))
		if limit := 3 + k/pageSize; extra > limit || n >= fullRequests/2 {
			t.Errorf("k=%d: %d requests (%d over idle), want at most %d over idle and under half the full pull's %d", k, n, extra, limit, fullRequests)
		}
	}
}
