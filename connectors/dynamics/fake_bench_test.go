package dynamics

import (
	"fmt"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/crmhttp"
	"github.com/crmsync/crmsync/internal/connbench"
	"github.com/crmsync/crmsync/internal/conntest"
	"github.com/crmsync/crmsync/internal/dynamicsfake"
)

// benchAccounts is the size of the benchmarks' org: each account has two
// contacts and one opportunity (see BenchmarkSyncFake).
const benchAccounts = 10_000

// apiRequests counts the Web API requests the fake answered, token
// requests left out.
func apiRequests(s *dynamicsfake.Server) (n, throttled int) {
	for _, r := range s.Requests() {
		if r.Kind != dynamicsfake.KindToken {
			n++
		}
	}
	return n, s.Throttled()
}

// BenchmarkSyncFake pulls 10,000 accounts, 20,000 contacts and 10,000
// deals from internal/dynamicsfake in pages of 1,000: "decode" drops the
// pages, "redis" stores them in a real Redis through workers.Syncer.
func BenchmarkSyncFake(b *testing.B) {
	s := dynamicsfake.New(dynamicsfake.Options{})
	b.Cleanup(s.Close)
	if err := s.Seed(benchAccounts, 2, 1, 1); err != nil {
		b.Fatal(err)
	}
	opts := fakeOptions(s)
	opts.PageSize = DefaultPageSize
	opts.RequestsPer5Min = LimitRequestsPer5Min
	connbench.SyncFake(b, "dyn", func(tb testing.TB) connectors.Connector { return newConnector(tb, opts) })
}

// BenchmarkRate pulls an org of about 120 pages from a fake enforcing a
// scaled-down service-protection window (rateWindowRequests per second)
// with the connector's pacing set to a share of the same budget over the
// same window. "%allowed" is the fastest schedule the fake's sliding
// window admits for the pull's requests (a burst of rateWindowRequests,
// then one more burst each window: floor((n-1)/W) windows) over the time
// the pull took; "429s" counts refusals.
func BenchmarkRate(b *testing.B) {
	const (
		rateWindowRequests = 20
		rateWindow         = time.Second
	)
	for _, share := range []int{100, 90} {
		b.Run(fmt.Sprintf("budget=%d%%", share), func(b *testing.B) {
			s := dynamicsfake.New(dynamicsfake.Options{WindowRequests: rateWindowRequests, Window: rateWindow})
			b.Cleanup(s.Close)
			if err := s.Seed(150, 2, 1, 1); err != nil {
				b.Fatal(err)
			}
			opts := fakeOptions(s)
			opts.PageSize = 5
			opts.RequestsPer5Min = rateWindowRequests * share / 100
			opts.Window = rateWindow
			c := newConnector(b, opts)
			var r connbench.Rate
			for b.Loop() {
				// Start each pull on an empty window.
				time.Sleep(rateWindow + crmhttp.Margin)
				s.ResetLog()
				before := s.Throttled()
				r.Pull(b, c)
				n, t := apiRequests(s)
				r.Spent(n, rateWindowRequests, rateWindow)
				r.Refused += t - before
			}
			r.Report(b, "requests", "429s")
		})
	}
}

// TestIncrementalRequestsPerChange changes k records between two pulls and
// counts the requests of the incremental pull: they grow with the changes
// (pages of the deltas, last-activity lookups for changed accounts), not
// with the size of the org.
func TestIncrementalRequestsPerChange(t *testing.T) {
	const pageSize = 25
	s := seededFake(t, dynamicsfake.Options{})
	if err := s.Seed(270, 2, 1, 1); err != nil { // 300 accounts in all
		t.Fatal(err)
	}
	opts := fakeOptions(s)
	opts.PageSize = pageSize
	c := newConnector(t, opts)
	full, err := conntest.Pull(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	fullRequests, _ := apiRequests(s)
	wm, next := full.Last(), 0
	g := conntest.Growth{Full: fullRequests}
	for _, k := range []int{0, 10, 50, 100} {
		// k changes spread over the three tables: renamed accounts,
		// retitled contacts, deleted deals; each round changes rows the
		// previous ones did not touch.
		for range k {
			var err error
			i := next
			next++
			switch i % 3 {
			case 0:
				_, err = s.Upsert("accounts", map[string]any{"accountid": full.Batch.Accounts[i].ExternalID, "name": fmt.Sprint("Renamed ", i)})
			case 1:
				_, err = s.Upsert("contacts", map[string]any{"contactid": full.Batch.Contacts[i].ExternalID, "jobtitle": "CFO"})
			default:
				err = s.Delete("opportunities", full.Batch.Deals[i].ExternalID)
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
		n, _ := apiRequests(s)
		if changed := got.Batch.Len() - len(got.Batch.Owners); changed != k {
			t.Errorf("k=%d: incremental pull handed %d changed records", k, changed)
		}
		// Each table's delta pages hold pageSize rows, and changed
		// accounts need one last-activity lookup per 25: a bound far
		// below a re-read (fullRequests).
		g.Check(t, k, n, 3+2*k/pageSize)
	}
}
