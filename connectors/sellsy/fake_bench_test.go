package sellsy

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/conntest"
	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/internal/sellsyfake"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/workers"
)

// benchCompanies is the size of the benchmarks' account: each company
// has two contacts, one opportunity and one activity, and there is an
// individual per four companies (see BenchmarkSyncFake).
const benchCompanies = 4000

// BenchmarkSyncFake pulls 4,000 companies, 1,000 individuals, 9,000
// contacts and 5,000 deals from internal/sellsyfake in pages of 100,
// quotas out of the way: "decode" drops the pages, "redis" stores them in
// a real Redis through workers.Syncer.
func BenchmarkSyncFake(b *testing.B) {
	s := sellsyfake.New(sellsyfake.Options{SecondQuota: 1e9, MinuteQuota: 1e9, DayQuota: 1e9})
	b.Cleanup(s.Close)
	if err := s.Seed(benchCompanies, benchCompanies/4, 2, 1, 1); err != nil {
		b.Fatal(err)
	}
	opts := fakeOptions(s)
	opts.PageSize = MaxPageSize
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
			Sources: map[string]connectors.Connector{"sy": newConnector(b, opts)},
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
			st, err := y.Sync(b.Context(), "sy", true)
			if err != nil {
				b.Fatal(err)
			}
			records += st.Records() + st.Rejects
		}
		b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	})
}

// BenchmarkRate pulls an account of about 150 requests from a fake
// enforcing a scaled-down quota (rateQuota requests per rateWindow
// "minute", fixed windows as Sellsy's calendar minutes) with the
// connector's windows scaled alike. "%allowed" is the fastest schedule
// the quota admits for the pull's requests (rateQuota per window,
// starting at a window's start: floor((n-1)/rateQuota) windows) over the
// time the pull took; "429s" counts refusals.
func BenchmarkRate(b *testing.B) {
	const (
		rateQuota  = 40
		rateWindow = 500 * time.Millisecond
	)
	s := sellsyfake.New(sellsyfake.Options{SecondQuota: 1e9, MinuteQuota: rateQuota, Minute: rateWindow})
	b.Cleanup(s.Close)
	if err := s.Seed(60, 20, 2, 1, 1); err != nil {
		b.Fatal(err)
	}
	opts := fakeOptions(s)
	opts.PageSize = 10
	opts.Minute = rateWindow
	c := newConnector(b, opts)
	var busy, fastest time.Duration
	requests := 0
	before := s.Throttled()
	for b.Loop() {
		// Start each pull at a window's start.
		time.Sleep(time.Until(time.Now().Truncate(rateWindow).Add(rateWindow)))
		s.ResetLog()
		start := time.Now()
		if err := c.Pull(b.Context(), nil, func(context.Context, connectors.Page) error { return nil }); err != nil {
			b.Fatal(err)
		}
		busy += time.Since(start)
		n := apiRequests(s)
		requests += n
		fastest += time.Duration((n-1)/rateQuota) * rateWindow
	}
	throttled := s.Throttled() - before
	b.ReportMetric(float64(requests)/float64(b.N), "requests/pull")
	b.ReportMetric(float64(requests)/busy.Seconds(), "requests/s")
	b.ReportMetric(100*fastest.Seconds()/busy.Seconds(), "%allowed")
	b.ReportMetric(float64(throttled), "429s")
	if throttled != 0 {
		b.Errorf("%d requests answered 429, want none", throttled)
	}
}

// TestIncrementalRequestsPerChange changes k records between two pulls
// and counts the requests of the incremental pull: they grow with the
// changes (pages of the searches, one link lookup per changed contact,
// last-activity lookups per page), not with the size of the account.
func TestIncrementalRequestsPerChange(t *testing.T) {
	const pageSize = 25
	clk := newClock()
	s := seededFake(t, sellsyfake.Options{Now: clk.Now})
	if err := s.Seed(270, 0, 2, 1, 1); err != nil { // 300 companies in all
		t.Fatal(err)
	}
	opts := fakeOptions(s)
	opts.PageSize, opts.Now = pageSize, clk.Now
	opts.Overlap = time.Second // seeded objects are a minute apart
	c := newConnector(t, opts)
	s.ResetLog()
	full, err := conntest.Pull(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	fullRequests := apiRequests(s)
	wm, base, next := full.Last(), -1, 0
	statusChanges, rescanned := 0, 0
	for _, k := range []int{0, 10, 50, 100} {
		// Rounds are ten minutes apart, as syncs are: a round's changes
		// are past the next one's overlap.
		clk.Add(10 * time.Minute)
		// k changes spread over companies, contacts and opportunities;
		// each round changes objects the previous ones did not touch.
		for range k {
			clk.Add(time.Second) // changes a second apart, as people make them
			var err error
			i := next + 1
			next++
			switch i % 3 {
			case 0:
				_, err = s.Put(sellsyfake.KindCompanies, i, map[string]any{"name": fmt.Sprint("Renamed ", i)})
			case 1:
				_, err = s.Put(sellsyfake.KindContacts, i, map[string]any{"position": "CFO"})
			default:
				statusChanges++
				_, err = s.Put(sellsyfake.KindOpportunities, i, map[string]any{"status": "lost"})
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		s.ResetLog()
		got, err := conntest.Pull(c, wm)
		if err != nil {
			t.Fatal(err)
		}
		wm = got.Last()
		n := apiRequests(s)
		// Besides the changes: the rescan of the opportunities whose
		// status changed within WonRescan (those of earlier rounds), and
		// the newest object of each search again (the overlap).
		if handed := got.Batch.Len() - len(got.Batch.Owners); handed < k || handed > k+rescanned+5 {
			t.Errorf("k=%d: incremental pull handed %d records, want %d to %d", k, handed, k, k+rescanned+5)
		}
		rescanned = statusChanges
		if k == 0 {
			base = n
			t.Logf("full pull: %d requests; incremental with nothing changed: %d requests", fullRequests, n)
			continue
		}
		extra := n - base
		t.Logf("k=%d changes: %d requests, %d over the idle pull, %.3f requests per changed record", k, n, extra, float64(extra)/float64(k))
		// A changed contact costs one link lookup; every pageSize
		// changes of a kind cost a page and a last-activity lookup.
		if limit := 3 + k/3 + 2*k/pageSize + 3; extra > limit || n >= fullRequests/2 {
			t.Errorf("k=%d: %d requests (%d over idle), want at most %d over idle and under half the full pull's %d",
				k, n, extra, limit, fullRequests)
		}
	}
}
