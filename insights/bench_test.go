package insights

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/rules"
)

// benchAccounts is the size of the benchmarked portfolio.
const benchAccounts = 100_000

var (
	benchOnce    sync.Once
	benchClients []model.Client
	benchFlagged map[string]bool
)

// benchPortfolio returns 100,000 generated clients over 50 owners and two
// sources, with 0 to 8 won deals each over three years (a long tail of
// amounts), and 5% of them flagged.
func benchPortfolio() ([]model.Client, map[string]bool) {
	benchOnce.Do(func() {
		rng := rand.New(rand.NewPCG(1, 2))
		benchFlagged = map[string]bool{}
		lcs := []model.Lifecycle{model.Customer, model.Customer, model.Customer, model.Customer, model.Prospect, model.Former}
		for i := range benchAccounts {
			src := []string{"hubspot", "pipedrive"}[i%2]
			c := model.Client{Account: model.Account{Ref: model.NewRef(src, fmt.Sprintf("%06d", i)), Name: "Account",
				OwnerID: fmt.Sprintf("owner%02d", i%50), Lifecycle: lcs[i%len(lcs)], CreatedAt: now.AddDate(-4, 0, 0),
				LastActivityAt: now.Add(-time.Duration(rng.IntN(400*24)) * time.Hour)}}
			for range rng.IntN(9) {
				c.Deals = append(c.Deals, model.Deal{Won: true, Amount: float64(100 + rng.IntN(1000)*rng.IntN(100)),
					ClosedAt: now.Add(-time.Duration(rng.IntN(3*365*24)) * time.Hour)})
			}
			benchClients = append(benchClients, c)
			if rng.IntN(20) == 0 {
				benchFlagged[c.Account.ID] = true
			}
		}
	})
	return benchClients, benchFlagged
}

// BenchmarkPortfolio100k scores 100,000 accounts as a pass does: what
// crmsync report does once after reading the store.
func BenchmarkPortfolio100k(b *testing.B) {
	clients, _ := benchPortfolio()
	b.ReportAllocs()
	for b.Loop() {
		NewPortfolio(now, rules.DefaultSegmentation(), clients)
	}
}

// BenchmarkFigures100k computes the portfolio figures of 100,000
// accounts, whole and for one owner.
func BenchmarkFigures100k(b *testing.B) {
	clients, flagged := benchPortfolio()
	p := NewPortfolio(now, rules.DefaultSegmentation(), clients)
	for _, f := range []Filter{{}, {Owner: "owner07"}} {
		b.Run(fmt.Sprintf("owner=%q", f.Owner), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Compute(f, flagged)
			}
		})
	}
}

// BenchmarkEvolution100k backfills 12 months of evolution for 100,000
// accounts.
func BenchmarkEvolution100k(b *testing.B) {
	clients, _ := benchPortfolio()
	p := NewPortfolio(now, rules.DefaultSegmentation(), clients)
	ends := MonthEnds(now.AddDate(0, -1, 0), 12, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		p.Evolution(Filter{}, ends, nil)
	}
}

// BenchmarkSnapshot100k builds and encodes a month's snapshots of
// 100,000 accounts, and reports the bytes kept per account and month: the
// encoded snapshot, and with the account id it is keyed by.
func BenchmarkSnapshot100k(b *testing.B) {
	clients, flagged := benchPortfolio()
	p := NewPortfolio(now, rules.DefaultSegmentation(), clients)
	names := []string{"inactive-90-days", "high-value-churning"}
	var bytes, keyed int
	b.ReportAllocs()
	for b.Loop() {
		bytes, keyed = 0, 0
		for i := range p.Accounts {
			a := &p.Accounts[i]
			var fired []string
			if flagged[a.ID] {
				fired = names[:1]
			}
			enc, _ := NewSnapshot(a.Lifecycle, &a.Features, FlagBits(names, fired)).MarshalBinary()
			bytes += len(enc)
			keyed += len(enc) + len(a.ID)
		}
	}
	b.ReportMetric(float64(bytes)/float64(len(p.Accounts)), "snapshot-B/account-month")
	b.ReportMetric(float64(keyed)/float64(len(p.Accounts)), "keyed-B/account-month")
}
