package sellsy

import (
	"fmt"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/connbench"
	"github.com/crmsync/crmsync/internal/conntest"
	"github.com/crmsync/crmsync/internal/sellsyfake"
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
	connbench.SyncFake(b, "sy", func(tb testing.TB) connectors.Connector { return newConnector(tb, opts) })
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
	var r connbench.Rate
	before := s.Throttled()
	for b.Loop() {
		// Start each pull at a window's start.
		time.Sleep(time.Until(time.Now().Truncate(rateWindow).Add(rateWindow)))
		s.ResetLog()
		r.Pull(b, c)
		r.Spent(apiRequests(s), rateQuota, rateWindow)
	}
	r.Refused = s.Throttled() - before
	r.Report(b, "requests", "429s")
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
	wm, next := full.Last(), 0
	g := conntest.Growth{Full: fullRequests}
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
		// A changed contact costs one link lookup; every pageSize
		// changes of a kind cost a page and a last-activity lookup.
		g.Check(t, k, n, 3+k/3+2*k/pageSize+3)
	}
}
