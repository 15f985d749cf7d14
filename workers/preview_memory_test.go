package workers

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/store"
)

// heapProbe is the store's portfolio, sampling the live heap every 250
// accounts a preview reads.
type heapProbe struct {
	portfolio
	maxLive uint64
}

func (p *heapProbe) EachClient(ctx context.Context, batch int, fn func(model.Client) error) error {
	n := 0
	var ms runtime.MemStats
	return p.portfolio.EachClient(ctx, batch, func(c model.Client) error {
		if n++; n%250 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			p.maxLive = max(p.maxLive, ms.HeapInuse)
		}
		return fn(c)
	})
}

// storeQuiet stores n quiet accounts (crm:0 to crm:n-1), each with a
// primary contact and a won deal 200 days old, 500 per page.
func storeQuiet(t *testing.T, s *store.Store, n int) {
	t.Helper()
	for from := 0; from < n; from += 500 {
		b := model.Batch{Owners: []model.Owner{{Ref: model.NewRef("crm", "o1"), Name: "Rep", Email: "rep@example.com"}}}
		for i := from; i < min(n, from+500); i++ {
			id := fmt.Sprint(i)
			acct := model.Account{Ref: model.NewRef("crm", id), Name: "Acme " + id, Lifecycle: model.Customer, OwnerID: "crm:o1", CreatedAt: evalNow.AddDate(-2, 0, 0)}
			b.Accounts = append(b.Accounts, acct)
			b.Contacts = append(b.Contacts, model.Contact{Ref: model.NewRef("crm", "c"+id), AccountID: acct.ID, FirstName: "Ann", Email: "c" + id + "@example.com", Primary: true})
			b.Deals = append(b.Deals, model.Deal{Ref: model.NewRef("crm", "d"+id), AccountID: acct.ID, Amount: float64(1000 + i), Won: true, ClosedAt: evalNow.AddDate(0, 0, -200)})
		}
		if err := s.Records.StorePage(context.Background(), "crm", b, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPreviewMemoryDoesNotGrowWithFlags: every account of a portfolio is
// flagged with an email and a Slack nudge, under the default per-pass
// caps. From 1,000 to 4,000 accounts, the live heap of a preview, over
// that of the portfolio stored in miniredis, grows by less than 3,000
// bytes per account: about 1,600 that the pass's plan and the per_pass
// ranking keep (a sample and a slim candidate per match), where holding
// the flags with their features and rendered messages grew it by 9,000.
func TestPreviewMemoryDoesNotGrowWithFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("stores 5,000 accounts")
	}
	live := func(n int) uint64 {
		s := testStore(t)
		storeQuiet(t, s, n)
		e := newEvaluatorRules(t, s, &taskRecorder{}, &Planner{}, capRules)
		e.Limits = PassLimits{Emails: 200, SlackPerRep: 5, SlackPerChannel: 10}
		probe := &heapProbe{portfolio: e.Records}
		e.Records = probe
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms) // the stored portfolio, in miniredis
		pf, err := e.PreviewStream(t.Context(), evalNow, PreviewFilter{})
		if err != nil {
			t.Fatal(err)
		}
		defer pf.Close()
		flags := 0
		if err := pf.Each(func(Flag) error { flags++; return nil }); err != nil {
			t.Fatal(err)
		}
		if flags < n {
			t.Fatalf("%d flags over %d accounts, want every account flagged", flags, n)
		}
		return probe.maxLive - min(probe.maxLive, ms.HeapInuse)
	}
	small, large := live(1000), live(4000)
	perAccount := (float64(large) - float64(small)) / 3000
	t.Logf("peak live heap over the stored portfolio: %d bytes at 1,000 accounts, %d at 4,000: %.0f bytes per added account", small, large, perAccount)
	if perAccount > 3000 {
		t.Errorf("the live heap grows by %.0f bytes per account, want under 3,000", perAccount)
	}
}
