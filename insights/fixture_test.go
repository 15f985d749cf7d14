package insights

import (
	"testing"
	"time"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/rules"
)

// now is the fixture's instant: the end of November 2026.
var now = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// date parses a 2006-01-02 date at midnight UTC.
func date(t testing.TB, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// client returns an account of lifecycle lc owned by owner, from source,
// with won deals given as date, amount, date, amount...
func client(t testing.TB, id, owner, source string, lc model.Lifecycle, deals ...any) model.Client {
	t.Helper()
	c := model.Client{Account: model.Account{Ref: model.NewRef(source, id), OwnerID: owner, Lifecycle: lc,
		CreatedAt: date(t, "2020-01-01")}}
	c.Owner = &model.Owner{Ref: model.NewRef(source, owner), Email: owner + "@example.com"}
	for i := 0; i < len(deals); i += 2 {
		c.Deals = append(c.Deals, model.Deal{Won: true, ClosedAt: date(t, deals[i].(string)), Amount: deals[i+1].(float64)})
	}
	// A lost deal, which no figure counts.
	c.Deals = append(c.Deals, model.Deal{Won: false, ClosedAt: date(t, "2026-10-01"), Amount: 1e6})
	return c
}

// fixture is six accounts whose figures the tests compute by hand:
//
//	a1 customer o1 crm   won 2026-06-01 60000, 2025-06-01 30000 (previous 12m)
//	a2 customer o1 crm   won 2026-11-15 25000 (a buyer since November)
//	a3 customer o2 shop  won 2026-03-01 10000, 2026-09-01 5000
//	a4 customer o2 shop  won 2025-11-20 8000 (out of the 12 months on 2026-12-01)
//	a5 prospect o1 crm   no deal
//	a6 former   o2 crm   won 2026-01-10 100
//
// At 2026-12-01, revenue_12m is 60000, 25000, 15000, 0, 0, 100 (total
// 100100): a1 A (S_prev 0), a2 A (0.599), a3 B (0.849), a6 C (0.999).
func fixture(t testing.TB) []model.Client {
	return []model.Client{
		client(t, "a1", "o1", "crm", model.Customer, "2026-06-01", 60000.0, "2025-06-01", 30000.0),
		client(t, "a2", "o1", "crm", model.Customer, "2026-11-15", 25000.0),
		client(t, "a3", "o2", "shop", model.Customer, "2026-03-01", 10000.0, "2026-09-01", 5000.0),
		client(t, "a4", "o2", "shop", model.Customer, "2025-11-20", 8000.0),
		client(t, "a5", "o1", "crm", model.Prospect),
		client(t, "a6", "o2", "crm", model.Former, "2026-01-10", 100.0),
	}
}

func fixturePortfolio(t testing.TB) *Portfolio {
	return NewPortfolio(now, rules.DefaultSegmentation(), fixture(t))
}
