package insights

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/rules"
)

// clientSource is a Source over clients in memory.
type clientSource []model.Client

func (s clientSource) EachClient(_ context.Context, batch int, fn func(model.Client) error) error {
	for _, c := range s {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// tiedPortfolio returns n clients whose deal amounts come from a few
// values, so that many accounts tie on revenue_12m at every instant,
// over 7 owners and two sources.
func tiedPortfolio(n int, seed uint64) []model.Client {
	rng := rand.New(rand.NewPCG(seed, 7))
	lcs := []model.Lifecycle{model.Customer, model.Customer, model.Prospect, model.Former}
	out := make([]model.Client, 0, n)
	for i := range n {
		out = append(out, genClient(rng, i, lcs, []float64{100, 250, 1000, 5000}))
	}
	return out
}

// genClient returns client i with 0 to 5 won deals over three years of
// the given amounts.
func genClient(rng *rand.Rand, i int, lcs []model.Lifecycle, amounts []float64) model.Client {
	src := []string{"crm", "shop"}[i%2]
	owner := fmt.Sprintf("o%d", i%7)
	c := model.Client{Account: model.Account{Ref: model.NewRef(src, fmt.Sprintf("%07d", rng.IntN(10*(i+1)))+fmt.Sprint(i)), Name: "Account",
		OwnerID: owner, Lifecycle: lcs[i%len(lcs)], CreatedAt: now.AddDate(-4, 0, 0),
		LastActivityAt: now.Add(-time.Duration(rng.IntN(400*24)) * time.Hour)}}
	c.Owner = &model.Owner{Ref: model.NewRef(src, owner), Email: owner + "@example.com"}
	for range rng.IntN(6) {
		c.Deals = append(c.Deals, model.Deal{Won: true, Amount: amounts[rng.IntN(len(amounts))],
			ClosedAt: now.Add(-time.Duration(rng.IntN(3*365*24)) * time.Hour)})
	}
	return c
}

// TestScanIsThePortfolios: Scan's figures and evolution are exactly
// those of a Portfolio of the same clients, whatever the filter.
func TestScanIsThePortfolios(t *testing.T) {
	portfolios := map[string][]model.Client{
		"fixture": fixture(t), "tied": tiedPortfolio(3000, 1), "one account": tiedPortfolio(1, 2), "empty": nil,
	}
	filters := []Filter{{}, {Owner: "o1"}, {Owner: "O2@example.com"}, {Source: "shop"}, {Class: "a"}, {Class: "B"}, {Segment: "champions"}}
	ends := MonthEnds(now.AddDate(0, -1, 0), 3, time.UTC)
	for name, clients := range portfolios {
		p := NewPortfolio(now, rules.DefaultSegmentation(), clients)
		flagged := map[string]bool{}
		snaps := map[string]Snapshot{}
		for i, c := range clients {
			if i%3 == 0 {
				flagged[c.Account.ID] = true
				snaps[c.Account.ID] = Snapshot{DaysInactive: uint16(i % 120)}
			}
		}
		months := map[string]map[string]Snapshot{MonthOf(ends[1]): snaps}
		all, err := Scan(context.Background(), clientSource(clients), ScanOptions{Now: now, Segmentation: rules.DefaultSegmentation(), Ends: ends})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range filters {
			t.Run(fmt.Sprintf("%s %+v", name, f), func(t *testing.T) {
				var seen int
				got, err := Scan(context.Background(), clientSource(clients), ScanOptions{
					Now: now, Segmentation: rules.DefaultSegmentation(), Filter: f, Flagged: func(id string) bool { return flagged[id] },
					Ends: ends, Snapshots: SnapshotMap(months),
					Each: func(a *Account, _ *model.Client) error {
						if want := &p.Accounts[seen]; a.ID != want.ID || !reflect.DeepEqual(a.Features, want.Features) {
							t.Errorf("account %d: %s %+v, want %s %+v", seen, a.ID, a.Features, want.ID, want.Features)
						}
						seen++
						return nil
					},
				})
				if err != nil {
					t.Fatal(err)
				}
				if seen != len(clients) {
					t.Errorf("Each saw %d accounts, want %d", seen, len(clients))
				}
				if want := p.Compute(f, flagged); !reflect.DeepEqual(got.Figures, want) {
					t.Errorf("figures\n%+v\nwant\n%+v", got.Figures, want)
				}
				if want := p.Evolution(f, ends, months); !reflect.DeepEqual(got.Evolution, want) {
					t.Errorf("evolution\n%+v\nwant\n%+v", got.Evolution, want)
				}
				// With the won deals only for the thresholds, the same.
				wonOnly := make([]model.Client, len(clients))
				for i, c := range clients {
					wonOnly[i] = model.Client{Account: model.Account{Ref: c.Account.Ref}}
					for _, d := range c.Deals {
						if d.Won && !d.ClosedAt.IsZero() {
							wonOnly[i].Deals = append(wonOnly[i].Deals, model.Deal{Won: true, Amount: d.Amount, ClosedAt: d.ClosedAt})
						}
					}
				}
				light, err := Scan(context.Background(), clientSource(clients), ScanOptions{
					Now: now, Segmentation: rules.DefaultSegmentation(), Filter: f, Flagged: func(id string) bool { return flagged[id] },
					Ends: ends, Snapshots: SnapshotMap(months), Won: clientSource(wonOnly),
				})
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(light.Figures, got.Figures) || !reflect.DeepEqual(light.Evolution, got.Evolution) {
					t.Errorf("with the won deals for the thresholds: figures equal %t, evolution equal %t",
						reflect.DeepEqual(light.Figures, got.Figures), reflect.DeepEqual(light.Evolution, got.Evolution))
				}
				// With the thresholds of an earlier scan at the same
				// instants, one read gives the same figures.
				src := &countedSource{clients: clients}
				again, err := Scan(context.Background(), src, ScanOptions{
					Now: now, Segmentation: rules.DefaultSegmentation(), Filter: f, Flagged: func(id string) bool { return flagged[id] },
					Ends: ends, Snapshots: SnapshotMap(months), Thresholds: all.Thresholds,
				})
				if err != nil {
					t.Fatal(err)
				}
				if src.reads != 1 || !reflect.DeepEqual(again.Figures, got.Figures) || !reflect.DeepEqual(again.Evolution, got.Evolution) {
					t.Errorf("with the thresholds: %d reads, figures equal %t, evolution equal %t; want 1 read and equal",
						src.reads, reflect.DeepEqual(again.Figures, got.Figures), reflect.DeepEqual(again.Evolution, got.Evolution))
				}
			})
		}
	}
}

// countedSource is clients, counting its reads.
type countedSource struct {
	clients []model.Client
	reads   int
}

func (s *countedSource) EachClient(ctx context.Context, batch int, fn func(model.Client) error) error {
	s.reads++
	return clientSource(s.clients).EachClient(ctx, batch, fn)
}

// TestScanThresholdsOtherInstants: thresholds found at other instants
// (other month ends) are not taken; the scan reads the portfolio for its
// own and finds the figures of a scan without them.
func TestScanThresholdsOtherInstants(t *testing.T) {
	clients := tiedPortfolio(3000, 1)
	opts := ScanOptions{Now: now, Segmentation: rules.DefaultSegmentation(), Ends: MonthEnds(now.AddDate(0, -1, 0), 3, time.UTC)}
	want, err := Scan(context.Background(), clientSource(clients), opts)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Scan(context.Background(), clientSource(clients), ScanOptions{Now: now, Segmentation: rules.DefaultSegmentation()})
	if err != nil {
		t.Fatal(err)
	}
	src := &countedSource{clients: clients}
	opts.Thresholds = other.Thresholds
	got, err := Scan(context.Background(), src, opts)
	if err != nil {
		t.Fatal(err)
	}
	if src.reads < 2 || !reflect.DeepEqual(got.Figures, want.Figures) || !reflect.DeepEqual(got.Evolution, want.Evolution) {
		t.Errorf("%d reads, figures equal %t, evolution equal %t; want at least 2 reads and equal",
			src.reads, reflect.DeepEqual(got.Figures, want.Figures), reflect.DeepEqual(got.Evolution, want.Evolution))
	}
}

// genSource generates n clients on each read without keeping them, and
// samples the live heap every 2,000 clients.
type genSource struct {
	n       int
	maxLive uint64
}

func (s *genSource) EachClient(_ context.Context, _ int, fn func(model.Client) error) error {
	rng := rand.New(rand.NewPCG(3, 4))
	lcs := []model.Lifecycle{model.Customer, model.Prospect}
	var ms runtime.MemStats
	for i := range s.n {
		if err := fn(genClient(rng, i, lcs, []float64{100, 123.45, 999, 2500, 7000})); err != nil {
			return err
		}
		if i%2000 == 1999 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			s.maxLive = max(s.maxLive, ms.HeapInuse)
		}
	}
	return nil
}

// TestScanMemoryDoesNotGrowWithAccounts: from 20,000 to 80,000 accounts
// the live heap of a Scan grows by at most 100 bytes per added account
// (it needs about 48: six revenue instants and the Pareto's buyers),
// where a Portfolio grows by more than 300.
func TestScanMemoryDoesNotGrowWithAccounts(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 100,000 accounts")
	}
	live := func(n int) uint64 {
		src := &genSource{n: n}
		if _, err := Scan(context.Background(), src, ScanOptions{Now: now, Segmentation: rules.DefaultSegmentation(),
			Ends: MonthEnds(now.AddDate(0, -1, 0), 2, time.UTC)}); err != nil {
			t.Fatal(err)
		}
		return src.maxLive
	}
	small, large := live(20_000), live(80_000)
	perAccount := (float64(large) - float64(small)) / 60_000
	t.Logf("peak live heap: %d bytes at 20k accounts, %d at 80k: %.1f bytes per added account", small, large, perAccount)
	if perAccount > 100 {
		t.Errorf("the live heap grows by %.1f bytes per account, want at most 100", perAccount)
	}
}
